"""The one access policy for share links and communities, used by pages, fragments, the API, media and ZIPs.

Communities: see the section at the end (who sees a community, what each member role may do).
A link opens its gallery when it exists, is not revoked or expired, its gallery is alive, and
(for a password-protected link) this visitor unlocked it since the password last changed.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.core import signing
from django.core.exceptions import ValidationError
from django.db.models import F
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils import timezone

from accounts.models import Community, Membership
from accounts.permissions import membership
from config import throttle
from config.clientip import client_ip
from config.exceptions import Gone, NotFound, ServiceError, TooManyRequests, Unauthorized
from sharing.models import DownloadSizes, ShareLink

SESSION_KEY = "share_grants"
GRANT_HEADER = "X-Share-Grant"
GRANT_SALT = "contactsheet.share-grant-token"


class PasswordRequired(Exception):
    def __init__(self, link: ShareLink) -> None:
        super().__init__("This gallery is protected by a password.")
        self.link = link


def link_for_token(token: str) -> ShareLink:
    """The live link for a token: 404 when unknown, revoked, its gallery a draft or in the trash;
    410 when the link or its gallery has expired."""
    link = ShareLink.objects.by_token(token)
    if link is None or link.is_revoked or link.gallery.is_trashed or link.gallery.is_draft:
        raise NotFound("This link does not exist or has been switched off.")
    if link.is_expired or link.gallery.is_expired:
        raise Gone("This link has expired. Ask the photographer for a new one.")
    return link


def link_closed_page(request: HttpRequest, *, gone: bool) -> HttpResponse:
    """The page for a link that does not open: unknown or switched off (404), or expired (410).

    Every page behind a token answers with it (the gallery, the password form, the guest drop box).
    """
    response = render(request, "sharing/link_closed.html", {"gone": gone}, status=410 if gone else 404)
    response["Referrer-Policy"] = "no-referrer"  # the token is in the address
    return response


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


def unlock(request: HttpRequest, link: ShareLink, password: str) -> str:
    """Check a password; on success remember the grant in the session and return a grant token.

    Throttled in the store every process shares (config.throttle), counted before the password
    is checked, so parallel requests cannot slip past: each address gets SHARE_UNLOCK_ATTEMPTS
    tries per link and window. Wrong passwords on the link from all addresses together are counted
    too; past SHARE_UNLOCK_LINK_FAILURES, an address that has already tried waits for the window,
    while an address with no attempt yet still gets one, so a real client with the right password
    is never locked out by someone else's guessing (under attack, each address gets one guess).
    """
    window = settings.SHARE_UNLOCK_WINDOW
    refused = TooManyRequests(
        f"Too many wrong passwords. Try again in {max(1, window // 60)} minutes.", retry_after=window
    )
    per_client = f"share-unlock:{link.pk}:{client_ip(request)}"
    per_link = f"share-unlock:{link.pk}"
    tries = throttle.hit(per_client, window)
    if tries > settings.SHARE_UNLOCK_ATTEMPTS:
        raise refused
    if tries > 1 and throttle.peek(per_link) >= settings.SHARE_UNLOCK_LINK_FAILURES:
        raise refused
    if not link.check_password(password or ""):
        throttle.hit(per_link, window)
        return ""
    throttle.reset(per_client)
    grants = dict(request.session.get(SESSION_KEY, {}))
    grants[str(link.pk)] = link.grant_key
    request.session[SESSION_KEY] = grants
    return signing.dumps([str(link.pk), link.grant_key], salt=GRANT_SALT)


# --- Downloads ---------------------------------------------------------------------------------
# A link that allows downloads offers full size (the original, without its location), web size
# (the largest web picture), or both, as its owner chose. Full size comes first: it is what a bare
# "download" means when the link offers both.

ORIGINAL, WEB = "original", "web"
SIZE_LABELS = {ORIGINAL: "Full size", WEB: "Web size"}
_SIZES = {DownloadSizes.ALL: [ORIGINAL, WEB], DownloadSizes.ORIGINAL: [ORIGINAL], DownloadSizes.WEB: [WEB]}


class DownloadRefused(Exception):
    """A download this link does not offer: 404 with downloads off, 403 for a size it does not
    offer, 400 for a size that does not exist. Pages show the message; status says which."""

    def __init__(self, message: str, *, status: int) -> None:
        super().__init__(message)
        self.message, self.status = message, status


def download_sizes(link: ShareLink) -> list[str]:
    """The sizes this link's visitors may download, the largest first; none when downloads are off."""
    if not link.allow_download:
        return []
    return list(_SIZES.get(link.download_sizes, [ORIGINAL]))


def download_size(link: ShareLink, asked: str | None) -> str:
    """The size to hand out to a visitor who asked for `asked` (empty: the largest the link offers).

    Every download door of a link (one photo, the ZIP) asks here; raises DownloadRefused.
    """
    sizes = download_sizes(link)
    if not sizes:
        raise DownloadRefused("Downloads are not enabled for this link.", status=404)
    if not asked:
        return sizes[0]
    if asked not in SIZE_LABELS:
        raise DownloadRefused("There is no such size: ask for “web” or “original”.", status=400)
    if asked not in sizes:
        offered = " and ".join(SIZE_LABELS[size].lower() for size in sizes)
        raise DownloadRefused(f"This link offers {offered} downloads only.", status=403)
    return asked


