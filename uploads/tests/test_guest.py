import base64
import io

import pytest
from django.test import Client

from conftest import make_image
from galleries import services as gallery_services
from galleries.models import Photo
from sharing import services as sharing_services
from uploads.models import Upload, UploadStatus

pytestmark = pytest.mark.django_db
TUS = {"HTTP_TUS_RESUMABLE": "1.0.0"}


def meta(**values) -> str:
    return ",".join(f"{k} {base64.b64encode(v.encode()).decode()}" for k, v in values.items())


@pytest.fixture
def drop(alice):
    gallery = gallery_services.gallery_create(owner=alice, title="Party", visibility="public")
    link = sharing_services.share_link_create(gallery=gallery, allow_upload=True)
    return gallery, link


def guest_send(c: Client, link, data: bytes, *, name="Guest Gina", filename="party.jpg"):
    created = c.post(
        f"/s/{link.token}/tus/",
        HTTP_UPLOAD_LENGTH=str(len(data)),
        HTTP_UPLOAD_METADATA=meta(filename=filename, guest=name),
        **TUS,
    )
    if created.status_code != 201:
        return created
    return c.generic(
        "PATCH",
        created["Location"],
        data,
        content_type="application/offset+octet-stream",
        HTTP_UPLOAD_OFFSET="0",
        **TUS,
    )


def test_a_guest_sends_a_photo_that_waits_for_approval(drop, client, alice):
    gallery, link = drop
    data = make_image("JPEG", size=(300, 200))
    assert guest_send(client, link, data).status_code == 204
    photo = Photo.objects.get()
    assert photo.is_approved is False and photo.contributor == "Guest Gina"
    upload = Upload.objects.get()
    assert upload.owner is None and upload.share_link == link and upload.status == UploadStatus.COMPLETE
    # Nobody but the owner sees it yet: not the public page, not the link, not the API.
    assert str(photo.pk) not in client.get(f"/g/{gallery.slug}/").content.decode()
    assert str(photo.pk) not in client.get(f"/s/{link.token}/").content.decode()
    assert Client().get(f"/api/v1/shared/{link.token}").json()["count"] == 0
    owner = Client()
    owner.force_login(alice)
    assert str(photo.pk) in owner.get(f"/g/{gallery.slug}/").content.decode()
    gallery_services.photos_approve(photos=[photo])
    assert str(photo.pk) in client.get(f"/s/{link.token}/").content.decode()


def test_a_name_is_required(drop, client):
    _, link = drop
    response = guest_send(client, link, make_image("JPEG"), name="")
    assert response.status_code == 400 and "name" in response.json()["detail"]


def test_links_without_upload_permission_refuse(alice, client):
    gallery = gallery_services.gallery_create(owner=alice, title="Closed")
    link = sharing_services.share_link_create(gallery=gallery)
    assert guest_send(client, link, make_image("JPEG")).status_code == 404
    assert client.get(f"/s/{link.token}/upload").status_code == 404


def test_a_locked_link_needs_its_password_first(drop, client):
    _, link = drop
    sharing_services.share_link_update(link=link, password="pw-123456")
    assert guest_send(client, link, make_image("JPEG")).status_code == 401
    assert client.get(f"/s/{link.token}/upload")["Location"] == f"/s/{link.token}/"
    client.post(f"/s/{link.token}/unlock", {"password": "pw-123456"})
    assert guest_send(client, link, make_image("JPEG")).status_code == 204


def test_caps_on_count_and_bytes(drop, client):
    _, link = drop
    sharing_services.share_link_update(link=link)
    link.upload_max_files = 2
    link.save()
    for i in range(2):
        assert guest_send(client, link, make_image("JPEG", colour=(i * 90, 0, 0))).status_code == 204
    refused = guest_send(client, link, make_image("JPEG", colour=(200, 0, 0)))
    assert refused.status_code == 429 and "at most 2" in refused.json()["detail"]
    link.upload_max_files, link.upload_max_bytes = 100, 10
    link.save()
    assert guest_send(client, link, make_image("JPEG", colour=(9, 9, 9))).status_code == 413


def test_a_revoked_link_closes_the_drop_box(drop, client):
    _, link = drop
    sharing_services.share_link_revoke(link=link)
    assert guest_send(client, link, make_image("JPEG")).status_code == 404


def test_guests_cannot_touch_each_others_uploads(drop):
    _, link = drop
    data = make_image("JPEG", size=(600, 400), noise=True)
    gina = Client()
    created = gina.post(
        f"/s/{link.token}/tus/",
        HTTP_UPLOAD_LENGTH=str(len(data)),
        HTTP_UPLOAD_METADATA=meta(filename="a.jpg", guest="Gina"),
        **TUS,
    )
    location = created["Location"]
    other = Client()
    assert other.head(location, **TUS).status_code == 404
    assert other.delete(location, **TUS).status_code == 404
    assert gina.head(location, **TUS).status_code == 200


def test_the_drop_box_page(drop, client):
    _, link = drop
    html = client.get(f"/s/{link.token}/upload").content.decode()
    assert "Send your photos" in html and f"/s/{link.token}/tus/" in html
    assert "Add your photos" in client.get(f"/s/{link.token}/").content.decode()


