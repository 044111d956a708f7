"""Page marks (galleries.marks): every page and every photo's place, as the owner and as visitors see
them, are checked against plain OFFSET and COUNT after each kind of change to the order."""

from __future__ import annotations

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from galleries import marks, paging, services
from galleries.models import Gallery, PageMark, Photo
from galleries.tests.conftest import bulk_photos, fail_processing

pytestmark = pytest.mark.django_db


@pytest.fixture
def stride(monkeypatch):
    monkeypatch.setattr(marks, "STRIDE", 4)
    return 4


def in_order(gallery: Gallery, *, owner: bool) -> list:
    photos = Photo.objects.filter(gallery=gallery)
    if not owner:
        photos = photos.filter(is_approved=True).exclude(asset__status="failed")
    return list(photos.order_by(*paging.PHOTO_ORDER).values_list("pk", flat=True))


def assert_pages_true(gallery: Gallery) -> None:
    """Every page of every size, and every photo's place, as OFFSET and COUNT would have them."""
    gallery.refresh_from_db()
    for owner in (True, False):
        want = in_order(gallery, owner=owner)
        for size in (1, 3, 5):
            for start in range(0, len(want) + size, size):
                got = paging.photo_ids(gallery, owner=owner, start=start, limit=size)
                assert got == want[start : start + size], (owner, size, start)
        for i, pk in enumerate(want):
            assert marks.ordinal_of(gallery, Photo.objects.get(pk=pk), shown_only=not owner) == i, (owner, i)


@pytest.fixture
def ordered(gallery, stride):
    """30 photos, with ties: three share a position and a creation time (the id decides)."""
    bulk_photos(gallery, 30)
    tied = list(Photo.objects.filter(gallery=gallery, position__in=[10, 11, 12]))
    Photo.objects.filter(pk__in=[p.pk for p in tied]).update(position=10, created_at=tied[0].created_at)
    return gallery


def test_pages_and_places_stay_true_through_every_change_to_the_order(ordered, add_photo):
    gallery = ordered
    assert_pages_true(gallery)
    assert PageMark.objects.filter(gallery=gallery).exists()

    version = Gallery.objects.get(pk=gallery.pk).order_version
    added = [add_photo(gallery) for _ in range(6)]  # new photos go to the end: the marks stay
    assert Gallery.objects.get(pk=gallery.pk).order_version == version
    assert_pages_true(gallery)

    services.photo_delete(photo=Photo.objects.get(gallery=gallery, position=7))
    assert_pages_true(gallery)

    services.photo_unapprove(photo=Photo.objects.filter(gallery=gallery, position=10).first())
    assert_pages_true(gallery)

    services.photo_update(photo=added[-1], position=3)  # moved to the middle
    assert_pages_true(gallery)

    fail_processing(added[-1])
    assert_pages_true(gallery)

    services.photo_approve(photo=Photo.objects.get(gallery=gallery, is_approved=False))
    assert_pages_true(gallery)


def test_a_change_replaces_the_marks_of_the_old_order(ordered):
    gallery = ordered
    paging.photo_ids(gallery, owner=True, start=25, limit=5)
    old = set(PageMark.objects.filter(gallery=gallery).values_list("version", flat=True))
    services.photo_delete(photo=Photo.objects.get(gallery=gallery, position=0))
    gallery.refresh_from_db()
    paging.photo_ids(gallery, owner=True, start=25, limit=5)
    assert set(PageMark.objects.filter(gallery=gallery).values_list("version", flat=True)) == {gallery.order_version}
    assert gallery.order_version not in old


def test_a_deep_page_starts_at_its_mark_not_at_the_first_photo(ordered, stride):
    gallery = ordered
    paging.photo_ids(gallery, owner=True, start=24, limit=3)  # makes the marks
    mark = PageMark.objects.get(gallery=gallery, shown_only=False, ordinal=24)
    with CaptureQueriesContext(connection) as queries:
        ids = paging.photo_ids(gallery, owner=True, start=25, limit=3)
    assert ids == in_order(gallery, owner=True)[25:28]
    assert len(queries) == 2  # the mark, then the page from it
    page = queries.captured_queries[-1]["sql"]
    assert f"{mark.position}" in page and "OFFSET 1" in page  # one row past the mark, not 25


def test_marks_are_made_once_and_extended_only_as_deep_as_asked(ordered, stride):
    gallery = ordered
    paging.photo_ids(gallery, owner=False, start=9, limit=2)
    assert sorted(PageMark.objects.filter(gallery=gallery).values_list("ordinal", flat=True)) == [0, 4, 8]
    paging.photo_ids(gallery, owner=False, start=17, limit=2)
    assert sorted(PageMark.objects.filter(gallery=gallery).values_list("ordinal", flat=True)) == [0, 4, 8, 12, 16]
    with CaptureQueriesContext(connection) as queries:
        paging.photo_ids(gallery, owner=False, start=17, limit=2)
    assert len(queries) == 2


def test_pages_past_the_end_are_empty_and_leave_no_marks_beyond_it(ordered):
    gallery = ordered
    assert paging.photo_ids(gallery, owner=True, start=400, limit=5) == []
    assert max(PageMark.objects.filter(gallery=gallery).values_list("ordinal", flat=True)) < 30


def test_the_marks_go_with_the_gallery(ordered):
    gallery = ordered
    paging.photo_ids(gallery, owner=True, start=20, limit=5)
    services.gallery_destroy(gallery=gallery)
    assert not PageMark.objects.exists()
