from __future__ import annotations

from django.core.management.base import BaseCommand, CommandError

from config.exceptions import ServiceError
from folders.services import gallery_by_ref, gallery_export
from galleries.services import human_size


class Command(BaseCommand):
    help = (
        "Export a gallery to DEST (a new or empty folder): its originals, or one variant of each, named "
        "0001-title.jpg in gallery order, with manifest.json and manifest.csv. `manage.py import DEST "
        "--gallery new --owner USER` brings it back with the same order, titles and alt text."
    )

    def add_arguments(self, parser) -> None:
        parser.add_argument("gallery", help="The gallery's slug or id.")
        parser.add_argument("dest", help="A folder that does not exist yet, or an empty one.")
        parser.add_argument(
            "--variant", metavar="NAME", help="A variant instead of the originals: large, or large.webp."
        )
        parser.add_argument(
            "--manifest", action="store_true", help="Write only manifest.json and manifest.csv, no photos."
        )

    def handle(self, *args, gallery: str, dest: str, variant: str | None, manifest: bool, **options) -> None:
        found = gallery_by_ref(gallery)
        if found is None:
            raise CommandError(f"No gallery “{gallery}”.")
        try:
            result = gallery_export(gallery=found, dest=dest, variant=variant, manifest_only=manifest)
        except ServiceError as exc:
            raise CommandError(exc.message) from exc
        what = "listed" if manifest else "exported"
        self.stdout.write(f"{result.photos} photos {what} ({human_size(result.bytes)}) to {result.dest}")
        for name in result.fallbacks:
            self.stdout.write(f"  {name}: no {variant} variant yet, the original was exported")
