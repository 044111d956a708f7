"""The field rule, walked through every door: who sees the content hash, the original file name,
EXIF, GPS and processing errors, in JSON, in pages, in download names, in ZIP entries and in the
bytes of originals. Every cell is a real request a person would make.
"""

from __future__ import annotations

import hashlib
import io
import re
import shutil
import subprocess
import zipfile
from dataclasses import dataclass

import pytest
from django.test import Client
from PIL import Image

from galleries import services as gallery_services
from galleries.models import Gallery, Visibility
from galleries.privacy import FieldRule
from galleries.tasks import process_asset
from sharing import services

pytestmark = pytest.mark.django_db

FILENAME = "SECRET-NAME-4242.jpg"
CAMERA = "SecretCam"
LAT = (37.0, 46.0, 45.678)  # 37.779355
GPS_MARK = "37.7793"


def camera_jpeg(*, colour: tuple[int, int, int] = (30, 60, 90)) -> bytes:
    """A real JPEG with a camera, a lens and a GPS position in its EXIF."""
    img = Image.new("RGB", (640, 480), colour)
    exif = Image.Exif()
    exif[0x010F] = CAMERA
    exif[0x0110] = "Model 9"
    sub = exif.get_ifd(0x8769)
    sub[0xA434] = "Lens 77mm"
    sub[0x9003] = "2024:06:01 14:30:00"
    gps = exif.get_ifd(0x8825)
    gps[1], gps[2], gps[3], gps[4] = "N", LAT, "W", (122.0, 25.0, 9.0)
    buf = io.BytesIO()
    img.save(buf, "JPEG", exif=exif.tobytes(), quality=90)
    return buf.getvalue()


def has_gps(data: bytes) -> bool:
    return bool(Image.open(io.BytesIO(data)).getexif().get_ifd(0x8825))


def camera_of(data: bytes) -> str | None:
    return Image.open(io.BytesIO(data)).getexif().get(0x010F)


@dataclass
class Shown:
    """What one answer revealed."""

    sha256: bool
    filename: bool
    exif: bool
    gps: bool

    @classmethod
    def in_text(cls, text: str, sha256: str) -> Shown:
        # Media URLs carry content-addressed storage keys, which the design accepts (CDN caching):
        # the hash counts as shown only outside a storage key.
        text = text.replace(f"/{sha256[:2]}/{sha256[2:4]}/{sha256}", "/<key>")
        return cls(sha256=sha256 in text, filename="SECRET-NAME" in text, exif=CAMERA in text, gps=GPS_MARK in text)


@pytest.fixture
def world(alice):
    """A gallery with one processed camera photo, and two links (with and without metadata)."""

    def make(visibility: str, *, gallery_metadata: bool = False):
        gallery = gallery_services.gallery_create(
            owner=alice, title="Family shoot", visibility=visibility, show_metadata=gallery_metadata
        )
        photo, _ = gallery_services.photo_add(gallery=gallery, file=io.BytesIO(camera_jpeg()), filename=FILENAME)
        process_asset(photo.asset_id)
        photo.refresh_from_db()
        plain = services.share_link_create(gallery=gallery, label="Plain", allow_download=True)
        meta = services.share_link_create(gallery=gallery, label="Meta", allow_download=True, show_metadata=True)
        return gallery, photo, plain, meta

    return make


def _text(response) -> str:
    body = b"".join(response.streaming_content) if response.streaming else response.content
    return body.decode("utf-8", "replace")


def _gallery_doors(c: Client, gallery: Gallery, photo) -> dict[str, str]:
    """The gallery's own doors: its page, a photo page, an HTMX fragment and the API."""
    out = {}
    for name, path, headers in [
        ("page", f"/g/{gallery.slug}/", {}),
        ("photo page", f"/g/{gallery.slug}/p/{photo.pk}/", {}),
        ("fragment", f"/g/{gallery.slug}/?page=1", {"HTTP_HX_REQUEST": "true", "HTTP_HX_TARGET": "x"}),
        ("api photos", f"/api/v1/galleries/{gallery.pk}/photos", {}),
        ("api photo", f"/api/v1/photos/{photo.pk}", {}),
        ("api gallery", f"/api/v1/galleries/{gallery.pk}", {}),
    ]:
        response = c.get(path, **headers)
        if response.status_code == 200:
            out[name] = _text(response)
    return out


