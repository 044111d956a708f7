"""galleries.location: GPS and named places leave originals losslessly, as equal-length patches.

Every file here is real: written by Pillow, pillow_heif, ffmpeg or exiftool. exiftool is also the
independent judge of what a cleaned file still says.
"""

import io
import json
import re
import shutil
import struct
import subprocess
import zlib
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from PIL import Image, PngImagePlugin

from conftest import make_image
from galleries.imaging import register_openers
from galleries.location import LocationNotRemovable, PatchedReader, iter_patched, location_patches

register_openers()

GPS_IFD = 0x8825
LOCATION_TAG = re.compile(r"GPS|Location|City|State|Country", re.IGNORECASE)
IMAGE_FORMATS = ["JPEG", "PNG", "WEBP", "HEIF", "AVIF"]
SAVE_OPTIONS = {"WEBP": {"lossless": True}, "HEIF": {"quality": -1}}

XMP_WITH_LOCATION = """<?xpacket begin="\ufeff" id="W5M0MpCehiHzreSzNTczkc9d"?>
<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#">
<rdf:Description rdf:about="" xmlns:exif="http://ns.adobe.com/exif/1.0/"
  xmlns:photoshop="http://ns.adobe.com/photoshop/1.0/" xmlns:dc="http://purl.org/dc/elements/1.1/"
  xmlns:Iptc4xmpExt="http://iptc.org/std/Iptc4xmpExt/2008-02-29/" xmlns:drone-dji="http://www.dji.com/drone-dji/1.0/"
  exif:GPSLatitude="48,51.504N" photoshop:City="Paris" photoshop:Country='France' drone-dji:GpsLatitude="48.8584">
 <exif:GPSLongitude>2,17.67E</exif:GPSLongitude>
 <exif:GPSAltitude>35/1</exif:GPSAltitude>
 <Iptc4xmpExt:LocationShown><rdf:Bag><rdf:li rdf:parseType="Resource">
  <Iptc4xmpExt:Sublocation>Champ de Mars</Iptc4xmpExt:Sublocation>
 </rdf:li></rdf:Bag></Iptc4xmpExt:LocationShown>
 <dc:creator><rdf:Seq><rdf:li>Alice Lens</rdf:li></rdf:Seq></dc:creator>
</rdf:Description></rdf:RDF></x:xmpmeta>
<?xpacket end="w"?>"""
XMP_WITHOUT_LOCATION = """<?xpacket begin="\ufeff" id="W5M0MpCehiHzreSzNTczkc9d"?>
<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#">
<rdf:Description rdf:about="" xmlns:dc="http://purl.org/dc/elements/1.1/">
 <dc:creator><rdf:Seq><rdf:li>Alice Lens</rdf:li></rdf:Seq></dc:creator>
</rdf:Description></rdf:RDF></x:xmpmeta>
<?xpacket end="w"?>"""


def camera_exif(*, gps: bool = True) -> Image.Exif:
    exif = Image.Exif()
    exif[0x010F] = "Canon"
    exif[0x0110] = "EOS R5"
    exif.get_ifd(0x8769)[0x9003] = "2024:05:01 10:00:00"
    if gps:
        ifd = exif.get_ifd(GPS_IFD)
        ifd.update({0: b"\x02\x02\x00\x00", 1: "N", 2: (48.0, 51.0, 30.24), 3: "E", 4: (2.0, 17.0, 40.2), 6: 35.0})
    return exif


def photo_bytes(fmt: str, *, gps: bool = True, xmp: str | None = None, **save) -> bytes:
    """A real photo with camera EXIF (GPS unless told otherwise) and, if given, XMP."""
    save = {**SAVE_OPTIONS.get(fmt, {}), **save, "exif": camera_exif(gps=gps)}
    if xmp is not None:
        if fmt == "PNG":
            info = PngImagePlugin.PngInfo()
            info.add_itxt("XML:com.adobe.xmp", xmp)
            save["pnginfo"] = info
        else:
            save["xmp"] = xmp.encode()
    return make_image(fmt, size=(96, 64), **save)


def patched(data: bytes, patches) -> bytes:
    """The reference: patches applied to a plain copy."""
    out = bytearray(data)
    for offset, replacement in patches:
        out[offset : offset + len(replacement)] = replacement
    return bytes(out)


