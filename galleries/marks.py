"""Deep pages that cost what the first page costs: where page N starts, without counting every photo
before it.

A gallery's photos have one total order (galleries.paging.PHOTO_ORDER: position, created_at, id).
OFFSET finds the 500,000th photo by walking 500,000 index entries. Instead, every STRIDE-th photo
of the order is written down once as a PageMark (its ordinal and its key); page N then starts at
the mark before it and walks fewer than STRIDE entries from there. The same marks say where a photo
stands ("photo 312,415 of 1,000,000") without counting the photos before it.

Marks are derived data, made on demand by one walk of the index (a window function, in the
database), for one audience (every photo, for the owner; the shown ones, for visitors) and one
`Gallery.order_version`. Whatever takes a photo out of the order or moves it in the order bumps that
version (GalleryQuerySet.reordered): older marks are never read again and are replaced when marks
are next made. New photos go to the end, so adding photos leaves the marks true; the marks are
extended past them when a page that deep is asked for.
"""

from __future__ import annotations

from django.db import connection
from django.db.models import F, Q, QuerySet, Window
from django.db.models.functions import RowNumber

from galleries.models import Gallery, PageMark, Photo

STRIDE = 1000  # photos between marks: a deep page walks fewer than this many index entries
# One order for every list of a gallery's photos, with the id last so that it is total: pages never
# show a photo twice or skip one while others are added (new photos go to the end).
ORDER = ("position", "created_at", "id")


def audience(gallery: Gallery, *, shown_only: bool) -> QuerySet:
    """The photos of a gallery one audience sees: the owner every photo, visitors the shown ones."""
    photos = Photo.objects.filter(gallery=gallery)
    return photos.filter(shown=True) if shown_only else photos


def at_or_after(key: tuple, *, inclusive: bool = True, id_field: str = "id") -> Q:
    """Photos (or marks: id_field="photo_id") at or after this key in the order. `position >= p`
    comes first so that the database starts its walk of the index there, not at the first photo."""
    position, created_at, pk = key
    last = Q(**{f"{id_field}__gte" if inclusive else f"{id_field}__gt": pk})
    return Q(position__gte=position) & (
        Q(position__gt=position)
        | Q(position=position, created_at__gt=created_at)
        | (Q(position=position, created_at=created_at) & last)
    )


def before(key: tuple, *, inclusive: bool = False, id_field: str = "id") -> Q:
    """Photos (or marks: id_field="photo_id") before (or at) this key in the order."""
    position, created_at, pk = key
    last = Q(**{f"{id_field}__lte" if inclusive else f"{id_field}__lt": pk})
    return Q(position__lte=position) & (
        Q(position__lt=position)
        | Q(position=position, created_at__lt=created_at)
        | (Q(position=position, created_at=created_at) & last)
    )


def key_of(photo: Photo) -> tuple:
    return (photo.position, photo.created_at, photo.pk)


def _marks(gallery: Gallery, shown_only: bool) -> QuerySet:
    return PageMark.objects.filter(gallery=gallery, shown_only=shown_only, version=gallery.order_version).order_by(
        "ordinal"
    )


def seek(gallery: Gallery, *, shown_only: bool, ordinal: int) -> PageMark | None:
    """The mark at or before `ordinal` (from 0) in this audience's order; None: start at the first photo."""
    if ordinal < STRIDE:
        return None
    want = ordinal - ordinal % STRIDE
    marks = _marks(gallery, shown_only).filter(ordinal__lte=want)
    mark = marks.last()
    if mark is None or mark.ordinal < want:
        _extend(gallery, shown_only, mark, to_ordinal=want)
        mark = marks.last()
    return mark


def ordinal_of(gallery: Gallery, photo: Photo, *, shown_only: bool) -> int:
    """Where this photo stands (from 0) in this audience's order; it must be in it. Counts fewer than
    STRIDE photos: from the mark before it (made first when there is none that close)."""
    key = key_of(photo)

    def from_mark(limit: int | None) -> tuple[PageMark | None, int]:
        mark = _marks(gallery, shown_only).filter(before(key, inclusive=True, id_field="photo_id")).last()
        photos = audience(gallery, shown_only=shown_only).filter(before(key))
        if mark is not None:
            photos = photos.filter(at_or_after(mark.key))
        return mark, (photos[:limit] if limit else photos).count()

    mark, between = from_mark(STRIDE)
    if between == STRIDE:  # a stride or more past the last mark (photos added since): mark the way
        _extend(gallery, shown_only, mark, to_key=key)
        mark, between = from_mark(None)
    return (mark.ordinal if mark else 0) + between


def _extend(gallery: Gallery, shown_only: bool, last: PageMark | None, *, to_ordinal: int = 0,
            to_key: tuple | None = None) -> None:  # fmt: skip
    """Write the marks from `last` (or the first photo) up to `to_ordinal` or up to `to_key`, in one
    walk of the index. Two requests doing it at once write the same rows; one of each is kept."""
    if last is None:
        # The first marks of this version: the older versions' are of no use any more.
        PageMark.objects.filter(gallery=gallery, shown_only=shown_only).exclude(version=gallery.order_version).delete()
    photos = audience(gallery, shown_only=shown_only)
    base = 0
    if last is not None:
        photos, base = photos.filter(at_or_after(last.key)), last.ordinal
    if to_key is not None:
        photos = photos.filter(before(to_key, inclusive=True))
    walk = (
        photos.order_by(*ORDER)
        .annotate(walk_row=Window(RowNumber(), order_by=[F(name).asc() for name in ORDER]))
        .values_list("pk", "walk_row")
    )
    if to_key is None:
        walk = walk[: to_ordinal - base + 1]
    sql, params = walk.query.sql_with_params()
    row = connection.ops.quote_name("walk_row")
    with connection.cursor() as cursor:
        # Every STRIDE-th row of the walk (base is a multiple of STRIDE, and the walk's first row is `last`).
        cursor.execute(f"SELECT * FROM ({sql}) walk WHERE (walk.{row} - 1) %% {STRIDE} = 0", params)  # noqa: S608
        found = {Photo._meta.pk.to_python(pk): base + n - 1 for pk, n in cursor.fetchall()}
    keys = Photo.objects.filter(pk__in=list(found)).values_list("pk", "position", "created_at")
    mark = {"gallery": gallery, "shown_only": shown_only, "version": gallery.order_version}
    made = [
        PageMark(**mark, ordinal=found[pk], position=position, created_at=created_at, photo_id=pk)
        for pk, position, created_at in keys
    ]
    PageMark.objects.bulk_create(made, ignore_conflicts=True)
