"""What an import remembers, so the next run over the same tree adds nothing and re-hashes nothing."""

from __future__ import annotations

import uuid
from datetime import timedelta

from django.conf import settings
from django.db import models
from django.utils import timezone

# A running job's task beats every IMPORT_JOB_HEARTBEAT; one that missed several beats has lost its worker.
IMPORT_JOB_HEARTBEAT = timedelta(seconds=10)
IMPORT_JOB_STALE = timedelta(seconds=60)


class ImportedFolder(models.Model):
    """A folder under an import root mapped to the gallery it became (--folders-as-galleries).

    Remembered so that the next run fills the same gallery even after its title was changed.
    """

    root = models.TextField(help_text="The imported folder, resolved.")
    relative_path = models.TextField(blank=True, help_text="The folder inside the root; empty for the root itself.")
    gallery = models.ForeignKey("galleries.Gallery", on_delete=models.CASCADE, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["root", "relative_path"], name="imported_folder_unique")]

    def __str__(self) -> str:
        return f"{self.root}/{self.relative_path}"


class ImportedFile(models.Model):
    """One file an import placed in a gallery, as it was on disk when it was read.

    Size and mtime_ns let the next run skip the file without reading it; sha256 tells a changed
    file (new bytes at the same path) from a touched one. It is written in the same transaction as
    the photo, so a killed import leaves either both or neither. The rating, colour label and
    keywords read from XMP/IPTC are kept here (the photo has no place for them yet).
    """

    gallery = models.ForeignKey("galleries.Gallery", on_delete=models.CASCADE, related_name="+")
    root = models.TextField(help_text="The imported folder, resolved.")
    relative_path = models.TextField(help_text="Inside the root, with / between folders.")
    size = models.BigIntegerField()
    mtime_ns = models.BigIntegerField()
    sha256 = models.CharField(max_length=64)
    photo = models.ForeignKey("galleries.Photo", on_delete=models.SET_NULL, null=True, blank=True, related_name="+")
    rating = models.SmallIntegerField(null=True, blank=True, help_text="xmp:Rating: -1 (rejected) to 5 stars.")
    label = models.CharField(max_length=50, blank=True, help_text="xmp:Label, the colour label.")
    keywords = models.JSONField(default=list, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["gallery", "root", "relative_path"], name="imported_file_unique")
        ]

    def __str__(self) -> str:
        return self.relative_path


class ImportJobStatus(models.TextChoices):
    QUEUED = "queued", "Queued"
    RUNNING = "running", "Running"
    DONE = "done", "Done"
    FAILED = "failed", "Failed"


class ImportJobQuerySet(models.QuerySet):
    def visible_to(self, user) -> ImportJobQuerySet:
        """Jobs on galleries the user may edit (superusers: every gallery)."""
        from galleries.models import Gallery

        return self.filter(gallery__in=Gallery.objects.editable_by(user))


class ImportJob(models.Model):
    """One import started from the admin ("Import from a server folder"), run by the worker.

    The task keeps it up to date: its stage, files and bytes done of the total, a heartbeat while it
    works, and at the end the report (ImportReport.as_dict) or the error. A running job whose
    heartbeat stopped (the worker died) is stale: shown as failed, and may be run again.
    """

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    owner = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    gallery = models.ForeignKey("galleries.Gallery", on_delete=models.CASCADE, related_name="+")
    path = models.TextField(help_text="The folder imported, resolved (under IMPORT_ROOTS).")
    options = models.JSONField(default=dict, blank=True, help_text="folder_import's options.")
    status = models.CharField(max_length=10, choices=ImportJobStatus.choices, default=ImportJobStatus.QUEUED)
    stage = models.CharField(max_length=100, blank=True, help_text="What the task is doing now, for people.")
    files_total = models.PositiveIntegerField(default=0)
    files_done = models.PositiveIntegerField(default=0)
    bytes_total = models.BigIntegerField(default=0)
    bytes_done = models.BigIntegerField(default=0)
    report = models.JSONField(null=True, blank=True)
    error = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    heartbeat_at = models.DateTimeField(null=True, blank=True)

    objects = ImportJobQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at"]
        indexes = [models.Index(fields=["gallery", "-created_at"], name="import_job_gallery")]

    def __str__(self) -> str:
        return f"Import of {self.path} ({self.status})"

    @property
    def is_stale(self) -> bool:
        """Running, but its worker stopped beating (died or was killed) longer than IMPORT_JOB_STALE ago."""
        if self.status != ImportJobStatus.RUNNING:
            return False
        beat = self.heartbeat_at or self.started_at or self.created_at
        return timezone.now() - beat > IMPORT_JOB_STALE

    @property
    def waits_long(self) -> bool:
        """Queued for longer than IMPORT_JOB_STALE: no worker has taken it (is qcluster running?)."""
        return self.status == ImportJobStatus.QUEUED and timezone.now() - self.created_at > IMPORT_JOB_STALE

    @property
    def is_finished(self) -> bool:
        """Nothing will change any more: done, failed, or stale."""
        return self.status in (ImportJobStatus.DONE, ImportJobStatus.FAILED) or self.is_stale

    @property
    def shown_status(self) -> str:
        return "stale" if self.is_stale else self.status

    @property
    def percent(self) -> int:
        """Share of the bytes done (of files when they are all empty), 0-100."""
        if self.bytes_total:
            return min(100, self.bytes_done * 100 // self.bytes_total)
        if self.files_total:
            return min(100, self.files_done * 100 // self.files_total)
        return 100 if self.status == ImportJobStatus.DONE else 0
