"""What the gallery and photo pages show, for whichever door opened them (owner, public, share link).

Shared by galleries.views and sharing.views so both render the very same templates.
"""

from __future__ import annotations

import hashlib
import time
import uuid
from collections.abc import Callable
from typing import TypeVar

from django.core.cache import cache
from django.db.models import QuerySet
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render
from django.template.loader import render_to_string
from django.utils.functional import SimpleLazyObject
from django.utils.safestring import mark_safe

from galleries import marks, paging, signing
from galleries.media import media_ttl
from galleries.models import AssetStatus, Gallery, Layout, Photo, Visibility
from galleries.presenters import Picture, picture, pictures
from galleries.privacy import FieldRule
from galleries.tiles import tiles

T = TypeVar("T")

PAGE_SIZE = 50
EAGER_ON_FIRST_PAGE = 8  # roughly the first screen on a large display


def visible_photos(gallery: Gallery, *, owner: bool) -> QuerySet:
    """Photos a visitor may see: failed ones and guests' photos awaiting approval only for the owner."""
    return marks.audience(gallery, shown_only=not owner).with_media()  # shown: approved and not failed


def _phase(gallery: Gallery, step: int) -> int:
    """Where in the window this gallery's entries turn over: spread over the window by its id, so
    that not every gallery's cache is rebuilt in the same second."""
    return int.from_bytes(hashlib.sha256(str(gallery.pk).encode()).digest()[:4], "big") % step


