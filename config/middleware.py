"""Middleware for faults at the edges: request bodies too large for their door, an unreachable
database, and error answers on /api/ that did not come from DRF."""

from __future__ import annotations

import json
from collections.abc import Callable

from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.urls import Resolver404, resolve

from config import errors

# --- Request bodies ------------------------------------------------------------------------------

# Doors that take files in pieces and check each piece's size themselves, before reading it (a chunk
# against UPLOAD_MAX_CHUNK_SIZE, a tus PATCH against its Upload-Length).
UPLOAD_DOORS = frozenset(
    {"upload-chunk", "tus-create", "tus-detail", "guest-tus-create", "guest-tus-detail"},
)
# Doors that take whole files in one multipart body: the single-shot API and the admin's simple form.
SINGLE_SHOT_DOORS = frozenset({"gallery-photos", "admin:galleries_gallery_upload"})


def single_shot_body_limit() -> int:
    """At most SINGLE_UPLOAD_MAX_FILES files of MAX_UPLOAD_SIZE each, plus the form's framing."""
    return settings.MAX_UPLOAD_SIZE * settings.SINGLE_UPLOAD_MAX_FILES + settings.REQUEST_BODY_MAX_SIZE


def body_limit(request: HttpRequest) -> int | None:
    """The largest body this request's door accepts; None where the door checks sizes itself."""
    try:
        door = resolve(request.path_info).view_name
    except Resolver404:
        door = ""
    if door in UPLOAD_DOORS:
        return None
    if door in SINGLE_SHOT_DOORS:
        return single_shot_body_limit()
    # Logins, admin forms, JSON: Django itself keeps at most DATA_UPLOAD_MAX_MEMORY_SIZE of their fields.
    return settings.REQUEST_BODY_MAX_SIZE


def _mb(size: int) -> str:
    return f"{size / 1024**2:.1f} MB"


def _refusal(request: HttpRequest, message: str, status: int) -> HttpResponse:
    if errors.is_api(request):
        return errors.json_error(message, status)
    return HttpResponse(message + "\n", status=status, content_type="text/plain; charset=utf-8")


class RequestBodyLimitMiddleware:
    """Refuses a body larger than its door accepts from Content-Length alone, before a byte is read.

    Without it, Django's multipart parser spools any body to disk first (the CSRF check alone reads a
    login form's fields), and only then do the view's checks refuse it. A body without a length
    (Transfer-Encoding: chunked) cannot be measured up front, so a door with a limit refuses it too.
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        return self.refusal(request) or self.get_response(request)

    def refusal(self, request: HttpRequest) -> HttpResponse | None:
        raw = request.META.get("CONTENT_LENGTH") or ""
        chunked = "chunked" in request.META.get("HTTP_TRANSFER_ENCODING", "").lower()
        if not raw and not chunked:
            return None
        limit = body_limit(request)
        if limit is None:
            return None
        if chunked and not raw:
            return _refusal(
                request, "Send a Content-Length with this request; bodies of unknown length are refused.", 411
            )
        if not (raw.isascii() and raw.isdigit()):
            return _refusal(request, "Content-Length must be a number.", 400)
        length = int(raw)
        if length <= limit:
            return None
        message = f"The request body is {_mb(length)}; this address accepts at most {_mb(limit)}."
        if limit != settings.REQUEST_BODY_MAX_SIZE:
            message += (
                f" Send at most {settings.SINGLE_UPLOAD_MAX_FILES} files of {_mb(settings.MAX_UPLOAD_SIZE)} each,"
                " or use the resumable uploads for large files."
            )
        return _refusal(request, message, 413)


# --- The database ------------------------------------------------------------------------------


class DatabaseUnavailableMiddleware:
    """A view that finds the database unreachable answers 503 with Retry-After instead of a 500.

    Errors raised by other middleware (the session saved on the way out, the user loaded by auth)
    never reach process_exception; Django hands them to handler500, which config.errors.server_error
    answers the same way.
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        return self.get_response(request)

    def process_exception(self, request: HttpRequest, exception: Exception) -> HttpResponse | None:
        if errors.is_database_unavailable(exception):
            return errors.database_unavailable(request)
        return None


# --- JSON on /api/ -------------------------------------------------------------------------------


class ApiJsonErrorsMiddleware:
    """Every error answered on /api/ is JSON in DRF's shape, whoever produced it.

    DRF's views and config.errors' handlers already answer JSON; this catches the rest that Django
    builds itself, such as the 405 of a view limited with require_http_methods.
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        if response.status_code < 400 or not errors.is_api(request) or response.streaming:
            return response
        if "json" in response.get("Content-Type", ""):
            return response
        if response.status_code == 405:
            detail = f'Method "{request.method}" not allowed.'
        else:
            detail = f"{response.reason_phrase}."
        response.content = json.dumps({"detail": detail})
        response["Content-Type"] = "application/json"
        if response.has_header("Content-Length"):
            response["Content-Length"] = str(len(response.content))
        return response
