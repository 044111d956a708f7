"""Lifecycle: how fast the storage check reconciles a large store, against a plain directory walk.

Runs in a throwaway project state (temporary SQLite database and MEDIA_ROOT, local storage).
Steps, each its own function (main reads as their list):

- storage check: --files (default 100,000) tiny files under the real content-addressed keys
  (one original and 7 variants per asset), with their Asset and Variant rows bulk-created; a few
  old orphans are added and a few variant files removed, so the check has drift to find.
  - baseline: os.walk over originals/ and variants/, os.stat of every file;
  - check: galleries.storagecheck.storage_check() (both sorted streams and the merge, no --fix).
  Both run ROUNDS times, alternating, the best of each counts (noise on a shared VM only ever
  slows a pass down); files in page cache for both. Target: the check at least 50% of the walk's
  files per second. Peak memory: the check again in a fresh interpreter (through the harness's
  launcher, so it does not inherit this process's peak), ru_maxrss before and after.

    .venv/bin/python bench/lifecycle.py [--files 100000]

Prints PASS/MISS lines and exits 0 either way (it is a report).
"""

from __future__ import annotations

import argparse
import hashlib
import os
import sys
import time
from pathlib import Path
from typing import Any

from _harness import Project, loadavg, peak_rss_of_child, report_peak, verdict

ROUNDS = 3
TARGET_RATIO = 0.50
BATCH = 5000  # rows per bulk_create
DRIFT = 10  # orphans added and variant files removed
OLD = 2 * 24 * 3600  # seconds: the orphans' age, past the default grace of 24 hours


# --- Step: the storage check -------------------------------------------------------------------------


def variant_specs() -> list[tuple[str, str]]:
    from django.conf import settings

    skip = {tuple(pair) for pair in settings.IMAGE_VARIANT_SKIP}
    names = [spec[0] for spec in settings.IMAGE_VARIANTS]  # (name, width, height, fit)
    return [(name, fmt) for name in names for fmt in settings.IMAGE_VARIANT_FORMATS if (name, fmt) not in skip]


def populate(media: Path, files: int) -> int:
    """Assets with an original and their variants, files and rows; returns the number of assets."""
    from galleries.models import Asset, AssetStatus, Variant
    from galleries.storage import original_key, variant_key

    specs = variant_specs()
    assets_wanted = files // (1 + len(specs))
    made_dirs: set[str] = set()

    def write(key: str, data: bytes) -> None:
        path = media / key
        parent = str(path.parent)
        if parent not in made_dirs:
            os.makedirs(parent, exist_ok=True)
            made_dirs.add(parent)
        with open(path, "wb") as out:
            out.write(data)

    for start in range(0, assets_wanted, BATCH):
        assets = []
        for n in range(start, min(start + BATCH, assets_wanted)):
            sha = hashlib.sha256(f"lifecycle {n}".encode()).hexdigest()
            write(original_key(sha, "jpg"), sha[:16].encode())
            assets.append(
                Asset(sha256=sha, mime="image/jpeg", ext="jpg", size=16, width=4, height=3, status=AssetStatus.READY)
            )
        Asset.objects.bulk_create(assets, batch_size=BATCH)
        variants = []
        for asset in assets:
            for name, fmt in specs:
                key = variant_key(asset.sha256, name, fmt)
                write(key, b"v")
                variants.append(Variant(asset=asset, name=name, format=fmt, width=4, height=3, size=1, key=key))
        Variant.objects.bulk_create(variants, batch_size=BATCH)
        made_dirs.clear()  # bounded; a directory made once is cheap to ask for again
    return assets_wanted


def add_drift(media: Path) -> None:
    """DRIFT old orphans (no row) and DRIFT variant files removed (rows left)."""
    from galleries.models import Variant
    from galleries.storage import original_key

    old = time.time() - OLD
    for n in range(DRIFT):
        path = media / original_key(hashlib.sha256(f"orphan {n}".encode()).hexdigest(), "jpg")
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(b"orphan")
        os.utime(path, (old, old))
    for key in Variant.objects.order_by("?").values_list("key", flat=True)[:DRIFT]:
        (media / key).unlink()


