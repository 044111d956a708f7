"""What every bench needs, written once: a throwaway project, a free port, a web server, peak RSS, a fake JPEG.

Not a bench itself (`make bench` skips files starting with "_"). A bench imports it first:

    from _harness import Project, start_gunicorn, ...

which also puts the project root on sys.path.
"""

from __future__ import annotations

import contextlib
import io
import json
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

MiB = 1 << 20
HOST = "127.0.0.1"
# Linux carries the exec-ing process's peak RSS into the new program's ru_maxrss (and through
# `sh -c 'exec …'`): a tiny launcher interpreter starts a measured child, which inherits only its peak.
LAUNCHER = "import subprocess, sys; sys.exit(subprocess.run(sys.argv[1:]).returncode)"


# --- A throwaway project ---------------------------------------------------------------------


@dataclass
class Project:
    """A temporary directory with its own SQLite database, MEDIA_ROOT, UPLOAD_TEMP_DIR and STATIC_ROOT.

    `env` is what child processes (gunicorn, qcluster) get; it is also applied to this process.
    Local services only: no S3, no Redis, not the test settings.
    """

    workdir: Path
    env: dict[str, str]

    @classmethod
    def create(
        cls, prefix: str, *, production: bool = False, settings: str = "config.settings", **extra: str
    ) -> Project:
        """production: DEBUG off with a random secret key, as a deployment runs (then STATIC_ROOT exists)."""
        workdir = Path(tempfile.mkdtemp(prefix=f"cs-{prefix}-"))
        env = {k: v for k, v in os.environ.items() if not k.startswith("S3_")}
        for name in ("REDIS_URL", "DJANGO_TESTING", "DJANGO_BEHIND_PROXY"):
            env.pop(name, None)
        env.update(
            {
                "DATABASE_URL": f"sqlite:///{workdir / 'db.sqlite3'}",
                "MEDIA_ROOT": str(workdir / "media"),
                "UPLOAD_TEMP_DIR": str(workdir / "uploads"),
                "STATIC_ROOT": str(workdir / "static"),
                "DJANGO_SETTINGS_MODULE": settings,
                "DJANGO_DEBUG": "0" if production else "1",
                "LOG_LEVEL": "WARNING",
                "PYTHONPATH": os.pathsep.join(p for p in (str(ROOT), os.environ.get("PYTHONPATH", "")) if p),
            }
        )
        if production:
            env.update(
                {
                    "DJANGO_SECRET_KEY": secrets.token_urlsafe(64),
                    "DJANGO_ALLOWED_HOSTS": HOST,
                    "DJANGO_SECURE_SSL_REDIRECT": "0",
                }
            )
            (workdir / "static").mkdir()
        env.update(extra)
        for name in [n for n in os.environ if n not in env]:
            os.environ.pop(name, None)
        os.environ.update(env)
        return cls(workdir, env)

    def migrate(self, *, collectstatic: bool = False) -> None:
        """Set Django up in this process and build the database (migrate also applies the schedules)."""
        import django

        django.setup()
        from django.core.management import call_command

        call_command("migrate", verbosity=0)
        if collectstatic:
            call_command("collectstatic", interactive=False, verbosity=0)  # DEBUG off needs the manifest

    def remove(self) -> None:
        shutil.rmtree(self.workdir, ignore_errors=True)


# --- Servers -----------------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((HOST, 0))
        return sock.getsockname()[1]


