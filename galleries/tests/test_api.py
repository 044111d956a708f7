import io

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from conftest import make_image, stored_files
from galleries import services
from galleries.models import Asset, Gallery, Photo, Visibility
from galleries.tests.conftest import fail_processing

pytestmark = pytest.mark.django_db


def upload(name="a.jpg", data=None, content_type="image/jpeg"):
    return SimpleUploadedFile(name, data if data is not None else make_image("JPEG"), content_type=content_type)


# --- health and schema ---------------------------------------------------------------------


def test_health_reports_each_dependency(api_for):
    response = api_for().get("/api/v1/health")
    assert response.status_code == 200
    body = response.json()
    assert body["status"] == "ok"
    assert body["database"] == body["storage"] == body["queue"] == "ok"


def test_schema_lists_every_endpoint_with_its_errors(client):
    response = client.get("/api/schema/", HTTP_ACCEPT="application/json")
    assert response.status_code == 200
    import yaml

    schema = yaml.safe_load(response.content)
    paths = schema["paths"]
    for path in [
        "/api/v1/health",
        "/api/v1/auth/login",
        "/api/v1/auth/logout",
        "/api/v1/galleries",
        "/api/v1/galleries/{gallery_id}",
        "/api/v1/galleries/{gallery_id}/restore",
        "/api/v1/galleries/{gallery_id}/photos",
        "/api/v1/photos/{photo_id}",
        "/api/v1/photos/{photo_id}/download",
    ]:
        assert path in paths, path
    assert {"400", "401", "413", "415"} <= set(paths["/api/v1/galleries/{gallery_id}/photos"]["post"]["responses"])
    assert "404" in paths["/api/v1/photos/{photo_id}"]["patch"]["responses"]


def test_swagger_ui_loads_nothing_from_a_cdn(client):
    response = client.get("/api/docs/")
    assert response.status_code == 200
    html = response.content.decode()
    assert "swagger-ui" in html
    assert "cdn." not in html and "unpkg" not in html and "jsdelivr" not in html


# --- galleries -----------------------------------------------------------------------------


def test_create_and_read_a_gallery(alice, api_for):
    api = api_for(alice)
    response = api.post("/api/v1/galleries", {"title": "Summer", "visibility": "unlisted"}, format="json")
    assert response.status_code == 201
    body = response.json()
    assert body["slug"].startswith("summer-") and body["visibility"] == "unlisted" and body["owner"] == "alice"
    assert body["photo_count"] == 0
    assert api.get(f"/api/v1/galleries/{body['id']}").json()["title"] == "Summer"


def test_anonymous_cannot_create(api_for):
    assert api_for().post("/api/v1/galleries", {"title": "x"}, format="json").status_code == 401


def test_a_non_staff_user_cannot_create(api_for, django_user_model):
    client_user = django_user_model.objects.create_user("carol", "c@example.com", "pw")
    assert api_for(client_user).post("/api/v1/galleries", {"title": "x"}, format="json").status_code == 403


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"title": ""}, "title"),
        ({"title": "x" * 101}, "title"),
        ({"title": "ok", "visibility": "secret"}, "visibility"),
        ({"title": "ok", "default_layout": "grid"}, "default_layout"),
        ({"title": "ok", "owner": 5}, "owner"),
        ({"title": "ok", "expires_at": "tomorrow"}, "expires_at"),
        ({"title": 12.5, "description": ["a"]}, "description"),
    ],
)
def test_bad_gallery_input_is_400_naming_the_field(alice, api_for, body, field):
    response = api_for(alice).post("/api/v1/galleries", body, format="json")
    assert response.status_code == 400
    assert field in response.json()
    assert not Gallery.objects.exists()


