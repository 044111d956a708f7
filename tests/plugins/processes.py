"""Child processes for tests: free ports, log tails, web server processes on the test database."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

PROJECT_ROOT = Path(__file__).resolve().parents[2]


def free_ports(count: int) -> list[int]:
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


def log_tail(path: Path, lines: int = 30) -> str:
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return "(no log)"


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
        for port in free_ports(count):
            env = {**os.environ, "DATABASE_URL": database_url, "DJANGO_DEBUG": "1", "MEDIA_ROOT": str(tmp_path)}
            env.pop("DJANGO_SETTINGS_MODULE", None)
            env.update(env_vars)
            command = [str(gunicorn), "config.wsgi:application", "--bind", f"127.0.0.1:{port}", "--workers", "1"]
            command += ["--threads", "4", "--log-level", "warning"]
            processes.append(subprocess.Popen(command, cwd=PROJECT_ROOT, env=env))
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
