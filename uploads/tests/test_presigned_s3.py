"""The direct-to-S3 door (uploads.presigned) against a real SeaweedFS: presigned part URLs PUT with
requests, completion, verification, dedup, refusals, abort and the sweep. After each scenario the
bucket is listed: no staging object, no multipart upload, no upload piece is left behind."""

import base64
import hashlib
import io
import os
from datetime import timedelta

import pytest
import requests
from botocore.exceptions import ClientError
from django.utils import timezone

from conftest import make_image
from galleries import services as gallery_services
from galleries.models import Asset, Photo
from galleries.storage import original_key
from uploads import presigned
from uploads.models import Upload, UploadProtocol, UploadStatus
from uploads.services import uploads_expire
from uploads.tests.conftest import sha

PART = 5 * 2**20  # S3's smallest part; SeaweedFS refuses smaller ones but the last (EntityTooSmall)
ZERO = "00000000-0000-0000-0000-000000000000"
pytestmark = [pytest.mark.django_db, pytest.mark.s3]


def photo_bytes(size: int, colour=(200, 120, 40)) -> bytes:
    """A real JPEG followed by random bytes up to size (decoders stop at the end marker)."""
    head = make_image("JPEG", size=(64, 48), colour=colour)
    return head + os.urandom(size - len(head))


def b64sha(data: bytes) -> str:
    return base64.b64encode(hashlib.sha256(data).digest()).decode()


def parts_of(data: bytes, part_size: int = PART) -> dict[int, bytes]:
    return {n + 1: data[i : i + part_size] for n, i in enumerate(range(0, len(data), part_size))}


def start(api, gallery, data, **extra):
    body = {"gallery": str(gallery.pk), "filename": "IMG_0001.jpg", "size": len(data), "sha256": sha(data)}
    return api.post("/api/v1/uploads/s3", {**body, **extra}, format="json")


def sign(api, upload_id, numbers, checksums=None):
    body = {"numbers": numbers, **({"checksum_sha256": checksums} if checksums else {})}
    return api.post(f"/api/v1/uploads/{upload_id}/s3/parts", body, format="json")


def send(api, upload_id, parts: dict[int, bytes], *, checksums: bool = False) -> None:
    """Ask for URLs for these parts and PUT each one straight to S3, as a browser would."""
    sums = {str(n): b64sha(body) for n, body in parts.items()} if checksums else None
    signed = sign(api, upload_id, list(parts), sums)
    assert signed.status_code == 200, signed.content
    for item in signed.json()["parts"]:
        assert item["size"] == len(parts[item["number"]])
        put = requests.put(item["url"], data=parts[item["number"]], headers=item["headers"], timeout=30)
        assert put.status_code == 200, put.text


def nothing_lingers(bucket) -> None:
    """No staging object, no multipart upload, no upload piece in the bucket."""
    assert bucket.names("incoming/") == []
    assert bucket.names("uploads/") == []
    listed = bucket.client.list_multipart_uploads(Bucket=bucket.name)
    assert listed.get("Uploads", []) == []


def upload_fully(api, gallery, data, **extra):
    created = start(api, gallery, data, **extra)
    assert created.status_code == 201, created.content
    upload_id = created.json()["id"]
    send(api, upload_id, parts_of(data, created.json()["part_size"]))
    return upload_id, api.post(f"/api/v1/uploads/{upload_id}/s3/complete")


# --- The happy paths ---------------------------------------------------------------------------


