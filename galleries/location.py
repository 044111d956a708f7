"""Remove location data from original files losslessly, as equal-length patches.

Pure module: no request, no models. `location_patches()` reads a seekable file (headers only, in
blocks) and returns `(offset, replacement)` patches that leave the file exactly as long as it was
and change no byte outside the metadata that holds a location. The pixels (and video samples)
are untouched, so the cleaned file decodes byte-identically. Because the length never changes,
a server can stream the stored original with the patches applied on the fly (`PatchedReader`,
`iter_patched`), Range requests and ranged S3 reads included, without keeping a second copy.

What counts as location:
- EXIF: every GPS IFD (tag 0x8825, wherever it is reachable: IFD0, the IFD chain, the Exif IFD,
  SubIFDs). The pointer entry is taken out of its IFD (the IFD shrinks by one entry and the freed
  12 bytes at its end become zero padding), and the GPS IFD and every value it points to are
  zeroed, so no parser can find even a stray coordinate. Other EXIF stays.
- XMP: every property whose local name (any namespace) starts with "GPS" (exif:GPSLatitude,
  drone-dji:GpsLatitude...), ends in Latitude/Longitude or contains Location, and the named
  places Lightroom and friends fill in by reverse geocoding (City, State, Country, CountryCode,
  Sublocation, ProvinceState, WorldRegion). They become spaces, so the XML stays well-formed.
- Video: MP4/MOV udta `©xyz` and `loci` atoms, Apple `com.apple.quicktime.location.*` keys and
  any other mdta key naming a location (ffmpeg's `location`) become `free` atoms; XMP as above;
  Matroska/WebM tags named like a location become Void.
Containers: JPEG (APP1 Exif, XMP, extended XMP), PNG (eXIf; XMP and ImageMagick raw profiles in
tEXt/iTXt, CRC recomputed; a compressed text chunk that holds a location becomes an unknown
private chunk of zeros), WebP (EXIF, XMP chunks), HEIF/HEIC/AVIF (Exif and XMP items found via
iinf/iloc), MP4/MOV, WebM/Matroska (Tags, CRC-32 recomputed), GIF (no EXIF; see below).
Not touched: IPTC-IIM (JPEG APP13) named places, maker notes, embedded thumbnails' own metadata,
the extra images of a multi-picture (MPF) JPEG, Matroska attachments.

LocationNotRemovable is raised, and the caller must not hand the file out as is, when a location
may be present but cannot be removed at equal length with confidence: an unknown kind, a GIF
whose XMP holds a location (its bytes double as sub-block lengths), XMP that cannot be parsed,
and any damaged structure (lenient readers such as exiftool read on past damage, so a walk
that had to stop early cannot vouch for the rest).
"""

from __future__ import annotations

import io
import re
import struct
import zlib
from collections.abc import Callable, Iterator
from typing import BinaryIO

Patch = tuple[int, bytes]


class LocationNotRemovable(Exception):
    """The file may carry a location that cannot be removed at equal length."""


# Metadata blocks are small; anything bigger is refused rather than read into memory.
_MAX_BLOCK = 16 * 1024 * 1024
_READ_BLOCK = 64 * 1024
_HEADER_WINDOW = 4 * 1024


def location_patches(fileobj: BinaryIO, kind: str) -> list[Patch]:
    """Patches that remove every location from fileobj, sorted and non-overlapping.

    kind is the sniffed format (galleries.imaging.sniff or galleries.video.sniff, any case).
    Returns [] when there is nothing to remove. Raises LocationNotRemovable when a location may
    be present but cannot be removed safely. fileobj is left at offset 0.
    """
    handler = _HANDLERS.get(kind.lower())
    if handler is None:
        raise LocationNotRemovable(f"Removing locations from {kind!r} files is not supported.")
    src = _Source(fileobj)
    edits = _Edits(src.size)
    try:
        handler(src, edits)
    except _Malformed as exc:
        # Lenient readers (exiftool above all) carry on past damage and may find a location
        # beyond the point where this walk had to stop: such a file is not passed as clean.
        raise LocationNotRemovable(f"The {kind} file is damaged ({exc}); its location cannot be vouched for.") from None
    except (struct.error, IndexError, ValueError) as exc:
        # A structure this module did not expect: never pass such a file on as clean.
        raise LocationNotRemovable(f"The {kind} file could not be inspected for a location.") from exc
    finally:
        fileobj.seek(0)
    return edits.patches()


# --- Reading and collecting edits ---------------------------------------------------------------


class _Malformed(Exception):
    """The container structure is broken at this point; stop walking it."""


class _Source:
    """Random access to fileobj through a few cached windows, so a remote file sees few reads.

    A header read that lands outside the cache (a jump over pixel data) fetches a small window;
    anything else a 64 KiB one, which holds the whole metadata area of most files.
    """

    def __init__(self, fileobj: BinaryIO) -> None:
        self.f = fileobj
        self.size = fileobj.seek(0, io.SEEK_END)
        self._windows: list[tuple[int, bytes]] = []

    def read(self, offset: int, length: int) -> bytes:
        """Exactly length bytes at offset, or _Malformed when they are not all in the file."""
        if offset < 0 or length < 0 or offset + length > self.size:
            raise _Malformed(f"read {length} at {offset} past the end")
        for start, window in self._windows:
            if start <= offset and offset + length <= start + len(window):
                return window[offset - start : offset - start + length]
        want = max(length, _HEADER_WINDOW if length <= 64 else _READ_BLOCK)
        self.f.seek(offset)
        window = _read_exactly(self.f, min(want, self.size - offset))
        if len(window) < length:
            raise _Malformed("short read")
        if length <= _READ_BLOCK:
            self._windows = [*self._windows[-7:], (offset, window)]
        return window[:length]


def _read_exactly(f: BinaryIO, length: int) -> bytes:
    parts, got = [], 0
    while got < length:
        chunk = f.read(length - got)
        if not chunk:
            break
        parts.append(chunk)
        got += len(chunk)
    return b"".join(parts)


