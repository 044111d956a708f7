"""manage.py lifecycle_sweep [--dry-run] [--budget SECONDS]: run every lifecycle step once (lifecycle.sweep)."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from django.core.management.base import BaseCommand, CommandError

from lifecycle.sweep import sweep


class Command(BaseCommand):
    help = (
        "Publish galleries whose release date came, send expiry and purge notices, expire, purge the trash "
        "and expired galleries past their grace, expire stale uploads, collect orphans, send due mails. "
        "Safe to stop at any point and to run again."
    )

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("--dry-run", action="store_true", help="Say what each step would do; change nothing.")
        parser.add_argument(
            "--budget",
            type=float,
            default=None,
            metavar="SECONDS",
            help="Start no new batch after this long (default LIFECYCLE_SWEEP_BUDGET); the next run carries on.",
        )

    def handle(self, *args: Any, dry_run: bool, budget: float | None, **options: Any) -> None:
        if budget is not None and budget <= 0:
            raise CommandError("--budget must be a positive number of seconds.")
        report = sweep(dry_run=dry_run, budget=timedelta(seconds=budget) if budget else None)
        if dry_run or options["verbosity"] > 1:
            for step in report.steps:
                line = f"{step.name}: {step.done:,}"
                if step.examples:
                    line += " — " + ", ".join(step.examples) + (" …" if step.done > len(step.examples) else "")
                self.stdout.write(line)
        self.stdout.write(report.summary())
        if report.unfinished:
            self.stdout.write("Stopped at its time budget; run it again (the schedule does) to finish.")
