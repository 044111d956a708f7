"""Writes that touch several models, storage or the queue. Every door calls these."""

from __future__ import annotations

import base64
import hashlib
import logging
import secrets
import unicodedata
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import IO, Any

from django.conf import settings
from django.core.files import File
from django.core.files.storage import default_storage
from django.db import IntegrityError, transaction
from django.db.models import F, Max
from django.utils import timezone
from django.utils.text import slugify

from accounts.models import User
from config import events
from config.exceptions import Conflict, InvalidInput, TooLarge
from galleries import counters, imaging, lifecycle, tasks, video
from galleries.models import (
    Asset,
    AssetKind,
    AssetStatus,
    Gallery,
    Layout,
    Photo,
    PurgeReason,
    PurgeRecord,
    Visibility,
)

log = logging.getLogger(__name__)

HASH_CHUNK = 1 << 20


# --- Galleries -------------------------------------------------------------------------------


def secret_slug(title: str) -> str:
    """An address for an unlisted gallery: readable start, then 64 random bits nobody can guess."""
    base = slugify(title)[:60].strip("-") or "gallery"
    return f"{base}-{base64.b32encode(secrets.token_bytes(8)).decode().rstrip('=').lower()}"


def _unique_slug(title: str, *, exclude_pk: Any = None, secret: bool = False) -> str:
    if secret:
        return secret_slug(title)  # unique by its random part; a clash is retried by _gallery_save
    base = slugify(title)[:80].strip("-") or "gallery"
    taken = set(Gallery.objects.filter(slug__startswith=base).exclude(pk=exclude_pk).values_list("slug", flat=True))
    if base not in taken:
        return base
    n = 2
    while f"{base}-{n}" in taken:
        n += 1
    return f"{base}-{n}"


def _check_gallery_fields(
    *, title: str | None = None, visibility: str | None = None, default_layout: str | None = None
) -> None:
    if title is not None and not title.strip():
        raise InvalidInput("The title cannot be empty.")
    if title is not None and len(title) > 100:
        raise InvalidInput("The title can be at most 100 characters.")
    if visibility is not None and visibility not in Visibility.values:
        raise InvalidInput(f"Visibility must be one of: {', '.join(Visibility.values)}.")
    if default_layout is not None and default_layout not in Layout.values:
        raise InvalidInput(f"Layout must be one of: {', '.join(Layout.values)}.")


def gallery_create(
    *,
    owner: User,
    title: str,
    description: str = "",
    visibility: str = Visibility.PRIVATE,
    default_layout: str = Layout.MASONRY,
    show_metadata: bool = False,
    expires_at: datetime | None = None,
    publish_at: datetime | None = None,
) -> Gallery:
    """Create a gallery with a unique slug made from its title (with a random part when unlisted).

    With a publish_at in the future it is a draft until then; an expires_at must be in the future.
    """
    check_dates(publish_at=publish_at, expires_at=expires_at, expiry_changed=expires_at is not None)
    gallery = Gallery(
        owner=owner,
        title=title.strip(),
        description=description,
        visibility=visibility,
        default_layout=default_layout,
        show_metadata=show_metadata,
        expires_at=expires_at,
        publish_at=publish_at,
    )
    _mark_published(gallery)
    _gallery_save(gallery=gallery)
    if gallery.published_at is not None:  # issue 16: webhooks (saved already, so nothing to roll back)
        events.emit("gallery.published", owner=gallery.owner_id, obj_id=gallery.pk)
    return gallery


def check_dates(*, publish_at: datetime | None, expires_at: datetime | None, expiry_changed: bool) -> None:
    """An expiry being set must lie ahead; a release must come before the expiry (InvalidInput, a 400).

    expiry_changed: only a new expiry must lie ahead, so a form saved again with an expired
    gallery's old date is not refused."""
    now = timezone.now()
    if expiry_changed and expires_at is not None and expires_at <= now:
        raise InvalidInput("The expiry date is in the past; choose a later one, or none.", code="expiry_in_past")
    if publish_at is not None and expires_at is not None and publish_at >= expires_at:
        raise InvalidInput("The gallery would expire before it is published; choose a release date before the expiry.")


