"""Ingest: how fast large files come in through each upload door, and what that costs in memory.

Runs in a throwaway project state (temporary SQLite database, MEDIA_ROOT and UPLOAD_TEMP_DIR,
production-like settings: DEBUG off, MAX_UPLOAD_SIZE=2GB), starts the Procfile's web command
(gunicorn with its gevent workers, as deployed) on 127.0.0.1 and uploads valid JPEGs (a small
real JPEG followed by random padding after its EOI marker):

- door 1, the chunk protocol with `requests` (8 MB chunks, each with its X-Chunk-SHA256, then complete);
- door 2, tus 1.0 with the real `tuspy` client (8 MB chunks);
- the upper bound, in this process with the same bytes on the same disk, done the way the server
  does it now: SHA-256 per chunk + pwrite into one sparse file in UPLOAD_TEMP_DIR, the whole-file
  SHA-256, then fsync and a rename into MEDIA_ROOT (no copy: LocalMediaStorage._move_into_place).
  Target: each door at least 50% of the bound.
- memory: growth of the gunicorn workers' RSS (all workers, summed, sampled every 50 ms from /proc)
  over the baseline just before a 1 GB chunk-protocol upload. Target: at most 100 MB. A 1 GB tus
  upload is measured too, for information.

Each round takes a fresh file per door (the same bytes would be deduplicated) and measures the
door and the bound back to back on it, bound first in odd rounds and door first in even ones;
the ratio door / bound is taken within the round, and the median of the rounds (with the spread)
is judged against the target. Door 1 sends 2 chunks in parallel by default (one connection each);
a sequential run is printed beside it for information. Before each timed phase, page cache is
pre-touched (see prime_memory; --no-prime turns it off).

    .venv/bin/python bench/ingest.py [--quick] [--rounds N] [--parallel N] [--no-prime]

--quick does one round and skips the 1 GB runs (memory is then judged on the 200 MB upload).
Prints PASS/MISS lines and exits 0 either way (it is a report).
"""

from __future__ import annotations

import argparse
import hashlib
import io
import os
import secrets
import statistics
import threading
import time
import traceback
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from _harness import Project, Server, loadavg, rss_bytes, verdict
from burst import start_web  # the Procfile's web command, as deployed

MiB = 1 << 20
CHUNK = 8 * MiB
SIZE_SMALL = 200 * MiB
SIZE_LARGE = 1024 * MiB
TARGET_RATIO = 0.5
TARGET_RSS_MB = 100.0
SAMPLE_EVERY_S = 0.05
REQUEST_TIMEOUT_S = 300
PRIME_FACTOR = 2.5  # page cache a phase needs fresh: the part file and the stored copy, with room
ROUNDS = 3  # rounds of door + bound back to back (fresh bytes each); the median ratio counts


# --- Files ---------------------------------------------------------------------------------


def make_jpeg_file(path: Path, size: int, seed: int) -> str:
    """A valid JPEG of exactly `size` bytes: a real small JPEG, then random bytes after its EOI. Returns its SHA-256."""
    import numpy as np
    from PIL import Image

    rng = np.random.default_rng(seed)
    pixels = rng.integers(0, 256, (480, 640, 3), dtype=np.uint8)
    buf = io.BytesIO()
    Image.fromarray(pixels, "RGB").save(buf, "JPEG", quality=85)
    head = buf.getvalue()
    assert head.endswith(b"\xff\xd9") and len(head) < size
    digest = hashlib.sha256(head)
    with open(path, "wb") as fh:
        fh.write(head)
        remaining = size - len(head)
        while remaining:
            piece = rng.bytes(min(32 * MiB, remaining))
            fh.write(piece)
            digest.update(piece)
            remaining -= len(piece)
    return digest.hexdigest()


def check_jpeg_accepted(path: Path) -> None:
    """The padded JPEG passes the same content validation the upload completion runs."""
    from django.conf import settings

    from galleries import imaging

    with open(path, "rb") as fh:
        info = imaging.inspect_image(fh, max_pixels=settings.MAX_IMAGE_PIXELS)
    print(f"  inspect_image on the padded JPEG: {info.format.pillow} {info.width}x{info.height} -> accepted")


def chunks_of(size: int) -> Iterator[tuple[int, int, int]]:
    """(index, offset, length) of each CHUNK-sized piece of a file of `size` bytes."""
    for index, offset in enumerate(range(0, size, CHUNK)):
        yield index, offset, min(CHUNK, size - offset)


