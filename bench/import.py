"""Importing a folder (issue 14): how close `manage.py import` comes to just reading the files.

The tree: 2,000 files in 10 folders, 10% of them byte-for-byte copies of another file in the same
folder (as a card dump copied twice would be: the same bytes never become a second photo): JPEGs of 24 MP (the camera's size) and small PNGs (screen
grabs, exports). Every non-duplicate file has its own bytes: the 24 MP JPEGs are a few pictures,
each copy made unique by a JPEG comment (bench/_harness.unique_copy), so the files are real photos
that every check accepts, without encoding hundreds of 24 MP images.

1. Baseline: a fresh Python process walks the same tree and reads and hashes every file (SHA-256,
   the same 1 MiB reads as the importer): the least an import must do. Measured before and after
   the import; the faster of the two is the bound.
2. First import: `manage.py import ROOT --folders-as-galleries` (one gallery per folder, processing
   deferred: no worker runs, the tasks wait in the queue) in a fresh process against a fresh
   SQLite database and MEDIA_ROOT on the same disk. Files per second and MiB/s; target: >= 70% of
   the baseline's MiB/s. Its report must say 1,800 new and 200 duplicates, nothing refused.
3. Second import over the unchanged tree: it must not read the files again (size and modification
   time say they are unchanged). Target: >= 20x faster than the first; its report: 2,000 unchanged.
4. Peak memory of the importing process (ru_maxrss, a fresh interpreter): target < 150 MB.
5. For information: read, hash and write a copy of each file flushed to disk (fsync), as the
   storage keeps every original: the I/O floor of an import that keeps its own copy, which the
   read-and-hash baseline does not pay.

The files stay in the page cache for every step (written just before, 24 GB of RAM), so the
comparison is of the work done, not of the disk. --small runs 200 files to try the bench out.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path

from _harness import MiB, Project, fake_jpeg, loadavg, peak_rss_of_child, report_peak, unique_copy, verdict

FILES, FOLDERS, DUPLICATE_SHARE, JPEG_SHARE = 2000, 10, 0.10, 0.15
RATE_TARGET, SECOND_RUN_TARGET, PEAK_TARGET_MB = 0.70, 20.0, 150.0
CHUNK = 1 << 20
OWNER = "bench"


def build_tree(root: Path, files: int) -> dict[str, int]:
    """The folders and files; how many files, unique files and bytes there are."""
    import numpy as np
    from PIL import Image

    rng = np.random.default_rng(14)
    jpegs = [fake_jpeg(seed=seed) for seed in range(3)]  # 24 MP, about 8 MB each
    duplicates = int(files * DUPLICATE_SHARE)
    uniques = files - duplicates
    written: list[Path] = []
    total = 0
    for n in range(uniques):
        folder = root / f"Day {n % FOLDERS + 1:02d}"
        folder.mkdir(parents=True, exist_ok=True)
        if n % round(1 / JPEG_SHARE) == 0:
            path, data = folder / f"IMG_{n:05d}.jpg", unique_copy(jpegs[n % len(jpegs)], n)
            path.write_bytes(data)
        else:
            path = folder / f"grab_{n:05d}.png"
            size = int(rng.integers(320, 900))
            pixels = rng.integers(0, 255, (size * 2 // 3, size, 3), dtype=np.uint8)
            pixels[:, : size // 2] //= 4  # part flat, part noise: PNGs of 50-900 KB
            Image.fromarray(pixels, "RGB").save(path, "PNG", compress_level=1)
        written.append(path)
        total += path.stat().st_size
    for n in range(duplicates):  # a copy of an earlier file in the same folder (a card copied twice), renamed
        source = written[int(rng.integers(0, len(written)))]
        target = source.with_name(f"copy_{n:05d}{source.suffix}")
        shutil.copyfile(source, target)
        total += target.stat().st_size
    return {"files": files, "unique": uniques, "bytes": total}


# --- What each measured process does (a fresh interpreter: `import.py --child KIND ROOT`) --------


def child_hash(root: str) -> dict:
    """The baseline: walk the tree, read and hash every file."""
    started, files, size = time.perf_counter(), 0, 0
    for folder, dirs, names in os.walk(root):
        dirs.sort()
        for name in sorted(names):
            digest = hashlib.sha256()
            with open(os.path.join(folder, name), "rb") as fh:
                while chunk := fh.read(CHUNK):
                    digest.update(chunk)
                    size += len(chunk)
            files += 1
    return {"seconds": time.perf_counter() - started, "files": files, "bytes": size}


def child_copy(root: str) -> dict:
    """For information: read, hash and store a copy of every file, flushed to disk (os.fsync) as the
    storage does with each original: the I/O floor of any import that keeps its own copy."""
    target = Path(
        tempfile.mkdtemp(
            prefix="cs-import-copy-", dir=os.environ.get("MEDIA_ROOT") and Path(os.environ["MEDIA_ROOT"]).parent
        )
    )
    started, files, size = time.perf_counter(), 0, 0
    try:
        for folder, dirs, names in os.walk(root):
            dirs.sort()
            for name in sorted(names):
                digest = hashlib.sha256()
                with open(os.path.join(folder, name), "rb") as fh, open(target / f"{files}", "wb") as out:
                    while chunk := fh.read(CHUNK):
                        digest.update(chunk)
                        out.write(chunk)
                        size += len(chunk)
                    out.flush()
                    os.fsync(out.fileno())
                files += 1
    finally:
        shutil.rmtree(target, ignore_errors=True)
    return {"seconds": time.perf_counter() - started, "files": files, "bytes": size}


def child_import(root: str) -> dict:
    """`manage.py import ROOT --folders-as-galleries --owner bench --json`, timed from inside."""
    import io

    import django

    django.setup()
    from django.core.management import call_command

    out = io.StringIO()
    started = time.perf_counter()
    call_command("import", root, folders_as_galleries=True, owner=OWNER, as_json=True, stdout=out)
    seconds = time.perf_counter() - started
    report = json.loads(out.getvalue())
    return {"seconds": seconds, "counts": report["counts"], "bytes": report.get("bytes_added", 0)}


def measured(kind: str, root: Path) -> dict:
    return peak_rss_of_child(Path(__file__), "--child", kind, str(root), timeout=3600)


def mb(kb: int) -> float:
    return kb / 1024


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--small", action="store_true", help="200 files instead of 2,000")
    parser.add_argument("--child", nargs=2, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        kind, root = args.child
        report_peak(lambda: {"hash": child_hash, "copy": child_copy, "import": child_import}[kind](root))
        return

    files = FILES // 10 if args.small else FILES
    print(f"import: load average before {loadavg()}, {os.cpu_count()} cores")
    tree = Path(tempfile.mkdtemp(prefix="cs-import-tree-"))
    project = Project.create("import", production=True, IMPORT_ROOTS=str(tree))
    try:
        started = time.perf_counter()
        shape = build_tree(tree, files)
        print(
            f"import: {shape['files']:,} files ({shape['unique']:,} unique, {shape['files'] - shape['unique']:,} "
            f"copies; {shape['bytes'] / MiB:,.0f} MiB) in {FOLDERS} folders, made in {time.perf_counter() - started:.0f} s"
        )
        project.migrate()
        from accounts.models import User

        User.objects.create_user(OWNER, f"{OWNER}@example.com", "x", is_staff=True)

        before = measured("hash", tree)
        first = measured("import", tree)
        after = measured("hash", tree)
        copied = measured("copy", tree)
        second = measured("import", tree)
        bound = min((before, after), key=lambda r: r["seconds"])

        rate = lambda r: r["bytes"] / MiB / r["seconds"]  # noqa: E731 - read the same way for every row
        base_mibs, base_fps = shape["bytes"] / MiB / bound["seconds"], shape["files"] / bound["seconds"]
        first_mibs, first_fps = shape["bytes"] / MiB / first["seconds"], shape["files"] / first["seconds"]
        ratio = first_mibs / base_mibs
        speedup = first["seconds"] / second["seconds"]
        peak = max(mb(first["after_kb"]), mb(second["after_kb"]))

        print("\n  step                           seconds   files/s     MiB/s   peak MB")
        for name, row in (
            ("read + hash (before)", before),
            ("import, first run", first),
            ("read + hash (after)", after),
            ("read + hash + copy, fsync'd", copied),
            ("import, second run", second),
        ):
            print(
                f"  {name:28} {row['seconds']:9.2f} {shape['files'] / row['seconds']:9.0f} "
                f"{shape['bytes'] / MiB / row['seconds']:9.1f} {mb(row['after_kb']):9.0f}"
            )
        print(f"\n  first run's report:  {first['counts']}")
        print(f"  second run's report: {second['counts']}")
        print(
            f"  (bytes the first run added: {first['bytes'] / MiB:,.0f} MiB; read+hash read {rate(bound):,.0f} MiB/s)"
        )

        duplicates = shape["files"] - shape["unique"]
        counts_ok = (
            first["counts"].get("new") == shape["unique"]
            and first["counts"].get("duplicate") == duplicates
            and not first["counts"].get("refused")
            and second["counts"].get("unchanged") == shape["files"]
            and not second["counts"].get("new")
        )
        print()
        print(
            f"  {verdict(counts_ok)}  reports: {shape['unique']:,} new and {duplicates:,} duplicates, then all unchanged"
        )
        print(
            f"  {verdict(ratio >= RATE_TARGET)}  first import >= {RATE_TARGET:.0%} of read+hash: {ratio:.2f}x "
            f"({first_mibs:.1f} vs {base_mibs:.1f} MiB/s; {first_fps:.0f} vs {base_fps:.0f} files/s)"
        )
        print(
            f"  {verdict(speedup >= SECOND_RUN_TARGET)}  second run >= {SECOND_RUN_TARGET:.0f}x faster than the "
            f"first: {speedup:.1f}x ({second['seconds']:.2f} s vs {first['seconds']:.2f} s)"
        )
        print(
            f"  info  first import / read+hash+copy (the I/O floor of keeping a copy): "
            f"{copied['seconds'] / first['seconds']:.2f}x"
        )
        print(f"  {verdict(peak < PEAK_TARGET_MB)}  importer's peak memory < {PEAK_TARGET_MB:.0f} MB: {peak:.0f} MB")
        print(f"\nimport: load average after {loadavg()}")
    finally:
        project.remove()
        shutil.rmtree(tree, ignore_errors=True)
    sys.exit(0)


if __name__ == "__main__":
    main()
