"""Import a server folder into galleries and export a gallery to a folder: through the upload services.

Every file goes through `galleries.services.photo_check` (the content check every upload gets) and
`photos_add` (the one way a photo is placed: the same bytes never become a second photo, processing
is queued after commit). Each file is added in its own transaction together with its ImportedFile
row, so an import killed halfway leaves whole photos only and the next run carries on.
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
import logging
import os
import re
import shutil
import tempfile
import threading
import time
import unicodedata
from collections.abc import Callable, Iterable, Iterator
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from typing import Any

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.files.storage import default_storage
from django.db import DatabaseError, OperationalError, connection, transaction
from django.db.models import Q
from django.utils import timezone
from zipstream import ZIP_DEFLATED, ZIP_STORED, ZipStream

from accounts.models import User
from accounts.permissions import is_photographer
from config.exceptions import Conflict, InvalidInput, ServiceError
from folders import metadata, scan
from folders.models import (
    IMPORT_JOB_HEARTBEAT,
    IMPORT_JOB_STALE,
    ImportedFile,
    ImportedFolder,
    ImportJob,
    ImportJobStatus,
)
from galleries import imaging, video
from galleries import services as gallery_services
from galleries.models import Asset, Gallery, Photo
from galleries.storage import original_key
from sharing.models import Selection
from uploads.services import is_disk_full

log = logging.getLogger(__name__)

MANIFEST_JSON = "manifest.json"
MANIFEST_CSV = "manifest.csv"
MANIFEST_FORMAT = "contact-sheet-export"
NEW_GALLERY = "new"
TITLE_SEPARATOR = " / "

# What happened to each file, in the order the report lists them.
NEW, CHANGED, DUPLICATE, UNCHANGED, MISSING, REMOVED, REFUSED, WAITING = (
    "new",
    "changed",
    "duplicate",
    "unchanged",
    "missing",
    "removed",
    "refused",
    "waiting",  # --watch: still being written, read on a later round
)
STATUSES = (NEW, CHANGED, DUPLICATE, UNCHANGED, MISSING, REMOVED, REFUSED, WAITING)


class FileChanged(OSError):
    """The file's size or modification time moved while it was being read: its bytes are not trusted."""


# --- Where imports may come from ---------------------------------------------------------------


def gallery_by_ref(ref: str) -> Gallery | None:
    """The gallery a command names by its slug or its id; None when there is none."""
    found = Gallery.objects.filter(slug=ref).first()
    if found is None:
        try:
            found = Gallery.objects.filter(pk=ref).first()
        except ValidationError:  # not a UUID: no such gallery
            found = None
    return found


def import_root(path: str | os.PathLike) -> str:
    """PATH resolved (symlinks followed), if it is a folder under one of IMPORT_ROOTS; else InvalidInput.

    Every door that imports asks this first, so a link or "../" cannot lead outside the roots.
    """
    roots = [os.path.realpath(os.path.expanduser(root)) for root in settings.IMPORT_ROOTS]
    if not roots:
        raise InvalidInput(
            "Importing from server folders is switched off: IMPORT_ROOTS is empty. Set the environment "
            "variable IMPORT_ROOTS to the folders that may be imported, comma-separated "
            "(for example IMPORT_ROOTS=/srv/photos,/mnt/nas), and run the command again.",
            code="import_roots",
        )
    real = os.path.realpath(os.fsdecode(path))
    if not any(scan.inside(real, root) for root in roots):
        raise InvalidInput(
            f"{scan.printable(real)} is not under IMPORT_ROOTS ({', '.join(roots)}); "
            "add its folder to IMPORT_ROOTS to import it.",
            code="import_roots",
        )
    if not os.path.isdir(real):
        raise InvalidInput(f"{scan.printable(real)} is not a folder.", code="not_a_folder")
    return real


# --- The report ---------------------------------------------------------------------------------


@dataclass
class FileResult:
    path: str
    status: str
    reason: str = ""
    gallery: str = ""
    photo: str = ""
    sha256: str = ""
    size: int = 0
    title: str = ""
    rating: int | None = None
    label: str = ""
    keywords: list[str] = field(default_factory=list)
    pick: bool = False  # made one of the photographer's picks (Photo.featured) from its rating or label


@dataclass
class ImportReport:
    root: str
    dry_run: bool
    files: list[FileResult] = field(default_factory=list)
    galleries: list[dict[str, Any]] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    stopped: str = ""
    hashed: int = 0
    bytes_added: int = 0

    def add(self, result: FileResult) -> FileResult:
        self.files.append(result)
        return result

    @property
    def counts(self) -> dict[str, int]:
        counts = dict.fromkeys(STATUSES, 0)
        for result in self.files:
            counts[result.status] += 1
        return counts

    @property
    def nothing_new(self) -> bool:
        counts = self.counts
        return not (counts[NEW] or counts[CHANGED] or counts[REMOVED])

    def as_dict(self) -> dict[str, Any]:
        return {
            "root": self.root,
            "dry_run": self.dry_run,
            "stopped": self.stopped or None,
            "counts": self.counts,
            "hashed": self.hashed,
            "bytes_added": self.bytes_added,
            "galleries": self.galleries,
            "notes": self.notes,
            "files": [asdict(result) for result in self.files],
        }


