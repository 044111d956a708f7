from __future__ import annotations

import uuid

from django.core.paginator import Paginator
from django.db.models import Q
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, render
from django.views.decorators.vary import vary_on_headers

from galleries.models import AssetStatus, Gallery, Layout, Photo
from galleries.presenters import picture, pictures

PAGE_SIZE = 50
EAGER_ON_FIRST_PAGE = 8  # roughly the first screen on a large display


def _get_gallery_for_user(request: HttpRequest, slug: str) -> Gallery:
    return get_object_or_404(Gallery.objects.visible_to(request.user), slug=slug)


def _can_edit(request: HttpRequest, gallery: Gallery) -> bool:
    if not request.user.is_authenticated:
        return False
    return request.user.is_superuser or gallery.owner_id == request.user.pk


def _photos_for(gallery: Gallery, can_edit: bool):
    photos = gallery.photos.with_media()
    if not can_edit:
        photos = photos.exclude(asset__status=AssetStatus.FAILED)
    return photos


def gallery_index(request: HttpRequest) -> HttpResponse:
    galleries = list(Gallery.objects.public().with_photo_count().with_cover_id().order_by("-created_at"))
    covers = Photo.objects.with_media().in_bulk([g.cover_photo_id for g in galleries if g.cover_photo_id])
    cards = []
    for i, gallery in enumerate(galleries):
        cover = covers.get(gallery.cover_photo_id)
        cards.append({"gallery": gallery, "cover": picture(cover, layout="card", eager=i < 3) if cover else None})
    return render(request, "galleries/gallery_index.html", {"cards": cards})


@vary_on_headers("HX-Request", "HX-Target")
def gallery_detail(request: HttpRequest, slug: str) -> HttpResponse:
    """A gallery in one of its layouts; HTMX gets just the layout or just the next page."""
    gallery = _get_gallery_for_user(request, slug)
    can_edit = _can_edit(request, gallery)
    layout = request.GET.get("layout", "")
    if layout not in Layout.values:
        layout = gallery.default_layout
    page = Paginator(_photos_for(gallery, can_edit), PAGE_SIZE).get_page(request.GET.get("page"))
    eager = EAGER_ON_FIRST_PAGE if page.number == 1 else 0
    context = {
        "gallery": gallery,
        "page": page,
        "pictures": pictures(list(page.object_list), layout=layout, eager_count=eager, owner=can_edit),
        "can_edit": can_edit,
        "photo_count": page.paginator.count,
        "layout": layout,
        "layouts": Layout.choices,
    }
    template = "galleries/gallery_detail.html"
    if request.htmx:
        fragment = "gallery-content" if request.htmx.target == "gallery-content" else "photo-page"
        template = f"{template}#{fragment}"
    return render(request, template, context)


def photo_detail(request: HttpRequest, slug: str, photo_id: uuid.UUID) -> HttpResponse:
    """One photo, usable without JavaScript: previous, next, back. The lightbox's deep link."""
    gallery = _get_gallery_for_user(request, slug)
    can_edit = _can_edit(request, gallery)
    photos = _photos_for(gallery, can_edit)
    photo: Photo = get_object_or_404(photos, pk=photo_id)
    after = Q(position__gt=photo.position) | Q(position=photo.position, created_at__gt=photo.created_at)
    before = Q(position__lt=photo.position) | Q(position=photo.position, created_at__lt=photo.created_at)
    previous = photos.filter(before).order_by("-position", "-created_at").values_list("id", flat=True).first()
    following = photos.filter(after).order_by("position", "created_at").values_list("id", flat=True).first()
    index = photos.filter(before).count()
    context = {
        "gallery": gallery,
        "photo": photo,
        "pic": picture(photo, layout="single", eager=True, owner=can_edit),
        "can_edit": can_edit,
        "index": index,
        "count": photos.count(),
        "previous_id": previous,
        "next_id": following,
    }
    return render(request, "galleries/photo_detail.html", context)
