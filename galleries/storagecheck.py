"""The storage check: storage and database compared both ways, in bounded memory.

Both sides are read as streams sorted by key and merge-joined: the stored files under originals/
and variants/ (a sorted directory walk locally, S3's paginated listing, which is already in byte
order) against the keys the database expects (Asset rows by sha256, Variant rows by key). Memory
stays the same whatever the size: one directory or one listing page, one chunk of rows, and at
most EXAMPLES keys of each kind for the report.

Orphans are stored files no row points to; only those older than the grace period count (an
upload or a worker may have written the file and not yet committed its row). Missing files are
rows whose file is absent. With fix=True orphans are deleted and assets whose variant files are
missing are rebuilt through services.asset_reprocess; a missing original cannot be rebuilt and is
only reported. No row is ever deleted here.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any, NamedTuple

from django.conf import settings
from django.core.files.storage import FileSystemStorage, Storage, default_storage
from django.db import connection
from django.db.models import F
from django.db.models.functions import Collate
from django.utils import timezone

from config.exceptions import Conflict
from galleries import services
from galleries.models import Asset, Variant
from galleries.storage import original_key

EXAMPLES = 50  # keys kept per kind for the report; the counts are exact
DB_CHUNK = 2000  # rows fetched per round trip
S3_PAGE_SIZE = 1000  # keys per list_objects_v2 page (S3's maximum)
PROGRESS_EVERY = 1000  # stored files between progress callbacks
# process_asset(force=False) builds again the variants whose file is gone and keeps the others.
REBUILD_FORCE = False
DEFAULT_GRACE = timedelta(hours=24)


class StorageCheckError(RuntimeError):
    """The check cannot be trusted (a listing out of order, a storage it cannot list); nothing more is deleted."""


class StoredFile(NamedTuple):
    key: str
    size: int
    modified: float  # seconds since the epoch


class Expected(NamedTuple):
    """A key the database expects, and the asset it belongs to."""

    key: str
    asset_id: Any


@dataclass
class Tally:
    """A count, a byte total and the first EXAMPLES keys of one kind of finding."""

    count: int = 0
    bytes: int = 0
    examples: list[str] = field(default_factory=list)

    def add(self, key: str, size: int = 0) -> None:
        self.count += 1
        self.bytes += size
        if len(self.examples) < EXAMPLES:
            self.examples.append(key)


@dataclass
class StorageCheckResult:
    fix: bool = False
    grace: timedelta = DEFAULT_GRACE
    checked: int = 0  # stored files listed
    rows: int = 0  # database keys compared
    pages: int = 0  # S3 listing pages fetched (0 on local storage)
    orphans: Tally = field(default_factory=Tally)  # older than the grace
    recent: Tally = field(default_factory=Tally)  # no row yet, within the grace: left alone
    missing_originals: Tally = field(default_factory=Tally)  # keys
    missing_variants: Tally = field(default_factory=Tally)  # keys
    deleted: Tally = field(default_factory=Tally)  # orphans removed by fix
    requeued: Tally = field(default_factory=Tally)  # sha256 of assets sent to asset_reprocess
    busy: Tally = field(default_factory=Tally)  # sha256 of assets being processed (not re-queued)
    unbuildable: Tally = field(default_factory=Tally)  # sha256 of assets with variants and original gone

    @property
    def missing(self) -> int:
        return self.missing_originals.count + self.missing_variants.count

    @property
    def clean(self) -> bool:
        return not self.orphans.count and not self.missing

    @property
    def unresolved(self) -> int:
        """Findings still standing after this run (all of them without fix)."""
        if not self.fix:
            return self.orphans.count + self.missing
        return (
            self.orphans.count - self.deleted.count + self.missing_originals.count + self.busy.count
        )  # unbuildable assets are counted in missing_originals


def storage_check(
    *,
    fix: bool = False,
    grace: timedelta | None = None,
    storage: Storage | None = None,
    progress: Callable[[int], None] | None = None,
) -> StorageCheckResult:
    """Compare stored originals and variants with the Asset and Variant rows; with fix, repair what can be.

    grace: how old a file without a row must be to count as an orphan (STORAGE_CHECK_GRACE by
    default). progress: called with the number of stored files checked so far, now and then.
    Safe to run while uploads and workers run, and to kill halfway.
    """
    storage = storage or default_storage
    if grace is None:
        grace = getattr(settings, "STORAGE_CHECK_GRACE", DEFAULT_GRACE)
    result = StorageCheckResult(fix=fix, grace=grace)
    check = _Check(storage, result, cutoff=(timezone.now() - grace).timestamp(), progress=progress)
    check.originals()
    check.variants()
    if progress:
        progress(result.checked)
    return result


class _Check:
    def __init__(self, storage: Storage, result: StorageCheckResult, *, cutoff: float, progress) -> None:
        self.storage, self.result, self.cutoff, self.progress = storage, result, cutoff, progress

    def originals(self) -> None:
        rows = (
            Expected(original_key(sha, ext), pk)
            for sha, ext, pk in _stream(Asset.objects.values_list("sha256", "ext", "pk"), "sha256")
        )
        for stored, row in self._merge("originals/", rows):
            if stored is None:
                self.result.missing_originals.add(row.key)
            elif row is None:
                self._orphan(stored, _original_has_row)

    def variants(self) -> None:
        rows = (
            Expected(key, asset_id) for key, asset_id in _stream(Variant.objects.values_list("key", "asset_id"), "key")
        )
        # Keys are grouped by asset (variants/ab/cd/<sha256>/...): an asset is rebuilt once, after
        # its last key, so nothing is written under keys the listing has yet to reach.
        pending: Any = None
        for stored, row in self._merge("variants/", rows):
            if row is not None and pending is not None and row.asset_id != pending:
                self._rebuild(pending)
                pending = None
            if stored is None:
                self.result.missing_variants.add(row.key)
                pending = row.asset_id
            elif row is None:
                self._orphan(stored, _variant_has_row)
        if pending is not None:
            self._rebuild(pending)

    def _merge(self, prefix: str, rows: Iterable[Expected]) -> Iterator[tuple[StoredFile | None, Expected | None]]:
        """Pairs in key order: (file, row) when both exist, (file, None) or (None, row) when one is missing."""
        stored = _ascending(self._listed(prefix), "storage listing")
        expected = _ascending(rows, "database")
        file, row = next(stored, None), next(expected, None)
        while file is not None or row is not None:
            if row is None or (file is not None and file.key < row.key):
                yield file, None
                file = next(stored, None)
            elif file is None or row.key < file.key:
                self.result.rows += 1
                yield None, row
                row = next(expected, None)
            else:
                self.result.rows += 1
                yield file, row
                file, row = next(stored, None), next(expected, None)

    def _listed(self, prefix: str) -> Iterator[StoredFile]:
        for file in stored_files(self.storage, prefix, self.result):
            self.result.checked += 1
            if self.progress and self.result.checked % PROGRESS_EVERY == 0:
                self.progress(self.result.checked)
            yield file

    def _orphan(self, file: StoredFile, has_row: Callable[[str], bool]) -> None:
        if file.modified > self.cutoff:
            self.result.recent.add(file.key, file.size)
            return
        self.result.orphans.add(file.key, file.size)
        # Asked again just before deleting: a row committed after the stream passed this key wins.
        if self.result.fix and not has_row(file.key):
            self.storage.delete(file.key)
            self.result.deleted.add(file.key, file.size)

    def _rebuild(self, asset_id: Any) -> None:
        if not self.result.fix:
            return
        asset = Asset.objects.filter(pk=asset_id).first()
        if asset is None:
            return  # collected since it was listed: nothing to rebuild
        if not self.storage.exists(asset.original_key):
            self.result.unbuildable.add(asset.sha256)  # its missing original is reported already
            return
        try:
            services.asset_reprocess(asset=asset, force=REBUILD_FORCE)
        except Conflict:
            self.result.busy.add(asset.sha256)  # a worker is on it right now
        else:
            self.result.requeued.add(asset.sha256)


# --- The two sorted streams -----------------------------------------------------------------------


def stored_files(storage: Storage, prefix: str, result: StorageCheckResult | None = None) -> Iterator[StoredFile]:
    """Every stored file under prefix ("originals/", "variants/"), in byte order of its key."""
    if isinstance(storage, FileSystemStorage):
        return _local_files(storage.location, prefix)
    if hasattr(storage, "bucket_name") and hasattr(storage, "connection"):
        return _s3_files(storage, prefix, result)
    raise StorageCheckError(f"The storage check cannot list {type(storage).__name__}: only local files and S3.")


def _local_files(root: str, prefix: str) -> Iterator[StoredFile]:
    """A directory walk in key order: one directory's entries in memory at a time.

    A directory sorts as its name plus "/", so "a/b.x" comes before "a/b/c" as it does in S3.
    """
    try:
        with os.scandir(os.path.join(root, prefix)) as scan:
            entries = [
                (entry.name + "/" if entry.is_dir(follow_symlinks=False) else entry.name, entry) for entry in scan
            ]
    except (FileNotFoundError, NotADirectoryError):
        return
    entries.sort(key=lambda pair: pair[0])
    for name, entry in entries:
        if name.endswith("/"):
            yield from _local_files(root, prefix + name)
            continue
        try:
            stat = entry.stat(follow_symlinks=False)
        except FileNotFoundError:
            continue  # deleted since the directory was read
        yield StoredFile(prefix + name, stat.st_size, stat.st_mtime)


def _s3_files(storage: Any, prefix: str, result: StorageCheckResult | None) -> Iterator[StoredFile]:
    """S3's listing, page by page (list_objects_v2 returns keys in UTF-8 byte order)."""
    client = storage.connection.meta.client
    location = (getattr(storage, "location", "") or "").strip("/")
    base = f"{location}/" if location else ""
    pages = client.get_paginator("list_objects_v2").paginate(
        Bucket=storage.bucket_name, Prefix=base + prefix, PaginationConfig={"PageSize": S3_PAGE_SIZE}
    )
    for page in pages:
        if result is not None:
            result.pages += 1
        for item in page.get("Contents", ()):
            yield StoredFile(item["Key"][len(base) :], item["Size"], item["LastModified"].timestamp())


