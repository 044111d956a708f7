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

- sweep: --galleries (default 1,000) public galleries of 100 photos, each photo its own asset with an
  original and 2 variant files (bulk-created rows, tiny files), one gallery in 10 expired past its
  purge grace; lifecycle.sweep in a fresh interpreter: wall time, peak RSS (target < 150 MB), files
  and rows deleted, storage counters dropped by exactly the purged bytes; queries of gallery_purge
  for galleries of 50 and 200 photos (constant, not proportional to photos). Baseline, same run:
  os.unlink of as many files and one DELETE per table for as many rows ("sweep / bare delete").

    .venv/bin/python bench/lifecycle.py [--files 100000] [--galleries 1000]

Prints PASS/MISS lines and exits 0 either way (it is a report).
"""

from __future__ import annotations

import argparse
import hashlib
import itertools
import os
import sys
import time
from pathlib import Path
from typing import Any

from _harness import ROOT, Project, loadavg, peak_rss_of_child, report_peak, verdict

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


class MediaWriter:
    """Writes small files under MEDIA_ROOT by key, making each directory once; remembers the keys if asked."""

    def __init__(self, media: Path, *, remember: bool = False) -> None:
        self.media, self.remember = media, remember
        self.made_dirs: set[str] = set()
        self.keys: list[str] = []

    def __call__(self, key: str, data: bytes) -> None:
        path = self.media / key
        parent = str(path.parent)
        if parent not in self.made_dirs:
            os.makedirs(parent, exist_ok=True)
            self.made_dirs.add(parent)
        with open(path, "wb") as out:
            out.write(data)
        if self.remember:
            self.keys.append(key)


def populate(media: Path, files: int) -> int:
    """Assets with an original and their variants, files and rows; returns the number of assets."""
    from galleries.models import Asset, AssetStatus, Variant
    from galleries.storage import original_key, variant_key

    specs = variant_specs()
    assets_wanted = files // (1 + len(specs))
    write = MediaWriter(media)
    made_dirs = write.made_dirs

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


# --- Step: the sweep ------------------------------------------------------------------------------

PHOTOS_PER_GALLERY = 100
EXPIRED_SHARE = 10  # one gallery in this many has expired past its purge grace
OWNERS = 20
SWEEP_VARIANTS = (("thumbnail", "webp"), ("small", "webp"))
ORIGINAL_BYTES = 24
VARIANT_BYTES = 8
STORED_BYTES = ORIGINAL_BYTES + VARIANT_BYTES * len(SWEEP_VARIANTS)  # Asset.stored_bytes of every asset
FILES_PER_PHOTO = 1 + len(SWEEP_VARIANTS)
RSS_TARGET_MB = 150
CONSTANT_SIZES = (50, 200)  # photos in the two galleries whose purge queries are counted


def make_galleries(media: Path, tag: str, counts: list[int]) -> tuple[list[Any], list[str]]:
    """Galleries of alice-like owners holding counts[i] photos each, every photo its own asset with
    an original and SWEEP_VARIANTS, files and rows (bulk_create); returns gallery ids and file keys."""
    from django.utils import timezone

    from accounts.models import User
    from galleries.models import Asset, AssetStatus, Gallery, Photo, Variant, Visibility
    from galleries.storage import original_key, variant_key

    owners = list(User.objects.filter(username__startswith="sweep-owner-").order_by("pk"))
    if not owners:
        User.objects.bulk_create(
            [User(username=f"sweep-owner-{n}", email=f"owner{n}@example.com", is_staff=True) for n in range(OWNERS)]
        )
        owners = list(User.objects.filter(username__startswith="sweep-owner-").order_by("pk"))
    now = timezone.now()
    write = MediaWriter(media, remember=True)
    made_dirs, keys = write.made_dirs, write.keys

    ids: list[Any] = []
    chunk = max(1, BATCH // max(1, max(counts)))  # galleries per bulk_create round
    for start in range(0, len(counts), chunk):
        galleries, assets, variants, photos = [], [], [], []
        for g in range(start, min(start + chunk, len(counts))):
            gallery = Gallery(
                owner=owners[g % len(owners)],
                title=f"Sweep {tag} {g}",
                slug=f"sweep-{tag}-{g}",
                visibility=Visibility.PUBLIC,
                published_at=now,
                storage_bytes=counts[g] * STORED_BYTES,
            )
            galleries.append(gallery)
            for p in range(counts[g]):
                sha = hashlib.sha256(f"sweep {tag} {g} {p}".encode()).hexdigest()
                write(original_key(sha, "jpg"), sha[:ORIGINAL_BYTES].encode())
                asset = Asset(
                    sha256=sha, mime="image/jpeg", ext="jpg", size=ORIGINAL_BYTES, width=4, height=3,
                    status=AssetStatus.READY, stored_bytes=STORED_BYTES,
                )  # fmt: skip
                assets.append(asset)
                for name, fmt in SWEEP_VARIANTS:
                    key = variant_key(sha, name, fmt)
                    write(key, sha[:VARIANT_BYTES].encode())
                    variants.append(
                        Variant(asset=asset, name=name, format=fmt, width=4, height=3, size=VARIANT_BYTES, key=key)
                    )
                photos.append(Photo(gallery=gallery, asset=asset, position=p, original_filename=f"IMG_{p:04d}.jpg"))
        Gallery.objects.bulk_create(galleries, batch_size=BATCH)
        Asset.objects.bulk_create(assets, batch_size=BATCH)
        Variant.objects.bulk_create(variants, batch_size=BATCH)
        Photo.objects.bulk_create(photos, batch_size=BATCH)
        ids.extend(gallery.pk for gallery in galleries)
        made_dirs.clear()
    return ids, keys


def expire_past_grace(ids: list[Any]) -> None:
    """As a sweep long ago left them: expired (and told) GALLERY_PURGE_AFTER + 1 days back."""
    from datetime import timedelta

    from django.conf import settings
    from django.utils import timezone

    from galleries.models import Gallery

    when = timezone.now() - timedelta(days=(settings.GALLERY_PURGE_AFTER or 30) + 1)
    Gallery.objects.filter(pk__in=ids).update(expires_at=when, expired_for=when, purge_warned_for=when)


def count_files(media: Path) -> int:
    return sum(len(names) for top in ("originals", "variants") for _, _, names in os.walk(media / top))


def sweep_child() -> None:
    """Runs in a fresh interpreter: one sweep; queries counted (purge step apart) with execute_wrapper."""
    from datetime import timedelta

    import django

    # PYTHONPATH puts the project after this script's directory, where this file would pass for the
    # lifecycle app: the project goes first.
    sys.path.insert(0, str(ROOT))
    django.setup()
    from django.db import connection

    from galleries.models import Gallery
    from lifecycle.sweep import Sweep

    Gallery.objects.exists()  # the database connection is opened before the baseline
    counts = {"purge": 0, "other": 0}
    phase = ["other"]

    def counter(execute, sql, params, many, context):
        counts[phase[0]] += 1
        return execute(sql, params, many, context)

    class MeasuredSweep(Sweep):
        def purge(self, report) -> None:
            phase[0] = "purge"
            try:
                super().purge(report)
            finally:
                phase[0] = "other"

    def work() -> dict[str, Any]:
        with connection.execute_wrapper(counter):
            started = time.perf_counter()
            report = MeasuredSweep(budget=timedelta(hours=2)).run()
            wall = time.perf_counter() - started
        purge = next(step for step in report.steps if step.name == "purged")
        return {
            "wall_s": wall,
            "purged": purge.done,
            "photos": purge.detail.get("photos", 0),
            "files": purge.detail.get("files", 0),
            "bytes": purge.detail.get("bytes", 0),
            "unfinished": report.unfinished,
            "purge_queries": counts["purge"],
            "other_queries": counts["other"],
        }

    report_peak(work)


_purge_runs = itertools.count()


def purge_queries(media: Path, photos: int) -> int:
    """Queries of lifecycle.gallery_purge for one gallery of `photos` photos (made for it here)."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from galleries import lifecycle
    from galleries.models import Gallery, PurgeReason

    [gallery_id], _ = make_galleries(media, f"q{photos}-{next(_purge_runs)}", [photos])
    gallery = Gallery.objects.get(pk=gallery_id)
    with CaptureQueriesContext(connection) as captured:
        result = lifecycle.gallery_purge(gallery=gallery, reason=PurgeReason.EXPIRED)
    assert result.finished and result.record.photos_deleted == photos
    return len(captured)


