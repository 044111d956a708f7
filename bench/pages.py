"""Pages at scale (issue 12): does a list or page cost the same at 100,000 photos as at 1,000, and how
close is the app to a like-for-like baseline?

Two data sets per database (SQLite in a temp dir, PostgreSQL in a throwaway `bench_pages_<pid>_<n>`
database, dropped at the end), each built with `manage.py seed_scale` and ANALYZEd on PostgreSQL:
  1k    one gallery of 1,000 photos + a home page of 1,000 public galleries (1 photo each)
  100k  one gallery of 100,000 photos + one of 5,000 + the same 1,000-gallery home page
All galleries belong to one photographer ("scale"), the owner below. Each data set is served by
gunicorn with the Procfile's worker class (gevent, 2 workers, DB_CONN_MAX_AGE=0).

1. Ratio table. Every list and page is requested on one keep-alive connection per data set,
   alternating 1k and 100k request by request (ABAB); the ratio is median latency at 100k over
   median at 1k; target <= 1.5. Viewers: owner (logged in, never cached), visitor with a warm cache,
   visitor with the cache bypassed (the request carries `X-Bench-Cache: bypass`, and the bench's
   first middleware empties the worker's local-memory cache before the view runs). Deep pages:
   page 1000 (page_size 50) of the 100k gallery, the last page (20) of the 1k one. The last column
   is the large size's very first request, apart: a deep page's first request after the order
   changed makes the gallery's page marks (galleries.marks) in one walk, and later ones reuse them.
2. Throughput at 5,000 photos (the 5k gallery, first page): app against bench/_pages_baseline.py,
   which does the same visibility check, page query, variant lookup and URL signing
   (galleries.media.media_url) and writes equivalent HTML/JSON in plain Python, uncached, served
   by the same server. CONNS client threads; app and baseline alternate round by round; the ratio
   is the median of the rounds' ratios. Targets: owner >= 0.4x, cached visitor >= 0.7x
   (uncached visitor: shown, no target).
3. A ratio over its target is explained: the request's SQL at both sizes (Django's query log), the
   query that grew most and its plan (EXPLAIN ANALYZE on PostgreSQL, EXPLAIN QUERY PLAN on SQLite).
4. The owner path is profiled in-process at 5,000 and 100,000 photos (cProfile, top 15 cumulative).

Flags: --full (more requests and rounds), --million (also 1,000,000 photos on PostgreSQL, <= 2x:
seeding takes many minutes), --only sqlite|postgresql.
"""

from __future__ import annotations

import argparse
import cProfile
import http.client
import json
import os
import pstats
import statistics
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

from _harness import HOST, ROOT, Project, Server, free_port, loadavg, start

SETTINGS = "bench._pages_settings"
OWNER = "scale"
HOME_GALLERIES = 1000
FIVE_K = 5000
PAGE = 50
RATIO_TARGET, MILLION_TARGET = 1.5, 2.0
OWNER_TARGET, CACHED_TARGET = 0.4, 0.7
PG = "postgresql://postgres@127.0.0.1:5432"


@dataclass
class Mode:
    requests: int  # per probe and size in the ratio table
    seconds: float  # per throughput round and side
    rounds: int
    conns: int = 4


QUICK, FULL = Mode(requests=15, seconds=1.5, rounds=2), Mode(requests=40, seconds=4, rounds=4)