class _Blob:
    """Bytes gathered from one or more ranges of the file, with a map back to file offsets."""

    def __init__(self, data: bytes, pieces: list[tuple[int, int]]) -> None:
        self.data = data
        self.pieces = pieces  # (file offset, length), in data order

    @classmethod
    def at(cls, src: _Source, offset: int, length: int) -> _Blob:
        if length > _MAX_BLOCK:
            raise LocationNotRemovable("A metadata block is too large to inspect.")
        return cls(src.read(offset, length), [(offset, length)])

    def ranges(self, start: int, end: int) -> Iterator[tuple[int, int, int]]:
        """(data index, file offset, length) runs covering data[start:end]."""
        pos = 0
        for file_offset, length in self.pieces:
            lo, hi = max(start, pos), min(end, pos + length)
            if lo < hi:
                yield lo, file_offset + lo - pos, hi - lo
            pos += length


class _Edits:
    def __init__(self, size: int) -> None:
        self.size = size
        self._patches: list[Patch] = []

    def add(self, offset: int, data: bytes) -> None:
        if offset < 0 or offset + len(data) > self.size:
            raise LocationNotRemovable("A patch would fall outside the file.")
        if data:
            self._patches.append((offset, data))

    def diff(self, blob: _Blob, new: bytes | bytearray) -> None:
        """Record the bytes where new differs from blob.data (equal length) as patches."""
        old = blob.data
        if len(new) != len(old):
            raise AssertionError("patches must keep the length")
        i, n = 0, len(old)
        while i < n:
            if old[i] == new[i]:
                i += 1
                continue
            j, same = i + 1, 0
            while j < n and same < 16:
                same = same + 1 if old[j] == new[j] else 0
                j += 1
            j -= same
            for index, offset, length in blob.ranges(i, j):
                self.add(offset, bytes(new[index : index + length]))
            i = j

    def patches(self) -> list[Patch]:
        merged: list[Patch] = []
        for offset, data in sorted(self._patches):
            if merged and offset < merged[-1][0] + len(merged[-1][1]):
                raise LocationNotRemovable("Two location patches overlap: the file is not well-formed.")
            if merged and offset == merged[-1][0] + len(merged[-1][1]):
                merged[-1] = (merged[-1][0], merged[-1][1] + data)
            else:
                merged.append((offset, data))
        return merged


# --- EXIF (TIFF structure) ---------------------------------------------------------------------

_GPS_POINTER = 0x8825
_SUB_IFDS = (0x8769, 0xA005, 0x014A)  # Exif IFD, Interoperability IFD, SubIFDs
_TYPE_SIZES = {1: 1, 2: 1, 3: 2, 4: 4, 5: 8, 6: 1, 7: 1, 8: 2, 9: 4, 10: 8, 11: 4, 12: 8, 13: 4, 16: 8, 17: 8, 18: 8}
_MAX_IFDS = 64


def _tiff_order(t: bytes | bytearray) -> str | None:
    # Only the byte order counts: exiftool reads on past a wrong magic number (with a warning).
    return {b"II": "<", b"MM": ">"}.get(bytes(t[:2]))


def _ifd_entries(t: bytes | bytearray, order: str, ifd: int) -> tuple[int, list[tuple[int, int, int, int, int]], bool]:
    """(declared count, complete entries as (position, tag, type, count, value), has next pointer)."""
    if ifd < 8 or ifd + 2 > len(t):
        return 0, [], False
    (count,) = struct.unpack_from(order + "H", t, ifd)
    entries = []
    for k in range(count):
        pos = ifd + 2 + 12 * k
        if pos + 12 > len(t):
            break
        tag, typ, n, value = struct.unpack_from(order + "HHLL", t, pos)
        entries.append((pos, tag, typ, n, value))
    has_next = ifd + 2 + 12 * count + 4 <= len(t)
    return count, entries, has_next


def _walk_ifds(t: bytes | bytearray, order: str) -> list[int]:
    """Offsets of every IFD reachable from the header (chain and sub-IFDs), loops cut."""
    (first,) = struct.unpack_from(order + "L", t, 4)
    todo, seen = [first], []
    while todo and len(seen) < _MAX_IFDS:
        ifd = todo.pop(0)
        if ifd in seen or ifd < 8 or ifd + 2 > len(t):
            continue
        seen.append(ifd)
        count, entries, has_next = _ifd_entries(t, order, ifd)
        for _pos, tag, typ, n, value in entries:
            if tag in _SUB_IFDS and typ in (4, 13):
                if n == 1:
                    todo.append(value)
                elif 1 < n <= 64 and value + 4 * n <= len(t):
                    todo.extend(struct.unpack_from(f"{order}{n}L", t, value))
        if has_next:
            (nxt,) = struct.unpack_from(order + "L", t, ifd + 2 + 12 * count)
            if nxt:
                todo.append(nxt)
    return seen


def _gps_pointers(t: bytes | bytearray, order: str) -> list[tuple[int, int]]:
    """(IFD offset, entry position) of every GPS IFD pointer reachable in t."""
    found = []
    for ifd in _walk_ifds(t, order):
        for pos, tag, *_ in _ifd_entries(t, order, ifd)[1]:
            if tag == _GPS_POINTER:
                found.append((ifd, pos))
    return found


def _zero(t: bytearray, start: int, end: int) -> None:
    start, end = max(0, start), min(len(t), end)
    if start < end:
        t[start:end] = bytes(end - start)


def _scrub_gps_ifd(t: bytearray, order: str, gps: int) -> None:
    if gps < 8 or gps + 2 > len(t):
        return
    count, entries, _ = _ifd_entries(t, order, gps)
    for _pos, _tag, typ, n, value in entries:
        size = _TYPE_SIZES.get(typ, 1) * n
        if size > 4:
            _zero(t, value, value + min(size, len(t)))
    _zero(t, gps, gps + 2 + 12 * count + 4)


def _remove_entry(t: bytearray, order: str, ifd: int, pos: int) -> None:
    count, _entries, has_next = _ifd_entries(t, order, ifd)
    end = ifd + 2 + 12 * count
    if has_next and ifd + 2 <= pos < end:
        # Close the gap: later entries and the next-IFD pointer move up, 12 zero bytes follow.
        rest = bytes(t[pos + 12 : end + 4])
        t[pos : end + 4] = rest + bytes(12)
        struct.pack_into(order + "H", t, ifd, count - 1)
    else:
        # A truncated IFD has no room to shift (or a hostile overlap moved things under us):
        # blank the entry; type 0 is skipped by readers.
        _zero(t, pos, pos + 12)