def test_list_shows_own_galleries_to_photographers_and_public_ones_to_visitors(alice, bob, api_for, make_gallery):
    make_gallery(alice, "Alice public", Visibility.PUBLIC)
    make_gallery(alice, "Alice private", Visibility.PRIVATE)
    make_gallery(bob, "Bob unlisted", Visibility.UNLISTED)
    titles = lambda api: sorted(g["title"] for g in api.get("/api/v1/galleries").json()["results"])  # noqa: E731
    assert titles(api_for(alice)) == ["Alice private", "Alice public"]
    assert titles(api_for(bob)) == ["Bob unlisted"]
    assert titles(api_for()) == ["Alice public"]


def test_list_uses_cursor_pagination(alice, api_for, make_gallery):
    for i in range(55):
        make_gallery(alice, f"G{i}")
    first = api_for(alice).get("/api/v1/galleries").json()
    assert len(first["results"]) == 50 and first["next"] and first["previous"] is None
    second = api_for(alice).get(first["next"]).json()
    assert len(second["results"]) == 5
    assert not {g["id"] for g in first["results"]} & {g["id"] for g in second["results"]}


def test_superuser_sees_every_gallery(alice, bob, admin_user, api_for, make_gallery):
    make_gallery(alice, "A", Visibility.PRIVATE)
    make_gallery(bob, "B", Visibility.PRIVATE)
    assert len(api_for(admin_user).get("/api/v1/galleries").json()["results"]) == 2


def test_private_gallery_is_404_for_strangers_and_visitors(alice, bob, api_for, make_gallery):
    private = make_gallery(alice, "Secret", Visibility.PRIVATE)
    assert api_for(bob).get(f"/api/v1/galleries/{private.pk}").status_code == 404
    assert api_for().get(f"/api/v1/galleries/{private.pk}").status_code == 404
    assert api_for(alice).get(f"/api/v1/galleries/{private.pk}").status_code == 200


def test_unlisted_gallery_is_readable_by_id(alice, api_for, make_gallery):
    unlisted = make_gallery(alice, "Unlisted", Visibility.UNLISTED)
    assert api_for().get(f"/api/v1/galleries/{unlisted.pk}").status_code == 200


def test_update_including_the_cover(alice, api_for, gallery, add_photo):
    photo = add_photo(gallery)
    response = api_for(alice).patch(
        f"/api/v1/galleries/{gallery.pk}", {"title": "Renamed", "cover": str(photo.pk)}, format="json"
    )
    assert response.status_code == 200
    assert response.json()["cover"] == str(photo.pk) and response.json()["title"] == "Renamed"
    assert (
        api_for(alice).patch(f"/api/v1/galleries/{gallery.pk}", {"cover": None}, format="json").json()["cover"] is None
    )


def test_a_cover_from_another_gallery_is_400(alice, api_for, gallery, make_gallery, add_photo):
    foreign = add_photo(make_gallery(alice, "Other"))
    response = api_for(alice).patch(f"/api/v1/galleries/{gallery.pk}", {"cover": str(foreign.pk)}, format="json")
    assert response.status_code == 400 and "cover" in response.json()


def test_strangers_get_404_on_every_write(bob, api_for, gallery, photo):
    api = api_for(bob)
    assert api.patch(f"/api/v1/galleries/{gallery.pk}", {"title": "x"}, format="json").status_code == 404
    assert api.delete(f"/api/v1/galleries/{gallery.pk}").status_code == 404
    assert api.post(f"/api/v1/galleries/{gallery.pk}/restore").status_code == 404
    assert (
        api.post(f"/api/v1/galleries/{gallery.pk}/photos", {"files": [upload()]}, format="multipart").status_code == 404
    )
    assert api.patch(f"/api/v1/photos/{photo.pk}", {"alt": "x"}, format="json").status_code == 404
    assert api.delete(f"/api/v1/photos/{photo.pk}").status_code == 404
    assert api.get(f"/api/v1/photos/{photo.pk}/download").status_code == 404
    gallery.refresh_from_db()
    assert gallery.title == "Wedding" and gallery.deleted_at is None and Photo.objects.count() == 1


