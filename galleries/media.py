"""The one place that decides a media URL, and the view that serves signed local URLs."""

from __future__ import annotations

import re
import time
from collections.abc import Callable
from functools import lru_cache
from urllib.parse import urlencode

from django.conf import settings
from django.core.files.storage import default_storage
from django.db import connection
from django.http import (
    FileResponse,
    Http404,
    HttpRequest,
    HttpResponse,
    HttpResponseForbidden,
    HttpResponseGone,
    HttpResponseRedirect,
    StreamingHttpResponse,
)
from django.utils.crypto import salted_hmac
from django.utils.http import content_disposition_header
from django.views.decorators.http import require_GET

from galleries import originals, signing
from galleries.models import Asset
from galleries.privacy import FieldRule

CONTENT_TYPES = {
    "jpg": "image/jpeg",
    "png": "image/png",
    "gif": "image/gif",
    "webp": "image/webp",
    "avif": "image/avif",
    "heic": "image/heic",
    "mp4": "video/mp4",
    "mov": "video/quicktime",
    "webm": "video/webm",
}
_KEY_RE = re.compile(r"^(originals|variants)/[0-9a-f]{2}/[0-9a-f]{2}/[0-9a-f]{64}(/[a-z]+)?\.[a-z0-9]{2,4}$")


def _secret() -> bytes:
    return _secret_for(settings.SECRET_KEY)


@lru_cache(maxsize=4)
def _secret_for(secret_key: str) -> bytes:
    # Derived once per key: a page signs hundreds of URLs.
    return salted_hmac("contactsheet.media", "v1", secret=secret_key).digest()


def release_db_connection() -> None:
    """Hand the database connection back before a long stream (a video, a ZIP) starts.

    Under gevent every request has its own connection, and Django closes it only when the
    response is closed; a stream that only reads storage must not hold a PostgreSQL connection for
    minutes. Persistent connections (CONN_MAX_AGE > 0) and open transactions are left alone.
    """
    if (
        connection.connection is not None
        and not connection.in_atomic_block
        and not connection.settings_dict.get("CONN_MAX_AGE")
    ):
        connection.close()


def media_ttl(*, link_bound: bool = False) -> int:
    """Seconds a media URL lives. Presigned S3 URLs issued through a share link cannot be called
    back when the link closes, so they live only SHARE_MEDIA_URL_TTL; our own signed URLs check
    their link on every request and keep the long TTL (stable URLs, cacheable pages)."""
    if link_bound and settings.USE_S3:
        return int(settings.SHARE_MEDIA_URL_TTL.total_seconds())
    return int(settings.MEDIA_URL_TTL.total_seconds())


# The share-link check for link-bound URLs. sharing attaches it (galleries does not import
# sharing, see SharingConfig.ready): link id -> the link's current grant key while it is open,
# None once it is revoked, expired, deleted or its gallery is gone.
_link_grant: Callable[[str], str | None] | None = None


def register_link_check(check: Callable[[str], str | None]) -> None:
    global _link_grant
    _link_grant = check


def _bound_to(link_id: str, grant: str, clean: bool) -> str:
    """What a URL is bound to besides its key, expiry and name (signed, never shown)."""
    return f"{link_id}:{grant}:{int(clean)}" if (link_id or clean) else ""


def media_url(key: str, *, download_name: str | None = None, rule: FieldRule | None = None, clean: bool = False) -> str:
    """A URL that serves the file under key until the TTL runs out.

    Local storage: a signed URL of our streaming view. S3: a presigned GET, except for originals
    that must be cleaned of their location (clean=True), which stream through our view.
    download_name makes the response an attachment with that file name. A rule issued through a
    share link binds the URL to the link: it stops when the link closes or its password changes.
    """
    link_id = rule.link_id if rule else ""
    grant = rule.link_grant if rule else ""
    ttl = media_ttl(link_bound=bool(link_id))
    if settings.USE_S3 and not clean:
        params = {}
        if download_name:
            params["ResponseContentDisposition"] = content_disposition_header(True, download_name)
        return default_storage.url(key, parameters=params or None, expire=ttl)
    expires = signing.expiry_for(time.time(), ttl)
    sig = signing.signature(_secret(), key, expires, download_name or "", _bound_to(link_id, grant, clean))
    url = f"{settings.MEDIA_URL}{key}?e={expires}&s={sig}"  # keys and hex need no quoting
    extra = {}
    if link_id:
        extra["l"] = link_id
    if clean:
        extra["c"] = "1"
    if download_name:
        extra["dl"] = download_name
    return f"{url}&{urlencode(extra)}" if extra else url


