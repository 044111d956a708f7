"""The tus concatenation extension: partial uploads joined into one final upload, on both tus doors."""

import base64
import io
import json
import shutil
import subprocess
from datetime import timedelta
from pathlib import Path

import pytest
import requests
from django.test import Client
from django.utils import timezone
from knox.models import AuthToken

from conftest import make_image
from galleries import services as gallery_services
from galleries.models import Photo, Visibility
from sharing import services as sharing_services
from uploads import services
from uploads.models import Upload, UploadConcat, UploadStatus
from uploads.tests.conftest import sha

TUS = {"HTTP_TUS_RESUMABLE": "1.0.0"}
ROOT = Path(__file__).resolve().parents[2]
SCRIPT = Path(__file__).with_name("js") / "tus_parallel_upload.js"


def meta(**values) -> str:
    return ",".join(f"{k} {base64.b64encode(v.encode()).decode()}" for k, v in values.items())


def patch(client, location, offset, body):
    return client.generic(
        "PATCH", location, body, content_type="application/offset+octet-stream", HTTP_UPLOAD_OFFSET=str(offset), **TUS
    )


def partial(client, url, body) -> str:
    created = client.post(url, HTTP_UPLOAD_LENGTH=str(len(body)), HTTP_UPLOAD_CONCAT="partial", **TUS)
    assert created.status_code == 201, created.content
    assert patch(client, created["Location"], 0, body).status_code == 204
    return created["Location"]


@pytest.fixture
def gallery(alice, db):
    return gallery_services.gallery_create(owner=alice, title="Parallel", visibility=Visibility.PRIVATE)


@pytest.fixture
def jpeg() -> bytes:
    return make_image("JPEG", size=(400, 300), noise=True, quality=90)


@pytest.mark.django_db
def test_options_advertise_concatenation(api_for, alice):
    assert "concatenation" in api_for(alice).options("/api/v1/tus/")["Tus-Extension"].split(",")


@pytest.mark.django_db
def test_two_parts_joined_make_one_photo_and_the_parts_none(alice, api_for, gallery, jpeg):
    api = api_for(alice)
    half = len(jpeg) // 2
    first, second = partial(api, "/api/v1/tus/", jpeg[:half]), partial(api, "/api/v1/tus/", jpeg[half:])
    assert not Photo.objects.exists()  # a part never becomes a photo, even when all its bytes are in
    assert api.head(first, **TUS)["Upload-Concat"] == "partial"
    final = api.post(
        "/api/v1/tus/",
        HTTP_UPLOAD_CONCAT=f"final;{first} {second}",
        HTTP_UPLOAD_METADATA=meta(gallery=str(gallery.pk), filename="joined.jpg", sha256=sha(jpeg)),
        **TUS,
    )
    assert final.status_code == 201, final.content
    photo = Photo.objects.get()
    assert photo.gallery == gallery and photo.asset.sha256 == sha(jpeg) and photo.original_filename == "joined.jpg"
    head = api.head(final["Location"], **TUS)
    assert head.status_code == 200 and head["Upload-Offset"] == head["Upload-Length"] == str(len(jpeg))
    assert head["Upload-Concat"] == f"final;{first} {second}"
    assert Upload.objects.get(concat=UploadConcat.FINAL).photo == photo
    assert set(Upload.objects.filter(concat=UploadConcat.PARTIAL).values_list("status", flat=True)) == {"complete"}
    # A part is joined once.
    again = api.post(
        "/api/v1/tus/",
        HTTP_UPLOAD_CONCAT=f"final;{first} {second}",
        HTTP_UPLOAD_METADATA=meta(gallery=str(gallery.pk), filename="joined.jpg"),
        **TUS,
    )
    assert again.status_code == 409 and Photo.objects.count() == 1


@pytest.mark.django_db
def test_a_final_upload_is_checked_like_any_other(alice, api_for, gallery, jpeg):
    api = api_for(alice)
    parts = [partial(api, "/api/v1/tus/", b"<html><script>"), partial(api, "/api/v1/tus/", b"alert(1)</script>")]
    refused = api.post(
        "/api/v1/tus/",
        HTTP_UPLOAD_CONCAT="final;" + " ".join(parts),
        HTTP_UPLOAD_METADATA=meta(gallery=str(gallery.pk), filename="broken.jpg"),
        **TUS,
    )
    assert refused.status_code in (400, 415, 422) and refused.json()["detail"]
    assert not Photo.objects.exists()