def test_anonymous_gets_401_on_every_write(api_for, gallery, photo):
    api = api_for()
    assert api.patch(f"/api/v1/galleries/{gallery.pk}", {"title": "x"}, format="json").status_code == 401
    assert api.delete(f"/api/v1/galleries/{gallery.pk}").status_code == 401
    assert api.post(f"/api/v1/galleries/{gallery.pk}/restore").status_code == 401
    assert (
        api.post(f"/api/v1/galleries/{gallery.pk}/photos", {"files": [upload()]}, format="multipart").status_code == 401
    )
    assert api.patch(f"/api/v1/photos/{photo.pk}", {"alt": "x"}, format="json").status_code == 401
    assert api.delete(f"/api/v1/photos/{photo.pk}").status_code == 401


def test_delete_moves_to_trash_and_restore_brings_back(alice, api_for, gallery):
    api = api_for(alice)
    assert api.delete(f"/api/v1/galleries/{gallery.pk}").status_code == 204
    assert api.get("/api/v1/galleries").json()["results"] == []
    assert [g["id"] for g in api.get("/api/v1/galleries?trash=true").json()["results"]] == [str(gallery.pk)]
    assert api_for().get(f"/api/v1/galleries/{gallery.pk}").status_code == 404
    response = api.post(f"/api/v1/galleries/{gallery.pk}/restore")
    assert response.status_code == 200 and response.json()["deleted_at"] is None


def test_unknown_gallery_is_404(alice, api_for):
    assert api_for(alice).get("/api/v1/galleries/00000000-0000-0000-0000-000000000000").status_code == 404


# --- photos --------------------------------------------------------------------------------


def test_upload_several_files(alice, api_for, gallery):
    response = api_for(alice).post(
        f"/api/v1/galleries/{gallery.pk}/photos",
        {"files": [upload("a.jpg", make_image("JPEG")), upload("b.png", make_image("PNG"), "image/png")]},
        format="multipart",
    )
    assert response.status_code == 201, response.content
    body = response.json()
    assert [r["created"] for r in body] == [True, True]
    assert [r["photo"]["mime"] for r in body] == ["image/jpeg", "image/png"]
    assert body[0]["photo"]["original_filename"] == "a.jpg"
    assert gallery.photos.count() == 2


def test_uploading_the_same_bytes_again_returns_the_existing_photo(alice, api_for, gallery):
    data = make_image("JPEG")
    api = api_for(alice)
    first = api.post(f"/api/v1/galleries/{gallery.pk}/photos", {"files": [upload("a.jpg", data)]}, format="multipart")
    again = api.post(f"/api/v1/galleries/{gallery.pk}/photos", {"files": [upload("b.jpg", data)]}, format="multipart")
    assert again.status_code == 201
    assert again.json()[0]["created"] is False
    assert again.json()[0]["photo"]["id"] == first.json()[0]["photo"]["id"]


@pytest.mark.parametrize(
    ("name", "data", "status"),
    [
        ("empty.jpg", b"", 400),
        ("drawing.jpg", b"<svg xmlns='http://www.w3.org/2000/svg'><script>alert(1)</script></svg>", 415),
        ("page.jpg", b"<html><body>hello</body></html>", 415),
        ("trick.png", b"\x89PNG\r\n\x1a\n<html><script>alert(1)</script></html>", 400),
        ("noise.jpg", bytes(range(256)) * 8, 415),
    ],
)
def test_hostile_uploads_are_refused_and_nothing_is_stored(alice, api_for, gallery, media_root, name, data, status):
    response = api_for(alice).post(
        f"/api/v1/galleries/{gallery.pk}/photos",
        {"files": [upload("good.jpg"), upload(name, data)]},
        format="multipart",
    )
    assert response.status_code == status
    assert name in response.json()["detail"]
    assert Photo.objects.count() == 0 and Asset.objects.count() == 0
    assert stored_files(media_root) == []


