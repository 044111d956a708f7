import io
import threading
from datetime import timedelta

import pytest
from django.core.files.storage import default_storage
from django.utils import timezone
from PIL import Image, ImageCms

from conftest import make_image, png_header_only, stored_files
from galleries import services, tasks
from galleries.models import Asset, AssetKind, AssetStatus, Variant
from galleries.storage import LocalMediaStorage

pytestmark = pytest.mark.django_db

EXPECTED = {
    "thumbnail": (80, 80),
    "small": (300, 200),
    "medium": (800, 533),
    "large": (1620, 1080),
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
    # Thumbnails are WebP only (settings.IMAGE_VARIANT_SKIP): at 80x80 AVIF cannot match WebP.
    assert set(variants) == {(n, f) for n in EXPECTED for f in ("avif", "webp")} - {("thumbnail", "avif")}
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
    assert asset.variants.count() == 7


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
    assert asset.attempts == 1 and asset.variants.count() == 7


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
    assert asset.status == AssetStatus.READY and asset.error == "" and asset.variants.count() == 7


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
    assert len(after) == 7 and not before & after


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
    assert "2 assets" in capsys.readouterr().out and Variant.objects.count() == 14


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