@pytest.mark.django_db
def test_a_final_upload_refuses_unfinished_foreign_or_unknown_parts(alice, bob, api_for, gallery, jpeg):
    api = api_for(alice)
    unfinished = api.post("/api/v1/tus/", HTTP_UPLOAD_LENGTH="10", HTTP_UPLOAD_CONCAT="partial", **TUS)["Location"]
    bobs = partial(api_for(bob), "/api/v1/tus/", jpeg)
    finished = partial(api, "/api/v1/tus/", jpeg)
    metadata = meta(gallery=str(gallery.pk), filename="x.jpg")
    for concat, status in [
        (f"final;{unfinished}", 409),
        (f"final;{bobs}", 404),
        ("final;http://testserver/api/v1/uploads", 400),
        ("final;", 400),
        (f"final;{finished} {finished}", 400),
        ("whole", 400),
    ]:
        answer = api.post("/api/v1/tus/", HTTP_UPLOAD_CONCAT=concat, HTTP_UPLOAD_METADATA=metadata, **TUS)
        assert answer.status_code == status, (concat, answer.content)
        assert answer.json()["detail"]
    assert not Photo.objects.exists()
    assert Upload.objects.get(pk=finished.rsplit("/", 1)[-1]).status == UploadStatus.OPEN


@pytest.mark.django_db
def test_expired_parts_are_swept_like_other_uploads(alice, api_for, settings):
    api = api_for(alice)
    location = partial(api, "/api/v1/tus/", b"12345")
    stuck = partial(api, "/api/v1/tus/", b"678")  # claimed by a final upload whose request died
    Upload.objects.filter(pk=stuck.rsplit("/", 1)[-1]).update(status=UploadStatus.COMPLETING)
    part = Upload.objects.get(pk=location.rsplit("/", 1)[-1])
    Upload.objects.update(expires_at=timezone.now() - timedelta(seconds=1))
    assert services.uploads_expire() == 2
    assert services.uploads_expire() == 0
    assert not (Path(settings.UPLOAD_TEMP_DIR) / f"{part.pk}.part").exists()
    assert list(Path(settings.UPLOAD_TEMP_DIR).iterdir()) == []
    assert api.head(location, **TUS).status_code == 410
    assert api.head(stuck, **TUS).status_code == 410


@pytest.mark.s3
@pytest.mark.django_db
def test_on_s3_parts_are_joined_into_one_photo(alice, api_for, gallery, jpeg, s3_storage):
    api = api_for(alice)
    third = len(jpeg) // 3
    parts = [partial(api, "/api/v1/tus/", jpeg[:third]), partial(api, "/api/v1/tus/", jpeg[third:])]
    final = api.post(
        "/api/v1/tus/",
        HTTP_UPLOAD_CONCAT="final;" + " ".join(parts),
        HTTP_UPLOAD_METADATA=meta(gallery=str(gallery.pk), filename="s3.jpg"),
        **TUS,
    )
    assert final.status_code == 201, final.content
    assert Photo.objects.get().asset.sha256 == sha(jpeg)
    assert s3_storage.names("uploads/") == []  # parts and final pieces are gone


@pytest.mark.django_db
def test_a_guest_joins_parts_into_one_photo_counted_once(alice, jpeg):
    gallery = gallery_services.gallery_create(owner=alice, title="Party", visibility="public")
    link = sharing_services.share_link_create(gallery=gallery, allow_upload=True)
    link.upload_max_files = 1
    link.upload_max_bytes = len(jpeg)
    link.save()
    guest = Client()
    url = f"/s/{link.token}/tus/"
    half = len(jpeg) // 2
    parts = [partial(guest, url, jpeg[:half]), partial(guest, url, jpeg[half:])]
    final = guest.post(
        url,
        HTTP_UPLOAD_CONCAT="final;" + " ".join(parts),
        HTTP_UPLOAD_METADATA=meta(filename="p.jpg", guest="Gina"),
        **TUS,
    )
    assert final.status_code == 201, final.content
    photo = Photo.objects.get()
    assert photo.contributor == "Gina" and not photo.is_approved and photo.asset.sha256 == sha(jpeg)
    assert services.guest_uploads_counted(link) == (1, len(jpeg))
    # Another visitor cannot address this guest's parts.
    assert Client().head(parts[0], **TUS).status_code == 404