def cleaned(data: bytes, kind: str) -> bytes:
    return patched(data, location_patches(io.BytesIO(data), kind))


def pixels(data: bytes) -> bytes:
    with Image.open(io.BytesIO(data)) as img:
        return img.convert("RGB").tobytes()


def needs(tool: str) -> None:
    """The independent checkers are Debian packages .ci/run installs; elsewhere their tests skip."""
    if shutil.which(tool) is None:
        package = {"exiftool": "libimage-exiftool-perl"}.get(tool, "ffmpeg")
        pytest.skip(f"{tool} is not installed (apt-get install {package}; .ci/run installs it)")


def exiftool(data: bytes, tmp_path: Path, suffix: str) -> dict:
    needs("exiftool")
    path = tmp_path / f"check.{suffix}"
    path.write_bytes(data)
    out = subprocess.run(["exiftool", "-j", "-n", "-G", "-a", str(path)], capture_output=True, check=True, timeout=60)
    tags = json.loads(out.stdout)[0]
    return {key: value for key, value in tags.items() if not key.startswith(("File:", "SourceFile", "ExifTool:"))}


def location_tags(tags: dict) -> dict:
    return {key: value for key, value in tags.items() if LOCATION_TAG.search(key.split(":")[-1])}


def exiftool_write(data: bytes, tmp_path: Path, suffix: str, *args: str) -> bytes:
    needs("exiftool")
    path = tmp_path / f"written.{suffix}"
    path.write_bytes(data)
    subprocess.run(["exiftool", "-q", "-overwrite_original", *args, str(path)], check=True, timeout=60)
    return path.read_bytes()


def png_crcs_are_valid(data: bytes) -> bool:
    pos = 8
    while pos < len(data):
        (length,) = struct.unpack(">L", data[pos : pos + 4])
        body = data[pos + 4 : pos + 8 + length]
        if struct.unpack(">L", data[pos + 8 + length : pos + 12 + length])[0] != zlib.crc32(body):
            return False
        pos += 12 + length
    return True


# --- Every image format: the location goes, the rest stays ------------------------------------------


@pytest.mark.parametrize("fmt", IMAGE_FORMATS)
def test_gps_and_places_are_removed_and_the_photo_stays_the_same(fmt, tmp_path):
    original = photo_bytes(fmt, xmp=XMP_WITH_LOCATION)
    before = exiftool(original, tmp_path, fmt.lower())
    assert "EXIF:GPSLatitude" in before and "XMP:City" in before  # the test file really has a location

    clean = cleaned(original, fmt)

    assert len(clean) == len(original)
    assert pixels(clean) == pixels(original)
    with Image.open(io.BytesIO(clean)) as img:
        exif = img.getexif()
        assert GPS_IFD not in exif and exif.get_ifd(GPS_IFD) == {}
        assert exif[0x010F] == "Canon"
    after = exiftool(clean, tmp_path, fmt.lower())
    assert location_tags(after) == {}
    assert after["EXIF:Make"] == "Canon" and after["EXIF:Model"] == "EOS R5"
    assert after["EXIF:DateTimeOriginal"] == "2024:05:01 10:00:00"
    assert after["XMP:Creator"] == "Alice Lens"
    assert not any("Warning" in key for key in after)


@pytest.mark.parametrize("fmt", IMAGE_FORMATS)
def test_photos_without_a_location_get_no_patches(fmt):
    with_metadata = photo_bytes(fmt, gps=False, xmp=XMP_WITHOUT_LOCATION)
    bare = make_image(fmt, size=(32, 32), **SAVE_OPTIONS.get(fmt, {}))

    assert location_patches(io.BytesIO(with_metadata), fmt) == []
    assert location_patches(io.BytesIO(bare), fmt) == []


