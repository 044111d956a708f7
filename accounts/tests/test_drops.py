"""Community drops: contributors send photos through tus into their community's galleries, within
their daily quota; curators approve them; trusted members' photos appear at once."""

from __future__ import annotations

import base64

import pytest
from django.test import Client

from accounts.models import Community, Membership
from conftest import make_image
from galleries.models import Photo
from uploads.models import Upload, UploadStatus

pytestmark = pytest.mark.django_db
TUS = {"HTTP_TUS_RESUMABLE": "1.0.0"}


def meta(**values) -> str:
    return ",".join(f"{k} {base64.b64encode(v.encode()).decode()}" for k, v in values.items())


@pytest.fixture
def as_(people):
    def make(name):
        c = Client(enforce_csrf_checks=True)
        if name is not None:
            c.force_login(people[name])
        return c

    return make


def _csrf(c: Client, slug: str = "harbour") -> str:
    page = c.get(f"/c/{slug}/drop/")
    assert page.status_code == 200, page.status_code
    return c.cookies["csrftoken"].value


def send(c: Client, gallery, data: bytes, *, filename="regatta.jpg", slug="harbour", csrf: str | None = None):
    headers = {**TUS, "HTTP_X_CSRFTOKEN": csrf} if csrf else TUS
    created = c.generic(
        "POST",
        f"/c/{slug}/tus/",
        b"",
        content_type="application/offset+octet-stream",
        HTTP_UPLOAD_LENGTH=str(len(data)),
        HTTP_UPLOAD_METADATA=meta(filename=filename, gallery=str(gallery.pk)),
        **headers,
    )
    if created.status_code != 201:
        return created
    return c.generic(
        "PATCH",
        created["Location"],
        data,
        content_type="application/offset+octet-stream",
        HTTP_UPLOAD_OFFSET="0",
        **headers,
    )


def test_a_contributors_drop_waits_for_a_curator_then_members_see_it(as_, community_gallery, people):
    gallery = community_gallery()
    dave = as_("dave")
    csrf = _csrf(dave)
    assert send(dave, gallery, make_image("JPEG", size=(300, 200)), csrf=csrf).status_code == 204
    photo = Photo.objects.get()
    assert not photo.is_approved and photo.contributor == "dave"
    upload = Upload.objects.get()
    assert upload.owner == people["dave"] and upload.status == UploadStatus.COMPLETE
    erin = as_("erin")
    assert str(photo.pk) not in erin.get(f"/g/{gallery.slug}/").content.decode()
    carol = as_("carol")
    carol_csrf = _csrf_for_queue(carol)
    response = carol.post("/c/harbour/queue/", {"action": "approve", "photo": [photo.pk]}, HTTP_X_CSRFTOKEN=carol_csrf)
    assert response.status_code == 200
    assert str(photo.pk) in erin.get(f"/g/{gallery.slug}/").content.decode()


def _csrf_for_queue(c: Client) -> str:
    assert c.get("/c/harbour/queue/").status_code == 200
    return c.cookies["csrftoken"].value


def test_a_trusted_members_photo_appears_at_once(as_, community_gallery, member):
    Membership.objects.filter(pk=member("dave").pk).update(trusted=True)
    gallery = community_gallery()
    dave = as_("dave")
    assert send(dave, gallery, make_image("JPEG", size=(300, 200)), csrf=_csrf(dave)).status_code == 204
    photo = Photo.objects.get()
    assert photo.is_approved and photo.contributor == "dave"


def test_the_drop_needs_the_csrf_token_with_a_session(as_, community_gallery):
    gallery = community_gallery()
    response = send(as_("dave"), gallery, make_image("JPEG", size=(30, 20)))
    assert response.status_code == 403 and not Upload.objects.exists()


@pytest.mark.parametrize(("name", "status"), [("erin", 403), ("frank", 404), (None, 403)], ids=str)
def test_viewers_strangers_and_anonymous_cannot_drop(as_, community_gallery, people, name, status):
    gallery = community_gallery()
    c = Client()
    if name:
        c.force_login(people[name])
    response = send(c, gallery, make_image("JPEG", size=(30, 20)))
    assert response.status_code in ((401, 403) if name is None else (status,))
    assert not Upload.objects.exists()
    page = c.get("/c/harbour/drop/")
    assert page.status_code == {"erin": 403, "frank": 404, None: 302}[name]


def test_a_gallery_outside_the_community_or_none_is_refused(as_, community_gallery, alice):
    from galleries import services as gallery_services

    outside = gallery_services.gallery_create(owner=alice, title="Outside", visibility="public")
    dave = as_("dave")
    csrf = _csrf(dave)
    assert send(dave, outside, make_image("JPEG", size=(30, 20)), csrf=csrf).status_code == 404
    response = dave.post(
        "/c/harbour/tus/", content_type="application/offset+octet-stream", HTTP_UPLOAD_LENGTH="10", HTTP_UPLOAD_METADATA=meta(filename="a.jpg"),
        HTTP_X_CSRFTOKEN=csrf, **TUS,
    )  # fmt: skip
    assert response.status_code == 400 and "gallery" in response.json()["detail"]
    response = dave.post(
        "/c/harbour/tus/",
        content_type="application/offset+octet-stream",
        HTTP_UPLOAD_CONCAT="partial",
        HTTP_UPLOAD_LENGTH="10",
        HTTP_X_CSRFTOKEN=csrf,
        **TUS,
    )
    assert response.status_code == 400
    assert not Upload.objects.exists()


