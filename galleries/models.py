from __future__ import annotations

import uuid
from collections.abc import Iterable
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any, NamedTuple

from django.conf import settings
from django.core.validators import MinLengthValidator
from django.db import models
from django.db.models import F, OuterRef, Q, Subquery
from django.db.models.functions import Coalesce
from django.urls import reverse
from django.utils import timezone

from accounts.permissions import gallery_member_rule, gallery_outsider_rule, is_manager, is_photographer
from galleries.imaging import BROWSER_FORMATS
from galleries.storage import original_key

if TYPE_CHECKING:
    from accounts.models import User


class Visibility(models.TextChoices):
    PUBLIC = "public", "Public (listed on the home page)"
    UNLISTED = "unlisted", "Unlisted (anyone with the address)"
    PRIVATE = "private", "Private (owner, admins and share links)"
    MEMBERS = "members", "Members of its community (and share links)"


class Layout(models.TextChoices):
    MASONRY = "masonry", "Masonry"
    TILES = "tiles", "Tiles"
    SLIDESHOW = "slideshow", "Slideshow"


class State(models.TextChoices):
    """Where a gallery is in its life (Gallery.state). Purged galleries have no row, only a PurgeRecord."""

    DRAFT = "draft", "Draft"
    PUBLISHED = "published", "Published"
    EXPIRING = "expiring", "Expiring soon"
    EXPIRED = "expired", "Expired"
    TRASH = "trash", "In trash"


def _open_to_visitors(now) -> Q:
    """Published, not past its expiry: what visitors may see (with their visibility or link)."""
    return (Q(publish_at__isnull=True) | Q(publish_at__lte=now)) & (Q(expires_at__isnull=True) | Q(expires_at__gt=now))


class GalleryQuerySet(models.QuerySet):
    def alive(self) -> GalleryQuerySet:
        """Not in the trash."""
        return self.filter(deleted_at__isnull=True)

    def open(self) -> GalleryQuerySet:
        """What visitors may see: not in the trash, published and not past its expiry."""
        return self.alive().filter(_open_to_visitors(timezone.now()))

    def draft(self) -> GalleryQuerySet:
        return self.alive().filter(publish_at__gt=timezone.now())

    def expired(self) -> GalleryQuerySet:
        return self.alive().filter(expires_at__lte=timezone.now())

    def trashed(self) -> GalleryQuerySet:
        return self.filter(deleted_at__isnull=False)

    def public(self) -> GalleryQuerySet:
        return self.open().filter(visibility=Visibility.PUBLIC).filter(gallery_outsider_rule(None))

    def visible_to(self, user: User) -> GalleryQuerySet:
        """Galleries this user may look at: admins every one out of the trash, owners theirs (drafts and
        expired ones too), everyone the open public and unlisted ones (not those of a members-only
        community), community members the open ones of their community (accounts.permissions)."""
        alive = self.alive()
        if is_manager(user):
            return alive
        now = timezone.now()
        rule = Q(visibility__in=[Visibility.PUBLIC, Visibility.UNLISTED]) & gallery_outsider_rule(user)
        rule = (rule | gallery_member_rule(user)) & _open_to_visitors(now)
        if user.is_authenticated:
            rule |= Q(owner=user)
        return alive.filter(rule)

    def editable_by(self, user: User) -> GalleryQuerySet:
        """Galleries this user may change, trash included: admins all, staff their own."""
        if is_manager(user):
            return self.all()
        if is_photographer(user):
            return self.filter(owner=user)
        return self.none()

    def touch(self) -> int:
        """Mark the content of these galleries as changed (see content_version)."""
        return self.update(content_version=F("content_version") + 1)

    def reordered(self) -> int:
        """Photos left these galleries' order or moved in it (see order_version); their content changed too."""
        return self.update(content_version=F("content_version") + 1, order_version=F("order_version") + 1)

    def with_cover_id(self) -> GalleryQuerySet:
        """Annotate cover_photo_id: the chosen cover, else the first ready photo."""
        first_ready = (
            Photo.objects.filter(gallery=OuterRef("pk"), asset__status=AssetStatus.READY, is_approved=True)
            .order_by("position", "created_at")
            .values("id")[:1]
        )
        return self.annotate(cover_photo_id=Coalesce("cover_id", Subquery(first_ready)))