def _scrub_tiff(t: bytearray) -> bool:
    """Remove every GPS IFD from the TIFF structure t, in place. True when t changed."""
    if len(t) < 8:
        return False
    order = _tiff_order(t)
    if order is None:
        return False
    original = bytes(t)
    for _ in range(_MAX_IFDS):
        pointers = _gps_pointers(t, order)
        if not pointers:
            break
        ifd, pos = pointers[0]
        _tag, typ, n, value = struct.unpack_from(order + "HHLL", t, pos)
        if typ in (4, 13) and n >= 1:
            _scrub_gps_ifd(t, order, value)
        # The pointer may have been inside the zeroed GPS IFD (a hostile loop); re-read it.
        if struct.unpack_from(order + "H", t, pos)[0] == _GPS_POINTER:
            _remove_entry(t, order, ifd, pos)
    if _gps_pointers(t, order):
        raise LocationNotRemovable("The EXIF block keeps pointing at a GPS directory.")
    return bytes(t) != original


def _exif_tiff_start(data: bytes) -> int | None:
    """Where the TIFF header starts in an EXIF payload (with or without the Exif\\0\\0 prefix)."""
    # Pillow accepts the prefix twice (some writers double it), so this does too.
    for start in (0, 6, 12):
        if data[start : start + 2] in (b"II", b"MM"):
            return start
        if data[start : start + 6] != b"Exif\x00\x00":
            return None
    return None


def _scrub_exif_payload(data: bytes) -> bytes:
    """data with its GPS removed (data itself when there is none)."""
    start = _exif_tiff_start(data)
    if start is None:
        return data
    t = bytearray(data[start:])
    if not _scrub_tiff(t):
        return data
    return data[:start] + bytes(t)


# --- XMP ---------------------------------------------------------------------------------------

# Matched on the local name, whatever the prefix: readers resolve namespaces, and exiftool even
# guesses them for undeclared prefixes, so a prefix proves nothing. Named places: photoshop:City,
# State, Country; Iptc4xmpCore:Location (the sub-location), CountryCode; Iptc4xmpExt:
# LocationCreated/LocationShown (structures holding places and coordinates); xmpDM:shotLocation.
_GEO_NAME = re.compile(
    rb"(?i)(?:[\w.-]+:)?(?:gps[\w.-]*|[\w.-]*(?:latitude|longitude|location[\w.-]*)"
    rb"|city|state|country|countrycode|countryname|provincestate|sublocation|worldregion)"
)
_NAME = rb"[A-Za-z_][\w.:-]*"
_START_TAG = re.compile(rb"<(" + _NAME + rb")((?:\s+" + _NAME + rb"\s*=\s*(?:\"[^\"]*\"|'[^']*'))*)\s*(/?)>")
_END_TAG = re.compile(rb"</(" + _NAME + rb")\s*>")
_ATTR = re.compile(rb"(" + _NAME + rb")\s*=\s*(?:\"[^\"]*\"|'[^']*')")
_SKIP = ((b"<!--", b"-->"), (b"<![CDATA[", b"]]>"), (b"<?", b"?>"), (b"<!", b">"))
# Used only to decide whether unparseable XMP might hold a location.
_GEO_HINT = re.compile(rb"(?i)gps|latitude|longitude|location|city|state|country|province|worldregion")


def _is_location(name: bytes) -> bool:
    return _GEO_NAME.fullmatch(name) is not None


def _scrub_xmp(data: bytes) -> bytes:
    """data with location properties replaced by spaces (data itself when there is none)."""
    if b"\x00" in data:  # UTF-16/32: not written by anything we accept, and not safely editable
        text = data.replace(b"\x00", b"")
        if _GEO_HINT.search(text):
            raise LocationNotRemovable("The XMP packet is not UTF-8 and may hold a location.")
        return data
    try:
        blanks = _xmp_location_spans(data)
    except _Malformed:
        if _GEO_HINT.search(data):
            raise LocationNotRemovable("The XMP packet is malformed and may hold a location.") from None
        return data
    out = bytearray(data)
    for start, end in blanks:
        out[start:end] = b" " * (end - start)
    if _xmp_residue(bytes(out)):
        # Something that reads like a location property outside what the parse saw (a damaged
        # processing instruction or comment hides it from us, not from a lenient reader).
        raise LocationNotRemovable("The XMP packet may still hold a location.")
    return data if not blanks else bytes(out)


_XMP_NAME_USE = re.compile(rb"<\s*(" + _NAME + rb")|\s(" + _NAME + rb")\s*=")


def _xmp_residue(data: bytes) -> bool:
    """True when an element or attribute named like a location appears anywhere in data."""
    return any(_is_location(m.group(1) or m.group(2)) for m in _XMP_NAME_USE.finditer(data))


def _xmp_location_spans(data: bytes) -> list[tuple[int, int]]:
    spans: list[tuple[int, int]] = []
    stack: list[tuple[bytes, int | None]] = []  # (element name, start if it is to be blanked)
    blanking = False
    pos = 0
    while (lt := data.find(b"<", pos)) != -1:
        for opener, closer in _SKIP:
            if data.startswith(opener, lt):
                end = data.find(closer, lt + len(opener))
                if end == -1:
                    raise _Malformed("unterminated markup")
                pos = end + len(closer)
                break
        else:
            if m := _END_TAG.match(data, lt):
                if not stack or stack[-1][0] != m.group(1):
                    raise _Malformed("unbalanced end tag")
                _name, start = stack.pop()
                if start is not None:
                    spans.append((start, m.end()))
                    blanking = False
                pos = m.end()
                continue
            m = _START_TAG.match(data, lt)
            if m is None:
                raise _Malformed("unreadable tag")
            name, self_closing = m.group(1), bool(m.group(3))
            if not blanking and _is_location(name):
                if self_closing:
                    spans.append((lt, m.end()))
                else:
                    stack.append((name, lt))
                    blanking = True
            else:
                if not blanking:
                    for attr in _ATTR.finditer(data, m.start(2), m.end(2)):
                        if _is_location(attr.group(1)):
                            spans.append(attr.span())
                if not self_closing:
                    stack.append((name, None))
            pos = m.end()
    if stack:
        raise _Malformed("unclosed element")
    return spans


