"""The like-for-like baseline of bench/pages.py: the same work as the app's gallery page and photos API,
in plain Python, uncached.

For the same request it does what the app must: the gallery visible to this viewer (the same
`visible_to` rule), the photos this viewer may see (owners also failed and unapproved ones), the
page's rows in the same order with the kept counter as the count, the variants of those rows, a
signed URL per variant (galleries.media.media_url), and equivalent HTML or JSON written with
f-strings and json.dumps: no template engine, no serializer, no cache. Also the middleware that
lets the bench bypass the visitors' cache.

Not a bench: `make bench` skips files starting with "_".
"""

from __future__ import annotations

import json
import uuid
from collections import defaultdict
from collections.abc import Callable
from html import escape

from django.core.cache import cache
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404

from galleries.media import media_url
from galleries.models import AssetStatus, Gallery, Photo, Variant
from galleries.paging import PHOTO_ORDER, page_number
from galleries.presenters import FALLBACK, LIGHTBOX_NAMES, SIZES, SRCSET_NAMES, blurhash_colour
from galleries.privacy import FieldRule

PAGE_SIZE = 50
FIELDS = ("id", "gallery_id", "position", "title", "alt", "original_filename", "created_at", "updated_at", "asset_id")
ASSET_FIELDS = ("status", "error", "kind", "mime", "size", "sha256", "width", "height", "blurhash", "exif", "gps")
ASSET_FIELDS += ("duration",)
VARIANT_FIELDS = ("asset_id", "name", "format", "width", "height", "size", "key")


def bypass_cache(get_response: Callable[[HttpRequest], HttpResponse]) -> Callable[[HttpRequest], HttpResponse]:
    """With `X-Bench-Cache: bypass`, the worker's cache is emptied first, so visitors' pages are built anew."""

    def middleware(request: HttpRequest) -> HttpResponse:
        if request.headers.get("X-Bench-Cache") == "bypass":
            cache.clear()
        return get_response(request)

    return middleware


def _page_rows(request: HttpRequest, gallery: Gallery, number: int, size: int) -> tuple[FieldRule, list, dict, bool]:
    """The viewer's rule, the rows of page `number`, their variants by (asset, name, format), whether a page follows."""
    owner = gallery.is_editable_by(request.user)
    rule = FieldRule.for_owner() if owner else FieldRule(show_metadata=gallery.show_metadata)
    photos = Photo.objects.filter(gallery=gallery)
    if not owner:
        photos = photos.exclude(asset__status=AssetStatus.FAILED).filter(is_approved=True)
    start = (number - 1) * size
    fields = FIELDS + tuple(f"asset__{name}" for name in ASSET_FIELDS)
    rows = list(photos.order_by(*PHOTO_ORDER).values(*fields)[start : start + size + 1])
    has_next, rows = len(rows) > size, rows[:size]
    variants: dict = defaultdict(dict)
    for v in Variant.objects.filter(asset_id__in=[r["asset_id"] for r in rows]).values(*VARIANT_FIELDS):
        variants[v["asset_id"]][(v["name"], v["format"])] = v
    return rule, rows, variants, has_next


def _figure(row: dict, found: dict, *, base: str, layout: str, eager: bool, rule: FieldRule) -> str:
    """One photo as the app's photo_item.html draws it: sources per format, fallback, lightbox size."""
    urls: dict[str, str] = {}

    def url(key: str) -> str:
        if key not in urls:
            urls[key] = media_url(key, rule=rule)
        return urls[key]

    def srcset(fmt: str, names: tuple[str, ...]) -> str:
        parts, seen = [], set()
        for name in names:
            v = found.get((name, fmt))
            if v is not None and v["width"] not in seen:
                seen.add(v["width"])
                parts.append(f"{url(v['key'])} {v['width']}w")
        return ", ".join(parts)

    names = SRCSET_NAMES[layout]
    avif, webp = srcset("avif", names), srcset("webp", names)
    fallback = found.get((FALLBACK[layout], "webp")) or found.get(("large", "webp"))
    large = found.get(("large", "webp"))
    largest = found.get(("xlarge", "webp")) or large
    src = url(fallback["key"]) if fallback else ""
    large_url, large_w, large_h = (url(large["key"]), largest["width"], largest["height"]) if large else (src, 0, 0)
    large_srcset = srcset("webp", LIGHTBOX_NAMES)
    width, height = row["asset__width"] or 1, row["asset__height"] or 1
    caption = row["title"] or row["alt"]
    label = caption or (row["original_filename"] if rule.sees_metadata else "") or f"Photo {row['position'] + 1}"
    loading = 'loading="eager" fetchpriority="high"' if eager else 'loading="lazy"'
    return (
        f'<figure class="item" style="--ar: {round(width / height, 4)}" data-id="{row["id"]}">\n'
        f'<a class="photo-link" href="{base}p/{row["id"]}/" data-pswp-src="{large_url}" data-pswp-width="{large_w}" '
        f'data-pswp-height="{large_h}" data-pswp-srcset="{large_srcset}" data-caption="{escape(caption)}" '
        f'aria-label="{escape(label)}">\n'
        f'<span class="ph" style="--ph: {blurhash_colour(row["asset__blurhash"])}"><canvas class="ph-hash" width="32" '
        f'height="32" data-blurhash="{escape(row["asset__blurhash"])}" aria-hidden="true"></canvas>\n<picture>\n'
        f'<source type="image/avif" srcset="{avif}" sizes="{SIZES[layout]}">\n'
        f'<source type="image/webp" srcset="{webp}" sizes="{SIZES[layout]}">\n'
        f'<img src="{src}" alt="{escape(row["alt"])}" width="{width}" height="{height}" decoding="async" {loading}>\n'
        f"</picture></span></a>\n</figure>\n"
    )


