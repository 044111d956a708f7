"""One idempotent sweep over every gallery's life (`manage.py lifecycle_sweep`, a django-q2 schedule).

Steps, in order: publish what is due, warn about coming expiries, expire, warn about coming purges,
purge, finish purges a killed run left, expire stale uploads, collect orphan assets, delete the files
of tombstones, tell owners about guests' photos waiting, send the mails that are due.

Every step works in batches of LIFECYCLE_BATCH rows, each batch one transaction that also records
what was done (the expiry a notice was for, the tombstones of deleted files), so killing the sweep at
any point loses nothing and the next run does only what is left. A run stops starting new batches
after LIFECYCLE_SWEEP_BUDGET; `--dry-run` counts what each step would do and writes nothing.
"""

from __future__ import annotations

import hashlib
import logging
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import Count, Exists, F, Max, OuterRef, Q, QuerySet, Sum
from django.urls import reverse
from django.utils import timezone
from django.utils.formats import date_format

from config import events
from galleries import lifecycle
from galleries.models import Gallery, Photo, PurgeReason
from galleries.services import human_size
from notifications.services import notify, send_due
from sharing.models import Selection
from uploads.services import uploads_expire

log = logging.getLogger(__name__)

EXAMPLES = 5  # names a dry run or a summary shows per step
GUEST_NOTICE_INTERVAL = timedelta(hours=1)  # at most one "photos are waiting" mail per gallery per hour


@dataclass
class StepReport:
    name: str
    done: int = 0
    examples: list[str] = field(default_factory=list)
    detail: dict[str, int] = field(default_factory=dict)
    unfinished: bool = False

    def add(self, what: str = "", n: int = 1) -> None:
        self.done += n
        if what and len(self.examples) < EXAMPLES:
            self.examples.append(what)


@dataclass
class SweepReport:
    dry_run: bool
    steps: list[StepReport] = field(default_factory=list)
    seconds: float = 0.0

    @property
    def unfinished(self) -> bool:
        return any(step.unfinished for step in self.steps)

    def summary(self) -> str:
        verb = "would do" if self.dry_run else "did"
        parts = []
        for step in self.steps:
            extra = "".join(f", {key} {value:,}" for key, value in step.detail.items())
            parts.append(f"{step.name} {step.done:,}{extra}{' (more left)' if step.unfinished else ''}")
        return f"lifecycle sweep {verb}: " + "; ".join(parts) + f" in {self.seconds:.1f} s"