def _mark_published(gallery: Gallery) -> None:
    """Record when visitors first could see it; a release date moved into the future makes it a draft again."""
    if gallery.is_draft:
        gallery.published_at = None
    elif gallery.published_at is None:
        gallery.published_at = gallery.publish_at or timezone.now()


def _gallery_save(*, gallery: Gallery) -> Gallery:
    """Save a new or changed gallery, giving it a unique slug from its title when it has none.

    Private: doors call gallery_create or gallery_update, which check the fields first.

    A gallery that becomes unlisted (or is created so) gets a new address with a random part: its
    old one may have been public, or guessable from its title.
    """
    _check_gallery_fields(title=gallery.title, visibility=gallery.visibility, default_layout=gallery.default_layout)
    if gallery.visibility == Visibility.MEMBERS and gallery.community_id is None:
        raise InvalidInput("Only a gallery of a community can be shown to its members: choose the community first.")
    unlisted = gallery.visibility == Visibility.UNLISTED
    if unlisted:
        before = Gallery.objects.filter(pk=gallery.pk).values_list("visibility", flat=True).first()
        if before != Visibility.UNLISTED:
            gallery.slug = ""
    for _ in range(5):
        if not gallery.slug:
            gallery.slug = _unique_slug(gallery.title, exclude_pk=gallery.pk, secret=unlisted)
        try:
            with transaction.atomic():
                if gallery._state.adding:
                    gallery.save()
                else:
                    # Only what a door may change: the counters, the trash and the sweep's marks are
                    # written by their own services with F() and must not be put back from a stale copy.
                    gallery.save(update_fields=SAVED_FIELDS)
                return gallery
        except IntegrityError:
            # Another request took the same slug between our read and our write: pick again.
            gallery.slug = ""
            continue
    raise InvalidInput("Could not find a free address for this title; try another title.")


# What a gallery's owner may change (the API's PATCH and the admin's form).
GALLERY_FIELDS = (
    "title",
    "description",
    "visibility",
    "default_layout",
    "show_metadata",
    "cover",
    "expires_at",
    "publish_at",
)
# What saving a changed gallery writes: those, and what the services work out from them.
SAVED_FIELDS = [*GALLERY_FIELDS, "owner", "community", "slug", "published_at", "updated_at"]


@transaction.atomic
def gallery_update(*, gallery: Gallery, **fields: Any) -> Gallery:
    """Change the given fields; a cover must be a photo of this gallery. Every door that edits one calls this.

    The owner changes only when a door passes it (the admin offers that field to managers only).
    """
    # The community changes only when a door passes it (it checks the caller curates that community).
    unknown = set(fields) - {*GALLERY_FIELDS, "owner", "community"}
    if unknown:
        raise InvalidInput(f"Unknown fields: {', '.join(sorted(unknown))}.")
    _check_gallery_fields(
        title=fields.get("title"), visibility=fields.get("visibility"), default_layout=fields.get("default_layout")
    )
    if "title" in fields:
        fields["title"] = fields["title"].strip()
    cover = fields.get("cover")
    if cover is not None and cover.gallery_id != gallery.pk:
        raise InvalidInput("The cover must be a photo of this gallery.")
    check_dates(
        publish_at=fields.get("publish_at", gallery.publish_at),
        expires_at=fields.get("expires_at", gallery.expires_at),
        expiry_changed="expires_at" in fields and fields["expires_at"] != gallery.expires_at,
    )
    was_draft = gallery.published_at is None  # issue 16: webhooks
    for name, value in fields.items():
        setattr(gallery, name, value)
    _mark_published(gallery)
    _gallery_save(gallery=gallery)
    if was_draft and gallery.published_at is not None:
        events.emit("gallery.published", owner=gallery.owner_id, obj_id=gallery.pk)  # issue 16
    Gallery.objects.filter(pk=gallery.pk).touch()
    return gallery


def gallery_extend(*, gallery: Gallery, days: int) -> Gallery:
    """Keep a gallery available `days` longer: from its expiry, or from now when that has passed
    (or there was none). A gallery the sweep moved to the trash when it expired comes back."""
    if days < 1:
        raise InvalidInput("Extend by at least one day.")
    now = timezone.now()
    start = gallery.expires_at if gallery.expires_at and gallery.expires_at > now else now
    with transaction.atomic():
        if gallery.is_trashed:
            gallery_restore(gallery=gallery)
        return gallery_update(gallery=gallery, expires_at=start + timedelta(days=days))


