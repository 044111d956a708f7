"""Storage keys and the local storage backend.

Keys are generated here from content hashes; a client's file name never becomes a path.
"""

from __future__ import annotations

import contextlib
import os
import tempfile

from django.core.files.storage import FileSystemStorage
from django.utils.deconstruct import deconstructible

WRITE_CHUNK = 1 << 20


def original_key(sha256: str, ext: str) -> str:
    return f"originals/{sha256[:2]}/{sha256[2:4]}/{sha256}.{ext}"


def variant_key(sha256: str, name: str, fmt: str) -> str:
    return f"variants/{sha256[:2]}/{sha256[2:4]}/{sha256}/{name}.{fmt}"


@deconstructible
class LocalMediaStorage(FileSystemStorage):
    """FileSystemStorage whose writes are atomic and whose names are never altered.

    Content-addressed keys mean the same name always holds the same bytes, so an existing file
    is replaced rather than renamed. Bytes go to a temporary file in the target directory and
    are renamed into place, so a killed process never leaves a truncated file under a final key.
    """

    def get_available_name(self, name: str, max_length: int | None = None) -> str:
        return name

    def _save(self, name: str, content) -> str:
        full_path = self.path(name)
        directory = os.path.dirname(full_path)
        os.makedirs(directory, exist_ok=True)
        if self.directory_permissions_mode is not None:
            os.chmod(directory, self.directory_permissions_mode)
        fd, tmp_path = tempfile.mkstemp(dir=directory, prefix=".tmp-", suffix=".part")
        try:
            with os.fdopen(fd, "wb") as out:
                if hasattr(content, "seek"):
                    content.seek(0)
                # 1 MiB pieces: Django's default of 64 KiB means 16 times the system calls.
                pieces = content.chunks(chunk_size=WRITE_CHUNK) if hasattr(content, "chunks") else None
                for chunk in pieces or iter(lambda: content.read(WRITE_CHUNK), b""):
                    out.write(chunk)
                out.flush()
                os.fsync(out.fileno())
            os.chmod(tmp_path, self.file_permissions_mode or 0o644)
            os.replace(tmp_path, full_path)
        except BaseException:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(tmp_path)
            raise
        return str(name).replace("\\", "/")
