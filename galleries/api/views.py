from __future__ import annotations

import functools
import logging
import uuid

from django.conf import settings
from django.core.files.storage import default_storage
from django.db import connection
from django.http import FileResponse, Http404, HttpResponse
from django.shortcuts import get_object_or_404
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, OpenApiTypes, extend_schema
from rest_framework import permissions, status
from rest_framework.exceptions import ValidationError
from rest_framework.parsers import MultiPartParser
from rest_framework.renderers import JSONRenderer
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts.permissions import IsPhotographerOrReadOnly, is_photographer
from config.api import ANYONE, errors, query_flag
from config.exceptions import ServiceError
from galleries import originals, pages, services
from galleries.api.pagination import PAGE_PARAMETERS, GalleryCursorPagination, PhotoPagination
from galleries.api.presenters import photo_out, viewer_rule
from galleries.api.serializers import (
    GalleryInputSerializer,
    GalleryOutputSerializer,
    GalleryPageSerializer,
    GalleryUpdateSerializer,
    HealthSerializer,
    PhotoCheckResultSerializer,
    PhotoCheckSerializer,
    PhotoOutputSerializer,
    PhotoPageSerializer,
    PhotoUpdateSerializer,
    PhotoUploadResultSerializer,
    PhotoUploadSerializer,
)
from galleries.media import original_download
from galleries.models import AssetStatus, Gallery, Photo, Visibility
from galleries.paging import CountedPaginator
from galleries.privacy import FieldRule

log = logging.getLogger(__name__)


def _gallery_for_read(request: Request, gallery_id: uuid.UUID) -> Gallery:
    return get_object_or_404(Gallery.objects.visible_to(request.user), pk=gallery_id)


def _gallery_for_write(request: Request, gallery_id: uuid.UUID) -> Gallery:
    return get_object_or_404(Gallery.objects.editable_by(request.user), pk=gallery_id)


def _gallery_out(request: Request, gallery: Gallery) -> dict:
    gallery = Gallery.objects.select_related("owner").get(pk=gallery.pk)
    return GalleryOutputSerializer(gallery, context={"request": request}).data


class HealthApi(APIView):
    """Status of the database, storage and task queue."""

    authentication_classes: list = []
    permission_classes = [permissions.AllowAny]

    @extend_schema(responses={200: HealthSerializer, 503: HealthSerializer}, auth=[], tags=["health"])
    def get(self, request: Request) -> Response:
        from django_q.brokers import get_broker

        result = {"status": "ok", "database": "ok", "storage": "ok", "queue": "ok", "queued_tasks": None}
        try:
            with connection.cursor() as cursor:
                cursor.execute("SELECT 1")
        except Exception as exc:
            log.exception("health: database")
            result["database"] = f"error: {type(exc).__name__}"
        try:
            default_storage.exists("health-check")
        except Exception as exc:
            log.exception("health: storage")
            result["storage"] = f"error: {type(exc).__name__}"
        try:
            broker = get_broker()
            if not broker.ping():
                result["queue"] = "error: broker did not answer"
            result["queued_tasks"] = broker.queue_size()
        except Exception as exc:
            log.exception("health: queue")
            result["queue"] = f"error: {type(exc).__name__}"
        healthy = all(result[k] == "ok" for k in ("database", "storage", "queue"))
        result["status"] = "ok" if healthy else "degraded"
        return Response(result, status=status.HTTP_200_OK if healthy else status.HTTP_503_SERVICE_UNAVAILABLE)


class GalleryListCreateApi(APIView):
    permission_classes = [IsPhotographerOrReadOnly]

    @extend_schema(
        summary="List galleries",
        description="Photographers see their own galleries (admins all); everyone else the public ones. "
        "`?trash=true` lists the trash instead.",
        parameters=[
            OpenApiParameter("trash", OpenApiTypes.BOOL, description="List galleries in the trash."),
            OpenApiParameter(
                "cursor", OpenApiTypes.STR, description="Page cursor from `next` or `previous`; any other is a 400."
            ),
        ],
        responses={200: GalleryPageSerializer, **errors(400, 401)},
        auth=ANYONE,
        operation_id="galleries_list",
        tags=["galleries"],
    )
    def get(self, request: Request) -> Response:
        user = request.user
        trash = query_flag(request, "trash")
        if is_photographer(user):
            qs = Gallery.objects.editable_by(user)
            qs = qs.trashed() if trash else qs.filter(deleted_at__isnull=True)
        else:
            qs = Gallery.objects.none() if trash else Gallery.objects.public()
        qs = qs.select_related("owner")
        paginator = GalleryCursorPagination()
        page = paginator.paginate_queryset(qs, request, view=self)
        return paginator.get_paginated_response(
            GalleryOutputSerializer(page, many=True, context={"request": request}).data
        )

    @extend_schema(
        summary="Create a gallery",
        request=GalleryInputSerializer,
        responses={201: GalleryOutputSerializer, **errors(400, 401, 403)},
        tags=["galleries"],
    )
    def post(self, request: Request) -> Response:
        data = GalleryInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        gallery = services.gallery_create(owner=request.user, **data.validated_data)
        return Response(_gallery_out(request, gallery), status=status.HTTP_201_CREATED)


