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
import time
import unicodedata
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from typing import Any

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.files.storage import default_storage
from django.db import OperationalError, transaction

from accounts.models import User
from config.exceptions import InvalidInput, ServiceError
from folders import metadata, scan
from folders.models import ImportedFile, ImportedFolder
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
) -> ImportReport:
    """Import every photo under PATH into one gallery, or one gallery per folder; report what happened.

    gallery: a Gallery, or "new" for a gallery made from the folder (its manifest.json, when it is
    an export, gives title, order, titles and alt text), remembered so the next run fills it again.
    owner: who owns the galleries made; by default the gallery's owner. Bad files never stop the run
    (each is reported); a full disk stops it cleanly, with the report of what was done.
    settle (--watch): a file written to in the last `settle` seconds is still being copied; it is
    left for a later run (reported as waiting), so a file is never read while it grows.
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

    importer = _Importer(root, owner, report, records, manifest, dry_run=dry_run, delete_missing=delete_missing)
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

    def __init__(self, root, owner, report, records, manifest, *, dry_run: bool, delete_missing: bool) -> None:
        self.root = root
        self.owner = owner
        self.report = report
        self.records: dict[tuple[Any, str], ImportedFile] = records
        self.manifest: dict[str, dict] = manifest
        self.dry_run = dry_run
        self.delete_missing = delete_missing
        self.first_path: dict[tuple[str, str], str] = {}  # (folder target, sha256) -> first path this run

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
                self._result(entry, status, target, sha=sha, size=size, meta=meta)
                return
            gallery = self._gallery(target)
            try:
                with transaction.atomic():
                    photo, created = gallery_services.photos_add(gallery=gallery, files=[checked])[0]
                    after = os.fstat(fh.fileno())
                    if (after.st_size, after.st_mtime_ns) != (before.st_size, before.st_mtime_ns):
                        raise FileChanged("the file changed while it was read; it will be read again next time")
                    self._describe(photo, entry, meta)
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
        self._result(entry, status, target, reason=reason, sha=sha, size=size, meta=meta, photo=photo)

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

    def _result(self, entry, status, target, *, reason="", record=None, sha="", size=None, meta=None, photo=None):
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
                label=meta.label, keywords=meta.keywords,
            )
        )  # fmt: skip


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


def gallery_export(
    *, gallery: Gallery, dest: str | os.PathLike, variant: str | None = None, manifest_only: bool = False
) -> ExportResult:
    """Write a gallery's originals (or one variant of each) with readable names and a manifest to DEST.

    DEST must not exist or be an empty folder. Everything is written to a temporary folder beside it
    and renamed into place at the end, so DEST holds a whole export or nothing. manifest_only writes
    the manifest alone (to compare a backup with the instance). variant: "large" or "large.webp".
    Photos a guest dropped in that still wait for approval are left out.
    """
    dest = os.path.abspath(os.fsdecode(dest))
    if os.path.exists(dest) and (not os.path.isdir(dest) or os.listdir(dest)):
        raise InvalidInput(f"{dest} exists and is not an empty folder; choose a new destination.")
    parent = os.path.dirname(dest)
    if not os.path.isdir(parent):
        raise InvalidInput(f"{parent} does not exist.")
    name, _, fmt = (variant or "").partition(".")
    if variant and name not in settings_variant_names():
        raise InvalidInput(f"Unknown variant “{name}”; choose one of: {', '.join(settings_variant_names())}.")

    # Guests' photos still waiting for the owner's approval stay out: imported back, they would be approved.
    photos = list(
        Photo.objects.filter(gallery=gallery, is_approved=True)
        .select_related("asset")
        .prefetch_related("asset__variants")
    )
    chosen = set(
        Selection.photos.through.objects.filter(photo__gallery=gallery).values_list("photo_id", flat=True).distinct()
    )
    width = max(4, len(str(len(photos))))
    staging = tempfile.mkdtemp(prefix=".export-", dir=parent)
    rows, total, fallbacks = [], 0, []
    try:
        for index, photo in enumerate(photos, start=1):
            key, ext, size, pixels = _export_source(photo, name, fmt)
            if variant and key == photo.asset.original_key:
                fallbacks.append(photo.original_filename or str(photo.pk))
            file_name = export_name(index, width, photo, ext)
            sha = photo.asset.sha256
            if not manifest_only:
                sha, size = _copy_out(key, os.path.join(staging, file_name))
            total += size
            rows.append(
                {
                    "file_name": file_name,
                    "sha256": sha,
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
            )
        _write_manifest(staging, gallery, rows, variant)
        if os.path.isdir(dest):
            os.rmdir(dest)  # empty, checked above: the rename needs the name free
        os.rename(staging, dest)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    return ExportResult(dest=dest, photos=len(rows), bytes=total, fallbacks=fallbacks)


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


def _copy_out(key: str, target: str) -> tuple[str, int]:
    """Copy one stored file out, hashing it on the way (the manifest states what was written)."""
    digest, size = hashlib.sha256(), 0
    with default_storage.open(key, "rb") as src, open(target, "wb") as out:
        for chunk in iter(lambda: src.read(scan.HASH_CHUNK), b""):
            digest.update(chunk)
            size += len(chunk)
            out.write(chunk)
        out.flush()
        os.fsync(out.fileno())
    return digest.hexdigest(), size


def _write_manifest(folder: str, gallery: Gallery, rows: list[dict], variant: str | None) -> None:
    document = {
        "format": MANIFEST_FORMAT,
        "version": 1,
        "exported_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "variant": variant or "original",
        "gallery": {"title": gallery.title, "slug": gallery.slug, "description": gallery.description},
        "photos": rows,
    }
    with open(os.path.join(folder, MANIFEST_JSON), "w", encoding="utf-8") as fh:
        json.dump(document, fh, ensure_ascii=False, indent=2)
    columns = list(rows[0]) if rows else ["file_name", "sha256", "size", "width", "height", "title", "alt",
                                          "position", "taken_at", "selected", "original_filename"]  # fmt: skip
    with open(os.path.join(folder, MANIFEST_CSV), "w", encoding="utf-8", newline="") as fh:
        writer = csv.DictWriter(fh, fieldnames=columns)
        writer.writeheader()
        for row in rows:
            writer.writerow({k: _csv_safe(v) for k, v in row.items()})


def _csv_safe(value: Any) -> Any:
    """A cell a spreadsheet will not run as a formula (titles are the photographer's, but may be pasted)."""
    if isinstance(value, str) and value[:1] in ("=", "+", "-", "@"):
        return "'" + value
    return value
