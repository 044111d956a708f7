"""Idempotency-Key on every POST of the API (/api/v1/): a retried request gets the first answer.

A client sends `Idempotency-Key: <1-255 printable characters>` (a UUID is a good key). The first
request with a key runs and, when it succeeds (2xx), its answer (status, body, the headers that
matter) is kept IDEMPOTENCY_KEY_TTL (24 h). Then, for the same client and key:
- the same request (method, path, body) gets that answer again, with `Idempotent-Replayed: true`,
  and nothing runs a second time;
- another request gets 422: a key names one request;
- while the first still runs, 409 (with Retry-After): try again in a moment.
An answer that is not a success (a 400, a 5xx, a 429…) is not kept: nothing was done, so the key
is free again and a corrected or later retry runs. Answers that hand out credentials (a login's
token, a share link's grant) are never kept either: signing in again is harmless, a token in clear
in the database is not.

Whose key: the authenticated user (whichever way the view authenticates: token or session), else
the client's address (config.clientip), so two users' keys never meet. The body is fingerprinted
without being held in memory: JSON by its content (key order and spacing do not matter), multipart
forms by their fields and each file's bytes (a client's random boundary does not matter), anything
else byte for byte.
"""

from __future__ import annotations

import hashlib
import json
import logging
import tempfile
from collections.abc import Callable
from datetime import timedelta
from typing import Any

from django.conf import settings
from django.core.exceptions import SuspiciousOperation
from django.db import IntegrityError, transaction
from django.http import HttpRequest, HttpResponse
from django.http.multipartparser import MultiPartParserError
from django.urls import Resolver404, resolve
from django.utils import timezone
from rest_framework.exceptions import APIException
from rest_framework.request import Request
from rest_framework.views import APIView

from config import errors
from config.clientip import client_ip
from integrations.models import IdempotencyKey

log = logging.getLogger(__name__)

HEADER = "Idempotency-Key"
META_KEY = "HTTP_IDEMPOTENCY_KEY"
REPLAYED_HEADER = "Idempotent-Replayed"
MAX_KEY_LENGTH = 255
PREFIX = "/api/v1/"
# The first request holds its key this long; a key still held after it (its process died) is taken over.
LOCK = timedelta(minutes=10)
# Answers larger than this are not kept (the key is freed): POST answers here are small JSON.
MAX_STORED_BODY = 1024 * 1024
READ_SIZE = 64 * 1024
# The headers of an answer worth giving back on a replay (tus's Location and Upload-* among them).
KEPT_HEADERS = ("content-type", "location", "etag", "last-modified", "cache-control")
KEPT_PREFIXES = ("upload-", "tus-")
# Doors whose answers are credentials (an API token, a share grant): run every time, never kept.
CREDENTIAL_DOORS = frozenset({"auth-login", "shared-unlock"})


def check_key(value: str) -> str | None:
    """What is wrong with a key, or None: 1-255 printable ASCII characters, no control characters."""
    if not value:
        return f"{HEADER} must not be empty: send 1 to {MAX_KEY_LENGTH} printable characters (a UUID is a good key)."
    if len(value) > MAX_KEY_LENGTH:
        return f"{HEADER} is {len(value)} characters long; at most {MAX_KEY_LENGTH} are accepted."
    if any(not (" " <= ch <= "~") for ch in value):
        return f"{HEADER} may contain only printable ASCII characters (no control characters)."
    return None


