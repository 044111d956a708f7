"""Deleting for good: purges, the files they free, orphans, and the storage counters.

Rows and files go in this order, so that a process killed at any point leaves nothing wrong behind:

1. one transaction deletes a batch of rows (photos, the assets no other photo holds, their variants)
   and writes a StorageTombstone for each file those rows pointed at;
2. after commit the files are deleted from storage;
3. one transaction deletes those tombstones and counts the bytes on the purge's record.

Killed after 1: the tombstones are still there and the next run deletes the files (step 2 is safe
to repeat: a missing file is what we want). Killed after 2: the files are gone but still counted as
pending, and the next run counts them. No row points at a missing file, no file is counted as freed
while it exists, and the sweep (lifecycle app) finishes what a killed run started.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.core.files.storage import default_storage
from django.db import transaction
from django.db.models import Count, F, QuerySet, Sum
from django.db.models.functions import Coalesce
from django.utils import timezone

from galleries.models import Asset, Gallery, Photo, PurgeReason, PurgeRecord, StorageTombstone, Variant

log = logging.getLogger(__name__)


# --- Burying assets: rows out, tombstones in ------------------------------------------------------


def bury_assets(asset_ids: Iterable[Any], *, purge: PurgeRecord | None = None) -> int:
    """Delete the assets among these that no photo holds, with their variants, leaving a tombstone
    for each of their files. Call inside a transaction; returns how many assets went.

    The assets are locked first: a concurrent upload of the same bytes either placed its photo
    already (the asset is kept) or waits, finds no asset and stores the bytes again.
    """
    ids = list(Asset.objects.select_for_update().filter(pk__in=list(asset_ids)).values_list("pk", flat=True))
    if not ids:
        return 0
    held = set(Photo.objects.filter(asset_id__in=ids).values_list("asset_id", flat=True).distinct())
    free = [pk for pk in ids if pk not in held]
    if not free:
        return 0
    stones = [
        StorageTombstone(key=key, size=size, purge=purge)
        for key, size in Variant.objects.filter(asset_id__in=free).values_list("key", "size")
    ]
    for sha256, ext, size in Asset.objects.filter(pk__in=free).values_list("sha256", "ext", "size"):
        stones.append(StorageTombstone(key=Asset(sha256=sha256, ext=ext).original_key, size=size, purge=purge))
    StorageTombstone.objects.bulk_create(stones, ignore_conflicts=True)
    Variant.objects.filter(asset_id__in=free).delete()
    Asset.objects.filter(pk__in=free).delete()
    return len(free)


def _still_wanted(keys: list[str]) -> set[str]:
    """Keys a row points at again (the same bytes were uploaded after they were buried)."""
    originals = {key.rsplit("/", 1)[-1].split(".", 1)[0]: key for key in keys if key.startswith("originals/")}
    wanted = set(Variant.objects.filter(key__in=keys).values_list("key", flat=True))
    for sha256 in Asset.objects.filter(sha256__in=list(originals)).values_list("sha256", flat=True):
        wanted.add(originals[sha256])
    return wanted


@dataclass
class Flushed:
    handled: int = 0  # tombstones done with (their file deleted, or wanted again and kept)
    files: int = 0
    bytes: int = 0


def flush_tombstones(*, limit: int | None = None, purge: PurgeRecord | None = None) -> Flushed:
    """Delete the files of up to `limit` tombstones (those of one purge if given), then the
    tombstones, counting the bytes on their purge records once the files are gone."""
    limit = limit or settings.LIFECYCLE_BATCH
    stones = StorageTombstone.objects.order_by("created_at", "pk")
    if purge is not None:
        stones = stones.filter(purge=purge)
    batch = list(stones.values_list("pk", "key", "size", "purge_id")[:limit])
    if not batch:
        return Flushed()
    wanted = _still_wanted([key for _, key, _, _ in batch])
    done = []
    for pk, key, size, purge_id in batch:
        if key not in wanted:
            try:
                default_storage.delete(key)
            except Exception:  # storage down: keep the tombstone, the next sweep tries again
                log.warning("could not delete %s; it stays queued", key, exc_info=True)
                continue
        done.append((pk, size, purge_id, key not in wanted))
    per_purge: dict[Any, list[int]] = {}
    for _, size, purge_id, deleted in done:
        if purge_id is not None and deleted:
            counts = per_purge.setdefault(purge_id, [0, 0])
            counts[0] += 1
            counts[1] += size
    with transaction.atomic():
        StorageTombstone.objects.filter(pk__in=[row[0] for row in done]).delete()
        for purge_id, (files, size) in per_purge.items():
            PurgeRecord.objects.filter(pk=purge_id).update(
                files_deleted=F("files_deleted") + files, bytes_freed=F("bytes_freed") + size
            )
    deleted = [row for row in done if row[3]]
    return Flushed(handled=len(done), files=len(deleted), bytes=sum(row[1] for row in deleted))


def flush_all_tombstones(*, purge: PurgeRecord | None = None, deadline: float | None = None) -> Flushed:
    """flush_tombstones until none is left, storage stops taking deletes, or the deadline passes."""
    total = Flushed()
    while True:
        step = flush_tombstones(purge=purge)
        total.handled += step.handled
        total.files += step.files
        total.bytes += step.bytes
        if not step.handled or (deadline is not None and time.monotonic() > deadline):
            return total


# --- Purging a gallery ----------------------------------------------------------------------------


@dataclass
class PurgeResult:
    record: PurgeRecord | None  # None: nothing was purged (the gallery is gone, or no longer due)
    finished: bool


def _running_record(gallery: Gallery, reason: str) -> PurgeRecord:
    """The record of this gallery's purge: the one a killed run left, or a new one."""
    running = PurgeRecord.objects.filter(gallery_id=gallery.pk, finished_at__isnull=True).first()
    if running is not None:
        return running
    return PurgeRecord.objects.create(
        gallery_id=gallery.pk, title=gallery.title, owner_id=gallery.owner_id, reason=reason
    )