def _node_upload(endpoint: str, path: Path, metadata: dict, headers: dict) -> subprocess.CompletedProcess:
    node = shutil.which("node")
    if node is None or not (ROOT / "node_modules" / "tus-js-client").is_dir():
        pytest.fail("node and node_modules/tus-js-client are needed (make setup runs npm ci)")
    return subprocess.run(
        [node, str(SCRIPT), endpoint, str(path), json.dumps(metadata), json.dumps(headers)],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=ROOT,
    )


@pytest.mark.django_db(transaction=True)
def test_tus_js_client_with_two_parallel_uploads_makes_one_photo(live_server, alice, tmp_path):
    gallery = gallery_services.gallery_create(owner=alice, title="Parallel", visibility=Visibility.PRIVATE)
    data = make_image("JPEG", size=(900, 700), noise=True, quality=92)
    path = tmp_path / "IMG_2001.jpg"
    path.write_bytes(data)
    token = AuthToken.objects.create(user=alice)[1]
    done = _node_upload(
        f"{live_server.url}/api/v1/tus/",
        path,
        {"gallery": str(gallery.pk), "filename": "IMG_2001.jpg"},
        {"Authorization": f"Token {token}"},
    )
    assert done.returncode == 0, done.stderr
    photo = Photo.objects.get()
    assert photo.gallery == gallery and photo.asset.sha256 == sha(data)
    assert photo.asset.status in ("pending", "processing", "ready")
    assert Upload.objects.filter(concat=UploadConcat.PARTIAL).count() == 2
    assert Upload.objects.get(concat=UploadConcat.FINAL).photo == photo
    assert done.stdout.strip() == f"{live_server.url}/api/v1/tus/{Upload.objects.get(concat='final').pk}"


@pytest.mark.django_db(transaction=True)
def test_tus_js_client_in_parallel_through_the_guest_door(live_server, alice, tmp_path):
    gallery = gallery_services.gallery_create(owner=alice, title="Party", visibility="public")
    link = sharing_services.share_link_create(gallery=gallery, allow_upload=True)
    data = make_image("JPEG", size=(800, 600), noise=True, quality=92)
    path = tmp_path / "party.jpg"
    path.write_bytes(data)
    # The guest's browser session: tus-js-client in Node keeps no cookies, so hand it the session.
    browser = requests.Session()
    browser.post(
        f"{live_server.url}/s/{link.token}/tus/",
        headers={"Tus-Resumable": "1.0.0", "Upload-Length": "1", "Upload-Metadata": "filename eC50eHQ=,guest R2luYQ=="},
    )
    cookie = "; ".join(f"{name}={value}" for name, value in browser.cookies.items())
    assert cookie
    done = _node_upload(
        f"{live_server.url}/s/{link.token}/tus/", path, {"filename": "party.jpg", "guest": "Gina"}, {"Cookie": cookie}
    )
    assert done.returncode == 0, done.stderr
    photo = Photo.objects.get()
    assert photo.asset.sha256 == sha(data) and photo.contributor == "Gina"


@pytest.mark.django_db(transaction=True)
def test_tuspy_still_uploads_a_whole_file(live_server, alice, big_jpeg):
    from tusclient import client

    gallery = gallery_services.gallery_create(owner=alice, title="Tus")
    token = AuthToken.objects.create(user=alice)[1]
    tus = client.TusClient(f"{live_server.url}/api/v1/tus/", headers={"Authorization": f"Token {token}"})
    tus.uploader(
        file_stream=io.BytesIO(big_jpeg), chunk_size=300_000, metadata={"gallery": str(gallery.pk), "filename": "a.jpg"}
    ).upload()
    assert Photo.objects.get().asset.sha256 == sha(big_jpeg)
