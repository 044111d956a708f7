"""The curation queue of a community: its members' photos waiting for a curator, and what curators do
with them. Every action goes through the galleries services (approve, move, cover, feature, delete),
so counters, caches and files follow exactly as they do from the admin.

The caller has already asked the access policy (sharing.access.require_curator); every function
here still confines the photos to the community's own galleries, so a photo id from elsewhere is
"not found", never acted on.
"""

from __future__ import annotations

import base64
import binascii
import json
import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Count, Q, QuerySet
from django.utils.dateparse import parse_datetime

from accounts.models import Community, Membership, Rejection, User
from config.exceptions import InvalidInput, NotFound
from galleries import services as gallery_services
from galleries.models import Gallery, Photo, attach_variants
from notifications.services import notify

QUEUE_PAGE = 50
MAX_BULK = 500
MAX_REASON = 500


def community_galleries(community: Community) -> QuerySet:
    """The community's galleries out of the trash: the ones curators work in."""
    return Gallery.objects.alive().filter(community=community)


def pending(community: Community) -> QuerySet:
    """Photos waiting for a curator across the community's galleries."""
    return Photo.objects.filter(gallery__community=community, gallery__deleted_at__isnull=True, is_approved=False)


# --- Keyset pagination ---------------------------------------------------------------------------
# Oldest first (first come, first reviewed), by (created_at, id): a cursor is the last row's key, so
# page 200 of 10,000 pending photos costs what page 1 does and approving photos never shifts a page.


def encode_cursor(photo: Photo) -> str:
    raw = json.dumps([photo.created_at.isoformat(), str(photo.pk)]).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(cursor: str) -> tuple[datetime, uuid.UUID]:
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        when, pk = json.loads(raw)
        created = parse_datetime(when)
        if created is None:
            raise ValueError
        return created, uuid.UUID(pk)
    except (ValueError, TypeError, binascii.Error, json.JSONDecodeError):
        raise InvalidInput("This page marker is damaged; start from the first page.", code="cursor") from None


@dataclass
class QueuePage:
    photos: list[Photo]
    next_cursor: str
    total: int
    by_contributor: list[dict[str, Any]]


def queue_page(community: Community, *, cursor: str = "", limit: int = QUEUE_PAGE, gallery_id: Any = None) -> QueuePage:
    """One page of the queue with its total and counts per contributor: five queries whatever its size."""
    limit = max(1, min(int(limit), 200))
    rows = pending(community)
    if gallery_id:
        rows = rows.filter(gallery_id=gallery_id)
    counted = rows
    if cursor:
        created, pk = decode_cursor(cursor)
        rows = rows.filter(Q(created_at__gt=created) | Q(created_at=created, pk__gt=pk))
    photos = list(
        rows.select_related("gallery", "asset").order_by("created_at", "id")[: limit + 1]
    )  # one past the page: is there another?
    more = len(photos) > limit
    photos = photos[:limit]
    attach_variants([p.asset for p in photos])
    by_contributor = list(
        counted.values("contributor").annotate(count=Count("pk")).order_by("-count", "contributor")[:50]
    )
    total = sum(row["count"] for row in by_contributor) if len(by_contributor) < 50 else counted.count()
    return QueuePage(
        photos=photos,
        next_cursor=encode_cursor(photos[-1]) if more and photos else "",
        total=total,
        by_contributor=by_contributor,
    )


# --- Actions -------------------------------------------------------------------------------------


def _photos(community: Community, ids: list[Any], *, pending_only: bool = False) -> list[Photo]:
    """The community's photos with these ids; NotFound when any is missing or elsewhere."""
    if not ids:
        raise InvalidInput("Choose at least one photo.", code="photos")
    if len(ids) > MAX_BULK:
        raise InvalidInput(f"At most {MAX_BULK} photos at a time.", code="photos")
    try:
        clean = {uuid.UUID(str(pk)) for pk in ids}
    except ValueError:
        raise InvalidInput("A photo id is not valid.", code="photos") from None
    rows = Photo.objects.filter(gallery__community=community, gallery__deleted_at__isnull=True, pk__in=clean)
    if pending_only:
        rows = rows.filter(is_approved=False)
    photos = list(rows.select_related("gallery"))
    if len(photos) != len(clean):
        raise NotFound("Some of these photos are not in this community's queue any more.")
    return photos


@transaction.atomic
def queue_approve(*, community: Community, photo_ids: list[Any]) -> int:
    """Show these photos to the gallery's audience; their contributors are told by mail (one mail each
    per action). Returns how many were waiting."""
    photos = _photos(community, photo_ids)
    waiting = [p for p in photos if not p.is_approved]
    done = gallery_services.photos_approve(photos=photos)
    _tell_contributors(community, waiting, approved=True)
    return done