def gallery_purge(
    *,
    gallery: Gallery,
    reason: str = PurgeReason.ADMIN,
    batch: int | None = None,
    deadline: float | None = None,
    due: Callable[[Gallery], bool] | None = None,
) -> PurgeResult:
    """Delete a gallery for good: its photos in batches, every file no other photo holds, then the row.

    Files another gallery (or another owner) still holds survive. Safe to stop between batches and
    to call again: it carries on under the same record. `deadline` (time.monotonic()) stops it
    between batches; the result says whether it finished. `due` is asked with the gallery row
    locked before anything is deleted: an owner who restored or extended it a moment ago wins.
    """
    batch = batch or settings.LIFECYCLE_BATCH
    record = None
    while True:
        with transaction.atomic():
            locked = Gallery.objects.select_for_update().filter(pk=gallery.pk).first()
            if locked is None:
                break
            if record is None:
                if due is not None and not due(locked):
                    return PurgeResult(None, finished=False)
                record = _running_record(locked, reason)
            rows = list(Photo.objects.filter(gallery=locked).order_by("pk").values_list("pk", "asset_id")[:batch])
            if not rows:
                Gallery.objects.filter(pk=locked.pk).delete()  # share links, selections and favourites go with it
                break
            photo_ids = [pk for pk, _ in rows]
            Gallery.objects.filter(pk=locked.pk, cover_id__in=photo_ids).update(cover=None)
            Photo.objects.filter(pk__in=photo_ids).delete()
            Gallery.objects.filter(pk=locked.pk).reordered()
            bury_assets({asset_id for _, asset_id in rows}, purge=record)
            PurgeRecord.objects.filter(pk=record.pk).update(photos_deleted=F("photos_deleted") + len(rows))
        flush_all_tombstones(purge=record)
        if deadline is not None and time.monotonic() > deadline:
            record.refresh_from_db()
            return PurgeResult(record, finished=False)
    if record is None:
        return PurgeResult(None, finished=False)
    flush_all_tombstones(purge=record)
    PurgeRecord.objects.filter(pk=record.pk, finished_at__isnull=True).update(finished_at=timezone.now())
    record.refresh_from_db()
    log.info(
        "purged gallery %s (%s): %d photos, %d files, %d bytes",
        record.gallery_id,
        record.reason,
        record.photos_deleted,
        record.files_deleted,
        record.bytes_freed,
    )
    return PurgeResult(record, finished=True)


