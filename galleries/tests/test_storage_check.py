"""The storage check, on local files and on S3 (SeaweedFS): orphans, missing files, --fix and the command.

Files keep their real modification times; `clock` (tests/plugins/clock.py) moves now forward to age them.
"""

from __future__ import annotations

import io
import os
from datetime import timedelta
from pathlib import Path

import pytest
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.core.management import CommandError, call_command

from conftest import make_image
from galleries import services, storagecheck, tasks
from galleries.models import Asset, AssetStatus
from galleries.storage import original_key, variant_key
from galleries.storagecheck import storage_check
from galleries.tests.conftest import VARIANTS

ORPHAN_SHA = "ab" * 32
ORPHAN_ORIGINAL = original_key(ORPHAN_SHA, "jpg")
ORPHAN_VARIANT = variant_key(ORPHAN_SHA, "small", "webp")


@pytest.fixture
def ready_photo(gallery):
    """A photo whose original and variants are stored and whose rows say so."""

    def make(n: int = 1):
        data = make_image("JPEG", size=(320, 240), colour=(n * 40 % 256, 90, 30))
        photo, _ = services.photo_add(gallery=gallery, file=io.BytesIO(data), filename=f"{n}.jpg")
        assert tasks.process_asset(photo.asset_id) == "ready"
        return Asset.objects.get(pk=photo.asset_id)

    return make


def run(*args: str) -> tuple[int, str]:
    """The command as cron runs it: its exit code and what it printed."""
    out = io.StringIO()
    try:
        call_command("storage_check", *args, stdout=out)
    except SystemExit as exc:
        return int(exc.code), out.getvalue()
    return 0, out.getvalue()


def test_a_clean_store_reports_clean_and_exits_0(storage, ready_photo):
    ready_photo(1)
    ready_photo(2)
    code, out = run()
    assert code == 0
    assert (
        out.strip()
        == f"storage_check: {2 * (1 + VARIANTS)} files checked, 0 orphans (0 bytes), 0 rows missing files, fixed: nothing needed"
    )


def test_an_orphan_older_than_the_grace_is_found_then_deleted_by_fix(storage, ready_photo, clock):
    asset = ready_photo()
    default_storage.save(ORPHAN_ORIGINAL, ContentFile(b"12345"))
    default_storage.save(ORPHAN_VARIANT, ContentFile(b"123"))
    clock.advance(timedelta(hours=25))

    code, out = run()
    assert code == 1
    assert f"  orphan (no row points to it): {ORPHAN_ORIGINAL}" in out.splitlines()
    assert f"  orphan (no row points to it): {ORPHAN_VARIANT}" in out.splitlines()
    assert out.splitlines()[-1] == (
        f"storage_check: {1 + VARIANTS + 2} files checked, 2 orphans (8 bytes), 0 rows missing files, fixed: nothing (run with --fix)"
    )
    assert ORPHAN_ORIGINAL in storage.names()  # reported, not touched

    code, out = run("--fix")
    assert code == 0
    assert out.splitlines()[-1].endswith("fixed: 2 orphans deleted (8 bytes), 0 assets re-queued")
    assert storage.names() == sorted([asset.original_key, *asset.variants.values_list("key", flat=True)])
    assert run()[0] == 0


def test_a_fresh_orphan_is_left_alone(storage, ready_photo, clock):
    ready_photo()
    default_storage.save(ORPHAN_ORIGINAL, ContentFile(b"in flight"))
    clock.advance(timedelta(hours=23))  # within the default grace of 24 hours

    result = storage_check(fix=True)
    assert result.orphans.count == 0 and result.deleted.count == 0
    assert result.recent.examples == [ORPHAN_ORIGINAL]
    assert ORPHAN_ORIGINAL in storage.names()
    code, out = run("--fix")
    assert code == 0
    assert "1 newer than the grace left alone, fixed: nothing needed" in out

    code, out = run("--fix", "--grace", "0")  # --grace overrides the setting
    assert code == 0 and "1 orphans deleted" in out
    assert ORPHAN_ORIGINAL not in storage.names()


def test_the_grace_comes_from_the_setting(storage, ready_photo, settings, clock):
    ready_photo()
    default_storage.save(ORPHAN_VARIANT, ContentFile(b"x"))
    settings.STORAGE_CHECK_GRACE = timedelta(hours=1)
    clock.advance(timedelta(hours=2))
    assert storage_check().orphans.examples == [ORPHAN_VARIANT]