class GalleryDetailApi(APIView):
    permission_classes = [IsPhotographerOrReadOnly]

    @extend_schema(
        summary="Read a gallery",
        responses={200: GalleryOutputSerializer, **errors(401, 404)},
        auth=ANYONE,
        tags=["galleries"],
    )
    def get(self, request: Request, gallery_id: uuid.UUID) -> Response:
        gallery = Gallery.objects.editable_by(request.user).filter(pk=gallery_id).first() or _gallery_for_read(
            request, gallery_id
        )
        return Response(_gallery_out(request, gallery))

    @extend_schema(
        summary="Update a gallery",
        description="Change any of the fields; `cover` takes the id of a photo of this gallery, or null.",
        request=GalleryUpdateSerializer,
        responses={200: GalleryOutputSerializer, **errors(400, 401, 403, 404)},
        tags=["galleries"],
    )
    def patch(self, request: Request, gallery_id: uuid.UUID) -> Response:
        gallery = _gallery_for_write(request, gallery_id)
        data = GalleryUpdateSerializer(data=request.data, partial=True)
        data.is_valid(raise_exception=True)
        fields = dict(data.validated_data)
        if "cover" in fields and fields["cover"] is not None:
            cover = gallery.photos.filter(pk=fields["cover"]).first()
            if cover is None:
                raise ValidationError({"cover": ["Not a photo of this gallery."]})
            fields["cover"] = cover
        services.gallery_update(gallery=gallery, **fields)
        return Response(_gallery_out(request, gallery))

    @extend_schema(
        summary="Move a gallery to the trash",
        responses={
            204: OpenApiResponse(description="In the trash; restore it with POST …/restore."),
            **errors(401, 403, 404),
        },
        tags=["galleries"],
    )
    def delete(self, request: Request, gallery_id: uuid.UUID) -> Response:
        gallery = _gallery_for_write(request, gallery_id)
        services.gallery_trash(gallery=gallery)
        return Response(status=status.HTTP_204_NO_CONTENT)


class GalleryRestoreApi(APIView):
    permission_classes = [IsPhotographerOrReadOnly]

    @extend_schema(
        summary="Restore a gallery from the trash",
        request=None,
        responses={200: GalleryOutputSerializer, **errors(401, 403, 404)},
        tags=["galleries"],
    )
    def post(self, request: Request, gallery_id: uuid.UUID) -> Response:
        gallery = _gallery_for_write(request, gallery_id)
        services.gallery_restore(gallery=gallery)
        return Response(_gallery_out(request, gallery))


