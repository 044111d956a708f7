"""Background jobs for galleries. They take ids, refetch, and build only what is missing."""

from __future__ import annotations

import io
import logging
from datetime import timedelta
from typing import Any

from django.conf import settings
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.db import transaction
from django.db.models import F, Q
from django.utils import timezone

from galleries import imaging
from galleries.errors import ServiceError
from galleries.models import Asset, AssetKind, AssetStatus, Gallery, Variant
from galleries.storage import variant_key

log = logging.getLogger(__name__)


def enqueue_process_asset(asset_id: Any, *, delay: timedelta | None = None) -> None:
    """Put process_asset on the queue, now or after a delay (a one-off schedule)."""
    from django_q.models import Schedule
    from django_q.tasks import async_task

    if delay:
        Schedule.objects.create(
            func="galleries.tasks.process_asset",
            args=repr(str(asset_id)),
            schedule_type=Schedule.ONCE,
            repeats=1,
            next_run=timezone.now() + delay,
            name=f"retry process_asset {asset_id} {timezone.now().timestamp():.0f}",
        )
        return
    async_task("galleries.tasks.process_asset", str(asset_id), task_name=f"process_asset {asset_id}", group="process")


def _claim(asset_id: Any, *, force: bool) -> bool:
    """Atomically move the asset to `processing`; False when another worker has it or it is done."""
    claimable = [AssetStatus.PENDING] + ([AssetStatus.READY, AssetStatus.FAILED] if force else [])
    return bool(
        Asset.objects.filter(pk=asset_id, status__in=claimable).update(
            status=AssetStatus.PROCESSING,
            processing_started_at=timezone.now(),
            attempts=F("attempts") + 1,
            updated_at=timezone.now(),
        )
    )


def process_asset(asset_id: Any, force: bool = False) -> str:
    """Build an asset's variants, blurhash and EXIF, then mark it ready.

    Idempotent: existing variants are kept (unless force) and running it again builds nothing.
    Files are written first, then the rows and the status change land in one transaction.
    """
    if not _claim(asset_id, force=force):
        return "skipped"
    asset = Asset.objects.get(pk=asset_id)
    specs = imaging.specs_from(settings.IMAGE_VARIANTS)
    formats = list(settings.IMAGE_VARIANT_FORMATS)
    existing = {} if force else {(v.name, v.format): v for v in asset.variants.all()}
    written: list[str] = []
    try:
        try:
            original = default_storage.open(asset.original_key, "rb")
        except FileNotFoundError:
            raise imaging.PermanentError("The original file is missing from storage.") from None
        with original:
            source = original
            if asset.kind == AssetKind.VIDEO:
                source = io.BytesIO(_poster(original, asset))
            result = imaging.process_image(
                source,
                specs=specs,
                formats=formats,
                max_pixels=settings.MAX_IMAGE_PIXELS,
                quality=settings.IMAGE_QUALITY,
                avif_speed=settings.AVIF_SPEED,
                webp_method=settings.WEBP_METHOD,
                skip=frozenset(existing) | frozenset(settings.IMAGE_VARIANT_SKIP),
            )
        rows = []
        for rendition in result.renditions:
            key = variant_key(asset.sha256, rendition.name, rendition.format)
            default_storage.save(key, ContentFile(rendition.data))
            written.append(key)
            rows.append(
                Variant(
                    asset=asset,
                    name=rendition.name,
                    format=rendition.format,
                    width=rendition.width,
                    height=rendition.height,
                    size=len(rendition.data),
                    key=key,
                )
            )
        with transaction.atomic():
            if force:
                Variant.objects.filter(asset=asset).exclude(key__in=written).delete()
                Variant.objects.filter(asset=asset, key__in=written).delete()
            Variant.objects.bulk_create(rows, ignore_conflicts=True)
            Asset.objects.filter(pk=asset.pk).update(
                status=AssetStatus.READY,
                error="",
                width=result.width,
                height=result.height,
                blurhash=result.blurhash,
                exif=result.exif,
                gps=result.gps,
                processing_started_at=None,
                updated_at=timezone.now(),
            )
            Gallery.objects.filter(photos__asset=asset).touch()
        return "ready"
    except imaging.PermanentError as exc:
        _discard(written, existing)
        _fail(asset, str(exc))
        return "failed"
    except Exception as exc:  # noqa: BLE001 - anything else is treated as transient and retried
        _discard(written, existing)
        return _retry_or_fail(asset, exc)


