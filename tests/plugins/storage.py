"""One test, both stores: the `storage` fixture runs a test on local files and again on S3 (SeaweedFS).

It yields a StoredFiles: what the project keeps (media keys) and what an upload left behind
(pieces), asked the same way whichever store is in use, so one test body holds for both.
"""

from __future__ import annotations

from pathlib import Path

import pytest


class StoredFiles:
    """The media keys and upload pieces of the store under test (`kind` is "local" or "s3")."""

    def __init__(self, kind: str, settings, bucket=None) -> None:
        self.kind, self._settings, self.bucket = kind, settings, bucket

    def names(self, prefix: str = "") -> list[str]:
        """Every stored media key (originals/, variants/, …) under prefix, sorted; no upload pieces."""
        if self.bucket is not None:
            return [key for key in self.bucket.names(prefix) if not key.startswith("uploads/")]
        root = Path(self._settings.MEDIA_ROOT)
        if not root.exists():
            return []
        keys = (str(p.relative_to(root)) for p in root.rglob("*") if p.is_file())
        return sorted(key for key in keys if key.startswith(prefix))

    def read(self, key: str) -> bytes:
        if self.bucket is not None:
            return self.bucket.read(key)
        return (Path(self._settings.MEDIA_ROOT) / key).read_bytes()

    def pieces(self) -> list[str]:
        """What uploads left in the chunk store: objects under uploads/ on S3, anything in UPLOAD_TEMP_DIR locally."""
        if self.bucket is not None:
            return self.bucket.names("uploads/")
        temp = Path(self._settings.UPLOAD_TEMP_DIR)
        return sorted(str(p.relative_to(temp)) for p in temp.rglob("*")) if temp.exists() else []


@pytest.fixture(params=["local", pytest.param("s3", marks=pytest.mark.s3)])
def storage(request, settings) -> StoredFiles:
    """The test runs twice: on the local media storage, and on S3 with S3ChunkStore (a fresh bucket)."""
    if request.param == "s3":
        return StoredFiles("s3", settings, request.getfixturevalue("s3_storage"))
    return StoredFiles("local", settings)
