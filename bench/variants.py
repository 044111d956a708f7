"""Benchmark the image variant pipeline against pyvips and a naive Pillow baseline, in one run.

Run from the project root (pyvips is a bench-only dependency: requirements/bench.txt, installed by `make bench`):

    .venv/bin/python bench/variants.py            # 24 MP landscape + EXIF-rotated portrait (~2 min on a busy machine)
    .venv/bin/python bench/variants.py --quick    # 12 MP images, a fast smoke run
    .venv/bin/python bench/variants.py --sweep    # encoder settings: quality/speed tables (~80 s)
    .venv/bin/python bench/variants.py --large    # peak memory only: 100 MP PNG and 24 MP JPEG (~60 s)

--sweep prints (1) AVIF and WebP quality/speed/method for the large variant of the landscape,
(2) per variant of both images, the lowest AVIF quality that matches WebP q80 method 4, and
(3) whole-pipeline candidates (AVIF and WebP at different qualities, emulated step by step with the
pipeline's own helpers, since process_image took one quality for both formats when the sweep was written).

The pipeline is galleries.imaging.process_image with the project settings (IMAGE_VARIANTS,
IMAGE_VARIANT_FORMATS, IMAGE_QUALITY, AVIF_SPEED, WEBP_METHOD, IMAGE_VARIANT_SKIP). Both others make
exactly its renditions (names, sizes, formats, count; checked) at its encoder settings:
- pyvips: thumbnail_buffer (shrink-on-load, autorotate) for the largest variant, thumbnail_image for each
  smaller one from the one before, heifsave (AV1) and webpsave; the settings mapping is documented at
  pyvips_variants. Target: the pipeline's wall ≤ 1.0x pyvips', per image, as the median of per-round
  ratios over ROUNDS rounds that alternate which goes first; and its bytes no larger at a mean PSNR no
  lower (PSNR_TOLERANCE_DB), both scored against the same reference.
- naive (for information): per variant, reopen, transpose, resize the full image with LANCZOS, save.

Quality is scored against a lossless reference: the original decoded fully (no draft), transposed and
resized with LANCZOS to the variant's exact size. Scores are PSNR over RGB and SSIM over luma
(11x11 gaussian window, sigma 1.5). The script is a report: it always exits 0 and prints MISS for a
target it does not meet.
"""

from __future__ import annotations

import argparse
import io
import logging
import math
import os
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

import numpy as np
from _harness import loadavg, peak_rss_of_child, report_peak, verdict, write_png
from PIL import Image, ImageDraw, ImageFilter, ImageOps

T = TypeVar("T")

FULL_SIZE = (6000, 4000)  # 24 MP
QUICK_SIZE = (4256, 2832)  # 12 MP
PIPELINE_RUNS = 3  # --sweep: the emulated pipeline is timed this many times (median)
ROUNDS = 7  # rounds of pipeline and pyvips, alternating which goes first; medians of per-round ratios
NAIVE_RUNS = 3  # the naive baseline runs in the first rounds only (it is for information)
BLURHASH_RUNS = 50
# AVIF "at equal or better quality" than WebP: its score may trail by at most this much.
PSNR_TOLERANCE_DB = 0.1
SSIM_TOLERANCE = 0.001

TARGET_VIPS_RATIO = 1.0  # pipeline wall / pyvips wall, same outputs and settings
TARGET_WALL_S = 0.6
TARGET_BLURHASH_MS = 5.0
TARGET_PEAK_MB = 300.0

SWEEP_AVIF_QUALITIES = (50, 55, 60, 65, 70, 75, 80)
SWEEP_AVIF_SPEEDS = (6, 7, 8, 9)
SWEEP_SPEED_QUALITIES = (60, 70)
SWEEP_WEBP_QUALITIES = (70, 75, 80, 85, 90)
SWEEP_WEBP_REFERENCE = (80, 4)  # the WebP setting AVIF has to match: quality 80, method 4
SWEEP_MATCH_QUALITIES = tuple(range(56, 81))
SWEEP_MATCH_SPEEDS = (7, 8)
SWEEP_WEBP_METHODS = (2, 3, 6)  # also tried at quality 80
# (AVIF quality, AVIF speed, WebP method) with WebP quality 80, picked from the tables above; the first is today's.
SWEEP_CANDIDATES = ((80, 8, 4), (64, 8, 4), (66, 8, 4), (66, 7, 4), (66, 8, 2), (66, 7, 2))


# --- Django and project settings ----------------------------------------------------------------


def setup_django() -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    import django

    django.setup()


@dataclass(frozen=True)
class Config:
    specs: list[Any]  # galleries.imaging.VariantSpec, largest first
    table: list[tuple[str, int, int, str]]  # settings.IMAGE_VARIANTS as written
    formats: list[str]
    max_pixels: int
    quality: dict
    avif_speed: int
    webp_method: int
    skip: frozenset = frozenset()
    threads: int = 1

    def process(self, fileobj: Any, **overrides: Any) -> Any:
        from galleries import imaging

        kwargs: dict[str, Any] = {
            "specs": self.specs,
            "formats": self.formats,
            "max_pixels": self.max_pixels,
            "quality": self.quality,
            "avif_speed": self.avif_speed,
            "webp_method": self.webp_method,
            "skip": self.skip,
            "threads": self.threads,
        }
        kwargs.update(overrides)
        return imaging.process_image(fileobj, **kwargs)


def load_config() -> Config:
    setup_django()
    from django.conf import settings

    from galleries import imaging

    return Config(
        specs=imaging.specs_from(settings.IMAGE_VARIANTS),
        table=list(settings.IMAGE_VARIANTS),
        formats=list(settings.IMAGE_VARIANT_FORMATS),
        max_pixels=settings.MAX_IMAGE_PIXELS,
        quality=dict(settings.IMAGE_QUALITY),
        avif_speed=settings.AVIF_SPEED,
        webp_method=settings.WEBP_METHOD,
        skip=frozenset(settings.IMAGE_VARIANT_SKIP),
        threads=settings.IMAGE_ENCODE_THREADS,
    )


# --- Test pictures -------------------------------------------------------------------------------


@dataclass(frozen=True)
class Photo:
    name: str
    jpeg: bytes
    stored: tuple[int, int]
    displayed: tuple[int, int]
    orientation: int


