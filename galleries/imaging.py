"""Pure image helpers: recognise allow-listed formats by content and read their size.

No request, no models. Pillow only ever tries the plugins named in ALLOWED_FORMATS, so an EPS,
PSD, TIFF or SVG renamed to .jpg is refused before any decoder for it runs.
"""

from __future__ import annotations

import io
import math
import warnings
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from struct import error as struct_error
from typing import BinaryIO

from PIL import Image, ImageOps, UnidentifiedImageError

from config.exceptions import InvalidInput, TooLarge, UnsupportedType


@dataclass(frozen=True)
class Format:
    pillow: str
    mime: str
    ext: str


FORMATS: dict[str, Format] = {
    "JPEG": Format("JPEG", "image/jpeg", "jpg"),
    "PNG": Format("PNG", "image/png", "png"),
    "GIF": Format("GIF", "image/gif", "gif"),
    "WEBP": Format("WEBP", "image/webp", "webp"),
    "AVIF": Format("AVIF", "image/avif", "avif"),
    "HEIF": Format("HEIF", "image/heic", "heic"),
}
ALLOWED_FORMATS = tuple(FORMATS)
# Formats a browser shows directly (the original may stand in while variants are built).
BROWSER_FORMATS = {"image/jpeg", "image/png", "image/gif", "image/webp", "image/avif"}

_HEIF_BRANDS = {b"heic", b"heix", b"hevc", b"hevx", b"heim", b"heis", b"mif1", b"msf1"}
_AVIF_BRANDS = {b"avif", b"avis"}


@dataclass(frozen=True)
class ImageInfo:
    format: Format
    width: int
    height: int


def register_openers() -> None:
    """Teach Pillow HEIC/HEIF (AVIF is built into Pillow)."""
    from pillow_heif import register_heif_opener

    register_heif_opener()


def sniff(head: bytes) -> str | None:
    """The allow-listed format these first bytes announce, or None."""
    if head.startswith(b"\xff\xd8\xff"):
        return "JPEG"
    if head.startswith(b"\x89PNG\r\n\x1a\n"):
        return "PNG"
    if head[:6] in (b"GIF87a", b"GIF89a"):
        return "GIF"
    if head[:4] == b"RIFF" and head[8:12] == b"WEBP":
        return "WEBP"
    if head[4:8] == b"ftyp":
        brand = head[8:12]
        if brand in _AVIF_BRANDS:
            return "AVIF"
        if brand in _HEIF_BRANDS:
            return "HEIF"
    return None


def inspect_image(fileobj: BinaryIO, *, max_pixels: int) -> ImageInfo:
    """Check that fileobj holds an allow-listed image within the pixel limit; return its facts.

    Raises UnsupportedType (not an allow-listed image), InvalidInput (damaged) or TooLarge
    (too many pixels). The header is parsed and the structure verified; pixels are not decoded.
    """
    fileobj.seek(0)
    head = fileobj.read(32)
    fileobj.seek(0)
    if not head:
        raise InvalidInput("The file is empty.", code="empty")
    sniffed = sniff(head)
    if sniffed is None:
        raise UnsupportedType(
            "This file is not a supported image or video. Upload JPEG, PNG, GIF, WebP, HEIC or AVIF photos"
            " (or MP4, MOV or WebM videos).",
        )
    try:
        with warnings.catch_warnings():
            # Pillow warns above its own global limit (89 MP unless processing set it); the limit
            # here is max_pixels, checked below from the header before any pixel is decoded.
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            plugins = [sniffed] if sniffed != "AVIF" else ["AVIF", "HEIF"]
            with Image.open(fileobj, formats=plugins) as img:
                # verify() must come straight after open, before anything else reads the file.
                img.verify()
            fileobj.seek(0)
            with Image.open(fileobj, formats=plugins) as img:
                width, height = img.size
                fmt = FORMATS.get(img.format or "")
                if fmt is None:
                    raise UnsupportedType("This image format is not supported.")
                if width * height > max_pixels:
                    raise _too_many_pixels(width, height, max_pixels)
                width, height = displayed_size(width, height, header_orientation(img))
    except (Image.DecompressionBombError, Image.DecompressionBombWarning):
        raise _too_many_pixels(0, 0, max_pixels) from None
    except (UnidentifiedImageError, SyntaxError, OSError, ValueError, EOFError) as exc:
        raise InvalidInput(
            f"The file looks like {sniffed} but cannot be read: it is damaged or not really an image.", code="damaged"
        ) from exc
    finally:
        fileobj.seek(0)
    if width < 1 or height < 1:
        raise InvalidInput("The image has no pixels.", code="damaged")
    return ImageInfo(format=fmt, width=width, height=height)


