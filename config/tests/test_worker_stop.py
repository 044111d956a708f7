"""The Procfile's worker stops promptly and completely when its process group is told to stop.

honcho (`make run`, Ctrl-C) and other process managers send SIGTERM to the whole process group of
a Procfile command. django-q2's cluster must get it in its main process only: its sentinel and
workers die at once on SIGTERM, and the main process then waits for them forever.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from config.tests.test_procfile import ROOT, database_url, procfile_command

HONCHO_KILL_WAIT = 5  # seconds honcho gives a process between SIGTERM and SIGKILL


def _children(pid: int) -> list[int]:
    found = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[1]) == pid:  # after the name: state, ppid
            found.append(int(stat.parent.name))
    return found


def _descendants(pid: int) -> list[int]:
    found = []
    for child in _children(pid):
        found += [child, *_descendants(child)]
    return found


def _alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"


@pytest.fixture
def worker(transactional_db, tmp_path, request):
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DJANGO_", "S3_", "DATABASE_URL", "REDIS_URL"))}
    env.update(
        PATH=f"{Path(sys.executable).parent}:{env.get('PATH', '')}",
        DATABASE_URL=database_url(),
        MEDIA_ROOT=str(tmp_path / "media"),
        UPLOAD_TEMP_DIR=str(tmp_path / "uploads"),
        Q_WORKERS="2",
        **getattr(request, "param", {}),
    )
    log = (tmp_path / "worker.log").open("w+")
    process = subprocess.Popen(
        ["/bin/sh", "-c", procfile_command("worker")],
        cwd=ROOT,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,  # as honcho starts it: a process group of its own
    )
    pids: list[int] = []
    try:
        deadline = time.monotonic() + 60
        while "running." not in Path(log.name).read_text():
            assert process.poll() is None and time.monotonic() < deadline, Path(log.name).read_text()[-3000:]
            time.sleep(0.2)
        pids = _descendants(process.pid)
        yield process, pids, log
    finally:
        for pid in [process.pid, *pids]:
            if _alive(pid):
                os.kill(pid, signal.SIGKILL)
        process.wait(timeout=10)
        log.close()


def test_the_worker_stops_within_honchos_grace_and_leaves_no_process(worker):
    process, pids, log = worker
    assert len(pids) >= 4, "the cluster's processes (sentinel, workers, pusher, monitor) were found"

    started = time.monotonic()
    os.killpg(process.pid, signal.SIGTERM)  # what honcho does on Ctrl-C
    try:
        code = process.wait(timeout=HONCHO_KILL_WAIT + 5)
    except subprocess.TimeoutExpired:
        code = None
    took = time.monotonic() - started
    print(f"the worker stopped in {took:.2f} s")

    output = Path(log.name).read_text()[-3000:]
    assert code == 0, f"exit code {code} after {took:.1f} s:\n{output}"
    assert took < HONCHO_KILL_WAIT, f"took {took:.1f} s"
    deadline = time.monotonic() + 2
    while any(_alive(pid) for pid in pids) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert [pid for pid in pids if _alive(pid)] == []
    assert "has stopped" in output


@pytest.mark.parametrize("worker", [{"WORKER_STOP_GRACE": "1"}], indirect=True)
def test_a_worker_busy_past_the_grace_is_killed_whole(worker, monkeypatch):
    from django_q.conf import Conf
    from django_q.tasks import async_task

    process, pids, log = worker
    monkeypatch.setattr(Conf, "SYNC", False)  # the root conftest runs tasks in-process
    async_task("time.sleep", 60)  # a task far longer than the grace
    deadline = time.monotonic() + 30
    while "processing" not in Path(log.name).read_text():
        assert time.monotonic() < deadline, Path(log.name).read_text()[-3000:]
        time.sleep(0.2)

    started = time.monotonic()
    os.killpg(process.pid, signal.SIGTERM)
    code = process.wait(timeout=HONCHO_KILL_WAIT + 5)
    took = time.monotonic() - started
    print(f"the busy worker stopped in {took:.2f} s")

    assert code == 0
    assert took < HONCHO_KILL_WAIT
    assert "did not stop within 1 s; killing it" in Path(log.name).read_text()
    time.sleep(0.5)
    assert [pid for pid in pids if _alive(pid)] == []
