import io
import threading
from datetime import timedelta

import pytest
from django.core.files.storage import default_storage
from django.utils import timezone
from PIL import Image, ImageCms, ImageFile

from conftest import make_image, png_header_only, stored_files
from galleries import services, tasks
from galleries.models import Asset, AssetKind, AssetStatus, Gallery, Variant
from galleries.storage import LocalMediaStorage
from galleries.tests.conftest import VARIANTS

pytestmark = pytest.mark.django_db

EXPECTED = {
    "thumbnail": (80, 80),
    "small": (300, 200),
    "medium": (800, 533),
    "large": (1620, 1080),
    "xlarge": (2400, 1600),  # the whole 2400x1600 picture: it fits the 2560x1600 box
}


def _asset_from_bytes(data: bytes, ext: str = "jpg", mime: str = "image/jpeg") -> Asset:
    """An asset stored directly, bypassing upload validation, as hostile files would be if they slipped in."""
    import hashlib

    sha = hashlib.sha256(data).hexdigest()
    asset = Asset.objects.create(sha256=sha, mime=mime, ext=ext, size=len(data), kind=AssetKind.IMAGE)
    default_storage.save(asset.original_key, io.BytesIO(data))
    return asset


def _jpeg(size=(2400, 1600), orientation=None, gps=False, mode="RGB", **save) -> bytes:
    img = Image.new(mode, size, (30, 60, 90) if mode == "RGB" else (10, 50, 90, 20))
    exif = Image.Exif()
    exif[0x010F] = "Canon"
    exif[0x0110] = "Canon EOS R5"
    if orientation:
        exif[0x0112] = orientation
    sub = exif.get_ifd(0x8769)
    sub[0x829D] = 2.8
    sub[0x829A] = 0.004
    sub[0x8827] = 400
    sub[0x920A] = 50.0
    sub[0x9003] = "2024:06:01 14:30:00"
    sub[0xA434] = "RF 50mm F1.2 L USM"
    if gps:
        g = exif.get_ifd(0x8825)
        g[1], g[2], g[3], g[4] = "N", (48.0, 51.0, 29.0), "E", (2.0, 17.0, 40.0)
    buf = io.BytesIO()
    img.save(buf, "JPEG", exif=exif.tobytes(), **save)
    return buf.getvalue()


def _variants(asset: Asset) -> dict[tuple[str, str], Variant]:
    return {(v.name, v.format): v for v in asset.variants.all()}


def _read(variant: Variant) -> Image.Image:
    img = Image.open(default_storage.open(variant.key))
    img.load()
    return img


def test_a_landscape_gets_every_variant_in_every_format(db):
    asset = _asset_from_bytes(_jpeg(gps=True))
    assert tasks.process_asset(asset.pk) == "ready"
    asset.refresh_from_db()
    assert asset.status == AssetStatus.READY and asset.error == ""
    variants = _variants(asset)
    # Thumbnails are WebP only (settings.IMAGE_VARIANT_SKIP): at 80x80 AVIF cannot match WebP; so is
    # xlarge, which only the lightbox's WebP srcset asks for.
    assert set(variants) == {(n, f) for n in EXPECTED for f in ("avif", "webp")} - {
        ("thumbnail", "avif"),
        ("xlarge", "avif"),
    }
    for (name, fmt), variant in variants.items():
        img = _read(variant)
        assert img.size == EXPECTED[name] == (variant.width, variant.height), (name, fmt)
        assert img.format == fmt.upper()
        assert variant.size == default_storage.size(variant.key)
        # No EXIF, GPS or XMP in any variant.
        assert not img.getexif(), (name, fmt)
        assert "xmp" not in img.info and "exif" not in img.info


def test_exif_is_sanitised_and_gps_kept_apart(db):
    asset = _asset_from_bytes(_jpeg(gps=True))
    tasks.process_asset(asset.pk)
    asset.refresh_from_db()
    assert asset.exif == {
        "camera": "Canon EOS R5",
        "lens": "RF 50mm F1.2 L USM",
        "focal_length": 50.0,
        "aperture": 2.8,
        "shutter": "1/250",
        "iso": 400,
        "taken_at": "2024-06-01T14:30:00",
    }
    assert asset.gps == {"latitude": pytest.approx(48.858, abs=1e-3), "longitude": pytest.approx(2.2944, abs=1e-3)}


def test_blurhash_is_made(db):
    asset = _asset_from_bytes(_jpeg())
    tasks.process_asset(asset.pk)
    asset.refresh_from_db()
    assert len(asset.blurhash) == 28  # 4x3 components