Progress = Callable[[int, int], None]  # (files done, bytes done)


@dataclass(frozen=True)
class Picks:
    """Which photos an import makes the photographer's initial picks: rating ≥ N, or one of these colour labels.

    Only photos the import adds are marked; a photo already there keeps its mark as it is, so a pick
    the photographer undid in the app is not made again by the next run. A rejected photo (rating -1)
    is never a pick.
    """

    min_rating: int | None = None
    labels: frozenset[str] = frozenset()

    @classmethod
    def from_options(cls, *, rating: int | None = None, labels: Iterable[str] = ()) -> Picks:
        """Checked options; InvalidInput for a rating outside 1-5. Labels match whatever their case."""
        if rating is not None and not (isinstance(rating, int) and 1 <= rating <= 5):
            raise InvalidInput("Picks from rating: give a number of stars from 1 to 5.", code="picks_from_rating")
        chosen = frozenset(label.strip().casefold() for label in labels if label and label.strip())
        return cls(rating, chosen)

    def __bool__(self) -> bool:
        return self.min_rating is not None or bool(self.labels)

    def __call__(self, meta: metadata.Metadata) -> bool:
        if meta.rating is not None and meta.rating < 0:
            return False  # rejected (xmp:Rating -1) is never a pick, whatever its label
        by_rating = self.min_rating is not None and meta.rating is not None and meta.rating >= self.min_rating
        return by_rating or bool(meta.label and meta.label.strip().casefold() in self.labels)


# --- Import -------------------------------------------------------------------------------------


@dataclass
class _Target:
    """Where one folder's files go: an existing gallery, or one made when its first file is added."""

    folder: str
    title: str
    gallery: Gallery | None = None
    description: str = ""
    created: bool = False
    wanted: bool = False  # a file passed the check: the gallery is (or in a dry run, would be) used


def folder_import(
    *,
    path: str | os.PathLike,
    owner: User | None = None,
    gallery: Gallery | str | None = None,
    folders_as_galleries: bool = False,
    dry_run: bool = False,
    delete_missing: bool = False,
    progress: Progress | None = None,
    on_start: Callable[[int, int], None] | None = None,
    settle: float | None = None,
    picks: Picks | None = None,
) -> ImportReport:
    """Import every photo under PATH into one gallery, or one gallery per folder; report what happened.

    gallery: a Gallery, or "new" for a gallery made from the folder (its manifest.json, when it is
    an export, gives title, order, titles and alt text), remembered so the next run fills it again.
    owner: who owns the galleries made; by default the gallery's owner. Bad files never stop the run
    (each is reported); a full disk stops it cleanly, with the report of what was done.
    settle (--watch): a file written to in the last `settle` seconds is still being copied; it is
    left for a later run (reported as waiting), so a file is never read while it grows.
    picks: the photos this run adds whose rating or colour label qualifies become picks (Photo.featured).
    progress(files done, bytes done) after each file, on_start(files, bytes) once the tree is walked.
    """
    root = import_root(path)
    if bool(gallery) == folders_as_galleries:
        raise InvalidInput("Choose either a gallery (--gallery SLUG or --gallery new) or --folders-as-galleries.")
    if isinstance(gallery, Gallery):
        if gallery.deleted_at is not None:
            raise InvalidInput(f"The gallery “{gallery.title}” is in the trash; restore it first.")
        if owner is not None and not Gallery.objects.editable_by(owner).filter(pk=gallery.pk).exists():
            raise InvalidInput(f"{owner.get_username()} may not change the gallery “{gallery.title}”.")
        owner = owner or gallery.owner
    elif owner is None:
        raise InvalidInput("Name the owner of the galleries to be made: --owner USERNAME.")
    elif not (owner.is_active and owner.is_staff):
        raise InvalidInput(f"{owner.get_username()} is not an active photographer (staff) account.")

    report = ImportReport(root=root, dry_run=dry_run)
    entries, skipped = scan.walk(root, is_sidecar=_is_sidecar)
    manifest = _read_manifest(root, report) if not folders_as_galleries else {}
    if manifest:
        entries = _manifest_order(entries, manifest)
    waiting: list[scan.Entry] = []
    if settle is not None:
        young = time.time_ns() - int(settle * 1e9)
        waiting = [entry for entry in entries if entry.mtime_ns > young]
        entries = [entry for entry in entries if entry.mtime_ns <= young]
    for entry in waiting:
        report.add(FileResult(entry.relative, WAITING, "still being written", size=entry.size))
    for item in skipped:
        report.add(FileResult(item.relative, REFUSED, item.reason))
    seen = {entry.relative for entry in [*entries, *waiting]} | {item.relative for item in skipped}

    targets = _targets(root, entries, gallery=gallery, folders_as_galleries=folders_as_galleries, manifest=manifest)
    scope = {t.gallery.pk for t in targets.values() if t.gallery is not None}
    if folders_as_galleries:  # a folder gone from disk as a whole still has its gallery's files to report
        scope |= set(ImportedFolder.objects.filter(root=root).values_list("gallery_id", flat=True))
    records = {
        (rec.gallery_id, rec.relative_path): rec
        for rec in ImportedFile.objects.filter(root=root, gallery_id__in=scope).select_related("photo")
    }
    if on_start:
        on_start(len(entries), sum(entry.size for entry in entries))

    importer = _Importer(
        root, owner, report, records, manifest, dry_run=dry_run, delete_missing=delete_missing, picks=picks or Picks()
    )
    done_bytes = 0
    for number, entry in enumerate(entries):
        try:
            importer.one(entry, targets[entry.folder if folders_as_galleries else ""])
        except _DiskFull as exc:
            left = len(entries) - number - 1
            report.stopped = (
                f"The disk is full ({exc}): the import stopped cleanly after {number} of {len(entries)} files; "
                f"{left} were not reached. Free some space and run the same command again: it carries on."
            )
            break
        done_bytes += entry.size
        if progress:
            progress(number + 1, done_bytes)

    if not report.stopped:
        importer.missing(seen, scope)
    report.galleries = [
        {
            "folder": t.folder,
            "title": t.gallery.title if t.gallery else t.title,
            "slug": getattr(t.gallery, "slug", ""),
            "created": t.created,
        }
        for t in targets.values()
        if t.gallery is not None or (dry_run and t.wanted)
    ]
    return report


