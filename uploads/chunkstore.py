"""Where the bytes of uploads in flight live until they are complete.

Local: one temporary file per upload, written at offsets (the fastest way on one disk).
S3: one object per received piece under uploads/<upload-id>/, read back in offset order.
The store is chosen by settings; services never see paths.
"""

from __future__ import annotations

import base64
import bisect
import contextlib
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

from galleries.errors import ContentMismatch

READ_SIZE = 1 << 20


class ChunkStore(Protocol):
    def begin(self, upload_id: str, size: int) -> dict: ...
    def write(self, upload_id: str, state: dict, offset: int, stream: Iterator[bytes]) -> tuple[int, str]: ...
    def open(self, upload_id: str, state: dict) -> IO[bytes]: ...
    def discard(self, upload_id: str, state: dict) -> None: ...
    def exists(self, upload_id: str, state: dict) -> bool: ...


class LocalChunkStore:
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

    def write(self, upload_id: str, state: dict, offset: int, stream: Iterator[bytes]) -> tuple[int, str]:
        """Write the stream at offset; return (bytes written, their SHA-256)."""
        digest = hashlib.sha256()
        written = 0
        fd = os.open(self._path(upload_id), os.O_WRONLY)
        try:
            for piece in stream:
                os.pwrite(fd, piece, offset + written)
                digest.update(piece)
                written += len(piece)
        finally:
            os.close(fd)
        return written, digest.hexdigest()

    def open(self, upload_id: str, state: dict) -> IO[bytes]:
        return open(self._path(upload_id), "rb")

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
    import boto3
    from botocore.config import Config

    return boto3.session.Session().client(
        "s3",
        endpoint_url=endpoint_url or None,
        aws_access_key_id=access_key or None,
        aws_secret_access_key=secret_key or None,
        region_name=region or None,
        config=Config(
            signature_version="s3v4",
            s3={"addressing_style": "path"},
            retries={"mode": "standard", "max_attempts": 5},
        ),
    )


class S3ChunkStore:
    """One S3 object per received piece, under uploads/<upload-id>/<offset:020d>.

    Each piece (a chunk of the chunk protocol, or the body of one tus PATCH) is spooled
    (in memory up to SPOOL_MEMORY, then in a temporary file) while its SHA-256 is computed, and
    only then stored with one put_object, which carries that SHA-256 so S3 checks what it
    received. So a piece is whole and hashed before it becomes visible (the caller compares the
    hash with the client's), and tus PATCHes of any size work: S3 multipart parts must be at
    least 5 MB (all but the last), which arbitrary tus bodies do not guarantee, so multipart
    uploads are not used for pieces in flight.

    A piece written again at the same offset (a chunk sent twice, a tus PATCH retried)
    replaces the object with the same key. When the client goes away mid-body (an OSError
    from the stream), the bytes that did arrive are stored, as LocalChunkStore has already
    written them: the tus service counts them and resumes after them.

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

    def write(self, upload_id: str, state: dict, offset: int, stream: Iterator[bytes]) -> tuple[int, str]:
        """Store the stream as the piece at offset; return (bytes written, their SHA-256)."""
        if offset < 0:
            raise ValueError("offset must not be negative")
        digest = hashlib.sha256()
        written = 0
        with tempfile.SpooledTemporaryFile(max_size=SPOOL_MEMORY) as spool:
            try:
                for piece in stream:
                    spool.write(piece)
                    digest.update(piece)
                    written += len(piece)
            except OSError:
                if written:
                    self._put(upload_id, offset, spool, written, digest)
                raise
            if written:
                self._put(upload_id, offset, spool, written, digest)
        return written, digest.hexdigest()

    def _put(self, upload_id: str, offset: int, spool: IO[bytes], size: int, digest: Any) -> None:
        spool.seek(0)
        self.client.put_object(
            Bucket=self.bucket,
            Key=self._key(upload_id, offset),
            Body=spool,
            ContentLength=size,
            ContentType="application/octet-stream",
            ChecksumSHA256=base64.b64encode(digest.digest()).decode("ascii"),
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
