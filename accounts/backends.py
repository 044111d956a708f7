"""The password check behind every login door, counted before it runs."""

from __future__ import annotations

from django.conf import settings
from django.contrib.auth.backends import ModelBackend
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest

from config import throttle
from config.clientip import client_ip


class CountedModelBackend(ModelBackend):
    """ModelBackend that counts each attempt for one username from one address before checking it.

    django-axes (AxesStandaloneBackend, before this one) decides lockouts, but it reads its count
    before the password is checked and writes it after, so parallel requests can all pass its
    check. This count is taken atomically in the shared store first (config.throttle), so at most
    AXES_FAILURE_LIMIT passwords are ever checked per username and address in a lockout period,
    however many requests arrive at once. A refusal is a failed login to axes, which locks out.
    """

    def authenticate(self, request: HttpRequest | None, username: str | None = None, password=None, **kwargs):
        if request is None or username is None:
            return super().authenticate(request, username=username, password=password, **kwargs)
        key = f"login:{client_ip(request)}:{username}"
        window = int(settings.AXES_COOLOFF_TIME.total_seconds())
        if throttle.hit(key, window) > settings.AXES_FAILURE_LIMIT:
            raise PermissionDenied("Too many sign-in attempts for this username from this address.")
        user = super().authenticate(request, username=username, password=password, **kwargs)
        if user is not None:
            throttle.reset(key)
        return user
