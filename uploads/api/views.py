from __future__ import annotations

import base64
import uuid
from collections.abc import Iterator
from urllib.parse import urlsplit

from django.conf import settings
from django.http import HttpResponse, JsonResponse
from django.shortcuts import get_object_or_404
from django.urls import Resolver404, resolve, reverse
from django.utils.http import http_date
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import status
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts.permissions import IsPhotographer
from config.api import ErrorSerializer, errors
from config.exceptions import InvalidInput, NotFound, TooLarge, UnsupportedType
from config.schema import HeadOptionsSchema
from galleries.api.presenters import photo_out
from galleries.models import Gallery, Photo
from uploads import presigned, services
from uploads.api.serializers import (
    ChunkReceiptSerializer,
    MissingChunksSerializer,
    S3CompleteAcceptedSerializer,
    S3MissingPartsSerializer,
    S3PartsSignSerializer,
    S3PartsStateSerializer,
    S3PartUrlsSerializer,
    S3UploadCreatedSerializer,
    S3UploadCreateSerializer,
    UploadCompleteSerializer,
    UploadCreateSerializer,
    UploadStateSerializer,
)
from uploads.chunkstore import READ_SIZE
from uploads.models import Upload, UploadConcat, UploadProtocol, UploadStatus

# The disk or quota filled up: every door that stores bytes can say so (see services.StorageFull).
STORAGE_FULL = {
    507: OpenApiResponse(
        ErrorSerializer,
        description="Insufficient storage: the server's disk is full. Nothing received before is lost; "
        "retry later and the upload carries on.",
    )
}


def _get_upload_for_user(request: Request, upload_id: uuid.UUID) -> Upload:
    return get_object_or_404(Upload.objects.owned_by(request.user).select_related("gallery"), pk=upload_id)


def _gallery_for_upload(request: Request, gallery_id: uuid.UUID | str | None) -> Gallery:
    try:
        pk = uuid.UUID(str(gallery_id))
    except ValueError:
        raise InvalidInput("gallery must be the id of one of your galleries.") from None
    gallery = Gallery.objects.editable_by(request.user).filter(pk=pk, deleted_at__isnull=True).first()
    if gallery is None:
        raise NotFound("No such gallery.")
    return gallery


def request_body(request: Request, length: int | None) -> Iterator[bytes]:
    """The raw body, read in pieces as it arrives (never buffered whole)."""
    raw = request._request
    remaining = length
    while remaining is None or remaining > 0:
        piece = raw.read(READ_SIZE if remaining is None else min(READ_SIZE, remaining))
        if not piece:
            return
        if remaining is not None:
            remaining -= len(piece)
        yield piece


# 18 digits: anything longer is over every limit and over what a 64-bit size column holds.
MAX_NUMBER_DIGITS = 18


def header_number(value: str | None, name: str, *, required: bool = False) -> int | None:
    """A header holding a whole number: ASCII digits 0-9 only, or InvalidInput naming the header.

    str.isdigit() alone also accepts superscripts and other scripts' digits, which int() then
    refuses or reads differently; signs, spaces and empty values are refused too.
    """
    if value is None or value == "":
        if required:
            raise InvalidInput(f"{name} is required: a whole number written with the digits 0-9.")
        return None
    if not (value.isascii() and value.isdigit()):
        raise InvalidInput(f"{name} must be a whole number written with the digits 0-9, not {value[:40]!r}.")
    if len(value) > MAX_NUMBER_DIGITS:
        raise InvalidInput(f"{name} must have at most {MAX_NUMBER_DIGITS} digits.")
    return int(value)


def content_length(request: Request) -> int | None:
    return header_number(request.META.get("CONTENT_LENGTH"), "Content-Length")


CHUNK_CONTENT_TYPES = ("", "application/octet-stream")


def check_octet_stream(request: Request, allowed: tuple[str, ...], what: str) -> None:
    """415 unless the body is declared as raw bytes (JSON, forms and the like are refused)."""
    media_type = (request.META.get("CONTENT_TYPE") or "").split(";", 1)[0].strip().lower()
    if media_type not in allowed:
        raise UnsupportedType(f"{what} must be sent as Content-Type: {allowed[-1]}, not {media_type[:80]!r}.")


