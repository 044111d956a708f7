import io
from concurrent.futures import ThreadPoolExecutor

import pytest
from django.core.files.storage import default_storage

from config.exceptions import InvalidInput, TooLarge, UnsupportedType
from conftest import make_image, stored_files
from galleries import services
from galleries.models import Asset, Gallery, Photo

pytestmark = pytest.mark.django_db


def test_slugs_are_unique_and_made_from_the_title(alice):
    first = services.gallery_create(owner=alice, title="Anna & Ben — Wedding")
    second = services.gallery_create(owner=alice, title="Anna & Ben — Wedding")
    assert first.slug == "anna-ben-wedding"
    assert second.slug == "anna-ben-wedding-2"
    assert services.gallery_create(owner=alice, title="!!!").slug == "gallery"


def test_adding_stores_the_original_once_under_its_content_address(gallery, media_root):
    data = make_image("JPEG")
    photo, created = services.photo_add(gallery=gallery, file=io.BytesIO(data), filename="IMG_1.jpg")
    assert created
    asset = photo.asset
    assert asset.sha256 == __import__("hashlib").sha256(data).hexdigest()
    assert default_storage.open(asset.original_key).read() == data
    assert asset.original_key == f"originals/{asset.sha256[:2]}/{asset.sha256[2:4]}/{asset.sha256}.jpg"
    assert photo.original_filename == "IMG_1.jpg"


def test_the_same_bytes_in_the_same_gallery_return_the_same_photo(gallery):
    data = make_image("PNG")
    first, created_first = services.photo_add(gallery=gallery, file=io.BytesIO(data), filename="a.png")
    again, created_again = services.photo_add(gallery=gallery, file=io.BytesIO(data), filename="b.png")
    assert (created_first, created_again) == (True, False)
    assert again.pk == first.pk
    assert Photo.objects.count() == 1


def test_the_same_bytes_in_two_galleries_share_one_asset(alice, gallery, media_root):
    other = services.gallery_create(owner=alice, title="Other")
    data = make_image("JPEG")
    a, _ = services.photo_add(gallery=gallery, file=io.BytesIO(data), filename="a.jpg")
    b, _ = services.photo_add(gallery=other, file=io.BytesIO(data), filename="b.jpg")
    assert a.pk != b.pk and a.asset_id == b.asset_id
    assert Asset.objects.count() == 1
    assert len([f for f in stored_files(media_root) if f.startswith("originals/")]) == 1


def test_positions_follow_the_order_of_arrival(gallery, add_photo):
    photos = [add_photo(gallery) for _ in range(3)]
    assert [p.position for p in photos] == [0, 1, 2]


def test_too_large_is_refused_and_nothing_is_stored(gallery, settings, media_root):
    settings.MAX_UPLOAD_SIZE = 1000
    with pytest.raises(TooLarge, match="limit"):
        services.photo_add(
            gallery=gallery, file=io.BytesIO(make_image("PNG", size=(100, 100), noise=True)), filename="x.png"
        )
    assert Asset.objects.count() == 0
    assert stored_files(media_root) == []


@pytest.mark.parametrize(
    ("data", "error"),
    [
        (b"", InvalidInput),
        (b"<svg xmlns='http://www.w3.org/2000/svg'/>", UnsupportedType),
        (b"\x89PNG\r\n\x1a\n<html></html>", InvalidInput),
        (bytes(range(256)), UnsupportedType),
    ],
)
def test_bad_files_leave_no_row_and_no_file(gallery, media_root, data, error):
    with pytest.raises(error):
        services.photo_add(gallery=gallery, file=io.BytesIO(data), filename="x.jpg")
    assert Photo.objects.count() == 0 and Asset.objects.count() == 0
    assert stored_files(media_root) == []