def test_a_deleted_variant_file_is_found_and_rebuilt_by_fix(storage, ready_photo, django_capture_on_commit_callbacks):
    asset = ready_photo()
    lost = asset.variants.get(name="medium", format="webp")
    default_storage.delete(lost.key)

    result = storage_check()
    assert result.missing_variants.examples == [lost.key]
    assert result.requeued.count == 0 and not result.clean

    with django_capture_on_commit_callbacks(execute=True):  # the queued task runs (synchronous tasks)
        code, out = run("--fix")
    assert code == 0
    assert f"  row whose variant file is missing: {lost.key}" in out
    assert out.splitlines()[-1] == (
        f"storage_check: {VARIANTS} files checked, 0 orphans (0 bytes), 1 rows missing files, "
        "fixed: 0 orphans deleted (0 bytes), 1 assets re-queued"
    )
    assert lost.key in storage.names()
    assert storage.read(lost.key)[:4] == b"RIFF"  # a WebP again
    asset.refresh_from_db()
    assert asset.status == AssetStatus.READY and asset.variants.count() == VARIANTS
    assert run() == (
        0,
        f"storage_check: {1 + VARIANTS} files checked, 0 orphans (0 bytes), 0 rows missing files, fixed: nothing needed\n",
    )


def test_a_deleted_original_is_reported_and_its_rows_kept(storage, ready_photo, django_capture_on_commit_callbacks):
    asset = ready_photo()
    default_storage.delete(asset.original_key)
    default_storage.delete(asset.variants.get(name="small", format="avif").key)

    with django_capture_on_commit_callbacks(execute=True):
        code, out = run("--fix")
    assert code == 1  # nothing can rebuild an original
    assert f"  row whose original is missing: {asset.original_key}" in out
    assert out.splitlines()[-1].endswith(
        "2 rows missing files, fixed: 0 orphans deleted (0 bytes), 0 assets re-queued, "
        "1 originals missing (cannot be rebuilt)"
    )
    asset.refresh_from_db()
    assert asset.status == AssetStatus.READY and asset.variants.count() == VARIANTS  # no row deleted, nothing queued


def test_an_asset_being_processed_is_not_requeued(ready_photo):
    asset = ready_photo()
    default_storage.delete(asset.variants.first().key)
    # A worker has it: asset_reprocess raises Conflict, and the check leaves it to the worker.
    Asset.objects.filter(pk=asset.pk).update(status=AssetStatus.PROCESSING)

    code, out = run("--fix")
    assert code == 1
    assert f"  asset being processed, not re-queued: {asset.sha256}" in out
    assert "1 assets being processed skipped" in out
    assert Asset.objects.get(pk=asset.pk).status == AssetStatus.PROCESSING


def test_the_s3_listing_is_read_page_by_page(s3_storage, ready_photo, monkeypatch, clock):
    monkeypatch.setattr(storagecheck, "S3_PAGE_SIZE", 2)
    first, second = ready_photo(1), ready_photo(2)
    orphan = variant_key(second.sha256, "huge", "webp")  # sorts between the second asset's variants
    default_storage.save(orphan, ContentFile(b"old"))
    clock.advance(timedelta(days=2))

    result = storage_check(fix=True)
    variants = 2 * VARIANTS + 1  # the orphan is one of them
    assert result.pages >= 1 + variants // 2  # 1 page of 2 originals, then the variants: every page was read
    assert result.checked == 2 + variants and result.rows == 2 + 2 * VARIANTS
    assert result.deleted.examples == [orphan] and not result.missing
    keys = [first.original_key, second.original_key]
    for asset in (first, second):
        keys += asset.variants.values_list("key", flat=True)
    assert s3_storage.names() == sorted(keys)


def test_the_local_walk_lists_keys_in_s3_byte_order(tmp_path: Path):
    for name in ("v/a/b/c", "v/a/b.x", "v/a/a", "v/a.b/z", "v/B"):
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_bytes(b"1")
    keys = [f.key for f in storagecheck._local_files(str(tmp_path), "v/")]
    assert keys == sorted(keys) == ["v/B", "v/a.b/z", "v/a/a", "v/a/b.x", "v/a/b/c"]


def test_a_listing_out_of_order_stops_the_check_and_deletes_no_file_a_row_holds(ready_photo, monkeypatch, clock):
    asset = ready_photo()
    kept = [asset.original_key, *asset.variants.values_list("key", flat=True)]
    clock.advance(timedelta(days=2))
    real = storagecheck.stored_files
    monkeypatch.setattr(storagecheck, "stored_files", lambda *args: reversed(list(real(*args))))
    with pytest.raises(storagecheck.StorageCheckError, match="not in key order"):
        storage_check(fix=True)
    # The merge took files for orphans before the order broke; asking the database again saved them.
    assert all(os.path.exists(default_storage.path(key)) for key in kept)

    with pytest.raises(CommandError, match="not in key order"):  # a message for the person, not a traceback
        call_command("storage_check", stdout=io.StringIO())


def test_a_terminal_sees_a_progress_line_and_a_log_does_not(ready_photo, monkeypatch):
    ready_photo()
    monkeypatch.setattr(storagecheck, "PROGRESS_EVERY", 1)

    class Terminal(io.StringIO):
        def isatty(self) -> bool:
            return True

    terminal = Terminal()
    call_command("storage_check", stdout=terminal)
    assert f"\r  {1 + VARIANTS} files checked, " in terminal.getvalue()
    assert terminal.getvalue().endswith(
        f"\nstorage_check: {1 + VARIANTS} files checked, 0 orphans (0 bytes), 0 rows missing files, fixed: nothing needed\n"
    )
    assert "\r" not in run()[1]
