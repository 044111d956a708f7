"""The one access policy for share links, used by pages, fragments, the API, media and ZIPs.

A link opens its gallery when it exists, is not revoked or expired, its gallery is alive, and
(for a password-protected link) this visitor unlocked it since the password last changed.
"""

from __future__ import annotations

from django.conf import settings
from django.core import signing
from django.core.cache import cache
from django.http import HttpRequest
from django.utils import timezone

from galleries.errors import Gone, NotFound, TooManyRequests, Unauthorized
from sharing.models import ShareLink

SESSION_KEY = "share_grants"
GRANT_HEADER = "X-Share-Grant"
GRANT_SALT = "contactsheet.share-grant-token"


class PasswordRequired(Exception):
    def __init__(self, link: ShareLink) -> None:
        super().__init__("This gallery is protected by a password.")
        self.link = link


def link_for_token(token: str) -> ShareLink:
    """The live link for a token: 404 when unknown or revoked, 410 when expired."""
    link = ShareLink.objects.by_token(token)
    if link is None or link.is_revoked or link.gallery.deleted_at is not None:
        raise NotFound("This link does not exist or has been switched off.")
    if link.is_expired or link.gallery.is_expired:
        raise Gone("This link has expired. Ask the photographer for a new one.")
    return link


def is_unlocked(request: HttpRequest, link: ShareLink) -> bool:
    if not link.has_password:
        return True
    grants = request.session.get(SESSION_KEY, {}) if hasattr(request, "session") else {}
    if grants.get(str(link.pk)) == link.grant_key:
        return True
    header = request.headers.get(GRANT_HEADER, "")
    if header:
        try:
            value = signing.loads(header, salt=GRANT_SALT, max_age=settings.SHARE_GRANT_TTL)
        except signing.BadSignature:
            return False
        return value == [str(link.pk), link.grant_key]
    return False


def open_link(request: HttpRequest, token: str) -> ShareLink:
    """The link, if this visitor may see its gallery now; raises NotFound, Gone or PasswordRequired."""
    link = link_for_token(token)
    if not is_unlocked(request, link):
        raise PasswordRequired(link)
    return link


def open_link_or_401(request: HttpRequest, token: str) -> ShareLink:
    """open_link for API doors: a locked link is a 401 that says how to unlock it."""
    try:
        return open_link(request, token)
    except PasswordRequired:
        raise Unauthorized("This gallery is protected by a password: POST it to …/unlock first.") from None


def _client_address(request: HttpRequest) -> str:
    if settings.BEHIND_PROXY:
        forwarded = request.headers.get("X-Forwarded-For", "")
        if forwarded:
            return forwarded.split(",")[0].strip()
    return request.META.get("REMOTE_ADDR", "")


def unlock(request: HttpRequest, link: ShareLink, password: str) -> str:
    """Check a password; on success remember the grant in the session and return a grant token.

    Failed attempts are throttled per link and client address, and per link overall.
    """
    per_client = f"share-unlock:{link.pk}:{_client_address(request)}"
    per_link = f"share-unlock:{link.pk}"
    window = settings.SHARE_UNLOCK_WINDOW
    if (
        cache.get(per_client, 0) >= settings.SHARE_UNLOCK_ATTEMPTS
        or cache.get(per_link, 0) >= settings.SHARE_UNLOCK_ATTEMPTS * 10
    ):
        raise TooManyRequests(f"Too many wrong passwords. Try again in {window // 60} minutes.")
    if not link.check_password(password or ""):
        for key in (per_client, per_link):
            cache.add(key, 0, window)
            try:
                cache.incr(key)
            except ValueError:
                cache.set(key, 1, window)
        return ""
    cache.delete(per_client)
    grants = dict(request.session.get(SESSION_KEY, {}))
    grants[str(link.pk)] = link.grant_key
    request.session[SESSION_KEY] = grants
    return signing.dumps([str(link.pk), link.grant_key], salt=GRANT_SALT)


def record_view(request: HttpRequest, link: ShareLink) -> None:
    """Count a visit once per browser session (fragments and reloads are not visits)."""
    seen = request.session.get("share_seen", [])
    if str(link.pk) in seen:
        return
    request.session["share_seen"] = [*seen[-50:], str(link.pk)]
    from django.db.models import F

    ShareLink.objects.filter(pk=link.pk).update(view_count=F("view_count") + 1, last_viewed_at=timezone.now())


def visitor_id(request: HttpRequest) -> str:
    """An opaque id for this browser (kept in its session): whose favourites, whose uploads."""
    import secrets

    visitor = request.session.get("share_visitor")
    if not visitor:
        visitor = secrets.token_urlsafe(16)
        request.session["share_visitor"] = visitor
    return visitor
