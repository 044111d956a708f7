"""Pages: how fast a 5,000-photo gallery's first page is served, next to a plain-JSON baseline.

Runs in a throwaway project state (temporary SQLite database and MEDIA_ROOT, DEBUG off), seeds a
public gallery of 5,000 ready photos with all 8 variants each, starts gunicorn (2 sync workers)
and drives it with keep-alive `http.client` connections in threads (gunicorn's sync workers
answer `Connection: close`, so each request reconnects on loopback, alike for every endpoint).
Endpoints, anonymous:

  page      GET /g/<slug>/                         the gallery page: 50 photos, signed URLs, full HTML
  api       GET /api/v1/galleries/<id>/photos      the photos API, first page (page_size 50)
  baseline  GET /bench/baseline/<id>               the same 50 rows from .values() as plain JSON

Target: each endpoint serves at least 50% of the baseline's requests/s in the same run. The
client shares the cores with the server, equally for every endpoint. Endpoints are measured in
alternating rounds so drift on a shared machine hits all of them alike. A missed target is
profiled in-process (cProfile, test Client) so the owner sees where the time goes.

Tunables (env): PAGES_PHOTOS (5000), PAGES_CONNS (4), PAGES_SECONDS per round (4), PAGES_ROUNDS (2),
PAGES_PROFILE=1 to profile every endpoint even when it passes.
"""

from __future__ import annotations

import cProfile
import http.client
import json
import os
import pstats
import random
import secrets
import statistics
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from _harness import HOST, ROOT, Project, Server, start_gunicorn, verdict

PHOTOS = int(os.environ.get("PAGES_PHOTOS", "5000"))
CONNS = int(os.environ.get("PAGES_CONNS", "4"))
SECONDS = float(os.environ.get("PAGES_SECONDS", "4"))
ROUNDS = int(os.environ.get("PAGES_ROUNDS", "2"))
WARMUP_S = 1.0
PAGE = 50
TARGET = 0.5
PROFILE_REQUESTS = 200
SETTINGS = "bench._pages_settings"

_B83 = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz#$%*+,-.:;=?@[]^_{|}~"
# (name, box width, box height, fit), as in settings.IMAGE_VARIANTS.
VARIANTS = (("thumbnail", 80, 80, "cover"), ("small", 300, 300, "inside"), ("medium", 800, 800, "inside"))
VARIANTS += (("large", 1920, 1080, "inside"),)
# Camera originals: 3:2 landscape, 2:3 portrait, 1:1 square.
SHAPES = ((6000, 4000), (4000, 6000), (4000, 4000))
SHAPE_WEIGHTS = (0.5, 0.35, 0.15)
CAMERAS = (
    {"camera": "Canon EOS R5", "lens": "RF24-70mm F2.8 L IS USM"},
    {"camera": "NIKON Z 6_2", "lens": "NIKKOR Z 85mm f/1.8 S"},
    {"camera": "Sony ILCE-7M4", "lens": "FE 35mm F1.4 GM"},
)


@dataclass
class Endpoint:
    name: str
    path: str
    items: Callable[[bytes], int]  # how many photos a response body holds
    latencies: list[float] = field(default_factory=list)
    requests: int = 0
    elapsed: float = 0.0
    errors: list[str] = field(default_factory=list)

    @property
    def rps(self) -> float:
        return self.requests / self.elapsed if self.elapsed else 0.0

    def pct(self, q: float) -> float:
        ordered = sorted(self.latencies)
        return ordered[min(len(ordered) - 1, int(q * len(ordered)))] * 1000 if ordered else float("nan")


def html_items(body: bytes) -> int:
    return body.count(b'class="item')


def api_items(body: bytes) -> int:
    return len(json.loads(body)["results"])


def baseline_items(body: bytes) -> int:
    return len(json.loads(body))


# --- Seeding ---------------------------------------------------------------------------------


def fake_blurhash(rng: random.Random) -> str:
    """A well-formed 4x3 blurhash: size flag, max AC, a DC colour and 11 AC pairs."""
    r, g, b = (rng.randrange(40, 220) for _ in range(3))
    dc, digits = (r << 16) | (g << 8) | b, ""
    for _ in range(4):
        dc, rem = divmod(dc, 83)
        digits = _B83[rem] + digits
    return "L" + rng.choice(_B83[10:40]) + digits + "".join(rng.choice(_B83) for _ in range(22))


