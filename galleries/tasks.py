"""Background jobs for galleries. They take ids, refetch, and build only what is missing."""

from __future__ import annotations

import ast
import io
import logging
import threading
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.db import DatabaseError, connection, transaction
from django.db.models import F, Q
from django.utils import timezone

from config import events
from config.exceptions import ServiceError
from galleries import counters, imaging, lifecycle, originals, video
from galleries.models import Asset, AssetKind, AssetStatus, Gallery, Variant
from galleries.storage import variant_key

log = logging.getLogger(__name__)


def variants_per_image() -> int:
    """How many variants processing makes of one image: every size in every format, less those skipped."""
    return len(settings.IMAGE_VARIANTS) * len(settings.IMAGE_VARIANT_FORMATS) - len(settings.IMAGE_VARIANT_SKIP)


def enqueue_process_asset(asset_id: Any, *, delay: timedelta | None = None, force: bool = False) -> None:
    """Put process_asset on the queue, now or after a delay (a one-off schedule); force: rebuild every variant."""
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
    args = (str(asset_id), True) if force else (str(asset_id),)
    name = f"{'reprocess' if force else 'process_asset'} {asset_id}"
    async_task("galleries.tasks.process_asset", *args, task_name=name, group="process")


def _claim(asset_id: Any, *, force: bool) -> bool:
    """Atomically move the asset to `processing`; False when another worker has it or it is done.

    The claim is a lease (PROCESSING_LEASE) that this worker renews while it works; see _Lease.
    """
    claimable = [AssetStatus.PENDING] + ([AssetStatus.READY, AssetStatus.FAILED] if force else [])
    now = timezone.now()
    return bool(
        Asset.objects.filter(pk=asset_id, status__in=claimable).update(
            status=AssetStatus.PROCESSING,
            processing_started_at=now,
            claim_expires_at=now + settings.PROCESSING_LEASE,
            attempts=F("attempts") + 1,
            updated_at=now,
        )
    )


class _Lease:
    """Keeps this worker's claim on an asset alive while it works.

    A thread renews the lease every third of PROCESSING_LEASE, whatever step the worker is in (a
    100 MP decode or a video poster can take longer than the lease). When the worker dies, the
    renewals stop and the sweep sees the lease lapse within PROCESSING_LEASE.
    """

    def __init__(self, asset_id: Any) -> None:
        self.asset_id = asset_id
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._renew, name=f"lease {asset_id}", daemon=True)

    def __enter__(self) -> _Lease:
        self._thread.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self._stop.set()
        self._thread.join()

    def _renew(self) -> None:
        lease = settings.PROCESSING_LEASE
        try:
            while not self._stop.wait(lease.total_seconds() / 3):
                try:
                    Asset.objects.filter(pk=self.asset_id, status=AssetStatus.PROCESSING).update(
                        claim_expires_at=timezone.now() + lease
                    )
                except DatabaseError:
                    log.warning("asset %s: could not renew the processing lease", self.asset_id, exc_info=True)
        finally:
            connection.close()  # this thread's own connection