class Gallery(models.Model):
    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    owner = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="galleries")
    title = models.CharField(max_length=100, validators=[MinLengthValidator(1)])
    slug = models.SlugField(max_length=120, unique=True)
    description = models.TextField(blank=True, max_length=5000)
    visibility = models.CharField(max_length=10, choices=Visibility.choices, default=Visibility.PRIVATE)
    # PROTECT: a community's galleries hold its members' photos; deleting the community must not
    # silently orphan them (a members-only gallery would lose its whole audience). Move or delete the
    # galleries first. sharing.access decides who sees them.
    community = models.ForeignKey(
        "accounts.Community", null=True, blank=True, on_delete=models.PROTECT, related_name="galleries"
    )
    cover = models.ForeignKey("Photo", null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    default_layout = models.CharField(max_length=10, choices=Layout.choices, default=Layout.MASONRY)
    show_metadata = models.BooleanField(
        "show camera details",
        default=False,
        help_text="Show visitors of the gallery's page the camera details (EXIF) and original file names. "
        "Location is never shown. Share links have their own switch.",
    )
    publish_at = models.DateTimeField(
        null=True,
        blank=True,
        help_text="Until then the gallery is a draft only you see; empty: visitors see it at once.",
    )
    expires_at = models.DateTimeField(
        null=True,
        blank=True,
        help_text="From then on only you see it, until it is purged (see the purge date); empty: never expires.",
    )
    deleted_at = models.DateTimeField(null=True, blank=True, editable=False)
    # What the lifecycle sweep has done (galleries.lifecycle): the expiry each notice or step was for,
    # so that every step runs once per date and again only when the owner sets a new one.
    published_at = models.DateTimeField(null=True, blank=True, editable=False)
    expiry_warned_for = models.DateTimeField(null=True, blank=True, editable=False)
    expired_for = models.DateTimeField(null=True, blank=True, editable=False)
    purge_warned_for = models.DateTimeField(null=True, blank=True, editable=False)  # trash date or expiry
    guests_noticed_at = models.DateTimeField(null=True, blank=True, editable=False)
    # Bytes of every file its photos hold (originals and variants; a file shared with another gallery
    # counts in both), kept by the services that change them so that reading it costs nothing.
    storage_bytes = models.BigIntegerField(default=0, editable=False)
    # Photos visitors see (approved, not failed) and every photo (the owner's), kept by the services
    # that add, remove, approve and process photos, so that no list counts rows (galleries.counters).
    photo_count = models.PositiveIntegerField(default=0, editable=False)
    photo_total = models.PositiveIntegerField(default=0, editable=False)
    # Bumped whenever what the gallery shows changes (photos, their order, texts, processing), so
    # rendered pages can be cached under it and never served stale.
    content_version = models.PositiveIntegerField(default=0, editable=False)
    # Bumped whenever a photo leaves the order or moves in it (deleted, hidden, shown, moved): the
    # page marks of older versions are not used (galleries.marks). New photos go to the end and
    # leave it alone.
    order_version = models.PositiveIntegerField(default=0, editable=False)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    objects = GalleryQuerySet.as_manager()

    class Meta:
        verbose_name_plural = "galleries"
        ordering = ["-created_at"]
        indexes = [
            models.Index(fields=["visibility", "deleted_at"]),
            models.Index(fields=["owner", "-created_at"]),
            models.Index(fields=["expires_at"], condition=Q(expires_at__isnull=False), name="gallery_expiry"),
            models.Index(fields=["deleted_at"], condition=Q(deleted_at__isnull=False), name="gallery_trash"),
        ]
        constraints = [
            models.CheckConstraint(condition=~Q(title=""), name="gallery_title_not_empty"),
            models.CheckConstraint(
                condition=~Q(visibility="members") | Q(community__isnull=False), name="gallery_members_need_community"
            ),
            models.CheckConstraint(
                condition=Q(publish_at__isnull=True) | Q(expires_at__isnull=True) | Q(publish_at__lt=F("expires_at")),
                name="gallery_publish_before_expiry",
            ),
        ]

    def __str__(self) -> str:
        return self.title

    def get_absolute_url(self) -> str:
        return reverse("galleries:detail", kwargs={"slug": self.slug})

    @property
    def is_expired(self) -> bool:
        return self.expires_at is not None and self.expires_at <= timezone.now()

    @property
    def is_trashed(self) -> bool:
        return self.deleted_at is not None

    @property
    def is_draft(self) -> bool:
        return self.publish_at is not None and self.publish_at > timezone.now()

    @property
    def is_open(self) -> bool:
        """Visitors may see it (with its visibility or a link): the rule of GalleryQuerySet.open."""
        return not (self.is_trashed or self.is_draft or self.is_expired)

    @property
    def state(self) -> str:
        if self.is_trashed:
            return State.TRASH
        if self.is_expired:
            return State.EXPIRED
        if self.is_draft:
            return State.DRAFT
        notice = timedelta(days=settings.GALLERY_EXPIRY_NOTICE_DAYS)
        if self.expires_at is not None and self.expires_at <= timezone.now() + notice:
            return State.EXPIRING
        return State.PUBLISHED

    @property
    def purge_at(self) -> datetime | None:
        """When the lifecycle sweep deletes it for good: trash after TRASH_RETENTION days, an expired
        gallery GALLERY_PURGE_AFTER days after its expiry (None: kept); None while it is neither."""
        if self.deleted_at is not None:
            return self.deleted_at + timedelta(days=settings.TRASH_RETENTION)
        if self.is_expired and settings.GALLERY_PURGE_AFTER is not None:
            return self.expires_at + timedelta(days=settings.GALLERY_PURGE_AFTER)
        return None

    def is_editable_by(self, user: User) -> bool:
        """The same rule as GalleryQuerySet.editable_by, for a gallery already in hand."""
        return is_manager(user) or (is_photographer(user) and self.owner_id == user.pk)

    def cover_photo(self) -> Photo | None:
        """The chosen cover, else the first photo."""
        return self.cover or self.photos.select_related("asset").first()


class PhotoQuerySet(models.QuerySet):
    def visible_to(self, user: User) -> PhotoQuerySet:
        return self.filter(gallery__in=Gallery.objects.visible_to(user))

    def editable_by(self, user: User) -> PhotoQuerySet:
        return self.filter(gallery__in=Gallery.objects.editable_by(user))

    def with_media(self) -> PhotoQuerySet:
        return self.select_related("asset").prefetch_related("asset__variants")


class Photo(models.Model):
    """One picture placed in one gallery."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    gallery = models.ForeignKey(Gallery, on_delete=models.CASCADE, related_name="photos")
    asset = models.ForeignKey("Asset", on_delete=models.PROTECT, related_name="photos")
    position = models.PositiveIntegerField(default=0)
    title = models.CharField(max_length=200, blank=True)
    alt = models.CharField("alt text", max_length=200, blank=True, help_text="Describes the photo for screen readers.")
    original_filename = models.CharField(max_length=255, blank=True)
    # Photos dropped in by guests (through a share link) wait for the owner's approval.
    is_approved = models.BooleanField(default=True)
    contributor = models.CharField(max_length=100, blank=True, help_text="The guest who sent it; empty for the owner.")
    featured = models.BooleanField(
        default=False, help_text="A pick: the photographer's or curator's choice (an import can set it from ratings)."
    )
    # Visitors see it: approved and its asset not failed. Kept with the counters (galleries.counters)
    # so that visitors' pages walk an index of shown photos instead of joining every asset they skip.
    shown = models.BooleanField(default=True, editable=False)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    objects = PhotoQuerySet.as_manager()

    class Meta:
        ordering = ["position", "created_at", "id"]  # galleries.paging.PHOTO_ORDER
        # Pages walk this index for the ids of a page before they join anything (galleries.paging).
        indexes = [
            models.Index(fields=["gallery", "position", "created_at", "id"], name="photo_gallery_order"),
            models.Index(
                fields=["gallery", "position", "created_at", "id"], condition=Q(shown=True), name="photo_gallery_shown"
            ),
        ]
        constraints = [models.UniqueConstraint(fields=["gallery", "asset"], name="photo_unique_asset_per_gallery")]

    def __str__(self) -> str:
        return self.title or self.original_filename or str(self.id)

    def get_absolute_url(self) -> str:
        return reverse("galleries:photo", kwargs={"slug": self.gallery.slug, "photo_id": self.id})

    @property
    def display_name(self) -> str:
        return self.title or self.original_filename or f"Photo {self.position + 1}"


class PageMark(models.Model):
    """Every STRIDE-th photo of a gallery's order, with its place in it (galleries.marks).

    A deep page starts from the mark before it instead of counting every photo before it. Marks are
    derived data, made when a deep page is first asked for, for one audience (every photo: the
    owner; the shown ones: visitors) and one order_version of the gallery; other versions' marks are
    never read and are replaced when the next ones are made.
    """

    gallery = models.ForeignKey(Gallery, on_delete=models.CASCADE, related_name="+")
    shown_only = models.BooleanField()
    version = models.PositiveIntegerField()
    ordinal = models.PositiveIntegerField()  # from 0, in galleries.paging.PHOTO_ORDER
    # The photo's place in the order (not a key to it: a photo leaving the order bumps the version).
    position = models.PositiveIntegerField()
    created_at = models.DateTimeField()
    photo_id = models.UUIDField()

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["gallery", "shown_only", "version", "ordinal"], name="pagemark_unique")
        ]

    def __str__(self) -> str:
        return f"{self.gallery_id} #{self.ordinal} (v{self.version}{', shown' if self.shown_only else ''})"

    @property
    def key(self) -> tuple:
        return (self.position, self.created_at, self.photo_id)


class AssetStatus(models.TextChoices):
    PENDING = "pending", "Pending"
    PROCESSING = "processing", "Processing"
    READY = "ready", "Ready"
    FAILED = "failed", "Failed"


class AssetKind(models.TextChoices):
    IMAGE = "image", "Image"
    VIDEO = "video", "Video"


class Asset(models.Model):
    """The bytes of one unique file, shared by every Photo that holds them."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    sha256 = models.CharField(max_length=64, unique=True)
    kind = models.CharField(max_length=5, choices=AssetKind.choices, default=AssetKind.IMAGE)
    mime = models.CharField(max_length=50)
    ext = models.CharField(max_length=8)
    size = models.BigIntegerField()
    width = models.PositiveIntegerField(default=0)
    height = models.PositiveIntegerField(default=0)
    status = models.CharField(max_length=10, choices=AssetStatus.choices, default=AssetStatus.PENDING)
    error = models.TextField(blank=True)
    attempts = models.PositiveSmallIntegerField(default=0)
    processing_started_at = models.DateTimeField(null=True, blank=True)
    # The worker processing the asset renews this lease while it works (PROCESSING_LEASE); once it
    # lapses the worker is presumed dead and the sweep hands the asset to another one.
    claim_expires_at = models.DateTimeField(null=True, blank=True, editable=False)
    blurhash = models.CharField(max_length=100, blank=True)
    exif = models.JSONField(default=dict, blank=True)
    gps = models.JSONField(null=True, blank=True, help_text="Shown to the owner only.")
    # How to hand the original to anyone but the owner without its location (galleries.originals):
    # null until worked out, [] when it carries none, [[offset, hex], ...] size-preserving patches,
    # or {"error": ...} when it cannot be removed safely.
    location_patches = models.JSONField(null=True, blank=True, editable=False)
    duration = models.FloatField(null=True, blank=True, help_text="Seconds, for video.")
    # How far a long job (a video's renditions) has come, in percent; None when nothing is running.
    progress = models.PositiveSmallIntegerField(null=True, blank=True, editable=False)
    # The original's size plus every variant's: what the asset holds in storage (kept by processing).
    stored_bytes = models.BigIntegerField(default=0, editable=False)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        indexes = [models.Index(fields=["status", "processing_started_at"])]

    def __str__(self) -> str:
        return f"{self.sha256[:12]}… ({self.mime})"

    @property
    def original_key(self) -> str:
        return original_key(self.sha256, self.ext)

    @property
    def aspect_ratio(self) -> float | None:
        return round(self.width / self.height, 4) if self.width and self.height else None

    @property
    def browser_can_show_original(self) -> bool:
        return self.mime in BROWSER_FORMATS

    def variant(self, name: str, fmt: str) -> Variant | VariantRow | None:
        """The variant with this name and format, using prefetched or attached rows when there are any."""
        return self._variant_index().get((name, fmt))

    def variant_list(self) -> list[Variant | VariantRow]:
        """Every variant, smallest first (attached rows when there are any)."""
        return list(self._variant_index().values())

    def _variant_index(self) -> dict[tuple[str, str], Variant | VariantRow]:
        index = self.__dict__.get("_variants_by_name")
        if index is None:
            index = {(v.name, v.format): v for v in self.variants.all()}
            if "variants" in getattr(self, "_prefetched_objects_cache", {}):
                self.__dict__["_variants_by_name"] = index  # only prefetched rows are safe to keep
        return index


class Variant(models.Model):
    """One derived file of an Asset: a named size in one format."""

    asset = models.ForeignKey(Asset, on_delete=models.CASCADE, related_name="variants")
    name = models.CharField(max_length=20)
    format = models.CharField(max_length=5)
    width = models.PositiveIntegerField()
    height = models.PositiveIntegerField()
    size = models.PositiveIntegerField()
    key = models.CharField(max_length=255)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["width", "format"]
        constraints = [models.UniqueConstraint(fields=["asset", "name", "format"], name="variant_unique_name_format")]

    def __str__(self) -> str:
        return f"{self.name}.{self.format} {self.width}×{self.height}"


class VariantRow(NamedTuple):
    """What pages and the API read of a variant, without building a model instance for each."""

    name: str
    format: str
    width: int
    height: int
    size: int
    key: str


def attach_variants(assets: Iterable[Asset]) -> None:
    """Fetch the variants of these assets in one query and keep them on each as plain rows (read by
    Asset.variant and Asset.variant_list): a page of 50 photos holds 400 variants, and making a model
    instance of each cost more than the rest of the page's rows."""
    by_id = {asset.pk: asset for asset in assets}
    index: dict[Any, dict] = {pk: {} for pk in by_id}
    rows = Variant.objects.filter(asset_id__in=list(by_id)).order_by("width", "format")
    for asset_id, *fields in rows.values_list("asset_id", "name", "format", "width", "height", "size", "key"):
        row = VariantRow(*fields)
        index[asset_id][(row.name, row.format)] = row
    for pk, asset in by_id.items():
        asset.__dict__["_variants_by_name"] = index[pk]


class PurgeReason(models.TextChoices):
    EXPIRED = "expired", "Expired"
    TRASH = "trash", "Trash emptied"
    ADMIN = "admin", "Deleted by an admin"


class PurgeRecord(models.Model):
    """What was deleted for good, when and why: the gallery row is gone, this stays.

    Files are counted once they are really gone from storage (StorageTombstone), so a purge that
    was cut short never claims bytes it did not free.
    """

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    gallery_id = models.UUIDField(db_index=True)
    title = models.CharField(max_length=100)
    owner = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+")
    reason = models.CharField(max_length=10, choices=PurgeReason.choices)
    started_at = models.DateTimeField(default=timezone.now)
    finished_at = models.DateTimeField(null=True, blank=True)
    photos_deleted = models.PositiveIntegerField(default=0)
    files_deleted = models.PositiveIntegerField(default=0)
    bytes_freed = models.BigIntegerField(default=0)

    class Meta:
        ordering = ["-started_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["gallery_id"], condition=Q(finished_at__isnull=True), name="purge_one_running_per_gallery"
            )
        ]

    def __str__(self) -> str:
        return f"{self.title} ({self.get_reason_display()}, {self.started_at:%Y-%m-%d})"


class StorageTombstone(models.Model):
    """A stored file whose rows are gone and which is to be deleted.

    Written in the same transaction that deletes the rows, so a process killed before the file is
    deleted leaves this row behind and the next sweep finishes the job: no row ever points at a
    missing file, and no file is left with nothing pointing at it.
    """

    key = models.CharField(max_length=255, unique=True)
    size = models.BigIntegerField(default=0)
    purge = models.ForeignKey(PurgeRecord, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)

    def __str__(self) -> str:
        return self.key
