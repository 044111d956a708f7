"""The one upload service behind every door: chunk protocol, tus, admin uploader."""

from __future__ import annotations

import contextlib
import errno
import hashlib
import logging
import re
import time
from collections.abc import Iterator
from datetime import datetime
from typing import Any

from django.conf import settings
from django.db import transaction
from django.db.models import Sum
from django.utils import timezone

from accounts.models import User
from config import events
from config.exceptions import (
    Conflict,
    ContentMismatch,
    Gone,
    InvalidInput,
    NotFound,
    ServiceError,
    TooLarge,
    TooManyRequests,
    UnsupportedType,
)
from galleries import services as gallery_services
from galleries import video
from galleries.models import Gallery, Photo
from sharing.models import ShareLink
from uploads.chunkstore import READ_SIZE, get_chunk_store
from uploads.models import Upload, UploadChunk, UploadConcat, UploadProtocol, UploadStatus

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


class StorageFull(ServiceError):
    """The disk (or quota) is full: nothing received is lost, and the same request works later."""

    status_code = 507  # Insufficient Storage
    code = "insufficient_storage"

    def __init__(self, what: str) -> None:
        super().__init__(
            f"The server has run out of storage space, so {what} Every byte received before is kept: "
            "try again when space has been freed and the upload carries on where it stopped."
        )


DISK_FULL_ERRNOS = frozenset({errno.ENOSPC, errno.EDQUOT})


def is_disk_full(exc: BaseException | None) -> bool:
    """True when exc, or an error it was raised from, is ENOSPC or EDQUOT."""
    seen = 0
    while exc is not None and seen < 10:
        if isinstance(exc, OSError) and exc.errno in DISK_FULL_ERRNOS:
            return True
        exc = exc.__cause__ or exc.__context__
        seen += 1
    return False


@contextlib.contextmanager
def _disk_full_as(what: str) -> Iterator[None]:
    try:
        yield
    except Exception as exc:
        if is_disk_full(exc):
            raise StorageFull(what) from exc
        raise


@contextlib.contextmanager
def _upload_locked(upload: Upload) -> Iterator[Upload]:
    """The upload's row, fresh and locked until the block ends: one writer at a time places bytes.

    select_for_update locks the row on PostgreSQL; on SQLite every transaction begins IMMEDIATE
    (config/settings.py), which serialises writers the same way.
    """
    with transaction.atomic():
        yield Upload.objects.select_for_update().get(pk=upload.pk)


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
    concat: str = UploadConcat.WHOLE,
    parts: list[Upload] | None = None,
) -> Upload:
    """Open an upload: checks size, type (by name for now, by content on completion) and the open-upload cap.

    A guest's upload (share_link set, no owner) is held to the link's caps on count and bytes.
    parts: the partial uploads a final tus upload is made of; they are not counted again.
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
    part_ids = [part.pk for part in parts or []]
    if share_link is not None:
        _check_guest_caps(share_link, size, exclude=part_ids)
        if not guest_name.strip():
            raise InvalidInput("Tell the photographer who you are: your name is needed to send photos.")
    _check_open_cap(owner=owner, share_link=share_link, guest_visitor=guest_visitor, exclude=part_ids)
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
        concat=concat,
        parts=[str(pk) for pk in part_ids],
    )
    return _begin_and_save(upload, size)


def _begin_and_save(upload: Upload, size: int) -> Upload:
    """Make room for the upload's bytes, then its row; the room is given back if the row fails."""
    with _disk_full_as("the upload could not be started."):
        upload.store_state = get_chunk_store().begin(str(upload.id), size)
    try:
        upload.save()
    except BaseException:
        get_chunk_store().discard(str(upload.id), upload.store_state)
        raise
    return upload


def _check_open_cap(*, owner: User | None, share_link: ShareLink | None, guest_visitor: str, exclude: list) -> None:
    mine = Upload.objects.of_guest(share_link, guest_visitor) if share_link else Upload.objects.filter(owner=owner)
    if mine.open().exclude(pk__in=exclude).count() >= settings.UPLOAD_MAX_OPEN_PER_USER:
        raise TooManyRequests(
            f"You have {settings.UPLOAD_MAX_OPEN_PER_USER} unfinished uploads; finish or cancel some first."
        )


