from __future__ import annotations

import hmac
import re
import secrets
import uuid

from django.contrib.auth.hashers import check_password, make_password
from django.db import models
from django.urls import reverse
from django.utils import timezone
from django.utils.crypto import salted_hmac

from galleries.models import Gallery

TOKEN_BYTES = 32  # 43 URL-safe characters
TOKEN_ALPHABET = re.compile(r"[A-Za-z0-9_-]+")


def new_token() -> str:
    return secrets.token_urlsafe(TOKEN_BYTES)


class DownloadSizes(models.TextChoices):
    """Which sizes a link's visitors may download (when it allows downloads at all)."""

    ALL = "all", "Web size and full size"
    WEB = "web", "Web size only"
    ORIGINAL = "original", "Full size only"


class ShareLinkQuerySet(models.QuerySet):
    def editable_by(self, user) -> ShareLinkQuerySet:
        return self.filter(gallery__in=Gallery.objects.editable_by(user))

    def by_token(self, token: str) -> ShareLink | None:
        """The link with exactly this token, compared in constant time (the prefix only narrows the search)."""
        if not token or len(token) > 100 or not TOKEN_ALPHABET.fullmatch(token):
            return None  # what no token can be (a NUL byte would even be refused by PostgreSQL)
        for link in self.filter(token_prefix=token[:8]).select_related("gallery"):
            if hmac.compare_digest(link.token.encode(), token.encode()):
                return link
        return None


class ShareLink(models.Model):
    """A secret address that opens one gallery to whoever holds it, on the owner's terms."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    gallery = models.ForeignKey("galleries.Gallery", on_delete=models.CASCADE, related_name="share_links")
    token = models.CharField(max_length=64, unique=True, default=new_token, editable=False)
    token_prefix = models.CharField(max_length=8, db_index=True, editable=False)
    label = models.CharField(max_length=100, blank=True, help_text="Who it is for, e.g. “Anna & Ben”.")
    password = models.CharField(max_length=128, blank=True, editable=False)
    expires_at = models.DateTimeField(null=True, blank=True, help_text="Empty: never expires.")
    revoked_at = models.DateTimeField(null=True, blank=True, editable=False)
    allow_download = models.BooleanField(default=False, help_text="Visitors may download photos and a ZIP.")
    download_sizes = models.CharField(
        max_length=10, choices=DownloadSizes.choices, default=DownloadSizes.ALL,
        help_text="With downloads on: web size (the largest web picture) and/or full size (the original).",
    )  # fmt: skip
    allow_upload = models.BooleanField(default=False, help_text="Visitors may upload photos (held for approval).")
    show_metadata = models.BooleanField(default=False, help_text="Show EXIF and file names (never GPS).")
    selection_quota = models.PositiveIntegerField(null=True, blank=True, help_text="“Choose up to N” for favourites.")
    upload_max_files = models.PositiveIntegerField(
        default=50, help_text="Most photos guests may upload through this link."
    )
    upload_max_bytes = models.BigIntegerField(default=2 * 1024**3, help_text="Most bytes guests may upload in all.")
    view_count = models.PositiveIntegerField(default=0, editable=False)
    download_count = models.PositiveIntegerField(default=0, editable=False)
    last_viewed_at = models.DateTimeField(null=True, blank=True, editable=False)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    objects = ShareLinkQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return self.label or f"Link {self.token[:6]}…"

    def save(self, *args, **kwargs) -> None:
        self.token_prefix = self.token[:8]
        super().save(*args, **kwargs)

    def get_absolute_url(self) -> str:
        return reverse("sharing:detail", kwargs={"token": self.token})

    @property
    def is_revoked(self) -> bool:
        return self.revoked_at is not None

    @property
    def is_expired(self) -> bool:
        return self.expires_at is not None and self.expires_at <= timezone.now()

    @property
    def has_password(self) -> bool:
        return bool(self.password)

    @property
    def state(self) -> str:
        if self.is_revoked:
            return "revoked"
        if self.is_expired:
            return "expired"
        return "password" if self.has_password else "active"

    def set_password(self, raw: str | None) -> None:
        self.password = make_password(raw) if raw else ""

    def check_password(self, raw: str) -> bool:
        return bool(self.password) and check_password(raw, self.password)

    @property
    def grant_key(self) -> str:
        """Binds an unlock to the current password: changing or setting it closes every grant."""
        return salted_hmac("contactsheet.share-grant", f"{self.pk}:{self.password}").hexdigest()[:24]


class Selection(models.Model):
    """A visitor's favourites through one link; submitted selections are locked."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    link = models.ForeignKey(ShareLink, on_delete=models.CASCADE, related_name="selections")
    visitor = models.CharField(max_length=64, help_text="Opaque id of the visitor's browser session.")
    name = models.CharField(max_length=100)
    email = models.EmailField(blank=True)
    note = models.TextField(blank=True, max_length=2000)
    submitted_at = models.DateTimeField(null=True, blank=True)
    photos = models.ManyToManyField("galleries.Photo", related_name="selections", blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-updated_at"]
        constraints = [models.UniqueConstraint(fields=["link", "visitor"], name="selection_one_per_visitor")]

    def __str__(self) -> str:
        return f"{self.name} ({self.link})"


NOTE_MAX_LENGTH = 500


class SelectionNote(models.Model):
    """The client's note to the photographer on one chosen photo (“a tighter crop?”, “in black and white”)."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    selection = models.ForeignKey(Selection, on_delete=models.CASCADE, related_name="photo_notes")
    photo = models.ForeignKey("galleries.Photo", on_delete=models.CASCADE, related_name="+")
    text = models.CharField(max_length=NOTE_MAX_LENGTH)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["selection", "photo"], name="selection_note_one_per_photo")]

    def __str__(self) -> str:
        return self.text[:40]
