import threading
from concurrent.futures import ThreadPoolExecutor

import pytest
from django.test import override_settings

from conftest import make_image
from galleries.models import Asset, Photo
from galleries.storage import original_key
from uploads import services
from uploads.models import Upload, UploadChunk, UploadStatus
from uploads.tests.conftest import sha

pytestmark = pytest.mark.django_db
CHUNK = 256 * 1024


@pytest.fixture(autouse=True)
def _small_chunks(settings):
    settings.UPLOAD_CHUNK_SIZE = CHUNK


def start(api, gallery, data, **extra):
    body = {"gallery": str(gallery.pk), "filename": "IMG_0001.jpg", "size": len(data), **extra}
    return api.post("/api/v1/uploads", body, format="json")


def put_chunk(api, upload_id, index, data, digest=None):
    return api.put(
        f"/api/v1/uploads/{upload_id}/chunks/{index}",
        data=data,
        content_type="application/octet-stream",
        HTTP_X_CHUNK_SHA256=digest or sha(data),
    )


def chunks_of(data):
    return [data[i : i + CHUNK] for i in range(0, len(data), CHUNK)]


def no_leftovers(storage):
    """No piece left in the chunk store (temporary files, or objects under uploads/) and no chunk rows left."""
    assert storage.pieces() == []
    assert not UploadChunk.objects.exists()


def test_a_full_upload_out_of_order_with_retries(alice, api_for, gallery, big_jpeg, storage):
    api = api_for(alice)
    created = start(api, gallery, big_jpeg, sha256=sha(big_jpeg))
    assert created.status_code == 201, created.content
    state = created.json()
    assert state["total_chunks"] == len(chunks_of(big_jpeg)) and state["chunk_size"] == CHUNK
    upload_id = state["id"]
    pieces = chunks_of(big_jpeg)
    for index in reversed(range(len(pieces))):
        assert put_chunk(api, upload_id, index, pieces[index]).status_code == 201
    again = put_chunk(api, upload_id, 0, pieces[0])
    assert again.status_code == 200 and again.json()["created"] is False
    assert api.get(f"/api/v1/uploads/{upload_id}").json()["missing_chunks"] == []
    done = api.post(f"/api/v1/uploads/{upload_id}/complete")
    assert done.status_code == 200, done.content
    photo_id = done.json()["photo"]["id"]
    assert done.json()["photo"]["sha256"] == sha(big_jpeg)
    assert api.post(f"/api/v1/uploads/{upload_id}/complete").json()["photo"]["id"] == photo_id
    asset = Photo.objects.get().asset
    assert asset.sha256 == sha(big_jpeg) and asset.size == len(big_jpeg)
    key = original_key(sha(big_jpeg), "jpg")
    assert storage.names() == [key]
    assert storage.read(key) == big_jpeg
    if storage.kind == "s3":  # served straight from the bucket: the object must say what it is
        assert storage.bucket.client.head_object(Bucket=storage.bucket.name, Key=key)["ContentType"] == "image/jpeg"
    no_leftovers(storage)


def test_resume_reports_received_chunks(alice, api_for, gallery, big_jpeg):
    api = api_for(alice)
    upload_id = start(api, gallery, big_jpeg).json()["id"]
    put_chunk(api, upload_id, 1, chunks_of(big_jpeg)[1])
    state = api.get(f"/api/v1/uploads/{upload_id}").json()
    assert state["received_chunks"] == [1]
    assert 0 in state["missing_chunks"]


def test_complete_before_all_chunks_is_409_listing_them(alice, api_for, gallery, big_jpeg, storage):
    api = api_for(alice)
    upload_id = start(api, gallery, big_jpeg).json()["id"]
    pieces = chunks_of(big_jpeg)
    put_chunk(api, upload_id, 0, pieces[0])
    response = api.post(f"/api/v1/uploads/{upload_id}/complete")
    assert response.status_code == 409 and response.json()["missing_chunks"] == list(range(1, len(pieces)))
    for i in range(1, len(pieces)):
        put_chunk(api, upload_id, i, pieces[i])
    assert api.post(f"/api/v1/uploads/{upload_id}/complete").status_code == 200
    no_leftovers(storage)


