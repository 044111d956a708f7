"""The studio brand on client pages: {% client_brand as brand %} in templates/base.html.

Found from what the page already has in its context (a `gallery`, or a share `link` on the
password page), so no view has to pass it: one query for the owner's brand, none per photo, and
kept on the request so every template of the page shares it. Duck-typed on purpose: accounts is
the lowest app and knows nothing of galleries or share links beyond their owner.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django import template
from django.conf import settings

from accounts.colours import Accent, accent_pair
from accounts.models import Brand
from config.exceptions import InvalidInput

register = template.Library()

# Pages behind a share link's address that name no gallery in their context (the closed-link page).
CLIENT_NAMESPACES = {"sharing"}
CLIENT_URL_NAMES = {"guest-upload"}


@dataclass(frozen=True)
class ClientBrand:
    """What the header of a page shows: the studio's, or Contact Sheet's own calm look."""

    client_page: bool  # a page for clients: no "Sign in" (a client never signs in)
    brand: Brand | None = None

    @property
    def is_branded(self) -> bool:
        return self.brand is not None and bool(self.brand.studio_name or self.brand.logo_key)

    @property
    def name(self) -> str:
        return (self.brand.studio_name if self.brand else "") or settings.STUDIO_NAME

    @property
    def logo_url(self) -> str:
        return self.brand.logo_url if self.brand else ""

    @property
    def logo_alt(self) -> str:
        """The logo stands for the studio's name (and for the link to its website)."""
        name = self.brand.studio_name if self.brand else ""
        return name or "Studio logo"

    @property
    def website_label(self) -> str:
        """The website as people write it: no scheme, no trailing slash."""
        return self.website.split("://", 1)[-1].rstrip("/")

    @property
    def website(self) -> str:
        return self.brand.website if self.brand else ""

    @property
    def contact_email(self) -> str:
        return self.brand.contact_email if self.brand else ""

    @property
    def accent(self) -> Accent | None:
        if not (self.brand and self.brand.accent):
            return None
        try:
            return accent_pair(self.brand.accent)
        except InvalidInput:  # written around the service (a raw database edit): the default, not a broken page
            return None


def _is_client_request(request: Any) -> bool:
    match = getattr(request, "resolver_match", None)
    return bool(match and (match.namespace in CLIENT_NAMESPACES or match.url_name in CLIENT_URL_NAMES))


def _preloaded(gallery: Any) -> tuple[bool, Brand | None]:
    """(True, the brand or None) when the view fetched the gallery with select_related("owner__brand")."""
    meta = getattr(gallery, "_meta", None)
    if meta is None or not meta.get_field("owner").is_cached(gallery):
        return False, None
    reverse = Brand._meta.get_field("owner").remote_field  # User.brand
    if not reverse.is_cached(gallery.owner):
        return False, None
    return True, reverse.get_cached_value(gallery.owner)


def _brand_of(request: Any, gallery: Any, link: Any) -> Brand | None:
    preloaded, brand = _preloaded(gallery) if gallery else (False, None)
    if preloaded:
        return brand
    owner_id = getattr(gallery, "owner_id", None)
    gallery_id = getattr(link, "gallery_id", None) if owner_id is None else None
    if owner_id is None and gallery_id is None:
        return None
    key = ("owner", owner_id) if owner_id is not None else ("gallery", gallery_id)
    cache = request.__dict__.setdefault("_client_brands", {}) if request is not None else {}
    if key not in cache:
        if owner_id is not None:
            cache[key] = Brand.objects.for_owner_id(owner_id)
        else:  # the password page has the link, not its gallery: find the brand through it in one query
            cache[key] = Brand.objects.filter(owner__galleries__pk=gallery_id).first()
    return cache[key]


@register.simple_tag(takes_context=True)
def client_brand(context: template.Context) -> ClientBrand:
    """The header's brand for this page: from its `gallery`, else its share `link`'s gallery."""
    request = context.get("request")
    gallery, link = context.get("gallery"), context.get("link")
    client_page = bool(gallery or link) or _is_client_request(request)
    return ClientBrand(client_page=client_page, brand=_brand_of(request, gallery, link) if client_page else None)


@register.simple_tag(takes_context=True)
def absolute_uri(context: template.Context, url: str) -> str:
    """url as an absolute address (link previews need one); an address that has its scheme stays as it is."""
    request = context.get("request")
    if not url or request is None:
        return url or ""
    return request.build_absolute_uri(url)
