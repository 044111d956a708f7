"""The admin's export: a ZIP streamed while it is built, with the manifest; it imports back identically."""

from __future__ import annotations

import csv
import hashlib
import io
import json
import shutil
import zipfile

import pytest
from django.core.management import call_command

from folders.tests.conftest import order
from galleries import services as gallery_services
from galleries.models import Asset, Gallery, Photo

pytestmark = pytest.mark.django_db


def export_url(gallery) -> str:
    return f"/admin/galleries/gallery/{gallery.pk}/export/"


def download(client, gallery, variant: str = "") -> zipfile.ZipFile:
    response = client.post(export_url(gallery), {"variant": variant})
    assert response.status_code == 200, response.content[:500]
    assert response["Content-Type"] == "application/zip"
    assert response["Content-Disposition"].startswith("attachment")
    return zipfile.ZipFile(io.BytesIO(b"".join(response.streaming_content)))


def test_the_export_page_offers_originals_and_each_size(wedding, alice, client_for):
    page = client_for(alice).get(export_url(wedding)).content.decode()
    assert "A ZIP of the gallery's 3 photos" in page
    assert 'value="" ' in page or 'value=""' in page
    assert "Originals (as uploaded)" in page and "Large (1920×1080 at most)" in page


def test_the_zip_holds_the_originals_in_order_and_the_manifest(wedding, alice, client_for):
    archive = download(client_for(alice), wedding)
    names = archive.namelist()
    assert names == [
        "0001-Toast-speech-cheers.jpg",
        "0002-First-dance.jpg",
        "0003-IMG_0002.jpg",
        "manifest.json",
        "manifest.csv",
    ]
    manifest = json.loads(archive.read("manifest.json"))
    assert manifest["format"] == "contact-sheet-export" and manifest["variant"] == "original"
    assert manifest["gallery"] == {"title": "Anna & Ben", "slug": wedding.slug, "description": "June, by the lake"}
    for row in manifest["photos"]:
        data = archive.read(row["file_name"])
        assert row["sha256"] == hashlib.sha256(data).hexdigest() and row["size"] == len(data)
    assert [r["title"] for r in manifest["photos"]] == ["Toast / speech: “cheers!”", "First dance", ""]
    assert [r["selected"] for r in manifest["photos"]] == [False, True, False]
    rows = list(csv.DictReader(io.StringIO(archive.read("manifest.csv").decode())))
    assert [r["file_name"] for r in rows] == names[:3]
    assert rows[0]["alt"] == "'=HYPERLINK(evil)"  # no formula for a spreadsheet to run
    # The same code path as `manage.py export`: the same names and rows.
    shared = {row["file_name"]: row for row in manifest["photos"]}
    assert all(Asset.objects.filter(sha256=row["sha256"]).exists() for row in shared.values())


def test_a_variant_zip_states_the_bytes_it_holds(wedding, alice, client_for):
    archive = download(client_for(alice), wedding, "small")
    manifest = json.loads(archive.read("manifest.json"))
    assert manifest["variant"] == "small"
    for row in manifest["photos"]:
        data = archive.read(row["file_name"])
        assert row["file_name"].endswith((".webp", ".avif", ".jpg"))
        assert row["sha256"] == hashlib.sha256(data).hexdigest() != Asset.objects.get(photos__title=row["title"]).sha256


def test_the_zip_imports_back_into_an_empty_instance_identically(
    wedding, alice, client_for, tmp_path, settings, media_root
):
    before = order(wedding)
    archive = download(client_for(alice), wedding)
    root = tmp_path / "in"
    archive.extractall(root / "backup")
    settings.IMPORT_ROOTS = [str(root)]
    Photo.objects.all().delete()
    Asset.objects.all().delete()
    Gallery.objects.all().delete()
    shutil.rmtree(media_root, ignore_errors=True)

    out = io.StringIO()
    call_command("import", str(root / "backup"), "--gallery", "new", "--owner", "alice", "--json", stdout=out)
    assert json.loads(out.getvalue())["counts"]["new"] == 3
    restored = Gallery.objects.get()
    assert (restored.title, restored.description) == ("Anna & Ben", "June, by the lake")
    assert order(restored) == before


def test_guest_photos_waiting_for_approval_are_left_out(wedding, alice, client_for):
    guest = Photo.objects.filter(gallery=wedding).first()
    gallery_services.photo_unapprove(photo=guest)
    names = download(client_for(alice), wedding).namelist()
    assert len(names) == 4  # two photos and the two manifests


def test_an_unknown_variant_is_refused(wedding, alice, client_for):
    response = client_for(alice).post(export_url(wedding), {"variant": "huge"})
    assert response.status_code == 400
    assert "Select a valid choice. huge is not one of the available choices." in response.content.decode()


def test_an_empty_gallery_exports_its_manifest(alice, make_gallery, client_for):
    empty = make_gallery(alice, title="Empty")
    archive = download(client_for(alice), empty)
    assert archive.namelist() == ["manifest.json", "manifest.csv"]
    assert json.loads(archive.read("manifest.json"))["photos"] == []


def test_a_stranger_gets_404_and_anonymous_the_login(wedding, bob, client_for, admin_user):
    assert client_for(bob).get(export_url(wedding)).status_code == 404
    assert client_for(bob).post(export_url(wedding), {"variant": ""}).status_code == 404
    for response in (client_for(None).get(export_url(wedding)), client_for(None).post(export_url(wedding))):
        assert response.status_code == 302 and response["Location"].startswith("/admin/login/")
    assert len(download(client_for(admin_user), wedding).namelist()) == 5  # a superuser exports anyone's


def test_the_list_action_opens_the_export_page_for_one_gallery(wedding, alice, make_gallery, client_for):
    client = client_for(alice)
    url = "/admin/galleries/gallery/"
    response = client.post(url, {"action": "export_gallery", "_selected_action": [str(wedding.pk)]})
    assert response.status_code == 302 and response["Location"] == export_url(wedding)

    other = make_gallery(alice, title="Other")
    response = client.post(
        url, {"action": "export_gallery", "_selected_action": [str(wedding.pk), str(other.pk)]}, follow=True
    )
    assert "Choose one gallery to export." in response.content.decode()


def test_the_list_action_cannot_reach_a_strangers_gallery(wedding, bob, client_for):
    response = client_for(bob).post(
        "/admin/galleries/gallery/", {"action": "export_gallery", "_selected_action": [str(wedding.pk)]}
    )
    # The list only holds bob's galleries: nothing is selected, nothing is exported.
    assert response.status_code == 302 and "/export/" not in response["Location"]
