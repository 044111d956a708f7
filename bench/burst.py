"""Burst: 100 uploads of 24-megapixel JPEGs over HTTP become `ready` under the real worker.

Runs as a user would, in a throwaway project (temporary SQLite database and MEDIA_ROOT,
production-like settings): the Procfile's web command (gunicorn with its gevent workers) and the
Procfile's worker (`python -m config.worker`, default settings) are started first; then the photos
are uploaded with tus (tuspy), three at a time as the admin's Uppy uploader does, and the gallery's
photo list is polled through the API as a client would. The timer starts at the first upload
request and stops when the poll sees every photo ready. Target: within 60 s on a 2-core machine.

Beside the wall time: the CPU floor, what the machine needs at the very least for the same work:
the worker processes' CPU seconds (from /proc, the whole process tree, during the burst) per
image x images / cores. wall / floor shows what waiting, queueing and the uploads add. On a shared
machine the bench also prints how much of the CPU the worker got and how much other processes used
(from /proc/stat), so a miss caused by neighbours can be told from a slow pipeline.

    .venv/bin/python bench/burst.py          (BURST_COUNT=20 for a shorter run)
"""

from __future__ import annotations

import contextlib
import io
import os
import secrets
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

from _harness import HOST, ROOT, Project, Server, fake_jpeg, free_port, loadavg, start, unique_copy, verdict

COUNT = int(os.environ.get("BURST_COUNT", "100"))
TARGET_S = 60.0
CLIENT_UPLOADS = 3  # files in flight at once, as static/js/admin-uploader.js (Uppy's tus `limit`)
POLL_EVERY_S = 0.25
DEADLINE_S = 900
CLK_TCK = os.sysconf("SC_CLK_TCK")


# --- Processes as the Procfile starts them ---------------------------------------------------


def procfile_command(name: str) -> str:
    for line in (ROOT / "Procfile").read_text().splitlines():
        if line.startswith(f"{name}:"):
            return line.split(":", 1)[1].strip()
    raise RuntimeError(f"no {name} process in the Procfile")


def start_procfile(project: Project, name: str, **extra: str) -> Server:
    """A Procfile line run through a shell (as honcho does), in its own process group, the venv first on PATH."""
    env = {**project.env, "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}", **extra}
    command = ["/bin/sh", "-c", procfile_command(name)]
    return start(command, env, project.workdir / f"{name}.log", own_group=True)


def tree(pid: int) -> list[int]:
    """pid and all its descendants that are alive now."""
    found, todo = [], [pid]
    while todo:
        current = todo.pop()
        found.append(current)
        for task in Path(f"/proc/{current}/task").glob("*"):
            with contextlib.suppress(OSError, ValueError):
                todo.extend(int(p) for p in (task / "children").read_text().split())
    return found


def tree_cpu_seconds(pid: int) -> float:
    """CPU seconds of a process tree: each live process's own time plus that of the children it has reaped.

    A worker django-q2 recycled and reaped counts in its parent's cutime/cstime, so none is lost.
    """
    total = 0
    for member in tree(pid):
        with contextlib.suppress(OSError):
            fields = Path(f"/proc/{member}/stat").read_text().rsplit(")", 1)[1].split()
            total += sum(int(value) for value in fields[11:15])  # utime, stime, cutime, cstime
    return total / CLK_TCK


class WebServer(Server):
    """The Procfile's web line: a shell, gunicorn's master under it, the workers under that."""

    def worker_pids(self) -> list[int]:
        master = Server.worker_pids(self)  # the shell's children
        return [pid for pid in tree(self.process.pid) if pid != self.process.pid and pid not in master]