# --- The in-process upper bound ------------------------------------------------------------


def upper_bound(source: Path, size: int, temp_dir: Path, media_dir: Path) -> tuple[float, float]:
    """Seconds for the least work the server must do with these bytes, as it does it now; (total, of which fsync).

    Per chunk SHA-256 + pwrite at its offset into a sparse file in UPLOAD_TEMP_DIR (uploads.chunkstore
    LocalChunkStore.begin/place), the whole-file SHA-256 read back (uploads.services.upload_complete),
    then fsync and rename into MEDIA_ROOT, no copy (galleries.storage LocalMediaStorage._move_into_place).
    Left out on purpose: the server's side file per piece (stage, then copy_file_range into place),
    HTTP, the database and the content check, which are the door's own costs.
    """
    temp_dir.mkdir(parents=True, exist_ok=True)
    media_dir.mkdir(parents=True, exist_ok=True)
    part = temp_dir / "bound.part"
    final = media_dir / "bound.jpg"
    src = os.open(source, os.O_RDONLY)
    try:
        started = time.perf_counter()
        with open(part, "wb") as fh:
            fh.truncate(size)
        out = os.open(part, os.O_WRONLY)
        try:
            for _, offset, length in chunks_of(size):
                data = os.pread(src, length, offset)
                hashlib.sha256(data).hexdigest()
                os.pwrite(out, data, offset)
        finally:
            os.close(out)
        digest = hashlib.sha256()
        with open(part, "rb") as fh:
            for piece in iter(lambda: fh.read(MiB), b""):
                digest.update(piece)
        synced = time.perf_counter()
        with open(part, "rb+") as fh:
            os.fsync(fh.fileno())
        fsync_s = time.perf_counter() - synced
        os.chmod(part, 0o644)
        os.replace(part, final)
        elapsed = time.perf_counter() - started
    finally:
        os.close(src)
    final.unlink(missing_ok=True)
    part.unlink(missing_ok=True)
    return elapsed, fsync_s