def fit(width: int, height: int, box_w: int, box_h: int, how: str) -> tuple[int, int]:
    if how == "cover":
        return box_w, box_h
    scale = min(box_w / width, box_h / height, 1.0)
    return max(1, round(width * scale)), max(1, round(height * scale))


def seed(count: int) -> tuple[str, str]:
    """A public gallery of count ready photos with all variants; returns (slug, id)."""
    from django.db import transaction

    from accounts.models import User
    from galleries import services
    from galleries.models import Asset, AssetStatus, Photo, Variant
    from galleries.storage import variant_key

    rng = random.Random(20240601)
    owner = User.objects.create_user("bench", "bench@example.com", secrets.token_urlsafe(16), is_staff=True)
    gallery = services.gallery_create(owner=owner, title="Five thousand", visibility="public")
    assets, variants, photos = [], [], []
    for i in range(count):
        width, height = rng.choices(SHAPES, SHAPE_WEIGHTS)[0]
        camera = rng.choice(CAMERAS)
        exif = {
            **camera,
            "focal_length": float(rng.choice((24, 35, 50, 70, 85))),
            "aperture": rng.choice((1.8, 2.8, 4.0, 5.6)),
            "shutter": f"1/{rng.choice((60, 125, 250, 500, 1000))}",
            "iso": rng.choice((100, 200, 400, 800, 1600, 3200)),
            "taken_at": f"2024-06-01T{12 + i // 3600 % 10:02d}:{i // 60 % 60:02d}:{i % 60:02d}",
        }
        asset = Asset(
            sha256=f"{rng.getrandbits(256):064x}", mime="image/jpeg", ext="jpg", size=rng.randrange(8, 16) * 2**20,
            width=width, height=height, status=AssetStatus.READY, blurhash=fake_blurhash(rng), exif=exif,
        )  # fmt: skip
        assets.append(asset)
        for name, box_w, box_h, how in VARIANTS:
            w, h = fit(width, height, box_w, box_h, how)
            for fmt in ("avif", "webp"):
                size = max(2000, int(w * h * (0.08 if fmt == "avif" else 0.1)))
                key = variant_key(asset.sha256, name, fmt)
                variants.append(Variant(asset=asset, name=name, format=fmt, width=w, height=h, size=size, key=key))
        title = f"Ceremony {i + 1}" if rng.random() < 0.3 else ""
        photos.append(
            Photo(gallery=gallery, asset=asset, position=i, title=title, alt=f"Guests at the wedding, photo {i + 1}",
                  original_filename=f"IMG_{i + 1:04d}.JPG")
        )  # fmt: skip
    with transaction.atomic():
        Asset.objects.bulk_create(assets, batch_size=500)
        Variant.objects.bulk_create(variants, batch_size=1000)
        Photo.objects.bulk_create(photos, batch_size=500)
    return gallery.slug, str(gallery.pk)


# --- In-process checks: item counts, queries, profiles ---------------------------------------


def in_process_checks(endpoints: list[Endpoint]) -> dict[str, int]:
    """Fetch each endpoint with the test Client: 200, 50 items, and its SQL query count."""
    from django.db import connection
    from django.test import Client
    from django.test.utils import CaptureQueriesContext

    client = Client(HTTP_HOST=HOST)
    counts: dict[str, int] = {}
    for ep in endpoints:
        client.get(ep.path)  # warm: templates, URL resolvers, content types
        with CaptureQueriesContext(connection) as ctx:
            response = client.get(ep.path)
        body = response.content
        items = ep.items(body)
        if response.status_code != 200 or items != PAGE:
            raise SystemExit(f"{ep.name}: {ep.path} -> {response.status_code}, {items} items (want 200 and {PAGE})")
        counts[ep.name] = len(ctx)
        if ep.name == "page" and body.count(b"/media/variants/") < PAGE:
            raise SystemExit("page: the HTML has no signed variant URLs")
    return counts


