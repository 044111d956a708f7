"""The Procfile's web command, started as it is deployed, keeps answering while slow clients trickle."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
import requests
from django.db import connection

ROOT = Path(__file__).resolve().parents[2]
TRICKLERS = 12  # more than the default 2 workers x 4 threads could ever hold
TRICKLE_SECONDS = 7  # 5 s of health samples after the slow clients are all connected


def procfile_command(name: str) -> str:
    for line in (ROOT / "Procfile").read_text().splitlines():
        if line.startswith(f"{name}:"):
            return line.split(":", 1)[1].strip()
    raise AssertionError(f"no {name} process in the Procfile")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def database_url() -> str:
    s = connection.settings_dict
    if connection.vendor == "sqlite":
        return f"sqlite:///{s['NAME']}"
    return f"postgres://{s['USER']}@{s['HOST'] or '127.0.0.1'}:{s['PORT'] or 5432}/{s['NAME']}"


class Server:
    """The Procfile's web line run through a shell, as honcho runs it, on a free loopback port."""

    def __init__(self, tmp_path: Path, **extra_env: str) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        env = {k: v for k, v in os.environ.items() if not k.startswith(("DJANGO_", "S3_", "DATABASE_URL"))}
        env.update(
            PATH=f"{Path(sys.executable).parent}:{env.get('PATH', '')}",
            BIND=f"127.0.0.1:{self.port}",
            DATABASE_URL=database_url(),
            DJANGO_DEBUG="0",
            DJANGO_SECRET_KEY="procfile-test-" + "k" * 50,
            DJANGO_ALLOWED_HOSTS="127.0.0.1",
            DJANGO_SECURE_SSL_REDIRECT="0",
            MEDIA_ROOT=str(tmp_path / "media"),
            UPLOAD_TEMP_DIR=str(tmp_path / "uploads"),
            MAX_UPLOAD_SIZE="512MB",  # room for the streaming test's upload
            **extra_env,
        )
        self.log = (tmp_path / "web.log").open("w+")
        self.process = subprocess.Popen(
            ["/bin/sh", "-c", procfile_command("web")],
            cwd=ROOT,
            env=env,
            stdout=self.log,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # its own process group, so stop() ends the workers too
        )

    def wait_until_up(self, timeout: float = 30) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                break
            try:
                requests.get(f"{self.url}/api/v1/health", timeout=2)
                return
            except requests.RequestException:
                time.sleep(0.2)
        self.stop()
        self.log.seek(0)
        raise AssertionError(f"the web process did not start:\n{self.log.read()[-3000:]}")

    def stop(self) -> None:
        if self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait(timeout=5)
        self.log.close()


@pytest.fixture
def web(transactional_db, tmp_path):
    server = Server(tmp_path)
    try:
        server.wait_until_up()
        yield server
    finally:
        server.stop()


def trickle(port: int, head: bytes, stop: threading.Event) -> None:
    """Sends a request one byte a second until told to stop (a slowloris client)."""
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=5) as sock:
            for byte in head:
                if stop.is_set():
                    return
                sock.sendall(bytes([byte]))
                stop.wait(1.0)
    except OSError:
        return  # the server hung up on us: that is allowed


def slow_requests(port: int) -> list[bytes]:
    body_head = (
        b"POST /api/v1/auth/login HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
        b"Content-Length: 1000\r\n\r\n"
    )
    header_trickle = b"GET /api/v1/health HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: " + b"a" * 200
    # Half send their headers at once and trickle the body, half trickle the headers themselves.
    return [body_head + b'{"username": "' + b"a" * 900 if i % 2 == 0 else header_trickle for i in range(TRICKLERS)]


def test_health_answers_within_seconds_while_a_dozen_clients_trickle(web):
    stop = threading.Event()
    threads = []
    for head in slow_requests(web.port):
        if head.startswith(b"POST"):
            # The headers arrive whole, so the server hands the request to the application at once.
            split = head.index(b"\r\n\r\n") + 4
            sock = socket.create_connection(("127.0.0.1", web.port), timeout=5)
            sock.sendall(head[:split])
            thread = threading.Thread(target=_trickle_open, args=(sock, head[split:], stop), daemon=True)
        else:
            thread = threading.Thread(target=trickle, args=(web.port, head, stop), daemon=True)
        thread.start()
        threads.append(thread)
    try:
        time.sleep(2)  # every slow client is connected and, on a thread-per-request server, holding one
        latencies = []
        deadline = time.monotonic() + TRICKLE_SECONDS - 2
        while time.monotonic() < deadline:
            started = time.monotonic()
            try:
                answer = requests.get(f"{web.url}/api/v1/health", timeout=5)
                assert answer.status_code in (200, 503)
                assert "database" in answer.json()
                latencies.append(time.monotonic() - started)
            except requests.Timeout:
                latencies.append(float("inf"))
            time.sleep(0.5)
    finally:
        stop.set()
        for thread in threads:
            thread.join(timeout=5)
    print(f"health latencies with {TRICKLERS} slow clients: {[round(x, 3) for x in latencies]}")
    assert latencies
    assert max(latencies) < 3, latencies


