from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404
from django.template.response import TemplateResponse

import galleries.admin  # noqa: F401 - registers the gallery admin this module attaches to
from accounts.permissions import is_manager
from galleries.models import AssetStatus, Gallery, Photo
from uploads.models import Upload, UploadStatus


@admin.register(Upload)
class UploadAdmin(admin.ModelAdmin):
    """Uploads in flight and their outcome, read-only, for superusers (support and debugging)."""

    list_display = ("filename", "owner", "gallery", "protocol", "status", "size", "error", "created_at", "expires_at")
    list_filter = ("status", "protocol")
    search_fields = ("filename", "sha256")
    readonly_fields = [f.name for f in Upload._meta.fields]

    def has_module_permission(self, request) -> bool:
        return is_manager(request.user)

    def has_view_permission(self, request, obj=None) -> bool:
        return self.has_module_permission(request)

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False


def upload_status_view(request: HttpRequest, object_id: Any, upload_id: Any) -> HttpResponse:
    """One row of the gallery uploader's processing list (HTMX); it keeps polling until the photo is ready."""
    gallery = get_object_or_404(Gallery.objects.editable_by(request.user), pk=object_id)
    upload = get_object_or_404(Upload.objects.owned_by(request.user), pk=upload_id, gallery=gallery)
    photo = Photo.objects.with_media().filter(pk=upload.photo_id).first() if upload.photo_id else None
    if upload.status in (UploadStatus.FAILED, UploadStatus.ABORTED, UploadStatus.EXPIRED):
        state, label, polling = "failed", upload.error or upload.get_status_display(), False
    elif photo is None:
        state, label, polling = "uploading", "Checking the file…", True
    elif photo.asset.status == AssetStatus.READY:
        state, label, polling = "ready", "Ready", False
    elif photo.asset.status == AssetStatus.FAILED:
        state, label, polling = "failed", photo.asset.error or "Processing failed", False
    else:
        state, label, polling = "processing", f"{photo.asset.get_status_display()}…", True
    context = {"upload": upload, "photo": photo, "state": state, "label": label, "polling": polling}
    return TemplateResponse(request, "admin/uploads/upload_row.html", context)


def _register_on_gallery_admin() -> None:
    """Put the uploader's status rows under the gallery's admin pages (galleries knows nothing of uploads)."""
    gallery_admin = admin.site._registry[Gallery]
    route = "upload/status/<uuid:upload_id>/"
    gallery_admin.gallery_pages = {
        **gallery_admin.gallery_pages,
        route: (upload_status_view, "galleries_gallery_upload_status"),
    }


_register_on_gallery_admin()