@pytest.mark.parametrize(
    ("fmt", "suffix"), [("JPEG", "jpg"), ("PNG", "png"), ("WEBP", "webp"), ("HEIF", "heic"), ("AVIF", "avif")]
)
def test_a_location_written_by_exiftool_is_removed(fmt, suffix, tmp_path):
    """exiftool writes big-endian EXIF and its own XMP layout: a second, independent writer."""
    plain = photo_bytes(fmt, gps=False)
    original = exiftool_write(
        plain, tmp_path, suffix,
        "-GPSLatitude=48.8584", "-GPSLatitudeRef=N", "-GPSLongitude=2.2945", "-GPSLongitudeRef=E",
        "-XMP-exif:GPSLatitude=48.8584 N", "-XMP-photoshop:City=Paris", "-XMP-dc:Creator=Alice Lens",
    )  # fmt: skip
    assert "EXIF:GPSLatitude" in exiftool(original, tmp_path, suffix)

    clean = cleaned(original, fmt)

    assert len(clean) == len(original)
    assert pixels(clean) == pixels(original)
    after = exiftool(clean, tmp_path, suffix)
    assert location_tags(after) == {}
    assert after["EXIF:Make"] == "Canon" and after["XMP:Creator"] == "Alice Lens"


def test_the_thumbnail_directory_after_ifd0_survives(tmp_path):
    """Taking the GPS pointer out of IFD0 moves its next-IFD link; IFD1 must still be found."""
    (tmp_path / "thumb.jpg").write_bytes(make_image("JPEG", size=(16, 12)))
    original = exiftool_write(
        photo_bytes("JPEG"), tmp_path, "jpg", f"-ThumbnailImage<={tmp_path / 'thumb.jpg'}", "-GPSLatitude=48.8584"
    )
    before = exiftool(original, tmp_path, "jpg")
    assert "EXIF:ThumbnailImage" in before and "EXIF:GPSLatitude" in before

    after = exiftool(cleaned(original, "jpeg"), tmp_path, "jpg")

    assert location_tags(after) == {}
    assert after["EXIF:ThumbnailImage"] == before["EXIF:ThumbnailImage"]
    assert after["EXIF:ThumbnailLength"] == before["EXIF:ThumbnailLength"]


def test_extended_xmp_split_inside_a_gps_property_is_cleaned(tmp_path):
    """Extended XMP spans several APP1 segments; a property may straddle two of them."""
    import hashlib

    extended = XMP_WITH_LOCATION.encode()
    guid = hashlib.md5(extended).hexdigest().upper().encode()  # noqa: S324 - the XMP spec's GUID
    main = (
        b'<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#">'
        b'<rdf:Description rdf:about="" xmlns:xmpNote="http://ns.adobe.com/xmp/note/" xmpNote:HasExtendedXMP="'
        + guid + b'"/></rdf:RDF></x:xmpmeta>'
    )  # fmt: skip
    cut = extended.index(b"GPSLongitude") + 5
    segments = [b"http://ns.adobe.com/xap/1.0/\x00" + main] + [
        b"http://ns.adobe.com/xmp/extension/\x00" + guid + struct.pack(">LL", len(extended), offset) + part
        for offset, part in ((0, extended[:cut]), (cut, extended[cut:]))
    ]
    body = photo_bytes("JPEG", gps=False)
    app1 = b"".join(b"\xff\xe1" + struct.pack(">H", len(seg) + 2) + seg for seg in segments)
    original = body[:2] + app1 + body[2:]
    assert "XMP:GPSLongitude" in exiftool(original, tmp_path, "jpg")

    clean = cleaned(original, "jpeg")

    assert len(clean) == len(original) and pixels(clean) == pixels(original)
    after = exiftool(clean, tmp_path, "jpg")
    assert location_tags(after) == {}
    assert after["XMP:Creator"] == "Alice Lens"


class CountingFile(io.BytesIO):
    def __init__(self, data: bytes) -> None:
        super().__init__(data)
        self.calls, self.total = 0, 0

    def read(self, n=-1):
        data = super().read(n)
        self.calls += 1
        self.total += len(data)
        return data


def test_only_the_metadata_bytes_of_a_big_jpeg_are_read():
    """A 2 MB photo: one or two reads at the start, never the whole file."""
    original = make_image("JPEG", size=(1600, 1200), noise=True, quality=95, exif=camera_exif())
    assert len(original) > 2_000_000
    f = CountingFile(original)

    assert location_patches(f, "jpeg")
    assert f.calls <= 2 and f.total <= 128 * 1024


