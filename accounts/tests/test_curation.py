"""The curation queue: keyset pages, constant queries, and every action through the galleries services."""

from __future__ import annotations

import uuid

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from accounts.models import Rejection
from config.exceptions import InvalidInput, NotFound
from galleries.models import Asset, Gallery, Photo
from sharing import curation

pytestmark = pytest.mark.django_db


@pytest.fixture
def as_(people):
    def make(name):
        c = Client()
        if name is not None:
            c.force_login(people[name])
        return c

    return make


def _bulk_pending(gallery, count: int, contributor: str = "dave") -> None:
    """Many pending photos at once (rows only: the queue reads rows, not files)."""
    assets = Asset.objects.bulk_create(
        Asset(sha256=uuid.uuid4().hex + uuid.uuid4().hex, mime="image/jpeg", ext="jpg", size=10, width=4, height=3)
        for _ in range(count)
    )
    Photo.objects.bulk_create(
        Photo(gallery=gallery, asset=a, position=i, original_filename=f"bulk_{i}.jpg", contributor=contributor,
              is_approved=False, shown=False)
        for i, a in enumerate(assets)
    )  # fmt: skip


def test_the_queue_lists_pending_photos_across_the_communitys_galleries(as_, community_gallery, pending_photo):
    one, two = community_gallery("One"), community_gallery("Two", visibility="private")
    pending_photo(one, 1)
    pending_photo(two, 2, contributor="gwen")
    page = as_("carol").get("/c/harbour/queue/").content.decode()
    assert "IMG_0001.jpg" in page and "IMG_0002.jpg" in page
    assert "(2)" in page and "dave 1" in page and "gwen 1" in page


def test_photos_of_other_galleries_are_not_in_the_queue(as_, alice, community_gallery, pending_photo):
    from galleries import services as gallery_services

    outside = gallery_services.gallery_create(owner=alice, title="Outside")
    pending_photo(outside, 3)
    page = as_("carol").get("/c/harbour/queue/").content.decode()
    assert "IMG_0003.jpg" not in page and "Nothing waiting" in page


@pytest.mark.parametrize(("name", "status"), [("erin", 403), ("dave", 403), ("frank", 404), (None, 302)], ids=str)
def test_the_queue_is_for_curators(as_, community_gallery, pending_photo, name, status):
    photo = pending_photo(community_gallery(), 1)
    c = as_(name)
    assert c.get("/c/harbour/queue/").status_code == status
    for action in ("approve", "reject", "feature", "cover"):
        response = c.post("/c/harbour/queue/", {"action": action, "photo": [photo.pk], "reason": "blurry"})
        assert response.status_code == status
    photo.refresh_from_db()
    assert not photo.is_approved and not photo.featured


def test_approving_shows_the_photos_to_members(as_, community_gallery, pending_photo):
    gallery = community_gallery()
    photos = [pending_photo(gallery, i) for i in range(3)]
    response = as_("carol").post(
        "/c/harbour/queue/", {"action": "approve", "photo": [p.pk for p in photos[:2]]}, HTTP_HX_REQUEST="true"
    )
    assert response.status_code == 200 and "Approved 2 photos" in response.content.decode()
    assert "<html" not in response.content.decode()
    gallery.refresh_from_db()
    assert gallery.photo_count == 2
    assert sorted(Photo.objects.filter(is_approved=True).values_list("original_filename", flat=True)) == [
        "IMG_0000.jpg",
        "IMG_0001.jpg",
    ]


def test_rejecting_needs_a_reason_deletes_the_photo_and_keeps_the_reason(as_, community_gallery, pending_photo, people):
    photo = pending_photo(community_gallery(), 1)
    c = as_("carol")
    response = c.post("/c/harbour/queue/", {"action": "reject", "photo": [photo.pk], "reason": " "})
    assert response.status_code == 400 and "Say why" in response.content.decode()
    assert (
        c.post("/c/harbour/queue/", {"action": "reject", "photo": [photo.pk], "reason": "x" * 501}).status_code == 400
    )
    response = c.post("/c/harbour/queue/", {"action": "reject", "photo": [photo.pk], "reason": "Out of focus"})
    assert response.status_code == 200 and "Rejected 1 photo" in response.content.decode()
    assert not Photo.objects.filter(pk=photo.pk).exists()
    rejection = Rejection.objects.get()
    assert (rejection.reason, rejection.contributor, rejection.rejected_by) == (
        "Out of focus",
        people["dave"],
        people["carol"],
    )


def test_moving_to_another_gallery_of_the_community(as_, community_gallery, pending_photo, alice):
    from galleries import services as gallery_services

    one, two = community_gallery("One"), community_gallery("Two")
    photo = pending_photo(one, 1)
    c = as_("carol")
    assert c.post("/c/harbour/queue/", {"action": "move", "photo": [photo.pk], "gallery": two.pk}).status_code == 200
    photo.refresh_from_db()
    assert photo.gallery_id == two.pk
    outside = gallery_services.gallery_create(owner=alice, title="Outside")
    response = c.post("/c/harbour/queue/", {"action": "move", "photo": [photo.pk], "gallery": outside.pk})
    assert response.status_code == 404
    assert c.post("/c/harbour/queue/", {"action": "move", "photo": [photo.pk], "gallery": "nope"}).status_code == 404
    photo.refresh_from_db()
    assert photo.gallery_id == two.pk


