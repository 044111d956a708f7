"""Burst: 100 uploads of 24-megapixel JPEGs become `ready` under the real worker.

Runs in a throwaway project state (temporary SQLite database and MEDIA_ROOT), adds the photos
through the same service every door uses, starts `manage.py qcluster` with the default worker
settings, and measures until every asset is ready. Target: within 60 s on a 2-core machine.

The baseline printed beside it is the same images processed one after another in this
process (the pipeline's own speed), so the ratio shows what the queue and workers add.
"""

from __future__ import annotations

import io
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

COUNT = int(os.environ.get("BURST_COUNT", "100"))
TARGET_S = 60.0


def make_base_jpeg(width: int = 6000, height: int = 4000) -> bytes:
    """A photographic-looking 24 MP JPEG: gradients, shapes and sensor-like noise."""
    import numpy as np
    from PIL import Image

    rng = np.random.default_rng(7)
    y, x = np.mgrid[0:height, 0:width].astype(np.float32)
    r = 120 + 80 * np.sin(x / 700) * np.cos(y / 900)
    g = 110 + 70 * np.cos(x / 500 + y / 1300)
    b = 140 + 60 * np.sin((x + y) / 1100)
    img = np.stack([r, g, b], axis=-1) + rng.normal(0, 9, (height, width, 3)).astype(np.float32)
    pil = Image.fromarray(np.clip(img, 0, 255).astype(np.uint8), "RGB")
    buf = io.BytesIO()
    pil.save(buf, "JPEG", quality=90)
    return buf.getvalue()


def unique_copy(base: bytes, n: int) -> bytes:
    """The same picture with its own bytes: a JPEG comment after the start marker."""
    comment = f"burst {n}".encode()
    return base[:2] + b"\xff\xfe" + (len(comment) + 2).to_bytes(2, "big") + comment + base[2:]


def main() -> None:
    workdir = Path(tempfile.mkdtemp(prefix="cs-burst-"))
    env = {
        **os.environ,
        "DATABASE_URL": f"sqlite:///{workdir / 'db.sqlite3'}",
        "MEDIA_ROOT": str(workdir / "media"),
        "DJANGO_SETTINGS_MODULE": "config.settings",
        "DJANGO_DEBUG": "1",
        "LOG_LEVEL": "WARNING",
    }
    os.environ.update(env)
    import django

    django.setup()
    from django.conf import settings
    from django.core.management import call_command

    call_command("migrate", verbosity=0)
    from django.core.files.storage import default_storage

    from accounts.models import User
    from galleries import imaging, services
    from galleries.models import Asset, AssetStatus

    print(f"burst: {COUNT} uploads of 24 MP JPEGs, Q_WORKERS={settings.Q_CLUSTER['workers']}, {os.cpu_count()} cores")
    base = make_base_jpeg()
    print(f"  source JPEG: {len(base) / 2**20:.1f} MB")

    # Baseline: the pipeline alone on three images, in this process.
    specs = imaging.specs_from(settings.IMAGE_VARIANTS)
    samples = []
    for n in range(3):
        started = time.perf_counter()
        imaging.process_image(
            io.BytesIO(unique_copy(base, 10_000 + n)), specs=specs, formats=list(settings.IMAGE_VARIANT_FORMATS),
            max_pixels=settings.MAX_IMAGE_PIXELS, quality=settings.IMAGE_QUALITY, avif_speed=settings.AVIF_SPEED,
            webp_method=settings.WEBP_METHOD,
        )  # fmt: skip
        samples.append(time.perf_counter() - started)
    per_image = sorted(samples)[1]
    ideal = per_image * COUNT / min(settings.Q_CLUSTER["workers"], os.cpu_count() or 1)
    print(f"  pipeline alone: {per_image:.2f} s per image -> ideal for {COUNT} on the workers: {ideal:.1f} s")

    owner = User.objects.create_superuser("bench", "bench@example.com", "x")
    gallery = services.gallery_create(owner=owner, title="Burst", visibility="private")
    from django.db import connection

    started = time.perf_counter()
    for n in range(COUNT):
        services.photo_add(gallery=gallery, file=io.BytesIO(unique_copy(base, n)), filename=f"IMG_{n:04d}.jpg")
    ingest = time.perf_counter() - started
    print(
        f"  ingest through photo_add: {ingest:.1f} s ({COUNT / ingest:.1f} files/s); {Asset.objects.count()} assets queued"
    )
    connection.close()

    worker = subprocess.Popen(
        [sys.executable, "manage.py", "qcluster"], cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE
    )
    started = time.perf_counter()
    ready = 0
    try:
        while time.perf_counter() - started < 600:
            ready = Asset.objects.filter(status=AssetStatus.READY).count()
            failed = Asset.objects.filter(status=AssetStatus.FAILED).count()
            if ready + failed >= COUNT:
                break
            time.sleep(0.5)
        elapsed = time.perf_counter() - started
    finally:
        worker.terminate()
        try:
            worker.wait(timeout=30)
        except subprocess.TimeoutExpired:
            worker.kill()
    variants = sum(1 for _ in default_storage.listdir("variants")[0])
    print(f"  ready: {ready}/{COUNT} in {elapsed:.1f} s ({COUNT / elapsed:.2f} images/s); variant shards: {variants}")
    print(f"  ratio to the ideal (pipeline alone, same run): {elapsed / ideal:.2f}x")
    verdict = "PASS" if ready == COUNT and elapsed <= TARGET_S else "MISS"
    print(f"  target: all {COUNT} ready within {TARGET_S:.0f} s -> {verdict}")
    import shutil

    shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    main()