# --- Door 1: the chunk protocol --------------------------------------------------------------


class UploadCreateApi(APIView):
    permission_classes = [IsPhotographer]

    @extend_schema(
        summary="Start a resumable upload",
        description="Announce a file; then PUT its chunks (any order, each with X-Chunk-SHA256) and POST complete.",
        request=UploadCreateSerializer,
        responses={201: UploadStateSerializer, **errors(400, 401, 403, 404, 413, 415, 429)},
        tags=["uploads"],
    )
    def post(self, request: Request) -> Response:
        data = UploadCreateSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        gallery = _gallery_for_upload(request, data.validated_data["gallery"])
        upload = services.upload_create(
            owner=request.user,
            gallery=gallery,
            filename=data.validated_data["filename"],
            size=data.validated_data["size"],
            sha256=data.validated_data.get("sha256"),
            protocol=UploadProtocol.CHUNKS,
        )
        return Response(UploadStateSerializer(services.upload_state(upload)).data, status=status.HTTP_201_CREATED)


class UploadDetailApi(APIView):
    permission_classes = [IsPhotographer]

    @extend_schema(
        summary="Where an upload stands",
        description="Which chunks have arrived, so a client can resume after an interruption.",
        responses={200: UploadStateSerializer, **errors(401, 403, 404)},
        tags=["uploads"],
    )
    def get(self, request: Request, upload_id: uuid.UUID) -> Response:
        upload = _get_upload_for_user(request, upload_id)
        state = services.upload_state(upload)
        if upload.protocol == UploadProtocol.S3:  # its parts are in S3: GET …/s3/parts lists them
            state["received_chunks"] = state["missing_chunks"] = []
        return Response(UploadStateSerializer(state).data)

    @extend_schema(
        summary="Cancel an upload",
        description="Its bytes are removed (for a direct-to-S3 upload, its multipart upload is aborted); "
        "later calls get 410.",
        responses={204: OpenApiResponse(description="Cancelled."), **errors(401, 403, 404, 409)},
        tags=["uploads"],
    )
    def delete(self, request: Request, upload_id: uuid.UUID) -> Response:
        upload = _get_upload_for_user(request, upload_id)
        if upload.protocol == UploadProtocol.S3:
            presigned.presigned_abort(upload=upload)
        else:
            services.upload_abort(upload=upload)
        return Response(status=status.HTTP_204_NO_CONTENT)


class UploadChunkApi(APIView):
    permission_classes = [IsPhotographer]
    parser_classes: list = []

    @extend_schema(
        summary="Send one chunk",
        description="The raw bytes of chunk `index` (0-based; each chunk_size long, the last one the rest). "
        "Verified against X-Chunk-SHA256 before it is recorded. Idempotent: sending a chunk again is harmless.",
        parameters=[
            OpenApiParameter(
                "X-Chunk-SHA256",
                OpenApiTypes.STR,
                OpenApiParameter.HEADER,
                required=True,
                pattern="^[0-9a-fA-F]{64}$",
                description="The chunk's SHA-256, 64 hex digits.",
            )
        ],
        request={"application/octet-stream": OpenApiTypes.BINARY},
        responses={
            200: ChunkReceiptSerializer,
            201: ChunkReceiptSerializer,
            **errors(400, 401, 403, 404, 409, 410, 413, 415, 422),
            **STORAGE_FULL,
        },
        tags=["uploads"],
    )
    def put(self, request: Request, upload_id: uuid.UUID, index: int) -> Response:
        check_octet_stream(request, CHUNK_CONTENT_TYPES, "A chunk")
        length = content_length(request)
        if length is not None and length > settings.UPLOAD_MAX_CHUNK_SIZE:
            raise TooLarge(f"A chunk can be at most {settings.UPLOAD_MAX_CHUNK_SIZE} bytes.")
        upload = _get_upload_for_user(request, upload_id)
        created = services.upload_receive_chunk(
            upload=upload,
            index=index,
            stream=request_body(request, length),
            length=length,
            sha256=request.headers.get("X-Chunk-SHA256", ""),
        )
        body = {
            "index": index,
            "created": created,
            "received_chunks": upload.chunks.count(),
            "total_chunks": upload.total_chunks,
        }
        return Response(body, status=status.HTTP_201_CREATED if created else status.HTTP_200_OK)