def test_never_upscales(db):
    asset = _asset_from_bytes(make_image("PNG", size=(120, 90)), "png", "image/png")
    tasks.process_asset(asset.pk)
    sizes = {(v.name, v.format): (v.width, v.height) for v in asset.variants.all()}
    assert sizes[("large", "webp")] == (120, 90)
    assert sizes[("small", "avif")] == (120, 90)
    assert sizes[("thumbnail", "webp")] == (80, 80) and ("thumbnail", "avif") not in sizes


@pytest.mark.parametrize("orientation", range(1, 9))
def test_all_eight_orientations_display_upright(db, orientation):
    # A picture whose top-left quarter is red, stored so that the orientation restores it.
    upright = Image.new("RGB", (400, 200), (0, 0, 255))
    upright.paste((255, 0, 0), (0, 0, 200, 100))
    inverse = {
        1: None,
        2: Image.Transpose.FLIP_LEFT_RIGHT,
        3: Image.Transpose.ROTATE_180,
        4: Image.Transpose.FLIP_TOP_BOTTOM,
        5: Image.Transpose.TRANSPOSE,
        6: Image.Transpose.ROTATE_90,
        7: Image.Transpose.TRANSVERSE,
        8: Image.Transpose.ROTATE_270,
    }[orientation]
    stored = upright.transpose(inverse) if inverse is not None else upright
    exif = Image.Exif()
    exif[0x0112] = orientation
    buf = io.BytesIO()
    stored.save(buf, "JPEG", exif=exif.tobytes(), quality=95)
    asset = _asset_from_bytes(buf.getvalue())
    tasks.process_asset(asset.pk)
    asset.refresh_from_db()
    assert (asset.width, asset.height) == (400, 200)
    large = _read(_variants(asset)[("large", "webp")]).convert("RGB")
    assert large.size == (400, 200)
    r, g, b = large.getpixel((50, 25))
    assert r > 200 and b < 60, (orientation, (r, g, b))
    r, g, b = large.getpixel((350, 150))
    assert b > 200 and r < 60


def test_cmyk_jpeg_becomes_srgb(db):
    data = io.BytesIO()
    Image.new("CMYK", (300, 200), (0, 255, 255, 0)).save(data, "JPEG")  # pure red ink
    asset = _asset_from_bytes(data.getvalue())
    assert tasks.process_asset(asset.pk) == "ready"
    img = _read(_variants(asset)[("small", "webp")])
    assert img.mode in ("RGB", "RGBA")
    r, g, b = img.convert("RGB").getpixel((10, 10))
    assert r > 200 and g < 80 and b < 80


def test_an_icc_profile_is_converted_to_srgb(db):
    profile = ImageCms.ImageCmsProfile(ImageCms.createProfile("LAB"))
    img = Image.new("RGB", (300, 200), (200, 30, 30))
    buf = io.BytesIO()
    srgb = ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB"))
    img.save(buf, "PNG", icc_profile=srgb.tobytes())
    assert profile  # a non-sRGB profile cannot be embedded in RGB; check the sRGB path round-trips
    asset = _asset_from_bytes(buf.getvalue(), "png", "image/png")
    assert tasks.process_asset(asset.pk) == "ready"
    out = _read(_variants(asset)[("small", "webp")]).convert("RGB")
    assert abs(out.getpixel((5, 5))[0] - 200) < 12


def test_16_bit_png(db):
    import numpy as np

    img = Image.fromarray(np.full((200, 300), 40000, dtype=np.uint16))
    assert img.mode == "I;16"
    buf = io.BytesIO()
    img.save(buf, "PNG")
    asset = _asset_from_bytes(buf.getvalue(), "png", "image/png")
    assert tasks.process_asset(asset.pk) == "ready"
    grey = _read(_variants(asset)[("small", "webp")]).convert("L").getpixel((5, 5))
    assert 140 < grey < 170  # 40000 / 65535 ≈ 61% → about 155


def test_palette_png_with_transparency_keeps_alpha(db):
    img = Image.new("P", (300, 200), 0)
    img.putpalette([255, 0, 0, 0, 255, 0] + [0] * 762)
    img.paste(1, (150, 0, 300, 200))
    buf = io.BytesIO()
    img.save(buf, "PNG", transparency=0)
    asset = _asset_from_bytes(buf.getvalue(), "png", "image/png")
    assert tasks.process_asset(asset.pk) == "ready"
    out = _read(_variants(asset)[("small", "webp")]).convert("RGBA")
    assert out.getpixel((10, 10))[3] == 0  # transparent half
    assert out.getpixel((290, 10))[3] == 255 and out.getpixel((290, 10))[1] > 200