def record_view(request: HttpRequest, link: ShareLink) -> None:
    """Count a visit once per browser session (fragments and reloads are not visits)."""
    seen = request.session.get("share_seen", [])
    if str(link.pk) in seen:
        return
    request.session["share_seen"] = [*seen[-50:], str(link.pk)]
    ShareLink.objects.filter(pk=link.pk).update(view_count=F("view_count") + 1, last_viewed_at=timezone.now())


def visitor_id(request: HttpRequest) -> str:
    """An opaque id for this browser (kept in its session): whose favourites, whose uploads."""
    visitor = request.session.get("share_visitor")
    if not visitor:
        visitor = secrets.token_urlsafe(16)
        request.session["share_visitor"] = visitor
    return visitor


def media_link_grant(link_id: str) -> str | None:
    """For link-bound media URLs: the link's current grant key while it is open, else None.

    Asked on every request of such a URL, so revoking a link, letting it expire, deleting it,
    changing its password or trashing its gallery stops every URL it handed out at once.
    """
    try:
        link = ShareLink.objects.select_related("gallery").get(pk=link_id)
    except (ShareLink.DoesNotExist, ValueError, ValidationError):
        return None
    gallery = link.gallery
    if link.is_revoked or link.is_expired or not gallery.is_open:
        return None
    return link.grant_key


# --- Communities -------------------------------------------------------------------------------
# Who sees a community and what a member may do in it. The gallery side of the same rule (which
# galleries a member sees: `members` ones to every member, all of a community's galleries to its
# curators and owners; nothing of a members-only community to outsiders) is built from the
# membership facts in accounts.permissions and applied by Gallery.objects.visible_to, which every
# gallery door (pages, fragments, API, media URLs handed out by them) already asks.


class CommunityForbidden(ServiceError):
    """A member asked for something their role does not allow (403); outsiders never get this (404)."""

    status_code = 403
    code = "permission_denied"


@dataclass(frozen=True)
class CommunityAccess:
    """A community as one viewer may see it, with their membership (None for visitors)."""

    community: Community
    membership: Membership | None

    @property
    def role(self) -> str:
        return self.membership.role if self.membership else ""

    @property
    def is_member(self) -> bool:
        return self.membership is not None

    @property
    def can_curate(self) -> bool:
        return self.membership is not None and self.membership.can_curate

    @property
    def can_contribute(self) -> bool:
        return self.membership is not None and self.membership.can_contribute

    @property
    def is_owner(self) -> bool:
        return self.membership is not None and self.membership.is_owner


def open_community(user: Any, *, slug: str | None = None, pk: object = None) -> CommunityAccess:
    """The community if this user may see it: NotFound for unknown ones and, to non-members, for
    members-only ones. Superusers see every community; their membership (if any) is theirs."""
    lookup = {"slug": slug} if slug is not None else {"pk": pk}
    try:
        community = Community.objects.visible_to(user).filter(**lookup).first()
    except (ValueError, ValidationError):
        community = None
    if community is None:
        raise NotFound("There is no such community.")
    return CommunityAccess(community=community, membership=membership(user, community))


def require_member(access: CommunityAccess) -> None:
    """Members' pages (the member list): visitors of a listed community get 403."""
    if not access.is_member:
        raise CommunityForbidden("Only members of this community can do this.")


def require_curator(access: CommunityAccess) -> None:
    """Curation (the queue, members, invitations): owners and curators; 403 for other members."""
    if not access.can_curate:
        raise CommunityForbidden("Only the community's curators and owners can do this.")


def require_contributor(access: CommunityAccess) -> None:
    if not access.can_contribute:
        raise CommunityForbidden("Viewers cannot add photos; ask a curator for the contributor role.")


def curated_galleries(access: CommunityAccess):
    """The community's galleries (alive, any visibility) whose photos this member may curate."""
    from galleries.models import Gallery

    require_curator(access)
    return Gallery.objects.alive().filter(community=access.community)


JOIN_ATTEMPTS = getattr(settings, "COMMUNITY_JOIN_ATTEMPTS", 20)
JOIN_WINDOW = getattr(settings, "COMMUNITY_JOIN_WINDOW", 15 * 60)


def throttle_join(request: HttpRequest) -> None:
    """Sign-up and invitation acceptance, page and API alike: JOIN_ATTEMPTS per address and window,
    counted in the store every process shares (config.throttle). Raises TooManyRequests (429)."""
    if throttle.hit(f"community-join:{client_ip(request)}", JOIN_WINDOW) > JOIN_ATTEMPTS:
        raise TooManyRequests(
            f"Too many attempts from your address. Try again in {max(1, JOIN_WINDOW // 60)} minutes.",
            retry_after=JOIN_WINDOW,
        )
