"""Zip: how fast a whole gallery streams as a ZIP, compared with reading its files, and at what memory cost.

Runs in a throwaway project state (temporary SQLite database and MEDIA_ROOT, production-like
settings: DEBUG off, local storage). One gallery of about --size-gb GiB of originals (files of
~25.6 MiB: JPEG markers around random bytes, the ZIP never looks inside) is written straight
under the content-addressed keys, with its Asset (ready) and Photo rows bulk-created.

- baseline: the same files read from default_storage one after another in 1 MiB pieces, bytes discarded;
- zip: `sharing.downloads.zip_response(gallery, rule=FieldRule.for_owner())` iterated, bytes counted and discarded,
  the count checked against Content-Length. Target: at least 50% of the baseline's speed.
  Both are measured back to back in each of ROUNDS rounds, the order alternating (read first, then
  zip first); the ratio zip / read is taken within a round and the median of the rounds, with its
  spread, is judged. First with the files in page cache (just written and flushed; the system's
  caches cannot be dropped here): this compares the ZIP's own CPU cost with a memory copy, and it
  is the target's figure, printed first among the targets. Then, for information only, cold: before each
  pass every file is evicted with posix_fadvise(DONTNEED), so both read from the disk, as a
  download of a gallery nobody has just looked at does. CRC-32 speed is printed beside them: the
  ZIP format needs it for every byte, so it bounds the ZIP's speed relative to a plain read.
- memory: the same ZIP streamed in a fresh interpreter (started through a tiny launcher so that it
  does not inherit this process's peak RSS), ru_maxrss before and after, cross-checked with VmHWM.
  Target: peak below 100 MB.
- validity: the archive streamed once to a file and read back with zipfile: entry count, names,
  sizes, ZIP_STORED, ZIP64 records, and every entry's bytes (CRC checked by zipfile, SHA-256
  compared with its Asset).

    .venv/bin/python bench/zip.py [--size-gb 2.0] [--quick]

--quick uses 0.3 GiB. Prints PASS/MISS lines and exits 0 either way (it is a report).
"""

from __future__ import annotations

import argparse
import contextlib
import hashlib
import os
import signal
import statistics
import struct
import time
import zipfile
import zlib
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from _harness import Project, loadavg, peak_rss_of_child, report_peak, verdict

MiB = 1 << 20
GiB = 1 << 30
PIECE = MiB  # as sharing.downloads.READ_SIZE
FILE_MIB = 25.6
QUICK_GB = 0.3
ROUNDS = 3  # read and zip back to back, order alternating; the median of the per-round ratios counts
TARGET_RATIO = 0.5
TARGET_PEAK_MB = 100.0
# SOI, then a JFIF APP0 segment: what a camera JPEG starts with. The file ends with EOI.
JPEG_HEAD = b"\xff\xd8\xff\xe0\x00\x10JFIF\x00\x01\x01\x00\x00\x01\x00\x01\x00\x00"
JPEG_TAIL = b"\xff\xd9"


@dataclass
class Original:
    sha256: str
    size: int
    name: str  # the name expected inside the ZIP


@dataclass
class Pass:
    size: int
    wall: float
    cpu: float

    @property
    def mibps(self) -> float:
        return self.size / MiB / self.wall


def write_originals(media_root: Path, scratch: Path, total: int) -> list[Original]:
    """Random-bodied JPEG-looking files under their content-addressed keys, hashed while written."""
    from galleries.storage import original_key

    count = max(1, round(total / (FILE_MIB * MiB)))
    originals = []
    for i in range(count):
        size = total // count + (1 if i < total % count else 0)
        digest = hashlib.sha256()
        with open(scratch, "wb") as out:
            for piece in _body(size):
                digest.update(piece)
                out.write(piece)
        sha = digest.hexdigest()
        final = media_root / original_key(sha, "jpg")
        final.parent.mkdir(parents=True, exist_ok=True)
        os.replace(scratch, final)
        originals.append(Original(sha, size, f"IMG_{i + 1:04d}.jpg"))
    return originals


def _body(size: int) -> Iterator[bytes]:
    left = size - len(JPEG_HEAD) - len(JPEG_TAIL)
    yield JPEG_HEAD
    while left > 0:
        piece = os.urandom(min(PIECE, left))
        left -= len(piece)
        yield piece
    yield JPEG_TAIL