class _DiskFull(Exception):
    pass


def _forget_bytes(sha: str, ext: str) -> None:
    """Delete an original no asset row holds (its transaction was rolled back); the error being raised wins."""
    try:
        if not Asset.objects.filter(sha256=sha).exists():
            default_storage.delete(original_key(sha, ext))
    except Exception:  # storage_check collects what is left; the first error is the one to see
        log.warning("could not remove the original %s after a failed import", sha, exc_info=True)


class _Importer:
    """The work on one file, with what the run has seen so far (duplicates within the run)."""

    def __init__(self, root, owner, report, records, manifest, *, dry_run: bool, delete_missing: bool, picks: Picks):
        self.root = root
        self.owner = owner
        self.report = report
        self.records: dict[tuple[Any, str], ImportedFile] = records
        self.manifest: dict[str, dict] = manifest
        self.dry_run = dry_run
        self.delete_missing = delete_missing
        self.first_path: dict[tuple[str, str], str] = {}  # (folder target, sha256) -> first path this run
        self.picks = picks

    def one(self, entry: scan.Entry, target: _Target) -> None:
        record = self.records.get((getattr(target.gallery, "pk", None), entry.relative))
        if record is not None and record.size == entry.size and record.mtime_ns == entry.mtime_ns:
            self._result(entry, UNCHANGED, target, record=record)  # not even read: size and mtime are enough
            return
        try:
            self._read_and_add(entry, target, record)
        except ServiceError as exc:
            self._result(entry, REFUSED, target, reason=exc.message)
        except OSError as exc:
            if is_disk_full(exc):
                self._result(entry, REFUSED, target, reason="the disk is full")
                raise _DiskFull(scan.describe(exc)) from exc
            self._result(entry, REFUSED, target, reason=scan.describe(exc))
        except OperationalError as exc:
            if "full" not in str(exc).lower():  # SQLite: "database or disk is full"
                raise
            self._result(entry, REFUSED, target, reason="the disk is full")
            raise _DiskFull(str(exc)) from exc

    def _read_and_add(self, entry: scan.Entry, target: _Target, record: ImportedFile | None) -> None:
        with open(entry.path, "rb") as fh:
            before = os.fstat(fh.fileno())
            name = scan.display(os.path.basename(entry.path))
            first = fh.read(32)
            if imaging.sniff(first) is None and video.sniff(first) is None:
                # Not a format any upload may be (a RAW file, a PDF, an empty file): the upload check
                # refuses it from these first bytes alone, so it is not read, nor read again next time.
                gallery_services.photo_check(file=io.BytesIO(first), filename=name, size=before.st_size)
            sha, size, head = scan.hash_file(fh)
            self.report.hashed += 1
            if record is not None and record.sha256 == sha:
                # Touched, not changed (copied again, mtime reset): remember the new size and time only.
                if not self.dry_run:
                    ImportedFile.objects.filter(pk=record.pk).update(size=size, mtime_ns=before.st_mtime_ns)
                self._result(entry, UNCHANGED, target, record=record, sha=sha)
                return
            meta = self._metadata(entry, fh, head)
            checked = gallery_services.photo_check(file=fh, filename=name, size=size, server_sha256=sha)
            earlier = self.first_path.setdefault((target.folder, sha), entry.relative)
            target.wanted = True
            if self.dry_run:
                status = DUPLICATE if earlier != entry.relative else (CHANGED if record else NEW)
                pick = status != DUPLICATE and self.picks(meta)
                self._result(entry, status, target, sha=sha, size=size, meta=meta, pick=pick)
                return
            gallery = self._gallery(target)
            try:
                with transaction.atomic():
                    photo, created = gallery_services.photos_add(gallery=gallery, files=[checked])[0]
                    after = os.fstat(fh.fileno())
                    if (after.st_size, after.st_mtime_ns) != (before.st_size, before.st_mtime_ns):
                        raise FileChanged("the file changed while it was read; it will be read again next time")
                    self._describe(photo, entry, meta)
                    pick = created and self.picks(meta)
                    if pick:
                        _mark_pick(photo)
                    self._remember(gallery, entry, before, sha, photo, meta, record)
            except BaseException:
                # photos_add cleans up after itself; bytes it stored for a transaction rolled back here are ours.
                _forget_bytes(sha, checked.ext)
                raise
        if created:
            self.report.bytes_added += size
            status = CHANGED if record else NEW
        else:
            status = DUPLICATE
        reason = ""
        if status == DUPLICATE:
            reason = f"same bytes as {earlier}" if earlier != entry.relative else "already in the gallery"
        elif status == CHANGED:
            reason = "new bytes at the same path: a new photo"
            old = record.photo_id if record else None
            if old and old != photo.pk:
                reason += "; the old one was removed" if self._drop_old(old) else "; the old one is kept"
        self._result(entry, status, target, reason=reason, sha=sha, size=size, meta=meta, photo=photo, pick=pick)

    def _drop_old(self, photo_id: Any) -> bool:
        """With --delete-missing, the photo a changed file replaced goes, unless another imported file holds it."""
        if not self.delete_missing or ImportedFile.objects.filter(photo_id=photo_id).exists():
            return False
        photo = Photo.objects.filter(pk=photo_id).first()
        if photo is None:
            return False
        gallery_services.photo_delete(photo=photo)
        return True

    def _metadata(self, entry: scan.Entry, fh, head: bytes) -> metadata.Metadata:
        """Embedded IPTC, then embedded XMP over it, then a sidecar over both (the last edit wins)."""
        meta = metadata.read_iptc(fh) if head.startswith(b"\xff\xd8\xff") else metadata.Metadata()
        packet = metadata.find_xmp_packet(head)
        if packet:
            meta = meta.merged(metadata.parse_xmp(packet))
        folder = os.path.dirname(entry.path)
        for name in metadata.sidecar_names(os.path.basename(entry.path)):
            sidecar = os.path.join(folder, name)
            try:
                if os.path.getsize(sidecar) <= metadata.MAX_XMP:
                    with open(sidecar, "rb") as side:
                        meta = meta.merged(metadata.parse_xmp(side.read()))
                    break
            except OSError:
                continue
        listed = self.manifest.get(entry.relative)
        if listed:  # an export's own manifest knows the title and alt text exactly
            meta = meta.merged(
                metadata.Metadata(title=str(listed.get("title") or ""), description=str(listed.get("alt") or ""))
            )
        return meta

    def _describe(self, photo: Photo, entry: scan.Entry, meta: metadata.Metadata) -> None:
        """Title and caption (as alt text) from the file's metadata, only where the photo has none yet."""
        fields = {}
        if meta.title and not photo.title:
            fields["title"] = meta.title[:200]
        if meta.description and not photo.alt:
            fields["alt"] = meta.description[:200]
        if fields:
            gallery_services.photo_update(photo=photo, **fields)

    def _remember(self, gallery, entry, stat_result, sha, photo, meta, record) -> None:
        values = {
            "size": stat_result.st_size,
            "mtime_ns": stat_result.st_mtime_ns,
            "sha256": sha,
            "photo": photo,
            "rating": meta.rating,
            "label": meta.label,
            "keywords": meta.keywords,
        }
        if record is not None:
            ImportedFile.objects.filter(pk=record.pk).update(**values)
        else:
            self.records[(gallery.pk, entry.relative)] = ImportedFile.objects.create(
                gallery=gallery, root=self.root, relative_path=entry.relative, **values
            )

    def _gallery(self, target: _Target) -> Gallery:
        """The target's gallery, made (and its folder remembered) when its first file arrives."""
        if target.gallery is None:
            target.gallery = gallery_services.gallery_create(
                owner=self.owner, title=target.title, description=target.description
            )
            target.created = True
            ImportedFolder.objects.update_or_create(
                root=self.root, relative_path=target.folder, defaults={"gallery": target.gallery}
            )
        return target.gallery

    def missing(self, seen: set[str], scope: list[Any]) -> None:
        """Imported files gone from disk: reported, and with --delete-missing removed with their photos."""
        gone = [rec for rec in self.records.values() if rec.relative_path not in seen and rec.gallery_id in scope]
        for record in sorted(gone, key=lambda rec: rec.relative_path):
            result = FileResult(
                record.relative_path, MISSING, "gone from disk", gallery=str(record.gallery_id),
                photo=str(record.photo_id or ""), sha256=record.sha256, size=record.size,
            )  # fmt: skip
            if self.delete_missing and not self.dry_run:
                with transaction.atomic():
                    photo = Photo.objects.filter(pk=record.photo_id).first() if record.photo_id else None
                    ImportedFile.objects.filter(pk=record.pk).delete()
                    if photo is not None and not ImportedFile.objects.filter(photo=photo).exists():
                        gallery_services.photo_delete(photo=photo)
                result.status, result.reason = REMOVED, "gone from disk: its photo was removed"
            self.report.add(result)

    def _result(
        self, entry, status, target, *, reason="", record=None, sha="", size=None, meta=None, photo=None, pick=False
    ):
        meta = meta or metadata.Metadata(
            rating=getattr(record, "rating", None),
            label=getattr(record, "label", ""),
            keywords=getattr(record, "keywords", []),
        )
        photo_id = photo.pk if photo is not None else getattr(record, "photo_id", None)
        self.report.add(
            FileResult(
                entry.relative, status, reason,
                gallery=getattr(target.gallery, "slug", "") or target.title,
                photo=str(photo_id or ""), sha256=sha or getattr(record, "sha256", ""),
                size=entry.size if size is None else size, title=meta.title, rating=meta.rating,
                label=meta.label, keywords=meta.keywords, pick=pick,
            )
        )  # fmt: skip