def gallery_trash(*, gallery: Gallery) -> Gallery:
    """Move to the trash: hidden everywhere, restorable with gallery_restore until the lifecycle
    sweep purges it TRASH_RETENTION days later (Gallery.purge_at)."""
    if gallery.deleted_at is None:
        gallery.deleted_at = timezone.now()
        gallery.save(update_fields=["deleted_at", "updated_at"])
        Gallery.objects.filter(pk=gallery.pk).touch()
    return gallery


def gallery_destroy(*, gallery: Gallery) -> PurgeRecord:
    """Delete a gallery for good now (an admin's choice), with every file no other photo holds."""
    return lifecycle.gallery_purge(gallery=gallery, reason=PurgeReason.ADMIN).record


def gallery_restore(*, gallery: Gallery) -> Gallery:
    """Bring a gallery back from the trash. An expiry that has passed is cleared: whoever restores a
    gallery wants it back, and the sweep would otherwise hide or trash it again at once."""
    if gallery.deleted_at is not None:
        gallery.deleted_at = None
        fields = ["deleted_at", "updated_at"]
        if gallery.is_expired:
            gallery.expires_at = None
            fields.append("expires_at")
        gallery.save(update_fields=fields)
        Gallery.objects.filter(pk=gallery.pk).touch()
    return gallery


# --- Photos ----------------------------------------------------------------------------------


@dataclass
class CheckedFile:
    """A file that passed validation, with the facts the server worked out itself."""

    file: IO[bytes]
    filename: str
    size: int
    sha256: str
    kind: str
    mime: str
    ext: str
    width: int
    height: int
    duration: float | None = None


@dataclass
class _Written:
    keys: list[str] = field(default_factory=list)


def clean_filename(name: str) -> str:
    """A display name: no path, no control characters, at most 255 characters."""
    name = unicodedata.normalize("NFC", name or "")
    name = name.replace("\\", "/").rsplit("/", 1)[-1]
    name = "".join(ch for ch in name if unicodedata.category(ch)[0] != "C").strip().lstrip(".")
    if len(name) > 255:
        stem, dot, ext = name.rpartition(".")
        name = (stem[: 254 - len(ext)] + dot + ext) if dot and len(ext) <= 10 else name[:255]
    return name


def sha256_of(fileobj: IO[bytes]) -> tuple[str, int]:
    """The hex SHA-256 and byte count of a file, read in chunks from the start."""
    fileobj.seek(0)
    digest = hashlib.sha256()
    size = 0
    for chunk in iter(lambda: fileobj.read(HASH_CHUNK), b""):
        digest.update(chunk)
        size += len(chunk)
    fileobj.seek(0)
    return digest.hexdigest(), size


def photo_check(
    *, file: IO[bytes], filename: str, size: int | None = None, server_sha256: str | None = None
) -> CheckedFile:
    """Validate one incoming file by its content; the server computes its hash.

    server_sha256 lets a caller that has just hashed these very bytes itself (the upload
    assembler) skip a second pass; it must never come from a client.

    Images must be allow-listed formats within MAX_UPLOAD_SIZE and the pixel limit; MP4, MOV
    and WebM videos are accepted up to MAX_VIDEO_SIZE when ffmpeg is installed.
    Raises InvalidInput, TooLarge or UnsupportedType with a message for a person.
    """
    file.seek(0)
    head = file.read(32)
    file.seek(0)
    video_format = None if imaging.sniff(head) else video.sniff(head)
    limit = settings.MAX_VIDEO_SIZE if video_format else settings.MAX_UPLOAD_SIZE
    what = "Videos" if video_format else "Images"
    name = clean_filename(filename)
    if size is not None and size > limit:
        raise TooLarge(
            f"{name or 'The file'} is {human_size(size)}; the limit for {what.lower()} is {human_size(limit)}."
        )
    if server_sha256 is not None:
        file.seek(0, 2)
        sha, actual_size = server_sha256, file.tell()
        file.seek(0)
    else:
        sha, actual_size = sha256_of(file)
    if actual_size == 0:
        raise InvalidInput("The file is empty.", code="empty")
    if actual_size > limit:
        raise TooLarge(f"The file is {human_size(actual_size)}; the limit for {what.lower()} is {human_size(limit)}.")
    common = {"file": file, "filename": name, "size": actual_size, "sha256": sha}
    if video_format:
        info = video.probe(file, video_format)
        return CheckedFile(
            **common, kind=AssetKind.VIDEO, mime=info.mime, ext=info.ext, width=info.width, height=info.height,
            duration=info.duration,
        )  # fmt: skip
    image = imaging.inspect_image(file, max_pixels=settings.MAX_IMAGE_PIXELS)
    return CheckedFile(
        **common, kind=AssetKind.IMAGE, mime=image.format.mime, ext=image.format.ext, width=image.width,
        height=image.height,
    )  # fmt: skip


