"""Privacy (issue 9): visitors' metadata switch on galleries, location patches on assets, and
unguessable addresses for unlisted galleries (existing ones get a new one here)."""

import base64
import secrets

from django.db import migrations, models
from django.utils.text import slugify


def secret_slugs_for_unlisted(apps, schema_editor):
    Gallery = apps.get_model("galleries", "Gallery")
    for gallery in Gallery.objects.filter(visibility="unlisted").only("pk", "title", "slug"):
        for _ in range(5):
            base = slugify(gallery.title)[:60].strip("-") or "gallery"
            slug = f"{base}-{base64.b32encode(secrets.token_bytes(8)).decode().rstrip('=').lower()}"
            if not Gallery.objects.filter(slug=slug).exists():
                break
        Gallery.objects.filter(pk=gallery.pk).update(slug=slug)


class Migration(migrations.Migration):
    dependencies = [("galleries", "0004_repair_asset_sizes")]

    operations = [
        migrations.AddField(
            model_name="gallery",
            name="show_metadata",
            field=models.BooleanField(
                default=False,
                help_text="Show visitors of the gallery's page the camera details (EXIF) and original file names. "
                "Location is never shown. Share links have their own switch.",
                verbose_name="show camera details",
            ),
        ),
        migrations.AddField(
            model_name="asset",
            name="location_patches",
            field=models.JSONField(blank=True, editable=False, null=True),
        ),
        migrations.RunPython(secret_slugs_for_unlisted, migrations.RunPython.noop),
    ]