def _link_doors(c: Client, link, photo) -> dict[str, str]:
    token = link.token
    out = {}
    for name, path, headers in [
        ("shared page", f"/s/{token}/", {}),
        ("shared photo page", f"/s/{token}/p/{photo.pk}/", {}),
        ("shared fragment", f"/s/{token}/?page=1", {"HTTP_HX_REQUEST": "true", "HTTP_HX_TARGET": "x"}),
        ("shared api", f"/api/v1/shared/{token}", {}),
    ]:
        response = c.get(path, **headers)
        assert response.status_code == 200, (name, response.status_code)
        out[name] = _text(response)
    download = c.get(f"/s/{token}/p/{photo.pk}/download")
    assert download.status_code == 200
    out["download name"] = download["Content-Disposition"]
    archive = zipfile.ZipFile(io.BytesIO(b"".join(c.get(f"/s/{token}/download.zip").streaming_content)))
    out["zip entries"] = " ".join(archive.namelist())
    return out


def _leaks(doors: dict[str, str], sha256: str, allowed: Shown) -> list[str]:
    """Every door that shows a field the rule does not allow this viewer."""
    failures = []
    for door, text in doors.items():
        got = Shown.in_text(text, sha256)
        for field in ("sha256", "filename", "exif", "gps"):
            if getattr(got, field) and not getattr(allowed, field):
                failures.append(f"{door} shows {field}")
    return failures


EVERYTHING = Shown(sha256=True, filename=True, exif=True, gps=True)
METADATA = Shown(sha256=False, filename=True, exif=True, gps=False)
NOTHING = Shown(sha256=False, filename=False, exif=False, gps=False)


@pytest.mark.parametrize("visibility", [Visibility.PUBLIC, Visibility.UNLISTED, Visibility.PRIVATE])
@pytest.mark.parametrize("gallery_metadata", [False, True], ids=["gallery-hides", "gallery-shows"])
def test_every_door_shows_each_viewer_only_what_the_field_rule_allows(
    world, alice, bob, admin_user, visibility, gallery_metadata
):
    gallery, photo, plain, meta = world(visibility, gallery_metadata=gallery_metadata)
    sha = photo.asset.sha256
    failures = []
    for who, user in [("owner", alice), ("admin", admin_user), ("other photographer", bob), ("anonymous", None)]:
        c = Client()
        if user is not None:
            c.force_login(user)
        doors = _gallery_doors(c, gallery, photo)
        if who in ("owner", "admin"):
            assert len(doors) == 6, (who, sorted(doors))
            allowed = EVERYTHING
            assert Shown.in_text(doors["api photo"], sha) == EVERYTHING
        else:
            reachable = visibility != Visibility.PRIVATE
            assert bool(doors) == reachable, (who, sorted(doors))
            # A photo id opens nothing of an unlisted gallery: links hand out photo ids.
            assert ("api photo" in doors) == (visibility == Visibility.PUBLIC)
            allowed = METADATA if gallery_metadata else NOTHING
            if reachable:
                assert Shown.in_text(doors["api photos"], sha) == allowed
                assert Shown.in_text(doors["photo page"], sha).exif == allowed.exif
        failures += [f"{who}: {f}" for f in _leaks(doors, sha, allowed)]
    # Through the links the link decides, never the gallery's own switch.
    plain_doors, meta_doors = _link_doors(Client(), plain, photo), _link_doors(Client(), meta, photo)
    failures += [f"plain link: {f}" for f in _leaks(plain_doors, sha, NOTHING)]
    failures += [f"metadata link: {f}" for f in _leaks(meta_doors, sha, METADATA)]
    assert Shown.in_text(meta_doors["shared api"], sha) == METADATA
    assert "SECRET-NAME" in meta_doors["download name"] and "SECRET-NAME" in meta_doors["zip entries"]
    assert not failures, "\n".join(failures)


