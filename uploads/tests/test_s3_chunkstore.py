"""S3ChunkStore against a real SeaweedFS server: pieces, reading back, and handing the file to storage."""

import hashlib
import io
import os

import pytest
from django.core.files import File
from django.core.files.storage import default_storage
from storages.backends.s3 import S3Storage

from conftest import make_image
from galleries import imaging
from uploads.chunkstore import MissingBytes, S3ChunkStore, get_chunk_store

pytestmark = pytest.mark.s3
UPLOAD = "0f3c2a52-8a57-4f57-9d6c-3f7a2d1e0b11"


def sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def write(store, offset, data, state=None, pieces=3):
    """Write data at offset, handing it over in a few pieces as a request body would come."""
    step = max(1, len(data) // pieces)
    parts = [data[i : i + step] for i in range(0, len(data), step)]
    return store.write(UPLOAD, state or {}, offset, iter(parts))


def stored(store, data, chunk):
    state = store.begin(UPLOAD, len(data))
    for offset in reversed(range(0, len(data), chunk)):  # out of order
        write(store, offset, data[offset : offset + chunk], state)
    return state


def test_settings_switch_the_project_to_s3(s3_storage):
    assert isinstance(get_chunk_store(), S3ChunkStore)
    assert default_storage.bucket_name == s3_storage.name
    assert isinstance(default_storage._wrapped, S3Storage)
    default_storage.save("originals/aa/bb/x.jpg", io.BytesIO(b"abc"))
    assert s3_storage.names() == ["originals/aa/bb/x.jpg"]


def test_each_piece_is_one_object_and_reads_back_in_order(s3_storage):
    data = os.urandom(700_000)
    store = S3ChunkStore()
    state = stored(store, data, 250_000)
    assert store.exists(UPLOAD, state)
    assert s3_storage.names() == [f"uploads/{UPLOAD}/{offset:020d}" for offset in (0, 250_000, 500_000)]
    with store.open(UPLOAD, state) as fh:
        assert fh.read(10) == data[:10]
        assert fh.read(300_000) == data[10:300_010]  # across a piece boundary
        assert fh.seek(0, 2) == len(data) and fh.tell() == len(data)
        assert fh.read(5) == b""
        fh.seek(0)
        assert fh.read() == data
        fh.seek(499_990)
        assert fh.read(20) == data[499_990:500_010]
        fh.seek(-7, 2)
        assert fh.read() == data[-7:]
    assert fh.closed


def test_write_returns_the_size_and_sha256(s3_storage):
    store = S3ChunkStore()
    store.begin(UPLOAD, 10)
    assert write(store, 0, b"0123456789") == (10, sha(b"0123456789"))
    assert s3_storage.read(f"uploads/{UPLOAD}/{0:020d}") == b"0123456789"


def test_a_piece_written_again_replaces_the_first(s3_storage):
    store = S3ChunkStore()
    state = store.begin(UPLOAD, 6)
    write(store, 0, b"abc")
    write(store, 3, b"XYZ")
    write(store, 3, b"def")
    with store.open(UPLOAD, state) as fh:
        assert fh.read() == b"abcdef"


def test_a_gap_or_missing_tail_is_refused_not_handed_over(s3_storage):
    store = S3ChunkStore()
    state = store.begin(UPLOAD, 9)
    write(store, 0, b"abc")
    write(store, 6, b"ghi")
    with pytest.raises(MissingBytes, match="Bytes 3 to 5"):
        store.open(UPLOAD, state)
    write(store, 3, b"def")
    with store.open(UPLOAD, state) as fh:
        assert fh.read() == b"abcdefghi"
    with pytest.raises(MissingBytes, match="Only 9 of 12"):
        store.open(UPLOAD, {"size": 12})


def test_a_body_cut_off_keeps_what_arrived_but_other_failures_store_nothing(s3_storage):
    store = S3ChunkStore()
    store.begin(UPLOAD, 100)

    def cut_off():
        yield b"x" * 10
        raise ConnectionResetError("client went away")

    with pytest.raises(ConnectionResetError):
        store.write(UPLOAD, {}, 0, cut_off())
    assert s3_storage.read(f"uploads/{UPLOAD}/{0:020d}") == b"x" * 10

    def refused():
        yield b"y" * 10
        raise ValueError("too large")

    with pytest.raises(ValueError, match="too large"):
        store.write(UPLOAD, {}, 10, refused())
    assert s3_storage.names() == [f"uploads/{UPLOAD}/{0:020d}"]


def test_discard_removes_every_piece_across_pages(s3_storage):
    store = S3ChunkStore()
    store.page_size = 3  # S3 lists and deletes at most 1000 keys at a time; walk several pages
    state = store.begin(UPLOAD, 10)
    for i in range(10):
        store.write(UPLOAD, state, i, iter([b"%d" % i]))
    other = "11111111-2222-3333-4444-555555555555"
    store.write(other, {}, 0, iter([b"keep"]))
    assert len(s3_storage.names(f"uploads/{UPLOAD}/")) == 10
    with store.open(UPLOAD, state) as fh:
        assert fh.read() == b"0123456789"
    store.discard(UPLOAD, state)
    assert s3_storage.names() == [f"uploads/{other}/{0:020d}"]
    assert not store.exists(UPLOAD, state) and store.exists(other, {})
    store.discard(UPLOAD, state)  # twice is fine


@pytest.mark.parametrize("size", [300_000, 9 * 2**20 + 123], ids=["put", "multipart"])
def test_default_storage_saves_the_assembled_file(s3_storage, size):
    """What photos_add does: default_storage.save(key, File(reader)); above 8 MB S3Storage uses multipart."""
    data = os.urandom(size)
    store = S3ChunkStore()
    state = stored(store, data, 2 * 2**20 + 7)
    with store.open(UPLOAD, state) as fh:
        digest = hashlib.sha256()
        for piece in iter(lambda: fh.read(1 << 20), b""):
            digest.update(piece)
        fh.seek(0)
        key = f"originals/{digest.hexdigest()[:2]}/{digest.hexdigest()[2:4]}/{digest.hexdigest()}.bin"
        assert default_storage.save(key, File(fh)) == key
    assert s3_storage.read(key) == data
    assert default_storage.size(key) == size
    etag = s3_storage.client.head_object(Bucket=s3_storage.name, Key=key)["ETag"]
    assert ("-" in etag) == (size > 8 * 2**20), etag  # a multipart upload's ETag ends in -<parts>


def test_pillow_reads_the_assembled_file(s3_storage):
    data = make_image("JPEG", size=(700, 600), noise=True, quality=95)
    store = S3ChunkStore()
    state = stored(store, data, 100_000)
    with store.open(UPLOAD, state) as fh:
        info = imaging.inspect_image(fh, max_pixels=10**8)
    assert (info.width, info.height) == (700, 600)
