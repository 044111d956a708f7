import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from conftest import make_image, stored_files
from galleries.models import Gallery, Photo, Visibility

pytestmark = pytest.mark.django_db


def test_staff_see_only_their_own_galleries(alice, bob, client_for, make_gallery):
    make_gallery(alice, "Alice's")
    make_gallery(bob, "Bob's")
    html = client_for(alice).get("/admin/galleries/gallery/").content.decode()
    assert "Alice&#x27;s" in html and "Bob&#x27;s" not in html


def test_another_owners_gallery_is_out_of_reach(alice, bob, client_for, make_gallery):
    theirs = make_gallery(bob, "Bob's")
    c = client_for(alice)
    assert c.get(f"/admin/galleries/gallery/{theirs.pk}/change/").status_code in (302, 404)
    assert c.get(f"/admin/galleries/gallery/{theirs.pk}/upload/").status_code == 404
    response = c.post(
        f"/admin/galleries/gallery/{theirs.pk}/upload/", {"files": [SimpleUploadedFile("a.jpg", make_image())]}
    )
    assert response.status_code == 404
    assert not Photo.objects.exists()


def test_superuser_sees_everything(admin_user, alice, client_for, make_gallery):
    make_gallery(alice, "Alice's")
    assert "Alice&#x27;s" in client_for(admin_user).get("/admin/galleries/gallery/").content.decode()


def test_anonymous_is_sent_to_login(client, gallery):
    response = client.get("/admin/galleries/gallery/")
    assert response.status_code == 302 and "/admin/login/" in response["Location"]


def test_creating_a_gallery_in_the_admin_sets_owner_and_slug(alice, client_for):
    response = client_for(alice).post(
        "/admin/galleries/gallery/add/",
        {
            "title": "From admin",
            "description": "",
            "visibility": "public",
            "default_layout": "tiles",
            "photos-TOTAL_FORMS": "0",
            "photos-INITIAL_FORMS": "0",
            "share_links-TOTAL_FORMS": "0",
            "share_links-INITIAL_FORMS": "0",
        },
    )
    assert response.status_code == 302, response.content.decode()[:2000]
    gallery = Gallery.objects.get()
    assert gallery.owner == alice and gallery.slug == "from-admin"


def test_upload_screen_adds_photos_and_reports_bad_files(alice, client_for, gallery, media_root):
    c = client_for(alice)
    assert "Upload photos" in c.get(f"/admin/galleries/gallery/{gallery.pk}/change/").content.decode()
    assert c.get(f"/admin/galleries/gallery/{gallery.pk}/upload/").status_code == 200
    response = c.post(
        f"/admin/galleries/gallery/{gallery.pk}/upload/",
        {
            "files": [
                SimpleUploadedFile("one.jpg", make_image("JPEG", colour=(1, 2, 3))),
                SimpleUploadedFile("two.png", make_image("PNG", colour=(4, 5, 6))),
                SimpleUploadedFile("evil.jpg", b"<svg/>"),
            ]
        },
        follow=True,
    )
    html = response.content.decode()
    assert "Added 2 photos" in html
    assert "evil.jpg: this file is not a supported image" in html.lower()
    assert gallery.photos.count() == 2
    assert len([f for f in stored_files(media_root) if f.startswith("originals/")]) == 2


def test_inline_edits_alt_text_and_order(alice, client_for, gallery, add_photo):
    a, b = add_photo(gallery), add_photo(gallery)
    data = {
        "title": gallery.title,
        "description": "",
        "visibility": gallery.visibility,
        "default_layout": gallery.default_layout,
        "photos-TOTAL_FORMS": "2",
        "photos-INITIAL_FORMS": "2",
        "share_links-TOTAL_FORMS": "0",
        "share_links-INITIAL_FORMS": "0",
        "photos-0-id": str(a.pk),
        "photos-0-gallery": str(gallery.pk),
        "photos-0-title": "A",
        "photos-0-alt": "first alt",
        "photos-0-position": "1",
        "photos-0-is_approved": "on",
        "photos-1-id": str(b.pk),
        "photos-1-gallery": str(gallery.pk),
        "photos-1-title": "B",
        "photos-1-alt": "second alt",
        "photos-1-position": "0",
        "photos-1-is_approved": "on",
    }
    response = client_for(alice).post(f"/admin/galleries/gallery/{gallery.pk}/change/", data)
    assert response.status_code == 302, response.content.decode()[:3000]
    assert list(gallery.photos.values_list("title", "alt")) == [("B", "second alt"), ("A", "first alt")]


def test_cover_choices_are_limited_to_the_gallery(alice, client_for, gallery, make_gallery, add_photo):
    mine = add_photo(gallery)
    other = add_photo(make_gallery(alice, "Other", Visibility.PRIVATE))
    html = client_for(alice).get(f"/admin/galleries/gallery/{gallery.pk}/change/").content.decode()
    assert f'value="{mine.pk}"' in html
    assert f'<option value="{other.pk}"' not in html


def test_assets_are_for_superusers_only(alice, admin_user, client_for, photo):
    assert client_for(alice).get("/admin/galleries/asset/").status_code == 403
    assert client_for(admin_user).get("/admin/galleries/asset/").status_code == 200
    assert client_for(admin_user).get(f"/admin/galleries/asset/{photo.asset_id}/change/").status_code == 200


def test_upload_status_fragment_polls_until_ready(alice, bob, client_for, gallery, big_upload_done):
    upload, photo = big_upload_done
    url = f"/admin/galleries/gallery/{gallery.pk}/upload/status/{upload.pk}/"
    c = client_for(alice)
    html = c.get(url, HTTP_HX_REQUEST="true").content.decode()
    assert "<html" not in html and "cs-processing" in html and 'hx-trigger="every 2s"' in html
    from galleries.tasks import process_asset

    process_asset(photo.asset_id)
    html = c.get(url, HTTP_HX_REQUEST="true").content.decode()
    assert "cs-ready" in html and "hx-trigger" not in html and "variants/" in html
    assert client_for(bob).get(url).status_code == 404


def test_upload_page_offers_the_bulk_uploader(alice, client_for, gallery):
    html = client_for(alice).get(f"/admin/galleries/gallery/{gallery.pk}/upload/").content.decode()
    assert 'id="cs-uploader"' in html and "/api/v1/tus/" in html and "vendor/uppy/uppy.min.mjs" in html


@pytest.fixture
def big_upload_done(alice, gallery):
    import hashlib

    from uploads import services as upload_services

    data = make_image("JPEG", size=(300, 200))
    upload = upload_services.upload_create(owner=alice, gallery=gallery, filename="a.jpg", size=len(data))
    upload_services.upload_receive_chunk(
        upload=upload, index=0, stream=iter([data]), length=len(data), sha256=hashlib.sha256(data).hexdigest()
    )
    photo = upload_services.upload_complete(upload=upload)
    return upload, photo