def original_url(asset: Asset, *, rule: FieldRule, download_name: str | None = None) -> str:
    """The URL of an asset's original as this viewer may have it: as uploaded for the owner,
    without location for everyone else (straight from S3 when there is nothing to remove)."""
    clean = not rule.sees_location and originals.needs_cleaning(asset)
    return media_url(asset.original_key, download_name=download_name, rule=rule, clean=clean)


def original_download(item: originals.Handout, *, asset: Asset, rule: FieldRule, name: str) -> HttpResponse:
    """One original as an attachment named name, as handed out to this viewer (originals.handout).

    Every door that sends an original uses this: the owner's API download and a share link's. On S3,
    a redirect to the bucket when no byte needs changing; otherwise streamed through this process.
    """
    if settings.USE_S3 and not item.patches:
        if item.substitute:
            return HttpResponseRedirect(media_url(item.key, download_name=name, rule=rule))
        return HttpResponseRedirect(original_url(asset, rule=rule, download_name=name))
    response = FileResponse(originals.open_handout(item), content_type=item.mime)
    response["Content-Disposition"] = content_disposition_header(True, name)
    response["X-Content-Type-Options"] = "nosniff"
    release_db_connection()  # only storage is read from here on
    return response


@require_GET
def media_serve(request: HttpRequest, key: str) -> HttpResponse:
    """Stream one stored file when its URL is signed and not expired; 403 otherwise.

    A link-bound URL also needs its share link to be open still (410 once it closed), and a clean
    URL streams the original with its location removed (same length, so ranges work unchanged).
    """
    try:
        expires = int(request.GET.get("e", ""))
    except ValueError:
        return HttpResponseForbidden("This media link is invalid.")
    download_name = request.GET.get("dl", "")
    link_id = request.GET.get("l", "")
    clean = request.GET.get("c", "") == "1"
    grant = ""
    if link_id:
        grant = _link_grant(link_id) if _link_grant is not None else None
        if grant is None:
            return HttpResponseGone("The share link this came through has been switched off or has expired.")
    now = time.time()
    bound = _bound_to(link_id, grant, clean)
    if not _KEY_RE.match(key) or not signing.check(
        _secret(), key, expires, download_name, request.GET.get("s", ""), now=now, extra=bound
    ):
        return HttpResponseForbidden("This media link is invalid or has expired.")
    try:
        handle = originals.open_clean(key) if clean else default_storage.open(key, "rb")
    except FileNotFoundError:
        raise Http404("No such file.") from None
    except originals.LocationNotRemovable:
        return HttpResponseForbidden("This file cannot be handed out without its location.")
    release_db_connection()
    ext = key.rsplit(".", 1)[-1]
    content_type = CONTENT_TYPES.get(ext, "application/octet-stream")
    byte_range = _parse_range(request.headers.get("Range", ""), handle.size)
    if byte_range == "unsatisfiable":
        handle.close()
        response = HttpResponse(status=416)
        response["Content-Range"] = f"bytes */{handle.size}"
        return response
    if byte_range is not None:
        start, end = byte_range
        handle.seek(start)
        response = StreamingHttpResponse(_read_span(handle, end - start + 1), status=206, content_type=content_type)
        response["Content-Range"] = f"bytes {start}-{end}/{handle.size}"
        response["Content-Length"] = str(end - start + 1)
    else:
        response = FileResponse(handle, content_type=content_type)
    response["Accept-Ranges"] = "bytes"
    response["Content-Disposition"] = content_disposition_header(
        bool(download_name), download_name or key.rsplit("/", 1)[-1]
    )
    response["Cache-Control"] = f"private, max-age={max(0, int(expires - now))}"
    response["X-Content-Type-Options"] = "nosniff"
    response["Cross-Origin-Resource-Policy"] = "same-origin"
    return response


def _parse_range(header: str, size: int) -> tuple[int, int] | str | None:
    """One byte range from a Range header: (start, end) inclusive, "unsatisfiable", or None to send it all."""
    if not header.startswith("bytes=") or "," in header:
        return None
    first, _, last = header[6:].strip().partition("-")
    try:
        if first == "":
            length = int(last)
            if length <= 0:
                return "unsatisfiable"
            return max(0, size - length), size - 1
        start = int(first)
        end = int(last) if last else size - 1
    except ValueError:
        return None
    if start >= size or end < start:
        return "unsatisfiable"
    return start, min(end, size - 1)


def _read_span(handle, remaining: int, chunk: int = 1 << 16):
    try:
        while remaining > 0:
            data = handle.read(min(chunk, remaining))
            if not data:
                break
            remaining -= len(data)
            yield data
    finally:
        handle.close()
