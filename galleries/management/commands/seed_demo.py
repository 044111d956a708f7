from __future__ import annotations

import io
import secrets

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand
from django.db import transaction

from galleries import services
from galleries.demo import demo_jpeg
from galleries.models import Gallery, Layout, Visibility

TITLES = [
    "First light",
    "Harbour",
    "Meadow path",
    "Rose hour",
    "Blue night",
    "Dunes",
    "Ridge line",
    "Quiet water",
    "Long field",
    "Evening",
    "Night sky",
    "Sand and sun",
]


class Command(BaseCommand):
    help = "Create a demo admin and a public demo gallery with a dozen generated photos. Safe to run again."

    def add_arguments(self, parser) -> None:
        parser.add_argument("--username", default="admin")
        parser.add_argument("--photos", type=int, default=12)

    def handle(self, *args, username: str, photos: int, **options) -> None:
        User = get_user_model()
        user = User.objects.filter(username=username).first()
        if user is None:
            password = secrets.token_urlsafe(12)
            user = User.objects.create_superuser(username=username, email=f"{username}@example.com", password=password)
            self.stdout.write(self.style.SUCCESS("Demo admin created (shown once, keep it):"))
            self.stdout.write(f"    username: {username}\n    password: {password}")
        else:
            self.stdout.write(
                f"Demo admin “{username}” exists (reset with: python manage.py changepassword {username})."
            )

        gallery = Gallery.objects.filter(slug="demo").first()
        if gallery is None:
            with transaction.atomic():
                gallery = services.gallery_create(
                    owner=user,
                    title="Demo",
                    description="Generated landscapes in varied sizes and orientations.",
                    visibility=Visibility.PUBLIC,
                    default_layout=Layout.MASONRY,
                )
        added = 0
        for i in range(photos):
            orientation = 6 if i % 5 == 4 else 1
            data = demo_jpeg(i, orientation=orientation)
            photo, created = services.photo_add(
                gallery=gallery, file=io.BytesIO(data), filename=f"demo-{i + 1:02d}.jpg"
            )
            if created:
                services.photo_update(
                    photo=photo,
                    title=TITLES[i % len(TITLES)],
                    alt=f"Generated landscape: {TITLES[i % len(TITLES)].lower()}",
                )
                added += 1
        self.stdout.write(f"Demo gallery: /g/{gallery.slug}/ ({added} photos added, {gallery.photos.count()} in all).")
