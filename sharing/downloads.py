"""Downloads: one original, or a whole gallery as a ZIP streamed while it is built.

The ZIP is stored (photos do not compress), ZIP64 when large, constant memory: each file is read
from storage in pieces as the response is sent, from local disk or S3 alike.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterator

from django.conf import settings
from django.core.files.storage import default_storage
from django.db.models import F
from django.http import FileResponse, HttpResponse, HttpResponseRedirect, StreamingHttpResponse
from django.utils.http import content_disposition_header
from zipstream import ZIP_STORED, ZipStream

from galleries.media import media_url
from galleries.models import AssetStatus, Gallery, Photo
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


def entry_name(photo: Photo, *, show_metadata: bool) -> str:
    """The name of one photo inside a download: its title, its file name if allowed, else its number."""
    ext = photo.asset.ext
    stem = photo.title
    if not stem and show_metadata and photo.original_filename:
        stem = photo.original_filename.rsplit(".", 1)[0]
    return f"{safe_name(stem, fallback=f'photo-{photo.position + 1:04d}')}.{ext}"


def unique_names(photos: list[Photo], *, show_metadata: bool) -> list[tuple[Photo, str]]:
    seen: dict[str, int] = {}
    result = []
    for photo in photos:
        name = entry_name(photo, show_metadata=show_metadata)
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


def _read(key: str) -> Iterator[bytes]:
    with default_storage.open(key, "rb") as handle:
        while piece := handle.read(READ_SIZE):
            yield piece


def _count_download(link: ShareLink | None) -> None:
    if link is not None:
        ShareLink.objects.filter(pk=link.pk).update(download_count=F("download_count") + 1)


def original_response(photo: Photo, *, link: ShareLink | None = None) -> HttpResponse:
    show = link is None or link.show_metadata
    name = entry_name(photo, show_metadata=show)
    if settings.USE_S3:
        _count_download(link)
        return HttpResponseRedirect(media_url(photo.asset.original_key, download_name=name))
    response = FileResponse(default_storage.open(photo.asset.original_key, "rb"), content_type=photo.asset.mime)
    response["Content-Disposition"] = content_disposition_header(True, name)
    response["X-Content-Type-Options"] = "nosniff"
    _count_download(link)
    return response


def gallery_zip(gallery: Gallery, *, show_metadata: bool, include_failed: bool = False) -> ZipStream:
    photos = gallery.photos.select_related("asset").order_by("position", "created_at")
    if not include_failed:
        photos = photos.exclude(asset__status=AssetStatus.FAILED).filter(is_approved=True)
    archive = ZipStream(compress_type=ZIP_STORED, sized=True)
    for photo, name in unique_names(list(photos), show_metadata=show_metadata):
        archive.add(_read(photo.asset.original_key), name, size=photo.asset.size)
    return archive


def zip_response(gallery: Gallery, *, link: ShareLink | None = None, owner: bool = False) -> StreamingHttpResponse:
    archive = gallery_zip(gallery, show_metadata=owner or bool(link and link.show_metadata), include_failed=owner)
    response = StreamingHttpResponse(archive, content_type="application/zip")
    response["Content-Length"] = str(len(archive))
    response["Content-Disposition"] = content_disposition_header(
        True, f"{safe_name(gallery.title, fallback='gallery')}.zip"
    )
    response["X-Content-Type-Options"] = "nosniff"
    _count_download(link)
    return response