def human_size(size: int) -> str:
    """A size for people: 1.5 GB, 48 MB, 12 KB, 900 bytes."""
    for unit, scale in (("GB", 2**30), ("MB", 2**20), ("KB", 2**10)):
        if size >= scale:
            return f"{size / scale:.1f}".removesuffix(".0") + f" {unit}"
    return f"{size} bytes"


def _asset_for(checked: CheckedFile, written: _Written) -> Asset:
    """The Asset for these bytes, locked for this transaction; created and stored if new."""
    for _ in range(3):
        asset = Asset.objects.select_for_update().filter(sha256=checked.sha256).first()
        if asset is not None:
            if not default_storage.exists(asset.original_key):
                # The bytes went missing (restored database, manual cleanup): put them back.
                default_storage.save(asset.original_key, File(checked.file))
                written.keys.append(asset.original_key)
            return asset
        try:
            with transaction.atomic():
                asset = Asset.objects.create(
                    sha256=checked.sha256,
                    kind=checked.kind,
                    mime=checked.mime,
                    ext=checked.ext,
                    size=checked.size,
                    stored_bytes=checked.size,
                    width=checked.width,
                    height=checked.height,
                    duration=checked.duration,
                    status=AssetStatus.PENDING,
                )
        except IntegrityError:
            continue  # a concurrent upload of the same bytes created it first: lock theirs
        default_storage.save(asset.original_key, File(checked.file))
        written.keys.append(asset.original_key)
        transaction.on_commit(lambda asset_id=asset.pk: asset_enqueue_processing(asset_id=asset_id))
        return asset
    raise RuntimeError(f"could not create or lock the asset {checked.sha256}")


def _photo_place(*, gallery: Gallery, asset: Asset, filename: str, contributor: str = "") -> tuple[Photo, bool]:
    existing = Photo.objects.filter(gallery=gallery, asset=asset).first()
    if existing is not None:
        return existing, False
    last = Photo.objects.filter(gallery=gallery).aggregate(m=Max("position"))["m"]
    photo = Photo.objects.create(
        gallery=gallery,
        asset=asset,
        position=0 if last is None else last + 1,
        original_filename=filename,
        contributor=contributor,
        is_approved=not contributor,
        shown=not contributor and asset.status != AssetStatus.FAILED,
    )
    return photo, True


def photos_add(*, gallery: Gallery, files: list[CheckedFile], contributor: str = "") -> list[tuple[Photo, bool]]:
    """Store checked files and place them in the gallery, all or nothing.

    Bytes already stored (same SHA-256) are not stored again; the same bytes in the same gallery
    give back the existing photo (created False). On any failure no row and no new file remains.
    A guest's photos (contributor set) are held until the owner approves them.
    """
    written = _Written()
    try:
        with transaction.atomic():
            Gallery.objects.select_for_update().filter(pk=gallery.pk).first()  # serialise positions
            Gallery.objects.filter(pk=gallery.pk).touch()
            results = []
            added_bytes = shown = total = 0
            for checked in files:
                asset = _asset_for(checked, written)
                photo, created = _photo_place(
                    gallery=gallery, asset=asset, filename=checked.filename, contributor=contributor
                )
                if created:
                    added_bytes += asset.stored_bytes  # read under the asset's lock (see asset_recount)
                    total += 1
                    shown += photo.shown
                results.append((photo, created))
            if added_bytes:
                Gallery.objects.filter(pk=gallery.pk).update(storage_bytes=F("storage_bytes") + added_bytes)
            counters.added(gallery.pk, shown=shown, total=total)
            return results
    except BaseException:
        for key in written.keys:
            if not Asset.objects.filter(sha256=key.rsplit("/", 1)[-1].split(".")[0]).exists():
                default_storage.delete(key)
        raise


