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
