from __future__ import annotations

import sys
import time
from datetime import timedelta

from django.core.management.base import BaseCommand, CommandError

from galleries.services import human_size
from galleries.storagecheck import StorageCheckError, StorageCheckResult, Tally, storage_check


class Command(BaseCommand):
    help = (
        "Compare storage with the database both ways: stored files no row points to (orphans, older than "
        "the grace period) and rows whose file is missing. --fix deletes the orphans and rebuilds missing "
        "variants. Exits 1 when drift is found and not fixed."
    )

    def add_arguments(self, parser) -> None:
        parser.add_argument("--fix", action="store_true", help="Delete orphans and re-queue assets missing variants.")
        parser.add_argument(
            "--grace",
            type=float,
            metavar="HOURS",
            help="Files younger than this are left alone (default: STORAGE_CHECK_GRACE, 24 hours).",
        )

    def handle(self, *args, fix: bool, grace: float | None, **options) -> None:
        if grace is not None and grace < 0:
            raise CommandError("--grace must be zero or more hours.")
        # Progress only for a person at a terminal: logs and cron mail get the summary alone.
        progress = _Progress(self.stdout) if self.stdout.isatty() else None
        try:
            result = storage_check(fix=fix, grace=None if grace is None else timedelta(hours=grace), progress=progress)
        except StorageCheckError as exc:
            raise CommandError(str(exc)) from exc
        finally:
            if progress:
                progress.done()
        self._examples(result)
        self.stdout.write(summary(result))
        if result.unresolved:
            sys.exit(1)

    def _examples(self, result: StorageCheckResult) -> None:
        kinds: list[tuple[str, Tally]] = [
            ("orphan (no row points to it)", result.orphans),
            ("row whose original is missing", result.missing_originals),
            ("row whose variant file is missing", result.missing_variants),
            ("asset being processed, not re-queued", result.busy),
        ]
        for label, tally in kinds:
            for key in tally.examples:
                self.stdout.write(f"  {label}: {key}")
            if tally.count > len(tally.examples):
                self.stdout.write(f"  … and {tally.count - len(tally.examples):,} more of this kind")


def summary(result: StorageCheckResult) -> str:
    """The one line a person or a log reads: what was checked, found and fixed."""
    found = (
        f"storage_check: {result.checked:,} files checked, {result.orphans.count:,} orphans "
        f"({human_size(result.orphans.bytes)}), {result.missing:,} rows missing files"
    )
    if result.recent.count:
        found += f", {result.recent.count:,} newer than the grace left alone"
    if result.clean:
        return f"{found}, fixed: nothing needed"
    if not result.fix:
        return f"{found}, fixed: nothing (run with --fix)"
    fixed = [f"{result.deleted.count:,} orphans deleted ({human_size(result.deleted.bytes)})"]
    fixed.append(f"{result.requeued.count:,} assets re-queued")
    if result.busy.count:
        fixed.append(f"{result.busy.count:,} assets being processed skipped")
    if result.missing_originals.count:
        fixed.append(f"{result.missing_originals.count:,} originals missing (cannot be rebuilt)")
    return f"{found}, fixed: {', '.join(fixed)}"


class _Progress:
    """A carriage-return line: files checked and the rate."""

    def __init__(self, out) -> None:
        self.out, self.started, self.shown = out, time.monotonic(), False

    def __call__(self, checked: int) -> None:
        rate = checked / max(time.monotonic() - self.started, 1e-6)
        self.out.write(f"\r  {checked:,} files checked, {rate:,.0f}/s", ending="")
        self.out.flush()
        self.shown = True

    def done(self) -> None:
        if self.shown:
            self.out.write("")