def guest_uploads_counted(link: ShareLink, *, exclude: list | None = None) -> tuple[int, int]:
    """(files, bytes) that count against a link's caps: what arrived, plus live reservations.

    An open upload reserves its place only while it makes progress: after
    UPLOAD_RESERVATION_WINDOW without a byte it no longer counts (it may still resume if there
    is room then). Partial tus uploads count their bytes while in flight but no file; once
    joined, only the final upload counts, so nothing is counted twice.
    """
    fresh = timezone.now() - settings.UPLOAD_RESERVATION_WINDOW
    uploads = Upload.objects.filter(share_link=link).exclude(pk__in=exclude or [])
    arrived = uploads.filter(status__in=[UploadStatus.COMPLETE, UploadStatus.COMPLETING]).exclude(
        concat=UploadConcat.PARTIAL
    )
    reserved = uploads.filter(status=UploadStatus.OPEN, updated_at__gte=fresh)
    files = arrived.count() + reserved.exclude(concat=UploadConcat.PARTIAL).count()
    size = (arrived.aggregate(total=Sum("size"))["total"] or 0) + (reserved.aggregate(total=Sum("size"))["total"] or 0)
    return files, size


def _check_guest_caps(link: ShareLink, size: int, *, exclude: list | None = None, files: int = 1) -> None:
    counted_files, used = guest_uploads_counted(link, exclude=exclude)
    if files and counted_files + files > link.upload_max_files:
        raise TooManyRequests(
            f"This link accepts at most {link.upload_max_files} photos, and they have all arrived or are on their"
            " way; try again in a few minutes if some of them never finish."
        )
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

    The body goes to a side file and is hashed there; only verified bytes are placed, under the
    upload's lock and in the same transaction as their ledger row, so the ledger always
    describes the stored bytes. Idempotent and safe in any order; of two different bodies
    racing for one chunk, the first to be verified wins and the other gets 409.
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
    store = get_chunk_store()
    with _disk_full_as(f"chunk {index} could not be stored."):
        staged = store.stage(str(upload.id), upload.store_state, _limited(stream, expected_length))
    with staged:
        if staged.interrupted is not None:
            raise staged.interrupted  # a chunk is all or nothing
        if staged.size != expected_length:
            raise InvalidInput(f"Chunk {index} must be {expected_length} bytes; {staged.size} arrived.")
        if staged.sha256 != expected_sha:
            raise ContentMismatch(
                f"Chunk {index} does not match its X-Chunk-SHA256: it was damaged on the way; send it again."
            )
        with _upload_locked(upload) as locked:
            _check_open(locked)
            if locked.status != UploadStatus.OPEN:
                raise Conflict("This upload is complete; no more chunks are needed.")
            existing = UploadChunk.objects.filter(upload=upload, index=index).first()
            if existing is not None:
                if existing.sha256 != staged.sha256:
                    raise Conflict(f"Chunk {index} was received meanwhile with other bytes.")
                return False  # another request placed the same verified bytes first
            with _disk_full_as(f"chunk {index} could not be stored."):
                store.place(str(upload.id), upload.store_state, index * upload.chunk_size, staged)
            UploadChunk.objects.create(upload=upload, index=index, size=staged.size, sha256=staged.sha256)
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
    """Append a tus PATCH body at `offset`; returns the new offset. With a checksum, all or nothing.

    The body is staged on a side file, checked, then placed under the upload's lock if the
    offset is still the server's; a PATCH that lost a race to another one at the same offset
    gets 409 and leaves nothing behind. A body cut short (client gone) keeps what arrived
    unless a checksum was promised; a full disk keeps nothing of this PATCH (507) and the
    client resumes from the offset it had.
    """
    _check_open(upload)
    if upload.status != UploadStatus.OPEN:
        raise Conflict("This upload is complete.")
    if offset != upload.offset:
        raise Conflict(f"Upload-Offset {offset} does not match the server's offset {upload.offset}.", code="offset")
    if upload.share_link_id and upload.concat != UploadConcat.PARTIAL:
        _recheck_lapsed_reservation(upload)
    algorithm, expected = checksum if checksum else (None, b"")
    digest = hashlib.new(algorithm) if algorithm else None

    def hashed() -> Iterator[bytes]:
        for piece in _limited(stream, upload.size - offset):
            if digest is not None:
                digest.update(piece)
            yield piece

    store = get_chunk_store()
    with _disk_full_as("the bytes of this request could not be stored."):
        staged = store.stage(str(upload.id), upload.store_state, hashed())
    with staged:
        if staged.interrupted is not None:
            log.info("tus PATCH for %s interrupted after %s bytes: %s", upload.pk, staged.size, staged.interrupted)
            if digest is not None or not staged.size:
                raise staged.interrupted  # a checksum can only be checked on the whole body
        elif digest is not None and digest.digest() != expected:
            raise ChecksumFailed("The body does not match its Upload-Checksum; send it again.")
        with _upload_locked(upload) as locked:
            _check_open(locked)
            if locked.status != UploadStatus.OPEN:
                raise Conflict("This upload is complete.")
            if locked.offset != offset:
                raise Conflict("Another request wrote to this upload at the same time.", code="offset")
            if staged.size:
                with _disk_full_as("the bytes of this request could not be stored."):
                    store.place(str(upload.id), upload.store_state, offset, staged)
            Upload.objects.filter(pk=upload.pk).update(offset=offset + staged.size, updated_at=timezone.now())
        if staged.interrupted is not None:
            raise staged.interrupted
        upload.offset = offset + staged.size
    return upload.offset