def bare_delete(db_path: Path, media: Path, gallery_ids: list[Any], keys: list[str]) -> float:
    """The baseline: os.unlink every file, then one DELETE per table, in one transaction (sqlite3)."""
    import sqlite3

    started = time.perf_counter()
    for key in keys:
        os.unlink(media / key)
    db = sqlite3.connect(db_path)
    try:
        db.execute("CREATE TEMP TABLE doomed (id char(32) PRIMARY KEY)")
        db.executemany("INSERT INTO doomed VALUES (?)", [(pk.hex,) for pk in gallery_ids])
        in_doomed = "SELECT asset_id FROM galleries_photo WHERE gallery_id IN (SELECT id FROM doomed)"
        with db:
            db.execute("CREATE TEMP TABLE doomed_assets AS " + in_doomed)
            db.execute("DELETE FROM galleries_photo WHERE gallery_id IN (SELECT id FROM doomed)")
            db.execute("DELETE FROM galleries_variant WHERE asset_id IN (SELECT asset_id FROM doomed_assets)")
            db.execute("DELETE FROM galleries_asset WHERE id IN (SELECT asset_id FROM doomed_assets)")
            db.execute("DELETE FROM galleries_gallery WHERE id IN (SELECT id FROM doomed)")
    finally:
        db.close()
    return time.perf_counter() - started