def create_rows(originals: list[Original]) -> Any:
    from accounts.models import User
    from galleries import services
    from galleries.models import Asset, AssetStatus, Photo

    owner = User.objects.create_superuser("bench", "bench@example.com", "x")
    gallery = services.gallery_create(owner=owner, title="Zip bench", visibility="private")
    assets = Asset.objects.bulk_create(
        [
            Asset(sha256=o.sha256, mime="image/jpeg", ext="jpg", size=o.size, width=6000, height=4000,
                  status=AssetStatus.READY)
            for o in originals
        ]
    )  # fmt: skip
    Photo.objects.bulk_create(
        [
            Photo(gallery=gallery, asset=a, position=i, original_filename=f"IMG_{i + 1:04d}.JPG")
            for i, a in enumerate(assets)
        ]
    )
    return gallery


# --- Timed passes ------------------------------------------------------------------------------


def read_baseline(keys: list[str]) -> Pass:
    from django.core.files.storage import default_storage

    wall, cpu = time.perf_counter(), time.process_time()
    size = 0
    for key in keys:
        with default_storage.open(key, "rb") as handle:
            while piece := handle.read(PIECE):
                size += len(piece)
    return Pass(size, time.perf_counter() - wall, time.process_time() - cpu)


def stream_zip(gallery: Any) -> tuple[Pass, int]:
    """The whole response, bytes counted and dropped. Returns the pass and its Content-Length."""
    from galleries.privacy import FieldRule
    from sharing.downloads import zip_response

    wall, cpu = time.perf_counter(), time.process_time()
    response = zip_response(gallery, rule=FieldRule.for_owner())
    size = 0
    try:
        for chunk in response.streaming_content:
            size += len(chunk)
    finally:
        response.close()
    return Pass(size, time.perf_counter() - wall, time.process_time() - cpu), int(response["Content-Length"])


def evict(paths: list[Path], *, drop: bool = True) -> None:
    """Write the files to disk and (drop) take them out of page cache: posix_fadvise on our own files needs no root."""
    for path in paths:
        fd = os.open(path, os.O_RDONLY)
        try:
            os.fdatasync(fd)
            if drop:
                os.posix_fadvise(fd, 0, 0, os.POSIX_FADV_DONTNEED)
        finally:
            os.close(fd)


def crc32_speed() -> float:
    """MiB/s of zlib.crc32 over 1 MiB pieces, as zipstream computes it; best of three."""
    piece = os.urandom(PIECE)
    best = 0.0
    for _ in range(3):
        started = time.perf_counter()
        crc = 0
        for _ in range(256):
            crc = zlib.crc32(piece, crc)
        best = max(best, 256 / (time.perf_counter() - started))
    return best


# --- Peak memory in a fresh interpreter -------------------------------------------------------------


def memory_child(gallery_id: str) -> None:
    """Runs in a fresh interpreter: stream the ZIP; report_peak prints ru_maxrss before and after."""
    import django

    django.setup()
    from galleries.models import Gallery
    from sharing.downloads import zip_response  # noqa: F401 - imported before the baseline on purpose

    gallery = Gallery.objects.get(pk=gallery_id)  # opens the database connection before the baseline

    def work() -> dict[str, Any]:
        result, length = stream_zip(gallery)
        return {"size": result.size, "length": length, "wall": result.wall}

    report_peak(work)


# --- Validity ----------------------------------------------------------------------------------------


def _zip64_extra(extra: bytes) -> bool:
    i = 0
    while i + 4 <= len(extra):
        header_id, length = struct.unpack("<HH", extra[i : i + 4])
        if header_id == 0x0001:
            return True
        i += 4 + length
    return False


def validate(gallery: Any, path: Path, originals: list[Original], *, check_bytes: bool) -> tuple[list[str], list[str]]:
    """Stream the ZIP to `path` and read it back. Returns (problems, notes)."""
    from galleries.privacy import FieldRule
    from sharing.downloads import zip_response

    problems: list[str] = []
    notes: list[str] = []
    started = time.perf_counter()
    response = zip_response(gallery, rule=FieldRule.for_owner())
    length = int(response["Content-Length"])
    try:
        with open(path, "wb") as out:
            for chunk in response.streaming_content:
                out.write(chunk)
    finally:
        response.close()
    size = path.stat().st_size
    if size != length:
        problems.append(f"file is {size} bytes, Content-Length said {length}")
    with open(path, "rb") as handle:
        handle.seek(max(0, size - 200))
        tail = handle.read()
    with zipfile.ZipFile(path) as archive:
        infos = archive.infolist()
        if len(infos) != len(originals):
            problems.append(f"{len(infos)} entries for {len(originals)} photos")
        stored = sum(1 for info in infos if info.compress_type == zipfile.ZIP_STORED)
        if stored != len(infos):
            problems.append(f"only {stored}/{len(infos)} entries are ZIP_STORED")
        for info, original in zip(infos, originals, strict=False):
            if info.filename != original.name or info.file_size != original.size:
                problems.append(f"entry {info.filename} ({info.file_size} B) != {original.name} ({original.size} B)")
                break
        zip64_entries = sum(1 for info in infos if _zip64_extra(info.extra))
        eocd64 = b"PK\x06\x06" in tail and b"PK\x06\x07" in tail
        notes.append(
            f"central directory: {len(infos)} entries, {stored} ZIP_STORED; ZIP64 end records: "
            f"{'yes' if eocd64 else 'no'}, entries with a ZIP64 extra field: {zip64_entries}"
        )
        if check_bytes:
            checked = matched = 0
            for info, original in zip(infos, originals, strict=False):
                digest = hashlib.sha256()
                with archive.open(info) as entry:  # zipfile raises BadZipFile on a CRC mismatch at the end
                    while piece := entry.read(PIECE):
                        digest.update(piece)
                if digest.hexdigest() == original.sha256:
                    matched += 1
                else:
                    problems.append(f"{info.filename}: bytes differ from its asset (SHA-256)")
                checked += 1
            notes.append(
                f"every entry read back: {checked} passed zipfile's CRC-32 check, {matched} match their asset's SHA-256"
            )
    notes.append(f"archive {size / MiB:,.1f} MiB written and checked in {time.perf_counter() - started:.1f} s")
    return problems, notes


