"""Downloads: one photo, or a whole gallery as a ZIP streamed while it is built, at full size (the
original) or web size (the largest web picture), as the link allows (sharing.access.download_size).

The ZIP is stored (photos do not compress), ZIP64 when large, constant memory: each file is read
from storage in pieces as the response is sent, from local disk or S3 alike.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterator

from django.db.models import F
from django.http import HttpResponse, StreamingHttpResponse
from django.utils.http import content_disposition_header
from zipstream import ZIP_STORED, ZipStream

from accounts.models import Brand
from config.exceptions import NotFound
from galleries import originals
from galleries.media import original_download, release_db_connection
from galleries.models import Asset, AssetKind, Gallery, Photo
from galleries.privacy import FieldRule
from sharing.access import ORIGINAL, WEB
from sharing.models import ShareLink

READ_SIZE = 1 << 20
_UNSAFE = re.compile(r"[^\w\-. ()&,+']+", re.UNICODE)


def safe_name(text: str, *, fallback: str, max_length: int = 120) -> str:
    """A file name anyone's unzip accepts: no paths, no control or reserved characters."""
    text = unicodedata.normalize("NFC", text or "")
    text = text.replace("/", " ").replace("\\", " ")
    text = _UNSAFE.sub("_", text).strip(" ._")
    text = re.sub(r"_+", "_", text)[:max_length].strip(" ._")
    if not text or text.upper() in {"CON", "PRN", "AUX", "NUL", "COM1", "LPT1"}:
        return fallback
    return text


def entry_name(photo: Photo, *, rule: FieldRule, ext: str = "") -> str:
    """The name of one photo inside a download: its title, its file name if the rule allows, else its number."""
    ext = ext or photo.asset.ext
    stem = photo.title
    if not stem and rule.original_filename(photo):
        stem = photo.original_filename.rsplit(".", 1)[0]
    return f"{safe_name(stem, fallback=f'photo-{photo.position + 1:04d}')}.{ext}"


def unique_names(photos: list[Photo], *, rule: FieldRule, exts: dict | None = None) -> list[tuple[Photo, str]]:
    seen: dict[str, int] = {}
    result = []
    for photo in photos:
        name = entry_name(photo, rule=rule, ext=(exts or {}).get(photo.pk, ""))
        key = name.lower()
        if key in seen:
            seen[key] += 1
            stem, _, ext = name.rpartition(".")
            name = f"{stem} ({seen[key]}).{ext}"
            while name.lower() in seen:
                seen[key] += 1
                name = f"{stem} ({seen[key]}).{ext}"
        seen.setdefault(name.lower(), 1)
        result.append((photo, name))
    return result


# What a web-size download is made of: the widest variant, in the format that opens most widely
# (JPEG where configured, then WebP, then AVIF). Variants carry no EXIF, GPS or XMP at all.
WEB_FORMATS = {"jpeg": ("jpg", "image/jpeg"), "webp": ("webp", "image/webp"), "avif": ("avif", "image/avif")}
_PREFERENCE = list(WEB_FORMATS)


def web_handout(asset: Asset) -> originals.Handout | None:
    """The largest web picture of a photo, or None (a video, or a photo not processed yet)."""
    if asset.kind != AssetKind.IMAGE:
        return None
    variants = [v for v in asset.variants.all() if v.format in WEB_FORMATS]
    if not variants:
        return None
    best = max(variants, key=lambda v: (v.width * v.height, -_PREFERENCE.index(v.format)))
    ext, mime = WEB_FORMATS[best.format]
    # substitute: a rendition stands for the photo (on S3 a presigned redirect names the file).
    return originals.Handout(best.key, best.size, ext, mime, substitute=True)


def sized_handout(photo: Photo, *, size: str, rule: FieldRule) -> originals.Handout:
    """The file to hand out for one photo at this size; NotFound when there is none to give."""
    if size == WEB:
        item = web_handout(photo.asset)
        if item is None:
            raise NotFound("This photo has no web size (a video, or not ready yet). Ask the photographer for it.")
        return item
    try:
        return originals.handout(photo.asset, owner=rule.sees_location)
    except originals.LocationNotRemovable:
        raise NotFound("This file cannot be downloaded through this link. Ask the photographer for it.") from None


def sized_name(photo: Photo, *, size: str, rule: FieldRule, ext: str) -> str:
    """A single download's file name: the photo's name, marked when it is the web size."""
    name = entry_name(photo, rule=rule, ext=ext)
    if size != WEB:
        return name
    stem, _, ext = name.rpartition(".")
    return f"{stem} (web size).{ext}"


def _read(item: originals.Handout) -> Iterator[bytes]:
    """The bytes of one entry, opened only when the ZIP reaches it."""
    with originals.open_handout(item) as handle:
        while piece := handle.read(READ_SIZE):
            yield piece


def _count_download(link: ShareLink | None) -> None:
    if link is not None:
        ShareLink.objects.filter(pk=link.pk).update(download_count=F("download_count") + 1)


def original_response(
    photo: Photo, *, rule: FieldRule, link: ShareLink | None = None, size: str = ORIGINAL
) -> HttpResponse:
    """One photo as an attachment: the original (as uploaded for the owner, without location for
    anyone else) or its web size."""
    item = sized_handout(photo, size=size, rule=rule)
    _count_download(link)
    name = sized_name(photo, size=size, rule=rule, ext=item.ext)
    return original_download(item, asset=photo.asset, rule=rule, name=name)


def gallery_zip(gallery: Gallery, *, rule: FieldRule, size: str = ORIGINAL) -> ZipStream:
    """Every photo the viewer may see at this size, named and cleaned as the rule says (the owner
    also gets failed ones)."""
    photos = gallery.photos.select_related("asset").order_by("position", "created_at")
    if not rule.owner:
        photos = photos.filter(shown=True)  # approved and not failed (Photo.shown)
    items = {}
    for photo in photos.prefetch_related("asset__variants"):
        try:
            items[photo.pk] = (photo, sized_handout(photo, size=size, rule=rule))
        except NotFound:
            continue  # nothing to give at this size (no clean original, no web picture): left out
    archive = ZipStream(compress_type=ZIP_STORED, sized=True)
    exts = {pk: item.ext for pk, (_, item) in items.items()}
    for photo, name in unique_names([photo for photo, _ in items.values()], rule=rule, exts=exts):
        item = items[photo.pk][1]
        # Cleaning keeps the length, so the size is known before any byte is read.
        archive.add(_read(item), name, size=item.size)
    return archive


def zip_stem(gallery: Gallery) -> str:
    """The ZIP's name before ".zip": "<studio> - <gallery>" when the owner named their studio (accounts.Brand)."""
    brand = Brand.objects.for_owner_id(gallery.owner_id)
    title = safe_name(gallery.title, fallback="gallery")
    studio = safe_name(brand.studio_name, fallback="") if brand else ""
    return f"{studio} - {title}" if studio else title


def zip_response(
    gallery: Gallery, *, rule: FieldRule, link: ShareLink | None = None, size: str = ORIGINAL
) -> StreamingHttpResponse:
    archive = gallery_zip(gallery, rule=rule, size=size)
    response = StreamingHttpResponse(archive, content_type="application/zip")
    response["Content-Length"] = str(len(archive))
    name = zip_stem(gallery)
    response["Content-Disposition"] = content_disposition_header(
        True, f"{name} (web size).zip" if size == WEB else f"{name}.zip"
    )
    response["X-Content-Type-Options"] = "nosniff"
    _count_download(link)
    release_db_connection()  # the archive only reads storage from here on
    return response