def _poster(original: Any, asset: Asset) -> bytes:
    from galleries import video

    if not video.ffmpeg_available():
        raise imaging.PermanentError("Videos need ffmpeg on the server to make a poster frame; it is not installed.")
    try:
        return video.poster_frame(original, duration=asset.duration or 0)
    except ServiceError as exc:
        raise imaging.PermanentError(exc.message) from exc


def _discard(keys: list[str], keep: dict) -> None:
    """No partial variants: remove what this run wrote and no row points at."""
    kept = {v.key for v in keep.values()}
    for key in keys:
        if key not in kept and not Variant.objects.filter(key=key).exists():
            default_storage.delete(key)


def _fail(asset: Asset, message: str) -> None:
    log.warning("asset %s failed: %s", asset.pk, message)
    Gallery.objects.filter(photos__asset=asset).touch()
    Asset.objects.filter(pk=asset.pk).update(
        status=AssetStatus.FAILED, error=message[:500], processing_started_at=None, updated_at=timezone.now()
    )


def _retry_or_fail(asset: Asset, exc: Exception) -> str:
    """Transient trouble (storage, database): try again later with backoff, a bounded number of times."""
    attempts = Asset.objects.filter(pk=asset.pk).values_list("attempts", flat=True).first() or 0
    if attempts >= settings.PROCESSING_MAX_ATTEMPTS:
        _fail(asset, f"Processing failed {attempts} times; last error: {type(exc).__name__}: {exc}")
        return "failed"
    log.warning("asset %s: transient error, retrying (%s)", asset.pk, exc, exc_info=True)
    Asset.objects.filter(pk=asset.pk).update(
        status=AssetStatus.PENDING,
        error=f"Retrying after a temporary error: {type(exc).__name__}",
        processing_started_at=None,
        updated_at=timezone.now(),
    )
    enqueue_process_asset(asset.pk, delay=timedelta(seconds=settings.PROCESSING_RETRY_DELAY * 2 ** (attempts - 1)))
    return "retrying"


def requeue_stuck_assets() -> int:
    """Re-queue assets left in `processing` by a killed worker, and pending ones whose task was lost.

    Assets that used up PROCESSING_MAX_ATTEMPTS fail instead. Returns how many were re-queued.
    """
    now = timezone.now()
    stuck_before = now - settings.PROCESSING_STUCK_AFTER
    stuck = Asset.objects.filter(
        Q(status=AssetStatus.PROCESSING, processing_started_at__lt=stuck_before)
        | Q(status=AssetStatus.PENDING, updated_at__lt=stuck_before)
    )
    ids = list(stuck.values_list("pk", flat=True)[:1000])
    batch = Asset.objects.filter(pk__in=ids)
    batch.filter(status=AssetStatus.PROCESSING).update(status=AssetStatus.PENDING, updated_at=now)
    batch.filter(status=AssetStatus.PENDING, attempts__gte=settings.PROCESSING_MAX_ATTEMPTS).update(
        status=AssetStatus.FAILED, error="Processing never finished (the worker stopped each time).", updated_at=now
    )
    requeue = list(batch.filter(status=AssetStatus.PENDING).values_list("pk", flat=True))
    Asset.objects.filter(pk__in=requeue).update(updated_at=now)
    for asset_id in requeue:
        enqueue_process_asset(asset_id)
    return len(requeue)
