"""The uploader's processing rows, which uploads attaches to the gallery's admin pages."""

import hashlib

import pytest

from conftest import make_image
from galleries.tasks import process_asset
from uploads import services

pytestmark = pytest.mark.django_db


@pytest.fixture
def big_upload_done(alice, gallery):
    data = make_image("JPEG", size=(300, 200))
    upload = services.upload_create(owner=alice, gallery=gallery, filename="a.jpg", size=len(data))
    services.upload_receive_chunk(
        upload=upload, index=0, stream=iter([data]), length=len(data), sha256=hashlib.sha256(data).hexdigest()
    )
    photo = services.upload_complete(upload=upload)
    return upload, photo


def test_upload_status_fragment_polls_until_ready(alice, bob, client_for, gallery, big_upload_done):
    upload, photo = big_upload_done
    url = f"/admin/galleries/gallery/{gallery.pk}/upload/status/{upload.pk}/"
    c = client_for(alice)
    html = c.get(url, HTTP_HX_REQUEST="true").content.decode()
    assert "<html" not in html and "cs-processing" in html and 'hx-trigger="every 2s"' in html
    process_asset(photo.asset_id)
    html = c.get(url, HTTP_HX_REQUEST="true").content.decode()
    assert "cs-ready" in html and "hx-trigger" not in html and "variants/" in html
    assert client_for(bob).get(url).status_code == 404