@pytest.mark.django_db(transaction=True)
def test_a_multi_part_upload_resumed_becomes_one_verified_photo(alice, api_for, s3_storage):
    gallery = gallery_services.gallery_create(owner=alice, title="Direct")
    api = api_for(alice)
    data = photo_bytes(2 * PART + 12_345)
    created = start(api, gallery, data, part_size=PART)
    assert created.status_code == 201, created.content
    info = created.json()
    assert info["parts"] == 3 and info["part_size"] == PART and info["upload_id"]
    assert info["key"] == f"incoming/{info['id']}"  # a private staging key, never the content-addressed one
    parts = parts_of(data)
    send(api, info["id"], {1: parts[1], 3: parts[3]}, checksums=True)  # ...then the connection drops
    arrived = api.get(f"/api/v1/uploads/{info['id']}/s3/parts").json()
    assert [p["number"] for p in arrived["received"]] == [1, 3] and arrived["missing_parts"] == [2]
    early = api.post(f"/api/v1/uploads/{info['id']}/s3/complete")
    assert early.status_code == 409 and early.json()["missing_parts"] == [2]
    send(api, info["id"], {2: parts[2]})  # resumed: only what is missing
    done = api.post(f"/api/v1/uploads/{info['id']}/s3/complete")
    assert done.status_code == 200, done.content
    photo = Photo.objects.get(pk=done.json()["photo"]["id"])
    assert photo.gallery == gallery and photo.original_filename == "IMG_0001.jpg"
    assert photo.asset.sha256 == sha(data) and photo.asset.size == len(data)
    assert s3_storage.read(original_key(sha(data), "jpg")) == data
    state = api.get(f"/api/v1/uploads/{info['id']}").json()
    assert state["status"] == "complete" and state["photo"] == str(photo.pk)
    again = api.post(f"/api/v1/uploads/{info['id']}/s3/complete")  # idempotent
    assert again.status_code == 200 and again.json()["photo"]["id"] == str(photo.pk)
    nothing_lingers(s3_storage)


def test_complete_answers_202_and_the_worker_finishes_later(
    alice, api_for, gallery, s3_storage, django_capture_on_commit_callbacks
):
    api = api_for(alice)
    data = photo_bytes(PART + 100)
    created = start(api, gallery, data)
    assert created.json()["parts"] == 1  # the server's part size: at least UPLOAD_CHUNK_SIZE
    send(api, created.json()["id"], {1: data})
    with django_capture_on_commit_callbacks(execute=True) as queued:
        accepted = api.post(f"/api/v1/uploads/{created.json()['id']}/s3/complete")
        # the answer is given before the worker's task runs (it is queued on commit)
        assert accepted.status_code == 202, accepted.content
        assert accepted.json()["status"] == "completing"
        assert api.get(accepted.json()["status_url"]).json()["status"] == "completing"
    assert queued  # the verification ran as the worker would, after the request
    state = api.get(accepted.json()["status_url"]).json()
    assert state["status"] == "complete" and state["photo"]
    assert Photo.objects.get(pk=state["photo"]).asset.sha256 == sha(data)
    nothing_lingers(s3_storage)


@pytest.mark.django_db(transaction=True)
def test_a_duplicate_of_an_existing_photo_shares_its_asset(alice, api_for, s3_storage):
    first = gallery_services.gallery_create(owner=alice, title="First")
    second = gallery_services.gallery_create(owner=alice, title="Second")
    data = photo_bytes(PART + 10)
    existing, _ = gallery_services.photo_add(gallery=first, file=io.BytesIO(data), filename="a.jpg")
    _, done = upload_fully(api_for(alice), second, data)
    assert done.status_code == 200, done.content
    photo = Photo.objects.get(pk=done.json()["photo"]["id"])
    assert photo.gallery == second and photo.asset_id == existing.asset_id
    assert Asset.objects.count() == 1
    assert s3_storage.names("originals/") == [original_key(sha(data), "jpg")]
    nothing_lingers(s3_storage)


# --- Lies and refusals -------------------------------------------------------------------------


@pytest.mark.django_db(transaction=True)
def test_a_lying_hash_is_422_and_never_linked_to_another_files_asset(alice, bob, api_for, s3_storage):
    victim = gallery_services.gallery_create(owner=bob, title="Bob's")
    theirs = photo_bytes(PART + 10, colour=(10, 20, 30))
    gallery_services.photo_add(gallery=victim, file=io.BytesIO(theirs), filename="secret.jpg")
    mine = gallery_services.gallery_create(owner=alice, title="Alice's")
    other = photo_bytes(PART + 10)
    api = api_for(alice)
    created = start(api, mine, other, sha256=sha(theirs))  # claims bob's file's hash
    assert created.status_code == 201
    send(api, created.json()["id"], {1: other})
    done = api.post(f"/api/v1/uploads/{created.json()['id']}/s3/complete")
    assert done.status_code == 422, done.content
    assert "SHA-256" in done.json()["detail"]
    assert Photo.objects.filter(gallery=mine).count() == 0
    assert Asset.objects.count() == 1  # bob's only: nothing was linked to it, nothing new was made
    assert Upload.objects.get().status == UploadStatus.FAILED
    assert api.get(f"/api/v1/uploads/{created.json()['id']}").json()["status"] == "failed"
    assert s3_storage.names("originals/") == [original_key(sha(theirs), "jpg")]
    nothing_lingers(s3_storage)