# --- JPEG --------------------------------------------------------------------------------------

_XMP_NS = b"http://ns.adobe.com/xap/1.0/\x00"
_XMP_EXT_NS = b"http://ns.adobe.com/xmp/extension/\x00"


def _jpeg(src: _Source, edits: _Edits) -> None:
    if src.read(0, 2) != b"\xff\xd8":
        raise _Malformed("no SOI")
    pos = 2
    extended: dict[bytes, list[tuple[int, int, int]]] = {}  # guid -> (chunk offset, file offset, length)
    while pos + 4 <= src.size:
        head = src.read(pos, 4)
        if head[0] != 0xFF:
            # Junk between segments: decoders (libjpeg, Pillow) skip to the next 0xFF, so must we.
            pos = _next_ff(src, pos + 1)
            continue
        marker = head[1]
        if marker == 0xFF:  # fill byte
            pos += 1
            continue
        if marker in (0xD9, 0xDA):  # EOI, SOS: the metadata segments are all behind us
            break
        if marker == 0x01 or 0xD0 <= marker <= 0xD7:
            pos += 2
            continue
        (length,) = struct.unpack(">H", head[2:])
        if length < 2:
            raise _Malformed("segment length below 2")
        if marker == 0xE1:
            blob = _Blob.at(src, pos + 4, length - 2)
            data = blob.data
            if data.startswith(_XMP_EXT_NS) and len(data) >= len(_XMP_EXT_NS) + 40:
                n = len(_XMP_EXT_NS)
                guid = data[n : n + 32]
                (chunk_offset,) = struct.unpack(">L", data[n + 36 : n + 40])
                extended.setdefault(guid, []).append((chunk_offset, pos + 4 + n + 40, len(data) - n - 40))
            else:
                edits.diff(blob, _scrub_app1(data))
        pos += 2 + length
    for parts in extended.values():
        _extended_xmp(src, edits, sorted(parts))


def _scrub_app1(data: bytes) -> bytes:
    """An APP1 segment cleaned: EXIF or XMP, told apart as leniently as exiftool does."""
    if data.startswith(_XMP_NS):
        n = len(_XMP_NS)
        return data[:n] + _scrub_xmp(data[n:])
    # exiftool accepts a few bytes of anything before the TIFF header, "Exif\0\0" or not.
    tiff = re.search(rb"II\*\x00|MM\x00\*", data[:16])
    if tiff is None and data.startswith(b"Exif"):
        tiff = re.search(rb"II|MM", data[:16])
    if tiff:
        return data[: tiff.start()] + _scrub_exif_payload(data[tiff.start() :])
    lt = data.find(b"<")
    if lt != -1 and _GEO_HINT.search(data):
        # Not labelled as XMP, but XML that mentions a location: exiftool may still read it.
        return data[:lt] + _scrub_xmp(data[lt:])
    return data


def _next_ff(src: _Source, pos: int) -> int:
    while pos < src.size:
        window = src.read(pos, min(_READ_BLOCK, src.size - pos))
        found = window.find(b"\xff")
        if found != -1:
            return pos + found
        pos += len(window)
    return pos


def _extended_xmp(src: _Source, edits: _Edits, parts: list[tuple[int, int, int]]) -> None:
    expected, pieces = 0, []
    for chunk_offset, file_offset, length in parts:
        if chunk_offset != expected:
            # Pieces missing or overlapping: readers cannot assemble it either, but be careful.
            data = b"".join(src.read(f, n) for _c, f, n in parts)
            if _GEO_HINT.search(data):
                raise LocationNotRemovable("An incomplete extended XMP block may hold a location.")
            return
        pieces.append((file_offset, length))
        expected += length
    data = b"".join(src.read(f, n) for f, n in pieces)
    blob = _Blob(data, pieces)
    edits.diff(blob, _scrub_xmp(data))


# --- PNG ---------------------------------------------------------------------------------------

_PNG_XMP_KEY = b"XML:com.adobe.xmp"
_PNG_EXIF_KEYS = (b"exif", b"Raw profile type exif", b"Raw profile type APP1", b"Raw profile type xmp")
# An unknown ancillary, private, safe-to-copy chunk: decoders skip it.
_PNG_NEUTRAL = b"lcRm"


def _png(src: _Source, edits: _Edits) -> None:
    if src.read(0, 8) != b"\x89PNG\r\n\x1a\n":
        raise _Malformed("no PNG signature")
    pos = 8
    while pos + 12 <= src.size:
        length, ctype = struct.unpack(">L4s", src.read(pos, 8))
        if pos + 12 + length > src.size:
            raise _Malformed("chunk past the end")
        if ctype in (b"eXIf", b"tEXt", b"zTXt", b"iTXt"):
            _png_chunk(src, edits, pos, length, ctype)
        if ctype == b"IEND":
            break
        pos += 12 + length


def _png_chunk(src: _Source, edits: _Edits, pos: int, length: int, ctype: bytes) -> None:
    if ctype != b"eXIf":
        # Look at the keyword before reading a possibly big text chunk.
        key = src.read(pos + 8, min(length, 80)).split(b"\x00", 1)[0]
        if key != _PNG_XMP_KEY and key not in _PNG_EXIF_KEYS:
            return
    if length > _MAX_BLOCK:
        raise LocationNotRemovable("A PNG metadata chunk is too large to inspect.")
    blob = _Blob.at(src, pos + 4, 8 + length)  # type, data and the CRC that covers both
    body = blob.data[4 : 4 + length]
    if ctype == b"eXIf":
        new_body = _scrub_exif_payload(body)
    else:
        new_body = _png_text(ctype, body)
    if new_body is None:
        # Compressed and holding a location: the chunk becomes an unknown one full of zeros.
        new = _PNG_NEUTRAL + bytes(length)
    elif new_body == body:
        return
    else:
        new = ctype + new_body
    edits.diff(blob, new + struct.pack(">L", zlib.crc32(new)))


