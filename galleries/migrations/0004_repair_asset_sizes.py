"""Processing (issue 9): the claim lease on assets, and the true size of every processed photo.

Processing used to store the size of the picture it decoded, which JPEG draft decoding had reduced
to 1/2, 1/4 or 1/8, so ready photos over about 3240×2160 reported a fraction of their size. The
original's header (read without decoding a pixel) gives the true size back, turned as displayed.
"""

import io
import logging

from django.db import migrations, models

log = logging.getLogger(__name__)

_SWAPS_AXES = {5, 6, 7, 8}  # EXIF orientations that turn the picture on its side
_HEAD_BYTES = 1 << 20  # enough for the header of any photo; otherwise the whole file is read


def _image_size(fileobj):
    import warnings

    from PIL import Image

    try:
        from pillow_heif import register_heif_opener

        register_heif_opener()
    except ImportError:
        pass
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", Image.DecompressionBombWarning)  # only the header is read
        with Image.open(fileobj) as img:
            width, height = img.size
            if img.format == "PNG" and "exif" not in img.info:
                orientation = 1  # a PNG's getexif() would decode every pixel to look further
            else:
                try:
                    orientation = int(img.getexif().get(0x0112, 1))
                except Exception:  # noqa: BLE001 - broken EXIF means no orientation, as in processing
                    orientation = 1
    return (height, width) if orientation in _SWAPS_AXES else (width, height)


def _image_size_of(original):
    """From the first bytes only when the storage is S3 (a ranged GET, not a download of the file)."""
    obj = getattr(original, "obj", None)  # storages.backends.s3.S3File
    if obj is not None:
        head = obj.get(Range=f"bytes=0-{_HEAD_BYTES - 1}")["Body"].read()
        try:
            return _image_size(io.BytesIO(head))
        except Exception:  # noqa: BLE001, S110 - a header longer than that: read the whole file below
            pass
    return _image_size(original)


def _video_size(fileobj, ext):
    from galleries import video

    if not video.ffmpeg_available():
        return None
    info = video.probe(fileobj, ext)
    return info.width, info.height


def repair_asset_sizes(apps, schema_editor):
    """Set width and height of ready assets to their original's true displayed size."""
    from django.core.files.storage import default_storage

    Asset = apps.get_model("galleries", "Asset")
    repaired = 0
    for asset in Asset.objects.filter(status="ready").only("pk", "sha256", "ext", "kind", "width", "height").iterator():
        key = f"originals/{asset.sha256[:2]}/{asset.sha256[2:4]}/{asset.sha256}.{asset.ext}"
        try:
            with default_storage.open(key, "rb") as original:
                size = _video_size(original, asset.ext) if asset.kind == "video" else _image_size_of(original)
        except Exception as exc:  # noqa: BLE001 - a missing or unreadable original keeps its stored size
            log.warning("asset %s: size not repaired (%s: %s)", asset.pk, type(exc).__name__, exc)
            continue
        if size and size != (asset.width, asset.height):
            Asset.objects.filter(pk=asset.pk).update(width=size[0], height=size[1])
            repaired += 1
    if repaired:
        log.info("repaired the size of %d assets", repaired)


class Migration(migrations.Migration):
    dependencies = [("galleries", "0003_gallery_content_version")]

    operations = [
        migrations.AddField(
            model_name="asset",
            name="claim_expires_at",
            field=models.DateTimeField(blank=True, editable=False, null=True),
        ),
        migrations.RunPython(repair_asset_sizes, migrations.RunPython.noop, elidable=True),
    ]
