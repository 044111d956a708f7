"""Where the bytes of uploads in flight live until they are complete.

Local: one temporary file per upload, written at offsets (the fastest way on one disk).
S3: one object per received piece under uploads/<upload-id>/, read back in offset order.
The store is chosen by settings; services never see paths.

Every piece arrives in two steps, so two requests racing on one chunk or one tus offset can
never leave bytes in place that the ledger does not describe:
1. stage(): the body goes to a side file (an unnamed temporary file beside the upload's bytes,
   or the local spool of an S3 piece) while it is hashed; nothing in place is touched.
2. place(): called by the service under the upload's lock, after it has checked the hash and
   that the place is still free; copies the verified bytes where they belong.
A failed or refused piece is simply discarded with its side file.
"""

from __future__ import annotations

import base64
import bisect
import contextlib
import errno
import functools
import hashlib
import io
import os
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any, Protocol

from django.conf import settings
from django.utils.module_loading import import_string

from config import s3
from config.exceptions import ContentMismatch

READ_SIZE = 1 << 20


class ChunkStore(Protocol):
    def begin(self, upload_id: str, size: int) -> dict: ...
    def stage(self, upload_id: str, state: dict, stream: Iterator[bytes]) -> Staged: ...
    def place(self, upload_id: str, state: dict, offset: int, staged: Staged) -> None: ...
    def write(self, upload_id: str, state: dict, offset: int, stream: Iterator[bytes]) -> tuple[int, str]: ...
    def concat(self, upload_id: str, state: dict, parts: list[tuple[str, dict, int]]) -> None: ...
    def open(self, upload_id: str, state: dict) -> IO[bytes]: ...
    def discard(self, upload_id: str, state: dict) -> None: ...
    def exists(self, upload_id: str, state: dict) -> bool: ...


class Staged:
    """One piece on its side file: its size and SHA-256 are known, it is not in place yet.

    interrupted is the error that cut the body short (the client went away), if any: the bytes
    that did arrive are staged, and the service decides whether they may be kept.
    """

    def __init__(self, file: IO[bytes], size: int, sha256: str, interrupted: BaseException | None = None) -> None:
        self.file = file
        self.size = size
        self.sha256 = sha256
        self.interrupted = interrupted

    def discard(self) -> None:
        self.file.close()

    def __enter__(self) -> Staged:
        return self

    def __exit__(self, *exc: object) -> None:
        self.discard()


def _stage_into(file: IO[bytes], stream: Iterator[bytes]) -> Staged:
    """Copy stream into file while hashing it; a client going away ends it, a full disk raises."""
    digest = hashlib.sha256()
    written = 0
    interrupted: BaseException | None = None
    pieces = iter(stream)
    try:
        while True:
            try:
                piece = next(pieces)
            except StopIteration:
                break
            except (OSError, ConnectionError) as exc:  # reading the body failed: keep what arrived
                interrupted = exc
                break
            _write_all(file, piece)
            digest.update(piece)
            written += len(piece)
        file.flush()
    except BaseException:
        file.close()
        raise
    return Staged(file, written, digest.hexdigest(), interrupted)


def _write_all(file: IO[bytes], data: bytes) -> None:
    """Write data at the file's position with os.write (one place where a full disk shows up)."""
    if not hasattr(file, "fileno") or isinstance(file, tempfile.SpooledTemporaryFile):
        file.write(data)
        return
    file.flush()
    fd = file.fileno()
    view = memoryview(data)
    while view:
        view = view[os.write(fd, view) :]


def _copy_range(src: int, dst: int, dst_offset: int, count: int) -> None:
    """Copy count bytes from the start of src to dst_offset in dst, in the kernel where it can."""
    done = 0
    use_kernel = hasattr(os, "copy_file_range")
    while done < count:
        if use_kernel:
            try:
                copied = os.copy_file_range(src, dst, count - done, done, dst_offset + done)
            except OSError as exc:
                if exc.errno not in (errno.EXDEV, errno.ENOSYS, errno.EOPNOTSUPP, errno.EINVAL, errno.EBADF):
                    raise
                use_kernel = False
                continue
            if copied == 0:
                raise OSError(errno.EIO, f"the side file ended after {done} of {count} bytes")
        else:
            data = os.pread(src, min(READ_SIZE, count - done), done)
            if not data:
                raise OSError(errno.EIO, f"the side file ended after {done} of {count} bytes")
            copied = os.pwrite(dst, data, dst_offset + done)
        done += copied


