"""Downloads: one original, or a whole gallery as a ZIP streamed while it is built.

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

from config.exceptions import NotFound
from galleries import originals
from galleries.media import original_download, release_db_connection
from galleries.models import Gallery, Photo
from galleries.privacy import FieldRule
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


def _read(item: originals.Handout) -> Iterator[bytes]:
    """The bytes of one entry, opened only when the ZIP reaches it."""
    with originals.open_handout(item) as handle:
        while piece := handle.read(READ_SIZE):
            yield piece


def _count_download(link: ShareLink | None) -> None:
    if link is not None:
        ShareLink.objects.filter(pk=link.pk).update(download_count=F("download_count") + 1)


def original_response(photo: Photo, *, rule: FieldRule, link: ShareLink | None = None) -> HttpResponse:
    """One original as an attachment: as uploaded for the owner, without location for anyone else."""
    asset = photo.asset
    try:
        item = originals.handout(asset, owner=rule.sees_location)
    except originals.LocationNotRemovable:
        raise NotFound("This file cannot be downloaded through this link. Ask the photographer for it.") from None
    _count_download(link)
    return original_download(item, asset=asset, rule=rule, name=entry_name(photo, rule=rule, ext=item.ext))


def gallery_zip(gallery: Gallery, *, rule: FieldRule) -> ZipStream:
    """Every photo the viewer may see, named and cleaned as the rule says (the owner also gets failed ones)."""
    photos = gallery.photos.select_related("asset").order_by("position", "created_at")
    if not rule.owner:
        photos = photos.filter(shown=True)  # approved and not failed (Photo.shown)
    items = {}
    for photo in photos.prefetch_related("asset__variants"):
        try:
            items[photo.pk] = (photo, originals.handout(photo.asset, owner=rule.sees_location))
        except originals.LocationNotRemovable:
            continue  # neither a clean original nor a rendition to stand in for it: left out
    archive = ZipStream(compress_type=ZIP_STORED, sized=True)
    exts = {pk: item.ext for pk, (_, item) in items.items()}
    for photo, name in unique_names([photo for photo, _ in items.values()], rule=rule, exts=exts):
        item = items[photo.pk][1]
        # Cleaning keeps the length, so the size is known before any byte is read.
        archive.add(_read(item), name, size=item.size)
    return archive


def zip_response(gallery: Gallery, *, rule: FieldRule, link: ShareLink | None = None) -> StreamingHttpResponse:
    archive = gallery_zip(gallery, rule=rule)
    response = StreamingHttpResponse(archive, content_type="application/zip")
    response["Content-Length"] = str(len(archive))
    response["Content-Disposition"] = content_disposition_header(
        True, f"{safe_name(gallery.title, fallback='gallery')}.zip"
    )
    response["X-Content-Type-Options"] = "nosniff"
    _count_download(link)
    release_db_connection()  # the archive only reads storage from here on
    return response