def _png_text(ctype: bytes, body: bytes) -> bytes | None:
    """The cleaned chunk data, or None when a compressed text holds a location."""
    if ctype == b"iTXt":
        # keyword\0, compression flag and method, language\0, translated keyword\0, text
        k = body.find(b"\x00")
        lang_end = body.find(b"\x00", k + 3) if k != -1 else -1
        start = body.find(b"\x00", lang_end + 1) + 1 if lang_end != -1 else 0
        if not start or k + 3 > len(body):
            return body
        flag = body[k + 1]
    else:
        if b"\x00" not in body:
            return body
        flag, start = ctype == b"zTXt", body.index(b"\x00") + 1 + (ctype == b"zTXt")
    key, text = body.split(b"\x00", 1)[0], body[start:]
    if flag:
        return None if _has_location(key, _inflate(text)) else body
    return body[:start] + _scrub_text_payload(key, text)


def _inflate(data: bytes) -> bytes | None:
    try:
        d = zlib.decompressobj()
        out = d.decompress(data, _MAX_BLOCK)
    except zlib.error:
        return None
    return None if d.unconsumed_tail else out


def _has_location(key: bytes, text: bytes | None) -> bool:
    if text is None:  # undecodable or huge: it cannot be checked, so it is neutralised
        return True
    try:
        return _scrub_text_payload(key, text) != text
    except LocationNotRemovable:
        return True


def _scrub_text_payload(key: bytes, text: bytes) -> bytes:
    if key == _PNG_XMP_KEY:
        return _scrub_xmp(text)
    if key == b"exif":
        return _scrub_exif_payload(text)
    return _scrub_raw_profile(text)


def _scrub_raw_profile(text: bytes) -> bytes:
    """ImageMagick's "\\nname\\n   length\\nhex..." profile: clean the bytes the hex spells."""
    lines = text.split(b"\n", 3)
    if len(lines) < 4:
        return text
    start = len(text) - len(lines[3])
    digits = [i for i in range(start, len(text)) if text[i : i + 1] in b"0123456789abcdefABCDEF" and text[i] > 32]
    if len(digits) % 2:
        digits.pop()
    try:
        payload = bytes.fromhex("".join(chr(text[i]) for i in digits))
    except ValueError:
        return text
    if _exif_tiff_start(payload) is not None:
        new = _scrub_exif_payload(payload)
    elif b"<" in payload[:200]:
        new = _scrub_xmp(payload)
    else:
        return text
    if new == payload:
        return text
    out = bytearray(text)
    hexed = new.hex().encode()
    for i, index in enumerate(digits):
        out[index] = hexed[i]
    return bytes(out)


# --- WebP --------------------------------------------------------------------------------------


def _webp(src: _Source, edits: _Edits) -> None:
    head = src.read(0, 12)
    if head[:4] != b"RIFF" or head[8:12] != b"WEBP":
        raise _Malformed("no RIFF WEBP header")
    end = min(src.size, 8 + struct.unpack("<L", head[4:8])[0])
    pos = 12
    while pos + 8 <= end:
        fourcc, length = struct.unpack("<4sL", src.read(pos, 8))
        if pos + 8 + length > src.size:
            raise _Malformed("chunk past the end")
        if fourcc == b"EXIF":
            blob = _Blob.at(src, pos + 8, length)
            edits.diff(blob, _scrub_exif_payload(blob.data))
        elif fourcc == b"XMP ":
            blob = _Blob.at(src, pos + 8, length)
            edits.diff(blob, _scrub_xmp(blob.data))
        pos += 8 + length + (length & 1)


# --- ISOBMFF: HEIF, HEIC, AVIF -----------------------------------------------------------------


def _walk_boxes(read: Callable[[int, int], bytes], start: int, end: int) -> Iterator[tuple[bytes, int, int]]:
    """(type, payload start, box end) for each box (MP4 calls them atoms) in [start, end).

    read(offset, length) gives exactly length bytes or raises _Malformed. The one box walker of
    this module: boxes in memory (_boxes), top-level boxes (_top_boxes), a video's atoms.
    """
    pos = start
    while pos + 8 <= end:
        size, btype = struct.unpack(">L4s", read(pos, 8))
        header = 8
        if size == 1:
            if pos + 16 > end:
                raise _Malformed("truncated box")
            (size,) = struct.unpack(">Q", read(pos + 8, 8))
            header = 16
        elif size == 0:
            size = end - pos
        if size < header or pos + size > end:
            raise _Malformed("box overruns its parent")
        yield btype, pos + header, pos + size
        pos += size


def _boxes(data: bytes, start: int, end: int) -> Iterator[tuple[bytes, int, int]]:
    """(type, payload start, box end) for each box in data[start:end]."""
    return _walk_boxes(lambda offset, length: data[offset : offset + length], start, end)


def _top_boxes(src: _Source) -> Iterator[tuple[bytes, int, int]]:
    """(type, payload start, box end) for each top-level box of the file, headers read only."""
    return _walk_boxes(src.read, 0, src.size)


def _cstring(data: bytes, pos: int, end: int) -> tuple[bytes, int]:
    nul = data.find(b"\x00", pos, end)
    if nul == -1:
        return data[pos:end], end
    return data[pos:nul], nul + 1


def _heif(src: _Source, edits: _Edits) -> None:
    for btype, start, end in _top_boxes(src):
        if btype == b"meta":
            if end - start > _MAX_BLOCK:
                raise LocationNotRemovable("The HEIF meta box is too large to inspect.")
            _heif_meta(src, edits, src.read(start, end - start), start)


def _heif_meta(src: _Source, edits: _Edits, meta: bytes, meta_offset: int) -> None:
    exif_items, xmp_items, locations = set(), set(), {}
    idat_start = None
    for btype, start, end in _boxes(meta, 4, len(meta)):  # after version and flags
        if btype == b"iinf":
            exif_items, xmp_items = _heif_items(meta, start, end)
        elif btype == b"iloc":
            locations = _heif_locations(meta, start, end)
        elif btype == b"idat":
            idat_start = meta_offset + start
    for item in sorted(exif_items | xmp_items):
        if item not in locations:
            continue
        method, extents = locations[item]
        pieces = []
        for offset, length in extents:
            if method == 1:
                if idat_start is None:
                    raise LocationNotRemovable("A HEIF metadata item points into a missing idat box.")
                offset += idat_start
            elif method != 0:
                raise LocationNotRemovable("A HEIF metadata item is built from other items.")
            if length == 0:
                length = src.size - offset
            if offset < 0 or offset + length > src.size:
                raise _Malformed("item extent outside the file")
            pieces.append((offset, length))
        total = sum(n for _o, n in pieces)
        if total > _MAX_BLOCK:
            raise LocationNotRemovable("A HEIF metadata item is too large to inspect.")
        blob = _Blob(b"".join(src.read(o, n) for o, n in pieces), pieces)
        if item in exif_items:
            edits.diff(blob, _scrub_heif_exif(blob.data))
        else:
            edits.diff(blob, _scrub_xmp(blob.data))