class _StageThenPlace:
    """write() as both stores do it: stage the piece, then place it (see ChunkStore)."""

    def write(self, upload_id: str, state: dict, offset: int, stream: Iterator[bytes]) -> tuple[int, str]:
        """Stage and place the stream as the piece at offset; return (bytes written, their SHA-256)."""
        if offset < 0:
            raise ValueError("offset must not be negative")
        with self.stage(upload_id, state, stream) as staged:  # type: ignore[attr-defined]
            self.place(upload_id, state, offset, staged)  # type: ignore[attr-defined]
            if staged.interrupted is not None:
                raise staged.interrupted
            return staged.size, staged.sha256


class LocalChunkStore(_StageThenPlace):
    """One sparse file per upload under UPLOAD_TEMP_DIR, written with pwrite at each offset."""

    def __init__(self, root: str | os.PathLike | None = None) -> None:
        self.root = Path(root or settings.UPLOAD_TEMP_DIR)

    def _path(self, upload_id: str) -> Path:
        return self.root / f"{upload_id}.part"

    def begin(self, upload_id: str, size: int) -> dict:
        self.root.mkdir(parents=True, exist_ok=True)
        with open(self._path(upload_id), "wb") as fh:
            fh.truncate(size)  # sparse: no disk used until bytes arrive
        return {}

    def stage(self, upload_id: str, state: dict, stream: Iterator[bytes]) -> Staged:
        """The stream on an unnamed side file beside the upload (gone by itself if the process dies)."""
        self.root.mkdir(parents=True, exist_ok=True)
        return _stage_into(tempfile.TemporaryFile(dir=self.root), stream)

    def place(self, upload_id: str, state: dict, offset: int, staged: Staged) -> None:
        """Copy verified staged bytes to offset in the upload's file (under the upload's lock)."""
        if offset < 0:
            raise ValueError("offset must not be negative")
        fd = os.open(self._path(upload_id), os.O_WRONLY)
        try:
            _copy_range(staged.file.fileno(), fd, offset, staged.size)
        finally:
            os.close(fd)

    def concat(self, upload_id: str, state: dict, parts: list[tuple[str, dict, int]]) -> None:
        """Fill this upload's file with the bytes of parts ((upload id, state, size) in order)."""
        fd = os.open(self._path(upload_id), os.O_WRONLY)
        try:
            position = 0
            for part_id, _part_state, size in parts:
                src = os.open(self._path(part_id), os.O_RDONLY)
                try:
                    _copy_range(src, fd, position, size)
                finally:
                    os.close(src)
                position += size
        finally:
            os.close(fd)

    def open(self, upload_id: str, state: dict) -> IO[bytes]:
        """The assembled file; local media storage renames it into place instead of copying it."""
        return AssembledFile(self._path(upload_id))

    def discard(self, upload_id: str, state: dict) -> None:
        with contextlib.suppress(FileNotFoundError):
            self._path(upload_id).unlink()

    def exists(self, upload_id: str, state: dict) -> bool:
        return self._path(upload_id).exists()


SPOOL_MEMORY = 8 * 1024**2  # a piece larger than this is spooled to a temporary file, not kept in memory
S3_READ_BUFFER = 256 * 1024


class MissingBytes(ContentMismatch):
    """The stored pieces do not cover the whole file (a gap, or fewer bytes than the upload's size)."""

    code = "incomplete"


@functools.lru_cache(maxsize=8)
def _s3_client(endpoint_url: str, access_key: str, secret_key: str, region: str) -> Any:
    return s3.client(
        endpoint_url=endpoint_url,
        access_key=access_key,
        secret_key=secret_key,
        region=region,
        retries={"mode": "standard", "max_attempts": 5},
    )