def gallery_page(request: HttpRequest, slug: str) -> HttpResponse:
    """The gallery page (or, for HTMX, the fragment of one page of photos) in plain Python."""
    gallery = get_object_or_404(Gallery.objects.visible_to(request.user), slug=slug)
    number = page_number(request.GET.get("page"))
    layout = gallery.default_layout
    rule, rows, variants, has_next = _page_rows(request, gallery, number, PAGE_SIZE)
    base = gallery.get_absolute_url()
    eager = 8 if number == 1 else 0
    items = "".join(
        _figure(row, variants[row["asset_id"]], base=base, layout=layout, eager=i < eager, rule=rule)
        for i, row in enumerate(rows)
    )
    if has_next:
        items += f'<a class="sentinel" href="?layout={layout}&amp;page={number + 1}">Load more photos</a>'
    if request.headers.get("HX-Request") == "true":
        return HttpResponse(items)
    count = gallery.photo_total if rule.owner else gallery.photo_count
    html = (
        f"<!doctype html><html lang=en><head><meta charset=utf-8><title>{escape(gallery.title)}</title></head>"
        f"<body><h1>{escape(gallery.title)}</h1><p>{escape(gallery.description)}</p>"
        f'<section id="gallery-content" class="layout-{layout}" data-count="{count}">'
        f'<div class="grid grid-{layout}">{items}</div></section></body></html>'
    )
    return HttpResponse(html)


def photos_api(request: HttpRequest, gallery_id: uuid.UUID) -> HttpResponse:
    """The photos API's page in plain Python: the same fields as PhotoOutputSerializer for this viewer."""
    gallery = get_object_or_404(Gallery.objects.visible_to(request.user), pk=gallery_id)
    number = int(request.GET.get("page", "1"))
    size = int(request.GET.get("page_size", str(PAGE_SIZE)))
    rule, rows, variants, has_next = _page_rows(request, gallery, number, size)
    api = request.build_absolute_uri(request.path)
    results = []
    for row in rows:
        width, height = row["asset__width"], row["asset__height"]
        results.append(
            {
                "id": str(row["id"]),
                "gallery": str(row["gallery_id"]) if rule.sees_gallery_address else None,
                "position": row["position"],
                "title": row["title"],
                "alt": row["alt"],
                "original_filename": row["original_filename"] if rule.sees_metadata else None,
                "status": row["asset__status"],
                "error": row["asset__error"] if rule.sees_internals else None,
                "kind": row["asset__kind"],
                "mime": row["asset__mime"],
                "size": row["asset__size"],
                "sha256": row["asset__sha256"] if rule.sees_internals else None,
                "width": width,
                "height": height,
                "aspect_ratio": round(width / height, 4) if width and height else None,
                "blurhash": row["asset__blurhash"],
                "exif": row["asset__exif"] if rule.sees_metadata else None,
                "gps": row["asset__gps"] if rule.sees_location else None,
                "duration": row["asset__duration"],
                "variants": [
                    {k: v[k] for k in ("name", "format", "width", "height", "size")}
                    | {"url": media_url(v["key"], rule=rule)}
                    for v in variants[row["asset_id"]].values()
                ],
                "download_url": request.build_absolute_uri(f"/api/v1/photos/{row['id']}/download")
                if rule.owner
                else None,
                "created_at": row["created_at"].isoformat(),
                "updated_at": row["updated_at"].isoformat(),
            }
        )
    count = gallery.photo_total if rule.owner else gallery.photo_count
    body = {
        "count": count,
        "next": f"{api}?page={number + 1}&page_size={size}" if has_next else None,
        "previous": f"{api}?page={number - 1}&page_size={size}" if number > 1 else None,
        "results": results,
    }
    return HttpResponse(json.dumps(body), content_type="application/json")
