"""Presigned direct-to-S3 uploads: the client PUTs the parts of an S3 multipart upload straight
to the bucket, so the web nodes never carry the bytes.

The flow (docs/api.md, "Presigned direct-to-S3 uploads"):
1. presigned_create: an Upload (protocol "s3") and an S3 multipart upload under the private
   staging key incoming/<upload-id>, never under a content-addressed key.
2. presigned_sign_parts: short-lived presigned PUT URLs for some part numbers; a part's SHA-256,
   when the client gives it, is signed into its URL so the store refuses other bytes.
3. presigned_parts: which parts arrived (ListParts), so a client can resume.
4. presigned_complete: the server builds the part list from ListParts (never the client's),
   completes the multipart upload, checks the size, and queues verify_presigned_upload.
5. verify_presigned_upload (django-q2 task): streams the object once while hashing it, compares
   the whole-file SHA-256 with the client's, checks the content exactly as every door does
   (photo_check), then adds it through photos_add, which deduplicates by SHA-256 and stores it
   under its content-addressed key; the staging object is deleted whatever the outcome.

The stale-upload sweep (presigned_expire, called by uploads_expire) aborts abandoned multipart
uploads and deletes staging objects, including ones no Upload row knows.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import logging
import math
import tempfile
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from accounts.models import User
from config import events
from config.exceptions import Conflict, ContentMismatch, InvalidInput, ServiceError
from galleries import services as gallery_services
from galleries.models import Gallery
from sharing.models import ShareLink
from uploads import services
from uploads.chunkstore import READ_SIZE, _s3_client
from uploads.models import Upload, UploadProtocol, UploadStatus

log = logging.getLogger(__name__)

STAGING_PREFIX = "incoming/"
MiB = 2**20
MIN_PART_SIZE = 5 * MiB  # S3's minimum for every part but the last
MAX_PART_SIZE = 5 * 2**30  # S3's maximum part size
MAX_PARTS = 10_000  # S3's maximum part number
MAX_SIGN_PER_REQUEST = 100
# A verification whose worker died is left this long past the upload's expiry before the sweep
# cleans it (a big file takes minutes to stream and check, never hours).
VERIFY_GRACE_SECONDS = 3600
NO_SUCH_UPLOAD = {"NoSuchUpload", "404"}


class StoredLocally(Conflict):
    """The S3 door on a server that keeps files on its own disk."""

    def __init__(self) -> None:
        super().__init__(
            "This server stores files on its own disk, not in S3, so uploads cannot go straight to object "
            "storage. Use tus (/api/v1/tus/) or the chunk protocol (POST /api/v1/uploads) instead.",
            code="storage_local",
        )


class MissingParts(Conflict):
    """Complete was called before every part arrived; the upload stays open."""

    def __init__(self, missing: list[int]) -> None:
        shown = ", ".join(str(n) for n in missing[:20]) + (" …" if len(missing) > 20 else "")
        super().__init__(
            f"{len(missing)} part{'s are' if len(missing) != 1 else ' is'} missing: {shown}.", code="incomplete"
        )
        self.missing = missing


def s3_in_use() -> bool:
    return bool(getattr(settings, "USE_S3", False)) and settings.UPLOAD_CHUNK_STORE.endswith("S3ChunkStore")


def _client() -> Any:
    return _s3_client(
        settings.S3_ENDPOINT_URL or "",
        settings.S3_ACCESS_KEY_ID or "",
        settings.S3_SECRET_ACCESS_KEY or "",
        settings.S3_REGION or "",
    )


def staging_key(upload_id: Any) -> str:
    return f"{STAGING_PREFIX}{upload_id}"


def part_count(upload: Upload) -> int:
    return max(1, math.ceil(upload.size / upload.chunk_size))


def part_length(upload: Upload, number: int) -> int:
    """The exact byte count part `number` (1-based) must have."""
    count = part_count(upload)
    return upload.chunk_size if number < count else upload.size - upload.chunk_size * (count - 1)


def _part_size_for(size: int, requested: int | None) -> int:
    if requested is None:
        # At least the chunk size, and large enough that the file fits S3's 10,000 parts (whole MiB).
        fitting = math.ceil(math.ceil(size / MAX_PARTS) / MiB) * MiB
        return max(MIN_PART_SIZE, settings.UPLOAD_CHUNK_SIZE, fitting)
    if isinstance(requested, bool) or not isinstance(requested, int):
        raise InvalidInput("part_size must be a whole number of bytes.")
    if not MIN_PART_SIZE <= requested <= MAX_PART_SIZE:
        raise InvalidInput(
            f"part_size must be between {MIN_PART_SIZE} bytes (5 MiB, S3's minimum) and {MAX_PART_SIZE} (5 GiB)."
        )
    if math.ceil(size / requested) > MAX_PARTS:
        raise InvalidInput(
            f"With a part_size of {requested} bytes this file needs more than {MAX_PARTS} parts; use larger parts."
        )
    return requested


def _s3_state(upload: Upload) -> dict:
    state = upload.store_state.get("presigned") if isinstance(upload.store_state, dict) else None
    if not state:
        raise Conflict("This upload has no S3 multipart upload; start it again.")
    return state


def _require_s3_door(upload: Upload) -> None:
    if not s3_in_use():
        raise StoredLocally()
    if upload.protocol != UploadProtocol.S3:
        raise Conflict("This upload does not go straight to S3; use the protocol it was started with.")


# --- Writes ----------------------------------------------------------------------------------


def presigned_create(
    *,
    owner: User | None,
    gallery: Gallery,
    filename: str,
    size: int,
    sha256: str,
    part_size: int | None = None,
    share_link: ShareLink | None = None,
    guest_name: str = "",
    guest_visitor: str = "",
) -> Upload:
    """Open an upload whose parts the client PUTs straight to S3 (see the module docstring).

    Held to the same checks as every door (upload_create: name, type, size limits, caps).
    sha256 is required: it is what the server compares the object's own hash with.
    """
    if not s3_in_use():
        raise StoredLocally()
    claimed = services.check_sha256(sha256)
    if not claimed:
        raise InvalidInput("sha256 is required: the hex SHA-256 of the whole file.")
    if not isinstance(size, int) or isinstance(size, bool) or size <= 0:
        raise InvalidInput("size must be a positive number of bytes.")
    chosen = _part_size_for(size, part_size)
    upload = services.upload_create(
        owner=owner,
        gallery=gallery,
        filename=filename,
        size=size,
        sha256=claimed,
        protocol=UploadProtocol.S3,
        chunk_size=chosen,
        share_link=share_link,
        guest_name=guest_name,
        guest_visitor=guest_visitor,
    )
    key = staging_key(upload.pk)
    try:
        created = _client().create_multipart_upload(
            Bucket=settings.S3_BUCKET, Key=key, ContentType="application/octet-stream"
        )
    except BaseException:
        Upload.objects.filter(pk=upload.pk).delete()
        raise
    upload.store_state = {**upload.store_state, "presigned": {"key": key, "multipart": created["UploadId"]}}
    Upload.objects.filter(pk=upload.pk).update(store_state=upload.store_state)
    return upload


def _check_checksum(number: int, value: str) -> str:
    try:
        digest = base64.b64decode(value, validate=True)
    except (binascii.Error, ValueError):
        digest = b""
    if len(digest) != 32:
        raise InvalidInput(f"checksum_sha256 of part {number} must be the base64 of a SHA-256 (32 bytes).")
    return value


def presigned_sign_parts(*, upload: Upload, numbers: list[int], checksums: dict[int, str] | None = None) -> dict:
    """Presigned PUT URLs for some parts (1-based numbers), valid for UPLOAD_PRESIGNED_URL_TTL.

    checksums: part number -> base64 SHA-256 of that part; it is signed into the URL and must be
    sent as the x-amz-checksum-sha256 header, so the store refuses any other bytes.
    """
    _require_s3_door(upload)
    services._check_open(upload)
    if upload.status != UploadStatus.OPEN:
        raise Conflict("This upload is being completed or is complete; no more parts can be sent.")
    checksums = checksums or {}
    if not numbers:
        raise InvalidInput("numbers must list at least one part number.")
    if len(numbers) > MAX_SIGN_PER_REQUEST:
        raise InvalidInput(f"Ask for at most {MAX_SIGN_PER_REQUEST} parts at a time.")
    if len(set(numbers)) != len(numbers):
        raise InvalidInput("numbers lists the same part twice.")
    count = part_count(upload)
    wrong = [n for n in numbers if not 1 <= n <= count]
    if wrong:
        raise InvalidInput(f"This upload has parts 1 to {count}; there is no part {wrong[0]}.")
    unknown = [n for n in checksums if n not in numbers]
    if unknown:
        raise InvalidInput(f"checksum_sha256 names part {unknown[0]}, which is not in numbers.")
    state = _s3_state(upload)
    client = _client()
    ttl = int(settings.UPLOAD_PRESIGNED_URL_TTL.total_seconds())
    parts = []
    for number in numbers:
        params = {
            "Bucket": settings.S3_BUCKET,
            "Key": state["key"],
            "UploadId": state["multipart"],
            "PartNumber": number,
        }
        headers = {}
        if number in checksums:
            params["ChecksumSHA256"] = headers["x-amz-checksum-sha256"] = _check_checksum(number, checksums[number])
        url = client.generate_presigned_url("upload_part", Params=params, ExpiresIn=ttl, HttpMethod="PUT")
        parts.append({"number": number, "size": part_length(upload, number), "url": url, "headers": headers})
    # Handing out URLs is progress: it keeps a guest's reservation (services.guest_uploads_counted).
    Upload.objects.filter(pk=upload.pk).update(updated_at=timezone.now())
    return {"parts": parts, "expires_at": timezone.now() + settings.UPLOAD_PRESIGNED_URL_TTL}


def _list_parts(client: Any, state: dict) -> list[dict]:
    pages = client.get_paginator("list_parts").paginate(
        Bucket=settings.S3_BUCKET, Key=state["key"], UploadId=state["multipart"]
    )
    return [part for page in pages for part in page.get("Parts", [])]


def presigned_parts(*, upload: Upload) -> list[dict]:
    """The parts that have arrived: [{number, size, etag}], by number."""
    _require_s3_door(upload)
    services._check_open(upload)
    if upload.status != UploadStatus.OPEN:
        raise Conflict("This upload is being completed or is complete; its parts are no longer listed.")
    found = _list_parts(_client(), _s3_state(upload))
    return sorted(
        ({"number": p["PartNumber"], "size": p["Size"], "etag": p["ETag"]} for p in found), key=lambda p: p["number"]
    )


def presigned_complete(*, upload: Upload) -> Upload:
    """Complete the multipart upload from the parts S3 holds, check its size, queue the verification.

    Missing parts: MissingParts (409), the upload stays open. Parts of the wrong sizes, or an
    object of another size than declared: ContentMismatch (422), everything staged is deleted
    and the upload fails. Otherwise the upload is "completing" and verify_presigned_upload runs
    on the worker after commit; calling complete again returns the upload as it stands.
    """
    _require_s3_door(upload)
    if upload.status == UploadStatus.OPEN:
        services._check_open(upload)  # expired: 410
    claimed = Upload.objects.filter(pk=upload.pk, status=UploadStatus.OPEN).update(
        status=UploadStatus.COMPLETING, updated_at=timezone.now()
    )
    if not claimed:
        upload.refresh_from_db()
        if upload.status in (UploadStatus.COMPLETING, UploadStatus.COMPLETE):
            return upload
        services._check_open(upload)
        raise Conflict("This upload cannot be completed now.")
    state = _s3_state(upload)
    client = _client()
    try:
        parts = {p["PartNumber"]: p for p in _list_parts(client, state)}
        count = part_count(upload)
        missing = [n for n in range(1, count + 1) if n not in parts]
        if missing:
            raise MissingParts(missing)
    except BaseException:
        Upload.objects.filter(pk=upload.pk, status=UploadStatus.COMPLETING).update(status=UploadStatus.OPEN)
        raise
    wrong = [n for n in range(1, count + 1) if parts[n]["Size"] != part_length(upload, n)]
    if wrong:
        n = wrong[0]
        _fail(
            upload,
            ContentMismatch(
                f"Part {n} has {parts[n]['Size']} bytes, but a file of {upload.size} bytes in parts of "
                f"{upload.chunk_size} needs {part_length(upload, n)} there; the upload was discarded.",
                code="size_mismatch",
            ),
        )
    try:
        client.complete_multipart_upload(
            Bucket=settings.S3_BUCKET,
            Key=state["key"],
            UploadId=state["multipart"],
            MultipartUpload={"Parts": [{"PartNumber": n, "ETag": parts[n]["ETag"]} for n in range(1, count + 1)]},
        )
    except BaseException as exc:  # the store said no or went away: the parts are still there, try again later
        Upload.objects.filter(pk=upload.pk, status=UploadStatus.COMPLETING).update(status=UploadStatus.OPEN)
        if isinstance(exc, client.exceptions.ClientError):  # e.g. a part sent again meanwhile (InvalidPart)
            code = exc.response.get("Error", {}).get("Code", "")
            raise Conflict(
                f"The store refused to join the parts ({code}); ask which arrived and complete again."
            ) from exc
        raise
    stored = client.head_object(Bucket=settings.S3_BUCKET, Key=state["key"])["ContentLength"]
    if stored != upload.size:
        _fail(
            upload,
            ContentMismatch(
                f"The stored file has {stored} bytes, not the {upload.size} declared; it was discarded.",
                code="size_mismatch",
            ),
        )
    upload.store_state = {**upload.store_state, "presigned": {**state, "completed": True}}
    Upload.objects.filter(pk=upload.pk).update(store_state=upload.store_state)
    transaction.on_commit(lambda: _enqueue_verify(upload.pk))
    upload.refresh_from_db()
    return upload


def _enqueue_verify(upload_id: Any) -> None:
    from django_q.tasks import async_task

    async_task(
        "uploads.presigned.verify_presigned_upload", str(upload_id), task_name=f"verify-upload-{upload_id}"[:100]
    )


def verify_presigned_upload(upload_id: str) -> str:
    """Task: verify a completed S3 upload and make it a photo, or fail it. Takes an id, refetches.

    Streams the staging object once into a local temporary file while hashing it; a whole-file
    SHA-256 other than the client's fails it (422), and photo_check refuses what every door
    refuses (415, 413…). The photo is added through photos_add (dedup by SHA-256, stored under
    the content-addressed key). The staging object is deleted in every outcome. Running it
    again for an upload that is no longer completing does nothing.
    """
    upload = Upload.objects.select_related("gallery").filter(pk=upload_id).first()
    if upload is None or upload.status != UploadStatus.COMPLETING or upload.protocol != UploadProtocol.S3:
        return "nothing to do"
    state = (upload.store_state or {}).get("presigned") or {}
    if not state.get("completed"):
        return "not completed"
    client = _client()
    Path(settings.UPLOAD_TEMP_DIR).mkdir(parents=True, exist_ok=True)
    try:
        with tempfile.TemporaryFile(dir=settings.UPLOAD_TEMP_DIR) as spool:
            body = client.get_object(Bucket=settings.S3_BUCKET, Key=state["key"])["Body"]
            digest = hashlib.sha256()
            size = 0
            try:
                for piece in iter(lambda: body.read(READ_SIZE), b""):
                    digest.update(piece)
                    spool.write(piece)
                    size += len(piece)
            finally:
                body.close()
            server_sha = digest.hexdigest()
            if size != upload.size:
                raise ContentMismatch(f"The stored file has {size} bytes, not the {upload.size} declared.")
            if server_sha != upload.sha256:
                raise ContentMismatch(
                    "The file's SHA-256 does not match the one given when the upload started; it was not stored."
                )
            spool.seek(0)
            checked = gallery_services.photo_check(
                file=spool, filename=upload.filename, size=size, server_sha256=server_sha
            )
            photo, _ = gallery_services.photos_add(
                gallery=upload.gallery, files=[checked], contributor=services._contributor(upload)
            )[0]
    except ServiceError as exc:
        _fail(upload, exc, reraise=False)
        return f"failed: {exc.message}"
    except Exception:
        # The store or the disk failed us: say so rather than leave the client waiting for ever.
        log.exception("verifying direct-to-S3 upload %s failed", upload.pk)
        error = ServiceError("The file could not be verified because of a server error; upload it again.")
        error.status_code, error.code = 503, "verify_failed"
        _fail(upload, error, reraise=False)
        raise
    _delete_staging(client, state["key"])
    services._finish(upload, status=UploadStatus.COMPLETE, photo=photo)
    events.emit("upload.completed", owner=upload.gallery.owner_id, obj_id=upload.pk)
    if photo.contributor and not photo.is_approved:
        events.emit("guest_upload.pending", owner=upload.gallery.owner_id, obj_id=photo.pk)
    return f"photo {photo.pk}"


def _fail(upload: Upload, exc: ServiceError, *, reraise: bool = True) -> None:
    """Discard everything staged for the upload, record why (and the HTTP status), fail it.

    If the store cannot be reached to discard, the upload still fails; the sweep removes the
    staging object and multipart upload later (no live upload holds them any more).
    """
    try:
        _discard_s3(upload)
    except Exception:
        log.exception("could not discard the staging of direct-to-S3 upload %s; the sweep will", upload.pk)
    upload.store_state = {**upload.store_state, "failure": {"status": exc.status_code, "code": exc.code}}
    Upload.objects.filter(pk=upload.pk).update(store_state=upload.store_state)
    services._finish(upload, status=UploadStatus.FAILED, error=exc.message)
    if reraise:
        raise exc


def failure_of(upload: Upload) -> ServiceError | None:
    """The error a failed S3 upload ended with, with its HTTP status, to answer as it was raised."""
    if upload.status != UploadStatus.FAILED:
        return None
    failure = (upload.store_state or {}).get("failure") or {}
    error = ServiceError(upload.error or "The upload failed.", code=failure.get("code") or "failed")
    error.status_code = int(failure.get("status") or 422)
    return error


def _delete_staging(client: Any, key: str) -> None:
    client.delete_object(Bucket=settings.S3_BUCKET, Key=key)


def _abort_multipart(client: Any, key: str, multipart: str) -> None:
    try:
        client.abort_multipart_upload(Bucket=settings.S3_BUCKET, Key=key, UploadId=multipart)
    except client.exceptions.ClientError as exc:
        if exc.response.get("Error", {}).get("Code") not in NO_SUCH_UPLOAD:
            raise


def _discard_s3(upload: Upload) -> None:
    """Abort the multipart upload and delete the staging object, whichever exist."""
    state = (upload.store_state or {}).get("presigned")
    if not state:
        return
    client = _client()
    _abort_multipart(client, state["key"], state["multipart"])
    _delete_staging(client, state["key"])


def presigned_abort(*, upload: Upload) -> None:
    """Cancel an S3 upload: the multipart upload is aborted and anything staged deleted; later calls get 410."""
    claimed = Upload.objects.filter(pk=upload.pk, status=UploadStatus.OPEN).update(
        status=UploadStatus.ABORTED, updated_at=timezone.now()
    )
    if not claimed:
        upload.refresh_from_db()
        services.upload_abort(upload=upload)  # complete: 409; aborted already: nothing to do
        return
    _discard_s3(upload)
    services._finish(upload, status=UploadStatus.ABORTED)


# --- The sweep -------------------------------------------------------------------------------


def presigned_expire(*, now: datetime | None = None) -> int:
    """Expire S3 uploads past their time and clean the staging prefix. Idempotent; returns the count.

    Open uploads past expires_at (and verifications whose worker died, after a grace) lose their
    multipart upload and staging object. Multipart uploads and staging objects under the prefix
    that no live upload holds are removed once older than UPLOAD_EXPIRY.
    """
    if not s3_in_use():
        return 0
    now = now or timezone.now()
    count = 0
    grace = timedelta(seconds=VERIFY_GRACE_SECONDS)
    s3_uploads = Upload.objects.filter(protocol=UploadProtocol.S3)
    candidates = [
        *s3_uploads.filter(status=UploadStatus.OPEN, expires_at__lte=now).values_list("pk", "status"),
        *s3_uploads.filter(status=UploadStatus.COMPLETING, expires_at__lte=now - grace).values_list("pk", "status"),
    ]
    for pk, status in candidates:
        if Upload.objects.filter(pk=pk, status=status).update(status=UploadStatus.EXPIRED):
            upload = Upload.objects.get(pk=pk)
            _discard_s3(upload)
            services._finish(upload, status=UploadStatus.EXPIRED)
            count += 1
    try:
        return count + _sweep_orphans(now)
    except _client().exceptions.ClientError:  # a store without ListMultipartUploads: the rest of the sweep goes on
        log.exception("could not sweep the staging prefix %s of the bucket", STAGING_PREFIX)
        return count


def _sweep_orphans(now: datetime) -> int:
    """Abort multipart uploads and delete staging objects under the prefix that no live upload holds."""
    client = _client()
    cutoff = now - settings.UPLOAD_EXPIRY
    live = {
        str(pk): (state or {}).get("presigned", {}).get("multipart")
        for pk, state in Upload.objects.filter(
            protocol=UploadProtocol.S3, status__in=[UploadStatus.OPEN, UploadStatus.COMPLETING]
        ).values_list("pk", "store_state")
    }
    removed = 0
    pages = client.get_paginator("list_multipart_uploads").paginate(Bucket=settings.S3_BUCKET, Prefix=STAGING_PREFIX)
    for page in pages:
        for found in page.get("Uploads", []):
            upload_id = found["Key"][len(STAGING_PREFIX) :]
            if live.get(upload_id) == found["UploadId"] or found["Initiated"] > cutoff:
                continue
            _abort_multipart(client, found["Key"], found["UploadId"])
            removed += 1
    pages = client.get_paginator("list_objects_v2").paginate(Bucket=settings.S3_BUCKET, Prefix=STAGING_PREFIX)
    for page in pages:
        for obj in page.get("Contents", []):
            if obj["Key"][len(STAGING_PREFIX) :] in live or obj["LastModified"] > cutoff:
                continue
            _delete_staging(client, obj["Key"])
            removed += 1
    return removed