def test_photos_add_is_all_or_nothing(gallery, media_root, monkeypatch):
    good = [
        services.photo_check(file=io.BytesIO(make_image("JPEG", colour=(i * 80, 0, 0))), filename=f"{i}.jpg")
        for i in range(3)
    ]
    calls = {"n": 0}
    real = services._photo_place

    def failing_place(**kwargs):
        calls["n"] += 1
        if calls["n"] == 3:
            raise RuntimeError("database went away")
        return real(**kwargs)

    monkeypatch.setattr(services, "_photo_place", failing_place)
    with pytest.raises(RuntimeError):
        services.photos_add(gallery=gallery, files=good)
    assert Photo.objects.count() == 0 and Asset.objects.count() == 0
    assert stored_files(media_root) == []


def test_filenames_are_cleaned_for_display():
    assert services.clean_filename("../../etc/passwd") == "passwd"
    assert services.clean_filename("C:\\Users\\me\\IMG 1.jpg") == "IMG 1.jpg"
    assert services.clean_filename("bad\r\nname\x00.jpg") == "badname.jpg"
    long = services.clean_filename("a" * 300 + ".jpeg")
    assert len(long) == 255 and long.endswith(".jpeg")


def test_deleting_the_last_photo_collects_its_asset_and_files(
    gallery, photo, media_root, django_capture_on_commit_callbacks
):
    key = photo.asset.original_key
    with django_capture_on_commit_callbacks(execute=True):
        services.photo_delete(photo=photo)
    assert not Asset.objects.exists()
    assert not default_storage.exists(key)


def test_an_asset_another_gallery_holds_survives(alice, gallery, media_root, django_capture_on_commit_callbacks):
    other = services.gallery_create(owner=alice, title="Other")
    data = make_image("JPEG")
    a, _ = services.photo_add(gallery=gallery, file=io.BytesIO(data), filename="a.jpg")
    services.photo_add(gallery=other, file=io.BytesIO(data), filename="a.jpg")
    with django_capture_on_commit_callbacks(execute=True):
        services.photo_delete(photo=a)
    assert Asset.objects.count() == 1
    assert default_storage.exists(Asset.objects.get().original_key)


def test_deleting_the_cover_clears_it(gallery, photo, django_capture_on_commit_callbacks):
    services.gallery_update(gallery=gallery, cover=photo)
    with django_capture_on_commit_callbacks(execute=True):
        services.photo_delete(photo=photo)
    gallery.refresh_from_db()
    assert gallery.cover is None


def test_a_cover_from_another_gallery_is_refused(alice, gallery, add_photo):
    other = services.gallery_create(owner=alice, title="Other")
    foreign = add_photo(other)
    with pytest.raises(InvalidInput, match="cover"):
        services.gallery_update(gallery=gallery, cover=foreign)


def test_destroying_a_gallery_removes_its_files(gallery, add_photo, media_root, django_capture_on_commit_callbacks):
    add_photo(gallery)
    add_photo(gallery)
    with django_capture_on_commit_callbacks(execute=True):
        services.gallery_destroy(gallery=gallery)
    assert not Gallery.objects.exists() and not Asset.objects.exists()
    assert stored_files(media_root) == []


def test_trash_and_restore(gallery):
    services.gallery_trash(gallery=gallery)
    assert not Gallery.objects.alive().filter(pk=gallery.pk).exists()
    services.gallery_restore(gallery=gallery)
    assert Gallery.objects.alive().filter(pk=gallery.pk).exists()


@pytest.mark.django_db(transaction=True)
def test_concurrent_adds_of_the_same_bytes_make_one_asset(alice, media_root):
    from django.db import connection

    gallery = services.gallery_create(owner=alice, title="Race")
    data = make_image("JPEG", size=(400, 300))

    def add(_):
        try:
            return services.photo_add(gallery=gallery, file=io.BytesIO(data), filename="a.jpg")[0].pk
        finally:
            connection.close()

    with ThreadPoolExecutor(4) as pool:
        ids = set(pool.map(add, range(4)))
    assert len(ids) == 1
    assert Asset.objects.count() == 1 and Photo.objects.count() == 1