def prime_memory(workdir: Path, nbytes: int) -> float:
    """Touch nbytes of page cache and free it again, so the timed phase that follows reuses warm pages.

    On this VM, memory freed for a few seconds goes back to the host (virtio-balloon free page
    reporting) and touching it again costs about 2.5 s per GiB: without this, whichever phase
    first needs fresh page cache pays for it, and the same run varies by 2-3x.
    """
    started = time.perf_counter()
    scratch = workdir / "prime.scratch"
    buf = b"\x5a" * CHUNK
    fd = os.open(scratch, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    try:
        for offset in range(0, nbytes, CHUNK):
            os.pwrite(fd, buf, offset)
    finally:
        os.close(fd)
        scratch.unlink()
    return time.perf_counter() - started


# --- Memory --------------------------------------------------------------------------------


def cpu_seconds(pid: int) -> float:
    """utime + stime of a process (all its threads)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def own_cpu_seconds() -> float:
    times = os.times()
    return times.user + times.system


@dataclass
class RssSampler:
    """Samples the summed RSS of the gunicorn workers every 50 ms in a thread; also counts CPU time."""

    server: Server
    baseline: int = 0
    peak: int = 0
    per_worker_baseline: dict[int, int] = field(default_factory=dict)
    per_worker_peak: dict[int, int] = field(default_factory=dict)
    samples: int = 0
    server_cpu: float = 0.0
    client_cpu: float = 0.0
    _cpu_start: tuple[float, float] = (0.0, 0.0)
    _stop: threading.Event = field(default_factory=threading.Event)
    _thread: threading.Thread | None = None

    def _sample(self) -> tuple[int, dict[int, int]]:
        per = {pid: rss_bytes(pid) for pid in self.server.worker_pids()}
        return sum(per.values()), per

    def __enter__(self) -> RssSampler:
        readings = []
        for _ in range(3):
            readings.append(self._sample())
            time.sleep(SAMPLE_EVERY_S)
        self.baseline, self.per_worker_baseline = readings[-1]
        self.peak = self.baseline
        self._cpu_start = (self._server_cpu(), own_cpu_seconds())
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()
        return self

    def _run(self) -> None:
        while not self._stop.is_set():
            total, per = self._sample()
            self.samples += 1
            self.peak = max(self.peak, total)
            for pid, value in per.items():
                self.per_worker_peak[pid] = max(self.per_worker_peak.get(pid, 0), value)
            self._stop.wait(SAMPLE_EVERY_S)

    def _server_cpu(self) -> float:
        return sum(cpu_seconds(pid) for pid in self.server.worker_pids())

    def __exit__(self, *exc: object) -> None:
        self.server_cpu = self._server_cpu() - self._cpu_start[0]
        self.client_cpu = own_cpu_seconds() - self._cpu_start[1]
        self._stop.set()
        if self._thread:
            self._thread.join()

    @property
    def growth_mb(self) -> float:
        return (self.peak - self.baseline) / MiB

    def describe(self) -> str:
        workers = ", ".join(
            f"pid {pid}: {self.per_worker_baseline.get(pid, 0) / MiB:.0f} -> {peak / MiB:.0f} MB"
            for pid, peak in sorted(self.per_worker_peak.items())
        )
        return (
            f"workers' RSS {self.baseline / MiB:.0f} MB -> peak {self.peak / MiB:.0f} MB "
            f"(+{self.growth_mb:.1f} MB; {self.samples} samples; {workers}); "
            f"CPU: workers {self.server_cpu:.2f} s, this client {self.client_cpu:.2f} s"
        )


# --- The doors -----------------------------------------------------------------------------


class DoorError(Exception):
    pass


def _fail(what: str, response: Any) -> DoorError:
    return DoorError(f"{what}: HTTP {response.status_code} {response.text[:500]}")


def chunk_door(
    server: Server, token: str, gallery_id: str, path: Path, size: int, sha256: str, *, parallel: int, name: str
) -> tuple[float, dict, float]:
    """Upload through POST uploads / PUT chunks / POST complete; returns (seconds, photo, seconds in complete)."""
    import requests

    headers = {"Authorization": f"Token {token}"}
    local = threading.local()

    def session() -> requests.Session:
        if not hasattr(local, "session"):
            local.session = requests.Session()
            local.session.headers.update(headers)
        return local.session

    fd = os.open(path, os.O_RDONLY)
    try:
        started = time.perf_counter()
        response = session().post(
            f"{server.base}/api/v1/uploads",
            json={"gallery": gallery_id, "filename": name, "size": size, "sha256": sha256},
            timeout=REQUEST_TIMEOUT_S,
        )
        if response.status_code != 201:
            raise _fail("create", response)
        upload = response.json()
        if upload["chunk_size"] != CHUNK:
            raise DoorError(f"the server's chunk_size is {upload['chunk_size']}, expected {CHUNK}")
        url = f"{server.base}/api/v1/uploads/{upload['id']}"

        def put(spec: tuple[int, int, int]) -> None:
            index, offset, length = spec
            data = os.pread(fd, length, offset)
            chunk_sha = hashlib.sha256(data).hexdigest()
            reply = session().put(
                f"{url}/chunks/{index}",
                data=data,
                headers={"X-Chunk-SHA256": chunk_sha, "Content-Type": "application/octet-stream"},
                timeout=REQUEST_TIMEOUT_S,
            )
            if reply.status_code not in (200, 201):
                raise _fail(f"chunk {index}", reply)

        specs = list(chunks_of(size))
        if len(specs) != upload["total_chunks"]:
            raise DoorError(f"total_chunks {upload['total_chunks']} != {len(specs)}")
        if parallel <= 1:
            for spec in specs:
                put(spec)
        else:
            with ThreadPoolExecutor(parallel) as pool:
                list(pool.map(put, specs))
        completing = time.perf_counter()
        response = session().post(f"{url}/complete", timeout=REQUEST_TIMEOUT_S)
        if response.status_code != 200:
            raise _fail("complete", response)
        elapsed = time.perf_counter() - started
        complete_s = time.perf_counter() - completing
    finally:
        os.close(fd)
    photo = response.json()["photo"]
    if photo.get("sha256") != sha256:
        raise DoorError(f"the photo's sha256 {photo.get('sha256')} is not the file's {sha256}")
    return elapsed, photo, complete_s


def tus_door(server: Server, token: str, gallery_id: str, path: Path, sha256: str, *, name: str) -> tuple[float, str]:
    """Upload with tuspy; returns (seconds, upload id) after checking the completion in the database."""
    from tusclient.client import TusClient
    from tusclient.exceptions import TusCommunicationError

    from uploads.models import Upload, UploadStatus

    client = TusClient(f"{server.base}/api/v1/tus/", headers={"Authorization": f"Token {token}"})
    uploader = client.uploader(
        file_path=str(path), chunk_size=CHUNK, metadata={"gallery": gallery_id, "filename": name}
    )
    started = time.perf_counter()
    try:
        uploader.upload()
    except TusCommunicationError as exc:
        raise DoorError(f"tus: HTTP {exc.status_code} {str(exc.response_content)[:500]} ({exc})") from exc
    elapsed = time.perf_counter() - started
    upload_id = uploader.url.rstrip("/").rsplit("/", 1)[-1]
    upload = Upload.objects.select_related("photo__asset").get(pk=upload_id)
    if upload.status != UploadStatus.COMPLETE or upload.photo is None:
        raise DoorError(f"tus upload {upload_id} is {upload.status} ({upload.error or 'no error'}), not complete")
    if upload.photo.asset.sha256 != sha256:
        raise DoorError(f"the tus photo's sha256 {upload.photo.asset.sha256} is not the file's {sha256}")
    return elapsed, upload_id


# --- Main ----------------------------------------------------------------------------------


def mibps(size: int, seconds: float) -> float:
    return size / MiB / seconds


def _spread(values: list[float]) -> str:
    return "runs: " + ", ".join(f"{v:.0f}" for v in values)


@dataclass
class Run:
    """One run of the bench: the project, the server, what was measured, what went wrong."""

    args: argparse.Namespace
    project: Project
    server: Server | None = None
    token: str = ""
    gallery_id: str = ""
    results: dict[str, list[float]] = field(default_factory=dict)
    problems: list[str] = field(default_factory=list)

    @property
    def workdir(self) -> Path:
        return self.project.workdir

    def setup(self) -> None:
        """The project (production-like, 2 GB uploads, 8 MB chunks), an owner, a gallery, a token, gunicorn."""
        self.project.migrate(collectstatic=True)  # DEBUG off needs the manifest
        from django.conf import settings
        from django.db import connection
        from knox.models import AuthToken

        from accounts.models import User
        from galleries.services import gallery_create

        assert settings.MAX_UPLOAD_SIZE == 2 * 1024**3 and not settings.DEBUG and settings.UPLOAD_CHUNK_SIZE == CHUNK
        owner = User.objects.create_superuser("bench", "bench@example.com", secrets.token_urlsafe(16))
        self.gallery_id = str(gallery_create(owner=owner, title="Ingest", visibility="private").pk)
        self.token = AuthToken.objects.create(user=owner)[1]
        connection.close()
        print(f"  load average before: {loadavg()}")
        print(
            f"ingest: {os.cpu_count()} cores, chunk {CHUNK // MiB} MiB,"
            f" MAX_UPLOAD_SIZE {settings.MAX_UPLOAD_SIZE // MiB} MiB,"
            f" DEBUG={settings.DEBUG}, {self.args.rounds if not self.args.quick else 1} round(s), door 1 with {self.args.parallel} parallel"
            f" PUT{'s' if self.args.parallel > 1 else ''}"
        )
        self.server = start_web(self.project)
        print(
            f"  the Procfile's web command (gunicorn, gevent) up at {self.server.base}, workers {self.server.worker_pids()}"
        )

    def record(self, key: str, value: float) -> None:
        self.results.setdefault(key, []).append(value)

    def prime(self, size: int) -> None:
        os.sync()
        if not self.args.no_prime:
            prime_memory(self.workdir, int(size * PRIME_FACTOR))

    def measure(self, label: str, key: str, size: int, action: Callable[[], tuple[float, str]]) -> float | None:
        """One timed upload with the workers' RSS sampled; recorded under key (and key_rss). MiB/s, None on failure."""
        assert self.server is not None
        self.prime(size)
        try:
            with RssSampler(self.server) as sampler:
                seconds, note = action()
        except Exception as exc:
            self.problems.append(f"{label}: {exc}")
            print(f"  {label}: FAILED: {exc}")
            traceback.print_exc(limit=3)
            print(f"  gunicorn log tail:\n{self.server.log_tail(30)}")
            return None
        rate = mibps(size, seconds)
        self.record(key, rate)
        self.record(f"{key}_rss", sampler.growth_mb)
        print(f"  {label}: {seconds:.2f} s = {rate:.0f} MiB/s{note}")
        print(f"    {sampler.describe()}")
        return rate

    def bound(self, path: Path) -> float:
        """The upper bound on the same bytes and the same disk as the server (see upper_bound); MiB/s."""
        self.prime(SIZE_SMALL)
        temp_dir, media_dir = Path(self.project.env["UPLOAD_TEMP_DIR"]), Path(self.project.env["MEDIA_ROOT"]) / "bound"
        seconds, fsync_s = upper_bound(path, SIZE_SMALL, temp_dir, media_dir)
        rate = mibps(SIZE_SMALL, seconds)
        self.record("bound", rate)
        print(
            f"  bound (sha+pwrite per chunk, re-hash, fsync, rename): {seconds:.2f} s = {rate:.0f} MiB/s"
            f" (of which fsync {fsync_s:.2f} s)"
        )
        return rate

    def via_chunks(self, path: Path, size: int, sha: str, parallel: int) -> Callable[[], tuple[float, str]]:
        def action() -> tuple[float, str]:
            assert self.server is not None
            seconds, _, complete_s = chunk_door(
                self.server, self.token, self.gallery_id, path, size, sha, parallel=parallel, name=path.name
            )
            return seconds, f" (complete: {complete_s:.2f} s; photo sha256 matches)"

        return action

    def via_tus(self, path: Path, sha: str) -> Callable[[], tuple[float, str]]:
        def action() -> tuple[float, str]:
            assert self.server is not None
            seconds, _ = tus_door(self.server, self.token, self.gallery_id, path, sha, name=path.name)
            return seconds, " (complete in the database; sha256 matches)"

        return action

    def warm_up(self) -> None:
        """The first requests a worker serves import code and fill caches: six small uploads, not counted."""
        assert self.server is not None
        seed = 100
        for _ in range(3):
            for door in ("chunks", "tus"):
                seed += 1
                tiny = self.workdir / f"warm-{seed}.jpg"
                tiny_sha = make_jpeg_file(tiny, 256 * 1024, seed=seed)
                if door == "chunks":
                    chunk_door(
                        self.server, self.token, self.gallery_id, tiny, 256 * 1024, tiny_sha, parallel=1, name=tiny.name
                    )
                else:
                    tus_door(self.server, self.token, self.gallery_id, tiny, tiny_sha, name=tiny.name)
                tiny.unlink()
        rss = RssSampler(self.server)._sample()[0] / MiB
        print(f"  warmed up with 6 small uploads; gunicorn workers' RSS {rss:.0f} MB")

    def rounds(self) -> None:
        """Rounds of fresh bytes: each door measured back to back with a bound of its own, the ratio taken per round.

        The order alternates (odd rounds bound first, even rounds door first), so neither side always
        gets the quieter moment or the warmer page cache.
        """
        parallel = self.args.parallel
        doors: list[tuple[str, str, Callable[[Path, str], Callable[[], tuple[float, str]]]]] = [
            (
                "chunks",
                f"door 1 (chunks, {parallel} parallel)",
                lambda p, sha: self.via_chunks(p, SIZE_SMALL, sha, parallel),
            )
        ]
        if parallel != 1:
            doors.append(
                (
                    "chunks_seq",
                    "door 1 (chunks, sequential, for information)",
                    lambda p, sha: self.via_chunks(p, SIZE_SMALL, sha, 1),
                )
            )
        doors.append(("tus", "door 2 (tus, tuspy)", self.via_tus))
        rounds = 1 if self.args.quick else self.args.rounds
        for round_no in range(1, rounds + 1):
            bound_first = round_no % 2 == 1
            order = "bound, then door" if bound_first else "door, then bound"
            print(f"  round {round_no}/{rounds} ({order}): a fresh {SIZE_SMALL // MiB} MiB padded JPEG per door")
            for n, (key, label, via) in enumerate(doors):
                path = self.workdir / f"{key}{round_no}.jpg"
                sha = make_jpeg_file(path, SIZE_SMALL, seed=10 * round_no + n)
                if round_no == 1 and n == 0:
                    check_jpeg_accepted(path)
                if bound_first:
                    bound = self.bound(path)
                    rate = self.measure(f"{label} {SIZE_SMALL // MiB} MiB", key, SIZE_SMALL, via(path, sha))
                else:
                    rate = self.measure(f"{label} {SIZE_SMALL // MiB} MiB", key, SIZE_SMALL, via(path, sha))
                    bound = self.bound(path)
                if rate is not None:
                    self.record(f"{key}_ratio", rate / bound)
                    print(f"    -> round {round_no}: {label} = {rate / bound:.0%} of its bound")
                path.unlink()

    def memory_runs(self) -> None:
        """1 GiB through each door (not with --quick): the workers' RSS growth."""
        if self.args.quick:
            return
        big = self.workdir / "big-chunks.jpg"
        big_sha = make_jpeg_file(big, SIZE_LARGE, seed=3)
        self.measure(
            f"memory: door 1 (chunks, {self.args.parallel} parallel) {SIZE_LARGE // MiB} MiB",
            "chunks_1g",
            SIZE_LARGE,
            self.via_chunks(big, SIZE_LARGE, big_sha, self.args.parallel),
        )
        big.unlink()
        big = self.workdir / "big-tus.jpg"
        big_sha = make_jpeg_file(big, SIZE_LARGE, seed=4)
        self.measure(f"memory: door 2 (tus) {SIZE_LARGE // MiB} MiB", "tus_1g", SIZE_LARGE, self.via_tus(big, big_sha))
        big.unlink()

    def check_log(self) -> None:
        assert self.server is not None
        trouble = self.server.log_problems()
        if trouble:
            self.problems.append(f"gunicorn log has {len(trouble)} line(s) of trouble (tail below)")
            print(f"  gunicorn log tail:\n{self.server.log_tail(60)}")
        else:
            print("  gunicorn log: no tracebacks, errors or worker timeouts")

    def summary(self, run_started: float) -> None:
        results, args = self.results, self.args
        print("summary (ratio = door / bound of the same round; median of the rounds, spread min-max):")
        doors = [("chunks", f"chunk door ({args.parallel} parallel)"), ("tus", "tus door")]
        if args.parallel != 1:
            doors.insert(1, ("chunks_seq", "(for information) chunk door, sequential PUTs"))
        for key, label in doors:
            ratios = results.get(f"{key}_ratio", [])
            if not ratios:
                print(f"  {label}: no result -> {verdict(False)}")
                continue
            median = statistics.median(ratios)
            shown = (
                f"median {median:.0%} (spread {min(ratios):.0%}-{max(ratios):.0%}; rounds "
                + ", ".join(f"{r:.0%}" for r in ratios)
                + f"); door median {statistics.median(results[key]):.0f} MiB/s"
            )
            if key == "chunks_seq":
                print(f"  {label}: {shown}")
            else:
                print(f"  {label} >= {TARGET_RATIO:.0%} of the bound: {shown} -> {verdict(median >= TARGET_RATIO)}")
        if results.get("bound"):
            print(f"  bound: median {statistics.median(results['bound']):.0f} MiB/s ({_spread(results['bound'])})")
        memory_key = "chunks_1g_rss" if not args.quick else "chunks_rss"
        growth = max(results[memory_key]) if results.get(memory_key) else None
        what = "1 GiB chunk upload" if not args.quick else f"{SIZE_SMALL // MiB} MiB chunk upload (--quick)"
        shown = f"+{growth:.1f} MB during a {what}" if growth is not None else "no result"
        memory_ok = growth is not None and growth <= TARGET_RSS_MB
        print(f"  web RSS growth <= {TARGET_RSS_MB:.0f} MB: {shown} -> {verdict(memory_ok)}")
        if results.get("tus_1g_rss"):
            print(f"  (tus 1 GiB: +{results['tus_1g_rss'][0]:.1f} MB, {results['tus_1g'][0]:.0f} MiB/s)")
        for problem in self.problems:
            print(f"  problem: {problem}")
        print(f"  load average after: {loadavg()} (other processes on this 2-core machine add noise)")
        print(f"  total {time.perf_counter() - run_started:.0f} s")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="skip the 1 GB memory runs")
    parser.add_argument("--parallel", type=int, default=2, help="concurrent chunk PUTs for door 1 (default 2)")
    parser.add_argument("--rounds", type=int, default=ROUNDS, help=f"rounds of door + bound (default {ROUNDS})")
    parser.add_argument("--no-prime", action="store_true", help="do not pre-touch page cache before timed phases")
    args = parser.parse_args()

    run_started = time.perf_counter()
    run = Run(args, Project.create("ingest", production=True, MAX_UPLOAD_SIZE="2GB", UPLOAD_CHUNK_SIZE="8MB"))
    try:
        run.setup()
        run.warm_up()
        run.rounds()
        run.memory_runs()
        run.check_log()
    except Exception as exc:
        run.problems.append(f"setup: {exc}")
        traceback.print_exc()
        if run.server is not None:
            print(f"  gunicorn log tail:\n{run.server.log_tail()}")
    finally:
        if run.server is not None:
            run.server.stop()
        run.project.remove()
    run.summary(run_started)


if __name__ == "__main__":
    main()