def process_asset(asset_id: Any, force: bool = False) -> str:
    """Build an asset's variants, blurhash and EXIF, then mark it ready.

    Idempotent: existing variants are kept (unless force) and running it again builds nothing but
    what is missing.
    Files are written first, then the rows and the status change land in one transaction.
    Returns "ready", "failed", "retrying", "skipped" (another worker has it, or it is done) or
    "gone" (the asset was deleted meanwhile: the run stops and leaves no file behind).
    """
    if not _claim(asset_id, force=force):
        return "skipped"
    asset = Asset.objects.filter(pk=asset_id).first()
    if asset is None:
        return _gone(asset_id, written=[])
    # Kept unless force: variants whose row and file both exist (a row whose file went missing, which
    # storage_check finds, is built again).
    existing = {} if force else {(v.name, v.format): v for v in asset.variants.all() if default_storage.exists(v.key)}
    written: list[str] = []
    try:
        with _Lease(asset.pk):
            # Steps that learn something about the original put it in `fields`, which lands on the
            # asset together with the variants (_finish). A new step goes here, before files are written.
            result, patches = _build(asset, skip=frozenset(existing) | frozenset(settings.IMAGE_VARIANT_SKIP))
            fields: dict[str, Any] = {
                "width": result.width,
                "height": result.height,
                "blurhash": result.blurhash,
                "exif": result.exif,
                "gps": result.gps,
                "location_patches": patches,
            }
            rows = _write_variants(asset, result.renditions, written)
            if not _finish(asset, fields, rows, force=force, written=written):
                return _gone(asset.pk, written=written)
        return "ready"
    except imaging.PermanentError as exc:
        if _is_gone(asset.pk):
            return _gone(asset.pk, written=written)
        _discard(written, existing)
        _fail(asset, str(exc))
        return "failed"
    except Exception as exc:  # noqa: BLE001 - anything else is treated as transient and retried
        if _is_gone(asset.pk):
            return _gone(asset.pk, written=written)
        _discard(written, existing)
        return _retry_or_fail(asset, exc)


def _build(asset: Asset, *, skip: frozenset[tuple[str, str]]) -> tuple[imaging.Processed, list | dict]:
    """Decode the original once: variants (except skip), blurhash, EXIF and the true size; and,
    from the same open file, how to hand it to visitors without its location (galleries.originals)."""
    try:
        original = default_storage.open(asset.original_key, "rb")
    except FileNotFoundError:
        raise imaging.PermanentError("The original file is missing from storage.") from None
    with original:
        source = io.BytesIO(_poster(original, asset)) if asset.kind == AssetKind.VIDEO else original
        processed = imaging.process_image(
            source,
            specs=imaging.specs_from(settings.IMAGE_VARIANTS),
            formats=list(settings.IMAGE_VARIANT_FORMATS),
            max_pixels=settings.MAX_IMAGE_PIXELS,
            quality=settings.IMAGE_QUALITY,
            avif_speed=settings.AVIF_SPEED,
            webp_method=settings.WEBP_METHOD,
            skip=skip,
            threads=settings.IMAGE_ENCODE_THREADS,
        )
        original.seek(0)
        return processed, originals.work_out_patches(original, asset)


def _write_variants(asset: Asset, renditions: list[imaging.Rendition], written: list[str]) -> list[Variant]:
    """Store each rendition under its key (recorded in written as it lands); the rows to create."""
    rows = []
    for rendition in renditions:
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
    return rows


def _finish(asset: Asset, fields: dict[str, Any], rows: list[Variant], *, force: bool, written: list[str]) -> bool:
    """Create the Variant rows and mark the asset ready, in one transaction; False if it is gone.

    The asset row is locked first, so a concurrent asset_collect either has deleted it already
    (nothing is written) or waits for this commit and then deletes these variants with the rest.
    """
    with transaction.atomic():
        before = list(Asset.objects.select_for_update().filter(pk=asset.pk).values_list("status", flat=True))
        if not before:
            return False
        if force:
            Variant.objects.filter(asset=asset).exclude(key__in=written).delete()
            Variant.objects.filter(asset=asset, key__in=written).delete()
        Variant.objects.bulk_create(rows, ignore_conflicts=True)
        lifecycle.asset_recount(asset.pk)  # the storage counters of the asset and its galleries
        Asset.objects.filter(pk=asset.pk).update(
            **fields,
            status=AssetStatus.READY,
            error="",
            processing_started_at=None,
            claim_expires_at=None,
            updated_at=timezone.now(),
        )
        Gallery.objects.filter(photos__asset=asset).touch()
        if before[0] == AssetStatus.FAILED:
            counters.asset_failure_changed([asset.pk])
        events.emit_each("photo.ready", asset.photos.values_list("gallery__owner_id", "pk"))  # issue 16: webhooks
    return True


