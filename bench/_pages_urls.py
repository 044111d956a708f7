"""The project's URLs plus the like-for-like baseline of bench/pages.py (bench/_pages_baseline.py).

Not a bench: `make bench` skips files starting with "_".
"""

from __future__ import annotations

from django.urls import path

from bench._pages_baseline import gallery_page, photos_api
from config.urls import urlpatterns as project

urlpatterns = [
    path("bench/g/<slug:slug>/", gallery_page, name="bench-gallery-page"),
    path("bench/api/galleries/<uuid:gallery_id>/photos", photos_api, name="bench-photos-api"),
    *project,
]