def walk(media: Path) -> int:
    """The baseline: os.walk and os.stat of every file, as any directory scan must at least do."""
    count = 0
    for top in ("originals", "variants"):
        for directory, _dirs, names in os.walk(media / top):
            for name in names:
                os.stat(os.path.join(directory, name))
                count += 1
    return count


def best_rate(work, rounds: int) -> tuple[float, Any]:
    """Files per second of the fastest of `rounds` passes, and what the last pass returned."""
    best, result = 0.0, None
    for _ in range(rounds):
        started = time.perf_counter()
        result = work()
        elapsed = time.perf_counter() - started
        count = result if isinstance(result, int) else result.checked
        best = max(best, count / elapsed)
    return best, result


def check_child() -> None:
    """Runs in a fresh interpreter: the storage check; report_peak prints ru_maxrss before and after."""
    import django

    django.setup()
    from galleries.models import Asset
    from galleries.storagecheck import storage_check

    Asset.objects.exists()  # the database connection is opened before the baseline

    def work() -> dict[str, Any]:
        result = storage_check()
        return {"checked": result.checked, "rows": result.rows}

    report_peak(work)


def bench_storage_check(project: Project, files: int) -> None:
    from galleries.storagecheck import storage_check

    media = project.workdir / "media"
    started = time.perf_counter()
    assets = populate(media, files)
    add_drift(media)
    print(f"  storage check: {assets:,} assets, {walk(media):,} files made in {time.perf_counter() - started:.1f} s")

    walk_rate = check_rate = 0.0
    result = None
    for _ in range(ROUNDS):  # alternating, so a slow spell of the machine hits both
        rate, walked = best_rate(lambda: walk(media), 1)
        walk_rate = max(walk_rate, rate)
        rate, result = best_rate(storage_check, 1)
        check_rate = max(check_rate, rate)
    assert result is not None
    print(f"    baseline os.walk + stat: {walked:,} files, {walk_rate:,.0f} files/s (best of {ROUNDS})")
    print(
        f"    storage_check:           {result.checked:,} files and {result.rows:,} rows, {check_rate:,.0f} files/s "
        f"(best of {ROUNDS}); found {result.orphans.count} orphans, {result.missing} rows missing files"
    )
    drift_ok = result.orphans.count == DRIFT and result.missing_variants.count == DRIFT
    ratio = check_rate / walk_rate
    print(f"    ratio {ratio:.2f} (target ≥ {TARGET_RATIO:.2f}) {verdict(ratio >= TARGET_RATIO)}")
    print(f"    drift found exactly ({DRIFT} orphans, {DRIFT} missing variants) {verdict(drift_ok)}")

    report = peak_rss_of_child(Path(__file__).resolve(), "--check-child", timeout=600)
    before, peak = report["before_kb"] / 1024, report["after_kb"] / 1024
    print(
        f"    peak memory (fresh process, {report['checked']:,} files): {before:.1f} MB after Django and imports, "
        f"peak {peak:.1f} MB (VmHWM {report['vmhwm_kb'] / 1024:.1f} MB), increase {peak - before:.1f} MB"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--files", type=int, default=100_000, help="stored files to make (originals and variants)")
    parser.add_argument("--check-child", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.check_child:
        check_child()
        return

    begun = time.perf_counter()
    project = Project.create("lifecycle")
    try:
        project.migrate()
        print(f"lifecycle: {os.cpu_count()} cores, load average {loadavg()}, Python {sys.version.split()[0]}")
        steps = [lambda: bench_storage_check(project, args.files)]
        for step in steps:
            step()
        print(f"  load average after: {loadavg()}")
    finally:
        project.remove()
        left = "left behind!" if project.workdir.exists() else "removed"
        print(f"  temporary directory {project.workdir} {left}; total run {time.perf_counter() - begun:.1f} s")


if __name__ == "__main__":
    main()
