from __future__ import annotations

import uuid

from django.shortcuts import get_object_or_404
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, OpenApiTypes, extend_schema
from rest_framework import permissions, status
from rest_framework.exceptions import NotAuthenticated, ValidationError
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts.permissions import IsPhotographerOrReadOnly
from config.api import errors
from galleries import pages
from galleries.api.pagination import PAGE_PARAMETERS, PhotoPagination
from galleries.api.serializers import PhotoOutputSerializer
from galleries.models import Gallery
from galleries.privacy import FieldRule
from sharing import access, services
from sharing.api.serializers import (
    SelectionInputSerializer,
    SelectionOutputSerializer,
    SharedGallerySerializer,
    ShareLinkInputSerializer,
    ShareLinkOutputSerializer,
    UnlockInputSerializer,
    UnlockOutputSerializer,
)
from sharing.models import ShareLink

GRANT_PARAM = OpenApiParameter(access.GRANT_HEADER, OpenApiTypes.STR, OpenApiParameter.HEADER, required=False)


def _link_out(request: Request, link: ShareLink) -> dict:
    return ShareLinkOutputSerializer(link, context={"request": request}).data


def _apply(link: ShareLink | None, gallery: Gallery, data: dict) -> ShareLink:
    data = dict(data)
    revoked = data.pop("revoked", None)
    if link is None:
        link = services.share_link_create(gallery=gallery, **data)
    else:
        services.share_link_update(link=link, **data)
    if revoked is True:
        services.share_link_revoke(link=link)
    elif revoked is False:
        services.share_link_restore(link=link)
    return link


class GalleryShareLinksApi(APIView):
    permission_classes = [IsPhotographerOrReadOnly]

    def _gallery(self, request: Request, gallery_id: uuid.UUID) -> Gallery:
        if not request.user.is_authenticated:
            raise NotAuthenticated()
        return get_object_or_404(Gallery.objects.editable_by(request.user), pk=gallery_id)

    @extend_schema(
        summary="List a gallery's share links",
        responses={200: ShareLinkOutputSerializer(many=True), **errors(401, 404)},
        tags=["share links"],
    )
    def get(self, request: Request, gallery_id: uuid.UUID) -> Response:
        gallery = self._gallery(request, gallery_id)
        return Response([_link_out(request, link) for link in gallery.share_links.all()])

    @extend_schema(
        summary="Create a share link",
        request=ShareLinkInputSerializer,
        responses={201: ShareLinkOutputSerializer, **errors(400, 401, 403, 404)},
        tags=["share links"],
    )
    def post(self, request: Request, gallery_id: uuid.UUID) -> Response:
        gallery = self._gallery(request, gallery_id)
        data = ShareLinkInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        return Response(_link_out(request, _apply(None, gallery, data.validated_data)), status=status.HTTP_201_CREATED)


class ShareLinkDetailApi(APIView):
    permission_classes = [IsPhotographerOrReadOnly]

    def _link(self, request: Request, link_id: uuid.UUID) -> ShareLink:
        if not request.user.is_authenticated:
            raise NotAuthenticated()
        return get_object_or_404(ShareLink.objects.editable_by(request.user).select_related("gallery"), pk=link_id)

    @extend_schema(
        summary="Read a share link",
        responses={200: ShareLinkOutputSerializer, **errors(401, 404)},
        tags=["share links"],
    )
    def get(self, request: Request, link_id: uuid.UUID) -> Response:
        return Response(_link_out(request, self._link(request, link_id)))

    @extend_schema(
        summary="Change a share link",
        description="Password, expiry, permissions, label; `revoked: true` switches it off, `false` restores it.",
        request=ShareLinkInputSerializer,
        responses={200: ShareLinkOutputSerializer, **errors(400, 401, 403, 404)},
        tags=["share links"],
    )
    def patch(self, request: Request, link_id: uuid.UUID) -> Response:
        link = self._link(request, link_id)
        data = ShareLinkInputSerializer(data=request.data, partial=True)
        data.is_valid(raise_exception=True)
        return Response(_link_out(request, _apply(link, link.gallery, data.validated_data)))

    @extend_schema(
        summary="Delete a share link",
        responses={204: OpenApiResponse(description="Deleted."), **errors(401, 403, 404)},
        tags=["share links"],
    )
    def delete(self, request: Request, link_id: uuid.UUID) -> Response:
        services.share_link_delete(link=self._link(request, link_id))
        return Response(status=status.HTTP_204_NO_CONTENT)


def _open(request: Request, token: str) -> ShareLink:
    return access.open_link_or_401(request, token)