def test_cover_approves_and_sets_and_feature_marks_a_pick(as_, community_gallery, pending_photo):
    gallery = community_gallery()
    photo, other = pending_photo(gallery, 1), pending_photo(gallery, 2)
    c = as_("carol")
    assert c.post("/c/harbour/queue/", {"action": "cover", "photo": [photo.pk]}).status_code == 200
    gallery.refresh_from_db()
    photo.refresh_from_db()
    assert gallery.cover_id == photo.pk and photo.is_approved
    assert c.post("/c/harbour/queue/", {"action": "cover", "photo": [photo.pk, other.pk]}).status_code == 400
    assert c.post("/c/harbour/queue/", {"action": "feature", "photo": [other.pk]}).status_code == 200
    other.refresh_from_db()
    assert other.featured and not other.is_approved


@pytest.mark.parametrize(
    "data",
    [
        {"action": "destroy", "photo": ["x"]},
        {"action": "approve"},
        {"action": "approve", "photo": ["not-a-uuid"]},
    ],
    ids=str,
)
def test_bad_queue_input_is_a_clear_400(as_, community_gallery, pending_photo, data):
    pending_photo(community_gallery(), 1)
    response = as_("carol").post("/c/harbour/queue/", data)
    assert response.status_code == 400 and 'class="errors"' in response.content.decode()


def test_a_photo_of_another_community_is_not_found(as_, alice, people, pending_photo):
    from accounts.models import Community, Membership
    from galleries import services as gallery_services

    other = Community.objects.create(name="Chess", slug="chess")
    Membership.objects.create(user=people["frank"], community=other, role="curator")
    gallery = gallery_services.gallery_create(owner=alice, title="Chess night")
    gallery_services.gallery_update(gallery=gallery, community=other, visibility="members")
    photo = pending_photo(gallery, 9)
    response = as_("carol").post("/c/harbour/queue/", {"action": "approve", "photo": [photo.pk]})
    assert response.status_code == 404
    photo.refresh_from_db()
    assert not photo.is_approved


def test_ten_thousand_pending_photos_page_by_keyset_in_constant_queries(as_, community, community_gallery):
    one, two = community_gallery("One"), community_gallery("Two")
    _bulk_pending(one, 6000)
    _bulk_pending(two, 4000, contributor="gwen")
    first = curation.queue_page(community)
    assert first.total == 10_000 and len(first.photos) == 50 and first.next_cursor
    assert {r["contributor"]: r["count"] for r in first.by_contributor} == {"dave": 6000, "gwen": 4000}
    seen = {p.pk for p in first.photos}
    cursor, pages = first.next_cursor, 1
    while cursor and pages < 4:
        page = curation.queue_page(community, cursor=cursor)
        assert not seen & {p.pk for p in page.photos}
        seen |= {p.pk for p in page.photos}
        cursor, pages = page.next_cursor, pages + 1
    c = as_("carol")
    with CaptureQueriesContext(connection) as shallow:
        assert c.get("/c/harbour/queue/").status_code == 200
    with CaptureQueriesContext(connection) as deep:
        assert c.get(f"/c/harbour/queue/?after={cursor}").status_code == 200
    assert len(deep) == len(shallow) <= 12, [q["sql"] for q in deep.captured_queries]


def test_the_last_page_has_no_next_and_a_damaged_cursor_is_a_400(as_, community, community_gallery):
    _bulk_pending(community_gallery(), 3)
    assert curation.queue_page(community, limit=3).next_cursor == ""
    with pytest.raises(InvalidInput):
        curation.queue_page(community, cursor="garbage!!")
    assert as_("carol").get("/c/harbour/queue/?after=garbage").status_code == 400


def test_trashed_galleries_leave_the_queue(community, community_gallery, pending_photo):
    gallery = community_gallery()
    pending_photo(gallery, 1)
    Gallery.objects.filter(pk=gallery.pk).update(deleted_at=timezone.now())
    assert curation.queue_page(community).total == 0
    with pytest.raises(NotFound):
        curation.queue_approve(community=community, photo_ids=list(Photo.objects.values_list("pk", flat=True)))


def test_contributors_are_told_once_per_action_by_mail(
    community, community_gallery, pending_photo, people, django_capture_on_commit_callbacks
):
    from django.core import mail

    from notifications.models import Notification

    gallery = community_gallery()
    photos = [pending_photo(gallery, i) for i in range(3)]
    ghost = pending_photo(gallery, 9, contributor="someone-gone")
    with django_capture_on_commit_callbacks(execute=True):
        curation.queue_approve(community=community, photo_ids=[photos[0].pk, photos[1].pk, ghost.pk])
    with django_capture_on_commit_callbacks(execute=True):
        curation.queue_reject(community=community, photo_ids=[photos[2].pk], reason="Blurry", by=people["carol"])
    rows = list(Notification.objects.order_by("created_at"))
    assert [r.to for r in rows] == ["dave@example.com", "dave@example.com"]
    assert "2 of your photos are now in Harbour Rowing" in rows[0].subject
    assert "Blurry" in rows[1].body_text and "IMG_0002.jpg" in rows[1].body_text
    assert len(mail.outbox) == 2
