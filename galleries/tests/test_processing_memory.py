"""A worker's memory while it processes one very large picture, measured in a fresh process.

The peak may be the decoded source plus a little (the reduced copy, one band, the variants), not
several full-size copies: a 100 MP PNG used to push a worker past 800 MB.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from bench._harness import write_png

ROOT = Path(__file__).resolve().parents[2]

# The child processes one file with the project's variant table and reports its peak RSS (KiB)
# before (imports and codecs loaded on a tiny picture) and after.
CHILD = """
import io, json, resource, sys
sys.path.insert(0, sys.argv[2])
from PIL import Image
from galleries import imaging
specs = imaging.specs_from([("thumbnail", 80, 80, "cover"), ("small", 300, 300, "inside"),
                            ("medium", 800, 800, "inside"), ("large", 1920, 1080, "inside")])
options = dict(specs=specs, formats=["avif", "webp"], max_pixels=120_000_000, avif_speed=9, webp_method=0)
tiny = io.BytesIO()
Image.new("RGB", (96, 64), (1, 2, 3)).save(tiny, "PNG")
imaging.process_image(io.BytesIO(tiny.getvalue()), **options)
before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
with open(sys.argv[1], "rb") as original:
    result = imaging.process_image(original, **options)
after = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
print(json.dumps({"before_kb": before, "after_kb": after, "size": [result.width, result.height]}))
"""


def peak_increase_mb(path: Path) -> tuple[float, list[int]]:
    # A tiny launcher starts the child, so the child's ru_maxrss does not start from this
    # process's peak (Linux carries it across exec).
    launcher = "import subprocess, sys; sys.exit(subprocess.run(sys.argv[1:]).returncode)"
    proc = subprocess.run(
        [sys.executable, "-c", launcher, sys.executable, "-c", CHILD, str(path), str(ROOT)],
        capture_output=True,
        text=True,
        check=False,
        timeout=300,
    )
    assert proc.returncode == 0, proc.stderr
    report = json.loads(proc.stdout.strip().splitlines()[-1])
    return (report["after_kb"] - report["before_kb"]) / 1024, report["size"]


@pytest.mark.parametrize(
    ("size", "sixteen_bit_grey", "bytes_per_pixel"),
    [((10_000, 10_000), False, 4), ((6000, 4000), True, 2)],
    ids=["100MP-RGB-PNG", "24MP-16-bit-grey-PNG"],
)
def test_a_huge_png_is_processed_within_its_decoded_size_plus_a_little(
    tmp_path, size, sixteen_bit_grey, bytes_per_pixel
):
    path = tmp_path / "huge.png"
    write_png(path, *size, sixteen_bit_grey=sixteen_bit_grey)
    increase, processed_size = peak_increase_mb(path)
    assert processed_size == list(size)
    # Pillow holds RGB in 4 bytes per pixel and 16-bit grey in 2. Before: 2.0x (a full-size copy
    # to orient it) for RGB, 12x (float copies of the whole picture) for 16-bit grey.
    decoded_mb = size[0] * size[1] * bytes_per_pixel / 2**20
    assert increase < 1.5 * decoded_mb + 48, f"peak grew {increase:.0f} MB for a {decoded_mb:.0f} MB decoded source"