def _mark_pick(photo: Photo) -> None:
    """Make a photo the import just added one of the photographer's picks (inside its transaction)."""
    # galleries.services has no service for the pick mark yet (photo_update takes title, alt and
    # position only); this is the import's own write, in the photo's transaction, and the gallery's
    # content changes as photo_update would say.
    Photo.objects.filter(pk=photo.pk).update(featured=True)
    photo.featured = True
    Gallery.objects.filter(pk=photo.gallery_id).touch()


def _is_sidecar(name: str) -> bool:
    return name.lower().endswith(metadata.SIDECAR_EXTENSIONS)


def _targets(root, entries, *, gallery, folders_as_galleries, manifest) -> dict[str, _Target]:
    """Folder (printable, relative) -> where its files go. Galleries are looked up, not yet made."""
    base = scan.printable(os.path.basename(root)) or "Import"
    if not folders_as_galleries:
        if isinstance(gallery, Gallery):
            return {"": _Target("", gallery.title, gallery)}
        info = manifest.get("", {})
        target = _Target("", str(info.get("title") or base)[:100], description=str(info.get("description") or ""))
        target.gallery = _remembered(root, "")
        return {"": target}
    targets = {}
    for folder in dict.fromkeys(entry.folder for entry in entries):
        targets[folder] = _Target(folder, folder_title(base, folder), _remembered(root, folder))
    return targets