class UploadCompleteApi(APIView):
    permission_classes = [IsPhotographer]

    @extend_schema(
        summary="Finish an upload",
        description="Assembles the chunks, hashes the whole file on the server, checks it against the SHA-256 "
        "given at the start, validates the content and adds the photo. 409 lists missing chunks. Calling it "
        "again returns the same photo.",
        request=None,
        responses={
            200: UploadCompleteSerializer,
            409: OpenApiResponse(MissingChunksSerializer, description="Chunks are missing."),
            **errors(401, 403, 404, 410, 413, 415, 422),
            **STORAGE_FULL,
        },
        tags=["uploads"],
    )
    def post(self, request: Request, upload_id: uuid.UUID) -> Response:
        upload = _get_upload_for_user(request, upload_id)
        try:
            photo = services.upload_complete(upload=upload)
        except services.MissingChunks as exc:
            return Response({"detail": exc.message, "missing_chunks": exc.missing}, status=status.HTTP_409_CONFLICT)
        photo = Photo.objects.with_media().get(pk=photo.pk)
        return Response({"photo": photo_out(request, photo, can_edit=True)})


# --- Door 2: tus 1.0 -------------------------------------------------------------------------

TUS_VERSION = "1.0.0"
TUS_EXTENSIONS = "creation,creation-with-upload,checksum,termination,expiration,concatenation"
MAX_CONCAT_PARTS = 100
TUS_CHECKSUMS = {"sha256": "sha256", "sha1": "sha1", "md5": "md5"}

# Every tus request but OPTIONS names the protocol version, or gets 412.
TUS_RESUMABLE = OpenApiParameter(
    "Tus-Resumable", OpenApiTypes.STR, OpenApiParameter.HEADER, required=True, enum=[TUS_VERSION]
)
TUS_VERSION_MISSING = {412: OpenApiResponse(ErrorSerializer, description="Tus-Resumable missing or unsupported.")}


def _tus_headers(response: HttpResponse) -> HttpResponse:
    response["Tus-Resumable"] = TUS_VERSION
    response["Cache-Control"] = "no-store"
    return response


def parse_metadata(header: str) -> dict[str, str]:
    """tus Upload-Metadata: comma-separated "key base64value" pairs."""
    result: dict[str, str] = {}
    for pair in filter(None, (p.strip() for p in header.split(","))):
        key, _, value = pair.partition(" ")
        try:
            result[key] = base64.b64decode(value, validate=True).decode("utf-8") if value else ""
        except ValueError:  # binascii.Error, UnicodeDecodeError, or a non-ASCII value
            raise InvalidInput(f"Upload-Metadata value for {key[:40]!r} is not valid base64 UTF-8.") from None
    return result


def parse_checksum(header: str) -> tuple[str, bytes] | None:
    if not header:
        return None
    algorithm, _, value = header.strip().partition(" ")
    if algorithm.lower() not in TUS_CHECKSUMS:
        raise InvalidInput(f"Checksum algorithm {algorithm!r} is not supported; use one of {', '.join(TUS_CHECKSUMS)}.")
    try:
        return TUS_CHECKSUMS[algorithm.lower()], base64.b64decode(value, validate=True)
    except ValueError:  # binascii.Error, or a non-ASCII value
        raise InvalidInput("Upload-Checksum must be an algorithm and a base64 digest.") from None


