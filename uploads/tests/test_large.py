"""The issue's done-when: a 50 MB photo, cut off twice, finishes and verifies through tuspy, on
local storage and on SeaweedFS. (The admin uploader's version is in tests/browser.)"""

import hashlib
import io
import os

import pytest
from knox.models import AuthToken

from galleries import services as gallery_services
from galleries.models import AssetStatus
from uploads.models import Upload, UploadStatus

SIZE = 50 * 2**20


def padded_jpeg(size: int) -> bytes:
    """A real JPEG followed by random bytes up to `size` (decoders ignore what follows the end marker)."""
    from PIL import Image

    buf = io.BytesIO()
    Image.frombytes("RGB", (800, 600), os.urandom(800 * 600 * 3)).save(buf, "JPEG", quality=90)
    return buf.getvalue() + os.urandom(size - len(buf.getbuffer()))


@pytest.mark.django_db(transaction=True)
def test_a_50mb_photo_cut_off_twice_finishes_through_tuspy(live_server, alice, settings, storage):
    from tusclient import client

    settings.UPLOAD_CHUNK_SIZE = 8 * 2**20
    gallery = gallery_services.gallery_create(owner=alice, title=f"Big on {storage.kind}")
    token = AuthToken.objects.create(user=alice)[1]
    data = padded_jpeg(SIZE)
    headers = {"Authorization": f"Token {token}"}

    def uploader(**kwargs):
        tus = client.TusClient(f"{live_server.url}/api/v1/tus/", headers=headers)
        return tus.uploader(file_stream=io.BytesIO(data), chunk_size=8 * 2**20, upload_checksum=True, **kwargs)

    first = uploader(metadata={"gallery": str(gallery.pk), "filename": "IMG_BIG.jpg"})
    first.upload(stop_at=16 * 2**20)  # the connection drops here...
    second = uploader(url=first.url)  # ...a new client resumes at the server's offset
    assert second.offset == 16 * 2**20
    second.upload(stop_at=40 * 2**20)  # ...and drops again
    third = uploader(url=first.url)
    assert third.offset == 40 * 2**20
    third.upload()
    upload = Upload.objects.get()
    assert upload.status == UploadStatus.COMPLETE
    asset = upload.photo.asset
    assert asset.sha256 == hashlib.sha256(data).hexdigest() and asset.size == SIZE
    assert asset.status == AssetStatus.READY