def test_a_chunk_with_a_wrong_checksum_is_not_recorded(alice, api_for, gallery, big_jpeg, storage):
    api = api_for(alice)
    upload_id = start(api, gallery, big_jpeg).json()["id"]
    pieces = chunks_of(big_jpeg)
    response = put_chunk(api, upload_id, 0, bytes(reversed(pieces[0])), digest=sha(pieces[0]))
    assert response.status_code == 422 and "does not match" in response.json()["detail"]
    assert not UploadChunk.objects.exists()
    for index, piece in enumerate(pieces):
        assert put_chunk(api, upload_id, index, piece).status_code == 201
    done = api.post(f"/api/v1/uploads/{upload_id}/complete")
    assert done.status_code == 200 and done.json()["photo"]["sha256"] == sha(big_jpeg)


@pytest.mark.parametrize("digest", ["xyz", "A" * 63, "g" * 64, ""])
def test_bad_chunk_checksums_are_400(alice, api_for, gallery, big_jpeg, digest):
    api = api_for(alice)
    upload_id = start(api, gallery, big_jpeg).json()["id"]
    response = api.put(
        f"/api/v1/uploads/{upload_id}/chunks/0",
        data=b"x",
        content_type="application/octet-stream",
        HTTP_X_CHUNK_SHA256=digest,
    )
    assert response.status_code == 400


def test_chunk_index_out_of_range(alice, api_for, gallery, big_jpeg):
    api = api_for(alice)
    upload_id = start(api, gallery, big_jpeg).json()["id"]
    assert put_chunk(api, upload_id, 999, b"x").status_code == 400


def test_a_body_larger_than_the_chunk_is_413(alice, api_for, gallery, big_jpeg):
    api = api_for(alice)
    upload_id = start(api, gallery, big_jpeg).json()["id"]
    response = put_chunk(api, upload_id, 0, b"x" * (CHUNK + 10))
    assert response.status_code == 413
    assert not UploadChunk.objects.exists()


def test_a_short_chunk_is_400(alice, api_for, gallery, big_jpeg):
    api = api_for(alice)
    upload_id = start(api, gallery, big_jpeg).json()["id"]
    response = put_chunk(api, upload_id, 0, b"x" * 100)
    assert response.status_code == 400 and "must be" in response.json()["detail"]


def test_a_chunk_above_the_maximum_is_refused_before_reading(alice, api_for, gallery, big_jpeg, settings):
    settings.UPLOAD_MAX_CHUNK_SIZE = 1000
    api = api_for(alice)
    upload_id = start(api, gallery, big_jpeg).json()["id"]
    assert put_chunk(api, upload_id, 0, chunks_of(big_jpeg)[0]).status_code == 413


def test_the_same_chunk_with_other_bytes_is_409(alice, api_for, gallery, big_jpeg):
    api = api_for(alice)
    upload_id = start(api, gallery, big_jpeg).json()["id"]
    piece = chunks_of(big_jpeg)[0]
    put_chunk(api, upload_id, 0, piece)
    other = bytes(reversed(piece))
    assert put_chunk(api, upload_id, 0, other).status_code == 409


@pytest.mark.parametrize(
    ("body", "status"),
    [
        ({"size": 0}, 400),
        ({"size": -5}, 400),
        ({"size": "big"}, 400),
        ({"size": 60 * 2**20}, 413),
        ({"sha256": "not-hex"}, 400),
        ({"sha256": "ab" * 31}, 400),
        ({"filename": "drawing.svg"}, 415),
        ({"filename": "page.html"}, 415),
        ({"filename": "vector.eps"}, 415),
        ({"filename": ""}, 400),
        ({"extra": 1}, 400),
        ({"gallery": "not-a-uuid"}, 400),
    ],
)
def test_bad_creation_input(alice, api_for, gallery, body, status):
    full = {"gallery": str(gallery.pk), "filename": "a.jpg", "size": 1000, **body}
    response = api_for(alice).post("/api/v1/uploads", full, format="json")
    assert response.status_code == status, response.content
    assert not Upload.objects.exists()


def test_a_nul_in_the_filename_is_refused(alice, api_for, gallery):
    response = api_for(alice).post(
        "/api/v1/uploads", {"gallery": str(gallery.pk), "filename": "a\x00b.jpg", "size": 10}, format="json"
    )
    assert response.status_code == 400 and "filename" in response.json()


@pytest.mark.parametrize("name", ["../../etc/passwd.jpg", "evil\r\nSet-Cookie: x.jpg", "x" * 300 + ".jpg"])
def test_filenames_are_sanitised(alice, api_for, gallery, name):
    response = api_for(alice).post(
        "/api/v1/uploads", {"gallery": str(gallery.pk), "filename": name, "size": 10}, format="json"
    )
    assert response.status_code == 201
    stored = response.json()["filename"]
    assert "/" not in stored and "\x00" not in stored and "\r" not in stored and "\n" not in stored
    assert len(stored) <= 255


