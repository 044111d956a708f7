"""The chunk protocol and tus with S3 storage and S3ChunkStore (SeaweedFS): the local tests' main paths."""

import io

import pytest
from knox.models import AuthToken

from conftest import make_image
from galleries.models import Asset, Photo
from galleries.storage import original_key
from uploads.models import Upload, UploadChunk, UploadStatus
from uploads.tests.conftest import sha
from uploads.tests.test_chunks_api import CHUNK, chunks_of, put_chunk, start

pytestmark = [pytest.mark.s3, pytest.mark.django_db]


@pytest.fixture(autouse=True)
def _small_chunks(settings):
    settings.UPLOAD_CHUNK_SIZE = CHUNK


@pytest.fixture(scope="module")
def photo_bytes() -> bytes:
    """A real JPEG of about 1.3 MB (five chunks; noise does not compress)."""
    data = make_image("JPEG", size=(1200, 900), noise=True, quality=95)
    assert len(data) > 4 * CHUNK
    return data


def no_leftovers(bucket):
    """No piece left under uploads/ in the bucket and no chunk rows left."""
    assert bucket.names("uploads/") == []
    assert not UploadChunk.objects.exists()


def test_a_full_upload_out_of_order_with_retries(alice, api_for, gallery, photo_bytes, s3_storage):
    api = api_for(alice)
    created = start(api, gallery, photo_bytes, sha256=sha(photo_bytes))
    assert created.status_code == 201, created.content
    upload_id = created.json()["id"]
    pieces = chunks_of(photo_bytes)
    for index in reversed(range(len(pieces))):
        assert put_chunk(api, upload_id, index, pieces[index]).status_code == 201
    again = put_chunk(api, upload_id, 0, pieces[0])
    assert again.status_code == 200 and again.json()["created"] is False
    # Each chunk is its own object until the upload completes.
    assert s3_storage.names("uploads/") == [f"uploads/{upload_id}/{i * CHUNK:020d}" for i in range(len(pieces))]
    done = api.post(f"/api/v1/uploads/{upload_id}/complete")
    assert done.status_code == 200, done.content
    assert done.json()["photo"]["sha256"] == sha(photo_bytes)
    assert api.post(f"/api/v1/uploads/{upload_id}/complete").json()["photo"]["id"] == done.json()["photo"]["id"]
    asset = Photo.objects.get().asset
    assert asset.sha256 == sha(photo_bytes) and asset.size == len(photo_bytes)
    key = original_key(sha(photo_bytes), "jpg")
    assert s3_storage.names() == [key]
    assert s3_storage.read(key) == photo_bytes
    assert s3_storage.client.head_object(Bucket=s3_storage.name, Key=key)["ContentType"] == "image/jpeg"
    no_leftovers(s3_storage)


def test_a_chunk_with_a_wrong_checksum_is_not_recorded(alice, api_for, gallery, photo_bytes, s3_storage):
    api = api_for(alice)
    upload_id = start(api, gallery, photo_bytes).json()["id"]
    pieces = chunks_of(photo_bytes)
    response = put_chunk(api, upload_id, 0, bytes(reversed(pieces[0])), digest=sha(pieces[0]))
    assert response.status_code == 422 and "does not match" in response.json()["detail"]
    assert not UploadChunk.objects.exists()
    for index, piece in enumerate(pieces):
        assert put_chunk(api, upload_id, index, piece).status_code == 201
    done = api.post(f"/api/v1/uploads/{upload_id}/complete")
    assert done.status_code == 200 and done.json()["photo"]["sha256"] == sha(photo_bytes)


def test_complete_before_all_chunks_is_409_listing_them(alice, api_for, gallery, photo_bytes, s3_storage):
    api = api_for(alice)
    upload_id = start(api, gallery, photo_bytes).json()["id"]
    pieces = chunks_of(photo_bytes)
    put_chunk(api, upload_id, 0, pieces[0])
    response = api.post(f"/api/v1/uploads/{upload_id}/complete")
    assert response.status_code == 409 and response.json()["missing_chunks"] == list(range(1, len(pieces)))
    for i in range(1, len(pieces)):
        put_chunk(api, upload_id, i, pieces[i])
    assert api.post(f"/api/v1/uploads/{upload_id}/complete").status_code == 200
    no_leftovers(s3_storage)


def test_abort_removes_the_pieces_then_any_call_is_410(alice, api_for, gallery, photo_bytes, s3_storage):
    api = api_for(alice)
    upload_id = start(api, gallery, photo_bytes).json()["id"]
    put_chunk(api, upload_id, 0, chunks_of(photo_bytes)[0])
    put_chunk(api, upload_id, 2, chunks_of(photo_bytes)[2])
    assert len(s3_storage.names(f"uploads/{upload_id}/")) == 2
    assert api.delete(f"/api/v1/uploads/{upload_id}").status_code == 204
    no_leftovers(s3_storage)
    assert s3_storage.names() == []
    assert put_chunk(api, upload_id, 1, chunks_of(photo_bytes)[1]).status_code == 410
    assert api.post(f"/api/v1/uploads/{upload_id}/complete").status_code == 410
    assert api.get(f"/api/v1/uploads/{upload_id}").json()["status"] == "aborted"