@dataclass
class Server:
    """A child process (gunicorn, qcluster) with its log file."""

    process: subprocess.Popen
    log_path: Path
    base: str = ""
    log_file: Any = None

    def log_tail(self, lines: int = 60) -> str:
        try:
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return ""

    def log_problems(self) -> list[str]:
        """Lines of the log that speak of trouble (tracebacks, errors, timeouts)."""
        words = ("Traceback", " ERROR ", "CRITICAL", "WORKER TIMEOUT", "Internal Server Error", "SIGKILL")
        return [line for line in self.log_tail(10**9).splitlines() if any(word in line for word in words)]

    def worker_pids(self) -> list[int]:
        """The direct children (gunicorn's workers)."""
        pids: list[int] = []
        for task in Path(f"/proc/{self.process.pid}/task").glob("*"):
            with contextlib.suppress(OSError):
                pids.extend(int(p) for p in (task / "children").read_text().split())
        return pids

    def stop(self, *, timeout: float = 20) -> None:
        """SIGTERM (to the whole process group when it has one of its own), SIGKILL after `timeout`."""
        try:
            if self.process.poll() is None:
                self._signal(signal.SIGTERM)
                self.process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.kill()
        finally:
            if self.log_file is not None:
                self.log_file.close()
                self.log_file = None

    def kill(self) -> None:
        """SIGKILL, to the whole process group when it has one of its own."""
        if self.process.poll() is None:
            self._signal(signal.SIGKILL)
            self.process.wait(timeout=10)

    def _signal(self, signum: int) -> None:
        own_group = os.getpgid(self.process.pid) == self.process.pid
        if own_group:
            os.killpg(self.process.pid, signum)
        else:
            self.process.send_signal(signum)


def start(command: list[str], env: dict[str, str], log_path: Path, *, own_group: bool = False) -> Server:
    """Start a child in the project root, its output appended to log_path."""
    log = open(log_path, "ab")  # noqa: SIM115 - handed to the child, closed by Server.stop
    process = subprocess.Popen(
        command, cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=own_group
    )
    return Server(process=process, log_path=log_path, log_file=log)


def start_gunicorn(
    project: Project,
    *,
    workers: int = 2,
    threads: int = 1,
    timeout: int = 30,
    ready_path: str = "/api/v1/health",
    wait_s: float = 60,
) -> Server:
    """gunicorn on a free port of 127.0.0.1, returned once ready_path answers 200 and every worker is up."""
    import http.client

    port = free_port()
    command = [sys.executable, "-m", "gunicorn", "config.wsgi:application", "--bind", f"{HOST}:{port}"]
    command += ["--workers", str(workers), "--threads", str(threads), "--timeout", str(timeout), "--chdir", str(ROOT)]
    server = start(command, project.env, project.workdir / "gunicorn.log")
    server.base = f"http://{HOST}:{port}"
    deadline = time.monotonic() + wait_s
    while True:
        if server.process.poll() is not None:
            raise RuntimeError(f"gunicorn exited with {server.process.returncode}:\n{server.log_tail()}")
        try:
            conn = http.client.HTTPConnection(HOST, port, timeout=5)
            conn.request("GET", ready_path)
            status = conn.getresponse().status
            conn.close()
            if status == 200 and len(server.worker_pids()) >= workers:
                return server
        except OSError:
            pass
        if time.monotonic() > deadline:
            server.stop()
            raise RuntimeError(f"gunicorn did not answer {ready_path} in {wait_s:.0f} s:\n{server.log_tail()}")
        time.sleep(0.2)


def start_qcluster(project: Project, log_path: Path | None = None) -> Server:
    """`manage.py qcluster` in its own process group (so it can be stopped or killed as a whole)."""
    command = [sys.executable, "manage.py", "qcluster"]
    return start(command, project.env, log_path or project.workdir / "qcluster.log", own_group=True)


# --- Memory and load -------------------------------------------------------------------------------


