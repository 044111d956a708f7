import io

import pytest
from PIL import Image

from conftest import make_image, png_header_only, png_with_trailing_html
from galleries import imaging
from galleries.errors import InvalidInput, TooLarge, UnsupportedType

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
