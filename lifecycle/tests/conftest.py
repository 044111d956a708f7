import io

import pytest

from conftest import make_image
from galleries import services
from galleries.tasks import process_asset

_counter = iter(range(1, 1_000_000))


@pytest.fixture(autouse=True)
def _lifecycle_settings(settings):
    """The lifecycle's settings at known values (the defaults, spelled out), and mail kept in memory."""
    settings.GALLERY_EXPIRED_ACTION = "hide"
    settings.GALLERY_PURGE_AFTER = 30
    settings.TRASH_RETENTION = 30
    settings.GALLERY_EXPIRY_NOTICE_DAYS = 7
    settings.GALLERY_PURGE_NOTICE_DAYS = 3
    settings.SITE_URL = "https://photos.example.com"
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"


@pytest.fixture
def add_photo():
    """Adds a distinct (or the given) photo and processes it, so its variants exist."""

    def add(gallery, data=None, filename="photo.jpg", contributor=""):
        n = next(_counter)
        data = data or make_image("JPEG", size=(160, 120), colour=(n * 47 % 256, n * 101 % 256, n * 197 % 256))
        checked = services.photo_check(file=io.BytesIO(data), filename=filename)
        photo, _ = services.photos_add(gallery=gallery, files=[checked], contributor=contributor)[0]
        process_asset(photo.asset_id)
        return photo

    return add