def _too_many_pixels(width: int, height: int, max_pixels: int) -> TooLarge:
    size = f" ({width}×{height}, {width * height / 1e6:.0f} megapixels)" if width else ""
    return TooLarge(
        f"The image is too large{size}; the limit is {max_pixels / 1e6:.0f} megapixels.", code="too_many_pixels"
    )


# --- Processing: decode once, variants, blurhash, EXIF -----------------------------------------
#
# Memory: the decoded source is the one large thing a worker holds. JPEG is decoded at a reduced
# scale (draft) where that still fills the largest variant; other formats are decoded whole, then
# box-reduced by an integer factor in horizontal bands, each band brought into a workable mode on
# its own (palette, 1-bit and 16-bit pictures), and the full-size source is dropped. Orientation,
# colour profiles and every resize then work on the reduced picture. The peak is the decoded source
# plus the reduced copy (at most 1/9 of its pixels; the same pixels in 8-bit form when a palette or
# 16-bit picture is too close to the variant size to be reduced), never the full-size copies that
# rotating and converting a whole picture make.


class PermanentError(Exception):
    """The file can never be processed (damaged, hostile, unsupported): do not retry."""


@dataclass(frozen=True)
class VariantSpec:
    name: str
    width: int
    height: int
    fit: str  # "inside" or "cover"


@dataclass
class Rendition:
    name: str
    format: str
    width: int
    height: int
    data: bytes


@dataclass
class Processed:
    width: int  # the original's full size, as displayed (after EXIF orientation)
    height: int
    renditions: list[Rendition]
    blurhash: str
    exif: dict
    gps: dict | None


@dataclass
class _Source:
    image: Image.Image  # stored axes, possibly decoded at a reduced scale (JPEG draft)
    exif: Image.Exif
    orientation: int
    width: int  # the original's full displayed size
    height: int


def specs_from(setting: list[tuple[str, int, int, str]]) -> list[VariantSpec]:
    """Variant specs, largest first, so each smaller one can be cut from the one before."""
    specs = [VariantSpec(*row) for row in setting]
    return sorted(specs, key=lambda s: s.width * s.height, reverse=True)


def _fit_inside(width: int, height: int, box_w: int, box_h: int) -> tuple[int, int]:
    scale = min(box_w / width, box_h / height, 1.0)  # never upscale
    return max(1, round(width * scale)), max(1, round(height * scale))


def _needed_size(spec: VariantSpec, width: int, height: int) -> tuple[int, int]:
    """The smallest picture (same aspect) that this variant can be cut from without upscaling."""
    if spec.fit == "cover":
        scale = min(max(spec.width / width, spec.height / height), 1.0)
        return max(1, math.ceil(width * scale)), max(1, math.ceil(height * scale))
    return _fit_inside(width, height, spec.width, spec.height)


_SWAPS_AXES = {5, 6, 7, 8}
_TRANSPOSE = {
    2: Image.Transpose.FLIP_LEFT_RIGHT,
    3: Image.Transpose.ROTATE_180,
    4: Image.Transpose.FLIP_TOP_BOTTOM,
    5: Image.Transpose.TRANSPOSE,
    6: Image.Transpose.ROTATE_270,
    7: Image.Transpose.TRANSVERSE,
    8: Image.Transpose.ROTATE_90,
}
# Pillow's resize(reducing_gap=3.0) first box-reduces by int(scale / 3); the pipeline does that step
# itself, in bands, before anything else touches the full-size source.
REDUCING_GAP = 3.0
_BAND_PIXELS = 2_000_000  # pixels per band while reducing (8 MB in RGB)


def displayed_size(width: int, height: int, orientation: int) -> tuple[int, int]:
    return (height, width) if orientation in _SWAPS_AXES else (width, height)


def _orientation(exif: Image.Exif | None) -> int:
    try:
        return int(exif.get(0x0112, 1)) if exif else 1
    except (TypeError, ValueError):
        return 1