def photo_add(*, gallery: Gallery, file: IO[bytes], filename: str, size: int | None = None) -> tuple[Photo, bool]:
    """Check one file by content and place it in the gallery (see photos_add)."""
    checked = photo_check(file=file, filename=filename, size=size)
    return photos_add(gallery=gallery, files=[checked])[0]


@transaction.atomic
def photo_update(*, photo: Photo, **fields: Any) -> Photo:
    """Change title, alt text or position."""
    allowed = {"title", "alt", "position"}
    unknown = set(fields) - allowed
    if unknown:
        raise InvalidInput(f"Unknown fields: {', '.join(sorted(unknown))}.")
    if len(fields.get("alt", "")) > 200:
        raise InvalidInput("Alt text can be at most 200 characters.")
    if len(fields.get("title", "")) > 200:
        raise InvalidInput("The title can be at most 200 characters.")
    for name, value in fields.items():
        setattr(photo, name, value)
    # Only these fields: approval has its own services (photo_approve, photo_unapprove).
    photo.save(update_fields=[*fields, "updated_at"])
    if "position" in fields:
        Gallery.objects.filter(pk=photo.gallery_id).reordered()  # it moved in the order (galleries.marks)
    else:
        Gallery.objects.filter(pk=photo.gallery_id).touch()
    return photo


@transaction.atomic
def photo_delete(*, photo: Photo) -> None:
    """Remove a photo from its gallery; its asset goes too once no photo holds it."""
    asset_id = photo.asset_id
    held = Asset.objects.select_for_update().filter(pk=asset_id).values_list("stored_bytes", flat=True).get()
    shown = Photo.objects.filter(pk=photo.pk, shown=True).exists()
    counters.added(photo.gallery_id, shown=-int(shown), total=-1)
    Gallery.objects.filter(cover=photo).update(cover=None)
    Gallery.objects.filter(pk=photo.gallery_id).touch()
    Gallery.objects.filter(pk=photo.gallery_id).update(storage_bytes=F("storage_bytes") - held)
    photo.delete()
    transaction.on_commit(lambda: asset_collect(asset_id=asset_id))


def asset_collect(*, asset_id: Any) -> bool:
    """Delete an asset and its files when no photo holds it any more. Safe to call twice.

    The rows go with a tombstone per file in one transaction, then the files (galleries.lifecycle):
    a crash in between leaves the tombstones for the sweep, never a row without its file.
    """
    with transaction.atomic():
        buried = lifecycle.bury_assets([asset_id])
    if buried:
        lifecycle.flush_tombstones()  # one batch: what is left waits for the sweep
    return bool(buried)


def asset_enqueue_processing(*, asset_id: Any) -> None:
    """Queue the building of variants and metadata for an asset (after commit)."""
    tasks.enqueue_process_asset(asset_id)


def asset_reprocess(*, asset: Asset, force: bool = True, wait: bool = False) -> str:
    """Build an asset's variants and metadata again from its original: every door's one way to do it.

    force: rebuild every variant (else only the missing ones). wait: build here and now and return
    process_asset's result (the management command); else queue it after commit and return "queued"
    (the API and the admin). Raises Conflict while a worker is processing it.
    """
    with transaction.atomic():
        locked = Asset.objects.select_for_update().get(pk=asset.pk)
        if locked.status == AssetStatus.PROCESSING:
            raise Conflict("This photo is being processed right now; try again when it is done.")
        reset: dict[str, Any] = {
            "status": AssetStatus.PENDING,
            "attempts": 0,
            "error": "",
            "updated_at": timezone.now(),
        }
        if force:
            reset["location_patches"] = None
        Asset.objects.filter(pk=asset.pk).update(**reset)
        if locked.status == AssetStatus.FAILED:
            counters.asset_failure_changed([asset.pk])  # visitors see it again while it is rebuilt
        # Visitors' cached pages hold the old variants' URLs.
        Gallery.objects.filter(photos__asset=asset).touch()
        if not wait:
            transaction.on_commit(lambda: tasks.enqueue_process_asset(asset.pk, force=force))
    if wait:
        result = tasks.process_asset(asset.pk, force=force)
    asset.refresh_from_db()
    return result if wait else "queued"


