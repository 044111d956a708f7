import base64
import hashlib
import io

import pytest
from knox.models import AuthToken

from galleries.models import Photo
from uploads.models import Upload, UploadStatus
from uploads.tests.conftest import sha

pytestmark = pytest.mark.django_db
TUS = {"HTTP_TUS_RESUMABLE": "1.0.0"}


def meta(**values) -> str:
    return ",".join(f"{k} {base64.b64encode(v.encode()).decode()}" for k, v in values.items())


def create(api, gallery, size, **extra_meta):
    return api.post(
        "/api/v1/tus/",
        HTTP_UPLOAD_LENGTH=str(size),
        HTTP_UPLOAD_METADATA=meta(**{"gallery": str(gallery.pk), "filename": "IMG_1.jpg", **extra_meta}),
        **TUS,
    )


def patch(api, location, offset, body, **headers):
    return api.generic(
        "PATCH",
        location,
        body,
        content_type="application/offset+octet-stream",
        HTTP_UPLOAD_OFFSET=str(offset),
        **TUS,
        **headers,
    )


def test_options_advertises_the_extensions(api_for, alice):
    response = api_for(alice).options("/api/v1/tus/")
    assert response.status_code == 204
    assert response["Tus-Version"] == "1.0.0"
    assert set(response["Tus-Extension"].split(",")) >= {
        "creation",
        "creation-with-upload",
        "checksum",
        "termination",
        "expiration",
    }
    assert "sha256" in response["Tus-Checksum-Algorithm"]


def test_create_patch_head_and_finish(alice, api_for, gallery, big_jpeg):
    api = api_for(alice)
    created = create(api, gallery, len(big_jpeg))
    assert created.status_code == 201 and created["Tus-Resumable"] == "1.0.0" and created["Upload-Expires"]
    location = created["Location"]
    half = len(big_jpeg) // 2
    first = patch(api, location, 0, big_jpeg[:half])
    assert first.status_code == 204 and first["Upload-Offset"] == str(half)
    head = api.head(location, **TUS)
    assert (
        head.status_code == 200 and head["Upload-Offset"] == str(half) and head["Upload-Length"] == str(len(big_jpeg))
    )
    assert head["Cache-Control"] == "no-store"
    checksum = "sha256 " + base64.b64encode(hashlib.sha256(big_jpeg[half:]).digest()).decode()
    last = patch(api, location, half, big_jpeg[half:], HTTP_UPLOAD_CHECKSUM=checksum)
    assert last.status_code == 204, last.content
    upload = Upload.objects.get()
    assert upload.status == UploadStatus.COMPLETE
    assert upload.photo.asset.sha256 == sha(big_jpeg)


def test_creation_with_upload(alice, api_for, gallery):
    from conftest import make_image

    data = make_image("PNG", size=(64, 64))
    response = api_for(alice).post(
        "/api/v1/tus/",
        data,
        content_type="application/offset+octet-stream",
        HTTP_UPLOAD_LENGTH=str(len(data)),
        HTTP_UPLOAD_METADATA=meta(gallery=str(gallery.pk), filename="a.png"),
        **TUS,
    )
    assert response.status_code == 201, response.content
    assert response["Upload-Offset"] == str(len(data))
    assert Photo.objects.count() == 1


def test_wrong_offset_is_409(alice, api_for, gallery, big_jpeg):
    api = api_for(alice)
    location = create(api, gallery, len(big_jpeg))["Location"]
    assert patch(api, location, 100, big_jpeg[100:200]).status_code == 409


def test_checksum_mismatch_is_460_and_nothing_is_kept(alice, api_for, gallery, big_jpeg):
    api = api_for(alice)
    location = create(api, gallery, len(big_jpeg))["Location"]
    wrong = "sha256 " + base64.b64encode(hashlib.sha256(b"other").digest()).decode()
    response = patch(api, location, 0, big_jpeg[:1000], HTTP_UPLOAD_CHECKSUM=wrong)
    assert response.status_code == 460
    assert api.head(location, **TUS)["Upload-Offset"] == "0"


def test_unknown_checksum_algorithm_is_400(alice, api_for, gallery, big_jpeg):
    api = api_for(alice)
    location = create(api, gallery, len(big_jpeg))["Location"]
    assert patch(api, location, 0, big_jpeg[:10], HTTP_UPLOAD_CHECKSUM="crc32 AAAA").status_code == 400


def test_missing_tus_resumable_is_412(alice, api_for, gallery):
    response = api_for(alice).post("/api/v1/tus/", HTTP_UPLOAD_LENGTH="10")
    assert response.status_code == 412 and response["Tus-Version"] == "1.0.0"


def test_wrong_content_type_is_415(alice, api_for, gallery, big_jpeg):
    api = api_for(alice)
    location = create(api, gallery, len(big_jpeg))["Location"]
    response = api.generic("PATCH", location, b"abc", content_type="application/json", HTTP_UPLOAD_OFFSET="0", **TUS)
    assert response.status_code == 415


