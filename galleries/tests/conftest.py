import io

import pytest

from conftest import make_image
from galleries import services
from galleries.models import Visibility


@pytest.fixture
def make_gallery(db):
    def make(owner, title="Wedding", visibility=Visibility.PUBLIC, **kw):
        return services.gallery_create(owner=owner, title=title, visibility=visibility, **kw)

    return make


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
