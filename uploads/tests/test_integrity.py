"""Upload integrity through the real doors: racing writers, a full disk, the rename into place."""

import contextlib
import errno
import hashlib
import os
import subprocess
import threading
from pathlib import Path

import pytest
from django.db import connection

from conftest import make_image
from galleries import services as gallery_services
from galleries.models import Asset, Photo, Visibility
from galleries.storage import original_key
from uploads.api import views
from uploads.chunkstore import get_chunk_store
from uploads.models import Upload, UploadChunk, UploadStatus
from uploads.tests.conftest import sha
from uploads.tests.test_tus import TUS, meta, patch

CHUNK = 64 * 1024


@pytest.fixture(autouse=True)
def _small_chunks(settings):
    settings.UPLOAD_CHUNK_SIZE = CHUNK


@pytest.fixture
def bodies_meet(monkeypatch) -> threading.Barrier:
    """Each request reads its whole body, then waits for the other: both have their bytes before either stores."""
    barrier = threading.Barrier(2, timeout=20)
    read_body = views.request_body

    def held(request, length):
        yield from read_body(request, length)
        with contextlib.suppress(threading.BrokenBarrierError):
            barrier.wait()

    monkeypatch.setattr(views, "request_body", held)
    return barrier


def in_threads(*calls):
    """Run each call in its own thread (own DB connection) and return their results in order."""
    results = [None] * len(calls)

    def run(i, call):
        try:
            results[i] = call()
        finally:
            connection.close()

    threads = [threading.Thread(target=run, args=(i, call)) for i, call in enumerate(calls)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    return results


def stored_bytes(upload: Upload) -> bytes:
    upload.refresh_from_db()
    with get_chunk_store().open(str(upload.id), upload.store_state) as fh:
        return fh.read()


def start_chunks(api, gallery, size: int) -> str:
    body = {"gallery": str(gallery.pk), "filename": "IMG_0001.jpg", "size": size}
    created = api.post("/api/v1/uploads", body, format="json")
    assert created.status_code == 201, created.content
    return created.json()["id"]


def put_chunk(api, upload_id, index, data, **headers):
    headers.setdefault("content_type", "application/octet-stream")
    headers.setdefault("HTTP_X_CHUNK_SHA256", sha(data))
    return api.put(f"/api/v1/uploads/{upload_id}/chunks/{index}", data=data, **headers)


# --- 1. Two writers on one chunk or one tus offset ---------------------------------------------


def _race_one_chunk(alice, api_for, gallery, bodies_meet) -> None:
    for _trial in range(6):
        upload_id = start_chunks(api_for(alice), gallery, CHUNK)
        first, second = os.urandom(CHUNK), os.urandom(CHUNK)
        answers = in_threads(
            lambda u=upload_id, b=first: put_chunk(api_for(alice), u, 0, b),
            lambda u=upload_id, b=second: put_chunk(api_for(alice), u, 0, b),
        )
        assert not bodies_meet.broken, "the two bodies did not meet: no race"
        assert sorted(a.status_code for a in answers) == [201, 409], [a.content for a in answers]
        assert all(a["Content-Type"] == "application/json" for a in answers)
        ledger = UploadChunk.objects.get(upload_id=upload_id, index=0)
        winner = first if answers[0].status_code == 201 else second
        assert ledger.sha256 == sha(winner)
        assert sha(stored_bytes(Upload.objects.get(pk=upload_id))) == ledger.sha256


@pytest.mark.django_db(transaction=True)
def test_two_bodies_racing_for_one_chunk_leave_the_ledgers_bytes_and_the_loser_gets_409(
    alice, api_for, gallery, bodies_meet, storage
):
    _race_one_chunk(alice, api_for, gallery, bodies_meet)


def _tus_patch(api, location, offset, body):
    return patch(api, location, offset, body)


def _tus_create(api, gallery, data: bytes, filename: str = "full.jpg") -> str:
    """A tus upload of data's length into gallery; its address."""
    created = api.post(
        "/api/v1/tus/",
        HTTP_UPLOAD_LENGTH=str(len(data)),
        HTTP_UPLOAD_METADATA=meta(gallery=str(gallery.pk), filename=filename),
        **TUS,
    )
    assert created.status_code == 201, created.content
    return created["Location"]


def _race_one_offset(alice, api_for, gallery, bodies_meet) -> None:
    for _trial in range(6):
        created = api_for(alice).post(
            "/api/v1/tus/",
            HTTP_UPLOAD_LENGTH=str(2 * CHUNK),
            HTTP_UPLOAD_METADATA=meta(gallery=str(gallery.pk), filename="race.jpg"),
            **TUS,
        )
        assert created.status_code == 201
        location = created["Location"]
        first, second = os.urandom(CHUNK), os.urandom(CHUNK)
        answers = in_threads(
            lambda u=location, b=first: _tus_patch(api_for(alice), u, 0, b),
            lambda u=location, b=second: _tus_patch(api_for(alice), u, 0, b),
        )
        assert not bodies_meet.broken, "the two bodies did not meet: no race"
        assert sorted(a.status_code for a in answers) == [204, 409], [a.content for a in answers]
        winner = first if answers[0].status_code == 204 else second
        upload = Upload.objects.get(pk=location.rstrip("/").rsplit("/", 1)[-1])
        assert upload.offset == CHUNK
        # The other half, so the stored file is whole and can be read back on either store. It comes
        # alone: it must not wait for a partner (it would wait out the timeout and break the barrier
        # for the next trials, which would then no longer race).
        bodies_meet.abort()
        assert _tus_patch(api_for(alice), location, CHUNK, b"\0" * CHUNK).status_code == 204
        bodies_meet.reset()
        assert stored_bytes(upload)[:CHUNK] == winner


@pytest.mark.django_db(transaction=True)
def test_two_tus_patches_racing_for_one_offset_store_the_winners_bytes(
    alice, api_for, gallery, bodies_meet, monkeypatch, storage
):
    # Keep the finished upload open so its stored bytes can be read back: completion is not under test.
    monkeypatch.setattr("uploads.services.upload_complete", lambda *, upload: None)
    _race_one_offset(alice, api_for, gallery, bodies_meet)


# --- 2. A full disk ---------------------------------------------------------------------------


class FullDisk:
    """Fault injection: every low-level write and fsync fails with ENOSPC until freed."""

    def __init__(self, monkeypatch) -> None:
        self.full = False
        failing = {}
        for name in ("write", "pwrite", "copy_file_range", "fsync"):
            real = getattr(os, name)

            def fake(*args, _real=real, _name=name):
                if self.full:
                    raise OSError(errno.ENOSPC, f"No space left on device ({_name})")
                return _real(*args)

            failing[name] = fake
        for name, fake in failing.items():
            monkeypatch.setattr(os, name, fake)

    def fill(self) -> None:
        self.full = True

    def free(self) -> None:
        self.full = False


@pytest.fixture
def full_disk(monkeypatch) -> FullDisk:
    return FullDisk(monkeypatch)


@pytest.fixture
def gallery(alice, db):
    return gallery_services.gallery_create(owner=alice, title="Drop", visibility=Visibility.PRIVATE)


@pytest.fixture
def jpeg() -> bytes:
    data = make_image("JPEG", size=(500, 400), noise=True, quality=90)
    assert len(data) > 2 * CHUNK
    return data


def pieces(data: bytes) -> list[bytes]:
    return [data[i : i + CHUNK] for i in range(0, len(data), CHUNK)]


@pytest.mark.django_db
def test_a_chunk_put_on_a_full_disk_answers_507_and_the_upload_resumes_once_space_is_freed(
    alice, api_for, gallery, jpeg, full_disk
):
    api = api_for(alice)
    upload_id = start_chunks(api, gallery, len(jpeg))
    parts = pieces(jpeg)
    assert put_chunk(api, upload_id, 0, parts[0]).status_code == 201
    full_disk.fill()
    refused = put_chunk(api, upload_id, 1, parts[1])
    assert refused.status_code == 507, refused.content
    assert "out of storage space" in refused.json()["detail"]
    state = api.get(f"/api/v1/uploads/{upload_id}").json()
    assert state["status"] == "open" and state["received_chunks"] == [0]
    full_disk.free()
    for index in range(1, len(parts)):
        assert put_chunk(api, upload_id, index, parts[index]).status_code == 201
    done = api.post(f"/api/v1/uploads/{upload_id}/complete")
    assert done.status_code == 200, done.content
    assert Photo.objects.get(gallery=gallery).asset.sha256 == sha(jpeg)


@pytest.mark.django_db
def test_complete_on_a_full_disk_answers_507_keeps_the_bytes_and_completes_later(
    alice, api_for, gallery, jpeg, full_disk, media_root
):
    api = api_for(alice)
    upload_id = start_chunks(api, gallery, len(jpeg))
    for index, part in enumerate(pieces(jpeg)):
        assert put_chunk(api, upload_id, index, part).status_code == 201
    full_disk.fill()
    refused = api.post(f"/api/v1/uploads/{upload_id}/complete")
    assert refused.status_code == 507, refused.content
    state = api.get(f"/api/v1/uploads/{upload_id}").json()
    assert state["status"] == "open" and state["missing_chunks"] == []
    assert not Photo.objects.exists() and not Asset.objects.exists()
    assert not (media_root / original_key(sha(jpeg), "jpg")).exists()
    full_disk.free()
    done = api.post(f"/api/v1/uploads/{upload_id}/complete")
    assert done.status_code == 200, done.content
    assert (media_root / original_key(sha(jpeg), "jpg")).read_bytes() == jpeg


@pytest.mark.django_db
def test_a_final_tus_patch_on_a_full_disk_answers_507_and_the_upload_finishes_once_space_is_freed(
    alice, api_for, gallery, jpeg, full_disk
):
    api = api_for(alice)
    location = _tus_create(api, gallery, jpeg)
    half = len(jpeg) // 2
    assert _tus_patch(api, location, 0, jpeg[:half]).status_code == 204
    full_disk.fill()
    refused = _tus_patch(api, location, half, jpeg[half:])
    assert refused.status_code == 507, refused.content
    head = api.head(location, **TUS)
    assert head.status_code == 200 and head["Upload-Offset"] == str(half)  # what arrived before is kept
    full_disk.free()
    assert _tus_patch(api, location, half, jpeg[half:]).status_code == 204
    assert Photo.objects.get(gallery=gallery).asset.sha256 == sha(jpeg)


@pytest.mark.django_db
def test_a_tus_upload_whose_completion_hit_a_full_disk_completes_on_the_next_head(
    alice, api_for, gallery, jpeg, full_disk, monkeypatch
):
    api = api_for(alice)
    location = _tus_create(api, gallery, jpeg)
    # The bytes go in, then the disk fills just as the photo is being stored.
    from uploads import services

    real_complete = services.upload_complete

    def complete_on_full_disk(*, upload):
        full_disk.fill()
        return real_complete(upload=upload)

    monkeypatch.setattr(services, "upload_complete", complete_on_full_disk)
    assert _tus_patch(api, location, 0, jpeg).status_code == 507
    monkeypatch.setattr(services, "upload_complete", real_complete)
    assert api.head(location, **TUS).status_code == 507
    assert not Photo.objects.exists()
    full_disk.free()
    head = api.head(location, **TUS)
    assert head.status_code == 200 and head["Upload-Offset"] == str(len(jpeg))
    assert Photo.objects.get(gallery=gallery).asset.sha256 == sha(jpeg)


def _mount_tmpfs(path: Path, size: str) -> bool:
    path.mkdir(parents=True, exist_ok=True)
    try:
        result = subprocess.run(
            ["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(path)], capture_output=True, timeout=10
        )
    except (OSError, subprocess.SubprocessError):
        return False
    return result.returncode == 0


@pytest.fixture
def small_disks(tmp_path, settings):
    """MEDIA_ROOT on a real 30 MB tmpfs, the uploads in flight on another one; skipped where mounting is not allowed."""
    media, temp = tmp_path / "media-tmpfs", tmp_path / "uploads-tmpfs"
    if not _mount_tmpfs(media, "30m"):
        pytest.skip("mounting a tmpfs is not permitted here")
    if not _mount_tmpfs(temp, "30m"):
        subprocess.run(["umount", str(media)], check=False)
        pytest.skip("mounting a tmpfs is not permitted here")
    settings.MEDIA_ROOT = media
    settings.STORAGES = {
        **settings.STORAGES,
        "default": {"BACKEND": "galleries.storage.LocalMediaStorage", "OPTIONS": {"location": media}},
    }
    settings.UPLOAD_TEMP_DIR = temp
    yield media, temp
    for path in (media, temp):
        subprocess.run(["umount", str(path)], check=False)


def fill(disk: Path) -> Path:
    """Write a ballast file until the disk is full."""
    ballast = disk / "ballast"
    with open(ballast, "wb") as fh, contextlib.suppress(OSError):
        while True:
            fh.write(b"\xff" * (1 << 20))
            fh.flush()
    with contextlib.suppress(OSError), open(ballast, "ab") as fh:
        fh.write(b"\xff" * 4096)
    return ballast


@pytest.mark.django_db
def test_on_a_real_full_tmpfs_uploads_answer_507_and_finish_once_space_is_freed(
    alice, api_for, gallery, jpeg, small_disks
):
    media, temp = small_disks
    api = api_for(alice)
    upload_id = start_chunks(api, gallery, len(jpeg))
    parts = pieces(jpeg)
    # The disk of the uploads in flight is full: a chunk PUT is refused, the upload stays open.
    ballast = fill(temp)
    refused = put_chunk(api, upload_id, 0, parts[0])
    assert refused.status_code == 507, refused.content
    ballast.unlink()
    for index, part in enumerate(parts):
        assert put_chunk(api, upload_id, index, part).status_code == 201
    # The media disk (another disk: the file is copied, not renamed) is full on completion.
    ballast = fill(media)
    refused = api.post(f"/api/v1/uploads/{upload_id}/complete")
    assert refused.status_code == 507, refused.content
    assert Upload.objects.get(pk=upload_id).status == UploadStatus.OPEN
    leftovers = [p for p in media.rglob("*") if p.is_file() and p != ballast]
    assert leftovers == []  # nothing half-written under a final key, no temporary file left
    ballast.unlink()
    done = api.post(f"/api/v1/uploads/{upload_id}/complete")
    assert done.status_code == 200, done.content
    assert hashlib.sha256((media / original_key(sha(jpeg), "jpg")).read_bytes()).hexdigest() == sha(jpeg)


# --- 3. The assembled file is renamed into place, not copied -----------------------------------


@pytest.mark.django_db
def test_a_completed_chunk_upload_becomes_the_original_by_rename(alice, api_for, gallery, jpeg, settings, media_root):
    api = api_for(alice)
    upload_id = start_chunks(api, gallery, len(jpeg))
    for index, part in enumerate(pieces(jpeg)):
        assert put_chunk(api, upload_id, index, part).status_code == 201
    temp_inode = os.stat(Path(settings.UPLOAD_TEMP_DIR) / f"{upload_id}.part").st_ino
    assert api.post(f"/api/v1/uploads/{upload_id}/complete").status_code == 200
    original = media_root / original_key(sha(jpeg), "jpg")
    assert os.stat(original).st_ino == temp_inode
    assert original.read_bytes() == jpeg
    assert list(Path(settings.UPLOAD_TEMP_DIR).iterdir()) == []


@pytest.mark.django_db
def test_a_completed_tus_upload_becomes_the_original_by_rename(alice, api_for, gallery, jpeg, settings, media_root):
    api = api_for(alice)
    created = api.post(
        "/api/v1/tus/",
        HTTP_UPLOAD_LENGTH=str(len(jpeg)),
        HTTP_UPLOAD_METADATA=meta(gallery=str(gallery.pk), filename="tus.jpg"),
        **TUS,
    )
    upload_id = created["Location"].rstrip("/").rsplit("/", 1)[-1]
    temp_inode = os.stat(Path(settings.UPLOAD_TEMP_DIR) / f"{upload_id}.part").st_ino
    assert _tus_patch(api, created["Location"], 0, jpeg).status_code == 204
    assert os.stat(media_root / original_key(sha(jpeg), "jpg")).st_ino == temp_inode


# --- 7. A chunk is raw bytes -------------------------------------------------------------------


@pytest.mark.django_db
@pytest.mark.parametrize("content_type", ["application/json", "text/plain", "multipart/form-data; boundary=x"])
def test_a_chunk_sent_as_anything_but_raw_bytes_is_refused_with_415(alice, api_for, gallery, content_type):
    api = api_for(alice)
    upload_id = start_chunks(api, gallery, 10)
    body = b'{"a": 1}\n'[:10].ljust(10)
    refused = api.put(
        f"/api/v1/uploads/{upload_id}/chunks/0", data=body, content_type=content_type, HTTP_X_CHUNK_SHA256=sha(body)
    )
    assert refused.status_code == 415 and "application/octet-stream" in refused.json()["detail"]
    assert not UploadChunk.objects.exists()


@pytest.mark.django_db
def test_a_chunk_without_a_content_type_is_still_accepted(alice, api_for, gallery):
    api = api_for(alice)
    upload_id = start_chunks(api, gallery, 10)
    body = b"0123456789"
    accepted = api.generic(
        "PUT", f"/api/v1/uploads/{upload_id}/chunks/0", body, content_type="", HTTP_X_CHUNK_SHA256=sha(body)
    )
    assert accepted.status_code == 201, accepted.content