def _remembered(root: str, folder: str) -> Gallery | None:
    mapping = ImportedFolder.objects.filter(root=root, relative_path=folder).select_related("gallery").first()
    if mapping is None or mapping.gallery.deleted_at is not None:
        return None
    return mapping.gallery


def folder_title(base: str, folder: str) -> str:
    """A gallery title from a folder's path: "2026 / Wedding / Ceremony"; the root's own files get its name.

    Titles are at most 100 characters: a long path keeps its end, which names the folder itself.
    """
    title = TITLE_SEPARATOR.join(part for part in folder.split("/") if part) if folder else base
    title = title.strip() or base
    return title if len(title) <= 100 else "…" + title[-99:]


def _read_manifest(root: str, report: ImportReport) -> dict[str, dict]:
    """An export's manifest.json: file name -> its entry, and "" -> the gallery; {} when there is none."""
    path = os.path.join(root, MANIFEST_JSON)
    if not os.path.isfile(path):
        return {}
    try:
        with open(path, "rb") as fh:
            data = json.loads(fh.read(64 << 20))
        if data.get("format") != MANIFEST_FORMAT or not isinstance(data.get("photos"), list):
            raise ValueError("not a Contact Sheet export manifest")
        listed = {str(item["file_name"]): item for item in data["photos"] if isinstance(item, dict)}
    except (OSError, ValueError, KeyError, TypeError, AttributeError) as exc:
        report.notes.append(f"{MANIFEST_JSON} was ignored: {exc}")
        return {}
    listed[""] = data.get("gallery") if isinstance(data.get("gallery"), dict) else {}
    report.notes.append(f"{MANIFEST_JSON} gives the order, titles and alt text of {len(listed) - 1} photos")
    return listed


def _manifest_order(entries: list[scan.Entry], manifest: dict[str, dict]) -> list[scan.Entry]:
    """The manifest's own files leave the list; the photos it lists come first, in its order."""
    entries = [e for e in entries if e.relative not in (MANIFEST_JSON, MANIFEST_CSV)]

    def key(entry: scan.Entry) -> tuple:
        listed = manifest.get(entry.relative)
        position = listed.get("position") if listed else None
        return (0, position, entry.relative) if isinstance(position, int) else (1, 0, entry.relative)

    return sorted(entries, key=key)


# --- Import jobs (the admin's door) ----------------------------------------------------------------

JOB_OPTIONS = ("folders_as_galleries", "delete_missing", "dry_run", "picks_from_rating", "picks_from_label")
# An import is one long task: the worker may take hours over a NAS full of photos. The broker may hand
# the task out again meanwhile (Q_CLUSTER retry); the claim below makes that second delivery a no-op.
IMPORT_TASK_TIMEOUT = 12 * 3600
PROGRESS_EVERY = 0.5  # seconds between progress writes: the page polls every second or two


def _job_options(options: dict[str, Any]) -> dict[str, Any]:
    """The job's options, checked: InvalidInput names the first bad one."""
    unknown = set(options) - set(JOB_OPTIONS)
    if unknown:
        raise InvalidInput(f"Unknown import options: {', '.join(sorted(unknown))}.")
    labels = options.get("picks_from_label") or []
    if isinstance(labels, str):
        labels = labels.split(",")
    picks = Picks.from_options(rating=options.get("picks_from_rating"), labels=labels)
    return {
        "folders_as_galleries": bool(options.get("folders_as_galleries")),
        "delete_missing": bool(options.get("delete_missing")),
        "dry_run": bool(options.get("dry_run")),
        "picks_from_rating": picks.min_rating,
        "picks_from_label": sorted(label.strip() for label in labels if label and label.strip()),
    }


