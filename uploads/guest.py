"""The guest drop box: visitors of a share link with allow_upload send photos through tus.

The same upload service as every other door; the link's access policy instead of a login; the
guest's photos are held for the owner's approval. This door lives in uploads (uploads -> sharing
-> galleries), so sharing never imports uploads.
"""

from __future__ import annotations

import uuid

from django.conf import settings
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import get_object_or_404, render
from django.urls import reverse
from rest_framework import permissions
from rest_framework.request import Request

from config.exceptions import Gone, NotFound
from sharing import access
from sharing.models import ShareLink
from uploads import services
from uploads.api.views import TusCreateApi, TusDetailApi
from uploads.models import Upload, UploadProtocol


def _upload_link(request: HttpRequest, token: str) -> ShareLink:
    link = access.open_link_or_401(request, token)
    if not link.allow_upload:
        raise NotFound("This link does not accept uploads.")
    return link


class _GuestDoor:
    """What both guest tus views share: the link opens the door, the guest's browser owns the uploads."""

    authentication_classes: list = []
    permission_classes = [permissions.AllowAny]
    detail_url_name = "guest-tus-detail"

    def _upload(self, request: Request, upload_id: uuid.UUID, token: str = "") -> Upload:
        link = _upload_link(request, token)
        return get_object_or_404(
            Upload.objects.of_guest(link, access.visitor_id(request)), pk=upload_id, protocol=UploadProtocol.TUS
        )


class GuestTusCreateApi(_GuestDoor, TusCreateApi):
    """tus creation for guests: the guest's name goes with each file; parts need no name."""

    def _create(self, request: Request, metadata: dict, size: int, token: str = "") -> Upload:
        link = _upload_link(request, token)
        return services.upload_create(
            owner=None,
            gallery=link.gallery,
            filename=metadata.get("filename") or metadata.get("name") or "",
            size=size,
            protocol=UploadProtocol.TUS,
            share_link=link,
            guest_name=metadata.get("guest") or "",
            guest_visitor=access.visitor_id(request),
        )

    def _create_partial(self, request: Request, size: int, token: str = "") -> Upload:
        link = _upload_link(request, token)
        return services.upload_create_partial(
            owner=None, size=size, share_link=link, guest_visitor=access.visitor_id(request)
        )

    def _create_final(self, request: Request, metadata: dict, parts: list[Upload], token: str = "") -> Upload:
        link = _upload_link(request, token)
        return services.upload_create_final(
            owner=None,
            gallery=link.gallery,
            filename=metadata.get("filename") or metadata.get("name") or "",
            parts=parts,
            share_link=link,
            guest_name=metadata.get("guest") or "",
            guest_visitor=access.visitor_id(request),
        )


class GuestTusDetailApi(_GuestDoor, TusDetailApi):
    pass


def guest_upload_page(request: HttpRequest, token: str) -> HttpResponse:
    """/s/<token>/upload: the drop box page, behind the link's password like the gallery."""
    try:
        link = access.open_link(request, token)
        if not link.allow_upload:
            raise NotFound("This link does not accept uploads.")
    except access.PasswordRequired:
        return HttpResponseRedirect(reverse("sharing:detail", args=[token]))
    except (NotFound, Gone) as exc:
        return access.link_closed_page(request, gone=isinstance(exc, Gone))
    used, _ = services.guest_uploads_counted(link)
    context = {
        "link": link,
        "gallery": link.gallery,
        "base_url": link.get_absolute_url(),
        "endpoint": reverse("guest-tus-create", args=[token]),
        "chunk_size": settings.UPLOAD_CHUNK_SIZE,
        "max_size": settings.MAX_UPLOAD_SIZE,
        "files_left": max(0, link.upload_max_files - used),
    }
    response = render(request, "uploads/guest_upload.html", context)
    response["Referrer-Policy"] = "no-referrer"
    return response