@pytest.mark.django_db(transaction=True)
def test_parts_of_the_wrong_size_are_422_and_discarded(alice, api_for, s3_storage):
    gallery = gallery_services.gallery_create(owner=alice, title="Sizes")
    api = api_for(alice)
    data = photo_bytes(PART + 1000)
    created = start(api, gallery, data, part_size=PART)
    upload_id = created.json()["id"]
    send(api, upload_id, {1: data[:PART]})
    signed = sign(api, upload_id, [2]).json()["parts"][0]
    assert requests.put(signed["url"], data=data[PART:] + b"extra", timeout=30).status_code == 200
    done = api.post(f"/api/v1/uploads/{upload_id}/s3/complete")
    assert done.status_code == 422, done.content
    assert "Part 2 has 1005 bytes" in done.json()["detail"]
    assert Upload.objects.get().status == UploadStatus.FAILED and not Photo.objects.exists()
    nothing_lingers(s3_storage)


@pytest.mark.django_db(transaction=True)
def test_a_part_sent_again_while_completing_never_changes_what_is_verified(alice, api_for, s3_storage, monkeypatch):
    """The server completes with the ETags it listed. SeaweedFS then joins the listed bytes (AWS
    would refuse with InvalidPart: a 409, complete again); either way the photo is of the bytes
    whose SHA-256 was declared."""
    gallery = gallery_services.gallery_create(owner=alice, title="Race")
    api = api_for(alice)
    data = photo_bytes(PART + 10)
    upload_id = start(api, gallery, data).json()["id"]
    send(api, upload_id, {1: data})
    url = sign(api, upload_id, [1]).json()["parts"][0]["url"]
    listed = presigned._list_parts

    def racing(client, state):
        found = listed(client, state)
        assert requests.put(url, data=data[::-1], timeout=30).status_code == 200  # same size, other bytes
        return found

    monkeypatch.setattr(presigned, "_list_parts", racing)
    answer = api.post(f"/api/v1/uploads/{upload_id}/s3/complete")
    assert answer.status_code == 200, answer.content
    assert Photo.objects.get().asset.sha256 == sha(data)
    assert s3_storage.read(original_key(sha(data), "jpg")) == data
    nothing_lingers(s3_storage)


@pytest.mark.django_db(transaction=True)
def test_a_file_that_is_not_an_image_is_415_and_discarded(alice, api_for, s3_storage):
    gallery = gallery_services.gallery_create(owner=alice, title="Not photos")
    data = os.urandom(PART + 10)  # named .jpg, with the right hash, but no picture
    upload_id, done = upload_fully(api_for(alice), gallery, data)
    assert done.status_code == 415, done.content
    assert Upload.objects.get(pk=upload_id).status == UploadStatus.FAILED
    assert not Asset.objects.exists() and s3_storage.names("originals/") == []
    nothing_lingers(s3_storage)


def test_a_part_checksum_is_signed_into_its_url_and_the_store_enforces_it(alice, api_for, gallery, s3_storage):
    api = api_for(alice)
    data = photo_bytes(PART + 10)
    upload_id = start(api, gallery, data).json()["id"]
    signed = sign(api, upload_id, [1], {"1": b64sha(b"other bytes")}).json()["parts"][0]
    assert signed["headers"] == {"x-amz-checksum-sha256": b64sha(b"other bytes")}
    refused = requests.put(signed["url"], data=data, headers=signed["headers"], timeout=30)
    assert refused.status_code == 400 and "BadDigest" in refused.text
    unsigned = requests.put(signed["url"], data=data, timeout=30)  # leaving the header out breaks the signature
    assert unsigned.status_code == 403
    assert api.get(f"/api/v1/uploads/{upload_id}/s3/parts").json()["missing_parts"] == [1]
    assert api.delete(f"/api/v1/uploads/{upload_id}").status_code == 204
    nothing_lingers(s3_storage)