def test_a_big_png_is_walked_chunk_header_by_chunk_header():
    """PNG metadata may follow the pixels, so every chunk header is read, but not the pixels."""
    original = make_image("PNG", size=(1600, 1200), noise=True, compress_level=1, exif=camera_exif())
    assert len(original) > 5_000_000
    f = CountingFile(original)

    assert location_patches(f, "png")
    assert f.total <= len(original) // 8


# --- PNG text chunks ---------------------------------------------------------------------------


def test_png_compressed_xmp_with_a_location_becomes_a_private_chunk_with_a_valid_crc(tmp_path):
    info = PngImagePlugin.PngInfo()
    info.add_itxt("XML:com.adobe.xmp", XMP_WITH_LOCATION, zip=True)
    info.add_text("Comment", "kept")
    original = make_image("PNG", size=(64, 48), pnginfo=info)
    assert "XMP:GPSLatitude" in exiftool(original, tmp_path, "png")

    clean = cleaned(original, "png")

    assert len(clean) == len(original) and pixels(clean) == pixels(original)
    assert png_crcs_are_valid(clean)
    assert b"lcRm" in clean and b"iTXt" not in clean
    with Image.open(io.BytesIO(clean)) as img:
        img.load()
        assert img.info["Comment"] == "kept"
    assert location_tags(exiftool(clean, tmp_path, "png")) == {}


def test_png_compressed_xmp_without_a_location_is_left_alone():
    info = PngImagePlugin.PngInfo()
    info.add_itxt("XML:com.adobe.xmp", XMP_WITHOUT_LOCATION, zip=True)
    original = make_image("PNG", size=(64, 48), pnginfo=info)

    assert location_patches(io.BytesIO(original), "png") == []


def test_png_imagemagick_raw_exif_profile_loses_its_gps_in_place(tmp_path):
    payload = camera_exif().tobytes()  # Exif\0\0 and TIFF, as ImageMagick writes it
    hexed = "\n".join(payload.hex()[i : i + 72] for i in range(0, len(payload) * 2, 72))
    info = PngImagePlugin.PngInfo()
    info.add_text("Raw profile type exif", f"\nexif\n{len(payload):8d}\n{hexed}\n")
    original = make_image("PNG", size=(64, 48), pnginfo=info)
    with Image.open(io.BytesIO(original)) as img:
        assert img.getexif().get_ifd(GPS_IFD)  # Pillow reads GPS from the raw profile
    assert "EXIF:GPSLatitude" in exiftool(original, tmp_path, "png")  # and so does exiftool

    clean = cleaned(original, "png")

    assert len(clean) == len(original) and pixels(clean) == pixels(original)
    assert png_crcs_are_valid(clean)
    with Image.open(io.BytesIO(clean)) as img:
        exif = img.getexif()
        assert exif.get_ifd(GPS_IFD) == {} and exif[0x010F] == "Canon"
    after = exiftool(clean, tmp_path, "png")
    assert location_tags(after) == {} and after.get("EXIF:Make") == "Canon"


# --- GIF and unknown kinds ---------------------------------------------------------------------


def test_a_plain_gif_needs_no_patches():
    assert location_patches(io.BytesIO(make_image("GIF", size=(32, 32))), "GIF") == []


def test_a_gif_whose_xmp_holds_a_location_is_refused(tmp_path):
    original = exiftool_write(make_image("GIF", size=(32, 32)), tmp_path, "gif", "-XMP-exif:GPSLatitude=48.8584 N")
    assert "XMP:GPSLatitude" in exiftool(original, tmp_path, "gif")

    with pytest.raises(LocationNotRemovable):
        location_patches(io.BytesIO(original), "GIF")


def test_an_unknown_kind_is_refused():
    with pytest.raises(LocationNotRemovable):
        location_patches(io.BytesIO(b"%PDF-1.4"), "pdf")


# --- Video -------------------------------------------------------------------------------------


def make_clip(tmp_path: Path, suffix: str, *metadata: str) -> bytes:
    needs("ffmpeg")
    out = tmp_path / f"clip.{suffix}"
    args = [arg for pair in metadata for arg in ("-metadata", pair)]
    flags = ["-movflags", "use_metadata_tags"] if "keys" in suffix else []
    subprocess.run(
        ["ffmpeg", "-v", "error", "-y", "-f", "lavfi", "-i", "testsrc=size=64x48:rate=5:duration=1",
         "-c:v", "libvpx" if suffix in ("webm", "mkv") else "mpeg4", *args, *flags, str(out)],
        check=True, capture_output=True, timeout=60,
    )  # fmt: skip
    return out.read_bytes()


