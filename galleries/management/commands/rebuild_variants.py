from __future__ import annotations

import sys
import time

from django.core.management.base import BaseCommand, CommandError
from django.db.models import Count, Q

from config.exceptions import Conflict
from galleries import services, tasks
from galleries.models import Asset, AssetStatus, Gallery


class Command(BaseCommand):
    help = "Build missing variants (default) or rebuild all of them (--force), here and now."

    def add_arguments(self, parser) -> None:
        parser.add_argument("--gallery", metavar="SLUG", help="Only the photos of this gallery.")
        mode = parser.add_mutually_exclusive_group()
        mode.add_argument("--missing", action="store_true", help="Only assets with missing variants (the default).")
        mode.add_argument("--force", action="store_true", help="Rebuild every variant of every asset.")

    def handle(self, *args, gallery: str | None, missing: bool, force: bool, **options) -> None:
        assets = Asset.objects.all()
        if gallery:
            found = Gallery.objects.filter(slug=gallery).first()
            if found is None:
                raise CommandError(f"No gallery with the slug “{gallery}”.")
            assets = assets.filter(photos__gallery=found).distinct()
        expected = tasks.variants_per_image()
        if not force:
            assets = (
                assets.annotate(n=Count("variants"))
                .filter(Q(n__lt=expected) | ~Q(status=AssetStatus.READY))
                .exclude(status=AssetStatus.PROCESSING)
            )
        ids = list(assets.values_list("pk", flat=True))
        total = len(ids)
        counts: dict[str, int] = {}
        started = time.monotonic()
        for done, asset_id in enumerate(ids, start=1):
            asset = Asset.objects.filter(pk=asset_id).first()
            try:
                # The same service as the API and the admin, built here and now instead of queued.
                result = services.asset_reprocess(asset=asset, force=force, wait=True) if asset else "gone"
            except Conflict:
                result = "skipped"  # a worker has it right now
            counts[result] = counts.get(result, 0) + 1
            self._progress(done, total)
        if total:
            sys.stderr.write("\n")
        summary = ", ".join(f"{n} {name}" for name, n in sorted(counts.items())) or "nothing to do"
        self.stdout.write(f"{total} assets in {time.monotonic() - started:.1f} s: {summary}.")

    def _progress(self, done: int, total: int) -> None:
        width = 30
        filled = int(width * done / total)
        sys.stderr.write(f"\r[{'#' * filled}{'.' * (width - filled)}] {done}/{total}")
        sys.stderr.flush()
