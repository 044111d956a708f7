"""Titles, captions, keywords, ratings and colour labels from XMP (embedded or a sidecar) and IPTC.

Pure: bytes in, a Metadata out; no request, no models. XMP is parsed with the standard library's
ElementTree after refusing any document type declaration: XMP never needs one, and without a DTD
there are no entities to expand (billion laughs) or to fetch (external entities).
"""

from __future__ import annotations

import io
import re
import xml.etree.ElementTree as ET
from dataclasses import dataclass, field

RDF = "{http://www.w3.org/1999/02/22-rdf-syntax-ns#}"
DC = "{http://purl.org/dc/elements/1.1/}"
XMP = "{http://ns.adobe.com/xap/1.0/}"
XML_LANG = "{http://www.w3.org/XML/1998/namespace}lang"

XMP_START = re.compile(rb"<x:xmpmeta\b|<rdf:RDF\b")
MAX_XMP = 1 << 20  # a sidecar or packet larger than this is not metadata
SIDECAR_EXTENSIONS = (".xmp",)


@dataclass
class Metadata:
    title: str = ""
    description: str = ""
    rating: int | None = None
    label: str = ""
    keywords: list[str] = field(default_factory=list)

    def merged(self, over: Metadata) -> Metadata:
        """These fields, with every field `over` has replacing ours (a sidecar over the embedded packet)."""
        return Metadata(
            title=over.title or self.title,
            description=over.description or self.description,
            rating=over.rating if over.rating is not None else self.rating,
            label=over.label or self.label,
            keywords=over.keywords or self.keywords,
        )

    def __bool__(self) -> bool:
        return bool(self.title or self.description or self.rating is not None or self.label or self.keywords)


def find_xmp_packet(data: bytes) -> bytes | None:
    """The XMP packet inside a file's first bytes (JPEG APP1, PNG iTXt, TIFF, HEIF all carry it as text)."""
    match = XMP_START.search(data)
    if match is None:
        return None
    end_tag = b"</x:xmpmeta>" if match.group(0).startswith(b"<x:") else b"</rdf:RDF>"
    end = data.find(end_tag, match.start())
    if end < 0:
        return None
    return data[match.start() : end + len(end_tag)]


def parse_xmp(data: bytes) -> Metadata:
    """The fields we use from one XMP document; an unreadable or unsafe one gives empty Metadata."""
    if not data or len(data) > MAX_XMP or re.search(rb"<!(DOCTYPE|ENTITY)", data, re.IGNORECASE):
        return Metadata()
    try:
        root = ET.fromstring(data)  # noqa: S314 -- no DTD, so no entities: what defusedxml guards against
    except ET.ParseError:
        return Metadata()
    meta = Metadata()
    for desc in root.iter(f"{RDF}Description"):
        meta.title = meta.title or _alt_text(desc, f"{DC}title")
        meta.description = meta.description or _alt_text(desc, f"{DC}description")
        rating = desc.get(f"{XMP}Rating") or _text(desc.find(f"{XMP}Rating"))
        if meta.rating is None and rating:
            meta.rating = _rating(rating)
        meta.label = meta.label or (desc.get(f"{XMP}Label") or _text(desc.find(f"{XMP}Label")))[:50]
        subject = desc.find(f"{DC}subject")
        if not meta.keywords and subject is not None:
            meta.keywords = [_text(li) for li in subject.iter(f"{RDF}li") if _text(li)][:200]
    return meta


def read_iptc(fileobj: io.BufferedIOBase) -> Metadata:
    """Object name (title), caption and keywords from a JPEG's IPTC-IIM block, through Pillow."""
    from PIL import Image, IptcImagePlugin

    try:
        fileobj.seek(0)
        with Image.open(fileobj) as image:
            info = IptcImagePlugin.getiptcinfo(image) or {}
    except Exception:  # noqa: BLE001 -- metadata is a bonus: a file Pillow cannot read has none
        return Metadata()
    finally:
        fileobj.seek(0)

    def text(key: tuple[int, int]) -> str:
        value = info.get(key)
        if isinstance(value, list):
            value = value[0] if value else b""
        return _decode(value) if isinstance(value, bytes) else ""

    keywords = info.get((2, 25)) or []
    keywords = [keywords] if isinstance(keywords, bytes) else keywords
    return Metadata(title=text((2, 5)), description=text((2, 120)), keywords=[_decode(k) for k in keywords if k][:200])


def sidecar_names(name: str) -> list[str]:
    """The sidecar names tools write for a file: darktable IMG_1.CR2.xmp, Lightroom and Capture One IMG_1.xmp."""
    stem = name.rsplit(".", 1)[0] if "." in name else name
    return [f"{name}.xmp", f"{name}.XMP", f"{stem}.xmp", f"{stem}.XMP"]


def _alt_text(desc: ET.Element, tag: str) -> str:
    """A language alternative (rdf:Alt): the x-default entry, else the first; or a plain attribute."""
    if desc.get(tag):
        return desc.get(tag, "").strip()
    node = desc.find(tag)
    if node is None:
        return ""
    items = list(node.iter(f"{RDF}li"))
    for li in items:
        if li.get(XML_LANG) == "x-default":
            return _text(li)
    return _text(items[0]) if items else _text(node)


def _text(node: ET.Element | None) -> str:
    return (node.text or "").strip() if node is not None else ""


def _rating(raw: str) -> int | None:
    try:
        value = round(float(raw))
    except ValueError:
        return None
    return value if -1 <= value <= 5 else None


def _decode(raw: bytes) -> str:
    try:
        return raw.decode("utf-8").strip()
    except UnicodeDecodeError:
        return raw.decode("latin-1").strip()
