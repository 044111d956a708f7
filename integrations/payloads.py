"""What a webhook says about its object: ids, type, time and a small summary, read at emit time.

Deliveries go to the owner's own endpoint, so owner-only fields are allowed, but a payload stays
small and carries no signed media URL (it would outlive its TTL in the receiver's logs) and no
share-link token (a bearer secret): the receiver asks the API for more, with its own token.
"""

from __future__ import annotations

from typing import Any

from galleries.models import Gallery, Photo
from sharing.models import Selection, ShareLink
from uploads.models import Upload


def _iso(value: Any) -> str | None:
    return value.isoformat().replace("+00:00", "Z") if value is not None else None


def _photo(obj_id: Any) -> dict[str, Any] | None:
    photo = Photo.objects.filter(pk=obj_id).select_related("asset").first()
    if photo is None:
        return None
    asset = photo.asset
    data = {
        "id": str(photo.pk),
        "gallery_id": str(photo.gallery_id),
        "status": asset.status,
        "kind": asset.kind,
        "width": asset.width,
        "height": asset.height,
        "original_filename": photo.original_filename,
    }
    if asset.status == "failed":
        data["error"] = asset.error
    if photo.contributor:
        data["contributor"] = photo.contributor
        data["is_approved"] = photo.is_approved
    return data


def _gallery(obj_id: Any) -> dict[str, Any] | None:
    gallery = Gallery.objects.filter(pk=obj_id).first()
    if gallery is None:
        return None
    return {
        "id": str(gallery.pk),
        "title": gallery.title,
        "slug": gallery.slug,
        "visibility": gallery.visibility,
        "published_at": _iso(gallery.published_at),
        "expires_at": _iso(gallery.expires_at),
    }


def _upload(obj_id: Any) -> dict[str, Any] | None:
    upload = Upload.objects.filter(pk=obj_id).first()
    if upload is None:
        return None
    return {
        "id": str(upload.pk),
        "gallery_id": str(upload.gallery_id),
        "photo_id": str(upload.photo_id) if upload.photo_id else None,
        "filename": upload.filename,
        "size": upload.size,
        "status": upload.status,
    }


def _selection(obj_id: Any) -> dict[str, Any] | None:
    selection = Selection.objects.filter(pk=obj_id).select_related("link").first()
    if selection is None:
        return None
    return {
        "id": str(selection.pk),
        "gallery_id": str(selection.link.gallery_id),
        "share_link_id": str(selection.link_id),
        "name": selection.name,
        "email": selection.email,
        "note": selection.note,
        "submitted_at": _iso(selection.submitted_at),
        "photo_ids": [str(pk) for pk in selection.photos.order_by("position").values_list("pk", flat=True)],
    }


def _share_link(obj_id: Any) -> dict[str, Any] | None:
    link = ShareLink.objects.filter(pk=obj_id).first()
    if link is None:
        return None
    return {
        "id": str(link.pk),
        "gallery_id": str(link.gallery_id),
        "label": link.label,
        "revoked_at": _iso(link.revoked_at),
    }


# event type -> (object kind, summary). The kind names the object in the ordering key.
SUMMARIES = {
    "photo.ready": ("photo", _photo),
    "photo.failed": ("photo", _photo),
    "guest_upload.pending": ("photo", _photo),
    "upload.completed": ("upload", _upload),
    "gallery.published": ("gallery", _gallery),
    "gallery.expired": ("gallery", _gallery),
    "selection.submitted": ("selection", _selection),
    "share_link.revoked": ("share_link", _share_link),
}


def summary(event_type: str, obj_id: Any) -> tuple[str, dict[str, Any]]:
    """(object kind, data) for an event; data is just the id when the object is already gone."""
    kind, build = SUMMARIES[event_type]
    return kind, build(obj_id) or {"id": str(obj_id)}
