"""A page of photo tiles as HTML, written in Python rather than a template.

A gallery page draws fifty tiles per request, each with some twenty values and as many conditions;
through the template engine that was over half of an owner's uncached request (issue 12's profile
at 5,000 photos). Here each tile is one f-string over the precomputed strings of a `Picture`
(galleries.presenters), every value escaped exactly as the template's autoescape did. The markup is
the component the pages and the viewer (static/js/gallery.js) rely on; tests pin it.
"""

from __future__ import annotations

from html import escape

from django.utils.safestring import SafeString, mark_safe

from galleries.presenters import Picture

HEART = (
    '<svg class="heart-icon" viewBox="0 0 24 24" width="22" height="22" aria-hidden="true" focusable="false">'
    '<path d="M12 20.5s-7.5-4.6-9.3-9.4C1.5 7.8 3.7 4.5 7 4.5c2.1 0 3.9 1.2 5 3 1.1-1.8 2.9-3 5-3 3.3 0 5.5 3.3 '
    '4.3 6.6-1.8 4.8-9.3 9.4-9.3 9.4z"/></svg>'
)
NOTE = (
    '<svg viewBox="0 0 24 24" width="18" height="18" aria-hidden="true" focusable="false">'
    '<path d="M4 5.5h16v10H9.5L5.5 19v-3.5H4z"/></svg><span class="note-text">Note</span>'
)
DOWNLOAD = (
    '<svg viewBox="0 0 24 24" width="20" height="20" aria-hidden="true" focusable="false">'
    '<path d="M12 4v11m0 0-4.5-4.5M12 15l4.5-4.5M5 19.5h14"/></svg>'
)


def tile(pic: Picture, *, base_url: str, layout: str, favourites: bool = False, download_label: str = "") -> str:
    """One tile: a link to the photo's page (the lightbox opens it), its placeholder and <picture>,
    and the door's buttons (heart and note on a share link with favourites, download when offered)."""
    pid, label, caption = pic.id, escape(pic.label), escape(pic.caption)
    video = pic.is_video
    download = escape(pic.download_href)
    dl_label = escape(download_label)
    out = [f'<figure class="item{" is-video" if video else ""}" style="--ar: {pic.aspect_ratio}" data-id="{pid}"']
    if download:
        out.append(f' data-download="{download}" data-download-label="{dl_label}"')
    out.append(f'>\n<a class="photo-link" href="{escape(base_url)}p/{pid}/" ')
    if video:
        out.append("data-video")
    else:
        out.append(
            f'data-pswp-src="{escape(pic.large_url)}" data-pswp-width="{pic.large_width}" '
            f'data-pswp-height="{pic.large_height}"'
        )
        if pic.large_srcset:
            out.append(f' data-pswp-srcset="{escape(pic.large_srcset)}"')
    out.append(f' data-caption="{caption}" aria-label="{label}{" (video)" if video else ""}">\n')
    out.append(f'<span class="ph" style="--ph: {escape(pic.colour)}">')
    if pic.blurhash:
        out.append(
            f'<canvas class="ph-hash" width="32" height="32" data-blurhash="{escape(pic.blurhash)}" '
            'aria-hidden="true"></canvas>'
        )
    if pic.src:
        sizes = escape(pic.sizes)
        out.append("\n<picture>")
        if pic.avif_srcset:
            out.append(f'<source type="image/avif" srcset="{escape(pic.avif_srcset)}" sizes="{sizes}">')
        if pic.webp_srcset:
            out.append(f'<source type="image/webp" srcset="{escape(pic.webp_srcset)}" sizes="{sizes}">')
        loading = 'loading="eager" fetchpriority="high"' if pic.eager else 'loading="lazy"'
        out.append(
            f'<img src="{escape(pic.src)}" alt="{escape(pic.alt)}" width="{pic.width}" height="{pic.height}" '
            f'decoding="async" {loading}></picture>'
        )
    else:
        out.append('<span class="pending">Processing…</span>')
    if video:
        out.append('<span class="badge-video" aria-hidden="true">▶</span>')
    out.append("</span></a>\n")
    if favourites:
        out.append(
            f'<button type="button" class="heart" data-photo="{pid}" aria-pressed="false" '
            f'aria-label="Favourite: {label}" hidden>{HEART}</button>'
            f'<button type="button" class="note-button" data-photo="{pid}" data-label="{label}" '
            f'aria-haspopup="dialog" aria-label="Note for the photographer: {label}" hidden>{NOTE}</button>\n'
        )
    if download:
        out.append(
            f'<a class="tile-download" href="{download}" download aria-label="{dl_label}: {label}">{DOWNLOAD}</a>\n'
        )
    if layout == "slideshow" and caption:
        out.append(f"<figcaption>{caption}</figcaption>\n")
    out.append("</figure>\n")
    return "".join(out)


def tiles(pictures: list[Picture], **options) -> SafeString:
    """The tiles of one page, in order (options as `tile` takes them)."""
    return mark_safe("".join(tile(pic, **options) for pic in pictures))  # noqa: S308 - every value escaped above