@transaction.atomic
def import_job_start(*, user: User, gallery: Gallery, path: str, options: dict[str, Any] | None = None) -> ImportJob:
    """Queue an import of a server folder (under IMPORT_ROOTS) into this gallery, or one gallery per folder.

    Preconditions: the caller fetched the gallery with Gallery.objects.editable_by(user). The path is
    resolved and checked here (import_root), as on every door; the task runs after commit.
    """
    if not is_photographer(user):
        raise InvalidInput("Only photographers (staff users) can import folders.")
    if not Gallery.objects.editable_by(user).filter(pk=gallery.pk).exists():
        raise InvalidInput(f"{user.get_username()} may not change the gallery “{gallery.title}”.")
    if gallery.deleted_at is not None:
        raise InvalidInput(f"The gallery “{gallery.title}” is in the trash; restore it first.")
    root = import_root(path)
    checked = _job_options(options or {})
    if import_job_unfinished(gallery=gallery, path=root) is not None:
        raise Conflict("This folder is being imported into this gallery already; run it again once that has finished.")
    job = ImportJob.objects.create(owner=user, gallery=gallery, path=root, options=checked)
    transaction.on_commit(lambda: _enqueue_import_job(job.pk))
    return job


def import_job_unfinished(*, gallery: Gallery, path: str) -> ImportJob | None:
    """The gallery's import of this (resolved) folder that is queued or running and alive, if there is one."""
    active = ImportJob.objects.filter(
        gallery=gallery, path=path, status__in=[ImportJobStatus.QUEUED, ImportJobStatus.RUNNING]
    )
    return next((job for job in active if not job.is_stale), None)


def import_job_rerun(*, user: User, job: ImportJob) -> ImportJob:
    """Run a finished (done, failed or stale) job again as a new job: the import carries on where it stopped.

    Preconditions: the caller fetched the job with ImportJob.objects.visible_to(user).
    """
    if not job.is_finished:
        raise Conflict("This import is still running; wait for it to finish.")
    return import_job_start(user=user, gallery=job.gallery, path=job.path, options=job.options)


def _enqueue_import_job(job_id: Any) -> None:
    from django_q.tasks import async_task

    async_task(
        "folders.tasks.run_import_job", str(job_id), task_name=f"import {job_id}", group="import",
        timeout=IMPORT_TASK_TIMEOUT,
    )  # fmt: skip


def _claim_job(job_id: Any) -> bool:
    """Atomically take a queued job, or a running one whose worker died (stale); False when it is not ours."""
    now = timezone.now()
    stale = Q(status=ImportJobStatus.RUNNING) & (
        Q(heartbeat_at__lt=now - IMPORT_JOB_STALE) | Q(heartbeat_at__isnull=True, started_at__lt=now - IMPORT_JOB_STALE)
    )
    claim = {
        "status": ImportJobStatus.RUNNING,
        "started_at": now,
        "heartbeat_at": now,
        "stage": "Looking through the folder…",
        "error": "",
        "finished_at": None,
    }
    return bool(ImportJob.objects.filter(Q(pk=job_id) & (Q(status=ImportJobStatus.QUEUED) | stale)).update(**claim))


class _Heartbeat:
    """Beats for a running job from a thread, whatever the import is doing (a 2 GB video is read in one go).

    When the worker dies the beats stop, and within IMPORT_JOB_STALE the job shows as stale.
    """

    def __init__(self, job_id: Any) -> None:
        self.job_id = job_id
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._beat, name=f"import {job_id}", daemon=True)

    def __enter__(self) -> _Heartbeat:
        self._thread.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self._stop.set()
        self._thread.join()

    def _beat(self) -> None:
        try:
            while not self._stop.wait(IMPORT_JOB_HEARTBEAT.total_seconds()):
                try:
                    ImportJob.objects.filter(pk=self.job_id, status=ImportJobStatus.RUNNING).update(
                        heartbeat_at=timezone.now()
                    )
                except DatabaseError:
                    log.warning("import job %s: could not beat", self.job_id, exc_info=True)
        finally:
            connection.close()  # this thread's own connection


class _JobProgress:
    """folder_import's progress callbacks, written to the job (at most every PROGRESS_EVERY seconds)."""

    def __init__(self, job_id: Any) -> None:
        self.job_id = job_id
        self.files = 0
        self.last = 0.0

    def _write(self, **fields: Any) -> None:
        ImportJob.objects.filter(pk=self.job_id).update(heartbeat_at=timezone.now(), **fields)

    def start(self, files: int, size: int) -> None:
        self.files = files
        self._write(files_total=files, bytes_total=size, stage="Importing files…" if files else "No files to read…")

    def update(self, files: int, done: int) -> None:
        now = time.monotonic()
        last_one = files >= self.files
        if now - self.last < PROGRESS_EVERY and not last_one:
            return
        self.last = now
        stage = "Looking for files gone from disk…" if last_one else "Importing files…"
        self._write(files_done=files, bytes_done=done, stage=stage)