class TusMixin:
    permission_classes = [IsPhotographer]
    schema = HeadOptionsSchema()
    parser_classes: list = []

    def initial(self, request: Request, *args, **kwargs) -> None:
        super().initial(request, *args, **kwargs)
        if request.method != "OPTIONS" and request.headers.get("Tus-Resumable") != TUS_VERSION:
            raise _TusVersionError()

    def finalize_response(self, request: Request, response: HttpResponse, *args, **kwargs) -> HttpResponse:
        response = super().finalize_response(request, response, *args, **kwargs)
        return _tus_headers(response)

    def handle_exception(self, exc: Exception) -> HttpResponse:
        if isinstance(exc, _TusVersionError):
            response = JsonResponse({"detail": "Tus-Resumable: 1.0.0 is required."}, status=412)
            response["Tus-Version"] = TUS_VERSION
            return response
        return super().handle_exception(exc)

    @extend_schema(
        summary="tus: what this server supports",
        description="Tus-Version, Tus-Extension, Tus-Max-Size and Tus-Checksum-Algorithm headers. "
        "Needs no Tus-Resumable.",
        request=None,
        responses={204: OpenApiResponse(description="The capabilities, in headers."), **errors(401, 403, 404)},
        tags=["tus"],
    )
    def options(self, request: Request, *args, **kwargs) -> HttpResponse:
        response = HttpResponse(status=204)
        response["Tus-Version"] = TUS_VERSION
        response["Tus-Extension"] = TUS_EXTENSIONS
        response["Tus-Max-Size"] = str(max(settings.MAX_UPLOAD_SIZE, settings.MAX_VIDEO_SIZE))
        response["Tus-Checksum-Algorithm"] = ",".join(TUS_CHECKSUMS)
        return response

    def _upload(self, request: Request, upload_id: uuid.UUID, **kwargs) -> Upload:
        """A tus upload this client may address, or 404."""
        upload = _get_upload_for_user(request, upload_id)
        if upload.protocol != UploadProtocol.TUS:
            raise NotFound("No such tus upload.")
        return upload

    def _location(self, upload: Upload, **kwargs) -> str:
        return reverse(self.detail_url_name, kwargs={**kwargs, "upload_id": upload.pk})

    detail_url_name = "tus-detail"


class _TusVersionError(Exception):
    pass


def _expires(upload: Upload) -> str:
    return http_date(upload.expires_at.timestamp())


def _tus_patch(request: Request, upload: Upload, *, offset: int) -> int:
    """Write a PATCH body and complete the upload when its last byte has arrived."""
    length = content_length(request)
    if length is None:
        raise InvalidInput("Content-Length is required.")
    if length > settings.UPLOAD_MAX_CHUNK_SIZE and length > upload.size - offset:
        raise TooLarge("The body is larger than the rest of the upload.")
    new_offset = services.upload_receive_tus(
        upload=upload,
        offset=offset,
        stream=request_body(request, length),
        checksum=parse_checksum(request.headers.get("Upload-Checksum", "")),
    )
    if new_offset == upload.size and upload.concat != UploadConcat.PARTIAL:
        services.upload_complete(upload=upload)
    return new_offset