class SharedGalleryApi(APIView):
    authentication_classes: list = []
    permission_classes = [permissions.AllowAny]

    @extend_schema(
        summary="A shared gallery and its photos",
        parameters=[GRANT_PARAM, *PAGE_PARAMETERS],
        responses={200: SharedGallerySerializer, **errors(400, 401, 404, 410)},
        auth=[],
        tags=["shared"],
    )
    def get(self, request: Request, token: str) -> Response:
        link = _open(request, token)
        access.record_view(request, link)
        gallery = Gallery.objects.select_related("owner").get(pk=link.gallery_id)
        paginator = PhotoPagination()
        photos = paginator.paginate_queryset(pages.visible_photos(gallery, owner=False), request, view=self)
        rule = FieldRule.for_link(link)
        data = PhotoOutputSerializer(photos, many=True, context={"request": request, "rule": rule}).data
        body = {
            # Only what the page shows: never the gallery's id or address, which would outlive the link.
            "gallery": {
                "title": gallery.title,
                "description": gallery.description,
                "default_layout": gallery.default_layout,
                "photo_count": gallery.photo_count,
                "url": request.build_absolute_uri(link.get_absolute_url()),
            },
            "allow_download": link.allow_download,
            "download_sizes": access.download_sizes(link),
            "show_metadata": link.show_metadata,
            "selection_quota": link.selection_quota,
            "count": paginator.page.paginator.count,
            "next": paginator.get_next_link(),
            "previous": paginator.get_previous_link(),
            "results": data,
        }
        return Response(body)


class SharedUnlockApi(APIView):
    authentication_classes: list = []
    permission_classes = [permissions.AllowAny]

    @extend_schema(
        summary="Unlock a password-protected shared gallery",
        request=UnlockInputSerializer,
        responses={200: UnlockOutputSerializer, **errors(400, 404, 410, 429)},
        auth=[],
        tags=["shared"],
    )
    def post(self, request: Request, token: str) -> Response:
        link = access.link_for_token(token)
        data = UnlockInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        grant = access.unlock(request, link, data.validated_data["password"])
        if not grant:
            raise ValidationError({"password": ["That password is not right."]})
        return Response({"grant": grant})


def _visitor(request: Request) -> str:
    return access.visitor_id(request)


def _selection_out(link: ShareLink, selection) -> dict:
    if selection is None:
        return {
            "name": "", "email": "", "note": "", "submitted_at": None, "photos": [], "notes": [],
            "quota": link.selection_quota,
        }  # fmt: skip
    return {
        "name": selection.name,
        "email": selection.email,
        "note": selection.note,
        "submitted_at": selection.submitted_at,
        "photos": [p.pk for p in selection.photos.all()],
        "notes": [{"photo": n.photo_id, "note": n.text} for n in selection.photo_notes.all()],
        "quota": link.selection_quota,
    }


class SharedSelectionApi(APIView):
    authentication_classes: list = []
    permission_classes = [permissions.AllowAny]

    @extend_schema(
        summary="Your favourites",
        parameters=[GRANT_PARAM],
        responses={200: SelectionOutputSerializer, **errors(401, 404, 410)},
        auth=[],
        tags=["shared"],
    )
    def get(self, request: Request, token: str) -> Response:
        link = _open(request, token)
        return Response(_selection_out(link, services.selection_for(link=link, visitor=_visitor(request))))

    @extend_schema(
        summary="Add or remove favourites, or submit them",
        description="The first favourite (or contact detail) needs a `name`; `name` and `email` may be changed "
        "later on their own. `notes` sets a short note (at most 500 characters) on chosen photos, or removes it "
        "with an empty one; a note on a photo that is not chosen is a 400. `submit: true` sends the selection "
        "(with an optional `note`) to the photographer and locks it.",
        parameters=[GRANT_PARAM],
        request=SelectionInputSerializer,
        responses={200: SelectionOutputSerializer, **errors(400, 401, 404, 409, 410)},
        auth=[],
        tags=["shared"],
    )
    def post(self, request: Request, token: str) -> Response:
        link = _open(request, token)
        data = SelectionInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        visitor = _visitor(request)
        photos = pages.visible_photos(link.gallery, owner=False)
        notes = {item["photo"]: item["note"] for item in data.validated_data.get("notes", [])}
        wanted = set(data.validated_data.get("add", [])) | set(data.validated_data.get("remove", [])) | set(notes)
        found = {p.pk: p for p in photos.filter(pk__in=wanted)}
        missing = wanted - set(found)
        if missing:
            field = "notes" if missing <= set(notes) else "add"
            raise ValidationError(
                {field: [f"Not photos of this gallery: {', '.join(str(m) for m in sorted(missing))}."]}
            )
        # An email on its own is kept too (a visitor who typed it expects it stored); like a first
        # favourite, it needs a name when there is no selection yet.
        if any(data.validated_data.get(key) for key in ("add", "remove", "name", "email", "notes")):
            services.selection_change(
                link=link,
                visitor=visitor,
                add=[found[i] for i in data.validated_data.get("add", [])],
                remove=[found[i] for i in data.validated_data.get("remove", [])],
                name=data.validated_data.get("name", ""),
                email=data.validated_data.get("email", ""),
                notes=notes,
            )
        if data.validated_data.get("submit"):
            services.selection_submit(link=link, visitor=visitor, note=data.validated_data.get("note", ""))
        return Response(_selection_out(link, services.selection_for(link=link, visitor=visitor)))

    @extend_schema(
        summary="Clear your favourites",
        parameters=[GRANT_PARAM],
        responses={204: OpenApiResponse(description="Cleared."), **errors(401, 404, 409, 410)},
        auth=[],
        tags=["shared"],
    )
    def delete(self, request: Request, token: str) -> Response:
        link = _open(request, token)
        services.selection_clear(link=link, visitor=_visitor(request))
        return Response(status=status.HTTP_204_NO_CONTENT)
