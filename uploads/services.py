"""The one upload service behind every door: chunk protocol, tus, admin uploader."""

from __future__ import annotations

import hashlib
import logging
import re
import time
from collections.abc import Iterator
from datetime import datetime
from typing import Any

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import Sum
from django.utils import timezone

from accounts.models import User
from galleries import services as gallery_services
from galleries import video
from galleries.errors import (
    Conflict,
    ContentMismatch,
    Gone,
    InvalidInput,
    NotFound,
    TooLarge,
    TooManyRequests,
    UnsupportedType,
)
from galleries.models import Gallery, Photo
from sharing.models import ShareLink
from uploads.chunkstore import READ_SIZE, get_chunk_store
from uploads.models import Upload, UploadChunk, UploadProtocol, UploadStatus

log = logging.getLogger(__name__)

SHA256_RE = re.compile(r"^[0-9a-f]{64}$")
IMAGE_EXTENSIONS = {"jpg", "jpeg", "jpe", "png", "gif", "webp", "heic", "heif", "avif"}
VIDEO_EXTENSIONS = {"mp4", "m4v", "mov", "webm"}
COMPLETE_WAIT_SECONDS = 120


class MissingChunks(Conflict):
    """Complete was called before every chunk arrived."""

    def __init__(self, missing: list[int]) -> None:
        shown = ", ".join(str(i) for i in missing[:20]) + (" …" if len(missing) > 20 else "")
        super().__init__(
            f"{len(missing)} chunk{'s are' if len(missing) != 1 else ' is'} missing: {shown}.", code="incomplete"
        )
        self.missing = missing


def _extension(filename: str) -> str:
    return filename.rsplit(".", 1)[-1].lower() if "." in filename else ""


def check_sha256(value: str | None, *, what: str = "sha256") -> str:
    """A lower-case hex SHA-256, or InvalidInput naming what is wrong."""
    if value is None or value == "":
        return ""
    text = value.strip().lower()
    if not SHA256_RE.match(text):
        raise InvalidInput(f"{what} must be 64 hexadecimal characters (a SHA-256), not {value[:80]!r}.")
    return text


def upload_create(
    *,
    owner: User | None,
    gallery: Gallery,
    filename: str,
    size: int,
    sha256: str | None = None,
    protocol: str = UploadProtocol.CHUNKS,
    chunk_size: int | None = None,
    share_link: ShareLink | None = None,
    guest_name: str = "",
    guest_visitor: str = "",
) -> Upload:
    """Open an upload: checks size, type (by name for now, by content on completion) and the open-upload cap.

    A guest's upload (share_link set, no owner) is held to the link's caps on count and bytes.
    """
    name = gallery_services.clean_filename(filename)
    if not name:
        raise InvalidInput("The file name is empty.")
    if not isinstance(size, int) or isinstance(size, bool) or size <= 0:
        raise InvalidInput("size must be a positive number of bytes.")
    ext = _extension(name)
    if ext not in IMAGE_EXTENSIONS | VIDEO_EXTENSIONS:
        raise UnsupportedType(
            f"{name}: this file type is not supported. Upload JPEG, PNG, GIF, WebP, HEIC or AVIF photos"
            " (or MP4, MOV or WebM videos)."
        )
    is_video = ext in VIDEO_EXTENSIONS
    if is_video and not video.ffmpeg_available():
        raise UnsupportedType("Video uploads need ffmpeg on the server, and it is not installed. Upload photos only.")
    limit = settings.MAX_VIDEO_SIZE if is_video else settings.MAX_UPLOAD_SIZE
    if size > limit:
        raise TooLarge(
            f"{name} is {gallery_services.human_size(size)}; the limit is {gallery_services.human_size(limit)}."
        )
    client_sha = check_sha256(sha256)
    chunk = chunk_size or settings.UPLOAD_CHUNK_SIZE
    if share_link is not None:
        _check_guest_caps(share_link, size)
        if not guest_name.strip():
            raise InvalidInput("Tell the photographer who you are: your name is needed to send photos.")
    mine = Upload.objects.of_guest(share_link, guest_visitor) if share_link else Upload.objects.filter(owner=owner)
    if mine.open().count() >= settings.UPLOAD_MAX_OPEN_PER_USER:
        raise TooManyRequests(
            f"You have {settings.UPLOAD_MAX_OPEN_PER_USER} unfinished uploads; finish or cancel some first."
        )
    upload = Upload(
        owner=owner,
        gallery=gallery,
        filename=name,
        size=size,
        sha256=client_sha,
        chunk_size=chunk,
        protocol=protocol,
        expires_at=timezone.now() + settings.UPLOAD_EXPIRY,
        share_link=share_link,
        guest_name=guest_name.strip()[:100],
        guest_visitor=guest_visitor,
    )
    upload.store_state = get_chunk_store().begin(str(upload.id), size)
    try:
        upload.save()
    except BaseException:
        get_chunk_store().discard(str(upload.id), upload.store_state)
        raise
    return upload