def ffprobe_tags(data: bytes, tmp_path: Path, suffix: str) -> dict:
    path = tmp_path / f"probe.{suffix}"
    path.write_bytes(data)
    out = subprocess.run(
        ["ffprobe", "-v", "error", "-show_entries", "format_tags", "-of", "json", str(path)],
        capture_output=True, check=True, timeout=60,
    )  # fmt: skip
    return json.loads(out.stdout)["format"].get("tags", {})


def frame_hashes(data: bytes, tmp_path: Path, suffix: str) -> bytes:
    path = tmp_path / f"frames.{suffix}"
    path.write_bytes(data)
    cmd = ["ffmpeg", "-v", "error", "-i", str(path), "-f", "framemd5", "-"]
    return subprocess.run(cmd, capture_output=True, check=True, timeout=60).stdout


LOCATION = "location=+48.8584+002.2945/"


@pytest.mark.parametrize(
    ("kind", "suffix", "metadata"),
    [
        ("mp4", "mp4", [LOCATION, "title=Holiday"]),
        ("mov", "mov", [LOCATION, "title=Holiday"]),
        ("mov", "keys.mov", ["com.apple.quicktime.location.ISO6709=+48.8584+002.2945/", "title=Holiday"]),
        ("webm", "webm", [LOCATION, "title=Holiday"]),
        ("webm", "mkv", [LOCATION, "title=Holiday"]),  # Matroska proper: CRC-32 elements
    ],
)  # fmt: skip
def test_a_video_location_is_removed_and_the_video_still_plays(kind, suffix, metadata, tmp_path):
    ext = suffix.split(".")[-1]
    original = make_clip(tmp_path, suffix, *metadata)
    assert location_tags(exiftool(original, tmp_path, ext))
    assert any("location" in key.lower() for key in ffprobe_tags(original, tmp_path, ext))

    clean = cleaned(original, kind)

    assert len(clean) == len(original)
    assert location_tags(exiftool(clean, tmp_path, ext)) == {}
    tags = ffprobe_tags(clean, tmp_path, ext)
    assert not any("location" in key.lower() for key in tags)
    assert tags.get("title") == "Holiday"
    assert frame_hashes(clean, tmp_path, ext) == frame_hashes(original, tmp_path, ext)
    if ext == "mkv":
        assert matroska_tags_crc_is_valid(clean)


def matroska_tags_crc_is_valid(data: bytes) -> bool:
    """The CRC-32 element that opens the Tags element matches the bytes after it."""
    tags_id = bytes.fromhex("1254C367")
    at = data.index(tags_id)
    if data[at - 3 : at] == b"\x53\xab\x84":  # that one is the SeekHead entry naming Tags
        at = data.index(tags_id, at + 4)
    size_len = 8 - data[at + 4].bit_length() + 1
    size = int.from_bytes(data[at + 4 : at + 4 + size_len], "big") & ((1 << (7 * size_len)) - 1)
    body = data[at + 4 + size_len : at + 4 + size_len + size]
    assert body[:2] == b"\xbf\x84"  # the test is only meaningful when the CRC is there
    return struct.unpack("<L", body[2:6])[0] == zlib.crc32(body[6:])


@pytest.mark.parametrize(("kind", "suffix"), [("mp4", "mp4"), ("mov", "mov")])
def test_video_locations_written_by_exiftool_are_removed(kind, suffix, tmp_path):
    """UserData, Keys and ItemList GPSCoordinates, 3GPP loci and XMP, as exiftool writes them."""
    original = exiftool_write(
        make_clip(tmp_path, suffix, LOCATION), tmp_path, suffix,
        "-XMP-exif:GPSLatitude=48.8584 N", "-XMP-exif:GPSLongitude=2.2945 E", "-XMP-dc:Creator=Alice Lens",
        "-Keys:GPSCoordinates=48.8584, 2.2945", "-UserData:GPSCoordinates=48.8584, 2.2945",
        "-ItemList:GPSCoordinates=48.8584, 2.2945", "-Keys:Make=Apple",
    )  # fmt: skip
    assert "XMP:GPSLatitude" in exiftool(original, tmp_path, suffix)

    clean = cleaned(original, kind)

    assert len(clean) == len(original)
    after = exiftool(clean, tmp_path, suffix)
    assert location_tags(after) == {}
    assert after["QuickTime:Make"] == "Apple" and after["XMP:Creator"] == "Alice Lens"
    assert frame_hashes(clean, tmp_path, suffix) == frame_hashes(original, tmp_path, suffix)


