"""A throwaway redis-server for tests (issue 9: throttle counters shared by every process).

Fixtures: `redis_server` (session; its URL) and `redis_throttle` (config.throttle on an empty Redis).
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.plugins.processes import free_ports, log_tail


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
    (port,) = free_ports(1)
    command = [binary, "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"]
    command += ["--dir", str(root), "--logfile", str(root / "redis.log")]
    setpriv = shutil.which("setpriv") if sys.platform.startswith("linux") else None
    if setpriv:
        command = [setpriv, "--pdeathsig", "KILL", *command]
    process = subprocess.Popen(command, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, cwd=root)
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
                pytest.fail(f"redis-server did not start:\n{log_tail(root / 'redis.log')}")
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