def _check_guest_caps(link: ShareLink, size: int) -> None:
    counted = Upload.objects.filter(share_link=link).exclude(
        status__in=[UploadStatus.ABORTED, UploadStatus.EXPIRED, UploadStatus.FAILED]
    )
    if counted.count() >= link.upload_max_files:
        raise TooManyRequests(f"This link accepts at most {link.upload_max_files} photos, and they have all arrived.")
    used = counted.aggregate(total=Sum("size"))["total"] or 0
    if used + size > link.upload_max_bytes:
        left = max(0, link.upload_max_bytes - used)
        raise TooLarge(
            f"This link accepts {gallery_services.human_size(link.upload_max_bytes)} in all; {gallery_services.human_size(left)} is left."
        )


def _check_open(upload: Upload) -> None:
    if upload.status in (UploadStatus.ABORTED,):
        raise Gone("This upload was cancelled.")
    if upload.status == UploadStatus.EXPIRED or (upload.status == UploadStatus.OPEN and upload.is_expired):
        raise Gone("This upload has expired; start it again.")
    if upload.status == UploadStatus.FAILED:
        raise Gone(f"This upload failed: {upload.error or 'start it again.'}")


def upload_receive_chunk(
    *, upload: Upload, index: int, stream: Iterator[bytes], length: int | None, sha256: str
) -> bool:
    """Store chunk `index` if its bytes match sha256; True when it is new, False when it was already here.

    The body is written where the chunk belongs but recorded only once verified, so a chunk
    with a wrong checksum is as if it never came. Idempotent and safe in any order.
    """
    _check_open(upload)
    if upload.status != UploadStatus.OPEN:
        raise Conflict("This upload is complete; no more chunks are needed.")
    expected_sha = check_sha256(sha256, what="X-Chunk-SHA256")
    if not expected_sha:
        raise InvalidInput("Send the chunk's SHA-256 in the X-Chunk-SHA256 header.")
    if not 0 <= index < upload.total_chunks:
        raise InvalidInput(
            f"Chunk index {index} is out of range: this upload has chunks 0 to {upload.total_chunks - 1}."
        )
    expected_length = upload.chunk_length(index)
    if length is not None and length > expected_length:
        raise TooLarge(f"Chunk {index} must be {expected_length} bytes; the request declares {length}.")
    existing = UploadChunk.objects.filter(upload=upload, index=index).first()
    if existing is not None:
        if existing.sha256 != expected_sha:
            raise Conflict(f"Chunk {index} was already received with other bytes.")
        _drain(stream)
        return False
    written, actual_sha = get_chunk_store().write(
        str(upload.id), upload.store_state, index * upload.chunk_size, _limited(stream, expected_length)
    )
    if written != expected_length:
        raise InvalidInput(f"Chunk {index} must be {expected_length} bytes; {written} arrived.")
    if actual_sha != expected_sha:
        raise ContentMismatch(
            f"Chunk {index} does not match its X-Chunk-SHA256: it was damaged on the way; send it again."
        )
    try:
        with transaction.atomic():
            UploadChunk.objects.create(upload=upload, index=index, size=written, sha256=actual_sha)
    except IntegrityError:
        return False  # another request recorded the same verified bytes first
    Upload.objects.filter(pk=upload.pk).update(updated_at=timezone.now())
    return True