@pytest.mark.parametrize(("kind", "suffix"), [("mp4", "mp4"), ("mov", "mov"), ("webm", "webm")])
def test_a_video_without_a_location_gets_no_patches(kind, suffix, tmp_path):
    assert location_patches(io.BytesIO(make_clip(tmp_path, suffix, "title=Holiday")), kind) == []


def test_a_webm_whose_structure_cannot_be_followed_is_refused(tmp_path):
    clip = bytearray(make_clip(tmp_path, "webm", LOCATION))
    segment = clip.index(bytes.fromhex("18538067"))
    clip[segment + 12 : segment + 16] = b"\x00\x00\x00\x00"  # a zero byte cannot start an element id

    with pytest.raises(LocationNotRemovable):
        location_patches(io.BytesIO(bytes(clip)), "webm")


# --- Hostile EXIF ------------------------------------------------------------------------------


def jpeg_with_app1(payload: bytes) -> bytes:
    """A real JPEG whose only APP1 segment is payload (placed right after SOI)."""
    body = make_image("JPEG", size=(16, 16))
    return body[:2] + b"\xff\xe1" + struct.pack(">H", len(payload) + 2) + payload + body[2:]


def tiff(entries: list[tuple[int, int, int, int]], *, next_ifd: int = 0, tail: bytes = b"") -> bytes:
    """A little-endian TIFF whose IFD0 (at 8) holds entries (tag, type, count, value)."""
    ifd = struct.pack("<H", len(entries)) + b"".join(struct.pack("<HHLL", *e) for e in entries)
    return b"II*\x00" + struct.pack("<L", 8) + ifd + struct.pack("<L", next_ifd) + tail


def assert_safe(data: bytes, kind: str = "jpeg"):
    """location_patches either refuses or gives in-file, sorted, disjoint patches."""
    try:
        patches = location_patches(io.BytesIO(data), kind)
    except LocationNotRemovable:
        return None
    end = 0
    for offset, replacement in patches:
        assert offset >= end and offset + len(replacement) <= len(data)
        end = offset + len(replacement)
    return patched(data, patches)


HOSTILE_EXIF = {
    "gps pointer outside": tiff([(0x010F, 2, 4, 0x6E6F6E), (GPS_IFD, 4, 1, 0xFFFFFFF0)]),
    "gps pointer at itself": tiff([(GPS_IFD, 4, 1, 8)]),
    "ifd chain loop": tiff([(GPS_IFD, 4, 1, 8)], next_ifd=8),
    "huge entry count": b"II*\x00\x08\x00\x00\x00\xff\xff" + struct.pack("<HHLL", GPS_IFD, 4, 1, 8) + bytes(20),
    "gps values huge and outside": tiff(
        [(GPS_IFD, 4, 1, 26)],
        tail=struct.pack("<H", 2)
        + struct.pack("<HHLL", 2, 5, 0x40000000, 26)
        + struct.pack("<HHLL", 4, 5, 3, 0xFFFFFF00)
        + bytes(4),
    ),
    "exif ifd loops to itself": tiff([(0x8769, 4, 1, 8), (GPS_IFD, 4, 1, 0)]),
    "subifds count huge": tiff([(0x014A, 4, 0xFFFFFFFF, 8)]),
    "ifd0 outside": b"II*\x00\xff\xff\xff\x7f",
    "only a header": b"II*\x00",
    "not tiff": b"XX*\x00\x08\x00\x00\x00",
}