def test_animated_gif_uses_the_first_frame(db):
    frames = [Image.new("RGB", (300, 200), c) for c in ((255, 0, 0), (0, 255, 0), (0, 0, 255))]
    buf = io.BytesIO()
    frames[0].save(buf, "GIF", save_all=True, append_images=frames[1:], duration=100, loop=0)
    asset = _asset_from_bytes(buf.getvalue(), "gif", "image/gif")
    assert tasks.process_asset(asset.pk) == "ready"
    r, g, _b = _read(_variants(asset)[("small", "webp")]).convert("RGB").getpixel((5, 5))
    assert r > 200 and g < 60


def test_heic(db):
    from pillow_heif import from_pillow

    buf = io.BytesIO()
    from_pillow(Image.new("RGB", (1000, 800), (10, 200, 30))).save(buf, quality=80)
    asset = _asset_from_bytes(buf.getvalue(), "heic", "image/heic")
    assert tasks.process_asset(asset.pk) == "ready"
    assert _variants(asset)[("medium", "avif")].width == 800


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (_jpeg()[:3000], "damaged or truncated"),
        (png_header_only(60_000, 60_000), "decompression bomb"),
        (b"", "not a supported image"),
        (bytes(range(256)) * 10, "not a supported image"),
        (b"\x89PNG\r\n\x1a\n<html><script>alert(1)</script></html>", "damaged"),
    ],
    ids=["truncated-jpeg", "bomb", "zero-bytes", "random", "png-then-html"],
)
def test_hostile_files_fail_for_good_with_a_clear_error_and_no_partial_variants(db, media_root, data, message):
    asset = _asset_from_bytes(data)
    assert tasks.process_asset(asset.pk) == "failed"
    asset.refresh_from_db()
    assert asset.status == AssetStatus.FAILED
    assert message in asset.error
    assert not asset.variants.exists()
    assert [f for f in stored_files(media_root) if f.startswith("variants/")] == []
    from django_q.models import Schedule

    assert not Schedule.objects.filter(func="galleries.tasks.process_asset").exists()  # no retry


def test_hostile_metadata_fails_softly_and_is_plain_text(db):
    exif = Image.Exif()
    exif[0x010F] = "<script>alert(1)</script>" + "A" * 5000
    exif[0x0110] = b"\xff\xfe\x00bad\x01bytes"
    buf = io.BytesIO()
    Image.new("RGB", (300, 200)).save(buf, "JPEG", exif=exif.tobytes())
    asset = _asset_from_bytes(buf.getvalue())
    assert tasks.process_asset(asset.pk) == "ready"
    asset.refresh_from_db()
    assert len(asset.exif.get("camera", "")) <= 130
    assert "\x00" not in str(asset.exif) and "\x01" not in str(asset.exif)


@pytest.mark.filterwarnings("ignore:Corrupt EXIF data")
def test_broken_exif_block_does_not_stop_processing(db):
    data = _jpeg()
    # Corrupt the EXIF IFD offsets: a looping/garbage IFD.
    start = data.find(b"Exif\x00\x00")
    mangled = data[: start + 14] + b"\xff" * 16 + data[start + 30 :]
    asset = _asset_from_bytes(mangled)
    assert tasks.process_asset(asset.pk) == "ready"


def test_running_twice_builds_nothing_new(db, media_root):
    asset = _asset_from_bytes(_jpeg())
    assert tasks.process_asset(asset.pk) == "ready"
    before = {v.pk: v.created_at for v in asset.variants.all()}
    files = stored_files(media_root)
    assert tasks.process_asset(asset.pk) == "skipped"
    assert {v.pk: v.created_at for v in asset.variants.all()} == before
    assert stored_files(media_root) == files


def test_only_missing_variants_are_built(db, monkeypatch):
    asset = _asset_from_bytes(_jpeg())
    tasks.process_asset(asset.pk)
    Variant.objects.filter(asset=asset, name="medium", format="avif").delete()
    Asset.objects.filter(pk=asset.pk).update(status=AssetStatus.PENDING)
    built = []
    real = tasks.imaging.process_image

    def spy(*args, **kwargs):
        result = real(*args, **kwargs)
        built.extend((r.name, r.format) for r in result.renditions)
        return result

    monkeypatch.setattr(tasks.imaging, "process_image", spy)
    assert tasks.process_asset(asset.pk) == "ready"
    assert built == [("medium", "avif")]
    assert asset.variants.count() == VARIANTS


def test_a_missing_asset_is_skipped(db):
    assert tasks.process_asset("00000000-0000-0000-0000-000000000000") == "skipped"