class TusCreateApi(TusMixin, APIView):
    @extend_schema(
        summary="tus: create an upload",
        description="tus 1.0 creation (and creation-with-upload). Upload-Metadata must carry `gallery` (an id) and "
        "`filename` (or `name`). Concatenation: `Upload-Concat: partial` creates a part (bytes only, no "
        "metadata needed, never a photo on its own); `Upload-Concat: final;<url> <url>` joins finished parts, "
        "in order, into one upload that is checked and added like any other.",
        parameters=[
            TUS_RESUMABLE,
            OpenApiParameter("Upload-Length", OpenApiTypes.INT, OpenApiParameter.HEADER),
            OpenApiParameter("Upload-Metadata", OpenApiTypes.STR, OpenApiParameter.HEADER),
            OpenApiParameter("Upload-Concat", OpenApiTypes.STR, OpenApiParameter.HEADER),
        ],
        request={"application/offset+octet-stream": OpenApiTypes.BINARY},
        responses={
            201: OpenApiResponse(description="Created; Location names the upload."),
            **errors(400, 401, 403, 404, 409, 410, 413, 415, 422, 429),
            **TUS_VERSION_MISSING,
            460: OpenApiResponse(description="Checksum mismatch."),
            **STORAGE_FULL,
        },
        tags=["tus"],
    )
    def post(self, request: Request, **kwargs) -> HttpResponse:
        if request.headers.get("Upload-Defer-Length") is not None:
            raise InvalidInput("Upload-Defer-Length is not supported here: send Upload-Length with the file's size.")
        concat = request.headers.get("Upload-Concat", "")
        metadata = parse_metadata(request.headers.get("Upload-Metadata", ""))
        if concat.startswith("final;"):
            if request.headers.get("Upload-Length") is not None:
                raise InvalidInput("A final upload takes its length from its parts: leave Upload-Length out.")
            parts = self._parts(request, concat.removeprefix("final;"), **kwargs)
            upload = self._create_final(request, metadata, parts, **kwargs)
        else:
            size = header_number(request.headers.get("Upload-Length"), "Upload-Length", required=True)
            if concat == "partial":
                upload = self._create_partial(request, size, **kwargs)
            elif concat:
                raise InvalidInput('Upload-Concat must be "partial" or "final;" followed by the parts\' URLs.')
            else:
                upload = self._create(request, metadata, size, **kwargs)
        response = HttpResponse(status=201)
        response["Location"] = request.build_absolute_uri(self._location(upload, **kwargs))
        response["Upload-Expires"] = _expires(upload)
        if (
            upload.concat != UploadConcat.FINAL
            and content_length(request)
            and request.content_type == "application/offset+octet-stream"
        ):
            response["Upload-Offset"] = str(_tus_patch(request, upload, offset=0))
        return response

    def _parts(self, request: Request, urls: str, **kwargs) -> list[Upload]:
        """The partial uploads named by a final upload, each one this client's own."""
        names = urls.split()
        if not names:
            raise InvalidInput("Upload-Concat: final; must be followed by the URLs of the parts.")
        if len(names) > MAX_CONCAT_PARTS:
            raise InvalidInput(f"A final upload can join at most {MAX_CONCAT_PARTS} parts.")
        parts = []
        for name in names:
            try:
                match = resolve(urlsplit(name).path)
            except (Resolver404, ValueError):
                match = None
            if (
                match is None
                or match.url_name != self.detail_url_name
                or any(match.kwargs.get(key) != value for key, value in kwargs.items())
            ):
                raise InvalidInput(f"{name[:200]!r} is not the URL of a tus upload at this address.")
            parts.append(self._upload(request, match.kwargs["upload_id"], **kwargs))
        return parts

    def _create(self, request: Request, metadata: dict, size: int) -> Upload:
        return services.upload_create(
            owner=request.user,
            gallery=_gallery_for_upload(request, metadata.get("gallery")),
            filename=metadata.get("filename") or metadata.get("name") or "",
            size=size,
            sha256=metadata.get("sha256"),
            protocol=UploadProtocol.TUS,
        )

    def _create_partial(self, request: Request, size: int) -> Upload:
        return services.upload_create_partial(owner=request.user, size=size)

    def _create_final(self, request: Request, metadata: dict, parts: list[Upload]) -> Upload:
        return services.upload_create_final(
            owner=request.user,
            gallery=_gallery_for_upload(request, metadata.get("gallery")),
            filename=metadata.get("filename") or metadata.get("name") or "",
            sha256=metadata.get("sha256"),
            parts=parts,
        )


