"""How a login lockout (django-axes) answers, per door: JSON for the API, a page for people."""

from __future__ import annotations

from axes.helpers import get_cool_off
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render
from rest_framework.exceptions import Throttled


def lockout_seconds(request: HttpRequest | None = None) -> int:
    """How long a locked-out client waits, counted from its last attempt."""
    cool_off = get_cool_off(request)
    return max(1, int(cool_off.total_seconds())) if cool_off else 3600


def lockout_message(seconds: int) -> str:
    minutes = max(1, round(seconds / 60))
    return (
        "Too many failed sign-in attempts for this account from your address. "
        f"Try again in {minutes} minute{'s' if minutes != 1 else ''}."
    )


class LoginLockedOut(Throttled):
    """The API's lockout answer: 429 with Retry-After and a message that says what to do."""

    def __init__(self, request: HttpRequest | None = None) -> None:
        seconds = lockout_seconds(request)
        super().__init__(detail=lockout_message(seconds))
        self.wait = seconds  # after __init__, which would append its own "Expected available in"


def lockout_response(
    request: HttpRequest, original_response: HttpResponse | None = None, credentials: dict | None = None
) -> HttpResponse:
    """AXES_LOCKOUT_CALLABLE: what every login door answers once axes has locked a client out."""
    seconds = lockout_seconds(request)
    message = lockout_message(seconds)
    if request.path.startswith("/api/"):
        response: HttpResponse = JsonResponse({"detail": message}, status=429)
    else:
        context = {"message": message, "minutes": max(1, round(seconds / 60))}
        response = render(request, "accounts/lockout.html", context, status=429)
    response["Retry-After"] = str(seconds)
    return response