def _stream(rows: Any, order: str) -> Iterator[Any]:
    """Rows ordered by `order` byte by byte (PostgreSQL's default collation ignores punctuation)."""
    by = Collate(F(order), "C") if connection.vendor == "postgresql" else F(order)
    return rows.order_by(by.asc()).iterator(chunk_size=DB_CHUNK)


def _ascending(items: Iterable[Any], what: str) -> Iterator[Any]:
    """The items, checked to come in strictly ascending key order: the merge is only right if they do."""
    last = None
    for item in items:
        if last is not None and item.key <= last:
            raise StorageCheckError(f"The {what} is not in key order ({item.key!r} after {last!r}); the check stopped.")
        last = item.key
        yield item


def _original_has_row(key: str) -> bool:
    """Whether an Asset row points at originals/ab/cd/<sha256>.<ext>."""
    sha, _, ext = key.rsplit("/", 1)[-1].partition(".")
    return Asset.objects.filter(sha256=sha, ext=ext).exists()


def _variant_has_row(key: str) -> bool:
    """Whether a Variant row points at variants/ab/cd/<sha256>/<name>.<format> (found through its asset's index)."""
    parts = key.split("/")
    return len(parts) == 5 and Variant.objects.filter(asset__sha256=parts[3], key=key).exists()
