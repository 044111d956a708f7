"""Writes on share links and selections. Every door (admin, API, pages) calls these."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from django.conf import settings
from django.db import transaction
from django.urls import reverse
from django.utils import timezone

from config.exceptions import Conflict, InvalidInput
from galleries.models import Gallery, Photo
from notifications.services import notify
from sharing.models import Selection, ShareLink

_UNSET: Any = object()


def share_link_create(
    *,
    gallery: Gallery,
    label: str = "",
    password: str | None = None,
    expires_at: datetime | None = None,
    allow_download: bool = False,
    allow_upload: bool = False,
    show_metadata: bool = False,
    selection_quota: int | None = None,
    upload_max_files: int | None = None,  # the guest drop box's caps (None: the model's default)
    upload_max_bytes: int | None = None,
) -> ShareLink:
    """A new link with a fresh random token."""
    if expires_at is not None and expires_at <= timezone.now():
        raise InvalidInput("The expiry must be in the future.")
    link = ShareLink(
        gallery=gallery,
        label=label.strip(),
        expires_at=expires_at,
        allow_download=allow_download,
        allow_upload=allow_upload,
        show_metadata=show_metadata,
        selection_quota=selection_quota,
    )
    if upload_max_files is not None:
        link.upload_max_files = upload_max_files
    if upload_max_bytes is not None:
        link.upload_max_bytes = upload_max_bytes
    link.set_password(password)
    link.save()
    return link


@transaction.atomic
def share_link_update(*, link: ShareLink, password: str | None = _UNSET, **fields: Any) -> ShareLink:
    """Change a link. password: a new one, or "" / None to remove it (either closes open grants)."""
    allowed = {"label", "expires_at", "allow_download", "allow_upload", "show_metadata", "selection_quota"}
    allowed |= {"upload_max_files", "upload_max_bytes"}  # the guest drop box's caps
    unknown = set(fields) - allowed
    if unknown:
        raise InvalidInput(f"Unknown fields: {', '.join(sorted(unknown))}.")
    for name, value in fields.items():
        setattr(link, name, value)
    if password is not _UNSET:
        link.set_password(password)
    link.save()
    return link


def share_link_revoke(*, link: ShareLink) -> ShareLink:
    """Switch a link off at once; its media URLs stop working within MEDIA_URL_TTL."""
    if link.revoked_at is None:
        link.revoked_at = timezone.now()
        link.save(update_fields=["revoked_at", "updated_at"])
    return link


def share_link_restore(*, link: ShareLink) -> ShareLink:
    if link.revoked_at is not None:
        link.revoked_at = None
        link.save(update_fields=["revoked_at", "updated_at"])
    return link


@transaction.atomic
def share_link_delete(*, link: ShareLink) -> None:
    """Delete a link for good, with its visitors' selections; its address answers as closed."""
    link.delete()


def selection_for(*, link: ShareLink, visitor: str) -> Selection | None:
    return Selection.objects.filter(link=link, visitor=visitor).prefetch_related("photos").first()


@transaction.atomic
def selection_change(
    *, link: ShareLink, visitor: str, add: list[Photo] = (), remove: list[Photo] = (), name: str = "", email: str = ""
) -> Selection:
    """Add or remove favourites; the first one needs the visitor's name. Submitted selections are locked."""
    selection = Selection.objects.select_for_update().filter(link=link, visitor=visitor).first()
    if selection is None:
        if not name.strip():
            raise InvalidInput("Tell the photographer who you are: a name is needed for your first favourite.")
        selection = Selection.objects.create(link=link, visitor=visitor, name=name.strip()[:100], email=email.strip())
    elif name.strip() or email.strip():
        selection.name = name.strip()[:100] or selection.name
        selection.email = email.strip() or selection.email
        selection.save(update_fields=["name", "email", "updated_at"])
    if selection.submitted_at is not None:
        raise Conflict("This selection was sent to the photographer and can no longer change.")
    for photo in add:
        if photo.gallery_id != link.gallery_id:
            raise InvalidInput("That photo is not in this gallery.")
    if add:
        selection.photos.add(*add)
    if remove:
        selection.photos.remove(*remove)
    if link.selection_quota is not None and selection.photos.count() > link.selection_quota:
        raise Conflict(f"You can choose up to {link.selection_quota} photos.")
    selection.save(update_fields=["updated_at"])
    return selection


def selection_submit(*, link: ShareLink, visitor: str, note: str = "") -> Selection:
    """Send the favourites to the photographer; from then on they are locked."""
    with transaction.atomic():
        selection = Selection.objects.select_for_update().filter(link=link, visitor=visitor).first()
        if selection is None or not selection.photos.exists():
            raise InvalidInput("Choose at least one photo before sending your selection.")
        if selection.submitted_at is None:
            selection.note = note.strip()[:2000]
            selection.submitted_at = timezone.now()
            selection.save(update_fields=["note", "submitted_at", "updated_at"])
            _mail_selection_submitted(selection)  # issue 11: sent by the worker after commit, once
    return selection


def _mail_selection_submitted(selection: Selection) -> None:
    """Tell the gallery's owner (when they have an address) that a client sent a selection."""
    gallery = selection.link.gallery
    notify(
        key=f"selection-submitted:{selection.pk}:{selection.submitted_at.timestamp():.6f}",
        to=gallery.owner.email,
        template="selection_submitted",
        topic=f"gallery:{gallery.pk}",
        context={
            "client_name": selection.name,
            "client_email": selection.email,
            "photo_count": selection.photos.count(),
            "note": selection.note,
            "gallery_title": gallery.title,
            "link_label": selection.link.label,
            "selection_url": settings.SITE_URL + reverse("admin:sharing_selection_change", args=[selection.pk]),
        },
    )


def selection_clear(*, link: ShareLink, visitor: str) -> None:
    with transaction.atomic():
        selection = Selection.objects.select_for_update().filter(link=link, visitor=visitor).first()
        if selection is None:
            return
        if selection.submitted_at is not None:
            raise Conflict("This selection was sent to the photographer and can no longer change.")
        selection.delete()