@pytest.mark.parametrize("name", HOSTILE_EXIF)
@pytest.mark.filterwarnings("ignore::UserWarning")  # Pillow's own complaints about the hostile EXIF
def test_hostile_exif_never_crashes_and_leaves_no_gps_pointer(name):
    data = jpeg_with_app1(b"Exif\x00\x00" + HOSTILE_EXIF[name])

    clean = assert_safe(data)

    if clean is not None:
        with Image.open(io.BytesIO(clean)) as img:
            try:
                exif = img.getexif()
            except Exception:  # Pillow may give up on hostile EXIF; that is not ours to judge
                return
            assert GPS_IFD not in exif


def test_junk_before_the_exif_segment_does_not_hide_it():
    """Decoders skip junk bytes up to the next 0xFF; a stray RST marker and junk must not end the walk."""
    data = photo_bytes("JPEG")
    junked = data[:2] + b"\xff\xd5" + b"\x00\x10junk" + data[2:]
    with Image.open(io.BytesIO(junked)) as img:
        assert img.getexif().get_ifd(GPS_IFD)  # Pillow still finds the GPS behind the junk

    with Image.open(io.BytesIO(cleaned(junked, "jpeg"))) as img:
        assert img.getexif().get_ifd(GPS_IFD) == {}


@pytest.mark.parametrize("cut", range(0, 400, 7))
def test_truncated_exif_never_crashes(cut):
    payload = b"Exif\x00\x00" + camera_exif().tobytes()
    assert_safe(jpeg_with_app1(payload[:cut]))


FUZZ_SOURCES = {fmt: photo_bytes(fmt, xmp=XMP_WITH_LOCATION) for fmt in IMAGE_FORMATS}