def _open(fileobj: BinaryIO) -> Image.Image:
    head = fileobj.read(32)
    fileobj.seek(0)
    sniffed = sniff(head)
    if sniffed is None:
        raise PermanentError("The file is not a supported image.")
    return Image.open(fileobj, formats=[sniffed] if sniffed != "AVIF" else ["AVIF", "HEIF"])


def header_orientation(img: Image.Image) -> int:
    """The EXIF orientation of an opened image, from what Image.open read: no pixel is decoded.

    A PNG's getexif() decodes the whole picture to look for an eXIf chunk after the pixels; such a
    late chunk counts as no orientation here (processing, which decodes anyway, still reads it).
    Broken EXIF is the processor's problem, not the upload's: no orientation.
    """
    if img.format == "PNG" and "exif" not in img.info:
        return 1
    try:
        return _orientation(img.getexif())
    except Exception:  # noqa: BLE001 - hostile metadata raises anything
        return 1


def header_size(fileobj: BinaryIO) -> tuple[int, int]:
    """The displayed size (after EXIF orientation) of an allow-listed image, from its header only."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", Image.DecompressionBombWarning)  # nothing is decoded
        with _open(fileobj) as img:
            return displayed_size(img.width, img.height, header_orientation(img))


def _decode(fileobj: BinaryIO, *, largest: VariantSpec, max_pixels: int) -> _Source:
    """Open an allow-listed image, decoded at the smallest scale that still fills the largest variant."""
    Image.MAX_IMAGE_PIXELS = max_pixels
    img = _open(fileobj)
    if img.width * img.height > max_pixels:
        raise PermanentError(
            f"The image has {img.width * img.height / 1e6:.0f} megapixels; the limit is {max_pixels / 1e6:.0f}."
        )
    exif = img.getexif()
    orientation = _orientation(exif)
    width, height = displayed_size(img.width, img.height, orientation)
    if img.format == "JPEG":
        # draft() works on the stored (unrotated) axes.
        target = displayed_size(*_needed_size(largest, width, height), orientation)
        img.draft(img.mode if img.mode in ("RGB", "L", "CMYK") else "RGB", target)
    if getattr(img, "is_animated", False):
        img.seek(0)  # first frame of an animated GIF or WebP
    img.load()
    return _Source(image=img, exif=exif, orientation=orientation, width=width, height=height)


def _band_converter(img: Image.Image) -> Callable[[Image.Image], Image.Image] | None:
    """How to bring a band of img into a mode reduce() and resize() handle well; None if it is one."""
    if img.mode in ("P", "PA"):
        alpha = img.mode == "PA" or "transparency" in img.info
        return lambda band: band.convert("RGBA" if alpha else "RGB")
    if img.mode == "1":
        return lambda band: band.convert("L")
    if img.mode.startswith("I") or img.mode == "F":
        import numpy as np

        # 16-bit (or 32-bit) greyscale: keep the top 8 bits instead of clipping at 255. The scale
        # is decided once for the whole picture, so every band gets the same one.
        high = img.getextrema()[1]
        scale = 256.0 if high > 255 else 1.0

        def to_grey(band: Image.Image) -> Image.Image:
            values = np.asarray(band)
            if scale > 1:
                values = values // 256 if values.dtype.kind in "iu" else values / scale
            return Image.fromarray(np.clip(values, 0, 255).astype(np.uint8), "L")

        return to_grey
    return None


def _reduce(img: Image.Image, target: tuple[int, int]) -> Image.Image:
    """img box-reduced towards target (stored axes) and in a workable mode, band by band.

    The result stays at least REDUCING_GAP times the target's size along each axis, as in Pillow's
    own resize(reducing_gap=3.0), so the LANCZOS step after it sees the same picture.
    """
    factor = (
        max(1, int(img.width / target[0] / REDUCING_GAP)),
        max(1, int(img.height / target[1] / REDUCING_GAP)),
    )
    convert = _band_converter(img)
    if factor == (1, 1) and convert is None:
        return img
    fx, fy = factor
    rows = max(fy, _BAND_PIXELS // max(1, img.width) // fy * fy)
    out: Image.Image | None = None
    for top in range(0, img.height, rows):
        band = img.crop((0, top, img.width, min(img.height, top + rows)))
        if convert is not None:
            band = convert(band)
        if factor != (1, 1):
            band = band.reduce(factor)
        if out is None:
            out = Image.new(band.mode, (math.ceil(img.width / fx), math.ceil(img.height / fy)))
        out.paste(band, (0, top // fy))
    assert out is not None  # an image has at least one row
    if "icc_profile" in img.info:
        out.info["icc_profile"] = img.info["icc_profile"]
    return out


def _prepare(source: _Source, *, largest: VariantSpec) -> Image.Image:
    """The decoded source reduced, upright and in sRGB: what every variant is cut from."""
    target = displayed_size(*_needed_size(largest, source.width, source.height), source.orientation)
    img = _reduce(source.image, target)
    source.image = img  # the full-size decode is no longer referenced (and freed) from here on
    # The reduced copy carries no EXIF, so orient it from the source's tag (as exif_transpose would).
    method = _TRANSPOSE.get(source.orientation)
    if method is not None:
        img = img.transpose(method)
    return _to_srgb(img)


def _to_srgb(img: Image.Image) -> Image.Image:
    """Convert any mode and embedded colour profile to 8-bit sRGB (RGBA when there is alpha).

    Plain greyscale stays "L" (a third of the bytes); each variant is made RGB when it is encoded.
    """
    from PIL import ImageCms

    icc = img.info.get("icc_profile")
    has_alpha = img.mode in ("RGBA", "LA", "PA") or (img.mode == "P" and "transparency" in img.info)
    convert = _band_converter(img)
    if convert is not None:
        img = convert(img)
    if img.mode == "LA":
        img = img.convert("RGBA")
    if icc:
        try:
            src = ImageCms.ImageCmsProfile(io.BytesIO(icc))
            dst = ImageCms.createProfile("sRGB")
            out_mode = "RGBA" if img.mode == "RGBA" else "RGB"
            if img.mode not in ("RGB", "RGBA", "CMYK", "L"):
                img = img.convert("RGB")
            return ImageCms.profileToProfile(img, src, dst, outputMode=out_mode)
        except (ImageCms.PyCMSError, OSError, ValueError):
            pass  # a broken profile: fall back to a plain conversion
    if img.mode not in ("RGB", "RGBA", "L"):
        img = img.convert("RGBA" if has_alpha else "RGB")
    return img


def _encode(img: Image.Image, fmt: str, *, quality: int, avif_speed: int, webp_method: int) -> bytes:
    buf = io.BytesIO()
    if img.mode not in ("RGB", "RGBA"):
        img = img.convert("RGB")
    if fmt == "avif":
        img.save(buf, "AVIF", quality=quality, speed=avif_speed)
    elif fmt == "webp":
        img.save(buf, "WEBP", quality=quality, method=webp_method)
    elif fmt == "jpeg":
        img.convert("RGB").save(buf, "JPEG", quality=quality, optimize=True, progressive=True)  # no alpha
    else:
        raise ValueError(f"unknown variant format {fmt}")
    return buf.getvalue()


def _frames(
    img: Image.Image, specs: list[VariantSpec], width: int, height: int
) -> Iterator[tuple[VariantSpec, Image.Image]]:
    """Each variant's picture, largest first, each smaller one cut from the one before.

    Sizes come from the original's full size (width, height), not from img's, which may be reduced.
    """
    source = img
    for spec in specs:
        if spec.fit == "cover":
            side = (min(spec.width, width), min(spec.height, height))
            frame = ImageOps.fit(source, side, Image.Resampling.LANCZOS)
        else:
            size = _fit_inside(width, height, spec.width, spec.height)
            frame = source if size == source.size else source.resize(size, Image.Resampling.LANCZOS, reducing_gap=3.0)
            source = frame  # the next, smaller variant is cut from this one
        yield spec, frame


def process_image(
    fileobj: BinaryIO,
    *,
    specs: list[VariantSpec],
    formats: list[str],
    max_pixels: int,
    quality: int | dict = 80,
    avif_speed: int = 8,
    webp_method: int = 4,
    skip: frozenset[tuple[str, str]] = frozenset(),
    threads: int = 1,
) -> Processed:
    """Decode once and build every variant (except those in skip), the blurhash and clean EXIF.

    quality: one number, or a dict by format ("avif") and optionally by (variant, format).
    threads: encoders run on this many threads (Pillow lets go of the GIL while it encodes and
    resizes), so the next variant is cut while the last ones are encoded.

    Raises PermanentError for files that can never work (damaged, hostile, too many pixels).
    """
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            source = _decode(fileobj, largest=specs[0], max_pixels=max_pixels)
            img = _prepare(source, largest=specs[0])
    except PermanentError:
        raise
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as exc:
        raise PermanentError("The image is too large to decode safely (decompression bomb).") from exc
    except (UnidentifiedImageError, SyntaxError, OSError, ValueError, EOFError, struct_error, IndexError) as exc:
        raise PermanentError(f"The image cannot be decoded: it is damaged or truncated ({_short(exc)}).") from exc

    metadata, gps = read_exif(source.exif)
    width, height = source.width, source.height
    del source
    encoding: list[tuple[str, str, int, int, Future[bytes]]] = []
    frames = _frames(img, specs, width, height)
    del img  # from here on only the chain of variants (and the encoders' frames) holds pixels
    smallest: Image.Image | None = None
    with ThreadPoolExecutor(max_workers=max(1, threads), thread_name_prefix="encode") as pool:
        for spec, frame in frames:
            if spec.fit != "cover":
                smallest = frame
            wanted = [fmt for fmt in formats if (spec.name, fmt) not in skip]
            for i, fmt in enumerate(wanted):
                q = quality.get((spec.name, fmt), quality.get(fmt, 80)) if isinstance(quality, dict) else quality
                # Image.save keeps its options on the image (encoderinfo): two encoders at once on
                # one image would read each other's, so each but the last gets its own copy.
                picture = frame if i == len(wanted) - 1 else frame.copy()
                job = pool.submit(_encode, picture, fmt, quality=q, avif_speed=avif_speed, webp_method=webp_method)
                encoding.append((spec.name, fmt, frame.width, frame.height, job))
        blurhash = blurhash_of(smallest or frame)
    renditions = [Rendition(name, fmt, w, h, job.result()) for name, fmt, w, h, job in encoding]
    return Processed(
        width=width,
        height=height,
        renditions=renditions,
        blurhash=blurhash,
        exif=metadata,
        gps=gps,
    )


def _short(exc: BaseException) -> str:
    return (str(exc) or type(exc).__name__)[:120]


# --- Blurhash (https://github.com/woltapp/blurhash), computed on a tiny image ------------------

B83_ALPHABET = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz#$%*+,-.:;=?@[]^_{|}~"


def b83_encode(value: int, length: int) -> str:
    """value as length base-83 digits, the way blurhash writes its numbers."""
    return "".join(B83_ALPHABET[(value // 83 ** (length - i - 1)) % 83] for i in range(length))


def b83_decode(digits: str) -> int:
    """The number written by base-83 digits; ValueError on a character outside the alphabet."""
    value = 0
    for ch in digits:
        index = B83_ALPHABET.find(ch)
        if index < 0:
            raise ValueError(f"not a base-83 digit: {ch!r}")
        value = value * 83 + index
    return value


def blurhash_of(img: Image.Image, x_components: int = 4, y_components: int = 3) -> str:
    """A blurhash of the picture, from a 32-pixel-wide copy (never the full image)."""
    import numpy as np

    small = img.convert("RGB")
    small.thumbnail((32, 32), Image.Resampling.BILINEAR)
    pixels = np.asarray(small, dtype=np.float64) / 255.0
    linear = np.where(pixels <= 0.04045, pixels / 12.92, ((pixels + 0.055) / 1.055) ** 2.4)
    height, width = linear.shape[:2]
    xs = np.arange(width)
    ys = np.arange(height)
    factors = []
    for j in range(y_components):
        for i in range(x_components):
            basis = np.outer(np.cos(np.pi * j * ys / height), np.cos(np.pi * i * xs / width))
            norm = 1.0 if i == 0 and j == 0 else 2.0
            factors.append(norm * (basis[:, :, None] * linear).sum(axis=(0, 1)) / (width * height))
    dc, ac = factors[0], factors[1:]

    def to_srgb(v: float) -> int:
        v = min(1.0, max(0.0, v))
        return round(v * 12.92 * 255 if v <= 0.0031308 else (1.055 * v ** (1 / 2.4) - 0.055) * 255)

    out = b83_encode((x_components - 1) + (y_components - 1) * 9, 1)
    max_ac = max((abs(float(c)) for f in ac for c in f), default=0.0)
    quantised = max(0, min(82, int(max_ac * 166 - 0.5))) if ac else 0
    max_value = (quantised + 1) / 166 if ac else 1.0
    out += b83_encode(quantised, 1)
    out += b83_encode((to_srgb(dc[0]) << 16) + (to_srgb(dc[1]) << 8) + to_srgb(dc[2]), 4)

    def sign_pow(v: float) -> float:
        return math.copysign(abs(v) ** 0.5, v)

    for f in ac:
        r, g, b = (max(0, min(18, math.floor(sign_pow(float(c) / max_value) * 9 + 9.5))) for c in f)
        out += b83_encode(r * 19 * 19 + g * 19 + b, 2)
    return out


# --- EXIF: a sanitised subset; GPS apart ---------------------------------------------------------

_EXIF_IFD, _GPS_IFD = 0x8769, 0x8825
_TEXT_MAX = 64


def _clean_text(value: object) -> str | None:
    if isinstance(value, bytes):
        value = value.decode("utf-8", "replace")
    if not isinstance(value, str):
        return None
    text = "".join(ch for ch in value if ch.isprintable()).strip().strip("\x00")
    return text[:_TEXT_MAX] or None


def _number(value: object) -> float | None:
    try:
        number = float(value)  # IFDRational, int or float
    except (TypeError, ValueError, ZeroDivisionError):
        return None
    return number if math.isfinite(number) else None


def read_exif(exif: Image.Exif | None) -> tuple[dict, dict | None]:
    """Camera, lens, focal length, aperture, shutter, ISO and taken_at; GPS separately.

    Hostile or broken metadata never raises: what cannot be read is left out.
    """
    if not exif:
        return {}, None
    out: dict = {}
    try:
        make, model = _clean_text(exif.get(0x010F)), _clean_text(exif.get(0x0110))
        if model and make and model.lower().startswith(make.lower()):
            make = None
        camera = " ".join(part for part in (make, model) if part)
        if camera:
            out["camera"] = camera
        sub = exif.get_ifd(_EXIF_IFD)
        lens = _clean_text(sub.get(0xA434))
        if lens:
            out["lens"] = lens
        if (focal := _number(sub.get(0x920A))) is not None and 0 < focal < 10000:
            out["focal_length"] = round(focal, 1)
        if (fnumber := _number(sub.get(0x829D))) is not None and 0 < fnumber < 1000:
            out["aperture"] = round(fnumber, 1)
        if (exposure := _number(sub.get(0x829A))) is not None and 0 < exposure < 100000:
            out["shutter"] = f"1/{round(1 / exposure)}" if exposure < 1 else f"{exposure:g}"
        iso = sub.get(0x8827)
        if isinstance(iso, tuple):
            iso = iso[0] if iso else None
        if (iso_number := _number(iso)) is not None and 0 < iso_number < 10_000_000:
            out["iso"] = int(iso_number)
        taken = _clean_text(sub.get(0x9003) or exif.get(0x0132))
        if taken and len(taken) >= 19 and taken[:4].isdigit():
            out["taken_at"] = f"{taken[0:4]}-{taken[5:7]}-{taken[8:10]}T{taken[11:19]}"
    except Exception:  # noqa: BLE001, S110 - hostile metadata fails softly, whatever it raises
        pass
    return out, _read_gps(exif)


def _read_gps(exif: Image.Exif) -> dict | None:
    try:
        gps = exif.get_ifd(_GPS_IFD)
        if not gps or 2 not in gps or 4 not in gps:
            return None

        def degrees(dms: object, ref: object) -> float:
            d, m, s = (float(x) for x in dms)  # type: ignore[union-attr]
            value = d + m / 60 + s / 3600
            return -value if _clean_text(ref) in ("S", "W") else value

        lat, lon = degrees(gps[2], gps.get(1)), degrees(gps[4], gps.get(3))
        if not (-90 <= lat <= 90 and -180 <= lon <= 180):
            return None
        result = {"latitude": round(lat, 6), "longitude": round(lon, 6)}
        if (alt := _number(gps.get(6))) is not None:
            result["altitude"] = round(alt, 1)
        return result
    except Exception:  # noqa: BLE001
        return None
