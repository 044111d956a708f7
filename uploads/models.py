from __future__ import annotations

import math
import uuid

from django.conf import settings
from django.db import models
from django.utils import timezone


class UploadProtocol(models.TextChoices):
    CHUNKS = "chunks", "Chunk protocol"
    TUS = "tus", "tus 1.0"
    SINGLE = "single", "Single request"
    IMPORT = "import", "Directory import"
    S3 = "s3", "Presigned S3 multipart"


class UploadStatus(models.TextChoices):
    OPEN = "open", "Open"
    # Internal: one request has taken the upload to assemble and verify it; others wait for it.
    COMPLETING = "completing", "Completing"
    COMPLETE = "complete", "Complete"
    FAILED = "failed", "Failed"
    ABORTED = "aborted", "Aborted"
    EXPIRED = "expired", "Expired"


class UploadConcat(models.TextChoices):
    """The tus concatenation extension: parts sent in parallel, then joined into one final upload."""

    WHOLE = "", "Whole file"
    PARTIAL = "partial", "tus partial upload (bytes only, never a photo on its own)"
    FINAL = "final", "tus final upload (its partial uploads, joined)"


class UploadQuerySet(models.QuerySet):
    def of_guest(self, link, visitor: str) -> UploadQuerySet:
        return self.filter(share_link=link, guest_visitor=visitor) if visitor else self.none()

    def owned_by(self, user) -> UploadQuerySet:
        """A user's own uploads: nobody else's, not even an admin's (they are in flight)."""
        if not user.is_authenticated:
            return self.none()
        return self.filter(owner=user)

    def open(self) -> UploadQuerySet:
        return self.filter(status__in=[UploadStatus.OPEN, UploadStatus.COMPLETING])

    def stale(self) -> UploadQuerySet:
        return self.filter(status=UploadStatus.OPEN, expires_at__lte=timezone.now())


class Upload(models.Model):
    """One file on its way in, by whichever protocol; bytes live in the chunk store until complete."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.CASCADE, related_name="uploads"
    )
    # A guest's upload through a share link: no user, the link and the guest's browser instead.
    share_link = models.ForeignKey(
        "sharing.ShareLink", null=True, blank=True, on_delete=models.CASCADE, related_name="uploads"
    )
    guest_name = models.CharField(max_length=100, blank=True)
    guest_visitor = models.CharField(max_length=64, blank=True)
    # Empty only for a tus partial upload, which carries bytes and nothing else (not even a name).
    gallery = models.ForeignKey(
        "galleries.Gallery", null=True, blank=True, on_delete=models.CASCADE, related_name="uploads"
    )
    filename = models.CharField(max_length=255)
    size = models.BigIntegerField()
    sha256 = models.CharField(max_length=64, blank=True, help_text="The client's claim; checked, never trusted.")
    chunk_size = models.PositiveIntegerField()
    protocol = models.CharField(max_length=10, choices=UploadProtocol.choices)
    concat = models.CharField(max_length=7, choices=UploadConcat.choices, blank=True, default=UploadConcat.WHOLE)
    parts = models.JSONField(default=list, blank=True, help_text="A final tus upload: its partial uploads, in order.")
    status = models.CharField(max_length=10, choices=UploadStatus.choices, default=UploadStatus.OPEN)
    offset = models.BigIntegerField(default=0, help_text="tus: bytes received in order.")
    photo = models.ForeignKey("galleries.Photo", null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    error = models.TextField(blank=True)
    store_state = models.JSONField(default=dict, blank=True, help_text="What the chunk store needs to find the bytes.")
    expires_at = models.DateTimeField()
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    completed_at = models.DateTimeField(null=True, blank=True)

    objects = UploadQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at"]
        indexes = [models.Index(fields=["owner", "status"]), models.Index(fields=["status", "expires_at"])]

    def __str__(self) -> str:
        return f"{self.filename} ({self.get_status_display()})"

    @property
    def total_chunks(self) -> int:
        return max(1, math.ceil(self.size / self.chunk_size))

    def chunk_length(self, index: int) -> int:
        """The exact byte count chunk `index` must have."""
        if index < self.total_chunks - 1:
            return self.chunk_size
        return self.size - self.chunk_size * (self.total_chunks - 1)

    @property
    def is_expired(self) -> bool:
        return self.expires_at <= timezone.now()


class UploadChunk(models.Model):
    """The ledger of received chunks: what makes them idempotent, any-order and resumable."""

    upload = models.ForeignKey(Upload, on_delete=models.CASCADE, related_name="chunks")
    index = models.PositiveIntegerField()
    size = models.PositiveIntegerField()
    sha256 = models.CharField(max_length=64)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["index"]
        constraints = [models.UniqueConstraint(fields=["upload", "index"], name="upload_chunk_unique_index")]

    def __str__(self) -> str:
        return f"chunk {self.index} of {self.upload_id}"
