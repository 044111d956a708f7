"""Walking a folder tree and hashing its files: pure, no request, no models.

Names may be in any encoding: paths stay the str the OS gave (undecodable bytes as surrogate
escapes, so they open again), and `printable` is what reports and the database hold.
"""

from __future__ import annotations

import errno
import hashlib
import os
import stat
from collections.abc import Callable
from dataclasses import dataclass
from typing import IO

HASH_CHUNK = 1 << 20
HEAD_BYTES = 2 << 20  # embedded XMP sits in the first segments of a file; look no further
# System files that are never photos: macOS Finder and resource forks (._*, hidden), Windows.
SYSTEM_NAMES = frozenset({"Thumbs.db", "thumbs.db", "ehthumbs.db", "desktop.ini", "Desktop.ini", "Icon\r"})


@dataclass(frozen=True)
class Entry:
    """One regular file found under the root."""

    path: str  # absolute, as the OS gave it: opens again
    relative: str  # printable, "/" between folders: the key in reports and in the database
    folder: str  # printable relative folder, "" for the root
    size: int
    mtime_ns: int


@dataclass(frozen=True)
class Skipped:
    relative: str
    reason: str


def printable(name: str) -> str:
    """A name that can be stored and shown: undecodable bytes as \\xNN (stable from run to run)."""
    return os.fsencode(name).decode("utf-8", "backslashreplace")


def display(name: str) -> str:
    """A file name to show people: undecodable bytes as the replacement character."""
    return os.fsencode(name).decode("utf-8", "replace")


def is_hidden(name: str) -> bool:
    """Dot-files and dot-folders (.DS_Store, ._IMG_1.jpg, .git, .thumbnails) and Windows' system files."""
    return name.startswith(".") or name in SYSTEM_NAMES


def inside(path: str, root: str) -> bool:
    """Whether a resolved path is root or lies under it."""
    return path == root or path.startswith(root.rstrip(os.sep) + os.sep)


def walk(root: str, *, is_sidecar: Callable[[str], bool]) -> tuple[list[Entry], list[Skipped]]:
    """Every regular file under root (already resolved), sorted, and what could not be walked.

    Symlinks are followed only when they resolve inside root (each folder once, so a loop ends);
    hidden and system files and sidecars are left out silently; a folder or file that cannot be
    read, and anything that is not a regular file, is listed as skipped with a reason.
    """
    entries: list[Entry] = []
    skipped: list[Skipped] = []
    visited = {os.path.realpath(root)}

    def visit(directory: str, rel_parts: tuple[str, ...]) -> None:
        try:
            with os.scandir(directory) as it:
                items = sorted(it, key=lambda e: e.name)
        except OSError as exc:
            skipped.append(Skipped("/".join(rel_parts) or ".", f"folder cannot be read: {describe(exc)}"))
            return
        subfolders = []
        for item in items:
            if is_hidden(item.name):
                continue
            parts = (*rel_parts, printable(item.name))
            relative = "/".join(parts)
            try:
                if item.is_symlink():
                    target = os.path.realpath(item.path)
                    if not inside(target, root):
                        skipped.append(Skipped(relative, "a link to outside the imported folder"))
                        continue
                info = os.stat(item.path)  # follows a link that stays inside
            except OSError as exc:
                skipped.append(Skipped(relative, describe(exc)))
                continue
            if stat.S_ISDIR(info.st_mode):
                real = os.path.realpath(item.path)
                if real not in visited:
                    visited.add(real)
                    subfolders.append((item.path, parts))
            elif not stat.S_ISREG(info.st_mode):
                skipped.append(Skipped(relative, "not a regular file"))
            elif not is_sidecar(item.name):
                entries.append(Entry(item.path, relative, "/".join(rel_parts), info.st_size, info.st_mtime_ns))
        for path, parts in subfolders:
            visit(path, parts)

    visit(root, ())
    return entries, skipped


def hash_file(fileobj: IO[bytes]) -> tuple[str, int, bytes]:
    """SHA-256 (hex), byte count and the first HEAD_BYTES of a file, in one read from the start."""
    fileobj.seek(0)
    digest = hashlib.sha256()
    size = 0
    head = bytearray()
    for chunk in iter(lambda: fileobj.read(HASH_CHUNK), b""):
        digest.update(chunk)
        if size < HEAD_BYTES:
            head += chunk[: HEAD_BYTES - size]
        size += len(chunk)
    fileobj.seek(0)
    return digest.hexdigest(), size, bytes(head)


def describe(exc: OSError) -> str:
    """An OS error for a person: "permission denied", "vanished (no such file)"."""
    if exc.errno in (errno.EACCES, errno.EPERM):
        return "permission denied"
    if exc.errno == errno.ENOENT:
        return "vanished before it could be read"
    if exc.errno == errno.ENAMETOOLONG:
        return "the name is too long for this system"
    return exc.strerror or str(exc) or type(exc).__name__