def import_job_run(*, job_id: Any) -> str:
    """Run a queued import job to its end: progress while it works, then the report or the error.

    Returns "done", "failed", "skipped" (another worker has it, or it finished) or "gone".
    A second delivery of the same task finds the job claimed and skips it.
    """
    if not ImportJob.objects.filter(pk=job_id).exists():
        return "gone"
    if not _claim_job(job_id):
        return "skipped"
    job = ImportJob.objects.select_related("gallery", "owner").get(pk=job_id)
    options = job.options or {}
    progress = _JobProgress(job.pk)
    many = bool(options.get("folders_as_galleries"))
    fields: dict[str, Any]
    try:
        with _Heartbeat(job.pk):
            report = folder_import(
                path=job.path,
                # One gallery per folder: the galleries made belong to this gallery's owner.
                owner=job.gallery.owner if many else job.owner,
                gallery=None if many else job.gallery,
                folders_as_galleries=many,
                dry_run=bool(options.get("dry_run")),
                delete_missing=bool(options.get("delete_missing")),
                picks=Picks.from_options(
                    rating=options.get("picks_from_rating"), labels=options.get("picks_from_label") or []
                ),
                progress=progress.update,
                on_start=progress.start,
            )
    except ServiceError as exc:
        fields = {"status": ImportJobStatus.FAILED, "error": exc.message}
    except Exception as exc:  # the job says what happened; the log keeps the trace
        log.exception("import job %s failed", job.pk)
        fields = {"status": ImportJobStatus.FAILED, "error": f"The import stopped on an unexpected error: {exc!r}"}
    else:
        fields = {
            "report": report.as_dict(),
            "status": ImportJobStatus.FAILED if report.stopped else ImportJobStatus.DONE,
            "error": report.stopped,
        }
    ImportJob.objects.filter(pk=job.pk).update(
        finished_at=timezone.now(), heartbeat_at=timezone.now(), stage="", **fields
    )
    return fields["status"]


# --- Export -------------------------------------------------------------------------------------


@dataclass
class ExportResult:
    dest: str
    photos: int
    bytes: int
    fallbacks: list[str] = field(default_factory=list)  # files exported as originals: the variant was missing


def export_name(position: int, width: int, photo: Photo, ext: str) -> str:
    """A readable file name that sorts in gallery order: 0001-sunset-over-the-bay.jpg."""
    stem = photo.title or photo.original_filename.rsplit(".", 1)[0] or "photo"
    stem = unicodedata.normalize("NFC", stem)
    stem = re.sub(r"[^\w.-]+", "-", stem, flags=re.UNICODE).strip("-._")[:80].strip("-._") or "photo"
    return f"{position:0{width}d}-{stem}.{ext}"


@dataclass
class ExportItem:
    """One photo of an export: where its bytes are, its file name, and its manifest row.

    The row's sha256 and size are those of the stored file until it is written out; writing (to a
    folder or into a ZIP) hashes the bytes on the way and puts what was written in the row.
    """

    key: str
    file_name: str
    row: dict[str, Any]


@dataclass
class ExportPlan:
    """What an export of one gallery holds, in gallery order: both doors (folder and ZIP) follow it."""

    gallery: Gallery
    variant: str | None
    items: list[ExportItem]
    fallbacks: list[str] = field(default_factory=list)  # exported as originals: the variant was missing

    def manifest_files(self) -> dict[str, bytes]:
        """manifest.json and manifest.csv of the rows as they are now (after writing: what was written)."""
        rows = [item.row for item in self.items]
        document = {
            "format": MANIFEST_FORMAT,
            "version": 1,
            "exported_at": datetime.now(UTC).isoformat(timespec="seconds"),
            "variant": self.variant or "original",
            "gallery": {
                "title": self.gallery.title,
                "slug": self.gallery.slug,
                "description": self.gallery.description,
            },
            "photos": rows,
        }
        text = io.StringIO(newline="")
        writer = csv.DictWriter(text, fieldnames=MANIFEST_COLUMNS)
        writer.writeheader()
        for row in rows:
            writer.writerow({k: _csv_safe(v) for k, v in row.items()})
        return {
            MANIFEST_JSON: json.dumps(document, ensure_ascii=False, indent=2).encode(),
            MANIFEST_CSV: text.getvalue().encode(),
        }


MANIFEST_COLUMNS = ["file_name", "sha256", "size", "width", "height", "title", "alt", "position", "taken_at",
                    "selected", "original_filename"]  # fmt: skip


def export_plan(*, gallery: Gallery, variant: str | None = None) -> ExportPlan:
    """The photos to export, in order, with readable unique names; InvalidInput for an unknown variant.

    variant: None for the originals, "large" or "large.webp" for one variant of each (the original
    where a photo has none yet). Photos a guest dropped in that still wait for approval are left
    out: imported back, they would be approved.
    """
    name, _, fmt = (variant or "").partition(".")
    if variant and name not in settings_variant_names():
        raise InvalidInput(f"Unknown variant “{name}”; choose one of: {', '.join(settings_variant_names())}.")
    photos = list(
        Photo.objects.filter(gallery=gallery, is_approved=True)
        .select_related("asset")
        .prefetch_related("asset__variants")
    )
    chosen = set(
        Selection.photos.through.objects.filter(photo__gallery=gallery).values_list("photo_id", flat=True).distinct()
    )
    width = max(4, len(str(len(photos))))
    plan = ExportPlan(gallery=gallery, variant=variant or None, items=[])
    for index, photo in enumerate(photos, start=1):
        key, ext, size, pixels = _export_source(photo, name, fmt)
        if variant and key == photo.asset.original_key:
            plan.fallbacks.append(photo.original_filename or str(photo.pk))
        file_name = export_name(index, width, photo, ext)
        row = {
            "file_name": file_name,
            "sha256": photo.asset.sha256,
            "size": size,
            "width": pixels[0],
            "height": pixels[1],
            "title": photo.title,
            "alt": photo.alt,
            "position": index,
            "taken_at": (photo.asset.exif or {}).get("taken_at") or "",
            "selected": photo.pk in chosen,
            "original_filename": photo.original_filename,
        }
        plan.items.append(ExportItem(key=key, file_name=file_name, row=row))
    return plan