def _is_gone(asset_id: Any) -> bool:
    return not Asset.objects.filter(pk=asset_id).exists()


def _gone(asset_id: Any, *, written: list[str]) -> str:
    """The asset was deleted while it was processed (its photo was removed): drop what this run wrote."""
    _discard(written, {})
    log.info("asset %s was deleted while it was processed; nothing kept", asset_id)
    return "gone"


def _poster(original: Any, asset: Asset) -> bytes:
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
    with transaction.atomic():
        Asset.objects.filter(pk=asset.pk).update(
            status=AssetStatus.FAILED,
            error=message[:500],
            processing_started_at=None,
            claim_expires_at=None,
            updated_at=timezone.now(),
        )
        counters.asset_failure_changed([asset.pk])  # visitors no longer see it
        events.emit_each("photo.failed", asset.photos.values_list("gallery__owner_id", "pk"))  # issue 16: webhooks


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
        claim_expires_at=None,
        updated_at=timezone.now(),
    )
    enqueue_process_asset(asset.pk, delay=timedelta(seconds=settings.PROCESSING_RETRY_DELAY * 2 ** (attempts - 1)))
    return "retrying"


def requeue_stuck_assets() -> int:
    """Hand back assets whose worker died, and queue again pending ones whose task is dead or lost.

    Runs every minute (config/schedules.py), so after a crash every photo is on its way again
    within PROCESSING_LEASE plus a minute, instead of waiting out the broker's `retry`:
    - `processing` whose lease lapsed (the worker stopped renewing it) go back to `pending`, or
      fail once they used up PROCESSING_MAX_ATTEMPTS;
    - `pending` for longer than the lease with no live task: a task that a dead cluster took from
      the ORM broker is released at once (it would wait `retry` seconds), one that is nowhere (lost
      with a Redis worker, never enqueued) is queued again. Assets waiting in line or for a
      scheduled retry are left alone.
    Idempotent: a task delivered twice finds the asset claimed or ready and does nothing.
    Returns how many assets were put back on the queue.
    """
    now = timezone.now()
    lease = settings.PROCESSING_LEASE
    lapsed = Asset.objects.filter(status=AssetStatus.PROCESSING).filter(
        Q(claim_expires_at__lt=now)
        # Claims made before leases existed.
        | Q(claim_expires_at__isnull=True, processing_started_at__lt=now - settings.PROCESSING_STUCK_AFTER)
    )
    reclaimed = set(lapsed.values_list("pk", flat=True)[:1000])
    batch = Asset.objects.filter(pk__in=reclaimed)
    given_up = list(batch.filter(attempts__gte=settings.PROCESSING_MAX_ATTEMPTS).values_list("pk", flat=True))
    Asset.objects.filter(pk__in=given_up).update(
        status=AssetStatus.FAILED,
        error="Processing never finished (the worker stopped each time).",
        processing_started_at=None,
        claim_expires_at=None,
        updated_at=now,
    )
    counters.asset_failure_changed(given_up)
    failed_photos = Asset.objects.filter(pk__in=given_up, photos__isnull=False)  # issue 16: webhooks
    events.emit_each("photo.failed", failed_photos.values_list("photos__gallery__owner_id", "photos__pk"))
    batch.filter(status=AssetStatus.PROCESSING).update(
        status=AssetStatus.PENDING, processing_started_at=None, claim_expires_at=None, updated_at=now
    )

    waiting = list(
        Asset.objects.filter(status=AssetStatus.PENDING)
        .filter(Q(updated_at__lt=now - lease) | Q(pk__in=reclaimed))
        .values_list("pk", "updated_at")
    )
    if not waiting:
        return 0
    queue = _queued_tasks(dequeued_before=now - lease)
    if queue is None:  # a broker that cannot be listed: give tasks the old, long while to show up
        waiting = [(pk, at) for pk, at in waiting if pk in reclaimed or at < now - settings.PROCESSING_STUCK_AFTER]
    alive = _scheduled_retries() | (queue.alive if queue is not None else set())
    requeued = 0
    for asset_id, _at in waiting:
        if str(asset_id) in alive:
            continue  # in line, or due for a retry: it will run
        if requeued >= 1000:
            break  # the rest next minute
        stale = queue.stale.get(str(asset_id), []) if queue is not None else []
        if not stale or not _release(stale, now):
            enqueue_process_asset(asset_id)
        Asset.objects.filter(pk=asset_id, status=AssetStatus.PENDING).update(updated_at=now)
        requeued += 1
    if requeued:
        log.info("re-queued %d assets whose worker or task was lost", requeued)
    return requeued