def _limited(stream: Iterator[bytes], limit: int) -> Iterator[bytes]:
    """Yield at most limit bytes, then raise if more keep coming (a body larger than declared)."""
    seen = 0
    for piece in stream:
        seen += len(piece)
        if seen > limit:
            raise TooLarge(f"The body is larger than the {limit} bytes this chunk must have.")
        yield piece


def _drain(stream: Iterator[bytes]) -> None:
    for _ in stream:
        pass


def upload_receive_tus(
    *, upload: Upload, offset: int, stream: Iterator[bytes], checksum: tuple[str, bytes] | None
) -> int:
    """Append a tus PATCH body at `offset`; returns the new offset. With a checksum, all or nothing."""
    _check_open(upload)
    if upload.status != UploadStatus.OPEN:
        raise Conflict("This upload is complete.")
    if offset != upload.offset:
        raise Conflict(f"Upload-Offset {offset} does not match the server's offset {upload.offset}.", code="offset")
    algorithm, expected = checksum if checksum else (None, b"")
    digest = hashlib.new(algorithm) if algorithm else None
    written = 0

    def hashed() -> Iterator[bytes]:
        nonlocal written
        for piece in _limited(stream, upload.size - offset):
            if digest is not None:
                digest.update(piece)
            written += len(piece)
            yield piece

    try:
        get_chunk_store().write(str(upload.id), upload.store_state, offset, hashed())
    except (OSError, ConnectionError) as exc:
        # The client went away mid-body: keep what arrived (tus resumes from there) unless a
        # checksum was promised, which can only be checked on the whole body.
        log.info("tus PATCH for %s interrupted after %s bytes: %s", upload.pk, written, exc)
        if digest is None and written:
            Upload.objects.filter(pk=upload.pk, offset=offset).update(
                offset=offset + written, updated_at=timezone.now()
            )
        raise
    if digest is not None and digest.digest() != expected:
        raise ChecksumFailed("The body does not match its Upload-Checksum; send it again.")
    updated = Upload.objects.filter(pk=upload.pk, offset=offset, status=UploadStatus.OPEN).update(
        offset=offset + written, updated_at=timezone.now()
    )
    if not updated:
        raise Conflict("Another request wrote to this upload at the same time.", code="offset")
    upload.offset = offset + written
    return upload.offset


class ChecksumFailed(ContentMismatch):
    status_code = 460  # tus's "Checksum Mismatch"
    code = "checksum_mismatch"


def upload_missing_chunks(upload: Upload) -> list[int]:
    received = set(upload.chunks.values_list("index", flat=True))
    return [i for i in range(upload.total_chunks) if i not in received]


def upload_complete(*, upload: Upload) -> Photo:
    """Assemble, hash on the server, compare with the client's SHA-256, validate, add the photo.

    One request does the work; concurrent or repeated completes wait for it and get the same
    photo. A mismatch or a refused file purges the bytes and fails the upload (no photo).
    """
    claimed = Upload.objects.filter(pk=upload.pk, status=UploadStatus.OPEN).update(
        status=UploadStatus.COMPLETING, updated_at=timezone.now()
    )
    if not claimed:
        return _wait_for_completion(upload)
    try:
        _check_received(upload)
    except BaseException:
        Upload.objects.filter(pk=upload.pk, status=UploadStatus.COMPLETING).update(status=UploadStatus.OPEN)
        raise
    store = get_chunk_store()
    try:
        with store.open(str(upload.id), upload.store_state) as assembled:
            digest = hashlib.sha256()
            for piece in iter(lambda: assembled.read(READ_SIZE), b""):
                digest.update(piece)
            server_sha = digest.hexdigest()
            if upload.sha256 and upload.sha256 != server_sha:
                raise ContentMismatch(
                    "The file's SHA-256 does not match the one given when the upload started; it was not stored."
                )
            assembled.seek(0)
            checked = gallery_services.photo_check(
                file=assembled, filename=upload.filename, size=upload.size, server_sha256=server_sha
            )
            photo, _ = gallery_services.photos_add(
                gallery=upload.gallery, files=[checked], contributor=upload.guest_name if upload.share_link_id else ""
            )[0]
    except Exception as exc:
        message = getattr(exc, "message", None) or "The file could not be stored."
        _finish(upload, status=UploadStatus.FAILED, error=message)
        raise
    _finish(upload, status=UploadStatus.COMPLETE, photo=photo)
    return photo


