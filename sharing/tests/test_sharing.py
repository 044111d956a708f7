import csv
import io
import logging
import zipfile
from datetime import timedelta

import pytest
from django.test import Client
from django.utils import timezone

from galleries import services as gallery_services
from galleries.privacy import FieldRule
from sharing import services
from sharing.downloads import safe_name, unique_names
from sharing.models import Selection, ShareLink

pytestmark = pytest.mark.django_db


def test_tokens_are_long_random_and_url_safe(make_shared):
    _, _, link = make_shared()
    other = services.share_link_create(gallery=link.gallery)
    assert len(link.token) >= 43 and link.token != other.token
    assert all(ch.isalnum() or ch in "-_" for ch in link.token)
    assert ShareLink.objects.by_token(link.token) == link
    assert ShareLink.objects.by_token(link.token[:-1] + ("A" if link.token[-1] != "A" else "B")) is None


def test_passwords_are_hashed_never_stored_plain(make_shared):
    _, _, link = make_shared(password="correct horse")
    assert "correct horse" not in link.password and link.password.startswith(("pbkdf2", "md5", "argon2"))
    assert link.check_password("correct horse") and not link.check_password("wrong")


def test_password_form_unlocks_and_never_redirects_elsewhere(make_shared, client):
    _, _, link = make_shared(password="secret-pass")
    locked = client.get(f"/s/{link.token}/")
    assert locked.status_code == 401 and "Enter the password" in locked.content.decode()
    assert locked["Referrer-Policy"] == "same-origin"  # "no-referrer" would make the browser send Origin: null
    assert client.get(f"/s/{make_shared()[2].token}/")["Referrer-Policy"] == "no-referrer"
    wrong = client.post(f"/s/{link.token}/unlock", {"password": "nope"})
    assert wrong.status_code == 400 and "not right" in wrong.content.decode()
    ok = client.post(
        f"/s/{link.token}/unlock?next=https://evil.example/",
        {"password": "secret-pass", "next": "https://evil.example/"},
    )
    assert ok.status_code == 302 and ok["Location"] == f"/s/{link.token}/"
    assert client.get(f"/s/{link.token}/").status_code == 200


def test_the_unlock_form_needs_csrf(make_shared):
    _, _, link = make_shared(password="secret-pass")
    c = Client(enforce_csrf_checks=True)
    assert c.post(f"/s/{link.token}/unlock", {"password": "secret-pass"}).status_code == 403


def test_brute_force_is_throttled_per_link_and_address(make_shared, client, settings):
    settings.SHARE_UNLOCK_ATTEMPTS = 3
    _, _, link = make_shared(password="secret-pass")
    statuses = [client.post(f"/s/{link.token}/unlock", {"password": f"guess{i}"}).status_code for i in range(4)]
    assert statuses == [400, 400, 400, 429]
    blocked = client.post(f"/s/{link.token}/unlock", {"password": "secret-pass"})
    assert blocked.status_code == 429 and "Too many wrong passwords" in blocked.content.decode()
    api = client.post(f"/api/v1/shared/{link.token}/unlock", {"password": "x"}, content_type="application/json")
    assert api.status_code == 429


def test_changing_or_setting_the_password_closes_open_grants(make_shared, client):
    _, _, link = make_shared(password="first-pass")
    client.post(f"/s/{link.token}/unlock", {"password": "first-pass"})
    assert client.get(f"/s/{link.token}/").status_code == 200
    services.share_link_update(link=link, password="second-pass")
    assert client.get(f"/s/{link.token}/").status_code == 401
    _, _, open_link = make_shared()
    assert client.get(f"/s/{open_link.token}/").status_code == 200
    services.share_link_update(link=open_link, password="now-locked")
    assert client.get(f"/s/{open_link.token}/").status_code == 401


def test_revoking_stops_the_links_media_urls_at_once(make_shared, client):
    _, _, link = make_shared()
    html = client.get(f"/s/{link.token}/").content.decode()
    import re

    url = re.search(r'/media/variants/[^" ]+', html).group(0).replace("&amp;", "&")
    assert client.get(url).status_code == 200
    services.share_link_revoke(link=link)
    assert client.get(f"/s/{link.token}/").status_code == 404
    assert client.get(url).status_code == 410