def _scrub_heif_exif(data: bytes) -> bytes:
    """An Exif item: a 4-byte offset to the TIFF header, then (usually Exif\\0\\0 and) TIFF."""
    if len(data) < 4:
        return data
    start = 4 + struct.unpack(">L", data[:4])[0]
    if start >= len(data) or _tiff_order(data[start : start + 4]) is None:
        # Some writers get the offset wrong; readers then look for the header themselves.
        found = _exif_tiff_start(data[4:])
        if found is None:
            return data
        start = 4 + found
    t = bytearray(data[start:])
    if not _scrub_tiff(t):
        return data
    return data[:start] + bytes(t)


def _heif_items(meta: bytes, start: int, end: int) -> tuple[set[int], set[int]]:
    version = meta[start]
    pos = start + 4 + (2 if version == 0 else 4)
    exif, xmp = set(), set()
    for btype, istart, iend in _boxes(meta, pos, end):
        if btype != b"infe" or iend - istart < 8:
            continue
        ver = meta[istart]
        p = istart + 4
        if ver >= 2:
            if ver == 2:
                (item,) = struct.unpack_from(">H", meta, p)
                p += 2
            else:
                (item,) = struct.unpack_from(">L", meta, p)
                p += 4
            p += 2  # protection index
            item_type = meta[p : p + 4]
            _name, p = _cstring(meta, p + 4, iend)
            if item_type == b"Exif":
                exif.add(item)
            elif item_type == b"mime":
                content_type, p = _cstring(meta, p, iend)
                encoding, _ = _cstring(meta, p, iend)
                if content_type == b"application/rdf+xml":
                    if encoding:
                        raise LocationNotRemovable("A HEIF XMP item is compressed.")
                    xmp.add(item)
        else:
            (item,) = struct.unpack_from(">H", meta, p)
            _name, p = _cstring(meta, p + 4, iend)
            content_type, p = _cstring(meta, p, iend)
            if content_type == b"application/rdf+xml":
                xmp.add(item)
    return exif, xmp


def _heif_locations(meta: bytes, start: int, end: int) -> dict[int, tuple[int, list[tuple[int, int]]]]:
    """item id -> (construction method, [(offset, length)]) from an iloc box."""

    def uint(size: int) -> int:
        nonlocal p
        if p + size > end:
            raise _Malformed("truncated iloc")
        value = int.from_bytes(meta[p : p + size], "big") if size else 0
        p += size
        return value

    version = meta[start]
    p = start + 4
    sizes = uint(2)
    offset_size, length_size = sizes >> 12, (sizes >> 8) & 15
    base_offset_size, index_size = (sizes >> 4) & 15, (sizes & 15) if version in (1, 2) else 0
    count = uint(2 if version < 2 else 4)
    found = {}
    for _ in range(count):
        item = uint(2 if version < 2 else 4)
        method = uint(2) & 15 if version in (1, 2) else 0
        uint(2)  # data reference index
        base = uint(base_offset_size)
        extents = []
        for _e in range(uint(2)):
            uint(index_size)
            offset = uint(offset_size)
            extents.append((base + offset, uint(length_size)))
        found[item] = (method, extents)
    return found


# --- MP4 / MOV ---------------------------------------------------------------------------------

_QT_CONTAINERS = {b"moov", b"trak", b"udta"}
_XMP_UUID = bytes.fromhex("BE7ACFCB97A942E89C71999491E3AFAC")
_APPLE_LOCATION = b"com.apple.quicktime.location."


def _is_location_key(key: bytes) -> bool:
    """An mdta key that names a location: Apple's, or ffmpeg's plain `location` (use_metadata_tags)."""
    return key.startswith(_APPLE_LOCATION) or b"location" in key.lower()


def _video(src: _Source, edits: _Edits) -> None:
    for btype, start, end in _top_boxes(src):
        _video_box(src, edits, btype, start, end, depth=0)


def _video_children(src: _Source, start: int, end: int) -> Iterator[tuple[bytes, int, int]]:
    return _walk_boxes(src.read, start, end)


def _video_box(src: _Source, edits: _Edits, btype: bytes, start: int, end: int, depth: int) -> None:
    if depth > 8:
        return
    if btype in _QT_CONTAINERS:
        for child, cstart, cend in _video_children(src, start, end):
            _video_box(src, edits, child, cstart, cend, depth + 1)
    elif btype in (b"\xa9xyz", b"loci"):
        _neutralise_atom(src, edits, start, end)
    elif btype == b"meta":
        _video_meta(src, edits, start, end)
    elif btype == b"XMP_":
        blob = _Blob.at(src, start, end - start)
        edits.diff(blob, _scrub_xmp(blob.data))
    elif btype == b"uuid" and end - start >= 16 and src.read(start, 16) == _XMP_UUID:
        blob = _Blob.at(src, start + 16, end - start - 16)
        edits.diff(blob, _scrub_xmp(blob.data))


def _neutralise_atom(src: _Source, edits: _Edits, start: int, end: int) -> None:
    """Turn the atom whose payload is start..end into a zero-filled `free` atom."""
    blob = _Blob.at(src, start - 8, end - start + 8)
    if struct.unpack(">L", blob.data[:4])[0] != end - start + 8:
        # A 64-bit size header: the type sits 8 bytes earlier; keep the size fields as they are.
        blob = _Blob.at(src, start - 16, end - start + 16)
        new = blob.data[:4] + b"free" + blob.data[8:16] + bytes(end - start)
    else:
        new = blob.data[:4] + b"free" + bytes(end - start)
    edits.diff(blob, new)


