from __future__ import annotations

import argparse
import json
import time
from collections.abc import Iterator

from django.core.management.base import BaseCommand, CommandError

from accounts.models import User
from config.exceptions import ServiceError
from folders.services import (
    NEW_GALLERY,
    STATUSES,
    UNCHANGED,
    ImportReport,
    Picks,
    folder_import,
    gallery_by_ref,
)
from galleries.models import Gallery
from galleries.services import human_size


class Command(BaseCommand):
    help = (
        "Import the photos under PATH (a folder under IMPORT_ROOTS) into a gallery, or one gallery per folder. "
        "Each file is checked as every upload is and added once: a second run adds nothing. Prints a report "
        "(new, unchanged, changed, duplicate, missing, refused) as a table, or JSON with --json. "
        "Exits 1 when the run had to stop (a full disk); refused files do not stop it."
    )

    def add_arguments(self, parser) -> None:
        parser.add_argument("path", help="The folder to import (must lie under IMPORT_ROOTS).")
        where = parser.add_mutually_exclusive_group(required=True)
        where.add_argument(
            "--gallery",
            metavar="SLUG",
            help=f"The gallery to fill (slug or id); “{NEW_GALLERY}” makes one from the folder (and its "
            "manifest.json, when it is an export) and fills that same one on every later run.",
        )
        where.add_argument("--folders-as-galleries", action="store_true", help="One gallery per folder.")
        parser.add_argument("--owner", metavar="USERNAME", help="Who owns the galleries made (a staff account).")
        parser.add_argument("--dry-run", action="store_true", help="Read and check everything, change nothing.")
        parser.add_argument(
            "--delete-missing",
            action="store_true",
            help="Remove the photos of imported files gone from disk, and those a changed file replaced.",
        )
        parser.add_argument(
            "--picks-from-rating",
            type=int,
            choices=range(1, 6),
            metavar="N",
            help="Photos this run adds that are rated N stars or more (XMP, e.g. from Lightroom) become picks.",
        )
        parser.add_argument(
            "--picks-from-label",
            action="append",
            default=[],
            metavar="LABEL",
            help="Photos this run adds with this colour label (e.g. Green; any case) become picks. Repeatable.",
        )
        parser.add_argument("--json", action="store_true", dest="as_json", help="Print the report as JSON.")
        parser.add_argument(
            "--watch",
            action="store_true",
            help="Keep importing as files appear (woken by the system's file events, and at least every "
            "--interval seconds); a file is read once nobody has written to it for --settle seconds.",
        )
        parser.add_argument(
            "--interval", type=float, default=5.0, metavar="SECONDS", help="--watch: the longest wait between looks."
        )
        parser.add_argument("--settle", type=float, default=3.0, metavar="SECONDS", help="--watch: quiet time.")
        parser.add_argument("--rounds", type=int, help=argparse.SUPPRESS)  # tests: stop after this many looks

    def handle(self, *args, path: str, gallery: str | None, folders_as_galleries: bool, owner: str | None,
               dry_run: bool, delete_missing: bool, as_json: bool, watch: bool, interval: float, settle: float,
               rounds: int | None, picks_from_rating: int | None, picks_from_label: list[str],
               **options) -> None:  # fmt: skip
        user = None
        if owner:
            user = User.objects.filter(username=owner).first()
            if user is None:
                raise CommandError(f"No user named “{owner}”.")
        target = None
        if gallery:
            target = NEW_GALLERY if gallery == NEW_GALLERY else _gallery(gallery)
        if watch and dry_run:
            raise CommandError("--watch and --dry-run do not go together: a dry run changes nothing to watch.")
        if interval <= 0 or settle < 0:
            raise CommandError("--interval must be more than 0 seconds and --settle 0 or more.")
        try:
            picks = Picks.from_options(rating=picks_from_rating, labels=picks_from_label)
        except ServiceError as exc:
            raise CommandError(exc.message) from exc
        run = {
            "path": path,
            "picks": picks,
            "owner": user,
            "gallery": target,
            "folders_as_galleries": folders_as_galleries,
            "dry_run": dry_run,
            "delete_missing": delete_missing,
            "settle": settle if watch else None,
        }
        if not watch:
            self._once(run, as_json=as_json, indent=2)
            return
        # Watching: a round as soon as something in the tree changes (watchfiles: inotify where the
        # system has it), and at least every --interval seconds anyway: a network share sends no
        # events, and a file still being written in one round is read once it has settled, which no
        # event announces. No re-read of unchanged files (size and mtime first); only rounds where
        # something happened are reported, one JSON document per line with --json. Ctrl-C ends it.
        done = 0
        changes = _changes(path, interval)
        try:
            while rounds is None or done < rounds:
                self._once(run, as_json=as_json, indent=None, quiet=done > 0)
                done += 1
                if rounds is None or done < rounds:
                    next(changes)
        except KeyboardInterrupt:
            self.stderr.write("Stopped watching.")
        finally:
            changes.close()

    def _once(self, run: dict, *, as_json: bool, indent: int | None, quiet: bool = False) -> None:
        """One import and its report (quiet: nothing printed when nothing happened)."""
        # Progress only for a person at a terminal: logs, pipes and cron mail get the report alone.
        progress = _Progress(self.stderr) if self.stderr.isatty() and not quiet else None
        try:
            report = folder_import(
                **run, progress=progress.update if progress else None, on_start=progress.start if progress else None
            )
        except ServiceError as exc:
            raise CommandError(exc.message) from exc
        finally:
            if progress:
                progress.done()
        if not (quiet and report.nothing_new and not report.stopped):
            if as_json:
                self.stdout.write(json.dumps(report.as_dict(), ensure_ascii=False, indent=indent))
            else:
                self.stdout.write(table(report))
        if report.stopped:
            raise CommandError(report.stopped)