def profile(path: str, requests: int = PROFILE_REQUESTS) -> str:
    """Where one endpoint's time goes: plain timing, then cProfile over `requests` test-Client requests."""
    from django.test import Client

    client = Client(HTTP_HOST=HOST)
    for _ in range(5):
        client.get(path)
    started = time.perf_counter()
    for _ in range(50):
        client.get(path)
    plain = (time.perf_counter() - started) / 50
    prof = cProfile.Profile()
    prof.enable()
    for _ in range(requests):
        client.get(path)
    prof.disable()
    stats = pstats.Stats(prof).stats  # type: ignore[attr-defined]
    rows = sorted(stats.items(), key=lambda kv: kv[1][3], reverse=True)
    total = rows[0][1][3]
    lines = [
        f"  in-process, test Client: {plain * 1000:.1f} ms/request without profiler; "
        f"{total * 1000 / requests:.1f} ms/request under cProfile ({requests} requests)",
        "  top 15 cumulative below the request/middleware chain (entries at >= 97% of the request omitted):",
        f"  {'cum ms/req':>10} {'% req':>6} {'own ms/req':>10} {'calls/req':>9}  function",
    ]

    def name(key: tuple[str, int, str]) -> str:
        filename, line, func = key
        for prefix in (str(ROOT / ".venv" / "lib" / "python3.11" / "site-packages") + "/", str(ROOT) + "/"):
            filename = filename.removeprefix(prefix)
        return f"{filename}:{line}({func})" if line else func

    def row(key: tuple[str, int, str], value: tuple) -> str:
        _cc, nc, tt, ct, _callers = value
        return (
            f"  {ct * 1000 / requests:>10.2f} {ct / total:>6.1%} {tt * 1000 / requests:>10.2f} "
            f"{nc / requests:>9.0f}  {name(key)}"
        )

    below = [(k, v) for k, v in rows if v[3] < 0.97 * total]
    lines += [row(k, v) for k, v in below[:15]]
    project = [(k, v) for k, v in rows if k[0].startswith(str(ROOT)) and "/.venv/" not in k[0]]
    if project:
        view, _ = project[0]
        lines.append(f"  what {name(view)} calls directly (cumulative, from this caller):")
        callees = [(k, v[4][view]) for k, v in stats.items() if view in v[4]]
        for key, (_cc, nc, tt, ct) in sorted(callees, key=lambda kv: kv[1][3], reverse=True)[:8]:
            lines.append(row(key, (0, nc, tt, ct, None)))
        lines.append("  project code by cumulative time:")
        lines += [row(k, v) for k, v in project[1:11]]
    lines.append("  top 10 by own time:")
    lines += [row(k, v) for k, v in sorted(stats.items(), key=lambda kv: kv[1][2], reverse=True)[:10]]
    return "\n".join(lines)


# --- Server and load -------------------------------------------------------------------------


def drive(port: int, ep: Endpoint, seconds: float, record: bool) -> None:
    """CONNS threads, each a keep-alive connection, requesting ep.path until the deadline."""
    lock = threading.Lock()
    deadline = time.perf_counter() + seconds

    def worker() -> None:
        conn = http.client.HTTPConnection(HOST, port, timeout=30)
        latencies, errors = [], []
        while time.perf_counter() < deadline:
            started = time.perf_counter()
            try:
                conn.request("GET", ep.path)
                response = conn.getresponse()
                body = response.read()
            except (OSError, http.client.HTTPException) as exc:
                errors.append(f"{type(exc).__name__}: {exc}")
                conn.close()
                continue
            latencies.append(time.perf_counter() - started)
            if response.status != 200:
                errors.append(f"HTTP {response.status}: {body[:200]!r}")
                continue
            try:
                items = ep.items(body)
            except (ValueError, KeyError, TypeError) as exc:
                errors.append(f"unreadable body ({type(exc).__name__}): {body[:200]!r}")
                continue
            if items != PAGE:
                errors.append(f"{items} items instead of {PAGE}")
        conn.close()
        if record:
            with lock:
                ep.latencies += latencies
                ep.requests += len(latencies)
                ep.errors += errors

    threads = [threading.Thread(target=worker) for _ in range(CONNS)]
    started = time.perf_counter()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    if record:
        ep.elapsed += time.perf_counter() - started


def server_warnings(log: Path) -> list[str]:
    lines = [line for line in log.read_text(errors="replace").splitlines() if line.strip() and "[INFO]" not in line]
    return list(dict.fromkeys(lines))[:10]