def test_oversized_upload_is_413(alice, api_for, gallery, settings, media_root):
    settings.MAX_UPLOAD_SIZE = 2000
    response = api_for(alice).post(
        f"/api/v1/galleries/{gallery.pk}/photos",
        {"files": [upload("big.png", make_image("PNG", size=(100, 100), noise=True), "image/png")]},
        format="multipart",
    )
    assert response.status_code == 413
    assert "limit" in response.json()["detail"]
    assert stored_files(media_root) == []


def test_upload_without_files_or_with_unknown_fields_is_400(alice, api_for, gallery):
    api = api_for(alice)
    assert api.post(f"/api/v1/galleries/{gallery.pk}/photos", {}, format="multipart").status_code == 400
    response = api.post(
        f"/api/v1/galleries/{gallery.pk}/photos", {"files": [upload()], "gallery": "x"}, format="multipart"
    )
    assert response.status_code == 400 and "gallery" in response.json()


def test_json_body_for_an_upload_is_415(alice, api_for, gallery):
    response = api_for(alice).post(f"/api/v1/galleries/{gallery.pk}/photos", {"files": []}, format="json")
    assert response.status_code == 415


def test_photo_list_is_paged_and_page_size_is_bounded(alice, api_for, gallery, add_photo):
    for _ in range(5):
        add_photo(gallery)
    api = api_for(alice)
    body = api.get(f"/api/v1/galleries/{gallery.pk}/photos?page_size=2").json()
    assert body["count"] == 5 and len(body["results"]) == 2 and body["next"]
    assert api.get(f"/api/v1/galleries/{gallery.pk}/photos?page_size=201").status_code == 400
    assert api.get(f"/api/v1/galleries/{gallery.pk}/photos?page_size=abc").status_code == 400
    assert api.get(f"/api/v1/galleries/{gallery.pk}/photos?page=99").status_code == 404


def test_photo_list_of_a_private_gallery_is_404_for_others(alice, bob, api_for, make_gallery, add_photo):
    private = make_gallery(alice, "P", Visibility.PRIVATE)
    add_photo(private)
    assert api_for(bob).get(f"/api/v1/galleries/{private.pk}/photos").status_code == 404
    assert api_for().get(f"/api/v1/galleries/{private.pk}/photos").status_code == 404


def test_visitors_do_not_see_failed_photos(alice, api_for, gallery, add_photo):
    ok, broken = add_photo(gallery), add_photo(gallery)
    fail_processing(broken)
    visitor_ids = [p["id"] for p in api_for().get(f"/api/v1/galleries/{gallery.pk}/photos").json()["results"]]
    owner_ids = [p["id"] for p in api_for(alice).get(f"/api/v1/galleries/{gallery.pk}/photos").json()["results"]]
    assert visitor_ids == [str(ok.pk)]
    assert owner_ids == [str(ok.pk), str(broken.pk)]
    assert api_for().get(f"/api/v1/photos/{broken.pk}").status_code == 404


def test_photo_read_update_delete(alice, api_for, photo):
    api = api_for(alice)
    body = api.get(f"/api/v1/photos/{photo.pk}").json()
    assert body["width"] == 320 and body["height"] == 240 and body["aspect_ratio"] == pytest.approx(1.3333, 0.001)
    response = api.patch(
        f"/api/v1/photos/{photo.pk}", {"title": "Kiss", "alt": "Two people", "position": 7}, format="json"
    )
    assert response.status_code == 200
    assert (response.json()["title"], response.json()["alt"], response.json()["position"]) == ("Kiss", "Two people", 7)
    assert api.delete(f"/api/v1/photos/{photo.pk}").status_code == 204
    assert api.get(f"/api/v1/photos/{photo.pk}").status_code == 404


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"alt": "x" * 201}, "alt"),
        ({"position": -1}, "position"),
        ({"position": "first"}, "position"),
        ({"sha256": "x"}, "sha256"),
    ],
)
def test_bad_photo_updates_are_400(alice, api_for, photo, body, field):
    response = api_for(alice).patch(f"/api/v1/photos/{photo.pk}", body, format="json")
    assert response.status_code == 400 and field in response.json()