def cache_key(gallery: Gallery, *, link_bound: bool = False, **parts: object) -> str:
    """A key that changes with the gallery's content and once per window (one signing window long).

    The URLs an entry holds were signed when it was built and stay valid for at least TTL minus one
    window (galleries.signing); the entry lives at most one window, shifted by the gallery's phase,
    so a visitor never gets an expired URL from the cache.
    """
    step = cache_ttl(link_bound=link_bound)
    window = int((time.time() + _phase(gallery, step)) // step)
    raw = f"{gallery.pk}:{gallery.content_version}:{window}:" + ":".join(f"{k}={v}" for k, v in sorted(parts.items()))
    return "gallery-page:" + hashlib.sha256(raw.encode()).hexdigest()


STAMPEDE_WAIT = 2.0  # seconds a visitor waits for another request already building the same entry


def cached_for_visitors(gallery: Gallery, build: Callable[[], T], *, link_bound: bool = False, **parts: object) -> T:
    """What build() makes for visitors of this gallery, kept for one window (see cache_key).

    Every visitor-facing cache of a gallery (pages, API) goes through here; owners never do. When
    many visitors miss the same entry at once, one builds it and the others wait for it (up to
    STAMPEDE_WAIT, then they build it themselves rather than fail).
    """
    key = cache_key(gallery, link_bound=link_bound, **parts)
    value = cache.get(key)
    if value is not None:
        return value
    if not cache.add(key + ":building", 1, timeout=int(STAMPEDE_WAIT) + 1):
        deadline = time.monotonic() + STAMPEDE_WAIT
        while time.monotonic() < deadline:
            time.sleep(0.02)
            value = cache.get(key)
            if value is not None:
                return value
    try:
        value = build()
        cache.set(key, value, cache_ttl(link_bound=link_bound))
    finally:
        cache.delete(key + ":building")
    return value


def cache_ttl(*, link_bound: bool = False) -> int:
    """How long a rendered page may be kept: one signing window of the URLs it holds."""
    return signing.window_for(media_ttl(link_bound=link_bound))


def _photo_page(request: HttpRequest, gallery: Gallery, *, base_url: str, rule: FieldRule,
                layout: str, page_number: int, extra: dict) -> dict:  # fmt: skip
    page = paging.photo_page(gallery, owner=rule.owner, number=page_number, size=PAGE_SIZE)
    html = photo_page_html(request, gallery, page, base_url=base_url, rule=rule, layout=layout, extra=extra)
    return {"html": html, "count": gallery.photo_total if rule.owner else gallery.photo_count}


def photo_page_html(request: HttpRequest, gallery: Gallery, page: paging.PhotoPage, *, base_url: str,
                    rule: FieldRule, layout: str, extra: dict) -> str:  # fmt: skip
    """One page of tiles and the link to the next: the gallery page's photo-page fragment.

    `extra` is what the door adds (a share link: `favourites`, `download_size`, `download_label`).
    """
    eager = EAGER_ON_FIRST_PAGE if page.number == 1 else 0
    shown = pictures(list(page.object_list), layout=layout, eager_count=eager, rule=rule)
    size = extra.get("download_size")
    if size:  # a door that offers downloads (a share link): each tile's button; videos only as originals
        for pic in shown:
            if not pic.is_video or size == "original":  # sharing.access.ORIGINAL
                pic.download_href = f"{base_url}p/{pic.id}/download?size={size}"
    fragment_context = {
        "gallery": gallery,
        "base_url": base_url,
        "page": page,
        "layout": layout,
        "pictures": shown,
        "tiles": tiles(
            shown,
            base_url=base_url,
            layout=layout,
            favourites=bool(extra.get("favourites")),
            download_label=extra.get("download_label", ""),
        ),
        **extra,
    }
    return render_to_string("galleries/gallery_detail.html#photo-page", fragment_context, request=request)


def gallery_context(request: HttpRequest, gallery: Gallery, *, base_url: str, rule: FieldRule, **extra) -> dict:
    """The page's context; the photos fragment comes from the cache for visitors.

    Cached under the gallery's content_version and the signing window, so a visitor never sees
    stale photos or expired media URLs; owners always get a fresh render.
    """
    layout = request.GET.get("layout", "")
    if layout not in Layout.values:
        layout = gallery.default_layout
    page_number = paging.page_number(request.GET.get("page"))
    args = {"base_url": base_url, "rule": rule, "layout": layout, "page_number": page_number, "extra": extra}
    if rule.owner:
        photo_page = _photo_page(request, gallery, **args)
    else:
        # What the door added that can change the photos fragment (plain values: a flag, a URL).
        shown = sorted((k, v) for k, v in extra.items() if isinstance(v, (bool, int, str)))
        photo_page = cached_for_visitors(
            gallery, lambda: _photo_page(request, gallery, **args), link_bound=bool(rule.link_id),
            base=base_url, rule=rule.cache_part(), layout=layout, page=page_number, extra=shown,
        )  # fmt: skip
    return {
        "gallery": gallery,
        "base_url": base_url,
        "photo_page_html": mark_safe(photo_page["html"]),  # noqa: S308 - rendered by our own template
        "can_edit": rule.owner,
        "photo_count": photo_page["count"],
        "layout": layout,
        "layouts": Layout.choices,
        # Built only when the whole page renders (never for an HTMX fragment): one cover query.
        "hero": SimpleLazyObject(lambda: hero_picture(gallery, rule=rule)),
        "indexable": indexable(gallery, rule),
        **extra,
    }


def hero_picture(gallery: Gallery, *, rule: FieldRule) -> Picture | None:
    """The picture a gallery opens with: its cover, else its first ready photo, as the home page's
    cards show it (Gallery.objects.with_cover_id), among the photos this viewer may see."""
    photos = visible_photos(gallery, owner=rule.owner)
    photo = photos.filter(pk=gallery.cover_id).first() if gallery.cover_id else None
    if photo is None:
        photo = photos.filter(asset__status=AssetStatus.READY).order_by(*paging.PHOTO_ORDER).first()
    return picture(photo, layout="hero", eager=True, rule=rule) if photo is not None else None


def indexable(gallery: Gallery, rule: FieldRule) -> bool:
    """May search engines index this page and link previews show its cover? Only an open public
    gallery at its own address: never through a share link, never unlisted, private or a draft."""
    return gallery.visibility == Visibility.PUBLIC and gallery.is_open and not rule.link_id


def gallery_response(
    request: HttpRequest, context: dict, *, template: str = "galleries/gallery_detail.html"
) -> HttpResponse:
    """The whole page, or the fragment HTMX asked for (the layout, or the next page of photos).

    A door may render the page through its own template that extends galleries/gallery_detail.html
    (sharing adds the link's actions); the fragments are the gallery page's own.
    """
    if getattr(request, "htmx", False):
        if request.htmx.target != "gallery-content":
            return HttpResponse(context["photo_page_html"])
        template = "galleries/gallery_detail.html#gallery-content"
    return noindex_unless(render(request, template, context), context)


def noindex_unless(response: HttpResponse, context: dict) -> HttpResponse:
    """X-Robots-Tag: noindex on every gallery and photo page that is not indexable (the pages say it
    in a meta tag too); a door may set a stricter one (share links: "noindex, nofollow")."""
    if not context.get("indexable"):
        response.setdefault("X-Robots-Tag", "noindex")
    return response


def photo_context(gallery: Gallery, photo_id: uuid.UUID, *, base_url: str, rule: FieldRule, **extra) -> dict:
    photos = visible_photos(gallery, owner=rule.owner)
    photo: Photo | None = photos.filter(pk=photo_id).first()
    if photo is None:
        raise Http404("No such photo.")
    key = marks.key_of(photo)
    order, backwards = paging.PHOTO_ORDER, [f"-{name}" for name in paging.PHOTO_ORDER]
    return {
        "gallery": gallery,
        "base_url": base_url,
        "photo": photo,
        "pic": picture(photo, layout="single", eager=True, rule=rule),
        "can_edit": rule.owner,
        "indexable": indexable(gallery, rule),
        "show_metadata": rule.sees_metadata,
        "index": marks.ordinal_of(gallery, photo, shown_only=not rule.owner),
        "count": gallery.photo_total if rule.owner else gallery.photo_count,
        "previous_id": photos.filter(marks.before(key)).order_by(*backwards).values_list("id", flat=True).first(),
        "next_id": photos.filter(marks.at_or_after(key, inclusive=False))
        .order_by(*order)
        .values_list("id", flat=True)
        .first(),
        **extra,
    }
