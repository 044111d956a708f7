from __future__ import annotations

from django import template

from galleries.media import media_url
from galleries.models import Asset

register = template.Library()


@register.simple_tag
def variant_url(asset: Asset | None, name: str, fmt: str = "webp", fallback: bool = False) -> str:
    """Signed URL of a variant; with fallback, the original while variants are being built."""
    if not isinstance(asset, Asset):
        return ""
    variant = asset.variant(name, fmt)
    if variant is not None:
        return media_url(variant.key)
    if fallback and asset.browser_can_show_original:
        return media_url(asset.original_key)
    return ""


@register.simple_tag
def original_url(asset: Asset | None) -> str:
    """Signed URL of the original: used to play videos, whose original is what the browser plays."""
    if not isinstance(asset, Asset):
        return ""
    return media_url(asset.original_key)