def _check_received(upload: Upload) -> None:
    if upload.protocol == UploadProtocol.TUS:
        if upload.offset != upload.size:
            raise Conflict(f"Only {upload.offset} of {upload.size} bytes have arrived.", code="incomplete")
        return
    missing = upload_missing_chunks(upload)
    if missing:
        raise MissingChunks(missing)


def _finish(upload: Upload, *, status: str, photo: Photo | None = None, error: str = "") -> None:
    """Record the outcome and drop the bytes in flight and the chunk ledger."""
    get_chunk_store().discard(str(upload.id), upload.store_state)
    with transaction.atomic():
        Upload.objects.filter(pk=upload.pk).update(
            status=status, photo=photo, error=error[:500], completed_at=timezone.now(), updated_at=timezone.now()
        )
        UploadChunk.objects.filter(upload=upload).delete()
    upload.status, upload.photo, upload.error = status, photo, error


def _wait_for_completion(upload: Upload) -> Photo:
    deadline = time.monotonic() + COMPLETE_WAIT_SECONDS
    while True:
        upload.refresh_from_db()
        if upload.status == UploadStatus.COMPLETE and upload.photo_id:
            return upload.photo
        if upload.status == UploadStatus.OPEN:
            return upload_complete(upload=upload)
        if upload.status != UploadStatus.COMPLETING:
            _check_open(upload)
            raise NotFound("The photo of this upload no longer exists.")
        if time.monotonic() > deadline:
            raise Conflict("This upload is still being completed; ask again in a moment.")
        time.sleep(0.05)


def upload_abort(*, upload: Upload) -> None:
    """Cancel an upload: its bytes and chunk ledger go; later calls get 410."""
    if upload.status in (UploadStatus.COMPLETE, UploadStatus.COMPLETING):
        raise Conflict("This upload is already complete; delete the photo instead.")
    if upload.status == UploadStatus.ABORTED:
        return
    _finish(upload, status=UploadStatus.ABORTED)


def uploads_expire(*, now: datetime | None = None) -> int:
    """Expire open uploads past their time and remove their bytes. Idempotent."""
    now = now or timezone.now()
    count = 0
    for upload in Upload.objects.filter(status=UploadStatus.OPEN, expires_at__lte=now).iterator():
        claimed = Upload.objects.filter(pk=upload.pk, status=UploadStatus.OPEN).update(status=UploadStatus.EXPIRED)
        if claimed:
            _finish(upload, status=UploadStatus.EXPIRED)
            count += 1
    return count


def upload_state(upload: Upload) -> dict[str, Any]:
    """What a client needs to resume."""
    received = sorted(upload.chunks.values_list("index", flat=True)) if upload.protocol != UploadProtocol.TUS else []
    return {
        "id": upload.id,
        "gallery": upload.gallery_id,
        "filename": upload.filename,
        "size": upload.size,
        "sha256": upload.sha256 or None,
        "chunk_size": upload.chunk_size,
        "total_chunks": upload.total_chunks,
        "received_chunks": received,
        "missing_chunks": [i for i in range(upload.total_chunks) if i not in set(received)]
        if upload.status == UploadStatus.OPEN and upload.protocol != UploadProtocol.TUS
        else [],
        "offset": upload.offset,
        "status": upload.status,
        "photo": upload.photo_id,
        "error": upload.error,
        "expires_at": upload.expires_at,
    }