@pytest.mark.django_db(transaction=True)
def test_two_workers_racing_for_one_asset_process_it_once(media_root):
    from django.db import connection

    asset = _asset_from_bytes(_jpeg())
    barrier = threading.Barrier(2)
    results = []

    def work():
        try:
            barrier.wait()
            results.append(tasks.process_asset(asset.pk))
        finally:
            connection.close()

    threads = [threading.Thread(target=work) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(results) == ["ready", "skipped"]
    asset.refresh_from_db()
    assert asset.attempts == 1 and asset.variants.count() == VARIANTS


def test_a_transient_failure_is_retried_with_backoff_then_succeeds(db, monkeypatch, media_root):
    from django_q.models import Schedule

    asset = _asset_from_bytes(_jpeg())
    real_save = LocalMediaStorage.save
    calls = {"n": 0}

    def flaky_save(self, name, content, *a, **kw):
        calls["n"] += 1
        if calls["n"] == 3:
            raise OSError("disk briefly unavailable")
        return real_save(self, name, content, *a, **kw)

    monkeypatch.setattr(LocalMediaStorage, "save", flaky_save)
    assert tasks.process_asset(asset.pk) == "retrying"
    asset.refresh_from_db()
    assert asset.status == AssetStatus.PENDING and "temporary" in asset.error
    assert not asset.variants.exists()
    assert [f for f in stored_files(media_root) if f.startswith("variants/")] == []
    retry = Schedule.objects.get(func="galleries.tasks.process_asset")
    assert retry.next_run > timezone.now()
    assert tasks.process_asset(asset.pk) == "ready"
    asset.refresh_from_db()
    assert asset.status == AssetStatus.READY and asset.error == "" and asset.variants.count() == VARIANTS


def test_retries_are_bounded(db, monkeypatch, settings):
    settings.PROCESSING_MAX_ATTEMPTS = 2
    asset = _asset_from_bytes(_jpeg())

    def broken_save(*a, **kw):
        raise OSError("disk gone")

    monkeypatch.setattr(LocalMediaStorage, "save", broken_save)
    assert tasks.process_asset(asset.pk) == "retrying"
    assert tasks.process_asset(asset.pk) == "failed"
    asset.refresh_from_db()
    assert asset.status == AssetStatus.FAILED and "2 times" in asset.error


def test_the_sweep_requeues_assets_stuck_in_processing(db):
    asset = _asset_from_bytes(_jpeg())
    Asset.objects.filter(pk=asset.pk).update(
        status=AssetStatus.PROCESSING, processing_started_at=timezone.now() - timedelta(hours=1), attempts=1
    )
    fresh = _asset_from_bytes(_jpeg(size=(640, 480)))
    Asset.objects.filter(pk=fresh.pk).update(
        status=AssetStatus.PROCESSING, processing_started_at=timezone.now(), attempts=1
    )
    assert tasks.requeue_stuck_assets() == 1  # with sync tasks, the re-queued one is processed at once
    asset.refresh_from_db()
    fresh.refresh_from_db()
    assert asset.status == AssetStatus.READY
    assert fresh.status == AssetStatus.PROCESSING  # a worker is still on it
    assert tasks.requeue_stuck_assets() == 0


def test_the_sweep_gives_up_after_max_attempts(db, settings):
    asset = _asset_from_bytes(_jpeg())
    Asset.objects.filter(pk=asset.pk).update(
        status=AssetStatus.PROCESSING,
        processing_started_at=timezone.now() - timedelta(hours=1),
        attempts=settings.PROCESSING_MAX_ATTEMPTS,
    )
    tasks.requeue_stuck_assets()
    asset.refresh_from_db()
    assert asset.status == AssetStatus.FAILED and "never finished" in asset.error


def test_the_schedule_is_created_once(db):
    from django_q.models import Schedule

    from config.schedules import apply_schedules

    apply_schedules()
    apply_schedules()
    assert Schedule.objects.filter(name="requeue stuck assets").count() == 1


def test_a_new_upload_is_processed_on_commit(gallery, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        photo, _ = services.photo_add(gallery=gallery, file=io.BytesIO(_jpeg()), filename="x.jpg")
    photo.asset.refresh_from_db()
    assert photo.asset.status == AssetStatus.READY


def test_reprocess_through_the_api(alice, bob, api_for, photo, media_root):
    tasks.process_asset(photo.asset_id)
    Variant.objects.filter(asset=photo.asset).delete()
    assert api_for(bob).post(f"/api/v1/photos/{photo.pk}/reprocess").status_code == 404
    assert api_for().post(f"/api/v1/photos/{photo.pk}/reprocess").status_code == 401
    response = api_for(alice).post(f"/api/v1/photos/{photo.pk}/reprocess")
    assert response.status_code == 202
    photo.asset.refresh_from_db()
    assert photo.asset.status in (AssetStatus.PENDING, AssetStatus.READY)


def test_reprocess_while_processing_is_409(alice, api_for, photo):
    Asset.objects.filter(pk=photo.asset_id).update(status=AssetStatus.PROCESSING)
    response = api_for(alice).post(f"/api/v1/photos/{photo.pk}/reprocess")
    assert response.status_code == 409 and "processed right now" in response.json()["detail"]


def test_forced_reprocess_rebuilds_everything(db, django_capture_on_commit_callbacks):
    asset = _asset_from_bytes(_jpeg())
    tasks.process_asset(asset.pk)
    before = set(asset.variants.values_list("pk", flat=True))
    with django_capture_on_commit_callbacks(execute=True):
        services.asset_reprocess(asset=asset)
    asset.refresh_from_db()
    assert asset.status == AssetStatus.READY
    after = set(asset.variants.values_list("pk", flat=True))
    assert len(after) == VARIANTS and not before & after


def test_gps_is_shown_to_the_owner_only(alice, api_for, gallery):
    photo, _ = services.photo_add(gallery=gallery, file=io.BytesIO(_jpeg(gps=True)), filename="g.jpg")
    tasks.process_asset(photo.asset_id)
    assert api_for(alice).get(f"/api/v1/photos/{photo.pk}").json()["gps"]["latitude"] == pytest.approx(48.858, abs=1e-3)
    assert api_for().get(f"/api/v1/photos/{photo.pk}").json()["gps"] is None


def test_rebuild_variants_command(gallery, add_photo, capsys):
    from django.core.management import call_command

    a, _b = add_photo(gallery), add_photo(gallery)
    tasks.process_asset(a.asset_id)
    call_command("rebuild_variants", "--gallery", gallery.slug)
    out = capsys.readouterr()
    assert "1 assets" in out.out and "1 ready" in out.out
    assert "[" in out.err and "1/1" in out.err
    call_command("rebuild_variants", "--missing")
    assert "nothing to do" in capsys.readouterr().out
    call_command("rebuild_variants", "--force")
    assert "2 assets" in capsys.readouterr().out and Variant.objects.count() == 2 * VARIANTS


def test_rebuild_variants_unknown_gallery():
    from django.core.management import CommandError, call_command

    with pytest.raises(CommandError, match="No gallery"):
        call_command("rebuild_variants", "--gallery", "nope")


def test_admin_shows_status_previews_and_reprocesses(
    admin_user, alice, client_for, photo, django_capture_on_commit_callbacks
):
    tasks.process_asset(photo.asset_id)
    c = client_for(alice)
    listing = c.get("/admin/galleries/photo/").content.decode()
    assert "Ready" in listing
    detail = c.get(f"/admin/galleries/photo/{photo.pk}/change/").content.decode()
    assert "thumbnail · WEBP · 80×80" in detail and "large · AVIF" in detail
    with django_capture_on_commit_callbacks(execute=True):
        response = c.post(
            "/admin/galleries/photo/",
            {"action": "reprocess_selected", "_selected_action": [str(photo.pk)]},
            follow=True,
        )
    assert "Queued 1 photo for processing" in response.content.decode()
    assert client_for(admin_user).get(f"/admin/galleries/asset/{photo.asset_id}/change/").status_code == 200


# --- Issue 9: true sizes, deletion while processing, recovery after a crash ---------------------


def test_a_camera_photo_reports_its_full_size_before_and_after_processing(alice, api_for, gallery):
    photo, _ = services.photo_add(gallery=gallery, file=io.BytesIO(_jpeg(size=(6000, 4000))), filename="big.jpg")
    api = api_for(alice)
    pending = api.get(f"/api/v1/photos/{photo.pk}").json()
    assert (pending["status"], pending["width"], pending["height"]) == ("pending", 6000, 4000)
    assert tasks.process_asset(photo.asset_id) == "ready"
    ready = api.get(f"/api/v1/photos/{photo.pk}").json()
    assert (ready["status"], ready["width"], ready["height"], ready["aspect_ratio"]) == ("ready", 6000, 4000, 1.5)
    large = {(v["name"], v["format"]): (v["width"], v["height"]) for v in ready["variants"]}[("large", "webp")]
    assert large == (1620, 1080)


def _repair_migration():
    import importlib

    return importlib.import_module("galleries.migrations.0004_repair_asset_sizes")


def test_the_repair_migration_gives_ready_assets_their_originals_size_from_the_header(db):
    from django.apps import apps

    rotated = _asset_from_bytes(_jpeg(size=(6000, 4000), orientation=6))
    plain = _asset_from_bytes(_jpeg(size=(3240, 2160)))
    missing = _asset_from_bytes(_jpeg(size=(3000, 2000)))
    pending = _asset_from_bytes(_jpeg(size=(4000, 3000)))
    png = _asset_from_bytes(make_image("PNG", size=(3300, 2200)), "png", "image/png")
    # What processing stored before the fix: the size JPEG draft had decoded at.
    Asset.objects.filter(pk=rotated.pk).update(status=AssetStatus.READY, width=2000, height=3000)
    Asset.objects.filter(pk=plain.pk).update(status=AssetStatus.READY, width=1620, height=1080)
    Asset.objects.filter(pk=missing.pk).update(status=AssetStatus.READY, width=1500, height=1000)
    Asset.objects.filter(pk=pending.pk).update(width=4000, height=3000)
    Asset.objects.filter(pk=png.pk).update(status=AssetStatus.READY, width=1650, height=1100)
    default_storage.delete(missing.original_key)
    decoded = []
    real_load = ImageFile.ImageFile.load

    def spy_load(self):
        decoded.append(self.size)  # load() decodes the pixels; the repair must not
        return real_load(self)

    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(ImageFile.ImageFile, "load", spy_load)
        _repair_migration().repair_asset_sizes(apps, None)
    sizes = {a.pk: (a.width, a.height) for a in Asset.objects.all()}
    assert sizes[rotated.pk] == (4000, 6000)  # orientation 6: displayed upright
    assert sizes[plain.pk] == (3240, 2160)
    assert sizes[missing.pk] == (1500, 1000)  # no original to read: left as it was
    assert sizes[pending.pk] == (4000, 3000)
    assert sizes[png.pk] == (3300, 2200)
    assert decoded == []


def test_on_s3_the_repair_migration_reads_only_the_head_of_each_original(db, s3_storage, monkeypatch):
    from django.apps import apps
    from storages.backends.s3 import S3File

    asset = _asset_from_bytes(_jpeg(size=(6000, 4000), orientation=6))
    Asset.objects.filter(pk=asset.pk).update(status=AssetStatus.READY, width=2000, height=3000)
    downloads = []
    real_get_file = S3File._get_file
    monkeypatch.setattr(S3File, "_get_file", lambda self: downloads.append(self.name) or real_get_file(self))
    _repair_migration().repair_asset_sizes(apps, None)
    asset.refresh_from_db()
    assert (asset.width, asset.height) == (4000, 6000)
    assert downloads == []  # a ranged GET of the first bytes, not a download of the whole file


def _defer_processing(monkeypatch) -> None:
    """Uploads queue their processing as usual, but the test runs it by hand."""
    monkeypatch.setattr(services, "asset_enqueue_processing", lambda **kwargs: None)


def _files_of(media_root, sha256: str) -> list[str]:
    return [f for f in stored_files(media_root) if sha256 in f]


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("moment", ["after-encoding", "while-writing-variants", "right-after-the-claim"])
def test_a_photo_deleted_while_its_asset_is_processed_leaves_nothing_and_is_not_retried(
    alice, api_for, gallery, media_root, monkeypatch, caplog, moment
):
    import logging

    from django_q.models import Schedule

    _defer_processing(monkeypatch)
    photo, _ = services.photo_add(gallery=gallery, file=io.BytesIO(_jpeg()), filename="gone.jpg")
    sha = photo.asset.sha256

    def delete_the_photo():
        assert api_for(alice).delete(f"/api/v1/photos/{photo.pk}").status_code == 204

    if moment == "after-encoding":
        real = tasks.imaging.process_image

        def encode_then_delete(*args, **kwargs):
            result = real(*args, **kwargs)
            delete_the_photo()
            return result

        monkeypatch.setattr(tasks.imaging, "process_image", encode_then_delete)
    elif moment == "while-writing-variants":
        real_save = LocalMediaStorage.save
        saved = []

        def save_then_delete(self, name, content, *args, **kwargs):
            key = real_save(self, name, content, *args, **kwargs)
            saved.append(key)
            if len(saved) == 3:
                delete_the_photo()
            return key

        monkeypatch.setattr(LocalMediaStorage, "save", save_then_delete)
    else:
        real_claim = tasks._claim

        def claim_then_delete(*args, **kwargs):
            claimed = real_claim(*args, **kwargs)
            delete_the_photo()
            return claimed

        monkeypatch.setattr(tasks, "_claim", claim_then_delete)

    with caplog.at_level(logging.INFO):
        assert tasks.process_asset(photo.asset_id) == "gone"
    assert not Asset.objects.filter(sha256=sha).exists()
    assert not Variant.objects.exists()
    assert _files_of(media_root, sha) == []  # no variant, no original
    assert not Schedule.objects.filter(func="galleries.tasks.process_asset").exists()  # no retry
    assert [r.getMessage() for r in caplog.records if r.levelno >= logging.WARNING] == []


def _enqueue_for_real(asset_id, *, taken_ago: timedelta | None = None, force: bool = False):
    """Put a process_asset task in the ORM broker as the web process does; optionally mark it as
    taken by a cluster `taken_ago` (the broker locks a taken task until then + retry)."""
    from django_q.conf import Conf
    from django_q.models import OrmQ
    from django_q.tasks import async_task

    args = (str(asset_id), True) if force else (str(asset_id),)
    async_task("galleries.tasks.process_asset", *args, sync=False)
    row = OrmQ.objects.order_by("-pk").first()
    if taken_ago is not None:
        OrmQ.objects.filter(pk=row.pk).update(lock=timezone.now() - taken_ago + timedelta(seconds=Conf.RETRY))
    return row.pk


def _run_the_queue() -> list[str]:
    """Deliver every task the broker hands out, as a restarted cluster would; their results."""
    import pydoc

    from django_q.brokers import get_broker
    from django_q.signing import SignedPackage

    broker, results = get_broker(), []
    while delivered := broker.dequeue():
        for ack_id, payload in delivered:
            task = SignedPackage.loads(payload)
            results.append(pydoc.locate(task["func"])(*task["args"], **task["kwargs"]))
            broker.acknowledge(ack_id)
    return results


def test_after_a_crash_the_sweep_puts_every_photo_back_on_its_way_at_once(db, settings):
    from django_q.models import OrmQ

    from galleries.tasks import enqueue_process_asset

    lease = settings.PROCESSING_LEASE
    now = timezone.now()
    just_past_the_lease = lease + timedelta(seconds=2)
    interrupted, prefetched, lost, in_line, due_for_retry, busy = (
        _asset_from_bytes(_jpeg(size=(640, 400 + n))) for n in range(6)
    )
    # Interrupted mid-way: still `processing`, the dead worker's lease lapsed, its task locked in the broker.
    Asset.objects.filter(pk=interrupted.pk).update(
        status=AssetStatus.PROCESSING, attempts=1, processing_started_at=now - just_past_the_lease,
        claim_expires_at=now - timedelta(seconds=1),
    )  # fmt: skip
    _enqueue_for_real(interrupted.pk, taken_ago=just_past_the_lease)
    # Taken from the broker by the dead cluster but never started.
    _enqueue_for_real(prefetched.pk, taken_ago=just_past_the_lease)
    # A task that is nowhere (a Redis worker's, lost with it).
    # Waiting in line, and waiting for a scheduled retry: both will run without help.
    _enqueue_for_real(in_line.pk)
    enqueue_process_asset(due_for_retry.pk, delay=timedelta(minutes=1))
    # Another worker is on this one right now.
    Asset.objects.filter(pk=busy.pk).update(
        status=AssetStatus.PROCESSING, attempts=1, processing_started_at=now, claim_expires_at=now + lease
    )
    Asset.objects.filter(status=AssetStatus.PENDING).update(updated_at=now - timedelta(minutes=2))

    assert tasks.requeue_stuck_assets() == 3  # interrupted, prefetched, lost (the lost one runs at once here)
    assert OrmQ.objects.count() == 3  # released, not duplicated: interrupted, prefetched, in line
    assert sorted(_run_the_queue()) == ["ready", "ready", "ready"]
    status = dict(Asset.objects.values_list("pk", "status"))
    assert [status[a.pk] for a in (interrupted, prefetched, lost, in_line)] == [AssetStatus.READY] * 4
    assert status[due_for_retry.pk] == AssetStatus.PENDING and status[busy.pk] == AssetStatus.PROCESSING
    assert tasks.requeue_stuck_assets() == 0
    # An old task delivered once more (the broker's own retry) finds the work done.
    assert tasks.process_asset(interrupted.pk) == "skipped"
    interrupted.refresh_from_db()
    assert interrupted.attempts == 2 and interrupted.claim_expires_at is None


def test_a_task_taken_recently_or_a_pending_asset_in_line_is_left_alone(db):
    from django_q.models import OrmQ

    fresh = _asset_from_bytes(_jpeg())
    _enqueue_for_real(fresh.pk, taken_ago=timedelta(seconds=1))
    Asset.objects.filter(pk=fresh.pk).update(updated_at=timezone.now() - timedelta(hours=1))
    lock = OrmQ.objects.get().lock
    assert tasks.requeue_stuck_assets() == 0
    assert OrmQ.objects.get().lock == lock


def test_recovery_fits_in_two_minutes_by_configuration(settings):
    from config.schedules import SCHEDULES

    sweep = next(s for s in SCHEDULES if s["func"] == "galleries.tasks.requeue_stuck_assets")
    # A lapsed lease is seen by the next sweep; what is left of two minutes is for the work itself.
    assert settings.PROCESSING_LEASE + timedelta(minutes=sweep["minutes"]) <= timedelta(seconds=90)
    assert settings.Q_CLUSTER["retry"] > settings.Q_CLUSTER["timeout"]


@pytest.mark.django_db(transaction=True)
def test_a_long_job_keeps_its_lease_so_the_sweep_leaves_it_alone(settings, monkeypatch):
    import time

    settings.PROCESSING_LEASE = timedelta(seconds=0.6)
    asset = _asset_from_bytes(_jpeg())
    real = tasks.imaging.process_image
    seen = {}

    def slow(*args, **kwargs):
        time.sleep(1.5)  # more than two leases: only the renewals keep the claim
        seen["requeued"] = tasks.requeue_stuck_assets()
        seen["at"] = timezone.now()
        seen["claim"] = Asset.objects.values_list("status", "claim_expires_at").get(pk=asset.pk)
        return real(*args, **kwargs)

    monkeypatch.setattr(tasks.imaging, "process_image", slow)
    assert tasks.process_asset(asset.pk) == "ready"
    assert seen["requeued"] == 0
    status, expires = seen["claim"]
    assert status == AssetStatus.PROCESSING and expires > seen["at"]  # renewed, not the first 0.6 s
    asset.refresh_from_db()
    assert asset.attempts == 1 and asset.claim_expires_at is None


def test_with_the_redis_broker_a_task_lost_with_its_worker_is_queued_again(db, redis_server, monkeypatch):
    import redis
    from django_q.conf import Conf
    from django_q.tasks import async_task

    url = redis_server.rsplit("/", 1)[0] + "/5"  # a database of its own (throttle tests use 0)
    queue = redis.Redis.from_url(url)
    queue.flushdb()
    monkeypatch.setattr(Conf, "ORM", None)
    monkeypatch.setattr(Conf, "BROKER_CLASS", None)  # the settings name config.queue's ORM broker when no Redis
    monkeypatch.setattr(Conf, "REDIS", url)
    in_line, lost = _asset_from_bytes(_jpeg(size=(640, 400))), _asset_from_bytes(_jpeg(size=(640, 401)))
    async_task("galleries.tasks.process_asset", str(in_line.pk), sync=False)
    # lost's task was taken off the list by a worker that was then killed: it is nowhere.
    Asset.objects.update(updated_at=timezone.now() - timedelta(minutes=2))
    assert queue.llen("django_q:contactsheet:q") == 1

    assert tasks.requeue_stuck_assets() == 1  # queued again (and, with sync tasks here, processed)
    status = dict(Asset.objects.values_list("pk", "status"))
    assert status[lost.pk] == AssetStatus.READY
    assert status[in_line.pk] == AssetStatus.PENDING  # its task is still in line: not duplicated
    assert queue.llen("django_q:contactsheet:q") == 1
    queue.flushdb()


@pytest.mark.skipif(not __import__("shutil").which("ffmpeg"), reason="ffmpeg is not installed")
def test_a_4k_video_keeps_its_size_once_processed_and_the_migration_repairs_old_ones(alice, api_for, gallery):
    from django.apps import apps

    from galleries.tests.test_video import make_video

    photo, _ = services.photo_add(
        gallery=gallery, file=io.BytesIO(make_video(seconds=0.5, size="3840x2160")), filename="4k.mp4"
    )
    assert tasks.process_asset(photo.asset_id) == "ready"  # the poster frame is drafted at 1/2
    shown = api_for(alice).get(f"/api/v1/photos/{photo.pk}").json()
    assert (shown["width"], shown["height"]) == (3840, 2160)
    Asset.objects.filter(pk=photo.asset_id).update(width=1920, height=1080)  # as stored before the fix
    _repair_migration().repair_asset_sizes(apps, None)
    photo.asset.refresh_from_db()
    assert (photo.asset.width, photo.asset.height) == (3840, 2160)


def test_rebuild_variants_refreshes_visitors_pages_and_skips_busy_assets(gallery, add_photo, capsys):
    from django.core.management import call_command

    busy, idle = add_photo(gallery), add_photo(gallery)
    Asset.objects.filter(pk=busy.asset_id).update(status=AssetStatus.PROCESSING)
    version = Gallery.objects.get(pk=gallery.pk).content_version
    call_command("rebuild_variants", "--force", "--gallery", gallery.slug)
    assert "1 ready, 1 skipped" in capsys.readouterr().out
    assert Asset.objects.get(pk=busy.asset_id).status == AssetStatus.PROCESSING  # left to its worker
    assert Asset.objects.get(pk=idle.asset_id).status == AssetStatus.READY
    # The same service as the API: visitors' cached pages stop pointing at the old variants.
    assert Gallery.objects.get(pk=gallery.pk).content_version > version