class GalleryPhotosApi(APIView):
    permission_classes = [IsPhotographerOrReadOnly]
    parser_classes = [MultiPartParser]

    @extend_schema(
        summary="List the photos of a gallery",
        parameters=PAGE_PARAMETERS,
        responses={200: PhotoPageSerializer, **errors(400, 401, 404)},
        auth=ANYONE,
        operation_id="galleries_photos_list",
        tags=["photos"],
    )
    def get(self, request: Request, gallery_id: uuid.UUID) -> Response:
        gallery = _gallery_for_read(request, gallery_id)
        unknown = sorted(set(request.query_params) - {"page", "page_size"})
        if unknown:
            raise ValidationError({name: ["Unknown parameter."] for name in unknown})
        can_edit = gallery.is_editable_by(request.user)
        if can_edit:
            return Response(self._page(request, gallery, can_edit=True))
        # Visitors share one cached page per gallery version and signing window (see galleries.pages).
        # The encoded JSON itself is cached: re-encoding 50 photos costs more than the rest. The key is
        # made of the parsed page and size, so `?page=02` and `?page=2` are one entry, and any other
        # parameter is refused before (its links would otherwise carry it into every visitor's copy).
        pagination = PhotoPagination()
        number, size = int(pagination.get_page_number(request, None)), pagination.get_page_size(request)
        rule = viewer_rule(gallery, can_edit=False)
        encoded = pages.cached_for_visitors(
            gallery,
            lambda: JSONRenderer().render(self._page(request, gallery, can_edit=False)),
            api=request.build_absolute_uri(request.path),
            page=number,
            size=size,
            rule=rule.cache_part(),
        )
        return HttpResponse(encoded, content_type="application/json")

    def _page(self, request: Request, gallery: Gallery, *, can_edit: bool) -> dict:
        paginator = PhotoPagination()
        paginator.django_paginator_class = functools.partial(CountedPaginator, gallery=gallery, owner=can_edit)
        page = paginator.paginate_queryset(pages.visible_photos(gallery, owner=can_edit), request, view=self)
        rule = viewer_rule(gallery, can_edit=can_edit)
        data = PhotoOutputSerializer(page, many=True, context={"request": request, "rule": rule}).data
        return paginator.get_paginated_response(data).data

    @extend_schema(
        summary="Upload photos (single-shot)",
        description="Multipart upload of one or more small files in the field `files`. All or nothing: when one "
        "file is refused, none is stored. For large files use the resumable uploads.",
        request={"multipart/form-data": PhotoUploadSerializer},
        responses={201: PhotoUploadResultSerializer(many=True), **errors(400, 401, 403, 404, 413, 415)},
        tags=["photos"],
    )
    def post(self, request: Request, gallery_id: uuid.UUID) -> Response:
        gallery = _gallery_for_write(request, gallery_id)
        unknown = set(request.data.keys()) - {"files", "file"}
        if unknown:
            raise ValidationError({name: ["Unknown field."] for name in sorted(unknown)})
        uploads = request.FILES.getlist("files") + request.FILES.getlist("file")
        if not uploads:
            raise ValidationError({"files": ["Attach one or more files in the field “files”."]})
        # The body's size is capped from this count before it is read (config.middleware).
        if len(uploads) > settings.SINGLE_UPLOAD_MAX_FILES:
            raise ValidationError(
                {
                    "files": [
                        f"Send at most {settings.SINGLE_UPLOAD_MAX_FILES} files at once, or use the resumable uploads."
                    ]
                }
            )
        checked = []
        for upload in uploads:
            try:
                checked.append(services.photo_check(file=upload, filename=upload.name, size=upload.size))
            except ServiceError as exc:
                exc.message = f"{services.clean_filename(upload.name) or 'file'}: {exc.message}"
                raise
        results = services.photos_add(gallery=gallery, files=checked)
        body = [
            {
                "created": created,
                "photo": photo_out(request, Photo.objects.with_media().get(pk=photo.pk), can_edit=True),
            }
            for photo, created in results
        ]
        return Response(body, status=status.HTTP_201_CREATED)


def _photo_for_read(request: Request, photo_id: uuid.UUID) -> tuple[Photo, bool]:
    photo = get_object_or_404(
        Photo.objects.visible_to(request.user).with_media().select_related("gallery"), pk=photo_id
    )
    can_edit = photo.gallery.is_editable_by(request.user)
    if not can_edit and (photo.asset.status == AssetStatus.FAILED or not photo.is_approved):
        raise Http404("No Photo matches the given query.")
    # A photo id is no key to an unlisted gallery: share links hand out photo ids, and a link that
    # closed must not leave its photos reachable here. Visitors of an unlisted gallery read its
    # photos through the gallery (its id or address), which a link never reveals.
    if not can_edit and photo.gallery.visibility != Visibility.PUBLIC:
        raise Http404("No Photo matches the given query.")
    return photo, can_edit