def status_kb(field_name: str, pid: int | str = "self") -> int:
    """A line of /proc/<pid>/status in kB (VmRSS, VmHWM, …); 0 when the process is gone."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith(field_name + ":"):
                return int(line.split()[1])
    except OSError:
        pass
    return 0


def rss_bytes(pid: int) -> int:
    return status_kb("VmRSS", pid) * 1024


def peak_rss_of_child(script: Path, *args: str, timeout: float = 600) -> dict[str, Any]:
    """Run `python script *args` in a fresh interpreter through the launcher; the JSON it printed last.

    The child measures itself (resource.getrusage ru_maxrss before and after its work, VmHWM: see
    report_peak) and prints one JSON line; it starts with only the tiny launcher's peak RSS.
    """
    child = [sys.executable, str(script), *args]
    proc = subprocess.Popen(
        [sys.executable, "-c", LAUNCHER, *child],
        cwd=ROOT,
        env=dict(os.environ),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
    )
    try:
        out, err = proc.communicate(timeout=timeout)
    except BaseException:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()
        raise
    if proc.returncode != 0:
        raise RuntimeError(f"memory child failed:\n{err}")
    return json.loads(out.strip().splitlines()[-1])


def report_peak(work: Callable[[], dict[str, Any]]) -> None:
    """In the measured child: ru_maxrss before and after work(), VmHWM, and what work returned, as one JSON line."""
    import resource

    before, before_rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss, status_kb("VmRSS")
    result = work()
    after = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    report = {"before_kb": before, "before_rss_kb": before_rss, "after_kb": after, "vmhwm_kb": status_kb("VmHWM")}
    print(json.dumps({**report, **result}))


def loadavg() -> str:
    try:
        return " ".join(Path("/proc/loadavg").read_text().split()[:3])
    except OSError:
        return "unknown"


def verdict(ok: object) -> str:
    return "PASS" if ok else "MISS"


# --- Fake photos ----------------------------------------------------------------------------------


def fake_jpeg(width: int = 6000, height: int = 4000, *, seed: int = 7, quality: int = 90) -> bytes:
    """A photographic-looking JPEG: gradients and sensor-like noise (24 MP by default)."""
    import numpy as np
    from PIL import Image

    rng = np.random.default_rng(seed)
    y, x = np.mgrid[0:height, 0:width].astype(np.float32)
    r = 120 + 80 * np.sin(x / 700) * np.cos(y / 900)
    g = 110 + 70 * np.cos(x / 500 + y / 1300)
    b = 140 + 60 * np.sin((x + y) / 1100)
    img = np.stack([r, g, b], axis=-1) + rng.normal(0, 9, (height, width, 3)).astype(np.float32)
    pil = Image.fromarray(np.clip(img, 0, 255).astype(np.uint8), "RGB")
    buf = io.BytesIO()
    pil.save(buf, "JPEG", quality=quality)
    return buf.getvalue()


def unique_copy(base: bytes, n: int) -> bytes:
    """The same picture with its own bytes (so its own SHA-256): a JPEG comment after the start marker."""
    comment = f"bench {n}".encode()
    return base[:2] + b"\xff\xfe" + (len(comment) + 2).to_bytes(2, "big") + comment + base[2:]


def write_png(path: Path, width: int, height: int, *, sixteen_bit_grey: bool = False) -> None:
    """A real PNG written row by row (this process never holds the picture): a diagonal pattern.

    Shared by bench/variants.py --large and galleries/tests/test_processing_memory.py.
    """
    import struct
    import zlib

    import numpy as np

    def chunk(kind: bytes, body: bytes) -> bytes:
        return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))

    depth, colour, channels = (16, 0, 2) if sixteen_bit_grey else (8, 2, 3)
    x = np.arange(width * channels, dtype=np.uint32)
    compressor = zlib.compressobj(1)
    with path.open("wb") as out:
        out.write(b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, depth, colour, 0, 0, 0)))
        pending = []
        for y in range(height):
            pending.append(compressor.compress(b"\x00" + ((x + y) % 251).astype(np.uint8).tobytes()))
            if len(pending) == 512:
                out.write(chunk(b"IDAT", b"".join(pending)))
                pending = []
        pending.append(compressor.flush())
        out.write(chunk(b"IDAT", b"".join(pending)) + chunk(b"IEND", b""))
