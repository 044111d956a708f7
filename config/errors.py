"""Error answers Django gives itself (outside DRF's views): JSON on /api/, pages elsewhere.

Django calls these views (config.urls names them as handler400/403/404/500) for exceptions no view
handled, including those raised by middleware such as the session and auth middleware. None of
them touches the database: they are also what a visitor sees while it is down.
"""

from __future__ import annotations

import re
import sys

from django.db import InterfaceError, OperationalError
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.template.loader import render_to_string
from django.views import defaults

API_PREFIX = "/api/"
# How long a client should wait before trying again while the database is unreachable.
RETRY_AFTER_SECONDS = 30


# The guest drop box's tus door lives under its share link (/s/<token>/tus/…) but is an API too:
# a tus client reads JSON errors there, not the site's pages (issue 10, the schema says so).
GUEST_TUS_PATH = re.compile(r"^/s/[^/]+/tus/")


def is_api(request: HttpRequest) -> bool:
    return request.path_info.startswith(API_PREFIX) or GUEST_TUS_PATH.match(request.path_info) is not None


def json_error(detail: str, status: int, **headers: str) -> JsonResponse:
    """An error in DRF's shape: {"detail": "..."}."""
    response = JsonResponse({"detail": detail}, status=status)
    for name, value in headers.items():
        response[name.replace("_", "-")] = value
    return response


def is_database_unavailable(exc: BaseException | None) -> bool:
    """The database cannot be reached: refused or lost connection, unreachable host, locked file.

    Django wraps every driver's connection errors (psycopg's "connection refused", SQLite's "unable to
    open database file") into its own OperationalError and InterfaceError.
    """
    return isinstance(exc, (OperationalError, InterfaceError))


def database_unavailable(request: HttpRequest) -> HttpResponse:
    """503 with Retry-After: JSON on /api/, the friendly page elsewhere. Renders without a request
    context, since the context processors (the user, the session) would query the database again."""
    if is_api(request):
        return json_error(
            "The service is briefly unavailable; try again shortly.",
            503,
            Retry_After=str(RETRY_AFTER_SECONDS),
        )
    response = HttpResponse(render_to_string("503.html"), status=503)
    response["Retry-After"] = str(RETRY_AFTER_SECONDS)
    return response


def bad_request(request: HttpRequest, exception: Exception, template_name: str = "400.html") -> HttpResponse:
    if is_api(request):
        return json_error("Bad request.", 400)
    return defaults.bad_request(request, exception)


def permission_denied(request: HttpRequest, exception: Exception, template_name: str = "403.html") -> HttpResponse:
    if is_api(request):
        return json_error("You do not have permission to perform this action.", 403)
    return defaults.permission_denied(request, exception)


def page_not_found(request: HttpRequest, exception: Exception, template_name: str = "404.html") -> HttpResponse:
    if is_api(request):
        return json_error("Not found.", 404)
    return defaults.page_not_found(request, exception)


def server_error(request: HttpRequest, template_name: str = "500.html") -> HttpResponse:
    # Called inside Django's `except` block, so the exception that got here is still at hand: an
    # unreachable database raised by middleware (session, auth) lands here, not in a view.
    exc = sys.exc_info()[1]
    if is_database_unavailable(exc):
        return database_unavailable(request)
    if is_api(request):
        return json_error("A server error occurred.", 500)
    return defaults.server_error(request)
