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
import time

from _harness import Project, fake_jpeg, start_qcluster, unique_copy, verdict

COUNT = int(os.environ.get("BURST_COUNT", "100"))
TARGET_S = 60.0


def pipeline_alone(base: bytes) -> float:
    """Seconds for one image through the pipeline in this process (median of three)."""
    from django.conf import settings

    from galleries import imaging

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
    return sorted(samples)[1]


def ingest(base: bytes) -> float:
    """COUNT photos through photo_add (the service every door uses); seconds taken."""
    from django.db import connection

    from accounts.models import User
    from galleries import services

    owner = User.objects.create_superuser("bench", "bench@example.com", "x")
    gallery = services.gallery_create(owner=owner, title="Burst", visibility="private")
    started = time.perf_counter()
    for n in range(COUNT):
        services.photo_add(gallery=gallery, file=io.BytesIO(unique_copy(base, n)), filename=f"IMG_{n:04d}.jpg")
    elapsed = time.perf_counter() - started
    connection.close()
    return elapsed


def until_processed(project: Project) -> tuple[int, float]:
    """Start the real worker and wait until every asset is ready or failed: (ready, seconds)."""
    from galleries.models import Asset, AssetStatus

    worker = start_qcluster(project)
    started = time.perf_counter()
    ready = 0
    try:
        while time.perf_counter() - started < 600:
            ready = Asset.objects.filter(status=AssetStatus.READY).count()
            failed = Asset.objects.filter(status=AssetStatus.FAILED).count()
            if ready + failed >= COUNT:
                break
            time.sleep(0.5)
        return ready, time.perf_counter() - started
    finally:
        worker.stop(timeout=30)


def main() -> None:
    project = Project.create("burst")
    try:
        project.migrate()
        from django.conf import settings
        from django.core.files.storage import default_storage

        from galleries.models import Asset

        workers = settings.Q_CLUSTER["workers"]
        print(f"burst: {COUNT} uploads of 24 MP JPEGs, Q_WORKERS={workers}, {os.cpu_count()} cores")
        base = fake_jpeg()
        print(f"  source JPEG: {len(base) / 2**20:.1f} MB")

        per_image = pipeline_alone(base)
        ideal = per_image * COUNT / min(workers, os.cpu_count() or 1)
        print(f"  pipeline alone: {per_image:.2f} s per image -> ideal for {COUNT} on the workers: {ideal:.1f} s")

        took = ingest(base)
        print(
            f"  ingest through photo_add: {took:.1f} s ({COUNT / took:.1f} files/s); {Asset.objects.count()} assets queued"
        )

        ready, elapsed = until_processed(project)
        shards = len(default_storage.listdir("variants")[0])
        print(f"  ready: {ready}/{COUNT} in {elapsed:.1f} s ({COUNT / elapsed:.2f} images/s); variant shards: {shards}")
        print(f"  ratio to the ideal (pipeline alone, same run): {elapsed / ideal:.2f}x")
        print(
            f"  target: all {COUNT} ready within {TARGET_S:.0f} s -> {verdict(ready == COUNT and elapsed <= TARGET_S)}"
        )
    finally:
        project.remove()


if __name__ == "__main__":
    main()
