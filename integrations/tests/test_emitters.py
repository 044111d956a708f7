"""Each service that makes one of the changes emits its event (the one-line calls in lower apps)."""

from __future__ import annotations

import hashlib
from datetime import timedelta

import pytest
from django.utils import timezone

from conftest import make_image
from galleries import services as gallery_services
from lifecycle.sweep import sweep
from sharing import services as sharing_services
from uploads import services as upload_services


@pytest.fixture
def heard(local_webhooks, receiver, register, alice):
    """Alice listens to every event on the loopback receiver; heard() lists (type, data id) received."""
    from config.events import EVENT_TYPES

    register(alice, receiver.url(), list(EVENT_TYPES))
    return lambda: [(r.json["type"], r.json["data"]["id"]) for r in receiver.requests]


def test_a_gallery_published_at_once_or_later_by_the_sweep(heard, alice, clock, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        now = gallery_services.gallery_create(owner=alice, title="Now", visibility="public")
        later = gallery_services.gallery_create(
            owner=alice, title="Later", visibility="public", publish_at=timezone.now() + timedelta(days=1)
        )
    assert heard() == [("gallery.published", str(now.pk))]  # the draft is not published yet
    clock.advance(days=2)
    with django_capture_on_commit_callbacks(execute=True):
        sweep()
    assert heard()[1:] == [("gallery.published", str(later.pk))]
    with django_capture_on_commit_callbacks(execute=True):
        sweep()  # twice is harmless: no second event
    assert len(heard()) == 2


def test_a_draft_released_by_hand_is_published(heard, alice, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        draft = gallery_services.gallery_create(
            owner=alice, title="Draft", publish_at=timezone.now() + timedelta(days=5)
        )
        gallery_services.gallery_update(gallery=draft, title="Renamed")
        assert heard() == []
        gallery_services.gallery_update(gallery=draft, publish_at=None)
    assert heard() == [("gallery.published", str(draft.pk))]


def test_the_sweep_tells_of_an_expired_gallery(heard, receiver, alice, clock, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):  # its gallery.published goes out first
        gallery = gallery_services.gallery_create(
            owner=alice, title="Soon gone", expires_at=timezone.now() + timedelta(days=1)
        )
    receiver.requests.clear()
    clock.advance(days=2)
    with django_capture_on_commit_callbacks(execute=True):
        sweep()
    assert ("gallery.expired", str(gallery.pk)) in heard()
    [got] = [r for r in receiver.requests if r.json["type"] == "gallery.expired"]
    assert got.json["data"]["expires_at"] is not None


def test_a_guests_upload_completes_and_waits_for_approval(heard, receiver, alice, django_capture_on_commit_callbacks):
    gallery = gallery_services.gallery_create(owner=alice, title="Party", visibility="public")
    link = sharing_services.share_link_create(gallery=gallery, allow_upload=True)
    receiver.requests.clear()
    data = make_image("JPEG", size=(40, 30))
    upload = upload_services.upload_create(
        owner=None,
        gallery=gallery,
        filename="guest.jpg",
        size=len(data),
        share_link=link,
        guest_name="Tom",
        guest_visitor="visitor-1",
    )
    upload_services.upload_receive_chunk(
        upload=upload, index=0, stream=iter([data]), length=len(data), sha256=hashlib.sha256(data).hexdigest()
    )
    with django_capture_on_commit_callbacks(execute=True):
        photo = upload_services.upload_complete(upload=upload)
    types = heard()
    assert ("upload.completed", str(upload.pk)) in types
    assert ("guest_upload.pending", str(photo.pk)) in types
    [pending] = [r for r in receiver.requests if r.json["type"] == "guest_upload.pending"]
    assert pending.json["data"]["contributor"] == "Tom" and pending.json["data"]["is_approved"] is False


def test_the_owners_own_upload_is_not_pending(heard, receiver, alice, django_capture_on_commit_callbacks):
    gallery = gallery_services.gallery_create(owner=alice, title="Mine")
    receiver.requests.clear()
    data = make_image("JPEG", size=(40, 30), colour=(9, 9, 9))
    upload = upload_services.upload_create(owner=alice, gallery=gallery, filename="own.jpg", size=len(data))
    upload_services.upload_receive_chunk(
        upload=upload, index=0, stream=iter([data]), length=len(data), sha256=hashlib.sha256(data).hexdigest()
    )
    with django_capture_on_commit_callbacks(execute=True):
        upload_services.upload_complete(upload=upload)
    types = [t for t, _ in heard()]
    assert "upload.completed" in types and "guest_upload.pending" not in types


def test_an_asset_given_up_by_the_stuck_sweep_is_told_as_failed(
    heard, receiver, alice, django_capture_on_commit_callbacks
):
    import io

    from galleries.models import Asset, AssetStatus
    from galleries.tasks import requeue_stuck_assets

    gallery = gallery_services.gallery_create(owner=alice, title="Stuck")
    photo, _ = gallery_services.photo_add(
        gallery=gallery, file=io.BytesIO(make_image("JPEG", size=(40, 30), colour=(5, 50, 5))), filename="s.jpg"
    )
    receiver.requests.clear()
    Asset.objects.filter(pk=photo.asset_id).update(
        status=AssetStatus.PROCESSING, attempts=99, claim_expires_at=timezone.now() - timedelta(minutes=5)
    )
    with django_capture_on_commit_callbacks(execute=True):
        requeue_stuck_assets()
    assert heard() == [("photo.failed", str(photo.pk))]
    assert "never finished" in receiver.requests[0].json["data"]["error"]