def test_daily_quotas_in_files_and_bytes(as_, community, community_gallery):
    Community.objects.filter(pk=community.pk).update(daily_file_quota=2, daily_byte_quota=10**9)
    gallery = community_gallery()
    dave = as_("dave")
    csrf = _csrf(dave)
    for i in range(2):
        assert (
            send(dave, gallery, make_image("JPEG", size=(40, 30), colour=(i * 50, 0, 0)), csrf=csrf).status_code == 204
        )
    refused = send(dave, gallery, make_image("JPEG", size=(40, 30), colour=(200, 0, 0)), csrf=csrf)
    assert refused.status_code == 429 and "24 hours" in refused.json()["detail"]
    Community.objects.filter(pk=community.pk).update(daily_file_quota=100, daily_byte_quota=1000)
    big = send(dave, gallery, make_image("JPEG", size=(400, 300)), csrf=csrf)
    assert big.status_code == 413 and "left for today" in big.json()["detail"]
    # Quotas are per member: carol still has hers.
    carol = as_("carol")
    Community.objects.filter(pk=community.pk).update(daily_file_quota=2, daily_byte_quota=10**9)
    assert (
        send(carol, gallery, make_image("JPEG", size=(40, 30), colour=(9, 9, 9)), csrf=_csrf(carol)).status_code == 204
    )


def test_the_drop_page_shows_the_quota_left(as_, community, community_gallery):
    community_gallery("Regatta")
    page = as_("dave").get("/c/harbour/drop/").content.decode()
    assert "Regatta" in page and "300 files" in page and "member-uploader" in page


def test_creation_with_upload_sends_the_whole_file_in_the_first_request(as_, community_gallery):
    gallery = community_gallery()
    dave = as_("dave")
    data = make_image("JPEG", size=(120, 80))
    response = dave.generic(
        "POST", "/c/harbour/tus/", data, content_type="application/offset+octet-stream",
        HTTP_UPLOAD_LENGTH=str(len(data)), HTTP_UPLOAD_METADATA=meta(filename="one.jpg", gallery=str(gallery.pk)),
        HTTP_X_CSRFTOKEN=_csrf(dave), **TUS,
    )  # fmt: skip
    assert response.status_code == 201 and response["Upload-Offset"] == str(len(data))
    assert Photo.objects.get().contributor == "dave"


def test_a_member_cannot_touch_another_members_upload(as_, community_gallery):
    gallery = community_gallery()
    dave = as_("dave")
    data = make_image("JPEG", size=(120, 80))
    created = dave.generic(
        "POST", "/c/harbour/tus/", b"", content_type="application/offset+octet-stream",
        HTTP_UPLOAD_LENGTH=str(len(data)), HTTP_UPLOAD_METADATA=meta(filename="one.jpg", gallery=str(gallery.pk)),
        HTTP_X_CSRFTOKEN=_csrf(dave), **TUS,
    )  # fmt: skip
    carol = as_("carol")
    response = carol.generic(
        "PATCH", created["Location"], data, content_type="application/offset+octet-stream",
        HTTP_UPLOAD_OFFSET="0", HTTP_X_CSRFTOKEN=_csrf(carol), **TUS,
    )  # fmt: skip
    assert response.status_code == 404 and not Photo.objects.exists()


def test_a_contributor_sees_why_photos_were_not_added(as_, community, community_gallery, pending_photo, people):
    from sharing import curation

    photo = pending_photo(community_gallery(), 1)
    curation.queue_reject(community=community, photo_ids=[photo.pk], reason="Out of focus", by=people["carol"])
    page = as_("dave").get("/c/harbour/drop/").content.decode()
    assert "IMG_0001.jpg" in page and "Out of focus" in page
    assert "Out of focus" not in as_("carol").get("/c/harbour/drop/").content.decode()


def test_curators_hear_of_new_drops_at_most_once_an_hour(as_, community_gallery):
    from notifications.models import Notification

    gallery = community_gallery()
    dave = as_("dave")
    csrf = _csrf(dave)
    for i in range(3):
        assert (
            send(dave, gallery, make_image("JPEG", size=(40, 30), colour=(i * 60, 9, 9)), csrf=csrf).status_code == 204
        )
    rows = Notification.objects.filter(kind="community-drops")
    assert sorted(rows.values_list("to", flat=True)) == ["carol@example.com", "olga@example.com"]
    assert "1 photo waits" in rows.first().body_text


def test_a_stalled_upload_stops_holding_quota(as_, community, community_gallery, settings):
    from datetime import timedelta

    from django.utils import timezone

    Community.objects.filter(pk=community.pk).update(daily_file_quota=1)
    gallery = community_gallery()
    dave = as_("dave")
    csrf = _csrf(dave)
    opened = dave.generic(
        "POST", "/c/harbour/tus/", b"", content_type="application/offset+octet-stream", HTTP_UPLOAD_LENGTH="1000",
        HTTP_UPLOAD_METADATA=meta(filename="slow.jpg", gallery=str(gallery.pk)), HTTP_X_CSRFTOKEN=csrf, **TUS,
    )  # fmt: skip
    assert opened.status_code == 201
    assert send(dave, gallery, make_image("JPEG", size=(40, 30)), csrf=csrf).status_code == 429
    Upload.objects.update(updated_at=timezone.now() - settings.UPLOAD_RESERVATION_WINDOW - timedelta(seconds=1))
    assert send(dave, gallery, make_image("JPEG", size=(40, 30)), csrf=csrf).status_code == 204
