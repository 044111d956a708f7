import io

import pytest
from PIL import Image

from config.exceptions import InvalidInput, TooLarge, UnsupportedType
from conftest import make_image, png_header_only, png_with_trailing_html
from galleries import imaging
from galleries.presenters import blurhash_colour

MAX = 120_000_000


@pytest.mark.parametrize(
    ("fmt", "mime"),
    [
        ("JPEG", "image/jpeg"),
        ("PNG", "image/png"),
        ("GIF", "image/gif"),
        ("WEBP", "image/webp"),
        ("AVIF", "image/avif"),
    ],
)
def test_allow_listed_formats_are_recognised_by_content(fmt, mime):
    info = imaging.inspect_image(io.BytesIO(make_image(fmt, size=(64, 48))), max_pixels=MAX)
    assert (info.format.mime, info.width, info.height) == (mime, 64, 48)


def test_heic_is_recognised():
    from pillow_heif import from_pillow

    buf = io.BytesIO()
    from_pillow(Image.new("RGB", (64, 48), (10, 200, 30))).save(buf, quality=80)
    info = imaging.inspect_image(io.BytesIO(buf.getvalue()), max_pixels=MAX)
    assert info.format.mime == "image/heic"
    assert (info.width, info.height) == (64, 48)


def test_width_and_height_are_as_displayed_for_rotated_photos():
    exif = Image.Exif()
    exif[0x0112] = 6
    data = make_image("JPEG", size=(64, 48), exif=exif.tobytes())
    info = imaging.inspect_image(io.BytesIO(data), max_pixels=MAX)
    assert (info.width, info.height) == (48, 64)


@pytest.mark.parametrize(
    "data",
    [
        b'<svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script></svg>',
        b"<!doctype html><html><body>hi</body></html>",
        b"%!PS-Adobe-3.0 EPSF-3.0\n%%BoundingBox: 0 0 10 10\n",
        b"8BPS\x00\x01" + b"\x00" * 40,  # PSD
        b"II*\x00" + b"\x00" * 40,  # TIFF
        bytes(range(256)) * 4,
    ],
    ids=["svg", "html", "eps", "psd", "tiff", "random"],
)
def test_other_content_is_unsupported_whatever_it_is_called(data):
    with pytest.raises(UnsupportedType):
        imaging.inspect_image(io.BytesIO(data), max_pixels=MAX)


def test_a_tiff_is_refused_even_though_pillow_could_read_it():
    with pytest.raises(UnsupportedType):
        imaging.inspect_image(io.BytesIO(make_image("TIFF", size=(8, 8))), max_pixels=MAX)


def test_png_header_followed_by_html_is_damaged():
    with pytest.raises(InvalidInput, match="damaged"):
        imaging.inspect_image(io.BytesIO(png_with_trailing_html()), max_pixels=MAX)


def test_empty_file():
    with pytest.raises(InvalidInput, match="empty"):
        imaging.inspect_image(io.BytesIO(b""), max_pixels=MAX)


def test_too_many_pixels_is_refused_before_decoding():
    with pytest.raises(TooLarge, match="megapixels"):
        imaging.inspect_image(io.BytesIO(png_header_only(50_000, 50_000)), max_pixels=MAX)


def test_pixel_limit_is_a_parameter():
    with pytest.raises(TooLarge):
        imaging.inspect_image(io.BytesIO(make_image("PNG", size=(100, 100))), max_pixels=5_000)


def test_sniff_only_knows_the_allow_list():
    assert imaging.sniff(b"\xff\xd8\xff\xe0") == "JPEG"
    assert imaging.sniff(b"\x00\x00\x00\x1cftypavif") == "AVIF"
    assert imaging.sniff(b"\x00\x00\x00\x18ftypheic") == "HEIF"
    assert imaging.sniff(b"\x00\x00\x00\x18ftypisom") is None
    assert imaging.sniff(b"BM") is None


# --- The size a processed photo reports ------------------------------------------------------

VARIANTS = imaging.specs_from(
    [("thumbnail", 80, 80, "cover"), ("small", 300, 300, "inside"), ("medium", 800, 800, "inside"),
     ("large", 1920, 1080, "inside")]
)  # fmt: skip


def _plain_jpeg(size: tuple[int, int], orientation: int | None = None) -> bytes:
    exif = Image.Exif()
    if orientation:
        exif[0x0112] = orientation
    buf = io.BytesIO()
    Image.new("L", size, 128).save(buf, "JPEG", quality=50, exif=exif.tobytes())
    return buf.getvalue()


def _jpeg_draft_scale(data: bytes) -> int:
    """The scale Pillow's JPEG draft picks for the largest variant box (1, 2, 4 or 8)."""
    with Image.open(io.BytesIO(data)) as img:
        width = img.width
        target = imaging._fit_inside(img.width, img.height, 1920, 1080)
        img.draft("L", target)
        return round(width / img.width)


# JPEG draft decodes at 1/2, 1/4 or 1/8 once the image is at least that many times the largest
# variant box (1920×1080). Each pair straddles one threshold: a 3:2 photo is limited by its
# height (2160 = 2 × 1080, 4320 = 4 × 1080); 1/8 is reached with a panorama limited by its width
# (15360 = 8 × 1920), which keeps the test image small.
DRAFT_SIZES = [
    ((3238, 2158), 1),
    ((3240, 2160), 2),
    ((6000, 4000), 2),
    ((6478, 4318), 2),
    ((6480, 4320), 4),
    ((15359, 1000), 4),
    ((15360, 1000), 8),
]