def test_bad_input_is_400_with_a_reason(alice, api_for, gallery, s3_storage, settings):
    api = api_for(alice)
    data = photo_bytes(PART + 10)
    assert start(api, gallery, data, sha256="nothex").status_code == 400
    no_sha = {"gallery": str(gallery.pk), "filename": "a.jpg", "size": len(data)}
    assert api.post("/api/v1/uploads/s3", no_sha, format="json").status_code == 400
    tiny_parts = start(api, gallery, data, part_size=1024)
    assert tiny_parts.status_code == 400 and "5 MiB" in tiny_parts.json()["detail"]
    assert start(api, gallery, data, size="big").status_code == 400
    assert start(api, gallery, data, filename="notes.txt").status_code == 415
    settings.MAX_UPLOAD_SIZE = PART
    assert start(api, gallery, data).status_code == 413  # the same limits as every door
    settings.MAX_UPLOAD_SIZE = 50 * 2**20
    upload_id = start(api, gallery, data, part_size=PART).json()["id"]  # two parts
    for numbers in ([], [0], [3], [1, 1], list(range(1, 102))):
        answer = sign(api, upload_id, numbers)
        assert answer.status_code == 400, (numbers, answer.content)
    assert "there is no part 3" in sign(api, upload_id, [3]).json()["detail"]
    assert "at most 100" in sign(api, upload_id, list(range(1, 102))).json()["detail"]
    assert sign(api, upload_id, [1], {"1": "not base64!"}).status_code == 400
    assert sign(api, upload_id, [1], {"1": base64.b64encode(b"short").decode()}).status_code == 400
    assert sign(api, upload_id, [1], {"one": b64sha(b"x")}).status_code == 400
    assert sign(api, upload_id, [1], {"2": b64sha(b"x")}).status_code == 400  # not among numbers
    assert api.post(f"/api/v1/uploads/{upload_id}/s3/parts", {"numbers": "1"}, format="json").status_code == 400
    assert api.delete(f"/api/v1/uploads/{upload_id}").status_code == 204
    nothing_lingers(s3_storage)


def test_the_open_upload_cap_counts_this_door_too(alice, api_for, gallery, s3_storage, settings):
    settings.UPLOAD_MAX_OPEN_PER_USER = 2
    api = api_for(alice)
    assert api.post("/api/v1/uploads", {"gallery": str(gallery.pk), "filename": "a.jpg", "size": 10}).status_code == 201
    data = photo_bytes(PART + 10)
    first = start(api, gallery, data)
    assert first.status_code == 201
    assert start(api, gallery, data).status_code == 429
    listed = s3_storage.client.list_multipart_uploads(Bucket=s3_storage.name)["Uploads"]
    assert [u["Key"] for u in listed] == [f"incoming/{first.json()['id']}"]  # the refused one made none
    assert api.delete(f"/api/v1/uploads/{first.json()['id']}").status_code == 204
    nothing_lingers(s3_storage)


def test_a_stranger_gets_404_everywhere(alice, bob, api_for, gallery, s3_storage):
    data = photo_bytes(PART + 10)
    upload_id = start(api_for(alice), gallery, data).json()["id"]
    stranger = api_for(bob)
    assert start(stranger, gallery, data).status_code == 404  # alice's gallery
    assert sign(stranger, upload_id, [1]).status_code == 404
    assert stranger.get(f"/api/v1/uploads/{upload_id}/s3/parts").status_code == 404
    assert stranger.post(f"/api/v1/uploads/{upload_id}/s3/complete").status_code == 404
    assert stranger.delete(f"/api/v1/uploads/{upload_id}").status_code == 404
    assert stranger.get(f"/api/v1/uploads/{upload_id}").status_code == 404
    assert Upload.objects.get().status == UploadStatus.OPEN
    assert sign(api_for(alice), upload_id, [1]).status_code == 200  # still alice's to finish


