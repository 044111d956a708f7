from __future__ import annotations

import uuid

from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, render
from django.views.decorators.vary import vary_on_headers

from galleries.models import AssetStatus, Gallery, Photo

PAGE_SIZE = 60


def _get_gallery_for_user(request: HttpRequest, slug: str) -> Gallery:
    return get_object_or_404(Gallery.objects.visible_to(request.user).select_related("owner"), slug=slug)


def _can_edit(request: HttpRequest, gallery: Gallery) -> bool:
    return Gallery.objects.editable_by(request.user).filter(pk=gallery.pk).exists()


def _photos_for(gallery: Gallery, can_edit: bool):
    photos = gallery.photos.with_media()
    if not can_edit:
        photos = photos.exclude(asset__status=AssetStatus.FAILED)
    return photos


def gallery_index(request: HttpRequest) -> HttpResponse:
    galleries = list(Gallery.objects.public().with_photo_count().with_cover_id().order_by("-created_at"))
    covers = Photo.objects.with_media().in_bulk([g.cover_photo_id for g in galleries if g.cover_photo_id])
    for gallery in galleries:
        gallery.cover_shown = covers.get(gallery.cover_photo_id)
    return render(request, "galleries/gallery_index.html", {"galleries": galleries})


@vary_on_headers("HX-Request")
def gallery_detail(request: HttpRequest, slug: str) -> HttpResponse:
    gallery = _get_gallery_for_user(request, slug)
    can_edit = _can_edit(request, gallery)
    page = Paginator(_photos_for(gallery, can_edit), PAGE_SIZE).get_page(request.GET.get("page"))
    context = {"gallery": gallery, "page": page, "can_edit": can_edit, "photo_count": page.paginator.count}
    template = "galleries/gallery_detail.html#photo-grid" if request.htmx else "galleries/gallery_detail.html"
    return render(request, template, context)


def photo_detail(request: HttpRequest, slug: str, photo_id: uuid.UUID) -> HttpResponse:
    gallery = _get_gallery_for_user(request, slug)
    can_edit = _can_edit(request, gallery)
    photos = _photos_for(gallery, can_edit)
    photo: Photo = get_object_or_404(photos, pk=photo_id)
    ids = list(photos.values_list("id", flat=True))
    index = ids.index(photo.id)
    context = {
        "gallery": gallery,
        "photo": photo,
        "can_edit": can_edit,
        "index": index,
        "count": len(ids),
        "previous_id": ids[index - 1] if index > 0 else None,
        "next_id": ids[index + 1] if index + 1 < len(ids) else None,
    }
    return render(request, "galleries/photo_detail.html", context)