def test_download_gives_the_original_as_an_attachment(alice, api_for, gallery):
    data = make_image("JPEG")
    photo, _ = services.photo_add(gallery=gallery, file=io.BytesIO(data), filename="Mariage été.jpg")
    response = api_for(alice).get(f"/api/v1/photos/{photo.pk}/download")
    assert response.status_code == 200
    assert b"".join(response.streaming_content) == data
    assert response["Content-Type"] == "image/jpeg"
    assert response["Content-Disposition"].startswith("attachment")
    assert "Mariage%20%C3%A9t%C3%A9.jpg" in response["Content-Disposition"]
    assert response["X-Content-Type-Options"] == "nosniff"


def test_visitors_cannot_download_originals_through_the_api(api_for, photo):
    assert api_for().get(f"/api/v1/photos/{photo.pk}/download").status_code == 401


def test_photo_urls_are_signed_media_urls(alice, api_for, client, photo, django_capture_on_commit_callbacks):
    from galleries.tasks import process_asset

    process_asset(photo.asset_id)
    body = api_for(alice).get(f"/api/v1/photos/{photo.pk}").json()
    assert body["status"] == "ready"
    variant = next(v for v in body["variants"] if v["name"] == "small" and v["format"] == "webp")
    assert "s=" in variant["url"] and "e=" in variant["url"]
    assert client.get(variant["url"]).status_code == 200
    assert client.get(variant["url"].split("?")[0]).status_code == 403


# --- input the schema does not allow is refused (issue 10) ---------------------------------


def test_a_trash_flag_that_is_not_true_or_false_is_refused(alice, api_for, gallery):
    response = api_for(alice).get("/api/v1/galleries?trash=107")
    assert response.status_code == 400
    assert response.json() == {"trash": ["Must be true or false."]}
    assert api_for(alice).get("/api/v1/galleries?trash=false").json()["results"][0]["id"] == str(gallery.pk)


def test_an_invalid_cursor_is_bad_input_not_a_missing_page(alice, api_for, gallery):
    response = api_for(alice).get("/api/v1/galleries?cursor=not-a-cursor")
    assert response.status_code == 400
    assert "cursor" in response.json()


def test_alt_text_must_be_a_string(alice, api_for, photo):
    response = api_for(alice).patch(f"/api/v1/photos/{photo.pk}", {"alt": 0, "title": "Kept?"}, format="json")
    assert response.status_code == 400
    assert response.json() == {"alt": ["Must be a string."]}
    photo.refresh_from_db()
    assert photo.alt == "" and photo.title == ""


def test_json_types_are_what_the_schema_says(alice, api_for, gallery):
    api = api_for(alice)
    for body, field in [
        ({"show_metadata": "true"}, "show_metadata"),
        ({"show_metadata": 1}, "show_metadata"),
        ({"title": 5}, "title"),
        ({"cover": 7}, "cover"),
    ]:
        response = api.patch(f"/api/v1/galleries/{gallery.pk}", body, format="json")
        assert response.status_code == 400, body
        assert list(response.json()) == [field]
    gallery.refresh_from_db()
    assert gallery.title == "Wedding" and gallery.show_metadata is False


def test_a_patch_body_that_is_not_an_object_is_refused(alice, api_for, gallery, photo):
    for url in (f"/api/v1/galleries/{gallery.pk}", f"/api/v1/photos/{photo.pk}"):
        response = api_for(alice).patch(url, [], format="json")
        assert response.status_code == 400
        assert response.json() == {"non_field_errors": ["Expected an object, got list."]}


def test_a_page_that_is_not_a_number_is_bad_input(alice, api_for, gallery, add_photo):
    add_photo(gallery)
    for page in ("0", "abc", "-1", "last"):
        response = api_for(alice).get(f"/api/v1/galleries/{gallery.pk}/photos?page={page}")
        assert response.status_code == 400, page
        assert list(response.json()) == ["page"]
    assert api_for(alice).get(f"/api/v1/galleries/{gallery.pk}/photos?page=1").json()["count"] == 1
