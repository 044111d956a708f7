"""The photo counts kept on each gallery (Gallery.photo_count, photo_total).

Lists and pages read these instead of counting rows, so their cost does not grow with the number of
photos. Every write that changes what a gallery holds calls one of these in its own transaction:
adding and deleting photos (services), approving (services), and an asset entering or leaving the
failed state (processing, the stuck-asset sweep, reprocessing), which is rare enough to recount the
galleries that hold it. `recount` is also the check (tests, storage_check --fix can call it).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from django.db.models import Count, F, Q

from galleries.models import AssetStatus, Gallery, Photo

SHOWN = Q(is_approved=True) & ~Q(asset__status=AssetStatus.FAILED)  # what Photo.shown records


def added(gallery_id: Any, *, shown: int, total: int) -> None:
    """Photos were placed in (positive) or taken out of (negative) a gallery. New photos go to the end
    of the order; photos taken out change it (galleries.marks)."""
    if shown or total:
        Gallery.objects.filter(pk=gallery_id).update(
            photo_count=F("photo_count") + shown, photo_total=F("photo_total") + total
        )
    if shown < 0 or total < 0:
        Gallery.objects.filter(pk=gallery_id).reordered()


def approval_changed(photo_ids: Iterable[Any], *, approved: bool) -> None:
    """Call before the approval of these photos flips: visitors' counts move by the photos that are not
    failed, and those photos are shown or hidden."""
    photo_ids = list(photo_ids)
    Photo.objects.filter(pk__in=photo_ids, is_approved=not approved).exclude(asset__status=AssetStatus.FAILED).update(
        shown=approved
    )
    rows = (
        Photo.objects.filter(pk__in=photo_ids, is_approved=not approved)
        .exclude(asset__status=AssetStatus.FAILED)
        .values("gallery_id")
        .annotate(n=Count("pk"))
        .order_by()
    )
    for row in rows:
        delta = row["n"] if approved else -row["n"]
        Gallery.objects.filter(pk=row["gallery_id"]).update(photo_count=F("photo_count") + delta)
        Gallery.objects.filter(pk=row["gallery_id"]).reordered()  # visitors' order gained or lost photos


def asset_failure_changed(asset_ids: Iterable[Any]) -> None:
    """An asset became failed or stopped being so: its photos are shown or hidden, and the galleries
    that hold it are counted again."""
    photos = Photo.objects.filter(asset_id__in=list(asset_ids))
    galleries = set(photos.values_list("gallery_id", flat=True).distinct())
    flipped = photos.filter(SHOWN).exclude(shown=True).update(shown=True)
    flipped += photos.exclude(SHOWN).exclude(shown=False).update(shown=False)
    if flipped:
        Gallery.objects.filter(pk__in=galleries).reordered()  # visitors' order gained or lost photos
    recount(galleries)


def recount(gallery_ids: Iterable[Any]) -> int:
    """Count these galleries' photos from their rows (and set each photo's shown flag from its
    approval and asset); returns how many counters and flags were wrong (0: all were right)."""
    wrong = 0
    for gallery_id in set(gallery_ids):
        photos = Photo.objects.filter(gallery_id=gallery_id)
        flipped = photos.filter(SHOWN).exclude(shown=True).update(shown=True)
        flipped += photos.exclude(SHOWN).exclude(shown=False).update(shown=False)
        if flipped:
            Gallery.objects.filter(pk=gallery_id).reordered()  # visitors' order gained or lost photos
        wrong += flipped
        counts = Photo.objects.filter(gallery_id=gallery_id).aggregate(
            shown=Count("pk", filter=SHOWN), total=Count("pk")
        )
        wrong += (
            Gallery.objects.filter(pk=gallery_id)
            .exclude(photo_count=counts["shown"], photo_total=counts["total"])
            .update(photo_count=counts["shown"], photo_total=counts["total"])
        )
    return wrong