# --- Main ----------------------------------------------------------------------------------------------


def _terminate(signum: int, _frame: Any) -> None:
    raise SystemExit(128 + signum)


def generate(project: Project, total: int) -> tuple[Any, list[Original], list[str], list[Path]]:
    """The gallery: originals written under their keys, rows bulk-created, flushed to disk."""
    from galleries.storage import original_key

    started = time.perf_counter()
    media_root = project.workdir / "media"
    originals = write_originals(media_root, project.workdir / "generating.part", total)
    gallery = create_rows(originals)
    elapsed = time.perf_counter() - started
    print(
        f"  generated {len(originals)} originals of ~{originals[0].size / MiB:.1f} MiB ({total / MiB:,.0f} MiB) "
        f"with their rows in {elapsed:.1f} s"
    )
    print(
        "  page-cache passes read the files just written (system caches cannot be dropped here); cold passes "
        "evict each file first (posix_fadvise DONTNEED; the host may still cache the virtual disk)"
    )
    keys = [original_key(o.sha256, "jpg") for o in originals]
    paths = [media_root / key for key in keys]
    started = time.perf_counter()
    evict(paths, drop=False)
    print(
        f"  flushed to disk in {time.perf_counter() - started:.1f} s (no writeback during the passes; lets cold passes evict)"
    )
    return gallery, originals, keys, paths


def speeds(gallery: Any, keys: list[str], paths: list[Path], total: int) -> tuple[dict[str, list[float]], bool]:
    """Reading the files against streaming the ZIP, back to back in ROUNDS rounds, warm then cold.

    The order alternates (read first in odd rounds, zip first in even ones) and the ratio zip / read
    is taken within each round; returns the per-round ratios for each cache state.
    """
    length_ok = True
    ratios: dict[str, list[float]] = {}
    reads: dict[str, list[float]] = {}
    zip_size = 0
    for cold in (False, True):
        label = "cold cache" if cold else "page cache"
        ratios[label], reads[label] = [], []
        for n in range(ROUNDS):
            passes: dict[str, Pass] = {}
            for step in ("read", "zip") if n % 2 == 0 else ("zip", "read"):
                if cold:
                    evict(paths)
                if step == "read":
                    passes["read"] = read_baseline(keys)
                else:
                    passes["zip"], length = stream_zip(gallery)
            read, result = passes["read"], passes["zip"]
            ratios[label].append(result.mibps / read.mibps)
            reads[label].append(read.mibps)
            zip_size = result.size
            length_ok = length_ok and result.size == length and read.size == total
            print(
                f"  {label} round {n + 1} ({'read first' if n % 2 == 0 else 'zip first'}): "
                f"read {read.mibps:,.0f} MiB/s (cpu {read.cpu:.2f} s), zip {result.mibps:,.0f} MiB/s "
                f"(cpu {result.cpu:.2f} s) -> zip/read {ratios[label][-1]:.0%}; zip bytes {result.size:,} "
                f"{'==' if result.size == length else '!='} Content-Length {length:,}"
            )
    warm_read, cold_read = statistics.median(reads["page cache"]), statistics.median(reads["cold cache"])
    if cold_read > 0.5 * warm_read:
        print("  note: cold reads are not much slower than warm ones; the eviction may not have taken effect")
    crc = crc32_speed()
    ceiling = 1 / (1 + warm_read / crc)
    print(
        f"  (for information) CRC-32 alone (zlib {zlib.ZLIB_RUNTIME_VERSION}, which every ZIP entry needs): "
        f"{crc:,.0f} MiB/s -> a ZIP can reach at most ~{ceiling:.0%} of the page-cache read speed here "
        f"(median read {warm_read:,.0f} MiB/s); ZIP structure adds {zip_size - total:,} bytes"
    )
    return ratios, length_ok