def _recheck_lapsed_reservation(upload: Upload) -> None:
    """A guest upload idle past the reservation window gave up its place; take one again if free."""
    if upload.updated_at >= timezone.now() - settings.UPLOAD_RESERVATION_WINDOW:
        return
    _check_guest_caps(upload.share_link, upload.size, exclude=[upload.pk])


class ChecksumFailed(ContentMismatch):
    status_code = 460  # tus's "Checksum Mismatch"
    code = "checksum_mismatch"


def upload_missing_chunks(upload: Upload) -> list[int]:
    received = set(upload.chunks.values_list("index", flat=True))
    return [i for i in range(upload.total_chunks) if i not in received]


def upload_complete(*, upload: Upload) -> Photo:
    """Assemble, hash on the server, compare with the client's SHA-256, validate, add the photo.

    One request does the work; concurrent or repeated completes wait for it and get the same
    photo. A mismatch or a refused file purges the bytes and fails the upload (no photo). A
    full disk (507) keeps every byte and leaves the upload open, so completing again later
    works. On local storage the assembled file is renamed into its content-addressed place.
    """
    if upload.concat == UploadConcat.PARTIAL:
        raise Conflict("A partial upload becomes part of a final upload; it is never completed on its own.")
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
                gallery=upload.gallery, files=[checked], contributor=_contributor(upload)
            )[0]
    except Exception as exc:
        if is_disk_full(exc):
            Upload.objects.filter(pk=upload.pk, status=UploadStatus.COMPLETING).update(
                status=UploadStatus.OPEN, updated_at=timezone.now()
            )
            raise StorageFull("the file could not be stored yet.") from exc
        message = getattr(exc, "message", None) or "The file could not be stored."
        _finish(upload, status=UploadStatus.FAILED, error=message)
        raise
    _finish(upload, status=UploadStatus.COMPLETE, photo=photo)
    events.emit("upload.completed", owner=upload.gallery.owner_id, obj_id=upload.pk)  # issue 16: webhooks
    if photo.contributor and not photo.is_approved:
        events.emit("guest_upload.pending", owner=upload.gallery.owner_id, obj_id=photo.pk)  # issue 16
    return photo


def _contributor(upload: Upload) -> str:
    """Whose photo waits for approval: a guest's (share link) or a community member's drop
    (uploads.member_drop names the member in guest_name); empty for the gallery's owner."""
    if upload.share_link_id or upload.guest_name:
        return upload.guest_name
    return ""


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


def upload_create_partial(
    *, owner: User | None, size: int, share_link: ShareLink | None = None, guest_visitor: str = ""
) -> Upload:
    """Open a tus partial upload: bytes only (no name, no gallery of its own), never a photo by itself.

    It waits to be joined into a final upload (upload_create_final) or expires like any upload.
    A guest's partial uploads reserve their bytes under the link's cap, but no file.
    """
    if not isinstance(size, int) or isinstance(size, bool) or size < 0:
        raise InvalidInput("Upload-Length must be a whole number of bytes.")
    limit = max(settings.MAX_UPLOAD_SIZE, settings.MAX_VIDEO_SIZE)
    if size > limit:
        raise TooLarge(
            f"A part of {gallery_services.human_size(size)} is over the limit of {gallery_services.human_size(limit)}."
        )
    if share_link is not None:
        _check_guest_caps(share_link, size, files=0)
    _check_open_cap(owner=owner, share_link=share_link, guest_visitor=guest_visitor, exclude=[])
    upload = Upload(
        owner=owner,
        gallery=share_link.gallery if share_link is not None else None,
        filename="",
        size=size,
        chunk_size=settings.UPLOAD_CHUNK_SIZE,
        protocol=UploadProtocol.TUS,
        concat=UploadConcat.PARTIAL,
        expires_at=timezone.now() + settings.UPLOAD_EXPIRY,
        share_link=share_link,
        guest_visitor=guest_visitor,
    )
    return _begin_and_save(upload, size)