def deep_page(photos: int) -> int:
    """Page 1000 of 50 in a 100k gallery, the last page of a 1k one (the same share of the way in a million)."""
    return max(1, min(photos // PAGE, photos // 100))


# --- Probes: every list and page, as each viewer ------------------------------------------------


@dataclass
class Probe:
    name: str
    path: str  # formatted with the data set's ids: {slug}, {gid}, {deep}
    viewer: str  # owner | visitor | visitor, no cache
    items: str  # how to count the rows in a body: item | card | results
    htmx: bool = False

    @property
    def owner(self) -> bool:
        return self.viewer == "owner"

    @property
    def bypass(self) -> bool:
        return self.viewer.endswith("no cache")

    def headers(self, data: dict) -> dict[str, str]:
        headers = {"HX-Request": "true"} if self.htmx else {}
        if self.owner:
            headers["Cookie"] = data["cookie"]
        if self.bypass:
            headers["X-Bench-Cache"] = "bypass"
        return headers

    def url(self, data: dict, *, big: str = "big") -> str:
        return self.path.format(slug=data[big]["slug"], gid=data[big]["id"], deep=data[big]["deep"])


VISITOR, NO_CACHE = "visitor", "visitor, no cache"
PROBES = [
    Probe("home page", "/", VISITOR, "card"),
    Probe("home page", "/", "owner", "card"),
    Probe("galleries API", "/api/v1/galleries", VISITOR, "results"),
    Probe("galleries API", "/api/v1/galleries", "owner", "results"),
    Probe("gallery page 1", "/g/{slug}/", "owner", "item"),
    Probe("gallery page 1", "/g/{slug}/", VISITOR, "item"),
    Probe("gallery page 1", "/g/{slug}/", NO_CACHE, "item"),
    Probe("gallery deep (htmx)", "/g/{slug}/?page={deep}", "owner", "item", htmx=True),
    Probe("gallery deep (htmx)", "/g/{slug}/?page={deep}", NO_CACHE, "item", htmx=True),
    Probe("photos API 1", "/api/v1/galleries/{gid}/photos", "owner", "results"),
    Probe("photos API 1", "/api/v1/galleries/{gid}/photos", VISITOR, "results"),
    Probe("photos API 1", "/api/v1/galleries/{gid}/photos", NO_CACHE, "results"),
    Probe("photos API deep", "/api/v1/galleries/{gid}/photos?page={deep}&page_size=50", "owner", "results"),
    Probe("photos API deep", "/api/v1/galleries/{gid}/photos?page={deep}&page_size=50", NO_CACHE, "results"),
]
# Throughput at 5k: (label, app path, baseline path, viewer, target or None).
PAIRS = [
    ("gallery page", "/g/{slug}/", "/bench/g/{slug}/", "owner", OWNER_TARGET),
    ("gallery page", "/g/{slug}/", "/bench/g/{slug}/", VISITOR, CACHED_TARGET),
    ("gallery page", "/g/{slug}/", "/bench/g/{slug}/", NO_CACHE, None),
    ("photos API", "/api/v1/galleries/{gid}/photos", "/bench/api/galleries/{gid}/photos", "owner", OWNER_TARGET),
    ("photos API", "/api/v1/galleries/{gid}/photos", "/bench/api/galleries/{gid}/photos", VISITOR, CACHED_TARGET),
    ("photos API", "/api/v1/galleries/{gid}/photos", "/bench/api/galleries/{gid}/photos", NO_CACHE, None),
]
EXPECTED = {"item": PAGE, "card": 24, "results": PAGE}


def count_items(kind: str, body: bytes) -> int:
    if kind == "results":
        return len(json.loads(body)["results"])
    return body.count(b'class="item' if kind == "item" else b'<li class="card"')


# --- Data sets and servers -------------------------------------------------------------------


@dataclass
class DataSet:
    backend: str  # sqlite | postgresql
    photos: int
    url: str
    env: dict[str, str]
    data: dict = field(default_factory=dict)  # ids, slugs, the owner's cookie (from the prepare child)
    server: Server | None = None

    @property
    def label(self) -> str:
        return f"{self.photos // 1000:,}k" if self.photos < 10**6 else f"{self.photos // 10**6}M"


def database_url(project: Project, backend: str, photos: int) -> str:
    if backend == "sqlite":
        return f"sqlite:///{project.workdir / f'db-{photos}.sqlite3'}"
    return f"{PG}/bench_pages_{os.getpid()}_{photos}"


def pg_admin(sql: str) -> None:
    subprocess.run(["psql", "-h", "127.0.0.1", "-U", "postgres", "-qAt", "-c", sql], check=True, capture_output=True)


def prepare(sets: list[DataSet]) -> None:
    """Seed every data set, in child processes two at a time (the machine has 2 cores)."""
    started = time.perf_counter()
    for ds in sets:
        if ds.backend == "postgresql":
            pg_admin(f"CREATE DATABASE {ds.url.rsplit('/', 1)[1]}")
    running: list[tuple[DataSet, subprocess.Popen]] = []
    queue = sorted(sets, key=lambda d: -d.photos)
    while queue or running:
        while queue and len(running) < 2:
            ds = queue.pop(0)
            command = [sys.executable, __file__, "--child", "prepare", "--photos", str(ds.photos)]
            proc = subprocess.Popen(command, cwd=ROOT, env=ds.env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
            running.append((ds, proc))
        ds, proc = running.pop(0)
        out, err = proc.communicate()
        if proc.returncode != 0:
            raise SystemExit(f"seeding {ds.backend} {ds.label} failed:\n{err.decode()[-3000:]}")
        ds.data = json.loads(out.decode().strip().splitlines()[-1])
    print(f"pages: {len(sets)} data sets seeded with seed_scale in {time.perf_counter() - started:.0f} s")


def start_server(ds: DataSet) -> Server:
    """The Procfile's web line: gunicorn, gevent workers, 2 of them, no persistent connections."""
    port = free_port()
    command = [sys.executable, "-m", "gunicorn", "config.wsgi:application", "--bind", f"{HOST}:{port}"]
    command += ["--workers", "2", "--worker-class", "gevent", "--worker-connections", "500", "--timeout", "120"]
    command += ["--keep-alive", "5", "--chdir", str(ROOT)]
    log = Path(ds.env["MEDIA_ROOT"]).parent / f"gunicorn-{ds.backend}-{ds.photos}.log"
    server = start(command, ds.env, log)
    server.base = f"http://{HOST}:{port}"
    deadline = time.monotonic() + 60
    while True:
        if server.process.poll() is not None:
            raise RuntimeError(f"gunicorn exited:\n{server.log_tail()}")
        try:
            if get(port, "/api/v1/health", {})[0] == 200 and len(server.worker_pids()) >= 2:
                return server
        except OSError:
            pass
        if time.monotonic() > deadline:
            server.kill()
            raise RuntimeError(f"gunicorn did not start:\n{server.log_tail()}")
        time.sleep(0.2)


def port_of(ds: DataSet) -> int:
    assert ds.server is not None
    return int(ds.server.base.rsplit(":", 1)[1])


def get(port: int, path: str, headers: dict[str, str], conn: http.client.HTTPConnection | None = None):
    own = conn is None
    conn = conn or http.client.HTTPConnection(HOST, port, timeout=60)
    conn.request("GET", path, headers=headers)
    response = conn.getresponse()
    body = response.read()
    if own:
        conn.close()
    return response.status, body


# --- 1. The ratio table --------------------------------------------------------------------------


class Door:
    """A keep-alive connection to one data set's server, reconnecting when the server closes it."""

    def __init__(self, ds: DataSet) -> None:
        self.ds, self.port = ds, port_of(ds)
        self.conn = http.client.HTTPConnection(HOST, self.port, timeout=60)

    def timed(self, path: str, headers: dict[str, str], kind: str) -> float:
        for attempt in (1, 2):
            started = time.perf_counter()
            try:
                status, body = get(self.port, path, headers, self.conn)
                break
            except (http.client.HTTPException, OSError):
                self.conn.close()
                self.conn = http.client.HTTPConnection(HOST, self.port, timeout=60)
                if attempt == 2:
                    raise
        elapsed = time.perf_counter() - started
        if status != 200 or count_items(kind, body) != EXPECTED[kind]:
            raise SystemExit(f"{self.ds.backend} {self.ds.label} {path}: {status}, {body[:300]!r}")
        return elapsed


def ratio_table(small: DataSet, large: DataSet, mode: Mode, target: float) -> list[dict]:
    """Each probe at both sizes, request by request in turn; the rows whose ratio misses the target."""
    print(f"\n[{small.backend}] latency at {large.label} / {small.label} photos, median of {mode.requests} "
          f"alternating requests each (gevent, 2 workers); target <= {target}; load {loadavg()}")  # fmt: skip
    print(
        f"  {'list or page':<20} {'viewer':<18} {small.label + ' ms':>8} {large.label + ' ms':>8} {'ratio':>6}  verdict"
        f"  {'1st ' + large.label:>9}"
    )
    a, b = Door(small), Door(large)
    missed = []
    for probe in PROBES:
        paths = (probe.url(small.data), probe.url(large.data))
        heads = (probe.headers(small.data), probe.headers(large.data))
        # The first request at the large size is shown apart: a deep page's first request after a
        # change to the order makes the page marks (galleries.marks), which later requests reuse.
        a.timed(paths[0], heads[0], probe.items)
        first_ms = b.timed(paths[1], heads[1], probe.items) * 1000
        for _ in range(2):  # warm: templates, the worker's cache for a warm visitor
            a.timed(paths[0], heads[0], probe.items)
            b.timed(paths[1], heads[1], probe.items)
        times: tuple[list[float], list[float]] = ([], [])
        for i in range(mode.requests):
            for side in (0, 1) if i % 2 == 0 else (1, 0):
                times[side].append((a, b)[side].timed(paths[side], heads[side], probe.items))
        small_ms, large_ms = (statistics.median(t) * 1000 for t in times)
        ratio = large_ms / small_ms
        ok = ratio <= target
        print(f"  {probe.name:<20} {probe.viewer:<18} {small_ms:>8.1f} {large_ms:>8.1f} {ratio:>6.2f}  "
              f"{'PASS' if ok else 'FAIL'}   {first_ms:>8.1f}")  # fmt: skip
        if not ok:
            missed.append({"probe": probe.name, "viewer": probe.viewer, "paths": paths, "htmx": probe.htmx})
    return missed


# --- 2. Throughput against the baseline -----------------------------------------------------------


def drive(port: int, path: str, headers: dict[str, str], kind: str, seconds: float, conns: int) -> tuple[float, float]:
    """conns threads on keep-alive connections for `seconds`: (requests/s, median latency ms)."""
    deadline = time.perf_counter() + seconds
    latencies: list[float] = []
    errors: list[str] = []
    lock = threading.Lock()

    def worker() -> None:
        conn, mine = http.client.HTTPConnection(HOST, port, timeout=60), []
        while time.perf_counter() < deadline:
            started = time.perf_counter()
            try:
                status, body = get(port, path, headers, conn)
            except (http.client.HTTPException, OSError) as exc:
                errors.append(f"{type(exc).__name__}: {exc}")
                conn.close()
                conn = http.client.HTTPConnection(HOST, port, timeout=60)
                continue
            mine.append(time.perf_counter() - started)
            if status != 200 or count_items(kind, body) != PAGE:
                errors.append(f"HTTP {status}: {body[:200]!r}")
        conn.close()
        with lock:
            latencies.extend(mine)

    started = time.perf_counter()
    threads = [threading.Thread(target=worker) for _ in range(conns)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    if errors:
        raise SystemExit(f"{path}: {len(errors)} bad responses, first: {errors[0]}")
    return len(latencies) / (time.perf_counter() - started), statistics.median(latencies) * 1000


def throughput(ds: DataSet, mode: Mode) -> None:
    print(f"\n[{ds.backend}] throughput at {FIVE_K:,} photos (first page) against the like-for-like baseline: "
          f"{mode.rounds} rounds x {mode.seconds} s per side, {mode.conns} connections; load {loadavg()}")  # fmt: skip
    print(
        f"  {'page':<13} {'viewer':<18} {'app rps':>8} {'base rps':>8} {'app p50':>8} {'base p50':>8} {'ratio':>6}  verdict"
    )
    port = port_of(ds)
    for label, app_path, base_path, viewer, target in PAIRS:
        probe = Probe(label, "", viewer, "item" if "page" in label else "results")
        headers = probe.headers(ds.data)
        app, base = (p.format(slug=ds.data["five"]["slug"], gid=ds.data["five"]["id"]) for p in (app_path, base_path))
        for path in (app, base):
            drive(port, path, headers, probe.items, 0.5, mode.conns)  # warm both, and the visitors' cache
        ratios, app_runs, base_runs = [], [], []
        for r in range(mode.rounds):
            order = (app, base) if r % 2 == 0 else (base, app)
            result = {path: drive(port, path, headers, probe.items, mode.seconds, mode.conns) for path in order}
            app_runs.append(result[app])
            base_runs.append(result[base])
            ratios.append(result[app][0] / result[base][0])
        ratio = statistics.median(ratios)
        shown = "-" if target is None else ("PASS" if ratio >= target else "FAIL")
        goal = "(no target)" if target is None else f"(>= {target})"
        print(f"  {label:<13} {viewer:<18} {statistics.median(r[0] for r in app_runs):>8.1f} "
              f"{statistics.median(r[0] for r in base_runs):>8.1f} {statistics.median(r[1] for r in app_runs):>8.1f} "
              f"{statistics.median(r[1] for r in base_runs):>8.1f} {ratio:>6.2f}  {shown} {goal}")  # fmt: skip


# --- 3 and 4. In-process: query log, plans, profiles (child processes) ---------------------------


def child(ds: DataSet, task: str, payload: object) -> object:
    command = [sys.executable, __file__, "--child", task, "--payload", json.dumps(payload)]
    proc = subprocess.run(command, cwd=ROOT, env=ds.env, capture_output=True, text=True, timeout=900)
    if proc.returncode != 0:
        raise SystemExit(f"{task} on {ds.backend} {ds.label} failed:\n{proc.stderr[-3000:]}")
    return json.loads(proc.stdout.strip().splitlines()[-1])


def explain_misses(small: DataSet, large: DataSet, missed: list[dict]) -> None:
    """For each missed ratio: the query that grew most between the sizes, and its plan at the large size."""
    if not missed:
        return
    logs = [
        child(ds, "queries", [{**m, "path": m["paths"][side]} for m in missed])
        for side, ds in enumerate((small, large))
    ]
    for i, m in enumerate(missed):
        few, many = logs[0][i], logs[1][i]
        print(f"\n  why {m['probe']} ({m['viewer']}) grows on {large.backend}: {len(few)} queries at {small.label}, "
              f"{len(many)} at {large.label}; per query ms {small.label} -> {large.label}:")  # fmt: skip
        for j, q in enumerate(many):
            before = few[j]["ms"] if j < len(few) else float("nan")
            print(f"    {before:7.2f} -> {q['ms']:7.2f}  {q['sql'][:110]}")
        grown = max(range(len(many)), key=lambda j: many[j]["ms"] - (few[j]["ms"] if j < len(few) else 0))
        print(f"  the query that grows ({many[grown]['ms']:.1f} ms at {large.label}):\n    {many[grown]['sql'][:700]}")
        print("  its plan at " + large.label + ":")
        for line in many[grown]["plan"]:
            print(f"    {line}")


def profiles(ds: DataSet) -> None:
    paths = [
        (f"gallery page 1, owner, {n:,} photos", f"/g/{ds.data[k]['slug']}/")
        for n, k in ((FIVE_K, "five"), (ds.photos, "big"))
    ] + [
        (f"photos API 1, owner, {n:,} photos", f"/api/v1/galleries/{ds.data[k]['id']}/photos")
        for n, k in ((FIVE_K, "five"), (ds.photos, "big"))
    ]
    for title, text in child(ds, "profile", paths):
        print(f"\n[{ds.backend}] profile of {title}:\n{text}")


def in_process_client():
    from django.contrib.auth import get_user_model
    from django.test import Client

    owner = Client(HTTP_HOST=HOST)
    owner.force_login(get_user_model().objects.get(username=OWNER))
    return Client(HTTP_HOST=HOST), owner


def child_queries(asks: list[dict]) -> list:
    """Each request's SQL (Django's query log), each query timed again alone (best of 5), and its plan."""
    from django.core.cache import cache
    from django.db import connection, reset_queries
    from django.test.utils import CaptureQueriesContext

    visitor, owner = in_process_client()
    results = []
    for ask in asks:
        client = owner if ask["viewer"] == "owner" else visitor
        headers = {"HX-Request": "true"} if ask["htmx"] else {}
        client.get(ask["path"], headers=headers)  # warm
        if ask["viewer"] != VISITOR:
            cache.clear()
        reset_queries()  # request_started empties the log: start the capture from an empty one
        with CaptureQueriesContext(connection) as ctx:
            response = client.get(ask["path"], headers=headers)
        assert response.status_code == 200, response.status_code
        queries = []
        for q in ctx.captured_queries:
            select = q["sql"].lstrip().upper().startswith("SELECT")
            queries.append({"sql": q["sql"], "ms": best_ms(connection, q["sql"]) if select else 0.0,
                            "plan": plan(connection, q["sql"]) if select else []})  # fmt: skip
        results.append(queries)
    return results


def best_ms(connection, sql: str, runs: int = 5) -> float:
    best = float("inf")
    with connection.cursor() as cursor:
        for _ in range(runs):
            started = time.perf_counter()
            cursor.execute(sql)
            cursor.fetchall()
            best = min(best, time.perf_counter() - started)
    return best * 1000


def plan(connection, sql: str) -> list[str]:
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute("EXPLAIN (ANALYZE, BUFFERS) " + sql)
            return [row[0] for row in cursor.fetchall()]
        cursor.execute("EXPLAIN QUERY PLAN " + sql)
        return [" ".join(str(c) for c in row[1:]) for row in cursor.fetchall()]


def child_profile(paths: list[list[str]], requests: int = 5) -> list:
    """cProfile over `requests` owner requests after two to warm up: top 15 cumulative, per request."""
    _visitor, owner = in_process_client()
    out = []
    for title, path in paths:
        for _ in range(2):
            owner.get(path)
        started = time.perf_counter()
        owner.get(path)
        plain = (time.perf_counter() - started) * 1000
        prof = cProfile.Profile()
        prof.enable()
        for _ in range(requests):
            owner.get(path)
        prof.disable()
        stats = pstats.Stats(prof).stats  # type: ignore[attr-defined]
        rows = sorted(stats.items(), key=lambda kv: kv[1][3], reverse=True)
        total = rows[0][1][3]
        lines = [f"  {plain:.1f} ms for one request unprofiled; {total * 1000 / requests:.1f} ms per request under "
                 f"cProfile ({requests}); top 15 cumulative below 97% of the request:",
                 f"  {'cum ms':>8} {'% req':>6} {'own ms':>7} {'calls':>6}  function"]  # fmt: skip
        for (filename, line, func), (_cc, nc, tt, ct, _) in [r for r in rows if r[1][3] < 0.97 * total][:15]:
            for prefix in (str(ROOT / ".venv" / "lib" / "python3.11" / "site-packages") + "/", str(ROOT) + "/"):
                filename = filename.removeprefix(prefix)
            where = f"{filename}:{line}({func})" if line else func
            lines.append(f"  {ct * 1000 / requests:>8.2f} {ct / total:>6.1%} {tt * 1000 / requests:>7.2f} "
                         f"{nc / requests:>6.0f}  {where[:110]}")  # fmt: skip
        out.append((title, "\n".join(lines)))
    return out


def child_prepare(photos: int) -> dict:
    """Migrate and seed one data set with seed_scale; the ids, slugs and the owner's session cookie."""
    import io

    from django.conf import settings
    from django.core.management import call_command
    from django.db import connection

    from galleries.models import Gallery

    call_command("migrate", verbosity=0)
    out = io.StringIO()
    call_command("seed_scale", photos=HOME_GALLERIES, galleries=HOME_GALLERIES, owner=OWNER, prefix="Home", stdout=out)
    if photos > 1000:
        call_command("seed_scale", photos=FIVE_K, galleries=1, owner=OWNER, prefix="Five", stdout=out)
    call_command("seed_scale", photos=photos, galleries=1, owner=OWNER, prefix="Big", stdout=out)
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("ANALYZE")  # what autovacuum does soon after a bulk load
    _visitor, owner = in_process_client()
    data = {"cookie": f"{settings.SESSION_COOKIE_NAME}={owner.cookies[settings.SESSION_COOKIE_NAME].value}"}
    for key, title, n in (("big", "Big 1", photos), ("five", "Five 1", FIVE_K)):
        gallery = Gallery.objects.filter(title=title).first()
        if gallery is not None:
            data[key] = {"slug": gallery.slug, "id": str(gallery.pk), "deep": deep_page(n)}
    return data


def run_child(task: str, photos: int, payload: str) -> None:
    import django

    django.setup()
    if task == "prepare":
        result: object = child_prepare(photos)
    elif task == "queries":
        result = child_queries(json.loads(payload))
    else:
        result = child_profile(json.loads(payload))
    print(json.dumps(result, default=str))


# --- Main ------------------------------------------------------------------------------------


def data_sets(project: Project, backends: list[str], million: bool, pair: tuple[int, int]) -> list[DataSet]:
    sizes = [(b, n) for b in backends for n in pair]
    if million and "postgresql" in backends:
        sizes.append(("postgresql", 1_000_000))
    sets = []
    for backend, photos in sizes:
        url = database_url(project, backend, photos)
        sets.append(DataSet(backend, photos, url, {**project.env, "DATABASE_URL": url, "DB_CONN_MAX_AGE": "0"}))
    return sets


def measure_backend(sets: list[DataSet], mode: Mode) -> None:
    small, large, *more = sets
    for ds in sets:
        ds.server = start_server(ds)
    try:
        missed = ratio_table(small, large, mode, RATIO_TARGET)
        for huge in more:
            missed += ratio_table(small, huge, mode, MILLION_TARGET)
        throughput(large, mode)
    finally:
        for ds in sets:
            if ds.server is not None:
                ds.server.stop(timeout=15)
    explain_misses(small, large, missed[:4])
    profiles(large)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--full", action="store_true", help="more requests per point and more rounds")
    parser.add_argument("--million", action="store_true", help="also 1,000,000 photos on PostgreSQL")
    parser.add_argument("--only", choices=("sqlite", "postgresql"))
    parser.add_argument("--child", help=argparse.SUPPRESS)
    parser.add_argument("--photos", type=int, default=0, help=argparse.SUPPRESS)
    parser.add_argument("--payload", default="[]", help=argparse.SUPPRESS)
    parser.add_argument("--sizes", default="1000,100000", help=argparse.SUPPRESS)  # to try the bench out small
    args = parser.parse_args()
    if args.child:
        return run_child(args.child, args.photos, args.payload)

    run_started = time.perf_counter()
    print(f"pages: load average before {loadavg()}, {os.cpu_count()} cores, {'full' if args.full else 'quick'} run")
    project = Project.create("pages", production=True, settings=SETTINGS)
    backends = [args.only] if args.only else ["sqlite", "postgresql"]
    sets = data_sets(project, backends, args.million, tuple(int(n) for n in args.sizes.split(",")))
    try:
        prepare(sets)
        for backend in backends:
            measure_backend([ds for ds in sets if ds.backend == backend], FULL if args.full else QUICK)
    finally:
        for ds in sets:
            if ds.server is not None:
                ds.server.kill()
            if ds.backend == "postgresql":
                pg_admin(f"DROP DATABASE IF EXISTS {ds.url.rsplit('/', 1)[1]} WITH (FORCE)")
        project.remove()
    print(f"\npages: done in {time.perf_counter() - run_started:.0f} s; load average after {loadavg()}")


if __name__ == "__main__":
    main()