class S3ChunkStore(_StageThenPlace):
    """One S3 object per received piece, under uploads/<upload-id>/<offset:020d>.

    Each piece (a chunk of the chunk protocol, or the body of one tus PATCH) is staged in a
    local spool (in memory up to SPOOL_MEMORY, then in a temporary file) while its SHA-256 is
    computed; the service checks it and, under the upload's lock, place() stores it with one
    put_object, which carries that SHA-256 so S3 checks what it received. So a piece is whole,
    hashed and verified before it becomes visible, and a piece that loses a race never reaches
    the bucket. tus PATCHes of any size work: S3 multipart parts must be at
    least 5 MB (all but the last), which arbitrary tus bodies do not guarantee, so multipart
    uploads are not used for pieces in flight.

    A piece written again at the same offset (write(), used outside the services) replaces the
    object with the same key. When the client goes away mid-body (an OSError from the stream),
    the bytes that did arrive are staged (Staged.interrupted says so): the tus service places
    and counts them and resumes after them.

    open() lists the pieces (sorted by offset) and returns a read-only, seekable file that
    streams them in order with ranged GETs, holding at most one small buffer in memory. Bytes
    already covered by an earlier piece are skipped; a gap, or fewer bytes than the size given
    to begin(), raises MissingBytes instead of handing over a damaged file.

    discard() deletes every object under the upload's prefix; exists() is true while any is
    there. The client is built from settings S3_ENDPOINT_URL, S3_ACCESS_KEY_ID,
    S3_SECRET_ACCESS_KEY and S3_REGION, and the bucket is S3_BUCKET, all read when the store
    is made (get_chunk_store makes one per call), never at import time.
    """

    prefix = "uploads/"
    page_size = 1000  # keys per listing page and per delete_objects call (S3's maximum)

    def __init__(self, client: Any = None, bucket: str | None = None) -> None:
        self.client = client or _s3_client(
            getattr(settings, "S3_ENDPOINT_URL", "") or "",
            getattr(settings, "S3_ACCESS_KEY_ID", "") or "",
            getattr(settings, "S3_SECRET_ACCESS_KEY", "") or "",
            getattr(settings, "S3_REGION", "") or "",
        )
        self.bucket = bucket or settings.S3_BUCKET

    def _prefix(self, upload_id: str) -> str:
        if not upload_id or "/" in upload_id:
            raise ValueError(f"not an upload id: {upload_id!r}")
        return f"{self.prefix}{upload_id}/"

    def _key(self, upload_id: str, offset: int) -> str:
        return f"{self._prefix(upload_id)}{offset:020d}"

    def begin(self, upload_id: str, size: int) -> dict:
        return {"size": size}

    def stage(self, upload_id: str, state: dict, stream: Iterator[bytes]) -> Staged:
        """The stream in a local spool (memory, then a temporary file): the side file of a piece."""
        self._prefix(upload_id)
        return _stage_into(tempfile.SpooledTemporaryFile(max_size=SPOOL_MEMORY), stream)

    def place(self, upload_id: str, state: dict, offset: int, staged: Staged) -> None:
        """Store verified staged bytes as the piece at offset (under the upload's lock)."""
        if offset < 0:
            raise ValueError("offset must not be negative")
        if staged.size:
            self._put(upload_id, offset, staged.file, staged.size, bytes.fromhex(staged.sha256))

    def concat(self, upload_id: str, state: dict, parts: list[tuple[str, dict, int]]) -> None:
        """Copy the pieces of parts ((upload id, state, size) in order) under this upload, server side."""
        base = 0
        for part_id, _part_state, size in parts:
            for offset, key, _piece_size in self._pieces(part_id):
                if offset >= size:
                    continue
                self.client.copy_object(
                    Bucket=self.bucket,
                    Key=self._key(upload_id, base + offset),
                    CopySource={"Bucket": self.bucket, "Key": key},
                )
            base += size

    def _put(self, upload_id: str, offset: int, spool: IO[bytes], size: int, digest: bytes) -> None:
        spool.seek(0)
        self.client.put_object(
            Bucket=self.bucket,
            Key=self._key(upload_id, offset),
            Body=spool,
            ContentLength=size,
            ContentType="application/octet-stream",
            ChecksumSHA256=base64.b64encode(digest).decode("ascii"),
        )

    def _pieces(self, upload_id: str) -> list[tuple[int, str, int]]:
        """(offset, key, size) of every stored piece, by offset."""
        prefix = self._prefix(upload_id)
        pieces = []
        for obj in self._objects(prefix):
            name = obj["Key"][len(prefix) :]
            if name.isdigit():
                pieces.append((int(name), obj["Key"], int(obj["Size"])))
        return sorted(pieces)

    def _objects(self, prefix: str) -> Iterator[dict]:
        pages = self.client.get_paginator("list_objects_v2").paginate(
            Bucket=self.bucket, Prefix=prefix, PaginationConfig={"PageSize": self.page_size}
        )
        for page in pages:
            yield from page.get("Contents", [])

    def open(self, upload_id: str, state: dict) -> IO[bytes]:
        total = state.get("size") if isinstance(state, dict) else None
        spans: list[_Span] = []
        position = 0
        for offset, key, size in self._pieces(upload_id):
            end = offset + size if total is None else min(offset + size, total)
            if end <= position:
                continue  # empty, or already covered by an earlier piece
            if offset > position:
                raise MissingBytes(f"Bytes {position} to {offset - 1} of the file are missing; start the upload again.")
            spans.append(_Span(key=key, start=position, end=end, skip=position - offset))
            position = end
        if total is not None and position < total:
            raise MissingBytes(f"Only {position} of {total} bytes of the file are stored; start the upload again.")
        return io.BufferedReader(_PiecesReader(self.client, self.bucket, spans), buffer_size=S3_READ_BUFFER)

    def discard(self, upload_id: str, state: dict) -> None:
        keys = [obj["Key"] for obj in self._objects(self._prefix(upload_id))]
        for start in range(0, len(keys), self.page_size):
            batch = [{"Key": key} for key in keys[start : start + self.page_size]]
            response = self.client.delete_objects(Bucket=self.bucket, Delete={"Objects": batch, "Quiet": True})
            errors = response.get("Errors") or []
            if errors:
                first = errors[0]
                raise OSError(
                    f"could not delete {len(errors)} piece(s) of upload {upload_id}: "
                    f"{first.get('Key')}: {first.get('Code')} {first.get('Message')}"
                )

    def exists(self, upload_id: str, state: dict) -> bool:
        response = self.client.list_objects_v2(Bucket=self.bucket, Prefix=self._prefix(upload_id), MaxKeys=1)
        return bool(response.get("KeyCount") or response.get("Contents"))