def _trickle_open(sock: socket.socket, rest: bytes, stop: threading.Event) -> None:
    try:
        with sock:
            for byte in rest:
                if stop.is_set():
                    return
                sock.sendall(bytes([byte]))
                stop.wait(1.0)
    except OSError:
        return


def _peak_rss_kb(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1])
    return 0


def _server_pids(group: int) -> list[int]:
    """Every process of the web command: the shell, gunicorn's master and its workers."""
    pids = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[2]) == group:  # after the name: state, ppid, pgrp
            pids.append(int(stat.parent.name))
    return pids


def test_a_large_upload_body_streams_through_the_web_process(web, alice):
    import base64

    from knox.models import AuthToken

    from galleries import services

    gallery = services.gallery_create(owner=alice, title="Streaming")
    token = AuthToken.objects.create(alice)[1]
    headers = {"Authorization": f"Token {token}", "Tus-Resumable": "1.0.0"}
    # Large next to what a worker's first requests cost it (imports, ~30 MB), so the two cannot be confused.
    size, sent = 160 * 1024**2, 128 * 1024**2
    meta = ",".join(
        f"{k} {base64.b64encode(v.encode()).decode()}"
        for k, v in {"gallery": str(gallery.pk), "filename": "big.jpg"}.items()
    )
    created = requests.post(
        f"{web.url}/api/v1/tus/", headers={**headers, "Upload-Length": str(size), "Upload-Metadata": meta}, timeout=10
    )
    assert created.status_code == 201, created.text
    workers = _server_pids(web.process.pid)
    before = {pid: _peak_rss_kb(pid) for pid in workers}

    class Body:
        """A body of known length, read in 1 MB blocks: requests streams it with a Content-Length."""

        def __init__(self) -> None:
            self.left = sent

        def __len__(self) -> int:
            return self.left

        def read(self, size: int = -1) -> bytes:
            n = min(self.left, 1024**2 if size is None or size < 0 else size)
            self.left -= n
            return b"\xff" * n

    patched = requests.patch(
        f"{web.url}{created.headers['Location']}"
        if created.headers["Location"].startswith("/")
        else created.headers["Location"],
        headers={
            **headers,
            "Upload-Offset": "0",
            "Content-Type": "application/offset+octet-stream",
        },
        data=Body(),
        timeout=60,
    )
    assert patched.status_code == 204, patched.text
    assert patched.headers["Upload-Offset"] == str(sent)
    growth_mb = max(_peak_rss_kb(pid) - before[pid] for pid in workers) / 1024
    print(f"peak RSS growth of a web worker while receiving {sent // 1024**2} MB: {growth_mb:.1f} MB")
    assert growth_mb < 48, "the body was held in memory instead of streamed"


@pytest.fixture
def web_with_pages(transactional_db, tmp_path):
    """The same server with its static files collected, so pages render as in production."""
    static_root = tmp_path / "static"
    env = {**os.environ, "STATIC_ROOT": str(static_root), "DJANGO_DEBUG": "0",
           "DJANGO_SECRET_KEY": "procfile-test-" + "k" * 50}  # fmt: skip
    subprocess.run(
        [sys.executable, "manage.py", "collectstatic", "--noinput", "-v", "0"],
        cwd=ROOT,
        env=env,
        check=True,
        timeout=120,
    )
    server = Server(tmp_path, STATIC_ROOT=str(static_root))
    try:
        server.wait_until_up()
        yield server
    finally:
        server.stop()


def test_parallel_uploads_and_page_views_all_succeed_on_the_default_server(web_with_pages, alice):
    """Two clients at once, and more: six tus uploads in small PATCHes and page views in parallel,
    on the Procfile's gevent workers (SQLite by default, where one worker's greenlets share the
    write lock). Every upload becomes a photo and no request fails."""
    web = web_with_pages
    from concurrent.futures import ThreadPoolExecutor

    from knox.models import AuthToken
    from tusclient import client as tus

    from conftest import make_image
    from galleries import services
    from galleries.models import Photo

    gallery = services.gallery_create(owner=alice, title="Busy", visibility="public")
    token = AuthToken.objects.create(alice)[1]
    images = [make_image("JPEG", size=(900, 700), colour=(i * 40, 90, 30), noise=True) for i in range(6)]

    def upload(i: int) -> str:
        uploader = tus.TusClient(f"{web.url}/api/v1/tus/", headers={"Authorization": f"Token {token}"}).uploader(
            file_stream=__import__("io").BytesIO(images[i]),
            chunk_size=64 * 1024,
            metadata={"gallery": str(gallery.pk), "filename": f"busy-{i}.jpg"},
        )
        uploader.upload()
        return uploader.url

    def browse(_: int) -> list[int]:
        return [requests.get(f"{web.url}/g/{gallery.slug}/", timeout=30).status_code for _ in range(5)]

    with ThreadPoolExecutor(max_workers=10) as pool:
        uploads = [pool.submit(upload, i) for i in range(6)]
        views = [pool.submit(browse, i) for i in range(4)]
        urls = [f.result(timeout=120) for f in uploads]
        statuses = [s for f in views for s in f.result(timeout=120)]
    assert len(set(urls)) == 6
    web.log.seek(0)
    assert set(statuses) == {200}, (statuses, web.log.read()[-3000:])
    assert Photo.objects.filter(gallery=gallery).count() == 6