def _set_approved(photos: list[Photo], approved: bool) -> int:
    ids = [p.pk for p in photos]
    list(Photo.objects.select_for_update().filter(pk__in=ids).values_list("pk", flat=True))  # lock the rows
    counters.approval_changed(ids, approved=approved)
    changed = Photo.objects.filter(pk__in=ids, is_approved=not approved).update(
        is_approved=approved, updated_at=timezone.now()
    )
    if changed:
        Gallery.objects.filter(photos__pk__in=ids).touch()  # visitors' cached pages change
    for photo in photos:
        photo.is_approved = approved
    return changed


@transaction.atomic
def photos_approve(*, photos: list[Photo]) -> int:
    """Show guests' photos to visitors. Returns how many were waiting."""
    return _set_approved(photos, True)


def photo_approve(*, photo: Photo) -> bool:
    """Show one guest photo to visitors. False when it was shown already."""
    return bool(photos_approve(photos=[photo]))


@transaction.atomic
def photo_unapprove(*, photo: Photo) -> bool:
    """Hide one photo from visitors again (the owner still sees it). False when it was hidden already."""
    return bool(_set_approved([photo], False))


@transaction.atomic
def photos_feature(*, photos: list[Photo], featured: bool = True) -> int:
    """Make photos picks (Photo.featured), or picks no more. Returns how many changed."""
    ids = [p.pk for p in photos]
    changed = Photo.objects.filter(pk__in=ids, featured=not featured).update(
        featured=featured, updated_at=timezone.now()
    )
    if changed:
        Gallery.objects.filter(photos__pk__in=ids).touch()
    for photo in photos:
        photo.featured = featured
    return changed


# --- Ordering and moving photos (the admin's workspace; any door may call these) ----------------

SORT_KEYS = {
    "taken": "capture time",
    "filename": "file name",
    "uploaded": "upload time",
}


def _renumber(gallery: Gallery, ordered_ids: list[Any]) -> int:
    """Give the photos positions 0, 1, 2… in this order; writes only the rows whose position changes."""
    current = dict(Photo.objects.filter(gallery=gallery).values_list("pk", "position"))
    changed = [
        Photo(pk=pk, position=position)
        for position, pk in enumerate(ordered_ids)
        if current.get(pk) != position
    ]  # fmt: skip
    if changed:
        now = timezone.now()
        for photo in changed:
            photo.updated_at = now
        Photo.objects.bulk_update(changed, ["position", "updated_at"], batch_size=500)
        Gallery.objects.filter(pk=gallery.pk).reordered()  # the order moved (galleries.marks)
    return len(changed)


@transaction.atomic
def photos_reorder(*, gallery: Gallery, photo_ids: list[Any]) -> int:
    """Put the gallery's photos in this order (ids, first to last), in one transaction.

    Photos the list leaves out keep their order after the listed ones, so a door that shows only
    part of a gallery cannot lose the rest. An id that is not a photo of this gallery, or one given
    twice, is refused (InvalidInput) and nothing changes. Returns how many photos moved.
    """
    Gallery.objects.select_for_update().filter(pk=gallery.pk).first()  # serialise with uploads
    ids = [str(pk) for pk in photo_ids]
    if len(set(ids)) != len(ids):
        raise InvalidInput("A photo is listed twice in the new order.")
    existing = [str(pk) for pk in Photo.objects.filter(gallery=gallery).values_list("pk", flat=True)]
    unknown = set(ids) - set(existing)
    if unknown:
        raise InvalidInput("The new order names photos that are not in this gallery.")
    listed = set(ids)
    rest = [pk for pk in existing if pk not in listed]  # existing is in the gallery's order
    by_str = {str(pk): pk for pk in Photo.objects.filter(gallery=gallery).values_list("pk", flat=True)}
    return _renumber(gallery, [by_str[pk] for pk in ids + rest])