def _gallery(ref: str) -> Gallery:
    found = gallery_by_ref(ref)
    if found is None:
        raise CommandError(f"No gallery “{ref}”; give a slug or an id, or --gallery {NEW_GALLERY} to make one.")
    return found


def table(report: ImportReport) -> str:
    """The report for a person: counts, galleries, then every file that was not simply unchanged."""
    counts = report.counts
    lines = [f"Import of {report.root}" + (" (dry run: nothing was changed)" if report.dry_run else "")]
    lines += [f"  {status:<10} {counts[status]:>7}" for status in STATUSES]
    lines.append(f"  {'read':<10} {report.hashed:>7} files hashed, {human_size(report.bytes_added)} added")
    picks = sum(r.pick for r in report.files)
    if picks:
        lines.append(f"  {'picks':<10} {picks:>7} from ratings and labels")
    for gallery in report.galleries:
        made = " (new)" if gallery["created"] else ""
        lines.append(f"Gallery “{gallery['title']}” {gallery['slug']}{made}")
    lines += [f"Note: {note}" for note in report.notes]
    changed = [r for r in report.files if r.status != UNCHANGED]
    if changed:
        width = max(len(r.path) for r in changed)
        lines.append("")
        for r in changed:
            extra = "  ".join(x for x in (r.reason, _stars(r.rating), r.label, "pick" if r.pick else "") if x)
            lines.append(f"{r.status:<10} {r.path:<{width}}  {extra}".rstrip())
    if report.nothing_new and not report.stopped:
        lines.append(f"Nothing new: {counts[UNCHANGED]} files unchanged, nothing added.")
    if report.stopped:
        lines.append(f"STOPPED: {report.stopped}")
    return "\n".join(lines)


def _stars(rating: int | None) -> str:
    if rating is None:
        return ""
    return "rejected" if rating < 0 else "★" * rating or "no stars"


class _Progress:
    """A one-line progress bar on the terminal: files, bytes, rate and time left."""

    def __init__(self, out) -> None:
        self.out = out
        self.files = self.bytes = 0
        self.started = self.last = time.monotonic()

    def start(self, files: int, size: int) -> None:
        self.files, self.bytes = files, size
        self.started = time.monotonic()

    def update(self, files: int, done: int) -> None:
        now = time.monotonic()
        if now - self.last < 0.1 and files < self.files:
            return
        self.last = now
        rate = done / max(now - self.started, 1e-6)
        left = (self.bytes - done) / rate if rate else 0
        share = done / self.bytes if self.bytes else 1
        bar = "#" * int(share * 24)
        self.out.write(
            ending="",
            msg=f"\r[{bar:<24}] {files}/{self.files} files  {human_size(done)}/{human_size(self.bytes)}  "
            f"{human_size(int(rate))}/s  ETA {int(left) // 60}:{int(left) % 60:02d} ",
        )
        self.out.flush()

    def done(self) -> None:
        self.out.write("")


def _changes(path: str, interval: float) -> Iterator[None]:
    """Yields when something under `path` changed, or after `interval` seconds without a change.

    watchfiles (inotify on Linux) when it can watch the folder; otherwise, plain sleeping: the
    import's own walk finds what changed either way, this only decides when to look.
    """
    try:
        import watchfiles

        for _ in watchfiles.watch(
            path, rust_timeout=max(1, int(interval * 1000)), yield_on_timeout=True, raise_interrupt=True
        ):
            yield
    except (ImportError, OSError, RuntimeError):  # no watcher for this folder: poll
        pass
    while True:
        time.sleep(interval)
        yield