def _video_meta(src: _Source, edits: _Edits, start: int, end: int) -> None:
    if end - start > _MAX_BLOCK:
        raise LocationNotRemovable("A video meta atom is too large to inspect.")
    data = src.read(start, end - start)
    # QuickTime's meta is a plain atom; ISO's (inside udta) has 4 bytes of version and flags.
    first = 0 if data[4:8] == b"hdlr" else 4
    keys: list[bytes] = []
    keys_at: list[int] = []
    children = list(_boxes(data, first, len(data)))
    for btype, cstart, cend in children:
        if btype == b"keys" and cend - cstart >= 8:
            (count,) = struct.unpack_from(">L", data, cstart + 4)
            p = cstart + 8
            for _ in range(count):
                if p + 8 > cend:
                    raise _Malformed("truncated keys")
                (size,) = struct.unpack_from(">L", data, p)
                if size < 8 or p + size > cend:
                    raise _Malformed("bad key")
                keys.append(data[p + 8 : p + size])
                keys_at.append(start + p + 8)
                p += size
    for btype, cstart, cend in children:
        if btype != b"ilst":
            continue
        for item, istart, iend in _boxes(data, cstart, cend):
            index = int.from_bytes(item, "big")
            is_location = item == b"\xa9xyz" or (keys and 1 <= index <= len(keys) and _is_location_key(keys[index - 1]))
            if is_location:
                # The value becomes an unknown, zero-filled free atom inside ilst.
                _neutralise_atom(src, edits, start + istart, start + iend)
    for i, key in enumerate(keys):
        if _is_location_key(key):
            # Rename the key too, so nothing announces that a location was there.
            blob = _Blob.at(src, keys_at[i], len(key))
            edits.diff(blob, b"x" * len(key))


# --- GIF ---------------------------------------------------------------------------------------


def _gif(src: _Source, edits: _Edits) -> None:
    """GIF has no EXIF; XMP rides in an application extension whose bytes double as sub-block
    lengths, so it cannot be edited in place. Refuse a GIF whose XMP holds a location."""
    head = src.read(0, 13)
    pos = 13
    if head[10] & 0x80:
        pos += 3 << ((head[10] & 7) + 1)
    while pos < src.size:
        (intro,) = src.read(pos, 1)
        if intro == 0x3B:  # trailer
            return
        if intro == 0x21:
            label, size = src.read(pos + 1, 2)
            block = src.read(pos + 3, size) if size else b""
            app = label == 0xFF and block[:11] == b"XMP DataXMP"
            pos += 3 + size
            start = pos
            pos = _skip_sub_blocks(src, pos)
            if app and _GEO_HINT.search(src.read(start, min(pos - start, _MAX_BLOCK))):
                raise LocationNotRemovable("The GIF carries XMP with a location.")
        elif intro == 0x2C:
            desc = src.read(pos, 10)
            pos += 10
            if desc[9] & 0x80:
                pos += 3 << ((desc[9] & 7) + 1)
            pos = _skip_sub_blocks(src, pos + 1)  # after the LZW minimum code size
        else:
            raise _Malformed("unknown GIF block")


def _skip_sub_blocks(src: _Source, pos: int) -> int:
    while True:
        (size,) = src.read(pos, 1)
        pos += 1 + size
        if size == 0:
            return pos


# --- WebM / Matroska ----------------------------------------------------------------------------

_EBML_SEGMENT, _EBML_CLUSTER, _EBML_TAGS = 0x18538067, 0x1F43B675, 0x1254C367
_EBML_SIMPLE_TAG, _EBML_TAG_NAME, _EBML_CRC, _EBML_VOID = 0x67C8, 0x45A3, 0xBF, 0xEC
_EBML_LEVEL1 = {0x114D9B74, 0x1549A966, 0x1654AE6B, 0x1043A770, _EBML_CLUSTER, 0x1C53BB6B, 0x1941A469, _EBML_TAGS}
_GEO_TAG_NAME = re.compile(rb"(?i)location|^gps|latitude|longitude")


def _ebml_header(head: bytes) -> tuple[int, int, int | None, int]:
    """(element id, id length, payload size or None when unknown, size length) from head."""
    if not head or head[0] == 0:
        raise _Malformed("bad EBML id")
    id_len = 8 - head[0].bit_length() + 1
    if id_len > 4 or len(head) < id_len + 1 or head[id_len] == 0:
        raise _Malformed("bad EBML header")
    size_len = 8 - head[id_len].bit_length() + 1
    if len(head) < id_len + size_len:
        raise _Malformed("truncated EBML header")
    raw = int.from_bytes(head[id_len : id_len + size_len], "big") & ((1 << (7 * size_len)) - 1)
    size = None if raw == (1 << (7 * size_len)) - 1 else raw
    return int.from_bytes(head[:id_len], "big"), id_len, size, size_len


def _webm(src: _Source, edits: _Edits) -> None:
    """Matroska tags named like a location (LOCATION, GPS...) become Void elements.

    Matroska readers resynchronise on damage, so a structure this walk cannot follow is refused
    rather than treated as the end of the file.
    """
    try:
        _webm_walk(src, edits)
    except _Malformed as exc:
        raise LocationNotRemovable(f"The WebM structure could not be followed: {exc}.") from None


def _webm_walk(src: _Source, edits: _Edits) -> None:
    pos = 0
    while pos < src.size:
        eid, id_len, size, size_len = _ebml_header(src.read(pos, min(12, src.size - pos)))
        start = pos + id_len + size_len
        end = src.size if size is None else start + size
        if end > src.size:
            raise _Malformed("element past the end")
        if eid == _EBML_SEGMENT:
            _webm_segment(src, edits, start, end)
        pos = end


def _webm_segment(src: _Source, edits: _Edits, pos: int, end: int) -> None:
    while pos < end:
        eid, id_len, size, size_len = _ebml_header(src.read(pos, min(12, end - pos)))
        start = pos + id_len + size_len
        if size is None:
            if eid != _EBML_CLUSTER:
                raise _Malformed("unknown size outside a cluster")
            pos = _webm_cluster_end(src, start, end)
            continue
        if start + size > end:
            raise _Malformed("element past its segment")
        if eid == _EBML_TAGS:
            _webm_tags(src, edits, start, start + size)
        pos = start + size


