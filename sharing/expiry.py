"""A shared gallery's closing date, and a client's "Request more time" to its owner (issue 11).

A visitor may ask once a day per link (one visitor id, kept in the browser's session, see
access.visitor_id); a link takes MORE_TIME_PER_LINK_PER_DAY requests a day from all its visitors
together, so someone who clears their cookies cannot flood the owner's mailbox. A "day" is the
calendar day in the site's time zone, so "You asked already today" means what it says.
"""

from __future__ import annotations

from datetime import datetime, time, timedelta

from django.conf import settings
from django.urls import reverse
from django.utils import timezone

from config import throttle
from config.exceptions import NotFound, TooManyRequests
from notifications.services import notify
from sharing.models import Selection, ShareLink

MORE_TIME_PER_LINK_PER_DAY = 5
# The counters' keys carry the day, so a window just past one day only lets old rows lapse.
_WINDOW = 25 * 3600

ASK = "ask"  # the button
ASKED = "asked"  # this visitor asked already today
BUSY = "busy"  # the link's requests for today are used up
THANKS = "thanks"  # just asked


def _visitor_key(link: ShareLink, visitor: str, day: str) -> str:
    return f"more-time:{link.pk}:{visitor}:{day}"


def _link_key(link: ShareLink, day: str) -> str:
    return f"more-time:{link.pk}:{day}"


def seconds_until_tomorrow() -> int:
    """From now to the next midnight in the site's time zone (a refusal's Retry-After)."""
    now = timezone.localtime()
    midnight = timezone.make_aware(datetime.combine(now.date() + timedelta(days=1), time.min))
    return max(1, int((midnight - now).total_seconds()))


def can_ask(link: ShareLink) -> bool:
    """The gallery closes at a set time and is open now (the link itself was opened by the caller)."""
    return link.gallery.expires_at is not None and link.gallery.is_open


def more_time_state(*, link: ShareLink, visitor: str) -> str:
    """What the page offers this visitor: the button, or why not today (counts nothing)."""
    day = timezone.localdate().isoformat()
    if throttle.peek(_visitor_key(link, visitor, day)):
        return ASKED
    if throttle.peek(_link_key(link, day)) >= MORE_TIME_PER_LINK_PER_DAY:
        return BUSY
    return ASK


def more_time_request(*, link: ShareLink, visitor: str) -> None:
    """A visitor of an open link asks the gallery's owner to keep it available longer.

    Preconditions: the link was opened for this visitor (access.open_link). NotFound when the
    gallery has no expiry or is not open; TooManyRequests (code "asked" or "busy") past the
    day's allowance. Counted before the mail is recorded, outside any transaction (see
    config.throttle). An owner without an address gets no mail; the visitor is thanked anyway.
    """
    gallery = link.gallery
    if not can_ask(link):
        raise NotFound("This gallery has no closing date to move.")
    day = timezone.localdate().isoformat()
    retry = seconds_until_tomorrow()
    if throttle.hit(_visitor_key(link, visitor, day), _WINDOW) > 1:
        raise TooManyRequests(
            "You asked already today: the photographer has your request. You can ask again tomorrow.",
            code=ASKED,
            retry_after=retry,
        )
    if throttle.hit(_link_key(link, day), _WINDOW) > MORE_TIME_PER_LINK_PER_DAY:
        raise TooManyRequests(
            "The photographer has been asked for more time on this gallery several times today. "
            "Try again tomorrow if you still need it.",
            code=BUSY,
            retry_after=retry,
        )
    client = Selection.objects.filter(link=link, visitor=visitor).values("name", "email").first() or {}
    notify(
        key=f"more-time-requested:{link.pk}:{visitor}:{day}",
        to=gallery.owner.email,
        template="more_time_requested",
        topic=f"gallery:{gallery.pk}",
        context={
            "client_name": client.get("name", ""),
            "client_email": client.get("email", ""),
            "gallery_title": gallery.title,
            "brand_owner_id": gallery.owner_id,  # issue 13: the owner's studio brand signs the mail
            "link_label": link.label,
            "expires_at": gallery.expires_at,
            "extend_url": settings.SITE_URL + reverse("admin:galleries_gallery_extend", args=[gallery.pk]),
        },
    )