def _field(rng: np.random.Generator, width: int, height: int, cell: int) -> np.ndarray:
    """A smooth random field (roughly unit amplitude) with features about `cell` pixels across."""
    small = rng.standard_normal((height // cell + 3, width // cell + 3), dtype=np.float32)
    return np.asarray(Image.fromarray(small).resize((width, height), Image.Resampling.BICUBIC))


def _curve(rng: np.random.Generator, n: int, points: int, amplitude: float) -> np.ndarray:
    return np.interp(np.linspace(0, 1, n), np.linspace(0, 1, points), rng.uniform(-amplitude, amplitude, points))


def make_photo(width: int, height: int, seed: int) -> np.ndarray:
    """A photograph-like RGB picture: sky with clouds, hills, buildings, trees, texture and sensor noise."""
    rng = np.random.default_rng(seed)
    # Low-frequency scene at quarter resolution.
    lw, lh = width // 4, height // 4
    y = np.linspace(0, 1, lh, dtype=np.float32)[:, None]
    horizon = (0.5 + _curve(rng, lw, 10, 0.08) + _curve(rng, lw, 80, 0.012)).astype(np.float32)[None, :]
    sky = y < horizon
    t = np.clip(y / horizon, 0, 1)[..., None]
    sky_rgb = (1 - t) * np.array([60, 110, 185], np.float32) + t * np.array([205, 218, 232], np.float32)
    clouds = np.clip(_field(rng, lw, lh, lw // 12) + 0.5 * _field(rng, lw, lh, lw // 40) - 0.3, 0, 1)
    sky_rgb += clouds[..., None] * (np.array([245, 245, 248], np.float32) - sky_rgb) * 0.8
    mix = np.clip(0.5 + 0.6 * _field(rng, lw, lh, lw // 10), 0, 1)[..., None]
    ground_rgb = (1 - mix) * np.array([58, 92, 38], np.float32) + mix * np.array([120, 100, 66], np.float32)
    ground_rgb *= (1.0 - 0.35 * np.clip((y - horizon) / (1 - horizon), 0, 1))[..., None]
    ground_rgb *= (1 + 0.12 * _field(rng, lw, lh, 16))[..., None]
    base = np.where(sky[..., None], sky_rgb, ground_rgb)
    detail = np.where(sky, 0.15, 1.0).astype(np.float32)
    img = Image.fromarray(np.clip(base, 0, 255).astype(np.uint8)).resize((width, height), Image.Resampling.BICUBIC)
    detail_full = np.asarray(Image.fromarray(detail).resize((width, height), Image.Resampling.BILINEAR))
    del base, sky_rgb, ground_rgb

    # Sharp-edged objects at full resolution.
    draw = ImageDraw.Draw(img, "RGBA")
    line = (horizon[0] * height).astype(int)
    for _ in range(12):  # buildings with windows
        bw, bh = int(rng.integers(width // 40, width // 12)), int(rng.integers(height // 10, height // 3))
        x0 = int(rng.integers(0, width - bw))
        ground = int(line[min(lw - 1, x0 // 4)]) + int(rng.integers(0, height // 20))
        wall = tuple(int(c) for c in rng.integers(60, 200, 3))
        draw.rectangle((x0, ground - bh, x0 + bw, ground), fill=(*wall, 255))
        step = max(12, bw // 10)
        for wy in range(ground - bh + step // 2, ground - step, step):
            for wx in range(x0 + step // 3, x0 + bw - step // 2, step):
                lit = int(rng.integers(30, 230))
                draw.rectangle((wx, wy, wx + step // 2, wy + step * 2 // 3), fill=(lit, lit, int(lit * 0.9), 255))
    for _ in range(160):  # trees and bushes, translucent so they overlap
        cx = int(rng.integers(0, width))
        cy = int(line[min(lw - 1, cx // 4)]) + int(rng.integers(-height // 30, height // 2))
        r = int(rng.integers(width // 200, width // 30))
        green = (int(rng.integers(20, 80)), int(rng.integers(60, 140)), int(rng.integers(15, 60)))
        draw.ellipse((cx - r, cy - r, cx + r, cy + int(r * 1.3)), fill=(*green, int(rng.integers(150, 255))))
    for _ in range(50):  # rocks
        cx, cy = int(rng.integers(0, width)), int(rng.integers(height // 2, height))
        r = int(rng.integers(width // 300, width // 40))
        pts = [
            (cx + r * math.cos(a) * rng.uniform(0.6, 1.2), cy + r * math.sin(a) * rng.uniform(0.5, 1.0))
            for a in np.linspace(0, 2 * math.pi, 9)
        ]
        grey = int(rng.integers(70, 180))
        draw.polygon(pts, fill=(grey, grey - 5, grey - 12, 230))
    for _ in range(30):  # wires and branches
        x0, y0 = int(rng.integers(0, width)), int(rng.integers(0, height))
        x1, y1 = x0 + int(rng.integers(-width // 4, width // 4)), y0 + int(rng.integers(-height // 8, height // 8))
        draw.line((x0, y0, x1, y1), fill=(30, 30, 30, 220), width=int(rng.integers(2, 7)))
    img = img.filter(ImageFilter.GaussianBlur(0.7))  # lens softness

    # Texture (grass, foliage, grain) and sensor noise.
    pixels = np.asarray(img, dtype=np.float32)
    del img
    texture = 9 * _field(rng, width, height, 24) + 7 * _field(rng, width, height, 5) + 5 * _field(rng, width, height, 2)
    texture *= detail_full
    pixels += texture[..., None]
    del texture, detail_full
    pixels += rng.standard_normal(pixels.shape, dtype=np.float32) * 3.0
    return np.clip(pixels, 0, 255).astype(np.uint8)


def _jpeg(pixels: np.ndarray, orientation: int) -> bytes:
    exif = Image.Exif()
    exif[0x010F] = "BenchCam"
    exif[0x0110] = "BenchCam R24"
    exif[0x0112] = orientation
    exif[0x0132] = "2024:05:01 12:00:00"
    buf = io.BytesIO()
    Image.fromarray(pixels).save(buf, "JPEG", quality=92, exif=exif.tobytes())
    return buf.getvalue()


def make_photos(size: tuple[int, int]) -> list[Photo]:
    width, height = size
    landscape = _jpeg(make_photo(width, height, seed=1), orientation=1)
    # A portrait shot on a camera held sideways: stored landscape, EXIF 6 turns it 90° clockwise for display.
    portrait = _jpeg(np.ascontiguousarray(np.rot90(make_photo(height, width, seed=2))), orientation=6)
    return [
        Photo("landscape", landscape, (width, height), (width, height), 1),
        Photo("portrait (EXIF 6)", portrait, (width, height), (height, width), 6),
    ]


# --- Scores ----------------------------------------------------------------------------------------


def _gaussian(size: int = 11, sigma: float = 1.5) -> np.ndarray:
    x = np.arange(size) - size // 2
    w = np.exp(-(x**2) / (2 * sigma**2))
    return w / w.sum()


def _filter(a: np.ndarray, w: np.ndarray) -> np.ndarray:
    """Separable 'valid' convolution with a symmetric 1-D kernel."""
    n = len(w)
    cols = a.shape[1] - n + 1
    tmp = sum(w[k] * a[:, k : k + cols] for k in range(n))
    rows = a.shape[0] - n + 1
    return sum(w[k] * tmp[k : k + rows, :] for k in range(n))


def _luma(rgb: np.ndarray) -> np.ndarray:
    return rgb[..., 0] * 0.299 + rgb[..., 1] * 0.587 + rgb[..., 2] * 0.114


def psnr(a: np.ndarray, b: np.ndarray) -> float:
    mse = float(np.mean((a.astype(np.float64) - b.astype(np.float64)) ** 2))
    return math.inf if mse == 0 else 10 * math.log10(255.0**2 / mse)


def ssim(a: np.ndarray, b: np.ndarray) -> float:
    """Mean SSIM over luma, 11x11 gaussian window (sigma 1.5), as in Wang et al. 2004."""
    x, y = _luma(a.astype(np.float64)), _luma(b.astype(np.float64))
    w = _gaussian()
    c1, c2 = (0.01 * 255) ** 2, (0.03 * 255) ** 2
    mx, my = _filter(x, w), _filter(y, w)
    sxx = _filter(x * x, w) - mx * mx
    syy = _filter(y * y, w) - my * my
    sxy = _filter(x * y, w) - mx * my
    s = ((2 * mx * my + c1) * (2 * sxy + c2)) / ((mx * mx + my * my + c1) * (sxx + syy + c2))
    return float(s.mean())


@dataclass(frozen=True)
class Score:
    psnr: float
    ssim: float

    def at_least(self, other: Score) -> bool:
        return self.psnr >= other.psnr - PSNR_TOLERANCE_DB and self.ssim >= other.ssim - SSIM_TOLERANCE


def score(data: bytes, reference: np.ndarray) -> Score:
    with Image.open(io.BytesIO(data)) as im:
        decoded = np.asarray(im.convert("RGB"))
    if decoded.shape != reference.shape:
        raise ValueError(f"decoded {decoded.shape} != reference {reference.shape}")
    return Score(psnr(decoded, reference), ssim(decoded, reference))


def full_reference(jpeg: bytes) -> Image.Image:
    """The original decoded at full size (no draft), transposed, in RGB."""
    with Image.open(io.BytesIO(jpeg)) as im:
        im.load()
        return ImageOps.exif_transpose(im).convert("RGB")


def reference_for(full: Image.Image, width: int, height: int, fit: str) -> np.ndarray:
    if fit == "cover":
        return np.asarray(ImageOps.fit(full, (width, height), Image.Resampling.LANCZOS))
    return np.asarray(full.resize((width, height), Image.Resampling.LANCZOS))


# --- Measurement helpers ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Timing:
    wall: float
    cpu: float


def timed(fn: Callable[[], T]) -> tuple[T, Timing]:
    w0, c0 = time.perf_counter(), time.process_time()
    result = fn()
    return result, Timing(time.perf_counter() - w0, time.process_time() - c0)


def _inside(size: tuple[int, int], box: tuple[int, int]) -> tuple[int, int]:
    scale = min(box[0] / size[0], box[1] / size[1], 1.0)  # never upscale
    return max(1, round(size[0] * scale)), max(1, round(size[1] * scale))


def quality_of(cfg: Config, name: str, fmt: str) -> int:
    """The quality process_image uses for this rendition (per variant and format, else per format)."""
    return cfg.quality.get((name, fmt), cfg.quality.get(fmt, 80))


def naive_baseline(jpeg: bytes, cfg: Config) -> dict[tuple[str, str], bytes]:
    """What one would write first: per variant, reopen, transpose, resize the full image, save.

    Same outputs as the pipeline (every variant and format except IMAGE_VARIANT_SKIP, same sizes)
    and the same encoder settings (per-rendition quality, AVIF speed, WebP method, Pillow's 4:2:0):
    only the method differs (no draft decode, no chain of smaller variants, full-size LANCZOS).
    """
    out: dict[tuple[str, str], bytes] = {}
    for name, width, height, fit in cfg.table:
        with Image.open(io.BytesIO(jpeg)) as im:
            img = ImageOps.exif_transpose(im)
        if fit == "cover":
            frame = ImageOps.fit(img, (min(width, img.width), min(height, img.height)), Image.Resampling.LANCZOS)
        else:
            frame = img.resize(_inside(img.size, (width, height)), Image.Resampling.LANCZOS)
        for fmt in cfg.formats:
            if (name, fmt) in cfg.skip:
                continue
            buf = io.BytesIO()
            q = quality_of(cfg, name, fmt)
            if fmt == "avif":
                frame.save(buf, "AVIF", quality=q, speed=cfg.avif_speed)
            elif fmt == "webp":
                frame.save(buf, "WEBP", quality=q, method=cfg.webp_method)
            else:
                frame.save(buf, "JPEG", quality=q, optimize=True, progressive=True)
            out[(name, fmt)] = buf.getvalue()
    return out


# --- pyvips: the same outputs at the same settings --------------------------------------------------
#
# Settings mapping, from the libvips and libavif sources (both encode AV1 with the same libaom):
# - AVIF: Pillow -> libavif `speed` s is libaom cpu-used s (0-9); libvips heifsave `effort` e sets
#   libheif's aom "speed" to 9 - e, which is cpu-used 9 - e. So speed 8 = effort 1. Quality q is
#   Q q in both (each maps it to the AV1 quantizer with the same (100 - q) * 63 / 100 formula);
#   chroma 4:2:0 in both (Pillow's default; subsample_mode "on"), 8 bits, no metadata (keep none).
# - WebP: method m = effort m, quality q = Q q, 4:2:0 without smart subsampling in both (same libwebp).
# - Threads: Pillow's AVIF encoder uses os.cpu_count() threads; libvips' pool has
#   pyvips.concurrency_get() threads (printed): the same 2 here.
# The check is measured, not assumed: the bench prints both libraries' bytes and PSNR per rendition.


def pyvips_available() -> bool:
    try:
        import pyvips  # noqa: F401
    except (ImportError, OSError):
        return False
    return True


def avif_effort(speed: int) -> int:
    """libvips heifsave effort for a libavif speed: libheif's aom speed is 9 - effort."""
    return max(0, min(9, 9 - speed))


def pyvips_variants(jpeg: bytes, cfg: Config) -> dict[tuple[str, str], bytes]:
    """The pipeline's renditions made the idiomatic libvips way, at the same settings and sizes.

    thumbnail_buffer (shrink-on-load, EXIF autorotate) makes the largest variant; each smaller one is
    cut from the one before with thumbnail_image, as the pipeline cuts its chain; cover variants are
    centre crops. Each frame is made once in memory (copy_memory), then encoded per format.
    """
    import pyvips

    header = pyvips.Image.new_from_buffer(jpeg, "")
    orientation = header.get("orientation") if header.get_typeof("orientation") else 1
    width, height = (header.height, header.width) if orientation in (5, 6, 7, 8) else (header.width, header.height)
    out: dict[tuple[str, str], bytes] = {}
    source = None  # the last "inside" frame: smaller variants are cut from it
    for spec in cfg.specs:
        if spec.fit == "cover":
            size = (min(spec.width, width), min(spec.height, height))
            options: dict[str, Any] = {"height": size[1], "crop": "centre"}
        else:
            size = _inside((width, height), (spec.width, spec.height))
            options = {"height": size[1], "size": "force"}  # the pipeline's exact rounding
        if source is None:
            frame = pyvips.Image.thumbnail_buffer(jpeg, size[0], **options).copy_memory()
        else:
            frame = source.thumbnail_image(size[0], **options).copy_memory()
        if spec.fit != "cover":
            source = frame
        for fmt in cfg.formats:
            if (spec.name, fmt) in cfg.skip:
                continue
            q = quality_of(cfg, spec.name, fmt)
            if fmt == "avif":
                data = frame.heifsave_buffer(
                    Q=q,
                    compression="av1",
                    effort=avif_effort(cfg.avif_speed),
                    subsample_mode="on",
                    bitdepth=8,
                    keep="none",
                )
            elif fmt == "webp":
                data = frame.webpsave_buffer(Q=q, effort=cfg.webp_method, smart_subsample=False, keep="none")
            else:
                data = frame.jpegsave_buffer(Q=q, optimize_coding=True, interlace=True, keep="none")
            out[(spec.name, fmt)] = data
    return out


def _kb(n: float) -> str:
    return f"{n / 1024:,.1f} KB"


def _mb_rss(kb: int) -> float:
    return kb / 1024  # Linux reports ru_maxrss in KiB


def warm_up(cfg: Config) -> None:
    """Load codecs and lazy imports so the first timed run does not pay for them."""
    buf = io.BytesIO()
    Image.fromarray(make_photo(400, 300, seed=9)).save(buf, "JPEG", quality=92)
    data = buf.getvalue()
    cfg.process(io.BytesIO(data))
    naive_baseline(data, cfg)
    if pyvips_available():
        pyvips_variants(data, cfg)


# --- Peak memory in a fresh process ------------------------------------------------------------------


def memory_child(path: str, naive: bool = False) -> None:
    """Runs in a fresh interpreter: process one image; report_peak prints ru_maxrss before and after."""
    cfg = load_config()
    from galleries import imaging  # noqa: F401 - imported before the baseline on purpose

    buf = io.BytesIO()
    Image.fromarray(np.full((64, 96, 3), 128, np.uint8)).save(buf, "JPEG")
    cfg.process(io.BytesIO(buf.getvalue()))  # loads codecs and lazy imports on a tiny picture
    naive_baseline(buf.getvalue(), cfg)

    def work() -> dict[str, Any]:
        if naive:
            return {"renditions": len(naive_baseline(Path(path).read_bytes(), cfg))}
        with open(path, "rb") as original:
            return {"renditions": len(cfg.process(original).renditions)}

    report_peak(work)


def measure_memory(photo: Photo) -> tuple[float, float]:
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "original.jpg"
        path.write_bytes(photo.jpeg)
        return measure_memory_of(path)


def measure_memory_of(path: Path, naive: bool = False) -> tuple[float, float]:
    """Peak RSS (MB) of a fresh process that processes the file at path, and its increase while processing."""
    # This process has held several 24 MP float arrays: the harness starts the child through a launcher.
    args = ["--memory-child", str(path), *(["--memory-naive"] if naive else [])]
    report = peak_rss_of_child(Path(__file__).resolve(), *args)
    peak = _mb_rss(report["after_kb"])
    if abs(peak - _mb_rss(report["vmhwm_kb"])) > 2:
        print(f"  note: ru_maxrss {peak:.1f} MB differs from VmHWM {_mb_rss(report['vmhwm_kb']):.1f} MB")
    return peak, peak - _mb_rss(report["before_kb"])


# --- --large: peak memory on very large originals ----------------------------------------------------------


def large_run(cfg: Config) -> None:
    """Peak RSS of one process handling a 100 MP PNG (decoded whole) and a 24 MP JPEG (decoded at 1/2).

    The pipeline may hold the decoded source plus a little (the reduced copy, a band, the variants);
    the naive baseline shows what decoding, orienting and resizing whole pictures costs.
    """
    print("\n== peak memory on large originals, each in a fresh process (ru_maxrss); decoded = Pillow's pixels")
    with tempfile.TemporaryDirectory() as tmp:
        png, jpeg = Path(tmp) / "100mp.png", Path(tmp) / "24mp.jpg"
        write_png(png, 10_000, 10_000)
        jpeg.write_bytes(make_photos(FULL_SIZE)[0].jpeg)
        # RGB is 4 bytes per pixel in Pillow; the 6000x4000 JPEG is decoded at 3000x2000 (draft 1/2).
        cases = [("100 MP PNG", png, 10_000 * 10_000 * 4 / 2**20), ("24 MP JPEG", jpeg, 3000 * 2000 * 4 / 2**20)]
        verdicts = []
        for name, path, decoded_mb in cases:
            peak, increase = measure_memory_of(path)
            naive_peak, naive_increase = measure_memory_of(path, naive=True)
            print(
                f"  {name:<11} pipeline peak {peak:6.1f} MB (+{increase:5.1f} = {increase / decoded_mb:4.2f}x decoded "
                f"{decoded_mb:5.1f} MB)   naive peak {naive_peak:6.1f} MB (+{naive_increase:5.1f})   "
                f"naive/pipeline increase {naive_increase / increase:4.1f}x"
            )
            verdicts.append((name, increase <= 1.5 * decoded_mb + 48))
    for name, ok in verdicts:
        print(f"  {verdict(ok)}  {name}: increase while processing ≤ 1.5x the decoded source + 48 MB")


# --- The default report -------------------------------------------------------------------------------


@dataclass
class ImageResult:
    photo: Photo
    naive: Timing
    pipeline: Timing
    vips: Timing | None
    vips_ratio: float | None  # median over rounds of pipeline wall / pyvips wall in the same round
    naive_ratio: float  # median over rounds of naive wall / pipeline wall
    bytes_ok: bool | None  # pipeline total bytes ≤ pyvips' at a mean PSNR no lower (tolerance)
    avif_ok: list[tuple[str, bool]]


def _median_timing(samples: list[Timing]) -> Timing:
    return Timing(statistics.median(t.wall for t in samples), statistics.median(t.cpu for t in samples))


def measure_rounds(photo: Photo, cfg: Config, vips: bool) -> dict[str, Any]:
    """ROUNDS rounds of pipeline and pyvips, alternating which goes first (AB, BA, ...); the naive
    baseline runs after them in the first NAIVE_RUNS rounds. Ratios are taken within each round."""
    runs: dict[str, list[Timing]] = {"pipeline": [], "pyvips": [], "naive": []}
    outputs: dict[str, Any] = {}
    jobs: dict[str, Callable[[], Any]] = {
        "pipeline": lambda: cfg.process(io.BytesIO(photo.jpeg)),
        "pyvips": lambda: pyvips_variants(photo.jpeg, cfg),
        "naive": lambda: naive_baseline(photo.jpeg, cfg),
    }
    vips_ratios, vips_cpu_ratios, naive_ratios = [], [], []
    for n in range(ROUNDS):
        order = ["pipeline", "pyvips"] if n % 2 == 0 else ["pyvips", "pipeline"]
        order = [name for name in order if vips or name != "pyvips"]
        if n < NAIVE_RUNS:
            order.append("naive")
        this: dict[str, Timing] = {}
        for name in order:
            outputs[name], this[name] = timed(jobs[name])
            runs[name].append(this[name])
        if "pyvips" in this:
            vips_ratios.append(this["pipeline"].wall / this["pyvips"].wall)
            vips_cpu_ratios.append(this["pipeline"].cpu / this["pyvips"].cpu)
        if "naive" in this:
            naive_ratios.append(this["naive"].wall / this["pipeline"].wall)
    return {
        "timings": {name: _median_timing(t) for name, t in runs.items() if t},
        "outputs": outputs,
        "vips_ratio": statistics.median(vips_ratios) if vips_ratios else None,
        "vips_ratios": vips_ratios,
        "vips_cpu_ratio": statistics.median(vips_cpu_ratios) if vips_cpu_ratios else None,
        "naive_ratio": statistics.median(naive_ratios),
    }


def bench_image(photo: Photo, cfg: Config, vips: bool) -> ImageResult:
    mp = photo.stored[0] * photo.stored[1] / 1e6
    print(
        f"\n== {photo.name}: stored {photo.stored[0]}x{photo.stored[1]}, displayed "
        f"{photo.displayed[0]}x{photo.displayed[1]} ({mp:.1f} MP, JPEG q92 {_kb(len(photo.jpeg))})"
    )
    print(f"  load average before: {loadavg()}")
    m = measure_rounds(photo, cfg, vips)
    print(f"  load average after:  {loadavg()}")
    tm, result = m["timings"], m["outputs"]["pipeline"]
    pipe_t, naive_t, vips_t = tm["pipeline"], tm["naive"], tm.get("pyvips")
    print(f"  pipeline         wall {pipe_t.wall:6.3f} s   cpu {pipe_t.cpu:6.3f} s   (median of {ROUNDS})")
    if vips_t is not None:
        print(f"  pyvips           wall {vips_t.wall:6.3f} s   cpu {vips_t.cpu:6.3f} s   (median of {ROUNDS})")
        print(
            f"  pipeline/pyvips  {m['vips_ratio']:6.2f} x  (median of per-round ratios: "
            + ", ".join(f"{r:.2f}" for r in m["vips_ratios"])
            + ")"
        )
        # CPU seconds of all threads: the work done, whatever share of the cores the process got.
        print(f"  pipeline/pyvips  {m['vips_cpu_ratio']:6.2f} x  cpu (median of per-round ratios; information)")
    print(f"  naive baseline   wall {naive_t.wall:6.3f} s   cpu {naive_t.cpu:6.3f} s   (median of {NAIVE_RUNS})")
    print(f"  naive/pipeline   {m['naive_ratio']:6.2f} x  (for information: same outputs, same settings)")
    print(f"  blurhash {result.blurhash}; EXIF {result.exif}")
    print(f"  pipeline stages (one run, rebuilt from its helpers): {stage_breakdown(photo, cfg)}")

    full = full_reference(photo.jpeg)
    table = {(r.name, r.format): r for r in result.renditions}
    naive = m["outputs"]["naive"]
    if set(naive) != set(table):
        raise AssertionError(f"naive baseline made {sorted(naive)}, pipeline {sorted(table)}")
    refs = {spec.name: None for spec in cfg.specs}
    print(
        f"\n  {'variant':<10}{'size':>10} | {'AVIF bytes':>11}{'PSNR':>7}{'SSIM':>8} | {'WebP bytes':>11}"
        f"{'PSNR':>7}{'SSIM':>8} | {'AVIF/WebP':>9}  AVIF ≤ WebP bytes at ≥ score"
    )
    avif_ok: list[tuple[str, bool]] = []
    for spec in cfg.specs:
        webp = table[(spec.name, "webp")]
        refs[spec.name] = reference_for(full, webp.width, webp.height, spec.fit)
        if (spec.name, "avif") not in table:
            print(
                f"  {spec.name:<10}{f'{webp.width}x{webp.height}':>10} | {'WebP only (setting IMAGE_VARIANT_SKIP)':>26} | {_kb(len(webp.data)):>11}"
            )
            continue
        avif = table[(spec.name, "avif")]
        sa, sw = score(avif.data, refs[spec.name]), score(webp.data, refs[spec.name])
        ok = len(avif.data) <= len(webp.data) and sa.at_least(sw)
        avif_ok.append((spec.name, ok))
        print(
            f"  {spec.name:<10}{f'{avif.width}x{avif.height}':>10} | {_kb(len(avif.data)):>11}{sa.psnr:7.2f}"
            f"{sa.ssim:8.4f} | {_kb(len(webp.data)):>11}{sw.psnr:7.2f}{sw.ssim:8.4f} | "
            f"{len(avif.data) / len(webp.data):9.2f}  {'yes' if ok else 'no'}"
        )

    bytes_ok = None
    if vips:
        bytes_ok = compare_outputs(cfg, table, m["outputs"]["pyvips"], refs)
    return ImageResult(photo, naive_t, pipe_t, vips_t, m["vips_ratio"], m["naive_ratio"], bytes_ok, avif_ok)


def compare_outputs(
    cfg: Config, table: dict[tuple[str, str], Any], vips_out: dict[tuple[str, str], bytes], refs: dict[str, Any]
) -> bool:
    """Per rendition, pipeline and pyvips bytes and PSNR against the same reference; True when the
    pipeline's total bytes are no larger at a mean PSNR no lower (PSNR_TOLERANCE_DB)."""
    if set(vips_out) != set(table):
        raise AssertionError(f"pyvips made {sorted(vips_out)}, pipeline {sorted(table)}")
    print(
        f"\n  pipeline vs pyvips, same reference (full decode, LANCZOS to the exact size)\n"
        f"  {'rendition':<16}{'size':>10} | {'pipeline':>11}{'PSNR':>7} | {'pyvips':>11}{'PSNR':>7} | {'bytes':>6}{'ΔPSNR':>7}"
    )
    sums = {"pipeline": 0, "pyvips": 0}
    psnrs: dict[str, list[float]] = {"pipeline": [], "pyvips": []}
    for (name, fmt), rend in table.items():
        with Image.open(io.BytesIO(vips_out[(name, fmt)])) as im:
            if im.size != (rend.width, rend.height):
                raise AssertionError(f"pyvips {name} {fmt} is {im.size}, pipeline {rend.width}x{rend.height}")
        p_psnr = score(rend.data, refs[name]).psnr
        v_psnr = score(vips_out[(name, fmt)], refs[name]).psnr
        p_bytes, v_bytes = len(rend.data), len(vips_out[(name, fmt)])
        sums["pipeline"] += p_bytes
        sums["pyvips"] += v_bytes
        psnrs["pipeline"].append(p_psnr)
        psnrs["pyvips"].append(v_psnr)
        print(
            f"  {f'{name} {fmt}':<16}{f'{rend.width}x{rend.height}':>10} | {_kb(p_bytes):>11}{p_psnr:7.2f} | "
            f"{_kb(v_bytes):>11}{v_psnr:7.2f} | {p_bytes / v_bytes:6.3f}{p_psnr - v_psnr:+7.2f}"
        )
    mean_p, mean_v = statistics.mean(psnrs["pipeline"]), statistics.mean(psnrs["pyvips"])
    print(
        f"  {'total':<26} | {_kb(sums['pipeline']):>11}{mean_p:7.2f} | {_kb(sums['pyvips']):>11}{mean_v:7.2f} | "
        f"{sums['pipeline'] / sums['pyvips']:6.3f}{mean_p - mean_v:+7.2f}   (PSNR: mean over renditions)"
    )
    return sums["pipeline"] <= sums["pyvips"] and mean_p >= mean_v - PSNR_TOLERANCE_DB


def blurhash_ms(photo: Photo) -> float:
    from galleries.imaging import blurhash_of

    full = full_reference(photo.jpeg)
    small = full.resize(_inside(full.size, (300, 300)), Image.Resampling.LANCZOS)
    for _ in range(3):
        blurhash_of(small)
    samples = []
    for _ in range(BLURHASH_RUNS):
        t0 = time.perf_counter()
        blurhash_of(small)
        samples.append(time.perf_counter() - t0)
    print(
        f"\n== blurhash_of on a {small.width}x{small.height} image: median {statistics.median(samples) * 1e3:.2f} ms "
        f"(min {min(samples) * 1e3:.2f}, max {max(samples) * 1e3:.2f}, {BLURHASH_RUNS} runs)"
    )
    return statistics.median(samples) * 1e3


def default_run(cfg: Config, size: tuple[int, int], quick: bool) -> None:
    started = time.perf_counter()
    photos, gen_t = timed(lambda: make_photos(size))
    print(f"generated {len(photos)} test JPEGs ({size[0]}x{size[1]}) in {gen_t.wall:.1f} s")
    vips = pyvips_available()
    if vips:
        import pyvips

        logging.getLogger("pyvips").setLevel(logging.WARNING)  # its INFO lines would flood the report
        print(
            f"pyvips {pyvips.__version__}, libvips {pyvips.version(0)}.{pyvips.version(1)}.{pyvips.version(2)}, "
            f"{pyvips.concurrency_get()} vips threads; AVIF speed {cfg.avif_speed} = heifsave effort "
            f"{avif_effort(cfg.avif_speed)}, WebP method {cfg.webp_method} = webpsave effort {cfg.webp_method}"
        )
    else:
        print("pyvips is not installed (pip install -r requirements/bench.txt): the pyvips comparison is skipped")
    warm_up(cfg)
    results = [bench_image(photo, cfg, vips) for photo in photos]
    bh_ms = blurhash_ms(photos[0])

    print("\n== peak memory, pipeline on one image in a fresh process (ru_maxrss)")
    peaks = []
    for photo in photos:
        peak, increase = measure_memory(photo)
        peaks.append((peak, increase))
        print(f"  {photo.name:<18} peak {peak:6.1f} MB   increase while processing {increase:6.1f} MB")

    mp = size[0] * size[1] / 1e6
    max_wall = max(r.pipeline.wall for r in results)
    avif_misses = [f"{r.photo.name.split()[0]}/{name}" for r in results for name, ok in r.avif_ok if not ok]
    avif_total = sum(len(r.avif_ok) for r in results)
    max_peak = max(p for p, _ in peaks)
    max_increase = max(i for _, i in peaks)
    note = f" (--quick: {mp:.0f} MP images, not 24 MP)" if quick else ""
    print(
        f"\n== summary{note}; settings: quality {cfg.quality}, avif_speed {cfg.avif_speed}, "
        f"webp_method {cfg.webp_method}, formats {cfg.formats}"
    )
    for r in results:
        head = f"{r.photo.name.split()[0]:<10}"
        if r.vips is None:
            print(f"  SKIP  {head}variants: ≤ {TARGET_VIPS_RATIO:.1f}× pyvips' time at equal settings: pyvips missing")
            continue
        print(
            f"  {verdict(r.vips_ratio <= TARGET_VIPS_RATIO)}  {head}variants: ≤ {TARGET_VIPS_RATIO:.1f}× pyvips' time "
            f"at equal settings: {r.vips_ratio:.2f}× (pipeline {r.pipeline.wall:.3f} s, pyvips {r.vips.wall:.3f} s)"
        )
        print(
            f"  {verdict(r.bytes_ok)}  {head}bytes ≤ pyvips' at mean PSNR ≥ pyvips' -{PSNR_TOLERANCE_DB} dB "
            f"(table above)"
        )
    print(
        "  info  naive baseline (same outputs and settings) / pipeline: "
        + ", ".join(f"{r.photo.name.split()[0]} {r.naive_ratio:.1f}×" for r in results)
    )
    print(
        f"  {verdict(max_wall <= TARGET_WALL_S)}  ≤ {TARGET_WALL_S} s wall per {mp:.0f} MP image: {max_wall:.2f} s (worst image)"
    )
    print(
        f"  {verdict(not avif_misses)}  AVIF ≤ WebP bytes at ≥ score (PSNR -{PSNR_TOLERANCE_DB} dB, SSIM -{SSIM_TOLERANCE} "
        f"tolerance): {avif_total - len(avif_misses)}/{avif_total} variants"
        + (f"; misses: {', '.join(avif_misses)}" if avif_misses else "")
    )
    print(f"  {verdict(bh_ms <= TARGET_BLURHASH_MS)}  blurhash ≤ {TARGET_BLURHASH_MS:.0f} ms: {bh_ms:.2f} ms")
    print(
        f"  {verdict(max_peak <= TARGET_PEAK_MB)}  peak memory ≤ {TARGET_PEAK_MB:.0f} MB: {max_peak:.0f} MB absolute peak "
        f"(increase while processing {max_increase:.0f} MB)"
    )
    print(f"total bench time {time.perf_counter() - started:.0f} s")


# --- --sweep: encoder settings for the large variant ---------------------------------------------------


def _pipeline_frames(photo: Photo, cfg: Config) -> dict[str, Image.Image]:
    """The frames process_image encodes (same decode, draft and resize chain)."""
    return emulate_pipeline(
        photo, cfg, {f: cfg.quality[f] for f in cfg.formats}, cfg.avif_speed, cfg.webp_method
    ).frames


@dataclass
class Emulated:
    stages: dict[str, float]
    draft: tuple[int, int]
    renditions: dict[tuple[str, str], bytes]
    frames: dict[str, Image.Image]

    @property
    def wall(self) -> float:
        return sum(self.stages.values())


def emulate_pipeline(photo: Photo, cfg: Config, quality: dict[str, int], avif_speed: int, webp_method: int) -> Emulated:
    """process_image step by step, with its own helpers, timing each step; quality may differ per format."""
    from galleries import imaging

    stages: dict[str, float] = {}
    t0 = time.perf_counter()
    source = imaging._decode(io.BytesIO(photo.jpeg), largest=cfg.specs[0], max_pixels=cfg.max_pixels)
    decoded = source.image.size
    t1 = time.perf_counter()
    img = imaging._prepare(source, largest=cfg.specs[0])
    stages["decode"], stages["reduce+orient+sRGB"] = t1 - t0, time.perf_counter() - t1
    stages["resize"] = 0.0
    stages.update({f"{fmt} encode": 0.0 for fmt in cfg.formats})
    renditions: dict[tuple[str, str], bytes] = {}
    frames: dict[str, Image.Image] = {}
    chain = imaging._frames(img, cfg.specs, source.width, source.height)
    smallest = img
    for spec in cfg.specs:
        r0 = time.perf_counter()
        _, frame = next(chain)
        stages["resize"] += time.perf_counter() - r0
        frames[spec.name] = frame
        if spec.fit != "cover":
            smallest = frame
        for fmt in cfg.formats:
            e0 = time.perf_counter()
            renditions[(spec.name, fmt)] = imaging._encode(
                frame, fmt, quality=quality[fmt], avif_speed=avif_speed, webp_method=webp_method
            )
            stages[f"{fmt} encode"] += time.perf_counter() - e0
    b0 = time.perf_counter()
    imaging.blurhash_of(smallest)
    stages["blurhash"] = time.perf_counter() - b0
    return Emulated(stages, decoded, renditions, frames)


def stage_breakdown(photo: Photo, cfg: Config) -> str:
    """Where process_image spends its time (one emulated run)."""
    run = emulate_pipeline(photo, cfg, {f: cfg.quality[f] for f in cfg.formats}, cfg.avif_speed, cfg.webp_method)
    parts = [f"{name} {secs:.3f}" for name, secs in run.stages.items()]
    return f"total {run.wall:.3f} s = " + ", ".join(parts) + f" (JPEG draft decoded {run.draft[0]}x{run.draft[1]})"


def _encode(frame: Image.Image, fmt: str, quality: int, effort: int) -> tuple[bytes, float]:
    from galleries import imaging

    best, data = math.inf, b""
    for _ in range(2):
        t0 = time.perf_counter()
        data = imaging._encode(frame, fmt, quality=quality, avif_speed=effort, webp_method=effort)
        best = min(best, time.perf_counter() - t0)
    return data, best


def sweep(cfg: Config, size: tuple[int, int]) -> None:
    photo, portrait = make_photos(size)
    warm_up(cfg)
    frames = _pipeline_frames(photo, cfg)
    full = full_reference(photo.jpeg)
    refs = {s.name: reference_for(full, frames[s.name].width, frames[s.name].height, s.fit) for s in cfg.specs}
    large = cfg.specs[0].name
    frame = frames[large]
    print(
        f"== sweep: '{large}' variant {frame.width}x{frame.height} of the {size[0]}x{size[1]} landscape "
        f"(encode time: best of 2)"
    )

    rows: list[tuple[str, int, int, bytes, float]] = []
    for q in SWEEP_WEBP_QUALITIES:
        rows.append(("webp", q, 4, *_encode(frame, "webp", q, 4)))
    for method in SWEEP_WEBP_METHODS:
        rows.append(("webp", 80, method, *_encode(frame, "webp", 80, method)))
    for q in SWEEP_AVIF_QUALITIES:
        rows.append(("avif", q, 8, *_encode(frame, "avif", q, 8)))
    for speed in SWEEP_AVIF_SPEEDS:
        if speed == 8:
            continue
        for q in SWEEP_SPEED_QUALITIES:
            rows.append(("avif", q, speed, *_encode(frame, "avif", q, speed)))

    scored = [(fmt, q, e, data, secs, score(data, refs[large])) for fmt, q, e, data, secs in rows]
    ref_row = next(r for r in scored if r[0] == "webp" and (r[1], r[2]) == SWEEP_WEBP_REFERENCE)
    ref_bytes, ref_score = len(ref_row[3]), ref_row[5]
    print(
        f"\n  {'format':<6}{'quality':>8}{'speed/method':>14}{'bytes':>12}{'vs webp80':>10}{'PSNR':>8}{'SSIM':>8}"
        f"{'encode s':>10}  ≤ WebP q80 bytes at ≥ score"
    )
    for fmt, q, effort, data, secs, s in scored:
        ok = len(data) <= ref_bytes and s.at_least(ref_score)
        flag = "yes" if ok else "no" if fmt == "avif" else ""
        print(
            f"  {fmt:<6}{q:>8}{effort:>14}{len(data):>12,}{len(data) / ref_bytes:>10.2f}{s.psnr:>8.2f}"
            f"{s.ssim:>8.4f}{secs:>10.3f}  {flag}"
        )

    print(
        f"\n== lowest AVIF quality matching WebP q{SWEEP_WEBP_REFERENCE[0]} method {SWEEP_WEBP_REFERENCE[1]} on every "
        f"variant of both images (score within PSNR -{PSNR_TOLERANCE_DB} dB / SSIM -{SSIM_TOLERANCE}); 'ok q' = the "
        "AVIF qualities that are both no larger and at least as good"
    )
    print(
        f"  {'image':<10}{'variant':<10}{'size':>10} | {'WebP bytes':>10}{'PSNR':>7}{'SSIM':>8} | {'speed':>5}"
        f"{'AVIF q':>7}{'bytes':>9}{'ratio':>7}{'PSNR':>7}{'SSIM':>8}  ok q"
    )
    oks: dict[int, list[set[int]]] = {speed: [] for speed in SWEEP_MATCH_SPEEDS}
    for pic, pic_frames in ((photo, frames), (portrait, _pipeline_frames(portrait, cfg))):
        pic_full = full_reference(pic.jpeg)
        for spec in cfg.specs:
            fr = pic_frames[spec.name]
            ref = reference_for(pic_full, fr.width, fr.height, spec.fit)
            webp, _ = _encode(fr, "webp", *SWEEP_WEBP_REFERENCE)
            sw = score(webp, ref)
            for speed in SWEEP_MATCH_SPEEDS:
                matched: tuple[int, bytes, Score] | None = None
                ok_q: set[int] = set()
                for q in SWEEP_MATCH_QUALITIES:
                    avif, _ = _encode(fr, "avif", q, speed)
                    if len(avif) > len(webp) and matched:
                        break  # larger qualities only grow
                    sa = score(avif, ref)
                    if sa.at_least(sw):
                        matched = matched or (q, avif, sa)
                        if len(avif) <= len(webp):
                            ok_q.add(q)
                oks[speed].append(ok_q)
                head = f"  {pic.name.split()[0]:<10}{spec.name:<10}{f'{fr.width}x{fr.height}':>10} | "
                head += f"{len(webp):>10,}{sw.psnr:7.2f}{sw.ssim:8.4f} | {speed:>5}"
                if matched is None:
                    print(f"{head}{'>' + str(SWEEP_MATCH_QUALITIES[-1]):>7}")
                    continue
                q, avif, sa = matched
                span = f"{min(ok_q)}-{max(ok_q)}" if ok_q else "none"
                print(f"{head}{q:>7}{len(avif):>9,}{len(avif) / len(webp):7.2f}{sa.psnr:7.2f}{sa.ssim:8.4f}  {span}")
    for speed, sets in oks.items():
        common = set.intersection(*sets) if sets else set()
        big = set.intersection(
            *(sets[i] for i in range(len(sets)) if cfg.specs[i % len(cfg.specs)].name in ("large", "medium"))
        )
        print(
            f"  speed {speed}: AVIF qualities that pass on every variant: {sorted(common) or 'none'}; "
            f"on large and medium: {sorted(big) or 'none'}"
        )
    candidates(cfg, (photo, portrait))


def candidates(cfg: Config, photos: tuple[Photo, ...]) -> None:
    """Whole pipeline (emulated, so AVIF and WebP may take different qualities) with candidate settings."""
    webp_q = SWEEP_WEBP_REFERENCE[0]
    naive = {pic.name: timed(lambda pic=pic: naive_baseline(pic.jpeg, cfg))[1].wall for pic in photos}
    print(
        f"\n== candidate settings, whole pipeline emulated step by step (median of {PIPELINE_RUNS} runs), WebP q{webp_q}; "
        "AVIF is judged against the WebP of the same row; naive baseline wall (1 run): "
        + ", ".join(f"{name.split()[0]} {secs:.2f} s" for name, secs in naive.items())
    )
    print(
        f"  {'AVIF':<13}{'WebP':<6}{'image':<11}{'wall s':>7}{'speedup':>8}{'AVIF total':>12}{'WebP total':>12}"
        f"{'ratio':>7}  AVIF ≤ WebP at ≥ score, per variant"
    )
    refs: dict[str, dict[str, np.ndarray]] = {}
    for pic in photos:
        frames = _pipeline_frames(pic, cfg)
        full = full_reference(pic.jpeg)
        refs[pic.name] = {
            s.name: reference_for(full, frames[s.name].width, frames[s.name].height, s.fit) for s in cfg.specs
        }
    for avif_q, speed, method in SWEEP_CANDIDATES:
        for pic in photos:
            quality = {"avif": avif_q, "webp": webp_q}
            runs = [emulate_pipeline(pic, cfg, quality, speed, method) for _ in range(PIPELINE_RUNS)]
            wall = statistics.median(r.wall for r in runs)
            rend = runs[0].renditions
            verdicts = []
            for spec in cfg.specs:
                avif, webp = rend[(spec.name, "avif")], rend[(spec.name, "webp")]
                ref = refs[pic.name][spec.name]
                ok = len(avif) <= len(webp) and score(avif, ref).at_least(score(webp, ref))
                verdicts.append(f"{spec.name} {'✓' if ok else '✗'}")
            a_total = sum(len(d) for (_, fmt), d in rend.items() if fmt == "avif")
            w_total = sum(len(d) for (_, fmt), d in rend.items() if fmt == "webp")
            print(
                f"  {f'q{avif_q} speed {speed}':<13}{f'm{method}':<6}{pic.name.split()[0]:<11}{wall:>7.3f}"
                f"{naive[pic.name] / wall:>7.1f}x{_kb(a_total):>12}{_kb(w_total):>12}{a_total / w_total:>7.2f}  "
                + ", ".join(verdicts)
            )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="12 MP test images instead of 24 MP")
    parser.add_argument("--sweep", action="store_true", help="AVIF/WebP quality and speed table for the large variant")
    parser.add_argument(
        "--large", action="store_true", help="only peak memory on a 100 MP PNG and a 24 MP JPEG, against the baseline"
    )
    parser.add_argument("--memory-child", metavar="PATH", help=argparse.SUPPRESS)
    parser.add_argument("--memory-naive", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.memory_child:
        memory_child(args.memory_child, naive=args.memory_naive)
        return 0
    cfg = load_config()
    from PIL import features

    size = QUICK_SIZE if args.quick else FULL_SIZE
    print(
        f"Pillow {Image.__version__}, libavif {features.version('avif')}, libwebp {features.version('webp')}, "
        f"numpy {np.__version__}, {os.cpu_count()} CPUs, Python {sys.version.split()[0]}"
    )
    if args.sweep:
        sweep(cfg, size)
    elif args.large:
        large_run(cfg)
    else:
        default_run(cfg, size, args.quick)
    return 0


if __name__ == "__main__":
    sys.exit(main())