def memory(gallery: Any) -> dict[str, Any]:
    """The same ZIP streamed in a fresh interpreter: its peak RSS (MB) before and after."""
    report = peak_rss_of_child(Path(__file__).resolve(), "--memory-child", str(gallery.pk), timeout=300)
    before, peak, hwm = report["before_kb"] / 1024, report["after_kb"] / 1024, report["vmhwm_kb"] / 1024
    print(
        f"  memory (fresh process, {report['size'] / MiB:,.0f} MiB streamed at "
        f"{report['size'] / MiB / report['wall']:,.0f} MiB/s): ru_maxrss {before:.1f} MB after Django + imports "
        f"(VmRSS {report['before_rss_kb'] / 1024:.1f} MB), peak {peak:.1f} MB (VmHWM {hwm:.1f} MB), "
        f"increase {peak - before:.1f} MB"
    )
    if abs(peak - hwm) > 2:
        print(f"  note: ru_maxrss {peak:.1f} MB differs from VmHWM {hwm:.1f} MB; VmHWM is this process's own")
    return {**report, "before": before, "peak": peak}


def check_archive(project: Project, gallery: Any, originals: list[Original]) -> list[str]:
    """The archive streamed to a file and read back: its notes printed, its problems returned."""
    problems, notes = validate(gallery, project.workdir / "check.zip", originals, check_bytes=True)
    with contextlib.suppress(FileNotFoundError):
        (project.workdir / "check.zip").unlink()
    for note in notes:
        print(f"  {note}")
    for problem in problems:
        print(f"  PROBLEM: {problem}")
    return problems


def _ratios(values: list[float]) -> str:
    rounds = ", ".join(f"{v:.0%}" for v in values)
    return f"median {statistics.median(values):.0%} (spread {min(values):.0%}-{max(values):.0%}; rounds {rounds})"


def targets(ratios: dict[str, list[float]], mem: dict[str, Any], length_ok: bool, problems: list[str]) -> None:
    warm = ratios["page cache"]
    print(
        f"  target: zip at least {TARGET_RATIO:.0%} of the read speed, files in page cache (as specified): "
        f"{_ratios(warm)} -> {verdict(statistics.median(warm) >= TARGET_RATIO)}"
    )
    print(f"  (for information, not the target) the same from disk, cold cache: {_ratios(ratios['cold cache'])}")
    before, peak = mem["before"], mem["peak"]
    increase = peak - before
    if before >= TARGET_PEAK_MB:
        # Django and the imports alone are over the target: only the growth can be what it means.
        print(
            f"  target: peak memory below {TARGET_PEAK_MB:.0f} MB -> absolute {peak:.1f} MB is over before streaming "
            f"starts ({before:.1f} MB), judged on the increase {increase:.1f} MB {verdict(increase < TARGET_PEAK_MB)}"
        )
    else:
        print(
            f"  target: peak memory below {TARGET_PEAK_MB:.0f} MB -> {peak:.1f} MB absolute "
            f"(increase {increase:.1f} MB) {verdict(peak < TARGET_PEAK_MB)}"
        )
    length_ok = length_ok and mem["size"] == mem["length"]
    print(
        f"  check: byte counts == Content-Length in every pass {verdict(length_ok)}; archive valid {verdict(not problems)}"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size-gb", type=float, default=2.0, help="total size of the gallery's originals in GiB")
    parser.add_argument("--quick", action="store_true", help=f"{QUICK_GB} GiB")
    parser.add_argument("--memory-child", metavar="GALLERY_ID", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.memory_child:
        memory_child(args.memory_child)
        return

    signal.signal(signal.SIGTERM, _terminate)
    signal.signal(signal.SIGHUP, _terminate)
    total = round((QUICK_GB if args.quick else args.size_gb) * GiB)
    begun = time.perf_counter()
    project = Project.create("zip", production=True)
    try:
        project.migrate()
        print(f"zip: one gallery of {total / GiB:.2f} GiB, {os.cpu_count()} cores, load average {loadavg()}")
        gallery, originals, keys, paths = generate(project, total)
        ratios, length_ok = speeds(gallery, keys, paths, total)
        mem = memory(gallery)
        problems = check_archive(project, gallery, originals)
        targets(ratios, mem, length_ok, problems)
    finally:
        project.remove()
        left = "left behind!" if project.workdir.exists() else "removed"
        print(
            f"  temporary directory {project.workdir} {left}; total run {time.perf_counter() - begun:.1f} s; "
            f"load average after {loadavg()}"
        )


if __name__ == "__main__":
    main()
