"""The project's URLs plus the baseline of bench/pages.py: the same 50 rows as plain JSON.

Not a bench: `make bench` skips files starting with "_".
"""

from __future__ import annotations

import uuid

from django.http import HttpRequest, JsonResponse
from django.urls import path

from config.urls import urlpatterns as project
from galleries.models import Photo

FIELDS = ("id", "position", "title", "alt", "asset__width", "asset__height", "asset__blurhash")


def baseline(request: HttpRequest, gallery_id: uuid.UUID) -> JsonResponse:
    rows = Photo.objects.filter(gallery_id=gallery_id).order_by("position", "created_at").values(*FIELDS)[:50]
    return JsonResponse(list(rows), safe=False)


urlpatterns = [path("bench/baseline/<uuid:gallery_id>", baseline, name="bench-baseline"), *project]
