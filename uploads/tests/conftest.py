import hashlib

import pytest

from conftest import make_image
from galleries import services as gallery_services
from galleries.models import Visibility


@pytest.fixture
def gallery(alice, db):
    return gallery_services.gallery_create(owner=alice, title="Drop", visibility=Visibility.PRIVATE)


@pytest.fixture
def big_jpeg() -> bytes:
    """A real JPEG of about 1.2 MB (noise does not compress)."""
    return make_image("JPEG", size=(700, 600), noise=True, quality=95)


def sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()
