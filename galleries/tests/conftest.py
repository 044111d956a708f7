import io

import pytest

from conftest import make_image
from galleries import counters, services, tasks

VARIANTS = tasks.variants_per_image()  # what processing makes of one image


@pytest.fixture
def gallery(alice, make_gallery):
    return make_gallery(alice)


def _colour(n: int) -> tuple[int, int, int]:
    return (n * 47 % 256, n * 101 % 256, n * 197 % 256)


@pytest.fixture
def add_photo():
    counter = iter(range(1, 10_000))

    def add(gallery, data=None, filename="photo.jpg"):
        data = data or make_image("JPEG", size=(320, 240), colour=_colour(next(counter)))
        photo, _ = services.photo_add(gallery=gallery, file=io.BytesIO(data), filename=filename)
        return photo

    return add


@pytest.fixture
def photo(gallery, add_photo):
    return add_photo(gallery)


def bulk_photos(gallery, count):
    """count ready photos with variant rows (no files), made in bulk; the gallery's counters follow."""
    from galleries.models import Asset, AssetStatus, Photo, Variant

    assets = Asset.objects.bulk_create(
        [
            Asset(sha256=f"{gallery.pk.hex[:8]}{i:056x}", mime="image/jpeg", ext="jpg", size=1, width=300, height=200,
                  status=AssetStatus.READY, blurhash="LEHV6nWB2yk8pyo0adR*.7kCMdnj")
            for i in range(count)
        ]
    )  # fmt: skip
    Variant.objects.bulk_create(
        [
            Variant(asset=a, name=n, format=f, width=w, height=h, size=1, key=f"variants/aa/bb/{a.sha256}/{n}.{f}")
            for a in assets
            for n, w, h in (("small", 300, 200), ("medium", 300, 200), ("large", 300, 200), ("thumbnail", 80, 80))
            for f in ("avif", "webp")
        ]
    )
    Photo.objects.bulk_create([Photo(gallery=gallery, asset=a, position=i) for i, a in enumerate(assets)])
    counters.recount([gallery.pk])


def fail_processing(photo) -> None:
    """Make processing fail for good the way it really does (the original is gone), so that every
    record of the failure (status, counters, Photo.shown) is written by the code that writes it."""
    from django.core.files.storage import default_storage

    from galleries.tasks import process_asset

    default_storage.delete(photo.asset.original_key)
    assert process_asset(photo.asset_id) == "failed"