def test_originals_reach_visitors_without_gps_and_the_owner_byte_identical(world, alice):
    _gallery, photo, plain, meta = world(Visibility.PUBLIC)
    original = camera_jpeg()
    assert has_gps(original)

    owner = Client()
    owner.force_login(alice)
    mine = b"".join(owner.get(f"/api/v1/photos/{photo.pk}/download").streaming_content)
    assert mine == original and hashlib.sha256(mine).hexdigest() == photo.asset.sha256

    for link in (plain, meta):
        c = Client()
        got = b"".join(c.get(f"/s/{link.token}/p/{photo.pk}/download").streaming_content)
        assert len(got) == len(original)
        assert not has_gps(got) and camera_of(got) == CAMERA  # the rest of the EXIF stays
        assert Image.open(io.BytesIO(got)).tobytes() == Image.open(io.BytesIO(original)).tobytes()
        archive = zipfile.ZipFile(io.BytesIO(b"".join(c.get(f"/s/{link.token}/download.zip").streaming_content)))
        (entry,) = archive.namelist()
        assert archive.read(entry) == got


def test_a_visitor_range_request_of_a_clean_original_gets_the_cleaned_bytes(world, alice):
    """Videos play from originals with Range requests; the cleaned file has the same length."""
    from galleries.media import original_url

    _gallery, photo, plain, _ = world(Visibility.PUBLIC)
    cleaned = b"".join(Client().get(f"/s/{plain.token}/p/{photo.pk}/download").streaming_content)
    url = original_url(photo.asset, rule=FieldRule.for_link(plain))
    assert "c=1" in url
    whole = b"".join(Client().get(url).streaming_content)
    assert whole == cleaned
    part = Client().get(url, HTTP_RANGE="bytes=10-4000")
    assert part.status_code == 206
    assert b"".join(part.streaming_content) == cleaned[10:4001]


def test_the_owner_original_url_is_not_cleaned(world):
    from galleries.media import original_url

    _, photo, _, _ = world(Visibility.PUBLIC)
    url = original_url(photo.asset, rule=FieldRule.for_owner())
    assert "c=1" not in url
    assert b"".join(Client().get(url).streaming_content) == camera_jpeg()


def test_a_locked_link_shows_a_neutral_lock_page(world):
    gallery, photo, plain, _ = world(Visibility.UNLISTED)
    services.share_link_update(link=plain, password="secret-pass")
    html = Client().get(f"/s/{plain.token}/").content.decode()
    assert "Password needed" in html
    for secret in (gallery.title, gallery.slug, "Plain", "alice", str(gallery.pk), str(photo.pk)):
        assert secret not in html, secret


def test_the_shared_json_never_names_the_gallery_address_or_id(world):
    gallery, _, plain, _ = world(Visibility.UNLISTED)
    body = Client().get(f"/api/v1/shared/{plain.token}").content.decode()
    assert gallery.slug not in body and str(gallery.pk) not in body
    assert Client().get(f"/api/v1/shared/{plain.token}").json()["gallery"]["url"].endswith(f"/s/{plain.token}/")


def test_shared_pages_never_name_the_gallery_address(world):
    gallery, photo, plain, _ = world(Visibility.UNLISTED)
    for path in (f"/s/{plain.token}/", f"/s/{plain.token}/p/{photo.pk}/"):
        html = Client().get(path).content.decode()
        assert gallery.slug not in html and f"/g/{gallery.slug}" not in html


# --- Unlisted addresses ------------------------------------------------------------------------


def test_an_unlisted_gallery_gets_an_address_that_its_title_does_not_give_away(alice, client):
    gallery = gallery_services.gallery_create(owner=alice, title="Smith wedding", visibility=Visibility.UNLISTED)
    assert re.fullmatch(r"smith-wedding-[a-z2-7]{13}", gallery.slug)
    assert client.get("/g/smith-wedding/").status_code == 404
    assert client.get(f"/g/{gallery.slug}/").status_code == 200
    other = gallery_services.gallery_create(owner=alice, title="Smith wedding", visibility=Visibility.UNLISTED)
    assert other.slug != gallery.slug


def test_a_public_gallery_made_unlisted_gets_a_new_address_and_the_old_one_stops(alice, api_for):
    gallery = gallery_services.gallery_create(owner=alice, title="Open day", visibility=Visibility.PUBLIC)
    assert gallery.slug == "open-day"
    response = api_for(alice).patch(f"/api/v1/galleries/{gallery.pk}", {"visibility": "unlisted"}, format="json")
    assert response.status_code == 200
    gallery.refresh_from_db()
    assert gallery.slug.startswith("open-day-") and response.json()["slug"] == gallery.slug
    assert Client().get("/g/open-day/").status_code == 404
    assert Client().get(f"/g/{gallery.slug}/").status_code == 200
    # Saving it again (still unlisted) keeps the address.
    gallery_services.gallery_update(gallery=gallery, description="Photos from the open day")
    assert Gallery.objects.get(pk=gallery.pk).slug == gallery.slug


