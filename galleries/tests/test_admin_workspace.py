"""The photographer's workspace in the admin (issue 13): the photo grid, its order, bulk actions,
sorting, moving photos between galleries, sizes, covers in the list and the admin index."""

from __future__ import annotations

import pytest

from config.exceptions import InvalidInput
from galleries import counters, services
from galleries.admin import admin_size
from galleries.models import Asset, Gallery, Photo
from galleries.tasks import process_asset

pytestmark = pytest.mark.django_db


def _order(gallery) -> list[str]:
    return list(
        Photo.objects.filter(gallery=gallery)
        .order_by("position", "created_at")
        .values_list("original_filename", flat=True)
    )


def _versions(gallery) -> tuple[int, int]:
    g = Gallery.objects.get(pk=gallery.pk)
    return g.order_version, g.content_version


@pytest.fixture
def five(gallery, add_photo):
    return [add_photo(gallery, filename=f"img-{n}.jpg") for n in (3, 1, 5, 2, 4)]


# --- Sizes ----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("size", "text"),
    [(900, "900 bytes"), (812 * 1024 + 300, "812 KB"), (int(1.4 * 2**20), "1.4 MB"), (3 * 2**30, "3.0 GB")],
)
def test_admin_size_never_says_zero_megabytes(size, text):
    assert admin_size(size) == text


def test_the_grid_shows_small_files_in_kilobytes(alice, client_for, gallery, add_photo):
    photo = add_photo(gallery)
    assert photo.asset.size < 2**20
    html = client_for(alice).get(f"/admin/galleries/gallery/{gallery.pk}/change/").content.decode()
    assert "0.0 MB" not in html and f"{admin_size(photo.asset.size)}" in html


# --- Order: reorder, sort --------------------------------------------------------------------------


def test_photos_reorder_renumbers_in_one_go_and_bumps_the_order_version(gallery, five):
    before = _versions(gallery)
    moved = services.photos_reorder(gallery=gallery, photo_ids=[five[1].pk, five[3].pk, five[0].pk])
    assert _order(gallery) == ["img-1.jpg", "img-2.jpg", "img-3.jpg", "img-5.jpg", "img-4.jpg"]
    assert list(Photo.objects.filter(gallery=gallery).order_by("position").values_list("position", flat=True)) == [
        0,
        1,
        2,
        3,
        4,
    ]
    assert moved == 4  # only img-4 kept its place
    after = _versions(gallery)
    assert after[0] == before[0] + 1 and after[1] > before[1]
    assert services.photos_reorder(gallery=gallery, photo_ids=[five[1].pk]) == 0  # nothing moved: no new version
    assert _versions(gallery) == after


def test_photos_reorder_refuses_strangers_photos_and_duplicates(alice, make_gallery, gallery, five, add_photo):
    other = make_gallery(alice, title="Other")
    foreign = add_photo(other)
    with pytest.raises(InvalidInput):
        services.photos_reorder(gallery=gallery, photo_ids=[five[0].pk, foreign.pk])
    with pytest.raises(InvalidInput):
        services.photos_reorder(gallery=gallery, photo_ids=[five[0].pk, five[0].pk])
    assert _order(gallery) == ["img-3.jpg", "img-1.jpg", "img-5.jpg", "img-2.jpg", "img-4.jpg"]


def test_photos_sort_by_file_name_upload_time_and_capture_time(gallery, five):
    services.photos_sort(gallery=gallery, key="filename")
    assert _order(gallery) == ["img-1.jpg", "img-2.jpg", "img-3.jpg", "img-4.jpg", "img-5.jpg"]
    services.photos_sort(gallery=gallery, key="uploaded")
    assert _order(gallery) == ["img-3.jpg", "img-1.jpg", "img-5.jpg", "img-2.jpg", "img-4.jpg"]
    taken = {"img-4.jpg": "2024-05-01T10:00:00", "img-2.jpg": "2024-05-01T09:00:00", "img-5.jpg": "2024-05-01T11:00:00"}
    for photo in five:
        if photo.original_filename in taken:
            Asset.objects.filter(pk=photo.asset_id).update(exif={"taken_at": taken[photo.original_filename]})
    before = _versions(gallery)
    services.photos_sort(gallery=gallery, key="taken")
    # Known capture times first, in time order; photos without one after them, by upload.
    assert _order(gallery) == ["img-2.jpg", "img-4.jpg", "img-5.jpg", "img-3.jpg", "img-1.jpg"]
    assert _versions(gallery)[0] == before[0] + 1
    with pytest.raises(InvalidInput):
        services.photos_sort(gallery=gallery, key="colour")


