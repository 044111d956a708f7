import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from conftest import make_image, stored_files
from galleries import services
from galleries.models import AssetStatus, Gallery, Photo, Visibility
from galleries.tasks import process_asset

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


def test_upload_page_offers_the_bulk_uploader(alice, client_for, gallery):
    html = client_for(alice).get(f"/admin/galleries/gallery/{gallery.pk}/upload/").content.decode()
    assert 'id="cs-uploader"' in html and "/api/v1/tus/" in html and "vendor/uppy/uppy.min.mjs" in html


# --- Every door through the services -------------------------------------------------------------


def _change_form(gallery, photos, **overrides) -> dict:
    """The gallery's admin form as the browser posts it, photos approved, with overrides."""
    data = {
        "title": gallery.title, "description": "", "visibility": gallery.visibility,
        "default_layout": gallery.default_layout, "photos-TOTAL_FORMS": str(len(photos)),
        "photos-INITIAL_FORMS": str(len(photos)), "share_links-TOTAL_FORMS": "0", "share_links-INITIAL_FORMS": "0",
    }  # fmt: skip
    for i, p in enumerate(photos):
        data |= {f"photos-{i}-id": str(p.pk), f"photos-{i}-gallery": str(gallery.pk), f"photos-{i}-title": p.title,
                 f"photos-{i}-alt": p.alt, f"photos-{i}-position": str(p.position), f"photos-{i}-is_approved": "on"}  # fmt: skip
    data.update(overrides)
    return {k: v for k, v in data.items() if v is not None}


def _visitor_sees(api_for, gallery) -> list[str]:
    return [p["id"] for p in api_for().get(f"/api/v1/galleries/{gallery.pk}/photos").json()["results"]]


def test_editing_a_gallery_in_the_admin_refreshes_what_visitors_see(alice, api_for, client_for, gallery, add_photo):
    photo = add_photo(gallery)
    process_asset(photo.asset_id)
    assert api_for().get(f"/api/v1/galleries/{gallery.pk}/photos").json()["results"][0]["exif"] is None
    # Showing metadata through the admin (gallery_update, like the API) reaches the visitors' cached page.
    before = Gallery.objects.get(pk=gallery.pk).content_version
    response = client_for(alice).post(
        f"/admin/galleries/gallery/{gallery.pk}/change/", _change_form(gallery, [photo], show_metadata="on")
    )
    assert response.status_code == 302, response.content.decode()[:2000]
    gallery.refresh_from_db()
    assert gallery.show_metadata and gallery.content_version > before


def test_a_superuser_creates_a_gallery_for_a_photographer_and_hands_it_over(admin_user, alice, bob, client_for):
    c = client_for(admin_user)
    form = {"title": "For Alice", "description": "", "visibility": "public", "default_layout": "tiles",
            "owner": str(alice.pk), "photos-TOTAL_FORMS": "0", "photos-INITIAL_FORMS": "0",
            "share_links-TOTAL_FORMS": "0", "share_links-INITIAL_FORMS": "0"}  # fmt: skip
    assert c.post("/admin/galleries/gallery/add/", form).status_code == 302
    gallery = Gallery.objects.get()
    assert gallery.owner == alice and gallery.slug == "for-alice"
    response = c.post(f"/admin/galleries/gallery/{gallery.pk}/change/", {**form, "owner": str(bob.pk)})
    assert response.status_code == 302
    gallery.refresh_from_db()
    assert gallery.owner == bob and gallery.title == "For Alice"


def test_a_cover_from_another_gallery_is_refused_in_the_admin(alice, client_for, gallery, make_gallery, add_photo):
    mine = add_photo(gallery)
    other = add_photo(make_gallery(alice, "Other", Visibility.PRIVATE))
    c = client_for(alice)
    response = c.post(
        f"/admin/galleries/gallery/{gallery.pk}/change/", _change_form(gallery, [mine], cover=str(other.pk))
    )
    assert response.status_code == 200 and "Select a valid choice" in response.content.decode()
    gallery.refresh_from_db()
    assert gallery.cover_id is None
    response = c.post(
        f"/admin/galleries/gallery/{gallery.pk}/change/", _change_form(gallery, [mine], cover=str(mine.pk))
    )
    assert response.status_code == 302
    gallery.refresh_from_db()
    assert gallery.cover_id == mine.pk


def test_unapproving_and_approving_in_the_gallery_admin_hides_and_shows_the_photo(
    alice, api_for, client_for, gallery, add_photo
):
    a, b = add_photo(gallery), add_photo(gallery)
    for p in (a, b):
        process_asset(p.asset_id)
    assert sorted(_visitor_sees(api_for, gallery)) == sorted([str(a.pk), str(b.pk)])  # now cached for visitors
    url = f"/admin/galleries/gallery/{gallery.pk}/change/"
    c = client_for(alice)
    assert c.post(url, _change_form(gallery, [a, b], **{"photos-1-is_approved": None})).status_code == 302
    assert _visitor_sees(api_for, gallery) == [str(a.pk)]
    assert Photo.objects.get(pk=b.pk).is_approved is False
    assert c.post(url, _change_form(gallery, [a, b])).status_code == 302
    assert sorted(_visitor_sees(api_for, gallery)) == sorted([str(a.pk), str(b.pk)])


def test_photo_update_writes_only_its_fields(gallery, add_photo):
    photo = add_photo(gallery)
    Photo.objects.filter(pk=photo.pk).update(is_approved=False)  # a guest photo, waiting
    services.photo_update(photo=photo, title="Sunset")  # the instance in hand still says approved
    photo.refresh_from_db()
    assert photo.title == "Sunset" and photo.is_approved is False


def test_the_admin_reprocess_action_queues_the_same_service_as_the_api(
    alice, client_for, gallery, add_photo, django_capture_on_commit_callbacks
):
    photo = add_photo(gallery)
    process_asset(photo.asset_id)
    before = set(photo.asset.variants.values_list("pk", flat=True))
    version = Gallery.objects.get(pk=gallery.pk).content_version
    with django_capture_on_commit_callbacks(execute=True):
        response = client_for(alice).post(
            "/admin/galleries/photo/", {"action": "reprocess_selected", "_selected_action": [str(photo.pk)]}
        )
    assert response.status_code == 302
    photo.asset.refresh_from_db()
    assert photo.asset.status == AssetStatus.READY
    assert not before & set(photo.asset.variants.values_list("pk", flat=True))  # rebuilt, not kept
    assert Gallery.objects.get(pk=gallery.pk).content_version > version


# --- Admin HTML: templates and the stylesheet ------------------------------------------------------


def test_admin_thumbnails_and_previews_come_from_templates_styled_by_the_stylesheet(
    alice, client_for, gallery, add_photo
):
    photo = add_photo(gallery)
    process_asset(photo.asset_id)
    services.gallery_update(gallery=gallery, cover=photo)
    c = client_for(alice)
    for url in (
        "/admin/galleries/gallery/",
        f"/admin/galleries/gallery/{gallery.pk}/change/",
        "/admin/galleries/photo/",
        f"/admin/galleries/photo/{photo.pk}/change/",
    ):
        html = c.get(url).content.decode()
        assert "css/admin.css" in html, url
        assert 'class="cs-thumb"' in html or 'class="cs-variant"' in html, url
        assert 'style="object-fit' not in html and 'style="display:inline-block' not in html, url
    assert 'style="max-width' not in c.get(f"/admin/galleries/photo/{photo.pk}/change/").content.decode()