def test_whole_file_mismatch_is_422_and_purges(alice, api_for, gallery, big_jpeg, storage):
    api = api_for(alice)
    upload_id = start(api, gallery, big_jpeg, sha256=sha(b"something else")).json()["id"]
    for i, piece in enumerate(chunks_of(big_jpeg)):
        put_chunk(api, upload_id, i, piece)
    response = api.post(f"/api/v1/uploads/{upload_id}/complete")
    assert response.status_code == 422
    assert not Photo.objects.exists() and not Asset.objects.exists()
    assert storage.names() == []
    no_leftovers(storage)
    assert api.get(f"/api/v1/uploads/{upload_id}").json()["status"] == "failed"
    assert put_chunk(api, upload_id, 0, chunks_of(big_jpeg)[0]).status_code == 410


def test_claiming_someone_elses_hash_never_links_their_file(alice, bob, api_for, gallery, big_jpeg, make_bob_gallery):
    """bob's photo exists; alice claims its hash but sends other bytes: no link to bob's asset."""
    from galleries import services as gs

    theirs = make_bob_gallery()
    import io

    bob_photo, _ = gs.photo_add(gallery=theirs, file=io.BytesIO(big_jpeg), filename="bob.jpg")
    other = make_image("JPEG", size=(300, 300), noise=True)
    api = api_for(alice)
    upload_id = start(api, gallery, other, sha256=sha(big_jpeg)).json()["id"]
    for i, piece in enumerate(chunks_of(other)):
        put_chunk(api, upload_id, i, piece)
    assert api.post(f"/api/v1/uploads/{upload_id}/complete").status_code == 422
    assert Photo.objects.filter(gallery=gallery).count() == 0
    assert Asset.objects.count() == 1 and bob_photo.asset.photos.count() == 1


@pytest.fixture
def make_bob_gallery(bob):
    from galleries import services as gs

    return lambda: gs.gallery_create(owner=bob, title="Bob's")


def test_hostile_content_named_jpg_is_refused_at_completion(alice, api_for, gallery, storage):
    api = api_for(alice)
    for data, status in [(b"<svg xmlns='http://www.w3.org/2000/svg'/>", 415), (b"%!PS-Adobe-3.0 EPSF", 415),
                         (b"<html>hi</html>", 415), (bytes(range(256)) * 4, 415)]:  # fmt: skip
        upload_id = start(api, gallery, data).json()["id"]
        put_chunk(api, upload_id, 0, data)
        response = api.post(f"/api/v1/uploads/{upload_id}/complete")
        assert response.status_code == status, response.content
    assert not Asset.objects.exists() and storage.names() == []
    no_leftovers(storage)


def test_abort_removes_the_pieces_then_any_call_is_410(alice, api_for, gallery, big_jpeg, storage):
    api = api_for(alice)
    upload_id = start(api, gallery, big_jpeg).json()["id"]
    put_chunk(api, upload_id, 0, chunks_of(big_jpeg)[0])
    assert storage.pieces() != []
    assert api.delete(f"/api/v1/uploads/{upload_id}").status_code == 204
    no_leftovers(storage)
    assert storage.names() == []
    assert put_chunk(api, upload_id, 1, chunks_of(big_jpeg)[1]).status_code == 410
    assert api.post(f"/api/v1/uploads/{upload_id}/complete").status_code == 410
    assert api.get(f"/api/v1/uploads/{upload_id}").json()["status"] == "aborted"


def test_an_expired_upload_is_410_and_the_sweep_removes_its_bytes(alice, api_for, gallery, big_jpeg, storage):
    from datetime import timedelta

    from django.utils import timezone

    from uploads.tasks import expire_uploads

    api = api_for(alice)
    upload_id = start(api, gallery, big_jpeg).json()["id"]
    put_chunk(api, upload_id, 0, chunks_of(big_jpeg)[0])
    Upload.objects.filter(pk=upload_id).update(expires_at=timezone.now() - timedelta(seconds=1))
    assert put_chunk(api, upload_id, 1, chunks_of(big_jpeg)[1]).status_code == 410
    assert expire_uploads() == 1
    assert expire_uploads() == 0
    assert Upload.objects.get(pk=upload_id).status == UploadStatus.EXPIRED
    no_leftovers(storage)


