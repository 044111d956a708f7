"""The counts kept on each gallery match its rows after every kind of change (galleries.counters)."""

import io

from conftest import make_image
from galleries import counters, services
from galleries.models import Gallery
from galleries.tasks import process_asset


def _image(n: int) -> bytes:
    return make_image("JPEG", size=(64, 48), colour=(n * 40 % 256, n * 90 % 256, 30))


def _counts(gallery) -> tuple[int, int]:
    gallery.refresh_from_db()
    return gallery.photo_count, gallery.photo_total


def test_the_counts_follow_adds_guests_approval_failures_reprocessing_and_deletes(
    alice, django_capture_on_commit_callbacks
):
    from django.core.files.storage import default_storage

    gallery = services.gallery_create(owner=alice, title="Counted")
    other = services.gallery_create(owner=alice, title="Other")
    own = [services.photo_add(gallery=gallery, file=io.BytesIO(_image(i)), filename="a.jpg")[0] for i in range(3)]
    assert _counts(gallery) == (3, 3)
    services.photo_add(gallery=gallery, file=io.BytesIO(_image(0)), filename="again.jpg")  # the same bytes
    assert _counts(gallery) == (3, 3)
    guest_file = services.photo_check(file=io.BytesIO(_image(9)), filename="g.jpg")
    [(guest, _)] = services.photos_add(gallery=gallery, files=[guest_file], contributor="Chris")
    assert _counts(gallery) == (3, 4)  # waiting for approval
    services.photo_approve(photo=guest)
    assert _counts(gallery) == (4, 4)
    services.photo_approve(photo=guest)  # twice is once
    services.photo_unapprove(photo=own[0])
    assert _counts(gallery) == (3, 4)
    # The same bytes in another gallery: a failure hides them in both.
    shared = services.photo_add(gallery=other, file=io.BytesIO(_image(1)), filename="b.jpg")[0]
    assert shared.asset_id == own[1].asset_id
    default_storage.delete(shared.asset.original_key)
    assert process_asset(shared.asset_id) == "failed"
    assert _counts(gallery) == (2, 4) and _counts(other) == (0, 1)
    # Reprocessing shows it again while it is rebuilt.
    default_storage.save(shared.asset.original_key, io.BytesIO(_image(1)))
    services.asset_reprocess(asset=shared.asset, wait=True)
    assert _counts(gallery) == (3, 4) and _counts(other) == (1, 1)
    with django_capture_on_commit_callbacks(execute=True):
        services.photo_delete(photo=own[0])  # not approved: only the total moves
        services.photo_delete(photo=own[2])
    assert _counts(gallery) == (2, 2)
    assert counters.recount([gallery.pk, other.pk]) == 0  # the kept counts were right all along


def test_a_stale_copy_saved_by_a_door_does_not_put_old_counts_back(alice):
    gallery = services.gallery_create(owner=alice, title="Stale")
    stale = Gallery.objects.get(pk=gallery.pk)
    services.photo_add(gallery=gallery, file=io.BytesIO(_image(3)), filename="a.jpg")
    services.gallery_update(gallery=stale, title="Renamed")
    assert _counts(gallery) == (1, 1)
    assert Gallery.objects.get(pk=gallery.pk).storage_bytes > 0


def test_recount_repairs_counts_that_drifted(alice):
    gallery = services.gallery_create(owner=alice, title="Drift")
    services.photo_add(gallery=gallery, file=io.BytesIO(_image(4)), filename="a.jpg")
    Gallery.objects.filter(pk=gallery.pk).update(photo_count=7, photo_total=0)
    assert counters.recount([gallery.pk]) == 1
    assert _counts(gallery) == (1, 1)