def test_making_a_gallery_private_closes_its_public_page(make_shared, client):
    gallery, _, _ = make_shared(visibility="public")
    assert client.get(f"/g/{gallery.slug}/").status_code == 200
    gallery_services.gallery_update(gallery=gallery, visibility="private")
    assert client.get(f"/g/{gallery.slug}/").status_code == 404


def test_expired_link_gets_a_friendly_410(make_shared, client):
    _, _, link = make_shared()
    ShareLink.objects.filter(pk=link.pk).update(expires_at=timezone.now() - timedelta(seconds=1))
    response = client.get(f"/s/{link.token}/")
    assert response.status_code == 410 and "This link has expired" in response.content.decode()
    assert client.get(f"/api/v1/shared/{link.token}").status_code == 410


def test_unknown_token_is_404(client, db):
    assert client.get("/s/not-a-real-token-at-all-0123456789abcdefghij/").status_code == 404


def test_views_are_counted_once_per_visitor(make_shared, client):
    _, _, link = make_shared()
    for _ in range(3):
        client.get(f"/s/{link.token}/")
    Client().get(f"/s/{link.token}/")
    link.refresh_from_db()
    assert link.view_count == 2 and link.last_viewed_at is not None


def test_shared_pages_hide_file_names_and_gps_unless_allowed(make_shared, client):
    _, photos, link = make_shared()
    page = client.get(f"/s/{link.token}/p/{photos[0].pk}/").content.decode()
    assert "IMG_0.jpg" not in page
    api = client.get(f"/api/v1/shared/{link.token}").json()
    assert api["results"][0]["original_filename"] is None and api["results"][0]["gps"] is None
    services.share_link_update(link=link, show_metadata=True)
    assert "IMG_0.jpg" in client.get(f"/s/{link.token}/p/{photos[0].pk}/").content.decode()


def test_titles_labels_and_exif_are_escaped(make_shared, client):
    gallery, photos, link = make_shared(show_metadata=True)
    gallery_services.gallery_update(gallery=gallery, title="<script>alert(1)</script>")
    gallery_services.photo_update(photo=photos[0], title="<img src=x onerror=alert(2)>")
    asset = photos[0].asset
    asset.exif = {"camera": "<script>alert(3)</script>"}
    asset.save()
    html = (
        client.get(f"/s/{link.token}/").content.decode()
        + client.get(f"/s/{link.token}/p/{photos[0].pk}/").content.decode()
    )
    assert "<script>alert" not in html and "<img src=x" not in html
    assert "&lt;script&gt;alert(3)" in html


def test_tokens_never_reach_the_logs(make_shared, client, caplog):
    _, _, link = make_shared()
    services.share_link_revoke(link=link)
    from config.logfilters import RedactShareTokens

    handler_filter = RedactShareTokens()
    # django.request does not pass its records up to the root logger, where caplog listens:
    # listen on it directly, at DEBUG, where the ordinary 404s of a closed link are logged.
    logger = logging.getLogger("django.request")
    logger.addHandler(caplog.handler)
    try:
        with caplog.at_level(logging.DEBUG, logger="django.request"):
            client.get(f"/s/{link.token}/")
            client.get(f"/api/v1/shared/{link.token}")
    finally:
        logger.removeHandler(caplog.handler)
    records = [r for r in caplog.records if r.name == "django.request"]
    assert len(records) >= 2, "the closed link's answers were logged"
    for record in records:  # the logging config redacts them on the way in ("Not Found: /s/<path>")
        assert record.request.path.startswith(("/s/", "/api/v1/shared/"))
        assert link.token not in record.getMessage()
        handler_filter.filter(record)  # and the filter is idempotent
        assert link.token not in record.getMessage()


def test_zip_streams_every_photo_with_safe_unique_names(make_shared, client):
    _gallery, photos, link = make_shared(allow_download=True)
    gallery_services.photo_update(photo=photos[0], title="../../etc/passwd")
    gallery_services.photo_update(photo=photos[1], title="../../etc/passwd")
    response = client.get(f"/s/{link.token}/download.zip")
    assert response.status_code == 200 and response["Content-Type"] == "application/zip"
    data = b"".join(response.streaming_content)
    assert int(response["Content-Length"]) == len(data)
    archive = zipfile.ZipFile(io.BytesIO(data))
    names = archive.namelist()
    assert names == ["etc passwd.jpg", "etc passwd (2).jpg"]
    assert len(set(names)) == 2
    from django.core.files.storage import default_storage

    assert archive.read(names[0]) == default_storage.open(photos[0].asset.original_key).read()
    assert archive.testzip() is None
    assert all(info.compress_type == zipfile.ZIP_STORED for info in archive.infolist())
    link.refresh_from_db()
    assert link.download_count == 1