# --- Main ------------------------------------------------------------------------------------


def seed_gallery(project: Project) -> list[Endpoint]:
    """The throwaway project with the gallery seeded; the three endpoints to compare."""
    from django.conf import settings

    project.migrate()
    assert not settings.DEBUG and settings.ROOT_URLCONF == "bench._pages_urls" and not settings.USE_S3
    started = time.perf_counter()
    slug, gallery_id = seed(PHOTOS)
    print(f"pages: gallery of {PHOTOS} ready photos x 8 variants seeded in {time.perf_counter() - started:.1f} s")
    print(f"  gunicorn 2 sync workers, {CONNS} client connections (threads), {os.cpu_count()} cores")
    return [
        Endpoint("page", f"/g/{slug}/", html_items),
        Endpoint("api", f"/api/v1/galleries/{gallery_id}/photos", api_items),
        Endpoint("baseline", f"/bench/baseline/{gallery_id}", baseline_items),
    ]


def check_in_process(endpoints: list[Endpoint]) -> None:
    from django.db import connections

    queries = in_process_checks(endpoints)
    print("  SQL queries per request (test Client, anonymous): " + ", ".join(f"{k} {v}" for k, v in queries.items()))
    connections.close_all()


def measure(server: Server, endpoints: list[Endpoint]) -> None:
    """Warm up, then ROUNDS alternating rounds of SECONDS per endpoint."""
    port = int(server.base.rsplit(":", 1)[1])
    for ep in endpoints:
        drive(port, ep, WARMUP_S, record=False)
    cpu_started, wall_started = time.process_time(), time.perf_counter()
    for _ in range(ROUNDS):
        for ep in endpoints:
            drive(port, ep, SECONDS, record=True)
    client_cpu = (time.process_time() - cpu_started) / (time.perf_counter() - wall_started)
    print(
        f"  {ROUNDS} rounds x {SECONDS:.0f} s per endpoint after {WARMUP_S:.0f} s warm-up; client CPU {client_cpu:.0%}"
    )


def report(endpoints: list[Endpoint], server: Server) -> list[Endpoint]:
    """The table and verdicts; the endpoints to profile."""
    base = endpoints[2].rps
    print(f"  {'endpoint':<9} {'requests':>8} {'rps':>7} {'p50 ms':>7} {'p95 ms':>7} {'vs base':>8}  verdict")
    missed = []
    for ep in endpoints:
        ratio = ep.rps / base if base else 0.0
        if ep.errors:
            shown = f"INVALID ({len(ep.errors)} bad responses: {ep.errors[0]})"
        elif ep.name == "baseline":
            shown = "-"
        else:
            shown = verdict(ratio >= TARGET)
        if (shown != "PASS" and ep.name != "baseline") or os.environ.get("PAGES_PROFILE") == "1":
            missed.append(ep)
        print(
            f"  {ep.name:<9} {ep.requests:>8} {ep.rps:>7.1f} {ep.pct(0.5):>7.1f} {ep.pct(0.95):>7.1f} "
            f"{ratio:>8.2f}  {shown}"
        )
    print(f"  target: rps >= {TARGET:.0%} of the baseline's; mean latency page/api/baseline: "
          + " / ".join(f"{statistics.fmean(ep.latencies) * 1000:.1f} ms" for ep in endpoints if ep.latencies))  # fmt: skip
    warnings = server_warnings(server.log_path)
    if warnings:
        print("  server log (non-INFO lines):")
        for line in warnings:
            print(f"    {line[:200]}")
    return missed


def main() -> None:
    run_started = time.perf_counter()
    project = Project.create("pages", production=True, settings=SETTINGS)
    server: Server | None = None
    try:
        endpoints = seed_gallery(project)
        check_in_process(endpoints)
        server = start_gunicorn(project, workers=2, threads=1, ready_path=endpoints[2].path)
        measure(server, endpoints)
        server.stop(timeout=15)
        for ep in report(endpoints, server):
            print(f"\nprofile of {ep.name} ({ep.path}):")
            print(profile(ep.path))
    finally:
        if server is not None:
            server.kill()
        project.remove()
    print(f"\npages: done in {time.perf_counter() - run_started:.0f} s")


if __name__ == "__main__":
    main()
