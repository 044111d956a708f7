"""Storage keys and the local storage backend.

Keys are generated here from content hashes; a client's file name never becomes a path.
"""

from __future__ import annotations

import contextlib
import errno
import os
import tempfile

from django.conf import settings
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
    An assembled upload on the same disk is renamed into place directly (no second copy).
    """

    def get_available_name(self, name: str, max_length: int | None = None) -> str:
        return name

    def _save(self, name: str, content) -> str:
        full_path = self.path(name)
        directory = os.path.dirname(full_path)
        os.makedirs(directory, exist_ok=True)
        if self.directory_permissions_mode is not None:
            os.chmod(directory, self.directory_permissions_mode)
        if not self._move_into_place(content, full_path):
            self._copy_into_place(content, directory, full_path)
        return str(name).replace("\\", "/")

    def _copy_into_place(self, content, directory: str, full_path: str) -> None:
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

    def _move_into_place(self, content, full_path: str) -> bool:
        """Rename an assembled upload from UPLOAD_TEMP_DIR into place; False when it must be copied."""
        source = getattr(content, "file", content)
        temporary_path = getattr(source, "temporary_file_path", None)
        if not callable(temporary_path):
            return False
        path = str(temporary_path())
        if not path.startswith(str(settings.UPLOAD_TEMP_DIR)):
            return False
        try:
            with open(path, "rb+") as handle:
                os.fsync(handle.fileno())  # a full disk can surface here: let it propagate
            os.chmod(path, self.file_permissions_mode or 0o644)
            os.replace(path, full_path)
        except OSError as exc:
            if exc.errno in (errno.EXDEV, errno.ENOENT):
                return False  # another disk, or renamed away meanwhile: copy from the open file instead
            raise
        return True