def test_whole_file_mismatch_is_422_and_purges(alice, api_for, gallery, photo_bytes, s3_storage):
    api = api_for(alice)
    upload_id = start(api, gallery, photo_bytes, sha256=sha(b"something else")).json()["id"]
    for i, piece in enumerate(chunks_of(photo_bytes)):
        put_chunk(api, upload_id, i, piece)
    response = api.post(f"/api/v1/uploads/{upload_id}/complete")
    assert response.status_code == 422
    assert not Photo.objects.exists() and not Asset.objects.exists()
    assert s3_storage.names() == []
    no_leftovers(s3_storage)
    assert api.get(f"/api/v1/uploads/{upload_id}").json()["status"] == "failed"
    assert put_chunk(api, upload_id, 0, chunks_of(photo_bytes)[0]).status_code == 410


def test_hostile_content_named_jpg_is_refused_at_completion(alice, api_for, gallery, s3_storage):
    api = api_for(alice)
    upload_id = start(api, gallery, b"<svg xmlns='http://www.w3.org/2000/svg'/>").json()["id"]
    put_chunk(api, upload_id, 0, b"<svg xmlns='http://www.w3.org/2000/svg'/>")
    assert api.post(f"/api/v1/uploads/{upload_id}/complete").status_code == 415
    assert not Asset.objects.exists() and s3_storage.names() == []


def test_the_same_bytes_uploaded_twice_are_stored_once(alice, api_for, gallery, photo_bytes, s3_storage):
    api = api_for(alice)
    ids = []
    for _ in range(2):
        upload_id = start(api, gallery, photo_bytes).json()["id"]
        for i, piece in enumerate(chunks_of(photo_bytes)):
            put_chunk(api, upload_id, i, piece)
        ids.append(api.post(f"/api/v1/uploads/{upload_id}/complete").json()["photo"]["id"])
    assert ids[0] == ids[1]
    assert s3_storage.names() == [original_key(sha(photo_bytes), "jpg")]


def test_an_expired_upload_sweep_removes_its_pieces(alice, api_for, gallery, photo_bytes, s3_storage):
    from datetime import timedelta

    from django.utils import timezone

    from uploads.tasks import expire_uploads

    api = api_for(alice)
    upload_id = start(api, gallery, photo_bytes).json()["id"]
    put_chunk(api, upload_id, 0, chunks_of(photo_bytes)[0])
    Upload.objects.filter(pk=upload_id).update(expires_at=timezone.now() - timedelta(seconds=1))
    assert expire_uploads() == 1
    assert Upload.objects.get(pk=upload_id).status == UploadStatus.EXPIRED
    no_leftovers(s3_storage)


# --- tus with the real tuspy client against a live server -----------------------------------


@pytest.fixture
def token(alice):
    return AuthToken.objects.create(user=alice)[1]


@pytest.mark.django_db(transaction=True)
def test_tuspy_interrupted_twice_and_resumed_by_new_clients(live_server, alice, token, photo_bytes, s3_storage):
    from tusclient import client

    from galleries import services as gs

    gallery = gs.gallery_create(owner=alice, title="Tus")
    headers = {"Authorization": f"Token {token}"}
    endpoint = f"{live_server.url}/api/v1/tus/"
    first = client.TusClient(endpoint, headers=headers).uploader(
        file_stream=io.BytesIO(photo_bytes),
        chunk_size=150_000,
        metadata={"gallery": str(gallery.pk), "filename": "b.jpg"},
    )
    first.upload(stop_at=len(photo_bytes) // 4)
    url = first.url
    upload = Upload.objects.get()
    assert upload.offset == len(photo_bytes) // 4
    # One object per PATCH, at its offset; none is 5 MB, which S3 multipart would need.
    assert s3_storage.names("uploads/") == [
        f"uploads/{upload.pk}/{offset:020d}" for offset in range(0, len(photo_bytes) // 4, 150_000)
    ]
    second = client.TusClient(endpoint, headers=headers).uploader(
        file_stream=io.BytesIO(photo_bytes), chunk_size=150_000, url=url
    )
    assert second.offset == len(photo_bytes) // 4
    second.upload(stop_at=len(photo_bytes) // 2)
    assert Upload.objects.get().offset == len(photo_bytes) // 2
    third = client.TusClient(endpoint, headers=headers).uploader(
        file_stream=io.BytesIO(photo_bytes), chunk_size=150_000, url=url, upload_checksum=True
    )
    third.upload()
    upload = Upload.objects.get()
    assert upload.status == UploadStatus.COMPLETE and upload.photo.asset.sha256 == sha(photo_bytes)
    key = original_key(sha(photo_bytes), "jpg")
    assert s3_storage.read(key) == photo_bytes
    assert s3_storage.names("uploads/") == []
    # Completing enqueued processing (run in-process here): the variants went to the bucket too.
    upload.photo.asset.refresh_from_db()
    assert upload.photo.asset.status == "ready"
    assert {k for k in s3_storage.names() if k.startswith("variants/")} == set(
        upload.photo.asset.variants.values_list("key", flat=True)
    )