def test_anonymous_gets_401_everywhere(api_for, gallery, s3_storage):
    anonymous = api_for(None)
    data = b"x" * 10
    assert start(anonymous, gallery, data).status_code == 401
    assert sign(anonymous, ZERO, [1]).status_code == 401
    assert anonymous.get(f"/api/v1/uploads/{ZERO}/s3/parts").status_code == 401
    assert anonymous.post(f"/api/v1/uploads/{ZERO}/s3/complete").status_code == 401
    assert not Upload.objects.exists()


def test_an_upload_of_another_door_is_not_found_here(alice, api_for, gallery, s3_storage):
    api = api_for(alice)
    chunked = api.post(
        "/api/v1/uploads", {"gallery": str(gallery.pk), "filename": "a.jpg", "size": 10}, format="json"
    ).json()["id"]
    assert sign(api, chunked, [1]).status_code == 404
    assert api.post(f"/api/v1/uploads/{chunked}/s3/complete").status_code == 404


def test_local_storage_refuses_the_door_and_names_the_others(alice, api_for, gallery):
    api = api_for(alice)
    refused = start(api, gallery, b"x" * 10)
    assert refused.status_code == 409
    assert refused.json()["detail"].startswith("This server stores files on its own disk")
    assert "tus" in refused.json()["detail"] and "/api/v1/uploads" in refused.json()["detail"]
    assert sign(api, ZERO, [1]).status_code == 409
    assert api.post(f"/api/v1/uploads/{ZERO}/s3/complete").status_code == 409
    assert not Upload.objects.exists()


# --- Abort and the sweep -----------------------------------------------------------------------


def test_abort_aborts_the_multipart_upload(alice, api_for, gallery, s3_storage):
    api = api_for(alice)
    data = photo_bytes(2 * PART)
    upload_id = start(api, gallery, data, part_size=PART).json()["id"]
    send(api, upload_id, {1: data[:PART]})
    late = sign(api, upload_id, [2]).json()["parts"][0]
    assert s3_storage.client.list_multipart_uploads(Bucket=s3_storage.name)["Uploads"]
    assert api.delete(f"/api/v1/uploads/{upload_id}").status_code == 204
    nothing_lingers(s3_storage)
    assert requests.put(late["url"], data=data[PART:], timeout=30).status_code == 404  # NoSuchUpload
    nothing_lingers(s3_storage)
    assert api.get(f"/api/v1/uploads/{upload_id}/s3/parts").status_code == 410
    assert sign(api, upload_id, [2]).status_code == 410
    assert api.delete(f"/api/v1/uploads/{upload_id}").status_code == 204  # again: harmless
    assert Upload.objects.get().status == UploadStatus.ABORTED


def test_the_sweep_aborts_abandoned_and_unknown_multipart_uploads(alice, api_for, gallery, s3_storage, settings):
    api = api_for(alice)
    data = photo_bytes(2 * PART)
    abandoned = start(api, gallery, data, part_size=PART).json()["id"]
    send(api, abandoned, {1: data[:PART]})
    client, bucket = s3_storage.client, s3_storage.name
    # A multipart upload and a staging object no row knows (a request that died between steps).
    unknown = client.create_multipart_upload(Bucket=bucket, Key="incoming/0f3c2a52-8a57-4f57-9d6c-3f7a2d1e0b11")
    client.put_object(Bucket=bucket, Key="incoming/1e0b1100-8a57-4f57-9d6c-3f7a2d1e0b11", Body=b"left over")
    # Nothing is young enough to be touched yet.
    assert uploads_expire() == 0
    assert len(client.list_multipart_uploads(Bucket=bucket)["Uploads"]) == 2
    assert Upload.objects.get().status == UploadStatus.OPEN
    later = timezone.now() + settings.UPLOAD_EXPIRY + timedelta(minutes=1)
    assert uploads_expire(now=later) == 3  # the abandoned upload, the unknown multipart, the stray object
    assert Upload.objects.get().status == UploadStatus.EXPIRED
    nothing_lingers(s3_storage)
    assert uploads_expire(now=later) == 0  # idempotent
    assert api.get(f"/api/v1/uploads/{abandoned}/s3/parts").status_code == 410
    assert unknown["UploadId"]