@pytest.mark.parametrize("fmt", IMAGE_FORMATS)
@pytest.mark.filterwarnings("ignore::UserWarning")  # Pillow's own complaints about damaged EXIF
@settings(max_examples=60, deadline=None, derandomize=True, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_damaged_files_never_crash_and_never_keep_a_gps_pillow_can_read(fmt, data):
    original = FUZZ_SOURCES[fmt]
    damaged = bytearray(original)
    for _ in range(data.draw(st.integers(1, 8))):
        damaged[data.draw(st.integers(0, len(damaged) - 1))] = data.draw(st.integers(0, 255))
    if data.draw(st.booleans()):
        damaged = damaged[: data.draw(st.integers(0, len(damaged)))]

    clean = assert_safe(bytes(damaged), fmt)

    if clean is not None:
        try:
            with Image.open(io.BytesIO(clean)) as img:
                gps = img.getexif().get_ifd(GPS_IFD)
        except Exception:  # a damaged file Pillow cannot read leaks nothing through Pillow
            return
        assert not gps


@pytest.mark.parametrize("fmt", IMAGE_FORMATS)
def test_damaged_files_never_keep_a_location_exiftool_can_read(fmt, tmp_path):
    """exiftool reads on past damage that stops Pillow; what we pass as clean must satisfy it too."""
    needs("exiftool")
    import random

    rng = random.Random(f"location-{fmt}")
    original, paths = FUZZ_SOURCES[fmt], []
    for n in range(80):
        damaged = bytearray(original)
        for _ in range(rng.randint(1, 4)):
            # Mostly in the first kilobyte, where the metadata lives.
            i = rng.randrange(min(len(damaged), 1000)) if rng.random() < 0.8 else rng.randrange(len(damaged))
            damaged[i] = rng.randrange(256)
        clean = assert_safe(bytes(damaged), fmt)
        if clean is not None:
            paths.append(tmp_path / f"{n}.{fmt.lower()}")
            paths[-1].write_bytes(clean)
    assert paths  # most damaged files are still cleaned, not refused
    out = subprocess.run(["exiftool", "-j", "-n", "-G", "-a", *map(str, paths)], capture_output=True, timeout=120)

    leaks = {r["SourceFile"]: location_tags(r) for r in json.loads(out.stdout) if location_tags(r)}
    assert leaks == {}


def test_a_structure_that_breaks_before_its_end_is_refused_not_passed():
    """exiftool reads on where a walk has to stop, so a file cut short in its headers is refused."""
    jpeg = photo_bytes("JPEG")
    app1 = jpeg.index(b"\xff\xe1")
    jpeg_overrun = jpeg[: app1 + 2] + b"\xff\xff" + jpeg[app1 + 4 :]  # APP1 says 65535 bytes
    heif = photo_bytes("HEIF")
    meta = heif.index(b"meta") - 4
    heif_overrun = heif[:meta] + struct.pack(">L", len(heif)) + heif[meta + 4 :]

    for data, kind in ((jpeg_overrun, "jpeg"), (heif_overrun, "heif"), (b"\x89PNX" + b"\x00" * 40, "png")):
        with pytest.raises(LocationNotRemovable):
            location_patches(io.BytesIO(data), kind)


def test_hostile_xmp_is_refused_when_it_may_hold_a_location():
    broken = b"<x:xmpmeta><rdf:Description exif:GPSLatitude='48,51N'><unclosed></x:xmpmeta>"
    data = jpeg_with_app1(b"http://ns.adobe.com/xap/1.0/\x00" + broken)

    with pytest.raises(LocationNotRemovable):
        location_patches(io.BytesIO(data), "jpeg")


# --- Serving with patches ----------------------------------------------------------------------


@st.composite
def file_and_patches(draw):
    data = draw(st.binary(min_size=0, max_size=3000))
    patches, pos = [], 0
    while pos < len(data) and draw(st.booleans()):
        offset = draw(st.integers(pos, len(data) - 1))
        length = draw(st.integers(1, min(40, len(data) - offset)))
        patches.append((offset, draw(st.binary(min_size=length, max_size=length))))
        pos = offset + length + draw(st.integers(0, 5))
    return data, patches


operations = st.lists(
    st.one_of(
        st.tuples(st.just("read"), st.integers(-1, 700)),
        st.tuples(st.just("seek"), st.tuples(st.integers(0, 3200), st.just(0))),
        st.tuples(st.just("seek"), st.tuples(st.integers(-200, 200), st.just(1))),
        st.tuples(st.just("seek"), st.tuples(st.integers(-3200, 50), st.just(2))),
    ),
    max_size=25,
)


@settings(max_examples=300, deadline=None, derandomize=True)
@given(case=file_and_patches(), ops=operations)
def test_patched_reader_reads_like_the_patched_bytes(case, ops):
    data, patches = case
    reader = PatchedReader(io.BytesIO(data), patches)
    reference = io.BytesIO(patched(data, patches))
    for op, arg in ops:
        if op == "read":
            assert reader.read(arg) == reference.read(arg)
        else:
            offset, whence = arg
            if [offset, reference.tell() + offset, len(data) + offset][whence] < 0:
                continue  # BytesIO clamps a negative target where a real file refuses it
            assert reader.seek(offset, whence) == reference.seek(offset, whence)
        assert reader.tell() == reference.tell()


@settings(max_examples=200, deadline=None, derandomize=True)
@given(case=file_and_patches(), start=st.integers(0, 3100), length=st.integers(0, 3100), block=st.integers(1, 999))
def test_iter_patched_gives_exactly_the_asked_range(case, start, length, block):
    data, patches = case
    blocks = list(iter_patched(io.BytesIO(data), patches, start, start + length, block=block))
    assert b"".join(blocks) == patched(data, patches)[start : start + length]
    assert all(0 < len(b) <= block for b in blocks)


def test_patched_reader_refuses_patches_outside_the_file_or_overlapping():
    with pytest.raises(ValueError):
        PatchedReader(io.BytesIO(b"abcdef"), [(4, b"xyz")])
    with pytest.raises(ValueError):
        PatchedReader(io.BytesIO(b"abcdef"), [(0, b"xy"), (1, b"z")])


def test_patched_reader_serves_a_cleaned_photo_through_a_file_response(tmp_path):
    from django.http import FileResponse

    original = photo_bytes("JPEG", xmp=XMP_WITH_LOCATION)
    path = tmp_path / "original.jpg"
    path.write_bytes(original)
    with path.open("rb") as f:
        patches = location_patches(f, "jpeg")
    reader = PatchedReader(path.open("rb"), patches)
    response = FileResponse(reader, content_type="image/jpeg")

    body = b"".join(response.streaming_content)
    # Not response.close(): that sends request_finished, which touches the database this test has no access to.
    reader.close()

    assert int(response["Content-Length"]) == len(original)
    assert body == patched(original, patches)
    assert location_tags(exiftool(body, tmp_path, "jpg")) == {}