class TusDetailApi(TusMixin, APIView):
    @extend_schema(
        summary="tus: offset of an upload",
        description="Upload-Offset and Upload-Length; Upload-Concat for a part or a final upload. An upload "
        "whose bytes have all arrived but whose completion was put off (a full disk) is completed now.",
        parameters=[TUS_RESUMABLE],
        responses={
            200: OpenApiResponse(description="Upload-Offset and Upload-Length headers."),
            **errors(401, 403, 404, 409, 410, 413, 415, 422),
            **TUS_VERSION_MISSING,
            **STORAGE_FULL,
        },
        tags=["tus"],
    )
    def head(self, request: Request, upload_id: uuid.UUID, **kwargs) -> HttpResponse:
        upload = self._upload(request, upload_id, **kwargs)
        services._check_open(upload)
        if (
            upload.status == UploadStatus.OPEN
            and upload.concat != UploadConcat.PARTIAL
            and upload.offset == upload.size
        ):
            services.upload_complete(upload=upload)
        response = HttpResponse(status=200)
        response["Upload-Offset"] = str(upload.offset)
        response["Upload-Length"] = str(upload.size)
        response["Upload-Expires"] = _expires(upload)
        if upload.concat == UploadConcat.PARTIAL:
            response["Upload-Concat"] = "partial"
        elif upload.concat == UploadConcat.FINAL:
            urls = [
                request.build_absolute_uri(reverse(self.detail_url_name, kwargs={**kwargs, "upload_id": part}))
                for part in upload.parts
            ]
            response["Upload-Concat"] = "final;" + " ".join(urls)
        return response

    @extend_schema(
        summary="tus: append bytes",
        parameters=[
            TUS_RESUMABLE,
            OpenApiParameter("Upload-Offset", OpenApiTypes.INT, OpenApiParameter.HEADER, required=True),
            OpenApiParameter("Upload-Checksum", OpenApiTypes.STR, OpenApiParameter.HEADER),
        ],
        request={"application/offset+octet-stream": OpenApiTypes.BINARY},
        responses={
            204: OpenApiResponse(description="Stored; Upload-Offset is the new offset."),
            **errors(400, 401, 404, 409, 410, 413, 415, 422, 429),
            **TUS_VERSION_MISSING,
            460: OpenApiResponse(description="Checksum mismatch."),
            **STORAGE_FULL,
        },
        tags=["tus"],
    )
    def patch(self, request: Request, upload_id: uuid.UUID, **kwargs) -> HttpResponse:
        check_octet_stream(request, ("application/offset+octet-stream",), "A tus PATCH body")
        offset = header_number(request.headers.get("Upload-Offset"), "Upload-Offset", required=True)
        upload = self._upload(request, upload_id, **kwargs)
        new_offset = _tus_patch(request, upload, offset=offset)
        response = HttpResponse(status=204)
        response["Upload-Offset"] = str(new_offset)
        response["Upload-Expires"] = _expires(upload)
        return response

    @extend_schema(
        summary="tus: terminate an upload",
        parameters=[TUS_RESUMABLE],
        responses={
            204: OpenApiResponse(description="Terminated."),
            **errors(401, 403, 404, 409, 410),
            **TUS_VERSION_MISSING,
        },
        tags=["tus"],
    )
    def delete(self, request: Request, upload_id: uuid.UUID, **kwargs) -> HttpResponse:
        services.upload_abort(upload=self._upload(request, upload_id, **kwargs))
        return HttpResponse(status=204)


# --- Door 3: presigned direct-to-S3 uploads (uploads.presigned) --------------------------------

# The door exists only when files live in S3; on local storage every call says so.
STORED_LOCALLY = OpenApiResponse(
    ErrorSerializer,
    description="Conflict: the upload is not open for this, or (code storage_local) the server stores files "
    "on its own disk, so use tus or the chunk protocol.",
)


def _get_s3_upload_for_user(request: Request, upload_id: uuid.UUID) -> Upload:
    if not presigned.s3_in_use():
        raise presigned.StoredLocally()
    upload = _get_upload_for_user(request, upload_id)
    if upload.protocol != UploadProtocol.S3:
        raise NotFound("No such direct-to-S3 upload.")
    return upload


class S3UploadCreateApi(APIView):
    permission_classes = [IsPhotographer]

    @extend_schema(
        summary="Start a direct-to-S3 upload",
        description="S3 storage only. Announce a file with its SHA-256; the server opens an S3 multipart upload "
        "under a private staging key. Then ask for presigned part URLs, PUT the parts straight to the bucket, "
        "and POST complete. On local storage: 409 (code storage_local), use tus or the chunk protocol.",
        request=S3UploadCreateSerializer,
        responses={
            201: S3UploadCreatedSerializer,
            **errors(400, 401, 403, 404, 413, 415, 429),
            409: STORED_LOCALLY,
        },
        tags=["uploads"],
    )
    def post(self, request: Request) -> Response:
        if not presigned.s3_in_use():
            raise presigned.StoredLocally()
        data = S3UploadCreateSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        gallery = _gallery_for_upload(request, data.validated_data["gallery"])
        upload = presigned.presigned_create(
            owner=request.user,
            gallery=gallery,
            filename=data.validated_data["filename"],
            size=data.validated_data["size"],
            sha256=data.validated_data["sha256"],
            part_size=data.validated_data.get("part_size"),
        )
        body = {
            "id": upload.pk,
            "upload_id": upload.store_state["presigned"]["multipart"],
            "key": upload.store_state["presigned"]["key"],
            "part_size": upload.chunk_size,
            "parts": presigned.part_count(upload),
            "status": upload.status,
            "expires_at": upload.expires_at,
        }
        return Response(S3UploadCreatedSerializer(body).data, status=status.HTTP_201_CREATED)