def test_safe_names():
    assert safe_name("../../x", fallback="f") == "x"
    assert safe_name("a/b\\c", fallback="f") == "a b c"
    assert safe_name("CON", fallback="photo-1") == "photo-1"
    assert safe_name("", fallback="photo-1") == "photo-1"
    assert safe_name("Été à Paris", fallback="f") == "Été à Paris"
    assert safe_name("x\x00y\r\nz", fallback="f") == "x_y_z"


def test_duplicate_names_are_numbered(make_shared):
    _, photos, _ = make_shared()
    for p in photos:
        p.title = "Same"
    names = [name for _, name in unique_names(photos, rule=FieldRule())]
    assert names == ["Same.jpg", "Same (2).jpg"]


def test_single_download_is_an_attachment(make_shared, client):
    _, photos, link = make_shared(allow_download=True)
    response = client.get(f"/s/{link.token}/p/{photos[0].pk}/download")
    assert response.status_code == 200 and response["Content-Disposition"].startswith("attachment")
    assert "IMG_0" not in response["Content-Disposition"]  # no file names without show_metadata


# --- API -------------------------------------------------------------------------------------


def test_owner_manages_links_through_the_api(alice, api_for, make_shared):
    gallery, _, _ = make_shared()
    api = api_for(alice)
    created = api.post(
        f"/api/v1/galleries/{gallery.pk}/share-links",
        {"label": "Client", "password": "pw-123456", "allow_download": True},
        format="json",
    )
    assert created.status_code == 201
    body = created.json()
    assert (
        body["has_password"] is True
        and body["token"]
        and "password" not in body
        and body["url"].endswith(f"/s/{body['token']}/")
    )
    link_id = body["id"]
    assert len(api.get(f"/api/v1/galleries/{gallery.pk}/share-links").json()) == 2
    assert api.patch(f"/api/v1/share-links/{link_id}", {"revoked": True}, format="json").json()["state"] == "revoked"
    assert (
        api.patch(f"/api/v1/share-links/{link_id}", {"revoked": False, "password": ""}, format="json").json()["state"]
        == "active"
    )
    assert api.delete(f"/api/v1/share-links/{link_id}").status_code == 204


def test_strangers_and_anonymous_cannot_touch_links(bob, api_for, make_shared):
    gallery, _, link = make_shared()
    assert api_for(bob).get(f"/api/v1/galleries/{gallery.pk}/share-links").status_code == 404
    assert api_for(bob).post(f"/api/v1/galleries/{gallery.pk}/share-links", {}, format="json").status_code == 404
    assert api_for(bob).patch(f"/api/v1/share-links/{link.pk}", {"label": "x"}, format="json").status_code == 404
    assert api_for(bob).delete(f"/api/v1/share-links/{link.pk}").status_code == 404
    assert api_for().get(f"/api/v1/galleries/{gallery.pk}/share-links").status_code == 401
    assert api_for().patch(f"/api/v1/share-links/{link.pk}", {"label": "x"}, format="json").status_code == 401


@pytest.mark.parametrize(
    "body",
    [
        {"expires_at": "2000-01-01T00:00:00Z"},
        {"selection_quota": 0},
        {"label": "x" * 101},
        {"token": "mine"},
        {"allow_download": "maybe"},
    ],
)
def test_bad_link_input_is_400(alice, api_for, make_shared, body):
    gallery, _, _ = make_shared()
    response = api_for(alice).post(f"/api/v1/galleries/{gallery.pk}/share-links", body, format="json")
    assert response.status_code == 400


def test_shared_api_with_a_grant_token(make_shared):
    _, _, link = make_shared(password="secret-pass")
    api = Client()
    assert api.get(f"/api/v1/shared/{link.token}").status_code == 401
    grant = api.post(
        f"/api/v1/shared/{link.token}/unlock", {"password": "secret-pass"}, content_type="application/json"
    ).json()["grant"]
    cookieless = Client()
    response = cookieless.get(f"/api/v1/shared/{link.token}", HTTP_X_SHARE_GRANT=grant)
    assert response.status_code == 200 and response.json()["count"] == 2
    services.share_link_update(link=link, password="changed-pass")
    assert Client().get(f"/api/v1/shared/{link.token}", HTTP_X_SHARE_GRANT=grant).status_code == 401