def bench_sweep(project: Project, galleries: int) -> None:
    from django.db.models import Sum

    from galleries.models import Asset, Gallery, Photo, PurgeRecord, Variant

    print(f"  sweep: load average before {loadavg()}")
    media = project.workdir / "media"
    expired_n = galleries // EXPIRED_SHARE
    started = time.perf_counter()
    ids, keys = make_galleries(media, "main", [PHOTOS_PER_GALLERY] * galleries)
    expired = ids[::EXPIRED_SHARE][:expired_n]
    expire_past_grace(expired)
    # The baseline's own copy of what the sweep deletes (alive, so the sweep leaves it alone).
    base_ids, base_keys = make_galleries(media, "base", [PHOTOS_PER_GALLERY] * expired_n)
    photos_total = Photo.objects.count()
    print(
        f"    made {galleries:,} galleries of {PHOTOS_PER_GALLERY} photos ({galleries * PHOTOS_PER_GALLERY:,} photos, "
        f"{len(keys):,} files) + {expired_n} for the baseline in {time.perf_counter() - started:.1f} s; "
        f"{expired_n} expired past the purge grace"
    )
    expected_files = expired_n * PHOTOS_PER_GALLERY * FILES_PER_PHOTO
    expected_bytes = expired_n * PHOTOS_PER_GALLERY * STORED_BYTES
    files_before = count_files(media)
    counter_before = Gallery.objects.aggregate(s=Sum("storage_bytes"))["s"]
    assets_before, variants_before = Asset.objects.count(), Variant.objects.count()

    report = peak_rss_of_child(Path(__file__).resolve(), "--sweep-child", timeout=3600)

    files_after = count_files(media)
    counter_after = Gallery.objects.aggregate(s=Sum("storage_bytes"))["s"]
    freed = PurgeRecord.objects.filter(gallery_id__in=expired).aggregate(s=Sum("bytes_freed"))["s"] or 0
    photos_gone = photos_total - Photo.objects.count()
    rows_gone = (assets_before - Asset.objects.count(), variants_before - Variant.objects.count())
    wall, purged = report["wall_s"], report["purged"]
    print(
        f"    sweep (fresh process): purged {purged} galleries, {report['photos']:,} photos, {report['files']:,} files, "
        f"{report['bytes']:,} bytes in {wall:.2f} s ({report['photos'] / wall:,.0f} photos/s)"
        f"{'; UNFINISHED' if report['unfinished'] else ''}"
    )
    peak = report["after_kb"] / 1024
    print(
        f"    peak RSS {peak:.1f} MB ({report['before_kb'] / 1024:.1f} MB after Django and imports, "
        f"VmHWM {report['vmhwm_kb'] / 1024:.1f} MB); target < {RSS_TARGET_MB} MB {verdict(peak < RSS_TARGET_MB)}"
    )
    gone_keys = [key for key in keys if not (media / key).exists()]  # only the expired galleries' files
    files_ok = files_before - files_after == expected_files == report["files"] == len(gone_keys)
    print(
        f"    files deleted: {files_before - files_after:,} on disk, {report['files']:,} reported, "
        f"expected {expected_files:,} {verdict(files_ok)}"
    )
    rows_ok = photos_gone == expired_n * PHOTOS_PER_GALLERY and rows_gone == (
        expired_n * PHOTOS_PER_GALLERY,
        expired_n * PHOTOS_PER_GALLERY * len(SWEEP_VARIANTS),
    )
    print(
        f"    rows deleted: {photos_gone:,} photos, {rows_gone[0]:,} assets, {rows_gone[1]:,} variants {verdict(rows_ok)}"
    )
    counter_ok = counter_before - counter_after == expected_bytes == freed == report["bytes"]
    print(
        f"    storage counters: galleries' total dropped {counter_before - counter_after:,} bytes, purge records "
        f"freed {freed:,}, expected {expected_bytes:,} {verdict(counter_ok)}"
    )
    per_gallery = report["purge_queries"] / max(1, purged)
    print(
        f"    queries: purge step {report['purge_queries']:,} ({per_gallery:.1f} per gallery of "
        f"{PHOTOS_PER_GALLERY} photos), other steps {report['other_queries']:,}"
    )
    # gallery_purge deletes the files in rounds of LIFECYCLE_BATCH tombstones (each a fixed handful of
    # queries): counted with the default batch, then with one large enough for both galleries' files.
    from django.conf import settings
    from django.test import override_settings

    small, large = (purge_queries(media, n) for n in CONSTANT_SIZES)
    print(
        f"    queries per gallery purged (gallery_purge, LIFECYCLE_BATCH {settings.LIFECYCLE_BATCH}): "
        f"{small} for {CONSTANT_SIZES[0]} photos, {large} for {CONSTANT_SIZES[1]} photos "
        f"(x{large / small:.2f} for x{CONSTANT_SIZES[1] // CONSTANT_SIZES[0]} photos: one more file round per "
        f"{settings.LIFECYCLE_BATCH} files) {verdict(large / small < 1.5)}"
    )
    one_round = CONSTANT_SIZES[1] * FILES_PER_PHOTO
    with override_settings(LIFECYCLE_BATCH=one_round):
        small, large = (purge_queries(media, n) for n in CONSTANT_SIZES)
    print(
        f"    queries per gallery purged (gallery_purge, LIFECYCLE_BATCH {one_round}): {small} for "
        f"{CONSTANT_SIZES[0]} photos, {large} for {CONSTANT_SIZES[1]} photos (left: SQLite's 999-parameter "
        f"chunks of bulk INSERT/DELETE); nearly equal {verdict(large - small <= 5)}"
    )
    bare = bare_delete(project.workdir / "db.sqlite3", media, base_ids, base_keys)
    print(
        f"    baseline bare delete (os.unlink of {len(base_keys):,} files + one DELETE per table): {bare:.2f} s; "
        f"sweep / bare delete = {wall / bare:.1f}"
    )
    print(f"  sweep: load average after {loadavg()}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--files", type=int, default=100_000, help="stored files to make (originals and variants)")
    parser.add_argument(
        "--galleries", type=int, default=1_000, help=f"galleries of {PHOTOS_PER_GALLERY} photos for the sweep"
    )
    parser.add_argument("--check-child", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--sweep-child", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.check_child:
        check_child()
        return
    if args.sweep_child:
        sweep_child()
        return

    begun = time.perf_counter()
    project = Project.create("lifecycle")
    try:
        project.migrate()
        print(f"lifecycle: {os.cpu_count()} cores, load average {loadavg()}, Python {sys.version.split()[0]}")
        steps = [lambda: bench_storage_check(project, args.files), lambda: bench_sweep(project, args.galleries)]
        for step in steps:
            step()
        print(f"  load average after: {loadavg()}")
    finally:
        project.remove()
        left = "left behind!" if project.workdir.exists() else "removed"
        print(f"  temporary directory {project.workdir} {left}; total run {time.perf_counter() - begun:.1f} s")


if __name__ == "__main__":
    main()