@dataclass
class _Queue:
    alive: set[str]  # asset ids with a task waiting in the broker or taken recently
    stale: dict[str, list[Any]]  # asset id -> ORM broker rows taken long ago (by a cluster since dead?)


def _queued_tasks(*, dequeued_before: datetime) -> _Queue | None:
    """The process_asset tasks in the broker, by asset; None for a broker that cannot be listed.

    ORM broker: a row's `lock` is when it may be delivered again; taking it sets lock to now +
    `retry`. So a row locked in the future was taken at lock - retry, and one taken before
    dequeued_before, for an asset still pending, belongs to a cluster that died (or to a live one
    with a long line; releasing it then only delivers a task that finds the asset claimed).
    Redis broker: tasks taken are gone from the list; what is in it is alive.
    """
    from django_q.brokers import get_broker
    from django_q.brokers.orm import ORM
    from django_q.conf import Conf
    from django_q.models import OrmQ

    broker = get_broker()
    queue = _Queue(alive=set(), stale={})
    if isinstance(broker, ORM):
        now = timezone.now()
        taken_long_ago = dequeued_before + timedelta(seconds=Conf.RETRY)
        for row in OrmQ.objects.using(Conf.ORM).filter(key=broker.list_key).only("pk", "payload", "lock"):
            asset_id = _task_asset_id(row.payload)
            if asset_id is None:
                continue
            if now < row.lock < taken_long_ago:
                queue.stale.setdefault(asset_id, []).append(row)
            else:
                queue.alive.add(asset_id)
        return queue
    if type(broker).__name__ == "Redis":  # django_q.brokers.redis_broker (imports redis, maybe absent)
        for payload in broker.connection.lrange(broker.list_key, 0, -1):
            asset_id = _task_asset_id(payload)
            if asset_id is not None:
                queue.alive.add(asset_id)
        return queue
    return None


def _task_asset_id(payload: Any) -> str | None:
    from django_q.signing import BadSignature, SignedPackage

    try:
        task = SignedPackage.loads(payload)
    except (BadSignature, TypeError, ValueError, EOFError, AttributeError, ImportError):
        return None
    if task.get("func") != "galleries.tasks.process_asset" or not task.get("args"):
        return None
    return str(task["args"][0])


def _scheduled_retries() -> set[str]:
    """Assets with a retry scheduled (see _retry_or_fail) that has not run yet."""
    from django_q.models import Schedule

    ids = set()
    for args in (
        Schedule.objects.filter(func="galleries.tasks.process_asset").exclude(repeats=0).values_list("args", flat=True)
    ):
        try:
            value = ast.literal_eval(args or "None")
        except (ValueError, SyntaxError):
            continue
        first = value[0] if isinstance(value, tuple) and value else value
        if first is not None:
            ids.add(str(first))
    return ids


def _release(rows: list[Any], now: datetime) -> bool:
    """Make ORM broker rows deliverable now, as the broker itself would after `retry`."""
    from django_q.conf import Conf
    from django_q.models import OrmQ

    released = 0
    for row in rows:
        released += OrmQ.objects.using(Conf.ORM).filter(pk=row.pk, lock=row.lock).update(lock=now)
    return released > 0
