"""Pages of photos whose cost does not grow with the gallery: the count comes from the gallery's
kept counters (galleries.counters), a deep page starts at the page mark before it (galleries.marks)
instead of walking every photo before it, and a page's rows are found by their ids first (an
index-only walk over (gallery, position, created_at, id)) and joined with their assets and variants
after the limit, so the join is made for the rows shown, not for every row skipped."""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property
from typing import Any

from django.core.paginator import Paginator
from django.db.models import QuerySet

from galleries import marks
from galleries.models import Gallery, Photo, attach_variants

PHOTO_ORDER = marks.ORDER
MAX_PAGE = 1_000_000


def page_number(raw: str | None) -> int:
    """A page number from a query string, normalised (`0003` is 3); anything else is page 1."""
    if raw and raw.isascii() and raw.isdigit() and 0 < int(raw) <= MAX_PAGE:
        return int(raw)
    return 1


def rows_for(rows: QuerySet, ids: list[Any]) -> list:
    """The rows with these ids, in their order. `rows` says what to select and prefetch and must
    filter nothing else: the ids were chosen already, and another condition (the gallery) can lead
    a database to walk that condition's index instead of the primary key (SQLite did, at 100k)."""
    found = {row.pk: row for row in rows.filter(pk__in=ids)}
    return [found[pk] for pk in ids if pk in found]


@dataclass
class PhotoPage:
    """What the gallery page's template needs of a page: its number and whether one follows."""

    number: int
    has_next: bool
    object_list: list

    @property
    def next_page_number(self) -> int:
        return self.number + 1


def photo_ids(gallery: Gallery, *, owner: bool, start: int, limit: int) -> list[Any]:
    """The ids of `limit` photos from the `start`-th (from 0) in the order the owner or visitors see,
    walking from the page mark before `start`, not from the first photo."""
    photos = marks.audience(gallery, shown_only=not owner)
    mark = marks.seek(gallery, shown_only=not owner, ordinal=start)
    if mark is not None:
        photos, start = photos.filter(marks.at_or_after(mark.key)), start - mark.ordinal
    return list(photos.order_by(*PHOTO_ORDER).values_list("pk", flat=True)[start : start + limit])


def photo_page(gallery: Gallery, *, owner: bool, number: int, size: int) -> PhotoPage:
    """Page `number` (from 1) of the photos: ids first (one more, to know whether a page follows)."""
    ids = photo_ids(gallery, owner=owner, start=(number - 1) * size, limit=size + 1)
    return PhotoPage(number=number, has_next=len(ids) > size, object_list=photos_shown(ids[:size]))


def photos_shown(ids: list[Any]) -> list[Photo]:
    """The photos with these ids, in their order, with their assets and their variants (as plain rows)."""
    photos = rows_for(Photo.objects.select_related("asset"), ids)
    attach_variants(photo.asset for photo in photos)
    return photos


class CountedPaginator(Paginator):
    """Django's Paginator (for DRF's page numbers) over a gallery's photos as the owner or visitors see
    them: the count from the counters, a page's ids from photo_ids, the join after the limit."""

    def __init__(self, object_list: QuerySet, per_page: int, *, gallery: Gallery, owner: bool, **kwargs: Any) -> None:
        super().__init__(object_list.order_by(*PHOTO_ORDER), per_page, **kwargs)
        self.gallery, self.owner = gallery, owner
        self._known_count = gallery.photo_total if owner else gallery.photo_count

    @cached_property
    def count(self) -> int:
        return self._known_count

    def page(self, number: Any):
        number = self.validate_number(number)
        ids = photo_ids(self.gallery, owner=self.owner, start=(number - 1) * self.per_page, limit=self.per_page)
        return self._get_page(photos_shown(ids), number, self)
