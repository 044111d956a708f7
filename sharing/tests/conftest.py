import io

import pytest

from conftest import make_image
from galleries import services as gallery_services
from galleries.tasks import process_asset
from sharing import services


@pytest.fixture
def make_shared(alice, db):
    """A gallery with two processed photos and a link to it."""

    def make(visibility="private", **link_fields):
        gallery = gallery_services.gallery_create(owner=alice, title="Anna & Ben", visibility=visibility)
        photos = []
        for i in range(2):
            photo, _ = gallery_services.photo_add(
                gallery=gallery, file=io.BytesIO(make_image("JPEG", size=(400, 300), colour=(i * 90, 40, 200))),
                filename=f"IMG_{i}.jpg",
            )  # fmt: skip
            process_asset(photo.asset_id)
            photos.append(photo)
        link = services.share_link_create(gallery=gallery, label="Anna", **link_fields)
        return gallery, photos, link

    return make