class S3UploadPartsApi(APIView):
    permission_classes = [IsPhotographer]

    @extend_schema(
        summary="Which parts of a direct-to-S3 upload arrived",
        description="Asks S3 (ListParts) which parts it holds, so a client can resume: send the missing ones.",
        responses={200: S3PartsStateSerializer, **errors(401, 403, 404, 410), 409: STORED_LOCALLY},
        tags=["uploads"],
    )
    def get(self, request: Request, upload_id: uuid.UUID) -> Response:
        upload = _get_s3_upload_for_user(request, upload_id)
        received = presigned.presigned_parts(upload=upload)
        numbers = {part["number"] for part in received}
        total = presigned.part_count(upload)
        body = {
            "part_size": upload.chunk_size,
            "total_parts": total,
            "received": received,
            "missing_parts": [n for n in range(1, total + 1) if n not in numbers],
        }
        return Response(S3PartsStateSerializer(body).data)

    @extend_schema(
        summary="Presigned URLs for parts of a direct-to-S3 upload",
        description="Short-lived presigned PUT URLs for up to 100 part numbers (1-based). Part n has exactly "
        "part_size bytes, the last one the rest. A part's SHA-256 (base64), when given, is signed into its URL "
        "and must be sent as x-amz-checksum-sha256: the store then refuses any other bytes (400 BadDigest).",
        request=S3PartsSignSerializer,
        responses={200: S3PartUrlsSerializer, **errors(400, 401, 403, 404, 410), 409: STORED_LOCALLY},
        tags=["uploads"],
    )
    def post(self, request: Request, upload_id: uuid.UUID) -> Response:
        upload = _get_s3_upload_for_user(request, upload_id)
        data = S3PartsSignSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        checksums = {}
        for name, value in data.validated_data.get("checksum_sha256", {}).items():
            if not (name.isascii() and name.isdigit()) or len(name) > 6:
                raise InvalidInput(f"checksum_sha256 keys must be part numbers, not {name[:20]!r}.")
            checksums[int(name)] = value
        signed = presigned.presigned_sign_parts(
            upload=upload, numbers=data.validated_data["numbers"], checksums=checksums
        )
        return Response(S3PartUrlsSerializer(signed).data)


class S3UploadCompleteApi(APIView):
    permission_classes = [IsPhotographer]

    @extend_schema(
        summary="Finish a direct-to-S3 upload",
        description="The server lists the parts S3 holds (never trusting a client's list), completes the multipart "
        "upload and checks its size, then a worker streams the object to compute its SHA-256, compares it with "
        "the one given at the start, checks the content as every door does, deduplicates and adds the photo. "
        "200 with the photo when that finished within the request; otherwise 202 with the URL of the upload's "
        "state. 409 lists missing parts. A wrong size or SHA-256 is 422, and nothing is kept.",
        request=None,
        responses={
            200: UploadCompleteSerializer,
            202: S3CompleteAcceptedSerializer,
            409: OpenApiResponse(S3MissingPartsSerializer, description="Parts are missing (or storage is local)."),
            **errors(401, 403, 404, 410, 413, 415, 422),
        },
        tags=["uploads"],
    )
    def post(self, request: Request, upload_id: uuid.UUID) -> Response:
        upload = _get_s3_upload_for_user(request, upload_id)
        try:
            upload = presigned.presigned_complete(upload=upload)
        except presigned.MissingParts as exc:
            return Response({"detail": exc.message, "missing_parts": exc.missing}, status=status.HTTP_409_CONFLICT)
        upload.refresh_from_db()
        failure = presigned.failure_of(upload)
        if failure is not None:
            raise failure
        if upload.status == UploadStatus.COMPLETE and upload.photo_id:
            photo = Photo.objects.with_media().get(pk=upload.photo_id)
            return Response({"photo": photo_out(request, photo, can_edit=True)})
        body = {
            "id": upload.pk,
            "status": upload.status,
            "status_url": request.build_absolute_uri(reverse("upload-detail", kwargs={"upload_id": upload.pk})),
        }
        return Response(S3CompleteAcceptedSerializer(body).data, status=status.HTTP_202_ACCEPTED)