def test_dragged_order_from_the_grid_is_saved_through_the_service(alice, client_for, gallery, five):
    """sortable2 numbers the cards 1, 2, 3… on drop; the save stores the order as 0…n-1."""
    order = [five[4], five[2], five[0], five[1], five[3]]
    data = {
        "title": gallery.title, "description": "", "visibility": gallery.visibility,
        "default_layout": gallery.default_layout, "photos-TOTAL_FORMS": "5", "photos-INITIAL_FORMS": "5",
        "share_links-TOTAL_FORMS": "0", "share_links-INITIAL_FORMS": "0",
    }  # fmt: skip
    for i, photo in enumerate(five):
        data |= {f"photos-{i}-id": str(photo.pk), f"photos-{i}-gallery": str(gallery.pk), f"photos-{i}-title": "",
                 f"photos-{i}-alt": "", f"photos-{i}-position": str(order.index(photo) + 1),
                 f"photos-{i}-is_approved": "on"}  # fmt: skip
    before = _versions(gallery)
    response = client_for(alice).post(f"/admin/galleries/gallery/{gallery.pk}/change/", data)
    assert response.status_code == 302, response.content.decode()[:2000]
    assert _order(gallery) == [p.original_filename for p in order]
    assert sorted(Photo.objects.filter(gallery=gallery).values_list("position", flat=True)) == [0, 1, 2, 3, 4]
    assert _versions(gallery)[0] == before[0] + 1


def test_sort_view(alice, bob, client_for, gallery, five):
    url = f"/admin/galleries/gallery/{gallery.pk}/photos/sort/"
    assert client_for(alice).post(url, {"cs_sort": "filename"}).status_code == 302
    assert _order(gallery)[0] == "img-1.jpg"
    assert client_for(alice).post(url, {"cs_sort": "nonsense"}).status_code == 400
    assert client_for(alice).get(url).status_code == 405
    assert client_for(bob).post(url, {"cs_sort": "uploaded"}).status_code == 404  # a stranger
    anonymous = client_for(None).post(url, {"cs_sort": "uploaded"})
    assert anonymous.status_code == 302 and "/login/" in anonymous["Location"]
    assert _order(gallery)[0] == "img-1.jpg"


# --- Moving photos ---------------------------------------------------------------------------------


def test_photos_move_keeps_counters_storage_and_orders_right(alice, make_gallery, gallery, five, add_photo):
    target = make_gallery(alice, title="Target")
    kept = add_photo(target, filename="already.jpg")
    services.gallery_update(gallery=gallery, cover=five[0])
    src_before, dst_before = _versions(gallery), _versions(target)
    moving = [five[0], five[2]]
    moved_bytes = sum(p.asset.stored_bytes for p in moving)
    storage = {g.pk: g.storage_bytes for g in Gallery.objects.filter(pk__in=[gallery.pk, target.pk])}
    assert services.photos_move(photos=moving, to=target) == 2
    src, dst = Gallery.objects.get(pk=gallery.pk), Gallery.objects.get(pk=target.pk)
    assert (src.photo_total, dst.photo_total) == (3, 3)
    assert (
        src.storage_bytes == storage[gallery.pk] - moved_bytes and dst.storage_bytes == storage[target.pk] + moved_bytes
    )
    assert src.cover_id is None  # the moved cover no longer belongs to it
    assert _order(target) == [kept.original_filename, "img-3.jpg", "img-5.jpg"]
    assert _versions(gallery)[0] > src_before[0] and _versions(target)[0] > dst_before[0]
    assert counters.recount([gallery.pk, target.pk]) == 0  # the kept counters match the rows


def test_photos_move_is_all_or_nothing(alice, make_gallery, gallery, five, add_photo, jpeg_bytes):
    target = make_gallery(alice, title="Target")
    same = Photo.objects.get(pk=five[1].pk)
    # The target already holds the same picture as one of the photos: nothing moves.
    Photo.objects.create(gallery=target, asset=same.asset, position=0, original_filename="copy.jpg")
    counters.recount([target.pk])
    with pytest.raises(InvalidInput, match="same picture"):
        services.photos_move(photos=[five[0], same], to=target)
    assert Photo.objects.filter(gallery=gallery).count() == 5
    with pytest.raises(InvalidInput):
        services.photos_move(photos=[five[0]], to=gallery)  # already there


# --- Bulk actions on the gallery page --------------------------------------------------------------


def _bulk(client, gallery, action, photos, **extra):
    data = {"cs_action": action, "cs_photo": [str(p.pk) for p in photos], **extra}
    return client.post(f"/admin/galleries/gallery/{gallery.pk}/photos/bulk/", data)