def test_selection_flow_with_quota(make_shared, client):
    _, photos, link = make_shared(selection_quota=1)
    url = f"/api/v1/shared/{link.token}/selection"
    no_name = client.post(url, {"add": [str(photos[0].pk)]}, content_type="application/json")
    assert no_name.status_code == 400 and "name" in no_name.json()["detail"]
    ok = client.post(
        url, {"add": [str(photos[0].pk)], "name": "Anna", "email": "anna@example.com"}, content_type="application/json"
    )
    assert ok.status_code == 200 and ok.json()["photos"] == [str(photos[0].pk)]
    over = client.post(url, {"add": [str(photos[1].pk)]}, content_type="application/json")
    assert over.status_code == 409 and "up to 1" in over.json()["detail"]
    assert client.get(url).json()["photos"] == [str(photos[0].pk)]
    sent = client.post(url, {"submit": True, "note": "Print this one"}, content_type="application/json")
    assert sent.json()["submitted_at"]
    locked = client.post(url, {"remove": [str(photos[0].pk)]}, content_type="application/json")
    assert locked.status_code == 409
    assert client.delete(url).status_code == 409
    selection = Selection.objects.get()
    assert selection.name == "Anna" and selection.note == "Print this one"


def test_a_photo_of_another_gallery_cannot_be_chosen(make_shared, client):
    _, _, link = make_shared()
    _, other_photos, _ = make_shared()
    response = client.post(
        f"/api/v1/shared/{link.token}/selection",
        {"add": [str(other_photos[0].pk)], "name": "A"},
        content_type="application/json",
    )
    assert response.status_code == 400


# --- Admin -----------------------------------------------------------------------------------


def test_admin_creates_a_password_link_and_sees_it(alice, client_for, make_shared):
    gallery, photos, _ = make_shared()
    c = client_for(alice)
    data = {
        "title": gallery.title, "description": "", "visibility": "private", "default_layout": "masonry",
        "photos-TOTAL_FORMS": "2", "photos-INITIAL_FORMS": "2",
        "share_links-TOTAL_FORMS": "2", "share_links-INITIAL_FORMS": "1",
    }  # fmt: skip
    for i, p in enumerate(photos):
        data |= {f"photos-{i}-id": str(p.pk), f"photos-{i}-gallery": str(gallery.pk), f"photos-{i}-title": "",
                 f"photos-{i}-alt": "", f"photos-{i}-position": str(i), f"photos-{i}-is_approved": "on"}  # fmt: skip
    existing = gallery.share_links.get()
    data |= {
        "share_links-0-id": str(existing.pk),
        "share_links-0-gallery": str(gallery.pk),
        "share_links-0-label": "Anna",
    }
    data |= {"share_links-1-gallery": str(gallery.pk), "share_links-1-label": "Printer", "share_links-1-new_password": "print-pass",
             "share_links-1-allow_download": "on"}  # fmt: skip
    response = c.post(f"/admin/galleries/gallery/{gallery.pk}/change/", data)
    assert response.status_code == 302, response.content.decode()[:3000]
    printer = gallery.share_links.get(label="Printer")
    assert printer.has_password and printer.check_password("print-pass") and printer.allow_download
    page = c.get(f"/admin/galleries/gallery/{gallery.pk}/change/").content.decode()
    assert printer.token in page and "cs-copy" in page


def test_selections_in_the_admin_with_exports(alice, bob, client_for, make_shared):
    _, photos, link = make_shared()
    services.selection_change(link=link, visitor="v1", add=photos, name="=HYPERLINK(evil)")
    selection = Selection.objects.get()
    c = client_for(alice)
    assert "=HYPERLINK(evil)" in c.get("/admin/sharing/selection/").content.decode()
    assert "IMG_0.jpg" in c.get(f"/admin/sharing/selection/{selection.pk}/change/").content.decode()
    text = c.post("/admin/sharing/selection/", {"action": "export_filenames", "_selected_action": [str(selection.pk)]})
    assert text.content.decode() == "IMG_0.jpg\nIMG_1.jpg\n"
    rows = list(
        csv.reader(
            io.StringIO(
                c.post(
                    "/admin/sharing/selection/", {"action": "export_csv", "_selected_action": [str(selection.pk)]}
                ).content.decode()
            )
        )
    )
    assert rows[0][0] == "gallery" and rows[1][1] == "'=HYPERLINK(evil)" and len(rows) == 3
    assert "HYPERLINK" not in client_for(bob).get("/admin/sharing/selection/").content.decode()


