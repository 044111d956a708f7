"""Writes on share links and selections. Every door (admin, API, pages) calls these."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from django.conf import settings
from django.db import transaction
from django.urls import reverse
from django.utils import timezone

from config import events
from config.exceptions import Conflict, InvalidInput
from galleries.models import Gallery, Photo
from notifications.services import notify
from sharing.models import NOTE_MAX_LENGTH, DownloadSizes, Selection, SelectionNote, ShareLink

_UNSET: Any = object()


def share_link_create(
    *,
    gallery: Gallery,
    label: str = "",
    password: str | None = None,
    expires_at: datetime | None = None,
    allow_download: bool = False,
    download_sizes: str = DownloadSizes.ALL,
    allow_upload: bool = False,
    show_metadata: bool = False,
    selection_quota: int | None = None,
    upload_max_files: int | None = None,  # the guest drop box's caps (None: the model's default)
    upload_max_bytes: int | None = None,
) -> ShareLink:
    """A new link with a fresh random token."""
    if expires_at is not None and expires_at <= timezone.now():
        raise InvalidInput("The expiry must be in the future.")
    _check_download_sizes(download_sizes)
    link = ShareLink(
        gallery=gallery,
        label=label.strip(),
        expires_at=expires_at,
        allow_download=allow_download,
        download_sizes=download_sizes,
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
    allowed |= {"download_sizes"}
    unknown = set(fields) - allowed
    if unknown:
        raise InvalidInput(f"Unknown fields: {', '.join(sorted(unknown))}.")
    if "download_sizes" in fields:
        _check_download_sizes(fields["download_sizes"])
    for name, value in fields.items():
        setattr(link, name, value)
    if password is not _UNSET:
        link.set_password(password)
    link.save()
    return link


def _check_download_sizes(value: str) -> None:
    if value not in DownloadSizes.values:
        raise InvalidInput(f"Download sizes must be one of: {', '.join(DownloadSizes.values)}.")


def share_link_revoke(*, link: ShareLink) -> ShareLink:
    """Switch a link off at once; its media URLs stop working within MEDIA_URL_TTL."""
    if link.revoked_at is None:
        link.revoked_at = timezone.now()
        link.save(update_fields=["revoked_at", "updated_at"])
        events.emit("share_link.revoked", owner=link.gallery.owner_id, obj_id=link.pk)  # issue 16: webhooks
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
    return Selection.objects.filter(link=link, visitor=visitor).prefetch_related("photos", "photo_notes").first()


def _clean_notes(notes: dict[Any, str]) -> dict[Any, str]:
    """Each note stripped and within NOTE_MAX_LENGTH; checked before anything changes."""
    cleaned = {}
    for photo_id, text in notes.items():
        text = (text or "").strip()
        if len(text) > NOTE_MAX_LENGTH:
            raise InvalidInput(f"A note can be at most {NOTE_MAX_LENGTH} characters.")
        cleaned[photo_id] = text
    return cleaned


@transaction.atomic
def selection_change(
    *,
    link: ShareLink,
    visitor: str,
    add: list[Photo] = (),
    remove: list[Photo] = (),
    name: str = "",
    email: str = "",
    notes: dict[Any, str] | None = None,
) -> Selection:
    """Add or remove favourites; the first one needs the visitor's name. Submitted selections are locked.

    notes: {photo id: text} for chosen photos (after this change's additions and removals), each
    at most NOTE_MAX_LENGTH characters; an empty text removes the note. A photo taken out of the
    selection loses its note.
    """
    notes = _clean_notes(notes or {})
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
        SelectionNote.objects.filter(selection=selection, photo__in=remove).delete()
    if notes:
        _notes_set(selection, notes)
    if link.selection_quota is not None and selection.photos.count() > link.selection_quota:
        raise Conflict(f"You can choose up to {link.selection_quota} photos.")
    selection.save(update_fields=["updated_at"])
    return selection


def _notes_set(selection: Selection, notes: dict[Any, str]) -> None:
    chosen = set(selection.photos.filter(pk__in=list(notes)).values_list("pk", flat=True))
    if set(notes) - chosen:
        raise InvalidInput("A note needs the photo to be one of your favourites: choose it first.")
    SelectionNote.objects.filter(
        selection=selection, photo_id__in=[p for p, text in notes.items() if not text]
    ).delete()
    for photo_id, text in notes.items():
        if text:
            SelectionNote.objects.update_or_create(selection=selection, photo_id=photo_id, defaults={"text": text})


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
            events.emit("selection.submitted", owner=link.gallery.owner_id, obj_id=selection.pk)  # issue 16
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
            "brand_owner_id": gallery.owner_id,  # issue 13: the owner's studio brand signs the mail
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


def selection_reopen(*, selection: Selection) -> Selection:
    """Give a sent selection back to its client: it can change again and be sent once more (the
    photographer is mailed again then). Reopening an open selection changes nothing."""
    with transaction.atomic():
        locked = Selection.objects.select_for_update().get(pk=selection.pk)
        if locked.submitted_at is not None:
            locked.submitted_at = None
            locked.save(update_fields=["submitted_at", "updated_at"])
    selection.submitted_at = locked.submitted_at
    return selection