def test_the_sweep_keeps_a_live_upload_and_its_parts(alice, api_for, gallery, s3_storage):
    api = api_for(alice)
    data = photo_bytes(PART + 10)
    upload_id = start(api, gallery, data).json()["id"]
    send(api, upload_id, {1: data})
    assert uploads_expire(now=timezone.now() + timedelta(hours=1)) == 0
    assert [p["number"] for p in api.get(f"/api/v1/uploads/{upload_id}/s3/parts").json()["received"]] == [1]
    assert Upload.objects.get().protocol == UploadProtocol.S3
    assert api.delete(f"/api/v1/uploads/{upload_id}").status_code == 204
    nothing_lingers(s3_storage)


def test_an_expired_upload_is_410_and_the_sweep_clears_it(alice, api_for, gallery, s3_storage, clock, settings):
    api = api_for(alice)
    data = photo_bytes(PART + 10)
    upload_id = start(api, gallery, data).json()["id"]
    send(api, upload_id, {1: data})
    clock.advance(settings.UPLOAD_EXPIRY + timedelta(minutes=1))
    assert api.post(f"/api/v1/uploads/{upload_id}/s3/complete").status_code == 410
    assert sign(api, upload_id, [1]).status_code == 410
    assert uploads_expire() == 1
    assert Upload.objects.get().status == UploadStatus.EXPIRED
    nothing_lingers(s3_storage)


def test_a_verification_that_cannot_read_the_object_fails_clearly(
    alice, api_for, gallery, s3_storage, django_capture_on_commit_callbacks
):
    api = api_for(alice)
    data = photo_bytes(PART + 10)
    upload_id = start(api, gallery, data).json()["id"]
    send(api, upload_id, {1: data})
    with django_capture_on_commit_callbacks() as queued:
        assert api.post(f"/api/v1/uploads/{upload_id}/s3/complete").status_code == 202
    s3_storage.client.delete_object(Bucket=s3_storage.name, Key=f"incoming/{upload_id}")  # the store lost it
    with pytest.raises(ClientError, match="NoSuchKey"):  # the task fails (a worker records it) ...
        queued[0]()  # ... as it runs the verification (synchronously here)
    state = api.get(f"/api/v1/uploads/{upload_id}").json()
    assert state["status"] == "failed" and "server error" in state["error"]
    assert not Photo.objects.exists()
    nothing_lingers(s3_storage)


def test_the_task_does_nothing_for_an_upload_that_is_not_completing(alice, api_for, gallery, s3_storage):
    upload_id = start(api_for(alice), gallery, photo_bytes(PART + 10)).json()["id"]
    assert presigned.verify_presigned_upload(upload_id) == "nothing to do"
    assert presigned.verify_presigned_upload(ZERO) == "nothing to do"
    assert Upload.objects.get().status == UploadStatus.OPEN


# --- The schema ---------------------------------------------------------------------------------


def test_schema_lists_the_direct_to_s3_endpoints_with_their_errors(client):
    import yaml

    paths = yaml.safe_load(client.get("/api/schema/").content)["paths"]
    create = paths["/api/v1/uploads/s3"]["post"]["responses"]
    assert {"201", "400", "401", "404", "409", "413", "415", "429"} <= set(create)
    parts = paths["/api/v1/uploads/{upload_id}/s3/parts"]
    assert {"200", "400", "401", "404", "409", "410"} <= set(parts["post"]["responses"])
    assert {"200", "401", "404", "409", "410"} <= set(parts["get"]["responses"])
    complete = paths["/api/v1/uploads/{upload_id}/s3/complete"]["post"]["responses"]
    assert {"200", "202", "401", "404", "409", "410", "413", "415", "422"} <= set(complete)
