"""Where the bytes of uploads in flight live until they are complete.

Local: one temporary file per upload, written at offsets (the fastest way on one disk).
The store is chosen by settings; services never see paths.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
from collections.abc import Iterator
from pathlib import Path
from typing import IO, Protocol

from django.conf import settings
from django.utils.module_loading import import_string

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


def get_chunk_store() -> ChunkStore:
    return import_string(settings.UPLOAD_CHUNK_STORE)()