def test_more_bytes_than_the_length_is_413(alice, api_for, gallery):
    api = api_for(alice)
    location = create(api, gallery, 10)["Location"]
    assert patch(api, location, 0, b"x" * 20).status_code == 413


def test_bad_creation_headers(alice, api_for, gallery):
    api = api_for(alice)
    assert (
        api.post(
            "/api/v1/tus/", HTTP_UPLOAD_METADATA=meta(gallery=str(gallery.pk), filename="a.jpg"), **TUS
        ).status_code
        == 400
    )
    assert (
        api.post("/api/v1/tus/", HTTP_UPLOAD_LENGTH="10", HTTP_UPLOAD_METADATA="gallery !!!", **TUS).status_code == 400
    )
    assert create(api, gallery, 10, **{"filename": "x.svg"}).status_code == 415
    assert create(api, gallery, 10 * 2**30).status_code == 413


def test_termination_and_expiry(alice, api_for, gallery, big_jpeg, settings):
    from datetime import timedelta

    from django.utils import timezone

    api = api_for(alice)
    location = create(api, gallery, len(big_jpeg))["Location"]
    assert api.delete(location, **TUS).status_code == 204
    assert api.head(location, **TUS).status_code == 410
    location = create(api, gallery, len(big_jpeg))["Location"]
    Upload.objects.filter(status=UploadStatus.OPEN).update(expires_at=timezone.now() - timedelta(seconds=1))
    assert patch(api, location, 0, big_jpeg[:10]).status_code == 410
    assert api.head(location, **TUS).status_code == 410


def test_strangers_and_anonymous(alice, bob, api_for, gallery, big_jpeg):
    location = create(api_for(alice), gallery, len(big_jpeg))["Location"]
    assert api_for(bob).head(location, **TUS).status_code == 404
    assert patch(api_for(bob), location, 0, big_jpeg[:10]).status_code == 404
    assert api_for().head(location, **TUS).status_code == 401
    assert create(api_for(bob), gallery, 10).status_code == 404


# --- The real tuspy client against a live server -------------------------------------------


@pytest.fixture
def token(alice):
    return AuthToken.objects.create(user=alice)[1]


@pytest.mark.django_db(transaction=True)
def test_tuspy_uploads_with_checksums(live_server, alice, token, big_jpeg):
    from tusclient import client

    from galleries import services as gs

    gallery = gs.gallery_create(owner=alice, title="Tus")
    tus = client.TusClient(f"{live_server.url}/api/v1/tus/", headers={"Authorization": f"Token {token}"})
    uploader = tus.uploader(
        file_stream=io.BytesIO(big_jpeg),
        chunk_size=200_000,
        metadata={"gallery": str(gallery.pk), "filename": "IMG_9.jpg"},
        upload_checksum=True,
    )
    uploader.upload()
    upload = Upload.objects.get()
    assert upload.status == UploadStatus.COMPLETE
    assert upload.photo.asset.sha256 == sha(big_jpeg)


@pytest.mark.django_db(transaction=True)
def test_tuspy_interrupted_twice_and_resumed_by_new_clients(live_server, alice, token, big_jpeg, storage):
    from tusclient import client

    from galleries import services as gs
    from galleries.storage import original_key

    gallery = gs.gallery_create(owner=alice, title="Tus")
    headers = {"Authorization": f"Token {token}"}
    endpoint = f"{live_server.url}/api/v1/tus/"
    first = client.TusClient(endpoint, headers=headers).uploader(
        file_stream=io.BytesIO(big_jpeg), chunk_size=150_000, metadata={"gallery": str(gallery.pk), "filename": "b.jpg"}
    )
    first.upload(stop_at=len(big_jpeg) // 4)
    url = first.url
    upload = Upload.objects.get()
    assert upload.offset == len(big_jpeg) // 4
    if storage.kind == "s3":  # one object per PATCH, at its offset; none is 5 MB, which S3 multipart would need
        assert storage.pieces() == [
            f"uploads/{upload.pk}/{offset:020d}" for offset in range(0, len(big_jpeg) // 4, 150_000)
        ]
    second = client.TusClient(endpoint, headers=headers).uploader(
        file_stream=io.BytesIO(big_jpeg), chunk_size=150_000, url=url
    )
    assert second.offset == len(big_jpeg) // 4
    second.upload(stop_at=len(big_jpeg) // 2)
    assert Upload.objects.get().offset == len(big_jpeg) // 2
    third = client.TusClient(endpoint, headers=headers).uploader(
        file_stream=io.BytesIO(big_jpeg), chunk_size=150_000, url=url, upload_checksum=True
    )
    third.upload()
    upload = Upload.objects.get()
    assert upload.status == UploadStatus.COMPLETE and upload.photo.asset.sha256 == sha(big_jpeg)
    assert storage.read(original_key(sha(big_jpeg), "jpg")) == big_jpeg
    assert storage.pieces() == []
    # Completing enqueued processing (run in-process here): the variants were stored too.
    upload.photo.asset.refresh_from_db()
    assert upload.photo.asset.status == "ready"
    assert set(storage.names("variants/")) == set(upload.photo.asset.variants.values_list("key", flat=True))
