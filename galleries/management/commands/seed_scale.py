"""manage.py seed_scale --photos N --galleries M: many rows fast, to measure lists at scale (issue 12).

Rows are made in bulk, as processing would have left them (assets ready, one Variant row per size
and format, blurhash, counters), without processing anything. Every variant row points at one
small shared file per size and format, so pages and the API render real pictures; the originals are
not stored (downloads of seeded photos answer 404, and storage_check is not meant for seeded data). The
figures in bench/pages.py come from here.
"""

from __future__ import annotations

import hashlib
import io
import time
from typing import Any

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.core.management.base import BaseCommand, CommandError
from django.db import transaction
from django.db.models import Count, OuterRef, Subquery
from django.db.models.functions import Coalesce
from PIL import Image

from galleries import services
from galleries.models import Asset, AssetStatus, Gallery, Photo, Variant, Visibility

BATCH = 5000
BLURHASH = "LEHV6nWB2yk8pyo0adR*.7kCMdnj"
# The shared files live where a variant of an all-zero hash would (galleries.storage.variant_key).
SHARED = "variants/00/00/" + "0" * 64 + "/{name}.{fmt}"


def shared_variant_files() -> list[tuple[str, str, int, int, int]]:
    """One small picture per size and format, stored once: (name, format, width, height, bytes)."""
    made = []
    for name, width, height, _fit in settings.IMAGE_VARIANTS:
        w, h = (width, height) if name == "thumbnail" else (min(width, 480), min(height, 320))
        image = Image.new("RGB", (w, h), (120, 140, 160))
        for fmt in settings.IMAGE_VARIANT_FORMATS:
            if (name, fmt) in set(settings.IMAGE_VARIANT_SKIP):
                continue
            buffer = io.BytesIO()
            image.save(buffer, fmt.upper(), quality=40)
            default_storage.save(SHARED.format(name=name, fmt=fmt), ContentFile(buffer.getvalue()))
            made.append((name, fmt, w, h, buffer.tell()))
    return made


class Command(BaseCommand):
    help = "Create N photos in M public galleries in bulk (no processing), for measuring at scale."

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("--photos", type=int, required=True)
        parser.add_argument("--galleries", type=int, default=1)
        parser.add_argument("--owner", default="scale", help="Owner's username; created (staff) if missing.")
        parser.add_argument("--prefix", default="Scale", help="Gallery titles: '<prefix> 1', '<prefix> 2', …")

    def handle(self, *args: Any, photos: int, galleries: int, owner: str, prefix: str, **options: Any) -> None:
        if photos < 0 or galleries < 1:
            raise CommandError("--photos must be 0 or more and --galleries at least 1.")
        started = time.monotonic()
        user = get_user_model().objects.filter(username=owner).first()
        if user is None:
            user = get_user_model().objects.create_user(owner, f"{owner}@example.com", None, is_staff=True)
        variants = shared_variant_files()
        made = [
            services.gallery_create(owner=user, title=f"{prefix} {i + 1}", visibility=Visibility.PUBLIC)
            for i in range(galleries)
        ]
        run = hashlib.sha256(f"{time.time_ns()}".encode()).hexdigest()[:16]
        for start in range(0, photos, BATCH):
            count = min(BATCH, photos - start)
            with transaction.atomic():
                assets = Asset.objects.bulk_create(
                    [
                        Asset(sha256=hashlib.sha256(f"{run}:{start + i}".encode()).hexdigest(), mime="image/jpeg",
                              ext="jpg", size=1, stored_bytes=1, width=3000, height=2000, status=AssetStatus.READY,
                              blurhash=BLURHASH)
                        for i in range(count)
                    ]
                )  # fmt: skip
                Variant.objects.bulk_create(
                    [
                        Variant(asset=a, name=n, format=f, width=w, height=h, size=b, key=SHARED.format(name=n, fmt=f))
                        for a in assets
                        for n, f, w, h, b in variants
                    ],
                    batch_size=BATCH,
                )
                Photo.objects.bulk_create(
                    [
                        Photo(gallery=made[(start + i) % galleries], asset=a, position=(start + i) // galleries,
                              original_filename=f"IMG_{start + i:07d}.jpg")
                        for i, a in enumerate(assets)
                    ],
                    batch_size=BATCH,
                )  # fmt: skip
            if self.stdout.isatty():
                self.stdout.write(f"\r{start + count:,} / {photos:,} photos", ending="")
        ids = [g.pk for g in made]
        counted = Photo.objects.filter(gallery=OuterRef("pk")).order_by().values("gallery")
        n = Coalesce(Subquery(counted.annotate(n=Count("pk")).values("n")), 0)
        # Every seeded photo is shown; each asset counts one byte (the shared files are not its own).
        Gallery.objects.filter(pk__in=ids).update(photo_count=n, photo_total=n, storage_bytes=n)
        self.stdout.write(
            f"{'' if not self.stdout.isatty() else chr(10)}seed_scale: {photos:,} photos in {galleries:,} galleries "
            f"of {user.username} in {time.monotonic() - started:.1f} s"
        )
