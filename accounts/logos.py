"""A studio's logo: checked by content like photos are, then redrawn as a clean WebP. Pure: no models.

Only PNG, WebP and JPEG are taken, recognised by their first bytes, never by name or declared type:
SVG (a document that can carry script), GIF and everything else is refused before any decoder
runs, and Pillow is only ever allowed the one plugin the bytes announce. Size and pixel limits are
checked from the header before a pixel is decoded. The stored logo is redrawn (EXIF orientation
applied, at most LOGO_BOX pixels, no metadata kept), so no location or other metadata reaches
visitors and the bytes served are ones Pillow wrote.
"""

from __future__ import annotations

import io
import warnings
from dataclasses import dataclass
from typing import BinaryIO

from PIL import Image, ImageOps, UnidentifiedImageError

from config.exceptions import InvalidInput, TooLarge, UnsupportedType

MAX_BYTES = 2 * 1024 * 1024
MAX_PIXELS = 25_000_000  # 5000 x 5000: any logo; a bomb's header claims far more
LOGO_BOX = (1200, 600)  # shown about 44 px high; this keeps it sharp on 3x screens and wide logos
FORMATS = {"PNG": "PNG", "WEBP": "WebP", "JPEG": "JPEG"}


@dataclass(frozen=True)
class Logo:
    data: bytes  # WebP
    width: int
    height: int


def sniff(head: bytes) -> str | None:
    """PNG, WEBP or JPEG from the first bytes; None for anything else (SVG, GIF, HTML...)."""
    if head.startswith(b"\x89PNG\r\n\x1a\n"):
        return "PNG"
    if head[:4] == b"RIFF" and head[8:12] == b"WEBP":
        return "WEBP"
    if head.startswith(b"\xff\xd8\xff"):
        return "JPEG"
    return None


def prepare_logo(fileobj: BinaryIO, *, max_bytes: int = MAX_BYTES, max_pixels: int = MAX_PIXELS) -> Logo:
    """Check an uploaded logo and redraw it; raises UnsupportedType, TooLarge or InvalidInput for a person."""
    fileobj.seek(0, 2)
    size = fileobj.tell()
    fileobj.seek(0)
    if size == 0:
        raise InvalidInput("The logo file is empty.", code="empty")
    if size > max_bytes:
        raise TooLarge(f"The logo is {size / 2**20:.1f} MB; the limit is {max_bytes / 2**20:.0f} MB.")
    head = fileobj.read(32)
    fileobj.seek(0)
    fmt = sniff(head)
    if fmt is None:
        what = "an SVG" if b"<svg" in fileobj.read(1024).lower() or head.lstrip().startswith(b"<") else "this file"
        fileobj.seek(0)
        raise UnsupportedType(f"The logo must be a PNG, WebP or JPEG picture; {what} cannot be used.")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            with Image.open(fileobj, formats=[fmt]) as img:
                img.verify()
            fileobj.seek(0)
            with Image.open(fileobj, formats=[fmt]) as img:
                width, height = img.size
                if width * height > max_pixels:
                    raise TooLarge(
                        f"The logo is {width}×{height} pixels; the limit is {max_pixels / 1e6:.0f} megapixels.",
                        code="too_many_pixels",
                    )
                img.draft("RGB", LOGO_BOX)  # JPEG: decode at a reduced scale where that still fills the box
                img.load()
                picture = ImageOps.exif_transpose(img)
    except (Image.DecompressionBombError, Image.DecompressionBombWarning):
        raise TooLarge(f"The logo has too many pixels; the limit is {max_pixels / 1e6:.0f} megapixels.") from None
    except (UnidentifiedImageError, SyntaxError, OSError, ValueError, EOFError) as exc:
        raise InvalidInput(
            f"The logo looks like a {FORMATS[fmt]} file but cannot be read: it is damaged or not really a picture.",
            code="damaged",
        ) from exc
    finally:
        fileobj.seek(0)
    if picture.mode not in ("RGB", "RGBA"):
        has_alpha = "A" in picture.getbands() or "transparency" in picture.info
        picture = picture.convert("RGBA" if has_alpha else "RGB")
    picture.thumbnail(LOGO_BOX, Image.Resampling.LANCZOS)
    out = io.BytesIO()
    # Lossless for drawn logos (PNG, WebP): sharp edges and flat colour compress well that way.
    picture.save(out, "WEBP", lossless=fmt != "JPEG", quality=90, method=4)
    return Logo(data=out.getvalue(), width=picture.width, height=picture.height)