def export_read(item: ExportItem) -> Iterator[bytes]:
    """The bytes of one exported file, read from storage in pieces; at the end its row states what was read."""
    digest, size = hashlib.sha256(), 0
    with default_storage.open(item.key, "rb") as src:
        for chunk in iter(lambda: src.read(scan.HASH_CHUNK), b""):
            digest.update(chunk)
            size += len(chunk)
            yield chunk
    item.row["sha256"], item.row["size"] = digest.hexdigest(), size


def gallery_export(
    *, gallery: Gallery, dest: str | os.PathLike, variant: str | None = None, manifest_only: bool = False
) -> ExportResult:
    """Write a gallery's originals (or one variant of each) with readable names and a manifest to DEST.

    DEST must not exist or be an empty folder. Everything is written to a temporary folder beside it
    and renamed into place at the end, so DEST holds a whole export or nothing. manifest_only writes
    the manifest alone (to compare a backup with the instance). See export_plan for what is exported.
    """
    dest = os.path.abspath(os.fsdecode(dest))
    if os.path.exists(dest) and (not os.path.isdir(dest) or os.listdir(dest)):
        raise InvalidInput(f"{dest} exists and is not an empty folder; choose a new destination.")
    parent = os.path.dirname(dest)
    if not os.path.isdir(parent):
        raise InvalidInput(f"{parent} does not exist.")
    plan = export_plan(gallery=gallery, variant=variant)
    staging = tempfile.mkdtemp(prefix=".export-", dir=parent)
    try:
        for item in plan.items:
            if not manifest_only:
                _write_file(os.path.join(staging, item.file_name), export_read(item))
        for name, data in plan.manifest_files().items():
            _write_file(os.path.join(staging, name), [data])
        if os.path.isdir(dest):
            os.rmdir(dest)  # empty, checked above: the rename needs the name free
        os.rename(staging, dest)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    total = sum(item.row["size"] for item in plan.items)
    return ExportResult(dest=dest, photos=len(plan.items), bytes=total, fallbacks=plan.fallbacks)


def gallery_export_zip(*, gallery: Gallery, variant: str | None = None) -> tuple[ZipStream, ExportPlan]:
    """The same export as gallery_export, as a ZIP built while it streams: the files, then the manifest.

    Constant memory: each file is read from storage in pieces as the archive reaches it, and the
    manifest, last, states the bytes that were written. Its length is not known in advance.
    """
    plan = export_plan(gallery=gallery, variant=variant)
    archive = ZipStream(compress_type=ZIP_STORED)  # photos do not compress
    for item in plan.items:
        archive.add(export_read(item), item.file_name)
    manifest: dict[str, bytes] = {}

    def manifest_entry(name: str) -> Iterator[bytes]:
        if not manifest:  # the first manifest entry is reached after every photo has been read
            manifest.update(plan.manifest_files())
        yield manifest[name]

    archive.add(manifest_entry(MANIFEST_JSON), MANIFEST_JSON, compress_type=ZIP_DEFLATED)
    archive.add(manifest_entry(MANIFEST_CSV), MANIFEST_CSV, compress_type=ZIP_DEFLATED)
    return archive, plan


def _write_file(target: str, chunks: Iterable[bytes]) -> None:
    with open(target, "wb") as out:
        for chunk in chunks:
            out.write(chunk)
        out.flush()
        os.fsync(out.fileno())


def settings_variant_names() -> list[str]:
    """The variant names this instance builds (IMAGE_VARIANTS)."""
    return [spec[0] for spec in settings.IMAGE_VARIANTS]


def _export_source(photo: Photo, name: str, fmt: str) -> tuple[str, str, int, tuple[int, int]]:
    """(storage key, extension, size, (width, height)) of what to export for a photo."""
    asset = photo.asset
    if name:
        made = [v for v in asset.variants.all() if v.name == name and (not fmt or v.format == fmt)]
        made.sort(key=lambda v: ("jpeg", "webp", "avif").index(v.format) if v.format in ("jpeg", "webp", "avif") else 9)
        if made:
            return made[0].key, made[0].format.replace("jpeg", "jpg"), made[0].size, (made[0].width, made[0].height)
    return asset.original_key, asset.ext, asset.size, (asset.width, asset.height)


def _csv_safe(value: Any) -> Any:
    """A cell a spreadsheet will not run as a formula (titles are the photographer's, but may be pasted)."""
    if isinstance(value, str) and value[:1] in ("=", "+", "-", "@"):
        return "'" + value
    return value