def upload_create_final(
    *,
    owner: User | None,
    gallery: Gallery,
    filename: str,
    parts: list[Upload],
    sha256: str | None = None,
    share_link: ShareLink | None = None,
    guest_name: str = "",
    guest_visitor: str = "",
) -> Upload:
    """Join finished partial uploads, in order, into one upload and complete it like any other.

    Preconditions: parts were fetched through the caller's own uploads (the door checks who may
    address them). They must all be partial, open and fully received, and each can be joined
    once. The final upload is checked as any upload (whole-file SHA-256, content, dedup) and
    becomes one photo; the parts are then removed. On a full disk (507) nothing is created and
    the parts stay as they were, so the same request works later.
    """
    if not parts:
        raise InvalidInput("Upload-Concat: final needs at least one partial upload.")
    ids = [part.pk for part in parts]
    if len(set(ids)) != len(ids):
        raise InvalidInput("Upload-Concat: final names the same partial upload twice.")
    for part in parts:
        if part.concat != UploadConcat.PARTIAL:
            raise InvalidInput("Upload-Concat: final may only name partial uploads.")
        _check_open(part)
        if part.status != UploadStatus.OPEN:
            raise Conflict("A partial upload named here was already joined into a final upload.")
        if part.offset != part.size:
            raise Conflict(
                f"A partial upload named here has {part.offset} of its {part.size} bytes; finish it first.",
                code="incomplete",
            )
    with transaction.atomic():
        claimed = Upload.objects.filter(pk__in=ids, status=UploadStatus.OPEN, concat=UploadConcat.PARTIAL).update(
            status=UploadStatus.COMPLETING, updated_at=timezone.now()
        )
        if claimed != len(ids):
            raise Conflict("A partial upload named here is being joined by another request.")
    final = None
    try:
        final = upload_create(
            owner=owner,
            gallery=gallery,
            filename=filename,
            size=sum(part.size for part in parts),
            sha256=sha256,
            protocol=UploadProtocol.TUS,
            share_link=share_link,
            guest_name=guest_name,
            guest_visitor=guest_visitor,
            concat=UploadConcat.FINAL,
            parts=parts,
        )
        with _disk_full_as("the parts could not be joined."):
            get_chunk_store().concat(
                str(final.id), final.store_state, [(str(part.id), part.store_state, part.size) for part in parts]
            )
        Upload.objects.filter(pk=final.pk).update(offset=final.size, updated_at=timezone.now())
        final.offset = final.size
        upload_complete(upload=final)
    except StorageFull:
        _release_parts(ids, final)
        raise
    except ServiceError as exc:
        if final is None:  # refused before anything was joined (type, size, caps): the parts stay
            _release_parts(ids, None)
            raise
        _consume_parts(parts)
        raise exc
    except BaseException:
        _release_parts(ids, final)
        raise
    _consume_parts(parts)
    final.refresh_from_db()
    return final


def _release_parts(ids: list, final: Upload | None) -> None:
    """Undo a final upload that could not be made: it goes, its parts are open again."""
    if final is not None:
        get_chunk_store().discard(str(final.id), final.store_state)
        Upload.objects.filter(pk=final.pk).delete()
    Upload.objects.filter(pk__in=ids, status=UploadStatus.COMPLETING).update(status=UploadStatus.OPEN)


def _consume_parts(parts: list[Upload]) -> None:
    for part in parts:
        _finish(part, status=UploadStatus.COMPLETE)


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
    from uploads import presigned  # imports this module; the S3 door's multipart uploads go first (issue 16)

    count = presigned.presigned_expire(now=now)
    for upload in Upload.objects.filter(status=UploadStatus.OPEN, expires_at__lte=now).iterator():
        claimed = Upload.objects.filter(pk=upload.pk, status=UploadStatus.OPEN).update(status=UploadStatus.EXPIRED)
        if claimed:
            _finish(upload, status=UploadStatus.EXPIRED)
            count += 1
    # Parts claimed by a final upload whose request died (joining takes seconds, expiry is hours).
    stuck = Upload.objects.filter(concat=UploadConcat.PARTIAL, status=UploadStatus.COMPLETING, expires_at__lte=now)
    for upload in stuck.iterator():
        if Upload.objects.filter(pk=upload.pk, status=UploadStatus.COMPLETING).update(status=UploadStatus.EXPIRED):
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
