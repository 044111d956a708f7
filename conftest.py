"""Shared fixtures: personas, a temporary MEDIA_ROOT, synchronous tasks, real images."""

from __future__ import annotations

import io
import struct
import zlib
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from django.core.cache import cache
from PIL import Image
from rest_framework.test import APIClient

# Servers the tests start (issue 10: out of this file): SeaweedFS for S3, Redis, web server processes;
# and `storage`, which runs one test on local files and on S3; issue 11: `smtp_server`, a real SMTP server.
pytest_plugins = [
    "tests.plugins.processes",
    "tests.plugins.seaweedfs",
    "tests.plugins.redis",
    "tests.plugins.storage",
    "tests.plugins.smtp",
    "tests.plugins.clock",
]


@pytest.fixture(autouse=True)
def _fast_and_isolated(settings, tmp_path: Path) -> Iterator[None]:
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    # The encoders' fastest settings: tests check which files are made and what they carry, not how
    # well they compress (bench/variants.py measures that at the real settings). AVIF at speed 10
    # takes about a third of the CPU of speed 8 on test-sized images.
    settings.AVIF_SPEED = 10
    settings.WEBP_METHOD = 0
    settings.MEDIA_ROOT = tmp_path / "media"
    settings.STORAGES = {
        **settings.STORAGES,
        "default": {"BACKEND": "galleries.storage.LocalMediaStorage", "OPTIONS": {"location": tmp_path / "media"}},
        "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
    }
    settings.USE_S3 = False
    settings.UPLOAD_TEMP_DIR = tmp_path / "uploads"
    settings.UPLOAD_CHUNK_STORE = "uploads.chunkstore.LocalChunkStore"
    cache.clear()
    yield
    cache.clear()


@pytest.fixture(autouse=True)
def _sync_tasks(monkeypatch) -> None:
    """Run django-q2 tasks in-process (Conf.SYNC is read once at import, so patch it)."""
    from django_q.conf import Conf

    monkeypatch.setattr(Conf, "SYNC", True)


@pytest.fixture
def make_gallery(db) -> Callable:
    """make_gallery(owner, title="Wedding", visibility="public", **fields): through the service, as every door."""
    from galleries import services

    def make(owner, title: str = "Wedding", visibility: str = "public", **kw):
        return services.gallery_create(owner=owner, title=title, visibility=visibility, **kw)

    return make


@pytest.fixture
def media_root(settings) -> Path:
    return Path(settings.MEDIA_ROOT)


def stored_files(root: Path) -> list[str]:
    """Every file under MEDIA_ROOT, relative, sorted (temporary files included)."""
    if not root.exists():
        return []
    return sorted(str(p.relative_to(root)) for p in root.rglob("*") if p.is_file())


# --- Personas ------------------------------------------------------------------------------


@pytest.fixture
def alice(django_user_model):
    """The photographer who owns the galleries under test."""
    return django_user_model.objects.create_user("alice", "alice@example.com", "alice-pass-123", is_staff=True)


@pytest.fixture
def bob(django_user_model):
    """Another photographer: a stranger to alice's galleries."""
    return django_user_model.objects.create_user("bob", "bob@example.com", "bob-pass-123", is_staff=True)


@pytest.fixture
def admin_user(django_user_model):
    return django_user_model.objects.create_superuser("root", "root@example.com", "root-pass-123")


@pytest.fixture
def client_for(client) -> Callable:
    """A logged-in HTML client for a persona (None: charlie, the anonymous visitor)."""

    def make(user=None):
        from django.test import Client

        c = Client()
        if user is not None:
            c.force_login(user)
        return c

    return make


@pytest.fixture
def api_for() -> Callable:
    """An API client authenticated as a persona (None: anonymous)."""

    def make(user=None) -> APIClient:
        api = APIClient()
        if user is not None:
            api.force_authenticate(user)
        return api

    return make


# --- Real images ---------------------------------------------------------------------------


def make_image(
    fmt: str = "JPEG",
    size: tuple[int, int] = (640, 480),
    mode: str = "RGB",
    colour=(200, 120, 40),
    noise: bool = False,
    **save,
) -> bytes:
    """A real picture: stripes over a colour; with noise, incompressible pixels.

    Different colours give different bytes (and so different SHA-256s) in every format.
    """
    img = Image.new(mode, size, colour if mode not in ("L", "I;16", "P") else 128)
    if mode == "RGB":
        for x in range(0, size[0], 16):
            img.paste((x % 255, 80, 160), (x, 0, min(size[0], x + 8), size[1]))
        img.paste(tuple(colour), (0, 0, min(size[0], 24), min(size[1], 24)))
    if noise:
        import os

        img = Image.frombytes("RGB", size, os.urandom(size[0] * size[1] * 3))
    buf = io.BytesIO()
    img.save(buf, fmt, **save)
    return buf.getvalue()


@pytest.fixture
def jpeg_bytes() -> Callable[..., bytes]:
    return lambda **kw: make_image("JPEG", **kw)


def png_with_trailing_html() -> bytes:
    return b"\x89PNG\r\n\x1a\n" + b"<html><script>alert(1)</script></html>"


def _png_chunk(kind: bytes, body: bytes) -> bytes:
    return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))


def png_header_only(width: int, height: int) -> bytes:
    """A tiny PNG that claims huge dimensions: a decompression bomb."""
    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    idat = zlib.compress(b"\x00" * 64, 9)
    return b"\x89PNG\r\n\x1a\n" + _png_chunk(b"IHDR", ihdr) + _png_chunk(b"IDAT", idat) + _png_chunk(b"IEND", b"")
