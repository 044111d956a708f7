"""What an import remembers, so the next run over the same tree adds nothing and re-hashes nothing."""

from __future__ import annotations

from django.db import models


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
