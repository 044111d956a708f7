"""What the gallery and photo pages show, for whichever door opened them (owner, public, share link).

Shared by galleries.views and sharing.views so both render the very same templates.
"""

from __future__ import annotations

import uuid

from django.core.paginator import Paginator
from django.db.models import Q, QuerySet
from django.http import Http404, HttpRequest

from galleries.models import AssetStatus, Gallery, Layout, Photo
from galleries.presenters import picture, pictures

PAGE_SIZE = 50
EAGER_ON_FIRST_PAGE = 8  # roughly the first screen on a large display


def visible_photos(gallery: Gallery, *, owner: bool) -> QuerySet:
    """Photos a visitor may see: failed ones and guests' photos awaiting approval only for the owner."""
    photos = gallery.photos.with_media()
    if not owner:
        photos = photos.exclude(asset__status=AssetStatus.FAILED).filter(is_approved=True)
    return photos


def gallery_context(
    request: HttpRequest, gallery: Gallery, *, base_url: str, owner: bool, show_metadata: bool, **extra
) -> dict:
    layout = request.GET.get("layout", "")
    if layout not in Layout.values:
        layout = gallery.default_layout
    page = Paginator(visible_photos(gallery, owner=owner), PAGE_SIZE).get_page(request.GET.get("page"))
    eager = EAGER_ON_FIRST_PAGE if page.number == 1 else 0
    return {
        "gallery": gallery,
        "base_url": base_url,
        "page": page,
        "pictures": pictures(
            list(page.object_list), layout=layout, eager_count=eager, owner=owner, show_metadata=show_metadata
        ),
        "can_edit": owner,
        "photo_count": page.paginator.count,
        "layout": layout,
        "layouts": Layout.choices,
        **extra,
    }


def gallery_template(request: HttpRequest) -> str:
    """The whole page, or the fragment HTMX asked for (the layout, or the next page of photos)."""
    template = "galleries/gallery_detail.html"
    if getattr(request, "htmx", False):
        fragment = "gallery-content" if request.htmx.target == "gallery-content" else "photo-page"
        template = f"{template}#{fragment}"
    return template


def photo_context(
    gallery: Gallery, photo_id: uuid.UUID, *, base_url: str, owner: bool, show_metadata: bool, **extra
) -> dict:
    photos = visible_photos(gallery, owner=owner)
    photo: Photo | None = photos.filter(pk=photo_id).first()
    if photo is None:
        raise Http404("No such photo.")
    after = Q(position__gt=photo.position) | Q(position=photo.position, created_at__gt=photo.created_at)
    before = Q(position__lt=photo.position) | Q(position=photo.position, created_at__lt=photo.created_at)
    return {
        "gallery": gallery,
        "base_url": base_url,
        "photo": photo,
        "pic": picture(photo, layout="single", eager=True, owner=owner, show_metadata=show_metadata),
        "can_edit": owner,
        "show_metadata": owner or show_metadata,
        "index": photos.filter(before).count(),
        "count": photos.count(),
        "previous_id": photos.filter(before).order_by("-position", "-created_at").values_list("id", flat=True).first(),
        "next_id": photos.filter(after).order_by("position", "created_at").values_list("id", flat=True).first(),
        **extra,
    }