def _webm_cluster_end(src: _Source, pos: int, end: int) -> int:
    """Where a cluster of unknown size (a live recording) ends: at the next top-level element."""
    while pos < end:
        head = src.read(pos, min(12, end - pos))
        eid, id_len, size, size_len = _ebml_header(head)
        if eid in _EBML_LEVEL1 or size is None:
            return pos
        pos += id_len + size_len + size
    return end


def _webm_tags(src: _Source, edits: _Edits, start: int, end: int) -> None:
    blob = _Blob.at(src, start, end - start)
    data = bytearray(blob.data)
    crc_at = None
    children = list(_ebml_children(data, 0, len(data)))
    if children and children[0][0] == _EBML_CRC and children[0][3] - children[0][2] == 4:
        crc_at = children[0][2]
    for eid, _estart, pstart, pend in children:
        if eid == 0x7373:  # Tag
            for cid, cstart, _cp, cend in _ebml_children(data, pstart, pend):
                if cid == _EBML_SIMPLE_TAG and _webm_simple_tag_is_location(data, cstart, cend):
                    _ebml_void(data, cstart, cend)
    if crc_at is not None and bytes(data) != blob.data:
        data[crc_at : crc_at + 4] = struct.pack("<L", zlib.crc32(bytes(data[crc_at + 4 :])))
    edits.diff(blob, data)


def _ebml_children(data: bytes | bytearray, pos: int, end: int) -> Iterator[tuple[int, int, int, int]]:
    """(id, element start, payload start, payload end) of each child in data[pos:end]."""
    while pos < end:
        eid, id_len, size, size_len = _ebml_header(bytes(data[pos : min(end, pos + 12)]))
        if size is None or pos + id_len + size_len + size > end:
            raise _Malformed("child past its parent")
        yield eid, pos, pos + id_len + size_len, pos + id_len + size_len + size
        pos += id_len + size_len + size


def _webm_simple_tag_is_location(data: bytearray, start: int, end: int) -> bool:
    _eid, id_len, _size, size_len = _ebml_header(bytes(data[start : start + 12]))
    for cid, cstart, pstart, pend in _ebml_children(data, start + id_len + size_len, end):
        if cid == _EBML_TAG_NAME and _GEO_TAG_NAME.search(bytes(data[pstart:pend])):
            return True
        if cid == _EBML_SIMPLE_TAG and _webm_simple_tag_is_location(data, cstart, pend):
            return True
    return False


def _ebml_void(data: bytearray, start: int, end: int) -> None:
    """Rewrite data[start:end] as a zero-filled Void element of the same length."""
    _eid, id_len, _size, size_len = _ebml_header(bytes(data[start : start + 12]))
    width = id_len + size_len - 1  # the Void id is one byte, the size field takes the rest
    payload = end - start - 1 - width
    if width > 8 or payload >= (1 << (7 * width)) - 1:
        raise LocationNotRemovable("A WebM tag cannot be blanked in place.")
    data[start:end] = bytes([_EBML_VOID]) + (payload | (1 << (7 * width))).to_bytes(width, "big") + bytes(payload)


_HANDLERS = {
    "jpeg": _jpeg,
    "jpg": _jpeg,
    "png": _png,
    "webp": _webp,
    "heif": _heif,
    "heic": _heif,
    "avif": _heif,
    "gif": _gif,
    "mp4": _video,
    "mov": _video,
    "webm": _webm,
}


# --- Serving with patches applied --------------------------------------------------------------


def _check_patches(patches: list[Patch], size: int) -> list[Patch]:
    patches = sorted(patches)
    end = 0
    for offset, data in patches:
        if offset < end or offset + len(data) > size:
            raise ValueError("patches overlap or fall outside the file")
        end = offset + len(data)
    return patches


def _overlay(data: bytes, start: int, patches: list[Patch]) -> bytes:
    """data (read at start) with the patches that touch it applied."""
    end = start + len(data)
    out = None
    for offset, replacement in patches:
        if offset >= end:
            break
        if offset + len(replacement) <= start:
            continue
        if out is None:
            out = bytearray(data)
        lo, hi = max(start, offset), min(end, offset + len(replacement))
        out[lo - start : hi - start] = replacement[lo - offset : hi - offset]
    return data if out is None else bytes(out)


class PatchedReader(io.RawIOBase):
    """A read-only, seekable view of fileobj with the patches applied.

    For FileResponse, StreamingHttpResponse and the ZIP streamer. Closing it closes fileobj.
    """

    def __init__(self, fileobj: BinaryIO, patches: list[Patch]) -> None:
        super().__init__()
        self._f = fileobj
        self.size = fileobj.seek(0, io.SEEK_END)
        self._patches = _check_patches(patches, self.size)
        self._pos = 0
        self.name = getattr(fileobj, "name", None)

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return True

    def tell(self) -> int:
        return self._pos

    def seek(self, offset: int, whence: int = io.SEEK_SET) -> int:
        if whence == io.SEEK_SET:
            pos = offset
        elif whence == io.SEEK_CUR:
            pos = self._pos + offset
        elif whence == io.SEEK_END:
            pos = self.size + offset
        else:
            raise ValueError(f"invalid whence {whence}")
        if pos < 0:
            raise ValueError("negative seek position")
        self._pos = pos
        return pos

    def readall(self) -> bytes:
        return b"".join(iter(lambda: self.read(1024 * 1024), b""))

    def readinto(self, buffer) -> int:
        want = min(len(buffer), max(0, self.size - self._pos))
        if want == 0:
            return 0
        self._f.seek(self._pos)
        data = _read_exactly(self._f, want)
        data = _overlay(data, self._pos, self._patches)
        buffer[: len(data)] = data
        self._pos += len(data)
        return len(data)

    def close(self) -> None:
        if not self.closed:
            self._f.close()
        super().close()


def iter_patched(
    fileobj: BinaryIO, patches: list[Patch], start: int = 0, end: int | None = None, block: int = 1024 * 1024
) -> Iterator[bytes]:
    """The patched bytes of fileobj[start:end] (end exclusive, None for the end), in blocks."""
    size = fileobj.seek(0, io.SEEK_END)
    patches = _check_patches(patches, size)
    end = size if end is None else min(end, size)
    pos = max(0, start)
    while pos < end:
        fileobj.seek(pos)
        data = fileobj.read(min(block, end - pos))
        if not data:
            return
        yield _overlay(data, pos, patches)
        pos += len(data)
