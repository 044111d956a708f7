"""Runs the background worker (`manage.py qcluster`) so that a stop signal ends it promptly and whole.

Process managers stop a Procfile command by signalling its whole process group: honcho does on
Ctrl-C in `make run`. django-q2's sentinel and workers die at once on SIGTERM, and the cluster's
main process then waits for them forever, until honcho SIGKILLs it. So the cluster runs here in a
process group of its own and only its main process hears the stop: it ends its guard loop, lets
each worker finish the task in hand and saves the results. A cluster still busy after STOP_GRACE
seconds (a long task) is killed as a whole; the processing sweep hands its unfinished photos out
again on the next start (PROCESSING_LEASE).

Usage (the Procfile's worker line): python -m config.worker [qcluster options]
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

MANAGE = Path(__file__).resolve().parents[1] / "manage.py"
# honcho sends SIGKILL 5 s after SIGTERM; stopping within that leaves nothing behind.
STOP_GRACE = float(os.environ.get("WORKER_STOP_GRACE", "4"))


def main(argv: list[str]) -> int:
    command = [sys.executable, str(MANAGE), "qcluster", *argv]
    cluster = subprocess.Popen(command, start_new_session=True)  # noqa: S603 - our own manage.py and its options
    stop_by: list[float] = []

    def stop(signum: int, frame: object) -> None:
        if not stop_by:
            stop_by.append(time.monotonic() + STOP_GRACE)
            with contextlib.suppress(ProcessLookupError):
                cluster.send_signal(signal.SIGTERM)

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    while (code := cluster.poll()) is None:
        if stop_by and time.monotonic() > stop_by[0]:
            print(f"worker: the cluster did not stop within {STOP_GRACE:g} s; killing it", file=sys.stderr, flush=True)
            with contextlib.suppress(ProcessLookupError):
                os.killpg(cluster.pid, signal.SIGKILL)
            cluster.wait()
            return 0
        time.sleep(0.1)
    return code


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