def test_the_admin_making_a_gallery_unlisted_gives_it_a_secret_address(alice, client_for):
    gallery = gallery_services.gallery_create(owner=alice, title="Club night", visibility=Visibility.PRIVATE)
    c = client_for(alice)
    response = c.post(
        f"/admin/galleries/gallery/{gallery.pk}/change/",
        {
            "title": "Club night",
            "description": "",
            "visibility": "unlisted",
            "default_layout": "masonry",
            "photos-TOTAL_FORMS": "0",
            "photos-INITIAL_FORMS": "0",
            "share_links-TOTAL_FORMS": "0",
            "share_links-INITIAL_FORMS": "0",
        },
    )
    assert response.status_code == 302, response.content.decode()[:2000]
    gallery.refresh_from_db()
    assert gallery.visibility == "unlisted" and re.fullmatch(r"club-night-[a-z2-7]{13}", gallery.slug)


def test_the_migration_gives_existing_unlisted_galleries_a_secret_address(alice):
    from importlib import import_module

    from django.apps import apps

    gallery = gallery_services.gallery_create(owner=alice, title="Old unlisted", visibility=Visibility.PRIVATE)
    Gallery.objects.filter(pk=gallery.pk).update(visibility=Visibility.UNLISTED)  # as before the fix
    public = gallery_services.gallery_create(owner=alice, title="Old public", visibility=Visibility.PUBLIC)
    migration = import_module("galleries.migrations.0005_privacy")
    migration.secret_slugs_for_unlisted(apps, None)
    assert re.fullmatch(r"old-unlisted-[a-z2-7]{13}", Gallery.objects.get(pk=gallery.pk).slug)
    assert Gallery.objects.get(pk=public.pk).slug == "old-public"


# --- Link-bound media URLs ---------------------------------------------------------------------


def _first_variant_url(html: str) -> str:
    start = html.find("/media/variants/")
    return html[start : html.find('"', start)].split(" ")[0].replace("&amp;", "&")


@pytest.mark.parametrize("close", ["revoke", "expire", "password", "delete", "trash"])
def test_media_urls_issued_through_a_link_stop_when_the_link_closes(world, close):
    from datetime import timedelta

    from django.utils import timezone

    gallery, _photo, plain, _ = world(Visibility.PRIVATE)
    c = Client()
    url = _first_variant_url(c.get(f"/s/{plain.token}/").content.decode())
    assert f"l={plain.pk}" in url
    assert c.get(url).status_code == 200
    if close == "revoke":
        services.share_link_revoke(link=plain)
    elif close == "expire":
        services.share_link_update(link=plain, expires_at=timezone.now() - timedelta(seconds=1))
    elif close == "password":
        services.share_link_update(link=plain, password="new-pass")
    elif close == "delete":
        plain.delete()
    else:
        gallery_services.gallery_trash(gallery=gallery)
    assert c.get(url).status_code in (403, 410)


def test_a_link_bound_url_cannot_be_moved_to_another_link(world):
    _, _, plain, meta = world(Visibility.PRIVATE)
    url = _first_variant_url(Client().get(f"/s/{plain.token}/").content.decode())
    assert Client().get(url.replace(f"l={plain.pk}", f"l={meta.pk}")).status_code == 403
    assert Client().get(re.sub(r"&l=[0-9a-f-]+", "", url)).status_code == 403


def test_link_issued_presigned_urls_on_s3_are_short_lived(settings):
    from datetime import timedelta

    from galleries.media import media_ttl

    settings.USE_S3 = True
    settings.SHARE_MEDIA_URL_TTL = timedelta(minutes=5)
    assert media_ttl(link_bound=True) == 300
    assert media_ttl(link_bound=False) == int(settings.MEDIA_URL_TTL.total_seconds())
    settings.USE_S3 = False
    assert media_ttl(link_bound=True) == int(settings.MEDIA_URL_TTL.total_seconds())


# --- The rule itself ---------------------------------------------------------------------------