def _taken_key(photo: Photo) -> tuple:
    """EXIF capture time (ISO text sorts in time order); photos without one go last, by upload."""
    exif = photo.asset.exif or {}
    taken = exif.get("taken_at") or ""  # DateTimeOriginal, as imaging.read_exif stores it
    return (taken == "", str(taken), photo.created_at, str(photo.pk))


SORTERS = {
    "taken": _taken_key,
    "filename": lambda p: (p.original_filename.casefold() == "", p.original_filename.casefold(), p.created_at),
    "uploaded": lambda p: (p.created_at, str(p.pk)),
}


@transaction.atomic
def photos_sort(*, gallery: Gallery, key: str) -> int:
    """Order a whole gallery by capture time (EXIF), file name or upload time, in one transaction.

    Returns how many photos moved. An unknown key is InvalidInput."""
    if key not in SORTERS:
        raise InvalidInput(f"Sort by one of: {', '.join(SORT_KEYS)}.")
    Gallery.objects.select_for_update().filter(pk=gallery.pk).first()
    photos = list(Photo.objects.filter(gallery=gallery).select_related("asset").only(
        "pk", "created_at", "original_filename", "asset__exif"
    ))  # fmt: skip
    photos.sort(key=SORTERS[key])
    return _renumber(gallery, [p.pk for p in photos])


@transaction.atomic
def photos_move(*, photos: list[Photo], to: Gallery) -> int:
    """Move photos to another gallery, all or nothing: they keep their files, titles and approval,
    and go to the end of the target in their current order.

    Both galleries' counters and storage follow (galleries.counters), both orders change
    (reordered), a moved cover is cleared. Refused (InvalidInput) when the target already holds the
    same picture (one picture per gallery) or a photo is already in the target.
    """
    if not photos:
        return 0
    ids = [p.pk for p in photos]
    sources = sorted({p.gallery_id for p in photos} | {to.pk}, key=str)
    list(Gallery.objects.select_for_update().filter(pk__in=sources).order_by("pk"))  # one lock order
    rows = list(Photo.objects.select_for_update().filter(pk__in=ids).select_related("asset").order_by(
        "gallery_id", "position", "created_at", "id"
    ))  # fmt: skip
    if len(rows) != len(set(ids)):
        raise InvalidInput("Some of these photos no longer exist.")
    if any(p.gallery_id == to.pk for p in rows):
        raise InvalidInput("Some of these photos are already in that gallery.")
    clash = Photo.objects.filter(gallery=to, asset_id__in=[p.asset_id for p in rows]).values_list(
        "original_filename", flat=True
    )
    if clash:
        names = ", ".join(sorted(n or "?" for n in clash)[:5])
        raise InvalidInput(f"“{to.title}” already holds the same picture: {names}. Nothing was moved.")
    last = Photo.objects.filter(gallery=to).aggregate(m=Max("position"))["m"]
    start = 0 if last is None else last + 1
    now = timezone.now()
    Gallery.objects.filter(cover_id__in=ids).update(cover=None)
    by_source: dict[Any, dict[str, int]] = {}
    for offset, photo in enumerate(rows):
        tally = by_source.setdefault(photo.gallery_id, {"shown": 0, "total": 0, "bytes": 0})
        tally["shown"] += photo.shown
        tally["total"] += 1
        tally["bytes"] += photo.asset.stored_bytes
        photo.gallery_id, photo.position, photo.updated_at = to.pk, start + offset, now
    Photo.objects.bulk_update(rows, ["gallery", "position", "updated_at"], batch_size=500)
    moved_bytes = shown = 0
    for source_id, tally in by_source.items():
        counters.added(source_id, shown=-tally["shown"], total=-tally["total"])
        Gallery.objects.filter(pk=source_id).update(storage_bytes=F("storage_bytes") - tally["bytes"])
        moved_bytes += tally["bytes"]
        shown += tally["shown"]
    counters.added(to.pk, shown=shown, total=len(rows))
    Gallery.objects.filter(pk=to.pk).update(storage_bytes=F("storage_bytes") + moved_bytes)
    Gallery.objects.filter(pk__in=sources).reordered()
    return len(rows)
