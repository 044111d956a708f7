from __future__ import annotations

import uuid

from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, render
from django.views.decorators.vary import vary_on_headers

from galleries import pages, paging
from galleries.models import Gallery, Photo
from galleries.presenters import picture
from galleries.privacy import FieldRule


def _get_gallery_for_user(request: HttpRequest, slug: str) -> Gallery:
    # The owner's studio brand comes along (the header shows it: accounts.templatetags.brand).
    return get_object_or_404(Gallery.objects.visible_to(request.user).select_related("owner__brand"), slug=slug)


HOME_PAGE_SIZE = 24


def gallery_index(request: HttpRequest) -> HttpResponse:
    """The public galleries, newest first, a page at a time (one more row tells whether a page follows)."""
    number = paging.page_number(request.GET.get("page"))
    start = (number - 1) * HOME_PAGE_SIZE
    listed = Gallery.objects.public().order_by("-created_at", "-id")
    ids = list(listed.values_list("pk", flat=True)[start : start + HOME_PAGE_SIZE + 1])
    has_next = len(ids) > HOME_PAGE_SIZE
    if not ids and number > 1:
        raise Http404("There are not that many galleries.")
    galleries = paging.rows_for(Gallery.objects.with_cover_id(), ids[:HOME_PAGE_SIZE])
    covers = Photo.objects.with_media().in_bulk([g.cover_photo_id for g in galleries if g.cover_photo_id])
    cards = []
    for i, gallery in enumerate(galleries):
        cover = covers.get(gallery.cover_photo_id)
        cards.append({"gallery": gallery, "cover": picture(cover, layout="card", eager=i < 3) if cover else None})
    context = {"cards": cards, "page": number, "has_next": has_next, "has_previous": number > 1}
    return render(request, "galleries/gallery_index.html", context)


@vary_on_headers("HX-Request", "HX-Target")
def gallery_detail(request: HttpRequest, slug: str) -> HttpResponse:
    """A gallery in one of its layouts; HTMX gets just the layout or just the next page."""
    gallery = _get_gallery_for_user(request, slug)
    rule = FieldRule.for_user(request.user, gallery)
    context = pages.gallery_context(request, gallery, base_url=gallery.get_absolute_url(), rule=rule)
    return pages.gallery_response(request, context)


def photo_detail(request: HttpRequest, slug: str, photo_id: uuid.UUID) -> HttpResponse:
    """One photo, usable without JavaScript: previous, next, back. The lightbox's deep link."""
    gallery = _get_gallery_for_user(request, slug)
    rule = FieldRule.for_user(request.user, gallery)
    context = pages.photo_context(gallery, photo_id, base_url=gallery.get_absolute_url(), rule=rule)
    return pages.noindex_unless(render(request, "galleries/photo_detail.html", context), context)