def test_the_rule_hides_errors_and_hashes_from_everyone_but_the_owner(world, alice):
    from galleries.models import Asset

    _, photo, plain, meta = world(Visibility.PUBLIC)
    Asset.objects.filter(pk=photo.asset_id).update(error="SECRET-ERROR disk on fire")
    asset = Asset.objects.get(pk=photo.asset_id)
    owner, visitor, via_meta = FieldRule.for_owner(), FieldRule(), FieldRule.for_link(meta)
    assert owner.error(asset) == "SECRET-ERROR disk on fire" and owner.sha256(asset) == asset.sha256
    for rule in (visitor, via_meta, FieldRule.for_link(plain)):
        assert rule.error(asset) is None and rule.sha256(asset) is None and rule.gps(asset) is None
    assert via_meta.exif(asset)["camera"].startswith(CAMERA) and visitor.exif(asset) is None


@pytest.mark.skipif(not shutil.which("ffmpeg"), reason="ffmpeg is not installed")
def test_a_phone_video_plays_for_visitors_without_its_location(alice, tmp_path):
    """A MOV with an Apple location tag: the owner's file keeps it, the link's player gets none."""
    clip = tmp_path / "clip.mov"
    subprocess.run(
        ["ffmpeg", "-v", "error", "-f", "lavfi", "-i", "testsrc=duration=1:size=160x120:rate=10",
         "-c:v", "libx264", "-pix_fmt", "yuv420p", "-metadata", "location=+37.7793-122.4192/",
         "-movflags", "+use_metadata_tags", str(clip)],
        check=True, capture_output=True, timeout=60,
    )  # fmt: skip
    data = clip.read_bytes()
    assert b"+37.7793" in data
    gallery = gallery_services.gallery_create(owner=alice, title="Clips", visibility=Visibility.PRIVATE)
    photo, _ = gallery_services.photo_add(gallery=gallery, file=io.BytesIO(data), filename="IMG_0001.MOV")
    process_asset(photo.asset_id)
    link = services.share_link_create(gallery=gallery, allow_download=True)
    html = Client().get(f"/s/{link.token}/p/{photo.pk}/").content.decode()
    match = re.search(r'/media/originals/[^"]+', html)
    assert match, "the shared photo page plays the video from a media URL"
    played = b"".join(Client().get(match.group(0).replace("&amp;", "&")).streaming_content)
    assert len(played) == len(data) and b"+37.7793" not in played
    probe = subprocess.run(
        ["ffprobe", "-v", "error", "-show_entries", "format_tags:stream=codec_name", "-of", "json", "-"],
        input=played, capture_output=True, check=True, timeout=60,
    )  # fmt: skip
    assert "37.7793" not in probe.stdout.decode() and '"codec_name": "h264"' in probe.stdout.decode()


def test_where_the_location_cannot_be_removed_visitors_get_the_large_rendition(world, alice, monkeypatch):
    from galleries import location
    from galleries.models import Asset

    def refuse(fileobj, kind):
        raise location.LocationNotRemovable("damaged")

    monkeypatch.setattr(location, "location_patches", refuse)
    _, photo, plain, _ = world(Visibility.PUBLIC)
    Asset.objects.filter(pk=photo.asset_id).update(location_patches=None)
    large = photo.asset.variants.get(name="large", format="webp")
    from django.core.files.storage import default_storage

    rendition = default_storage.open(large.key).read()
    c = Client()
    download = c.get(f"/s/{plain.token}/p/{photo.pk}/download")
    assert download.status_code == 200 and download["Content-Type"] == "image/webp"
    assert download["Content-Disposition"].endswith('.webp"') or ".webp" in download["Content-Disposition"]
    assert b"".join(download.streaming_content) == rendition
    archive = zipfile.ZipFile(io.BytesIO(b"".join(c.get(f"/s/{plain.token}/download.zip").streaming_content)))
    (entry,) = archive.namelist()
    assert entry.endswith(".webp") and archive.read(entry) == rendition
    # The owner still gets the original, as uploaded.
    owner = Client()
    owner.force_login(alice)
    assert b"".join(owner.get(f"/api/v1/photos/{photo.pk}/download").streaming_content) == camera_jpeg()


def test_processing_works_out_the_location_patches_once(world):
    from galleries import location

    _, photo, _, _ = world(Visibility.PUBLIC)
    photo.asset.refresh_from_db()
    stored = photo.asset.location_patches
    assert isinstance(stored, list) and stored, "the worker recorded how to clean the original"
    original = camera_jpeg()
    assert stored == [[o, d.hex()] for o, d in location.location_patches(io.BytesIO(original), "jpeg")]