class PhotoDetailApi(APIView):
    permission_classes = [IsPhotographerOrReadOnly]

    @extend_schema(
        summary="Read a photo", responses={200: PhotoOutputSerializer, **errors(401, 404)}, auth=ANYONE, tags=["photos"]
    )
    def get(self, request: Request, photo_id: uuid.UUID) -> Response:
        photo, can_edit = _photo_for_read(request, photo_id)
        return Response(photo_out(request, photo, can_edit=can_edit))

    @extend_schema(
        summary="Update a photo",
        request=PhotoUpdateSerializer,
        responses={200: PhotoOutputSerializer, **errors(400, 401, 403, 404)},
        tags=["photos"],
    )
    def patch(self, request: Request, photo_id: uuid.UUID) -> Response:
        photo = get_object_or_404(Photo.objects.editable_by(request.user), pk=photo_id)
        data = PhotoUpdateSerializer(data=request.data, partial=True)
        data.is_valid(raise_exception=True)
        services.photo_update(photo=photo, **data.validated_data)
        return Response(photo_out(request, Photo.objects.with_media().get(pk=photo.pk), can_edit=True))

    @extend_schema(
        summary="Delete a photo",
        responses={204: OpenApiResponse(description="Deleted."), **errors(401, 403, 404)},
        tags=["photos"],
    )
    def delete(self, request: Request, photo_id: uuid.UUID) -> Response:
        photo = get_object_or_404(Photo.objects.editable_by(request.user), pk=photo_id)
        services.photo_delete(photo=photo)
        return Response(status=status.HTTP_204_NO_CONTENT)


class PhotoReprocessApi(APIView):
    permission_classes = [IsPhotographerOrReadOnly]

    @extend_schema(
        summary="Rebuild a photo's variants",
        description="Queues the photo's variants, placeholder and metadata to be built again from the original.",
        request=None,
        responses={202: PhotoOutputSerializer, **errors(401, 403, 404, 409)},
        tags=["photos"],
    )
    def post(self, request: Request, photo_id: uuid.UUID) -> Response:
        photo = get_object_or_404(Photo.objects.editable_by(request.user).select_related("asset"), pk=photo_id)
        services.asset_reprocess(asset=photo.asset)
        photo = Photo.objects.with_media().get(pk=photo.pk)
        return Response(photo_out(request, photo, can_edit=True), status=status.HTTP_202_ACCEPTED)


class PhotoDownloadApi(APIView):
    permission_classes = [permissions.IsAuthenticated]

    @extend_schema(
        summary="Download the original",
        description="The original as uploaded, in its own media type (image/jpeg, video/mp4…), as an attachment. "
        "With S3 storage, a redirect to a short-lived address in the bucket instead.",
        responses={
            (200, "image/*"): OpenApiResponse(OpenApiTypes.BINARY, description="The original bytes."),
            (200, "video/*"): OpenApiResponse(OpenApiTypes.BINARY, description="The original bytes."),
            302: OpenApiResponse(description="With S3 storage: Location is the original in the bucket."),
            **errors(401, 404),
        },
        tags=["photos"],
    )
    def get(self, request: Request, photo_id: uuid.UUID) -> FileResponse:
        photo = get_object_or_404(Photo.objects.editable_by(request.user).select_related("asset"), pk=photo_id)
        asset = photo.asset
        name = photo.original_filename or f"photo-{photo.position + 1}.{asset.ext}"
        if not name.lower().endswith(f".{asset.ext}"):
            name = f"{name.rsplit('.', 1)[0]}.{asset.ext}"
        # The file as uploaded, sent as every door sends an original (galleries.media).
        item = originals.handout(asset, owner=True)
        return original_download(item, asset=asset, rule=FieldRule.for_owner(), name=name)


class PhotoCheckApi(APIView):
    """issue 14: which of these files the caller's gallery already holds, so a client skips them."""

    permission_classes = [permissions.IsAuthenticated]

    @extend_schema(
        summary="Which files the gallery already holds",
        description="Send the SHA-256 sums of the files about to be uploaded; the answer lists those this gallery "
        "already holds, so a client uploads only the rest (“312 of 1,200 already stored”). Only the gallery's "
        "owner may ask: it answers about the caller's own photos and nobody else's.",
        request=PhotoCheckSerializer,
        responses={200: PhotoCheckResultSerializer, **errors(400, 401, 404)},
        tags=["photos"],
    )
    def post(self, request: Request, gallery_id: uuid.UUID) -> Response:
        gallery = get_object_or_404(Gallery.objects.filter(owner=request.user), pk=gallery_id)
        serializer = PhotoCheckSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        wanted = list(dict.fromkeys(sha.lower() for sha in serializer.validated_data["sha256"]))
        held = set(
            Photo.objects.filter(gallery=gallery, asset__sha256__in=wanted).values_list("asset__sha256", flat=True)
        )
        return Response(
            {"held": [sha for sha in wanted if sha in held], "held_count": len(held), "checked": len(wanted)}
        )