class IdempotencyMiddleware:
    """Named in settings.MIDDLEWARE after AuthenticationMiddleware (a session user is known then)."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        key = request.META.get(META_KEY)
        if key is None or request.method != "POST" or not request.path_info.startswith(PREFIX):
            return self.get_response(request)
        problem = check_key(key)
        if problem:
            return errors.json_error(problem, 400)
        try:
            fingerprint = _fingerprint(request)
        except (MultiPartParserError, SuspiciousOperation) as exc:
            return errors.json_error(f"The request body could not be read: {exc}", 400)
        record, answer = _begin(_scope(request), key, fingerprint, request)
        if answer is not None:
            return answer
        try:
            response = self.get_response(request)
        except BaseException:
            IdempotencyKey.objects.filter(pk=record.pk).delete()
            raise
        _finish(record, response, door=getattr(request.resolver_match, "view_name", ""))
        return response


# --- Whose key, which request --------------------------------------------------------------------


def _scope(request: HttpRequest) -> str:
    user = _authenticated_user(request)
    if user is not None:
        return f"user:{user.pk}"
    return "anon:" + hashlib.sha256(client_ip(request).encode()).hexdigest()[:40]


def _authenticated_user(request: HttpRequest) -> Any:
    """The user the view will see, found with that view's own authenticators (a token, a session).

    Authentication runs again in the view; any side effect here is one the view has too. The
    request's user is put back afterwards, so nothing downstream sees a difference.
    """
    try:
        match = resolve(request.path_info)
    except Resolver404:
        match = None
    view_class = getattr(match.func, "cls", None) if match else None
    if view_class is None or not issubclass(view_class, APIView):
        user = getattr(request, "user", None)
        return user if getattr(user, "is_authenticated", False) else None
    had_user = "user" in request.__dict__
    original = request.__dict__.get("user")
    try:
        drf_request = Request(request, authenticators=view_class().get_authenticators())
        user = drf_request.user
    except APIException:
        user = None
    finally:
        if had_user:
            request.user = original
        else:
            request.__dict__.pop("user", None)
    return user if getattr(user, "is_authenticated", False) else None


def _fingerprint(request: HttpRequest) -> str:
    digest = hashlib.sha256()
    digest.update(f"{request.method}\n{request.path_info}\n{request.META.get('QUERY_STRING', '')}\n".encode())
    if request.content_type == "multipart/form-data":
        for name in sorted(request.POST):
            for value in request.POST.getlist(name):
                digest.update(b"field\0" + name.encode() + b"\0" + value.encode() + b"\0")
        for name in sorted(request.FILES):
            for upload in request.FILES.getlist(name):
                digest.update(b"file\0" + name.encode() + b"\0" + (upload.name or "").encode() + b"\0")
                for piece in upload.chunks():
                    digest.update(piece)
                upload.seek(0)
        return digest.hexdigest()
    digest.update(request.content_type.encode() + b"\n")
    spool = _spool_body(request, digest if request.content_type != "application/json" else None)
    if request.content_type == "application/json":
        raw = spool.read(MAX_STORED_BODY + 1)
        spool.seek(0)
        digest.update(_canonical_json(raw))
        if len(raw) > MAX_STORED_BODY:  # too long to parse here: the rest by its bytes
            for piece in iter(lambda: spool.read(READ_SIZE), b""):
                digest.update(piece)
            spool.seek(0)
    return digest.hexdigest()


def _spool_body(request: HttpRequest, digest: Any) -> Any:
    """Read the body once into a temporary file (memory up to 1 MB) and give the request that file to
    read from, so the view reads the same bytes; hash them on the way when a digest is given."""
    # Handed to the request and freed with it (a temporary file is deleted when collected).
    spool = tempfile.SpooledTemporaryFile(max_size=MAX_STORED_BODY)  # noqa: SIM115
    for piece in iter(lambda: request.read(READ_SIZE), b""):
        spool.write(piece)
        if digest is not None:
            digest.update(piece)
    spool.seek(0)
    # Django's HttpRequest reads its body from _stream; the view now reads the copy, from the start.
    request._stream = spool
    request._read_started = False
    return spool


def _canonical_json(raw: bytes) -> bytes:
    try:
        return json.dumps(json.loads(raw), sort_keys=True, separators=(",", ":")).encode()
    except ValueError:
        return raw


# --- The ledger ---------------------------------------------------------------------------------


def _begin(scope: str, key: str, fingerprint: str, request: HttpRequest) -> tuple[IdempotencyKey, HttpResponse | None]:
    """Hold the key for this request, or the answer to give instead (a replay, 409 or 422)."""
    for _ in range(3):
        now = timezone.now()
        try:
            with transaction.atomic():
                record = IdempotencyKey.objects.create(
                    scope=scope,
                    key=key,
                    fingerprint=fingerprint,
                    method=request.method,
                    path=request.path_info[:500],
                    locked_until=now + LOCK,
                    created_at=now,
                    expires_at=now + settings.IDEMPOTENCY_KEY_TTL,
                )
            return record, None
        except IntegrityError:
            pass
        existing = IdempotencyKey.objects.filter(scope=scope, key=key).first()
        if existing is None:
            continue  # freed meanwhile: try to hold it again
        if existing.expires_at <= now:
            IdempotencyKey.objects.filter(pk=existing.pk, expires_at__lte=now).delete()
            continue
        if existing.fingerprint != fingerprint:
            return existing, errors.json_error(
                f"This {HEADER} was already used for another request ({existing.method} {existing.path}, "
                "or a different body). Use a new key for a new request.",
                422,
            )
        if existing.finished:
            return existing, _replay(existing)
        if existing.locked_until and existing.locked_until > now:
            return existing, errors.json_error(
                f"A request with this {HEADER} is still being processed; retry in a moment.", 409, Retry_After="1"
            )
        # The first request's process died holding the key: this one takes it over.
        taken = IdempotencyKey.objects.filter(
            pk=existing.pk, response_status__isnull=True, locked_until=existing.locked_until
        ).update(locked_until=now + LOCK)
        if taken:
            return existing, None
    return IdempotencyKey(), errors.json_error(f"This {HEADER} is busy; retry in a moment.", 409, Retry_After="1")


def _finish(record: IdempotencyKey, response: HttpResponse, *, door: str) -> None:
    """Keep a success's answer; free the key after anything else (nothing was done) and after an
    answer that hands out credentials (never written to the database in clear; signing in again is
    harmless)."""
    keep = 200 <= response.status_code < 300 and not response.streaming and door not in CREDENTIAL_DOORS
    body = response.content if keep else b""
    if keep and len(body) > MAX_STORED_BODY:
        log.warning(
            "answer to %s %s is %s bytes; not kept for its Idempotency-Key", record.method, record.path, len(body)
        )
        keep = False
    if not keep:
        IdempotencyKey.objects.filter(pk=record.pk, response_status__isnull=True).delete()
        return
    headers = {
        name: value
        for name, value in response.items()
        if name.lower() in KEPT_HEADERS or name.lower().startswith(KEPT_PREFIXES)
    }
    IdempotencyKey.objects.filter(pk=record.pk).update(
        response_status=response.status_code, response_headers=headers, response_body=body, locked_until=None
    )


def _replay(record: IdempotencyKey) -> HttpResponse:
    response = HttpResponse(bytes(record.response_body), status=record.response_status)
    for name, value in record.response_headers.items():
        response[name] = value
    response[REPLAYED_HEADER] = "true"
    return response


def sweep(*, now: Any = None) -> int:
    """Forget keys past their 24 hours; returns how many went."""
    return IdempotencyKey.objects.filter(expires_at__lte=now or timezone.now()).delete()[0]