def machine_busy_seconds() -> float:
    """CPU seconds all processes on the machine have used (every core; idle and iowait left out)."""
    fields = [int(v) for v in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    user, nice, system, _idle, _iowait, irq, softirq, steal = fields[:8]
    return (user + nice + system + irq + softirq + steal) / CLK_TCK


def start_web(project: Project, wait_s: float = 60) -> WebServer:
    """The web line on a free loopback port; returned once it answers and all WEB_WORKERS are up."""
    import requests

    port = free_port()
    shell = start_procfile(project, "web", BIND=f"{HOST}:{port}")
    server = WebServer(process=shell.process, log_path=shell.log_path, log_file=shell.log_file)
    workers = int(project.env.get("WEB_WORKERS", "2"))
    server.base = f"http://{HOST}:{port}"
    deadline = time.monotonic() + wait_s
    while time.monotonic() < deadline and server.process.poll() is None:
        with contextlib.suppress(requests.RequestException):
            up = requests.get(f"{server.base}/api/v1/health", timeout=2).status_code == 200
            if up and len(server.worker_pids()) >= workers:
                return server
        time.sleep(0.2)
    server.stop()
    raise RuntimeError(f"the web process did not answer in {wait_s:.0f} s:\n{server.log_tail()}")


def start_worker(project: Project, workers: int, wait_s: float = 60) -> Server:
    """The worker line; returned once the cluster's processes are all up (guard, sentinel, monitor, pusher, workers)."""
    server = start_procfile(project, "worker")
    deadline = time.monotonic() + wait_s
    while time.monotonic() < deadline and server.process.poll() is None:
        if len(tree(server.process.pid)) >= 5 + workers:
            time.sleep(2)  # the workers finish importing Django
            return server
        time.sleep(0.2)
    server.stop()
    raise RuntimeError(f"the worker did not start in {wait_s:.0f} s:\n{server.log_tail()}")


# --- The client ----------------------------------------------------------------------------


def owner_with_token() -> tuple[str, str]:
    """An owner, a gallery and an API token: (gallery id, token)."""
    from django.db import connection
    from knox.models import AuthToken

    from accounts.models import User
    from galleries import services

    owner = User.objects.create_superuser("bench", "bench@example.com", secrets.token_urlsafe(16))
    gallery = services.gallery_create(owner=owner, title="Burst", visibility="private")
    token = AuthToken.objects.create(user=owner)[1]
    connection.close()
    return str(gallery.pk), token


def upload_all(base_url: str, token: str, gallery_id: str, source: bytes, chunk_size: int) -> list[str]:
    """COUNT photos through tus, CLIENT_UPLOADS at a time; the problems (empty when all arrived)."""
    from tusclient.client import TusClient

    problems: list[str] = []
    lock = threading.Lock()

    def one(n: int) -> None:
        client = TusClient(f"{base_url}/api/v1/tus/", headers={"Authorization": f"Token {token}"})
        name = f"IMG_{n:04d}.jpg"
        try:
            client.uploader(
                file_stream=io.BytesIO(unique_copy(source, n)),
                chunk_size=chunk_size,
                metadata={"gallery": gallery_id, "filename": name},
            ).upload()
        except Exception as exc:  # reported, the burst goes on
            with lock:
                problems.append(f"{name}: {exc}")

    with ThreadPoolExecutor(CLIENT_UPLOADS) as pool:
        list(pool.map(one, range(COUNT)))
    return problems


def statuses(base_url: str, token: str, gallery_id: str) -> dict[str, int]:
    """How many photos of the gallery are in each status, read from the API as a client does."""
    import requests

    counts: dict[str, int] = {}
    url = f"{base_url}/api/v1/galleries/{gallery_id}/photos?page_size=200"
    while url:
        page = requests.get(url, headers={"Authorization": f"Token {token}"}, timeout=30)
        page.raise_for_status()
        body = page.json()
        for photo in body["results"]:
            counts[photo["status"]] = counts.get(photo["status"], 0) + 1
        url = body.get("next")
    return counts


def until_ready(base_url: str, token: str, gallery_id: str, started: float) -> tuple[dict[str, int], float]:
    """Poll until COUNT photos are ready or failed: (counts, seconds since started)."""
    counts: dict[str, int] = {}
    while time.perf_counter() - started < DEADLINE_S:
        counts = statuses(base_url, token, gallery_id)
        if counts.get("ready", 0) + counts.get("failed", 0) >= COUNT:
            break
        time.sleep(POLL_EVERY_S)
    return counts, time.perf_counter() - started


# --- Measuring and reporting ---------------------------------------------------------------


@dataclass
class Burst:
    """What one burst took: wall seconds from the first upload request, CPU seconds of each party."""

    uploaded_s: float
    elapsed_s: float
    counts: dict[str, int]
    worker_cpu: float
    web_cpu: float
    client_cpu: float
    others_cpu: float
    problems: list[str]


def run_burst(web: Server, worker: Server, token: str, gallery_id: str, base: bytes, chunk_size: int) -> Burst:
    """Upload COUNT photos and poll until they are ready; the CPU of each process tree counted over the same span."""
    web_cpu, worker_cpu = tree_cpu_seconds(web.process.pid), tree_cpu_seconds(worker.process.pid)
    client_cpu, busy = time.process_time(), machine_busy_seconds()
    started = time.perf_counter()
    problems = upload_all(web.base, token, gallery_id, base, chunk_size)
    uploaded = time.perf_counter() - started
    counts, elapsed = until_ready(web.base, token, gallery_id, started)
    worker_cpu = tree_cpu_seconds(worker.process.pid) - worker_cpu
    web_cpu = tree_cpu_seconds(web.process.pid) - web_cpu
    client_cpu = time.process_time() - client_cpu
    others = machine_busy_seconds() - busy - worker_cpu - web_cpu - client_cpu
    problems += [f"web log: {line}" for line in web.log_problems()[:3]]
    problems += [f"worker log: {line}" for line in worker.log_problems()[:3]]
    return Burst(uploaded, elapsed, counts, worker_cpu, web_cpu, client_cpu, max(0.0, others), problems)


def report(burst: Burst, cores: int) -> None:
    """Wall time beside the CPU floor (worker CPU-s per image x images / cores), then the target."""
    ready, elapsed = burst.counts.get("ready", 0), burst.elapsed_s
    per_image = burst.worker_cpu / COUNT
    floor = per_image * COUNT / cores
    with_web = (burst.worker_cpu + burst.web_cpu) / cores
    sent = COUNT - sum(1 for p in burst.problems if not p.startswith(("web log", "worker log")))
    print(f"  uploads: {sent}/{COUNT} sent in {burst.uploaded_s:.1f} s; final statuses {burst.counts}")
    print(f"  ready: {ready}/{COUNT} in {elapsed:.1f} s from the first upload request ({COUNT / elapsed:.2f} images/s)")
    print(
        f"  CPU floor: worker {per_image:.2f} CPU-s per image x {COUNT} / {cores} cores = {floor:.1f} s; "
        f"wall/floor {elapsed / floor:.2f}x"
    )
    print(
        f"  (for information: web {burst.web_cpu:.1f} CPU-s, this client {burst.client_cpu:.1f} CPU-s; "
        f"floor with the web's CPU {with_web:.1f} s, wall/that {elapsed / with_web:.2f}x)"
    )
    print(
        f"  the worker had {burst.worker_cpu / (elapsed * cores):.0%} of the machine's {elapsed * cores:.0f} CPU-s "
        f"of the burst; other processes (not this bench) used {burst.others_cpu:.0f} CPU-s"
    )
    for problem in burst.problems:
        print(f"  problem: {problem}")
    ok = ready == COUNT and elapsed <= TARGET_S and not burst.problems
    print(f"  target: all {COUNT} ready within {TARGET_S:.0f} s of the first upload -> {elapsed:.1f} s {verdict(ok)}")


# --- Main ----------------------------------------------------------------------------------


def main() -> None:
    print(f"  load average before: {loadavg()}")
    project = Project.create("burst", production=True)
    web = worker = None
    try:
        project.migrate(collectstatic=True)  # DEBUG off needs the manifest
        from django.conf import settings

        workers, cores = settings.Q_CLUSTER["workers"], os.cpu_count() or 1
        gallery_id, token = owner_with_token()
        base = fake_jpeg()
        print(
            f"burst: {COUNT} tus uploads of 24 MP JPEGs ({len(base) / 2**20:.1f} MB), {CLIENT_UPLOADS} at a time, "
            f"Procfile web (gevent) + worker (Q_WORKERS={workers}), {cores} cores"
        )
        web = start_web(project)
        worker = start_worker(project, workers)
        burst = run_burst(web, worker, token, gallery_id, base, settings.UPLOAD_CHUNK_SIZE)
        report(burst, cores)
    finally:
        for server in (worker, web):
            if server is not None:
                server.stop(timeout=30)
        project.remove()
        print(f"  load average after: {loadavg()}")


if __name__ == "__main__":
    main()