def test_another_users_upload_is_404(alice, bob, api_for, gallery, big_jpeg):
    upload_id = start(api_for(alice), gallery, big_jpeg).json()["id"]
    api = api_for(bob)
    assert api.get(f"/api/v1/uploads/{upload_id}").status_code == 404
    assert put_chunk(api, upload_id, 0, chunks_of(big_jpeg)[0]).status_code == 404
    assert api.post(f"/api/v1/uploads/{upload_id}/complete").status_code == 404
    assert api.delete(f"/api/v1/uploads/{upload_id}").status_code == 404


def test_uploading_into_another_owners_gallery_is_404(bob, api_for, gallery, big_jpeg):
    assert start(api_for(bob), gallery, big_jpeg).status_code == 404


def test_anonymous_is_401(api_for, gallery, big_jpeg):
    api = api_for()
    assert start(api, gallery, big_jpeg).status_code == 401
    assert api.get("/api/v1/uploads/00000000-0000-0000-0000-000000000000").status_code == 401


def test_the_open_upload_cap_is_429(alice, api_for, gallery, settings):
    settings.UPLOAD_MAX_OPEN_PER_USER = 2
    api = api_for(alice)
    assert [start(api, gallery, b"x" * 10).status_code for _ in range(3)] == [201, 201, 429]


@override_settings(UPLOAD_CHUNK_SIZE=CHUNK)
@pytest.mark.django_db(transaction=True)
def test_ten_concurrent_completes_make_one_photo(alice, big_jpeg, media_root):
    from django.db import connection

    from galleries import services as gs

    gallery = gs.gallery_create(owner=alice, title="Race")
    upload = services.upload_create(
        owner=alice, gallery=gallery, filename="a.jpg", size=len(big_jpeg), sha256=sha(big_jpeg)
    )
    for i, piece in enumerate(chunks_of(big_jpeg)):
        services.upload_receive_chunk(
            upload=upload, index=i, stream=iter([piece]), length=len(piece), sha256=sha(piece)
        )
    barrier = threading.Barrier(10)

    def complete(_):
        try:
            barrier.wait()
            return services.upload_complete(upload=Upload.objects.get(pk=upload.pk)).pk
        finally:
            connection.close()

    with ThreadPoolExecutor(10) as pool:
        ids = set(pool.map(complete, range(10)))
    assert len(ids) == 1 and Photo.objects.count() == 1


@pytest.mark.django_db(transaction=True)
def test_two_clients_writing_the_same_chunk_at_once(alice, big_jpeg, settings):
    from django.db import connection

    from galleries import services as gs

    settings.UPLOAD_CHUNK_SIZE = CHUNK
    gallery = gs.gallery_create(owner=alice, title="Race")
    upload = services.upload_create(owner=alice, gallery=gallery, filename="a.jpg", size=len(big_jpeg))
    piece = chunks_of(big_jpeg)[0]
    barrier = threading.Barrier(2)

    def send(_):
        try:
            barrier.wait()
            return services.upload_receive_chunk(
                upload=Upload.objects.get(pk=upload.pk),
                index=0,
                stream=iter([piece]),
                length=len(piece),
                sha256=sha(piece),
            )
        finally:
            connection.close()

    with ThreadPoolExecutor(2) as pool:
        results = sorted(pool.map(send, range(2)))
    assert results == [False, True]
    assert UploadChunk.objects.filter(upload=upload).count() == 1


def test_the_same_bytes_uploaded_twice_are_stored_once(alice, api_for, gallery, big_jpeg, storage):
    api = api_for(alice)
    ids = []
    for _ in range(2):
        upload_id = start(api, gallery, big_jpeg).json()["id"]
        for i, piece in enumerate(chunks_of(big_jpeg)):
            put_chunk(api, upload_id, i, piece)
        ids.append(api.post(f"/api/v1/uploads/{upload_id}/complete").json()["photo"]["id"])
    assert ids[0] == ids[1]
    assert storage.names() == [original_key(sha(big_jpeg), "jpg")]


def test_schema_lists_the_upload_endpoints(client):
    import yaml

    paths = yaml.safe_load(client.get("/api/schema/").content)["paths"]
    assert "409" in paths["/api/v1/uploads/{upload_id}/complete"]["post"]["responses"]
    assert "422" in paths["/api/v1/uploads/{upload_id}/chunks/{index}"]["put"]["responses"]
    assert "/api/v1/tus/" in paths and "/api/v1/tus/{upload_id}" in paths