@dataclass(frozen=True)
class _Span:
    """Bytes [start, end) of the file, read from key beginning skip bytes into the object."""

    key: str
    start: int
    end: int
    skip: int


class _PiecesReader(io.RawIOBase):
    """The pieces of one upload as one read-only, seekable stream (wrap it in a BufferedReader).

    Reads stream one ranged GET at a time; a seek drops the current response and the next
    read starts a new GET where it landed, so memory stays bounded whatever the file size.
    """

    def __init__(self, client: Any, bucket: str, spans: list[_Span]) -> None:
        super().__init__()
        self._client = client
        self._bucket = bucket
        self._spans = spans
        self._starts = [span.start for span in spans]
        self._size = spans[-1].end if spans else 0
        self._pos = 0
        self._body: Any = None
        self._body_end = 0

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return True

    def tell(self) -> int:
        self._checkClosed()
        return self._pos

    def seek(self, pos: int, whence: int = os.SEEK_SET) -> int:
        self._checkClosed()
        if whence == os.SEEK_SET:
            target = pos
        elif whence == os.SEEK_CUR:
            target = self._pos + pos
        elif whence == os.SEEK_END:
            target = self._size + pos
        else:
            raise ValueError(f"invalid whence ({whence}, should be 0, 1 or 2)")
        if target < 0:
            raise ValueError(f"negative seek position {target}")
        if target != self._pos:
            self._drop_body()
            self._pos = target
        return self._pos

    def readinto(self, buffer: Any) -> int:
        self._checkClosed()
        view = memoryview(buffer).cast("B")
        if not len(view) or self._pos >= self._size:
            return 0
        if self._body is None:
            self._open_body()
        data = self._body.read(min(len(view), self._body_end - self._pos))
        if not data:
            raise OSError(f"a piece of the upload ended early at byte {self._pos}; was it changed meanwhile?")
        view[: len(data)] = data
        self._pos += len(data)
        if self._pos >= self._body_end:
            self._drop_body()
        return len(data)

    def _open_body(self) -> None:
        span = self._spans[bisect.bisect_right(self._starts, self._pos) - 1]
        first = span.skip + self._pos - span.start
        last = span.skip + span.end - span.start - 1
        response = self._client.get_object(Bucket=self._bucket, Key=span.key, Range=f"bytes={first}-{last}")
        self._body = response["Body"]
        self._body_end = span.end

    def _drop_body(self) -> None:
        body, self._body = self._body, None
        if body is not None:
            with contextlib.suppress(Exception):
                body.close()

    def close(self) -> None:
        self._drop_body()
        super().close()


class AssembledFile(io.FileIO):
    """The assembled upload, read-only; local storage may move it into place instead of copying it."""

    def __init__(self, path: Path) -> None:
        super().__init__(path, "rb")
        self._path = path

    def temporary_file_path(self) -> str:
        return str(self._path)


def get_chunk_store() -> ChunkStore:
    return import_string(settings.UPLOAD_CHUNK_STORE)()