def test_owner_downloads_a_gallery_zip_from_the_admin(alice, client_for, make_shared):
    gallery, _photos, _ = make_shared()
    response = client_for(alice).post(
        "/admin/galleries/gallery/", {"action": "download_zip", "_selected_action": [str(gallery.pk)]}
    )
    assert response.status_code == 200 and response["Content-Type"] == "application/zip"
    names = zipfile.ZipFile(io.BytesIO(b"".join(response.streaming_content))).namelist()
    assert names == ["IMG_0.jpg", "IMG_1.jpg"]


@pytest.mark.s3
def test_zip_and_single_downloads_work_from_s3(alice, s3_storage, make_shared, client):
    import requests
    from django.core.files.storage import default_storage

    _, photos, link = make_shared(allow_download=True)
    data = b"".join(client.get(f"/s/{link.token}/download.zip").streaming_content)
    archive = zipfile.ZipFile(io.BytesIO(data))
    assert len(archive.namelist()) == 2 and archive.testzip() is None
    assert archive.read(archive.namelist()[0]) == default_storage.open(photos[0].asset.original_key).read()
    single = client.get(f"/s/{link.token}/p/{photos[0].pk}/download")
    assert single.status_code == 302  # presigned, straight from the bucket
    fetched = requests.get(single["Location"], timeout=10)
    assert fetched.status_code == 200 and fetched.headers["Content-Disposition"].startswith("attachment")


def test_deleting_a_link_closes_its_address_through_the_api_and_the_admin(alice, api_for, client_for, make_shared):
    gallery, photos, link = make_shared()
    other = services.share_link_create(gallery=gallery, label="Printer")
    # Visitors chose favourites through the first link: they go with it.
    services.selection_change(link=link, visitor="v1", add=[photos[0]], name="Anna")
    assert Client().get(f"/s/{link.token}/").status_code == 200
    assert api_for(alice).delete(f"/api/v1/share-links/{link.pk}").status_code == 204
    assert Client().get(f"/s/{link.token}/").status_code == 404
    assert not ShareLink.objects.filter(pk=link.pk).exists() and not Selection.objects.filter(link_id=link.pk).exists()
    data = {
        "title": gallery.title, "description": "", "visibility": "private", "default_layout": "masonry",
        "photos-TOTAL_FORMS": "0", "photos-INITIAL_FORMS": "0",
        "share_links-TOTAL_FORMS": "1", "share_links-INITIAL_FORMS": "1",
        "share_links-0-id": str(other.pk), "share_links-0-gallery": str(gallery.pk),
        "share_links-0-label": "Printer", "share_links-0-DELETE": "on",
    }  # fmt: skip
    response = client_for(alice).post(f"/admin/galleries/gallery/{gallery.pk}/change/", data)
    assert response.status_code == 302, response.content.decode()[:3000]
    assert Client().get(f"/s/{other.token}/").status_code == 404
    assert not gallery.share_links.exists()


def test_an_email_alone_is_kept_once_the_visitor_has_given_a_name(make_shared, client):
    _, photos, link = make_shared()
    url = f"/api/v1/shared/{link.token}/selection"
    first = client.post(url, {"email": "anna@example.com"}, content_type="application/json")
    assert first.status_code == 400 and "name" in first.json()["detail"]
    assert not Selection.objects.exists()
    client.post(url, {"add": [str(photos[0].pk)], "name": "Anna"}, content_type="application/json")
    later = client.post(url, {"email": "anna@example.com"}, content_type="application/json")
    assert later.status_code == 200 and later.json()["email"] == "anna@example.com"
    assert Selection.objects.get().email == "anna@example.com"


def test_a_note_over_its_limit_is_refused_as_sent_not_after_trimming(make_shared, client):
    _, photos, link = make_shared()
    url = f"/api/v1/shared/{link.token}/selection"
    client.post(url, {"add": [str(photos[0].pk)], "name": "Anna"}, content_type="application/json")
    response = client.post(url, {"submit": True, "note": " " + "n" * 2000}, content_type="application/json")
    assert response.status_code == 400 and list(response.json()) == ["note"]
    assert Selection.objects.get().submitted_at is None