def test_bulk_actions(alice, make_gallery, client_for, gallery, five):
    c = client_for(alice)
    Photo.objects.filter(pk__in=[five[0].pk, five[1].pk]).update(is_approved=False)
    counters.recount([gallery.pk])
    assert _bulk(c, gallery, "approve", five[:2]).status_code == 302
    assert Photo.objects.filter(gallery=gallery, is_approved=False).count() == 0
    assert _bulk(c, gallery, "hide", five[:1]).status_code == 302
    assert not Photo.objects.get(pk=five[0].pk).is_approved
    assert _bulk(c, gallery, "cover", five[3:4]).status_code == 302
    assert Gallery.objects.get(pk=gallery.pk).cover_id == five[3].pk
    assert _bulk(c, gallery, "cover", five[3:5]).status_code == 302  # two: refused with a message
    assert Gallery.objects.get(pk=gallery.pk).cover_id == five[3].pk
    target = make_gallery(alice, title="Target")
    assert _bulk(c, gallery, "move", five[3:5], cs_target=str(target.pk)).status_code == 302
    assert Photo.objects.filter(gallery=target).count() == 2
    assert _bulk(c, gallery, "delete", five[:2]).status_code == 302
    assert Photo.objects.filter(gallery=gallery).count() == 1
    assert counters.recount([gallery.pk, target.pk]) == 0


def test_bulk_refuses_strangers_anonymous_and_bad_input(alice, bob, make_gallery, client_for, gallery, five):
    c = client_for(alice)
    assert _bulk(client_for(bob), gallery, "delete", five).status_code == 404
    anonymous = _bulk(client_for(None), gallery, "delete", five)
    assert anonymous.status_code == 302 and "/login/" in anonymous["Location"]
    assert _bulk(c, gallery, "explode", five).status_code == 400
    assert (
        c.post(
            f"/admin/galleries/gallery/{gallery.pk}/photos/bulk/", {"cs_action": "delete", "cs_photo": "x"}
        ).status_code
        == 400
    )
    assert c.get(f"/admin/galleries/gallery/{gallery.pk}/photos/bulk/").status_code == 405
    # Moving into someone else's gallery: 404, nothing moves.
    bobs = make_gallery(bob, title="Bob's")
    assert _bulk(c, gallery, "move", five[:1], cs_target=str(bobs.pk)).status_code == 404
    # Photos of another gallery named on this gallery's page: refused, nothing happens.
    other = make_gallery(alice, title="Other")
    services.photos_move(photos=five[4:], to=other)
    response = _bulk(c, gallery, "delete", [five[0], five[4]])
    assert response.status_code == 302
    assert Photo.objects.filter(pk__in=[five[0].pk, five[4].pk]).count() == 2
    assert Photo.objects.filter(gallery=gallery).count() == 4


# --- The list and the change page ------------------------------------------------------------------


def test_the_list_shows_the_cover_visitors_see(alice, client_for, gallery, add_photo):
    photo = add_photo(gallery)
    process_asset(photo.asset_id)
    html = client_for(alice).get("/admin/galleries/gallery/").content.decode()
    row = html[html.index('class="field-cover_thumb"') :][:600]
    assert 'class="cs-thumb"' in row and "—" not in row


def test_the_change_page_is_a_labelled_grid(alice, client_for, gallery, five):
    html = client_for(alice).get(f"/admin/galleries/gallery/{gallery.pk}/change/").content.decode()
    assert "cs-photo-grid" in html and "sortable" in html and "adminsortable2" in html
    assert html.count('class="cs-card-input"') == 10  # title and alt of five photos
    for i in range(5):
        assert f'<label for="id_photos-{i}-title">Title</label>' in html
        assert f'<label for="id_photos-{i}-alt">Alt text</label>' in html
    assert 'aria-label="Publish at: time"' in html and 'aria-label="Expires at: time"' in html
    assert html.count("View on site") == 1  # the page's own link, not one per photo


# --- The admin index ---------------------------------------------------------------------------------


def test_the_index_puts_daily_work_first_and_system_for_superusers_only(alice, admin_user, client_for):
    html = client_for(alice).get("/admin/").content.decode()
    assert "Daily work" in html and "Galleries" in html and "Selections" in html
    assert "System" not in html and "Assets" not in html and "Uploads" not in html
    root = client_for(admin_user).get("/admin/").content.decode()
    daily, system = root.index("Daily work"), root.index("System")
    assert daily < system
    for name in ("Assets", "Uploads", "Notifications"):
        assert root.index(name, system) > system
    assert root.index("Galleries", daily) < system