@pytest.mark.parametrize(("size", "scale"), DRAFT_SIZES, ids=[f"{w}x{h}" for (w, h), _ in DRAFT_SIZES])
def test_a_processed_photo_reports_the_originals_full_size_at_every_draft_scale(size, scale):
    data = _plain_jpeg(size)
    assert _jpeg_draft_scale(data) == scale  # the case really exercises this draft scale
    result = imaging.process_image(io.BytesIO(data), specs=VARIANTS, formats=["webp"], max_pixels=MAX, webp_method=0)
    assert (result.width, result.height) == size
    large = next(r for r in result.renditions if r.name == "large")
    # Variant sizes come from the true size too, so a srcset's aspect matches the photo's.
    assert (large.width, large.height) == imaging._fit_inside(*size, 1920, 1080)


@pytest.mark.parametrize("size", [(4000, 6000), (2158, 3238), (4320, 6480)])
def test_a_rotated_photo_reports_its_full_displayed_size(size):
    stored = (size[1], size[0])  # orientation 6: stored on its side, displayed upright
    data = _plain_jpeg(stored, orientation=6)
    inspected = imaging.inspect_image(io.BytesIO(data), max_pixels=MAX)
    result = imaging.process_image(io.BytesIO(data), specs=VARIANTS, formats=["webp"], max_pixels=MAX, webp_method=0)
    assert (result.width, result.height) == (inspected.width, inspected.height) == size
    large = next(r for r in result.renditions if r.name == "large")
    assert (large.width, large.height) == imaging._fit_inside(*size, 1920, 1080)


def test_header_size_reads_the_displayed_size_without_decoding():
    data = _plain_jpeg((6000, 4000), orientation=6)
    assert imaging.header_size(io.BytesIO(data)) == (4000, 6000)
    assert imaging.header_size(io.BytesIO(png_header_only(12_000, 9_000))) == (12_000, 9_000)


@pytest.mark.parametrize("fmt", ["PNG", "JPEG", "WEBP"])
def test_inspecting_an_upload_decodes_no_pixels(monkeypatch, fmt):
    from PIL import ImageFile

    decoded = []
    real_load = ImageFile.ImageFile.load

    def spy_load(self):
        decoded.append(self.format)
        return real_load(self)

    data = make_image(fmt, size=(640, 480))
    monkeypatch.setattr(ImageFile.ImageFile, "load", spy_load)
    info = imaging.inspect_image(io.BytesIO(data), max_pixels=MAX)
    assert imaging.header_size(io.BytesIO(data)) == (info.width, info.height) == (640, 480)
    assert decoded == []  # a PNG's getexif() used to decode the whole picture, in the web process


def test_a_png_with_an_exif_orientation_before_its_pixels_is_turned():
    exif = Image.Exif()
    exif[0x0112] = 6
    data = make_image("PNG", size=(64, 48), exif=exif.tobytes())
    assert imaging.inspect_image(io.BytesIO(data), max_pixels=MAX).width == 48
    assert imaging.header_size(io.BytesIO(data)) == (48, 64)


def test_a_100_megapixel_png_under_the_limit_is_accepted_without_decoding_it(monkeypatch):
    monkeypatch.setattr(Image, "MAX_IMAGE_PIXELS", 89_478_485)  # Pillow's default, as in a fresh web process
    info = imaging.inspect_image(io.BytesIO(png_header_only(10_000, 10_000)), max_pixels=120_000_000)
    assert (info.width, info.height) == (10_000, 10_000)
    with pytest.raises(TooLarge):
        imaging.inspect_image(io.BytesIO(png_header_only(11_000, 11_000)), max_pixels=120_000_000)


def test_the_placeholder_colour_is_read_back_from_the_blurhash_it_was_written_in():
    orange = Image.new("RGB", (64, 48), (230, 120, 20))
    hashed = imaging.blurhash_of(orange)
    assert imaging.b83_decode(imaging.b83_encode(123456, 4)) == 123456
    assert blurhash_colour(hashed) == "#e67814"  # the same alphabet both ways
    assert blurhash_colour('LE""""') == "#8882" and blurhash_colour("L") == "#8882"


def test_encoding_on_two_threads_makes_the_very_same_files_as_on_one():
    """Each encoder has its own options (Image.save keeps them on the image): were they shared between
    threads, an AVIF would be written with WebP's quality or the other way round."""
    data = make_image("JPEG", size=(2000, 1400))
    quality = {"avif": 60, "webp": 85, ("small", "webp"): 70}

    def files(threads: int) -> list[tuple[str, str, bytes]]:
        done = imaging.process_image(io.BytesIO(data), specs=VARIANTS, formats=["avif", "webp"], max_pixels=10**8,
                                     quality=quality, avif_speed=10, webp_method=0, threads=threads)  # fmt: skip
        return [(r.name, r.format, r.data) for r in done.renditions]

    one = files(1)
    assert [(name, fmt) for name, fmt, _ in one] == [(s.name, f) for s in VARIANTS for f in ("avif", "webp")]
    for _ in range(3):
        assert files(2) == one