class Sweep:
    def __init__(self, *, dry_run: bool = False, budget: timedelta | None = None) -> None:
        self.now = timezone.now()
        self.dry_run = dry_run
        self.deadline = time.monotonic() + (budget or settings.LIFECYCLE_SWEEP_BUDGET).total_seconds()
        self.batch = settings.LIFECYCLE_BATCH
        self.report = SweepReport(dry_run=dry_run)

    def out_of_time(self) -> bool:
        return time.monotonic() > self.deadline

    def run(self) -> SweepReport:
        started = time.monotonic()
        steps: list[tuple[str, Callable[[StepReport], None]]] = [
            ("published", self.publish),
            ("expiry notices", self.warn_expiring),
            ("expired", self.expire),
            ("purge notices", self.warn_purge),
            ("purged", self.purge),
            ("purges resumed", self.resume_purges),
            ("uploads expired", self.expire_uploads),
            ("orphan assets", self.collect_orphans),
            ("files deleted", self.flush),
            ("guest notices", self.notify_guests),
            ("mails sent", self.send_mails),
        ]
        for name, step in steps:
            report = StepReport(name)
            self.report.steps.append(report)
            if self.out_of_time():
                report.unfinished = True
                continue
            step(report)
        self.report.seconds = time.monotonic() - started
        log.info(self.report.summary())
        return self.report

    # --- helpers ----------------------------------------------------------------------------

    def batches(self, queryset: QuerySet, report: StepReport) -> Iterator[list[Any]]:
        """Primary keys of the rows still to do, a batch at a time; each batch must take its rows out
        of the queryset (by recording what it did), so the next query finds the rest."""
        if self.dry_run:
            for row in queryset.select_related("owner")[:EXAMPLES]:
                report.examples.append(str(row))
            report.done = queryset.count()
            return
        seen: set[Any] = set()
        while True:
            if self.out_of_time():
                report.unfinished = queryset.exists()
                return
            ids = [pk for pk in queryset.order_by("pk").values_list("pk", flat=True)[: self.batch] if pk not in seen]
            if not ids:
                return
            seen.update(ids)  # a row a batch could not take out (locked elsewhere) is not tried twice
            yield ids

    def locked(self, ids: list[Any]) -> list[Gallery]:
        """These galleries, locked for this transaction; rows another process holds are left for later."""
        return list(Gallery.objects.select_for_update(skip_locked=True).filter(pk__in=ids).select_related("owner"))

    # --- steps ------------------------------------------------------------------------------

    def publish(self, report: StepReport) -> None:
        """A release date has come: record it and let visitors' cached pages go."""
        due = Gallery.objects.alive().filter(published_at__isnull=True, publish_at__lte=self.now)
        for ids in self.batches(due, report):
            with transaction.atomic():
                galleries = self.locked(ids)
                Gallery.objects.filter(pk__in=[g.pk for g in galleries]).update(
                    published_at=F("publish_at"), content_version=F("content_version") + 1
                )
                for gallery in galleries:
                    report.add(gallery.title)
                    events.emit("gallery.published", owner=gallery.owner_id, obj_id=gallery.pk)  # issue 16: webhooks

    def warn_expiring(self, report: StepReport) -> None:
        """Tell the owner, and every client who left an email on one of its links, once per expiry date."""
        soon = self.now + timedelta(days=settings.GALLERY_EXPIRY_NOTICE_DAYS)
        due = (
            Gallery.objects.alive()
            .filter(expires_at__gt=self.now, expires_at__lte=soon)
            .exclude(expiry_warned_for=F("expires_at"))
        )
        mails = 0
        for ids in self.batches(due, report):
            with transaction.atomic():
                for gallery in self.locked(ids):
                    mails += self._warn_owner_expiring(gallery)
                    if gallery.is_open:
                        mails += self._warn_clients_expiring(gallery)
                    Gallery.objects.filter(pk=gallery.pk).update(expiry_warned_for=gallery.expires_at)
                    report.add(gallery.title)
        report.detail["mails"] = mails

    def _warn_owner_expiring(self, gallery: Gallery) -> int:
        return _sent(
            notify(
                key=f"gallery-expiring:{gallery.pk}:{_stamp(gallery.expires_at)}",
                to=gallery.owner.email,
                template="gallery_expiring",
                context={
                    **_gallery_context(gallery),
                    "days_left": max(1, (gallery.expires_at - self.now).days),
                    "extend_url": _admin_url("admin:galleries_gallery_extend", gallery.pk),
                },
                topic=f"gallery:{gallery.pk}",
            )
        )

    def _warn_clients_expiring(self, gallery: Gallery) -> int:
        """One mail per address, with the link they chose through (a link that still opens)."""
        sent = 0
        seen: set[str] = set()
        selections = (
            Selection.objects.filter(link__gallery=gallery, link__revoked_at__isnull=True)
            .exclude(email="")
            .filter(Q(link__expires_at__isnull=True) | Q(link__expires_at__gt=self.now))
            .select_related("link")
            .order_by("-submitted_at", "-updated_at")
        )
        for selection in selections:
            address = selection.email.strip().lower()
            if address in seen:
                continue
            seen.add(address)
            sent += _sent(
                notify(
                    key=f"client-expiring:{gallery.pk}:{_stamp(gallery.expires_at)}:{_digest(address)}",
                    to=selection.email,
                    template="gallery_expiring_client",
                    context={
                        **_gallery_context(gallery),
                        "client_name": selection.name,
                        "gallery_url": settings.SITE_URL + selection.link.get_absolute_url(),
                    },
                    topic=f"gallery:{gallery.pk}",
                )
            )
        return sent

    def expire(self, report: StepReport) -> None:
        """An expiry has passed: hide the gallery (or move it to the trash) and tell its owner."""
        due = Gallery.objects.alive().filter(expires_at__lte=self.now).exclude(expired_for=F("expires_at"))
        to_trash = settings.GALLERY_EXPIRED_ACTION == "trash"
        for ids in self.batches(due, report):
            with transaction.atomic():
                for gallery in self.locked(ids):
                    changes: dict[str, Any] = {"expired_for": gallery.expires_at}
                    if to_trash:
                        changes["deleted_at"] = gallery.deleted_at = self.now
                    Gallery.objects.filter(pk=gallery.pk).update(**changes, content_version=F("content_version") + 1)
                    events.emit("gallery.expired", owner=gallery.owner_id, obj_id=gallery.pk)  # issue 16: webhooks
                    purge_at = gallery.purge_at
                    notify(
                        key=f"gallery-expired:{gallery.pk}:{_stamp(gallery.expires_at)}",
                        to=gallery.owner.email,
                        template="gallery_expired",
                        context={
                            **_gallery_context(gallery),
                            "trashed": to_trash,
                            "purge_date": _date(purge_at) if purge_at else "",
                            "extend_url": _admin_url("admin:galleries_gallery_extend", gallery.pk),
                        },
                        topic=f"gallery:{gallery.pk}",
                    )
                    report.add(gallery.title)

    def _purge_due(self, by: datetime) -> QuerySet:
        """Galleries whose purge date (Gallery.purge_at) is at or before `by`."""
        rule = Q(deleted_at__lte=by - timedelta(days=settings.TRASH_RETENTION))
        if settings.GALLERY_PURGE_AFTER is not None:
            rule |= Q(deleted_at__isnull=True, expires_at__lte=by - timedelta(days=settings.GALLERY_PURGE_AFTER))
        return Gallery.objects.filter(rule)

    def warn_purge(self, report: StepReport) -> None:
        """Tell the owner GALLERY_PURGE_NOTICE_DAYS ahead, once per purge date.

        purge_warned_for holds the date the purge counts from (the trash date, else the expiry), so
        a gallery restored and trashed again, or given a new expiry, is warned again."""
        notice = self.now + timedelta(days=settings.GALLERY_PURGE_NOTICE_DAYS)
        warned = Q(deleted_at__isnull=False, purge_warned_for=F("deleted_at")) | Q(
            deleted_at__isnull=True, purge_warned_for=F("expires_at")
        )
        due = self._purge_due(notice).exclude(pk__in=self._purge_due(self.now).values("pk")).exclude(warned)
        for ids in self.batches(due, report):
            with transaction.atomic():
                for gallery in self.locked(ids):
                    purge_at = gallery.purge_at
                    if purge_at is None:
                        continue
                    notify(
                        key=f"purge-coming:{gallery.pk}:{_stamp(purge_at)}",
                        to=gallery.owner.email,
                        template="purge_coming",
                        context={
                            **_gallery_context(gallery),
                            "purge_date": _date(purge_at),
                            "in_trash": gallery.is_trashed,
                            "storage": human_size(gallery.storage_bytes),
                            "extend_url": _admin_url("admin:galleries_gallery_extend", gallery.pk),
                        },
                        topic=f"gallery:{gallery.pk}",
                    )
                    Gallery.objects.filter(pk=gallery.pk).update(
                        purge_warned_for=gallery.deleted_at or gallery.expires_at
                    )
                    report.add(gallery.title)

    def purge(self, report: StepReport) -> None:
        due = self._purge_due(self.now)
        photos = files = freed = 0
        if self.dry_run:
            totals = due.aggregate(n=Count("pk"), size=Sum("storage_bytes"))
            report.detail["bytes at most"] = totals["size"] or 0
        for ids in self.batches(due, report):
            for gallery in Gallery.objects.filter(pk__in=ids).select_related("owner"):
                reason = PurgeReason.TRASH if gallery.is_trashed else PurgeReason.EXPIRED
                if gallery.is_trashed and gallery.expired_for is not None and gallery.expired_for == gallery.expires_at:
                    reason = PurgeReason.EXPIRED  # the sweep moved it to the trash when it expired
                try:
                    result = lifecycle.gallery_purge(
                        gallery=gallery, reason=reason, deadline=self.deadline, due=self._still_due
                    )
                except IntegrityError:
                    continue  # another sweep is purging it right now
                if result.record is None:
                    continue
                photos += result.record.photos_deleted
                files += result.record.files_deleted
                freed += result.record.bytes_freed
                report.add(gallery.title)
                if not result.finished:
                    report.unfinished = True
                    return
        if not self.dry_run:
            report.detail.update(photos=photos, files=files, bytes=freed)

    def _still_due(self, gallery: Gallery) -> bool:
        purge_at = gallery.purge_at
        return purge_at is not None and purge_at <= self.now

    def resume_purges(self, report: StepReport) -> None:
        if self.dry_run:
            report.done = lifecycle.running_purges().count()
            return
        report.add(n=lifecycle.resume_interrupted_purges(deadline=self.deadline))

    def expire_uploads(self, report: StepReport) -> None:
        if self.dry_run:
            return
        report.add(n=uploads_expire())

    def collect_orphans(self, report: StepReport) -> None:
        if self.dry_run:
            report.done = len(lifecycle.orphan_assets(limit=10_000))
            return
        while not self.out_of_time():
            ids = lifecycle.orphan_assets(limit=self.batch)
            if not ids:
                return
            with transaction.atomic():
                report.add(n=lifecycle.bury_assets(ids))

    def flush(self, report: StepReport) -> None:
        if self.dry_run:
            report.done = lifecycle.pending_tombstones().count()
            return
        flushed = lifecycle.flush_all_tombstones(deadline=self.deadline)
        report.add(n=flushed.files)
        report.detail["bytes"] = flushed.bytes
        report.unfinished = lifecycle.pending_tombstones().exists() and self.out_of_time()

    def notify_guests(self, report: StepReport) -> None:
        """One mail per gallery for the guests' photos that came since the last one (at most hourly)."""
        waiting = Photo.objects.filter(gallery=OuterRef("pk"), is_approved=False).exclude(contributor="")
        new_since = waiting.filter(
            Q(created_at__gt=OuterRef("guests_noticed_at")) | Q(gallery__guests_noticed_at__isnull=True)
        )
        due = (
            Gallery.objects.alive()
            .filter(Exists(new_since))
            .filter(Q(guests_noticed_at__isnull=True) | Q(guests_noticed_at__lte=self.now - GUEST_NOTICE_INTERVAL))
        )
        for ids in self.batches(due, report):
            with transaction.atomic():
                for gallery in self.locked(ids):
                    pending = Photo.objects.filter(gallery=gallery, is_approved=False).exclude(contributor="")
                    if gallery.guests_noticed_at is not None:
                        fresh = pending.filter(created_at__gt=gallery.guests_noticed_at)
                    else:
                        fresh = pending
                    stats = fresh.aggregate(n=Count("pk"), latest=Max("created_at"))
                    Gallery.objects.filter(pk=gallery.pk).update(guests_noticed_at=self.now)
                    if not stats["n"]:
                        continue
                    contributors = sorted(set(fresh.values_list("contributor", flat=True)[:50]))
                    notify(
                        key=f"guest-uploads:{gallery.pk}:{_stamp(stats['latest'])}",
                        to=gallery.owner.email,
                        template="guest_uploads",
                        context={
                            **_gallery_context(gallery),
                            "new_count": stats["n"],
                            "waiting_count": pending.count(),
                            "contributors": contributors[:10],
                            "more_contributors": max(0, len(contributors) - 10),
                            "review_url": _admin_url("admin:galleries_gallery_change", gallery.pk),
                        },
                        topic=f"gallery:{gallery.pk}",
                    )
                    report.add(gallery.title)

    def send_mails(self, report: StepReport) -> None:
        if self.dry_run:
            return
        report.add(n=send_due())


def sweep(*, dry_run: bool = False, budget: timedelta | None = None) -> SweepReport:
    return Sweep(dry_run=dry_run, budget=budget).run()


# --- mail helpers ---------------------------------------------------------------------------------


def _sent(notification: Any) -> int:
    return 0 if notification is None else 1


def _stamp(when: datetime | None) -> str:
    return "none" if when is None else f"{when.timestamp():.0f}"


def _digest(address: str) -> str:
    """Keys name no address (they show in the admin's log): a short hash tells them apart."""
    return hashlib.sha256(address.encode()).hexdigest()[:16]


def _date(when: datetime) -> str:
    return date_format(timezone.localtime(when), "j F Y")


def _admin_url(name: str, pk: Any) -> str:
    return settings.SITE_URL + reverse(name, args=[pk])


def _gallery_context(gallery: Gallery) -> dict[str, Any]:
    return {
        "gallery_title": gallery.title,
        "expiry_date": _date(gallery.expires_at) if gallery.expires_at else "",
        "gallery_admin_url": _admin_url("admin:galleries_gallery_change", gallery.pk),
        "brand_owner_id": gallery.owner_id,  # issue 13: the mail comes from the owner's studio brand
    }