def resume_interrupted_purges(*, deadline: float | None = None) -> int:
    """Finish the purges a killed process left: the rest of the gallery if its row is still there
    (under its own reason: it was due when it began), else the last files and the record."""
    resumed = 0
    for record in running_purges().order_by("started_at"):
        gallery = Gallery.objects.filter(pk=record.gallery_id).first()
        if gallery is not None:
            gallery_purge(gallery=gallery, reason=record.reason, deadline=deadline)
        else:
            flush_all_tombstones(purge=record)
            PurgeRecord.objects.filter(pk=record.pk, finished_at__isnull=True).update(finished_at=timezone.now())
        resumed += 1
        if deadline is not None and time.monotonic() > deadline:
            break
    return resumed


def running_purges() -> QuerySet:
    return PurgeRecord.objects.filter(finished_at__isnull=True)


def pending_tombstones() -> QuerySet:
    return StorageTombstone.objects.all()


# --- Orphans ----------------------------------------------------------------------------------


def orphan_assets(*, limit: int) -> list[Any]:
    """Assets no photo holds, older than ORPHAN_ASSET_GRACE (an upload that died between its steps)."""
    before = timezone.now() - settings.ORPHAN_ASSET_GRACE
    return list(
        Asset.objects.filter(created_at__lt=before)
        .annotate(n=Count("photos"))
        .filter(n=0)
        .values_list("pk", flat=True)[:limit]
    )


# --- Storage counters -------------------------------------------------------------------------


def asset_stored_bytes(asset_id: Any) -> int:
    """What an asset holds in storage now: its original and every variant."""
    row = (
        Asset.objects.filter(pk=asset_id)
        .annotate(variants_size=Coalesce(Sum("variants__size"), 0))
        .values_list("size", "variants_size")
        .first()
    )
    return 0 if row is None else row[0] + row[1]


def asset_recount(asset_id: Any) -> int:
    """Set an asset's stored_bytes from its files and pass the change on to every gallery holding it.

    Call with the asset row locked (processing does), so a photo placed meanwhile is counted once.
    """
    old = Asset.objects.filter(pk=asset_id).values_list("stored_bytes", flat=True).first()
    if old is None:
        return 0
    new = asset_stored_bytes(asset_id)
    delta = new - old
    if delta:
        Asset.objects.filter(pk=asset_id).update(stored_bytes=new)
        Gallery.objects.filter(pk__in=Photo.objects.filter(asset_id=asset_id).values("gallery_id")).update(
            storage_bytes=F("storage_bytes") + delta
        )
    return delta


def gallery_recount(gallery_id: Any) -> int:
    """Count a gallery's storage from its photos' assets (the check behind the kept counter)."""
    total = Photo.objects.filter(gallery_id=gallery_id).aggregate(s=Coalesce(Sum("asset__stored_bytes"), 0))["s"]
    Gallery.objects.filter(pk=gallery_id).update(storage_bytes=total)
    return total


def owner_storage(owner_ids: Iterable[Any] | None = None) -> dict[Any, int]:
    """Bytes per owner: the sum of their galleries' counters (trash included: it still takes space)."""
    galleries = Gallery.objects.all()
    if owner_ids is not None:
        galleries = galleries.filter(owner_id__in=list(owner_ids))
    return dict(
        galleries.order_by().values("owner_id").annotate(total=Sum("storage_bytes")).values_list("owner_id", "total")
    )