def test_the_owner_approves_in_the_admin(drop, client, alice, client_for):
    _, link = drop
    guest_send(client, link, make_image("JPEG"))
    photo = Photo.objects.get()
    c = client_for(alice)
    listing = c.get("/admin/galleries/photo/?is_approved__exact=0").content.decode()
    assert "Awaiting approval (from Guest Gina)" in listing
    c.post("/admin/galleries/photo/", {"action": "approve_selected", "_selected_action": [str(photo.pk)]})
    photo.refresh_from_db()
    assert photo.is_approved


@pytest.mark.django_db(transaction=True)
def test_tuspy_as_a_guest(live_server, alice):
    import requests
    from tusclient import client as tus_client

    gallery = gallery_services.gallery_create(owner=alice, title="Party")
    link = sharing_services.share_link_create(gallery=gallery, allow_upload=True)
    session = requests.Session()
    session.get(f"{live_server.url}/s/{link.token}/")  # a browser session, as a guest would have
    cookie = "; ".join(f"{k}={v}" for k, v in session.cookies.items())
    data = make_image("JPEG", size=(900, 700), noise=True)
    tus = tus_client.TusClient(f"{live_server.url}/s/{link.token}/tus/", headers={"Cookie": cookie})
    tus.uploader(
        file_stream=io.BytesIO(data), chunk_size=100_000, metadata={"filename": "g.jpg", "guest": "Gina"}
    ).upload()
    photo = Photo.objects.get()
    assert photo.contributor == "Gina" and not photo.is_approved


def test_creations_that_never_send_a_byte_hold_their_places_only_for_the_reservation_window(drop, settings):
    from datetime import timedelta

    from django.utils import timezone

    _gallery, link = drop
    link.upload_max_files = 5
    link.save()
    guest = Client()

    def create():
        return guest.post(
            f"/s/{link.token}/tus/",
            HTTP_UPLOAD_LENGTH="1000",
            HTTP_UPLOAD_METADATA=meta(filename="x.jpg", guest="Idle Ida"),
            **TUS,
        )

    assert [create().status_code for _ in range(5)] == [201] * 5
    refused = create()
    assert refused.status_code == 429 and "at most 5" in refused.json()["detail"]
    # No byte for longer than the window: the places are free again, well before the 24 h expiry.
    stale = timezone.now() - settings.UPLOAD_RESERVATION_WINDOW - timedelta(seconds=1)
    Upload.objects.filter(share_link=link).update(updated_at=stale)
    assert create().status_code == 201


def test_photos_that_arrived_keep_counting_against_the_link(drop, client):
    _gallery, link = drop
    link.upload_max_files = 1
    link.save()
    assert guest_send(client, link, make_image("JPEG", size=(300, 200))).status_code == 204
    assert guest_send(client, link, make_image("JPEG", size=(300, 200), colour=(1, 2, 3))).status_code == 429


def test_the_owner_sets_the_drop_box_caps_through_the_api(drop, alice, api_for):
    gallery, link = drop
    api = api_for(alice)
    changed = api.patch(
        f"/api/v1/share-links/{link.pk}", {"upload_max_files": 2, "upload_max_bytes": 5_000_000}, format="json"
    )
    assert changed.status_code == 200, changed.content
    assert changed.json()["upload_max_files"] == 2 and changed.json()["upload_max_bytes"] == 5_000_000
    link.refresh_from_db()
    assert (link.upload_max_files, link.upload_max_bytes) == (2, 5_000_000)
    created = api.post(
        f"/api/v1/galleries/{gallery.pk}/share-links", {"allow_upload": True, "upload_max_files": 3}, format="json"
    )
    assert created.status_code == 201 and created.json()["upload_max_files"] == 3
    assert api.patch(f"/api/v1/share-links/{link.pk}", {"upload_max_files": -1}, format="json").status_code == 400


def test_the_owner_sets_the_drop_box_caps_in_the_admin(drop, alice, client_for):
    gallery, link = drop
    c = client_for(alice)
    page = c.get(f"/admin/galleries/gallery/{gallery.pk}/change/").content.decode()
    assert 'name="share_links-0-upload_max_files"' in page and 'name="share_links-0-upload_max_bytes"' in page
    data = {
        "title": gallery.title, "description": "", "visibility": gallery.visibility, "default_layout": "masonry",
        "photos-TOTAL_FORMS": "0", "photos-INITIAL_FORMS": "0",
        "share_links-TOTAL_FORMS": "1", "share_links-INITIAL_FORMS": "1",
        "share_links-0-id": str(link.pk), "share_links-0-gallery": str(gallery.pk), "share_links-0-label": "Guests",
        "share_links-0-allow_upload": "on", "share_links-0-upload_max_files": "7",
        "share_links-0-upload_max_bytes": "1000000",
    }  # fmt: skip
    response = c.post(f"/admin/galleries/gallery/{gallery.pk}/change/", data)
    assert response.status_code == 302, response.content.decode()[:2000]
    link.refresh_from_db()
    assert (link.upload_max_files, link.upload_max_bytes) == (7, 1_000_000)
