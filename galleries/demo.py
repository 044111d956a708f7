"""Generated demo photos: real JPEGs of landscapes-in-colour, varied sizes and orientations."""

from __future__ import annotations

import io
import math
import random

from PIL import Image, ImageDraw, ImageFilter

PALETTES = [
    ((27, 38, 59), (224, 159, 62), (250, 240, 202)),  # dusk
    ((15, 76, 92), (95, 168, 160), (237, 230, 205)),  # coast
    ((44, 62, 34), (143, 169, 91), (236, 228, 183)),  # meadow
    ((58, 32, 56), (206, 97, 109), (255, 209, 179)),  # rose
    ((22, 27, 34), (88, 105, 148), (201, 214, 234)),  # night
    ((83, 47, 28), (201, 128, 65), (245, 222, 179)),  # desert
]

SIZES = [(1600, 1067), (1067, 1600), (1600, 900), (1200, 1200), (1800, 1200), (900, 1350)]


def demo_jpeg(index: int, *, size: tuple[int, int] | None = None, orientation: int = 1) -> bytes:
    """A landscape-like picture: sky gradient, a sun, layered hills; optionally EXIF-rotated."""
    rng = random.Random(index)
    width, height = size or SIZES[index % len(SIZES)]
    deep, mid, light = PALETTES[index % len(PALETTES)]
    img = Image.new("RGB", (width, height))
    draw = ImageDraw.Draw(img)
    for y in range(height):
        t = y / height
        colour = tuple(int(light[c] * (1 - t) + mid[c] * t) for c in range(3))
        draw.line([(0, y), (width, y)], fill=colour)
    sun_x, sun_y, r = rng.uniform(0.2, 0.8) * width, rng.uniform(0.15, 0.45) * height, min(width, height) * 0.08
    draw.ellipse([sun_x - r, sun_y - r, sun_x + r, sun_y + r], fill=(255, 244, 214))
    for layer in range(4):
        base = height * (0.55 + layer * 0.12)
        amp, freq, phase = height * 0.06, rng.uniform(1.5, 4.0), rng.uniform(0, 6.28)
        shade = tuple(int(mid[c] * (1 - layer / 4) + deep[c] * (layer / 4)) for c in range(3))
        points = [(x, base + amp * math.sin(freq * x / width * 6.28 + phase)) for x in range(0, width + 20, 20)]
        draw.polygon([(0, height), *points, (width, height)], fill=shade)
    img = img.filter(ImageFilter.GaussianBlur(1.2))
    if orientation in (5, 6, 7, 8):
        # Store the pixels rotated so that applying the EXIF orientation shows them upright.
        img = img.transpose(Image.Transpose.ROTATE_90 if orientation == 6 else Image.Transpose.ROTATE_270)
    buf = io.BytesIO()
    exif = Image.Exif()
    exif[0x0112] = orientation
    exif[0x010F] = "Contact Sheet"
    exif[0x0110] = "Demo Camera"
    img.save(buf, "JPEG", quality=88, exif=exif.tobytes())
    return buf.getvalue()
