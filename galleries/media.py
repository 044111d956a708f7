"""The one place that decides a media URL, and the view that serves signed local URLs."""

from __future__ import annotations

import re
import time
from functools import lru_cache
from urllib.parse import urlencode

from django.conf import settings
from django.core.files.storage import default_storage
from django.http import FileResponse, Http404, HttpRequest, HttpResponse, HttpResponseForbidden, StreamingHttpResponse
from django.utils.crypto import salted_hmac
from django.utils.http import content_disposition_header
from django.views.decorators.http import require_GET

from galleries import signing

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


def _ttl() -> int:
    return int(settings.MEDIA_URL_TTL.total_seconds())


def media_url(key: str, *, download_name: str | None = None) -> str:
    """A URL that serves the file under key until the TTL runs out.

    Local storage: a signed URL of our streaming view. S3: a presigned GET.
    download_name makes the response an attachment with that file name.
    """
    if settings.USE_S3:
        params = {}
        if download_name:
            params["ResponseContentDisposition"] = content_disposition_header(True, download_name)
        return default_storage.url(key, parameters=params or None, expire=_ttl())
    expires = signing.expiry_for(time.time(), _ttl())
    sig = signing.signature(_secret(), key, expires, download_name or "")
    url = f"{settings.MEDIA_URL}{key}?e={expires}&s={sig}"  # keys and hex need no quoting
    return f"{url}&{urlencode({'dl': download_name})}" if download_name else url


@require_GET
def media_serve(request: HttpRequest, key: str) -> HttpResponse:
    """Stream one stored file when its URL is signed and not expired; 403 otherwise."""
    try:
        expires = int(request.GET.get("e", ""))
    except ValueError:
        return HttpResponseForbidden("This media link is invalid.")
    download_name = request.GET.get("dl", "")
    now = time.time()
    if not _KEY_RE.match(key) or not signing.check(
        _secret(), key, expires, download_name, request.GET.get("s", ""), now=now
    ):
        return HttpResponseForbidden("This media link is invalid or has expired.")
    try:
        handle = default_storage.open(key, "rb")
    except FileNotFoundError:
        raise Http404("No such file.") from None
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