@transaction.atomic
def queue_reject(*, community: Community, photo_ids: list[Any], reason: str, by: User | None) -> int:
    """Turn photos down: each is deleted (its file goes once nothing holds it) and a Rejection keeps
    the reason for its contributor. A reason is required (1 to 500 characters)."""
    reason = (reason or "").strip()
    if not reason:
        raise InvalidInput("Say why: the contributor sees the reason.", code="reason")
    if len(reason) > MAX_REASON:
        raise InvalidInput(f"The reason can be at most {MAX_REASON} characters.", code="reason")
    photos = _photos(community, photo_ids, pending_only=True)
    contributors = _contributors(community, [p.contributor for p in photos])
    Rejection.objects.bulk_create(
        Rejection(
            community=community,
            contributor=contributors.get(p.contributor),
            gallery_title=p.gallery.title,
            original_filename=p.original_filename,
            reason=reason,
            rejected_by=by,
        )
        for p in photos
    )
    for photo in photos:
        gallery_services.photo_delete(photo=photo)
    _tell_contributors(community, photos, approved=False, reason=reason)
    return len(photos)


def _tell_contributors(community: Community, photos: list[Photo], *, approved: bool, reason: str = "") -> None:
    """One mail per contributor for this action (sent by the worker after commit, at most once)."""
    by_name: dict[str, list[Photo]] = {}
    for photo in photos:
        if photo.contributor:
            by_name.setdefault(photo.contributor, []).append(photo)
    if not by_name:
        return
    users = _contributors(community, list(by_name))
    event = uuid.uuid4().hex  # each curator action is its own event
    for name, theirs in by_name.items():
        user = users.get(name)
        if user is None or not user.email:
            continue
        notify(
            key=f"community-review:{community.pk}:{user.pk}:{event}",
            to=user.email,
            template="community_review",
            topic=f"community:{community.pk}",
            context={
                "community_name": community.name,
                "approved": approved,
                "count": len(theirs),
                "reason": reason,
                "filenames": [p.original_filename for p in theirs[:10]],
                "more": max(0, len(theirs) - 10),
                "community_url": settings.SITE_URL + community.get_absolute_url(),
            },
        )


def _contributors(community: Community, names: list[str]) -> dict[str, User]:
    rows = Membership.objects.filter(community=community, user__username__in=set(names)).select_related("user")
    return {m.user.username: m.user for m in rows}


def queue_move(*, community: Community, photo_ids: list[Any], to_gallery_id: Any) -> int:
    """Move photos to another gallery of the same community (through galleries.services.photos_move)."""
    try:
        target = community_galleries(community).filter(pk=to_gallery_id).first()
    except (ValueError, TypeError, ValidationError):  # a malformed id
        target = None
    if target is None:
        raise NotFound("There is no such gallery in this community.")
    photos = [p for p in _photos(community, photo_ids) if p.gallery_id != target.pk]
    if not photos:
        raise InvalidInput("These photos are already in that gallery.", code="gallery")
    return gallery_services.photos_move(photos=photos, to=target)


def queue_cover(*, community: Community, photo_id: Any) -> Gallery:
    """Make a photo its gallery's cover (galleries.services.gallery_update); it is approved first,
    since a cover everyone sees cannot be a photo nobody has checked."""
    (photo,) = _photos(community, [photo_id])
    if not photo.is_approved:
        gallery_services.photos_approve(photos=[photo])
    return gallery_services.gallery_update(gallery=photo.gallery, cover=photo)


def queue_feature(*, community: Community, photo_ids: list[Any], featured: bool = True) -> int:
    """Make photos picks (Photo.featured), or not."""
    return gallery_services.photos_feature(photos=_photos(community, photo_ids), featured=featured)


# --- Galleries of a community ------------------------------------------------------------------------


def gallery_attach(*, gallery: Gallery, community: Community, visibility: str | None = None) -> Gallery:
    """Put a gallery into a community (or take it out with community None), optionally with a new
    visibility (`members` shows it to the community's members only). Through gallery_update.

    Preconditions (the door's): the caller may edit the gallery (galleries' editable_by) and curates
    the community. Taking a members-only gallery out of its community makes it private.
    """
    fields: dict[str, Any] = {"community": community}
    if visibility is not None:
        fields["visibility"] = visibility
    elif community is None and gallery.visibility == "members":
        fields["visibility"] = "private"
    return gallery_services.gallery_update(gallery=gallery, **fields)
