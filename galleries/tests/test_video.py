import io
import shutil
import subprocess

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from config.exceptions import InvalidInput, TooLarge, UnsupportedType
from conftest import stored_files
from galleries import services, tasks, video
from galleries.models import Asset, AssetKind, AssetStatus

pytestmark = pytest.mark.django_db
needs_ffmpeg = pytest.mark.skipif(not shutil.which("ffmpeg"), reason="ffmpeg is not installed")


def make_video(fmt: str = "mp4", seconds: float = 2.0, size: str = "320x240") -> bytes:
    """A real clip made by ffmpeg's test source, in a seekable file so every container is complete."""
    import tempfile
    from pathlib import Path

    codec = {"mp4": ["-c:v", "libx264", "-pix_fmt", "yuv420p"], "mov": ["-c:v", "libx264", "-pix_fmt", "yuv420p"],
             "webm": ["-c:v", "libvpx-vp9", "-b:v", "200k", "-deadline", "realtime"]}[fmt]  # fmt: skip
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / f"clip.{fmt}"
        subprocess.run(
            ["ffmpeg", "-v", "error", "-f", "lavfi", "-i", f"testsrc=duration={seconds}:size={size}:rate=10", *codec,
             str(out)],
            capture_output=True, check=True, timeout=60,
        )  # fmt: skip
        return out.read_bytes()


@needs_ffmpeg
@pytest.mark.parametrize(("fmt", "mime"), [("mp4", "video/mp4"), ("mov", "video/quicktime"), ("webm", "video/webm")])
def test_videos_are_accepted_and_get_a_poster(gallery, fmt, mime, django_capture_on_commit_callbacks):
    data = make_video(fmt)
    with django_capture_on_commit_callbacks(execute=True):
        photo, _ = services.photo_add(gallery=gallery, file=io.BytesIO(data), filename=f"clip.{fmt}")
    asset = Asset.objects.get(pk=photo.asset_id)
    assert (asset.kind, asset.mime, asset.ext) == (AssetKind.VIDEO, mime, fmt)
    assert asset.duration == pytest.approx(2.0, abs=0.3)
    assert asset.status == AssetStatus.READY, asset.error
    assert (asset.width, asset.height) == (320, 240)
    assert asset.variants.filter(name="small", format="webp").get().width == 300
    assert asset.blurhash


@needs_ffmpeg
def test_video_page_plays_the_original(client, gallery):
    photo, _ = services.photo_add(gallery=gallery, file=io.BytesIO(make_video("mp4")), filename="clip.mp4")
    tasks.process_asset(photo.asset_id)
    html = client.get(f"/g/{gallery.slug}/p/{photo.pk}/").content.decode()
    assert "<video" in html and 'type="video/mp4"' in html and "originals/" in html


@needs_ffmpeg
def test_videos_have_their_own_size_limit(gallery, settings):
    settings.MAX_UPLOAD_SIZE = 10  # images only
    data = make_video("mp4")
    services.photo_add(gallery=gallery, file=io.BytesIO(data), filename="clip.mp4")
    settings.MAX_VIDEO_SIZE = 100
    with pytest.raises(TooLarge, match="the limit for videos"):
        services.photo_add(gallery=gallery, file=io.BytesIO(make_video("webm")), filename="c.webm")


@needs_ffmpeg
def test_a_fake_video_is_refused(gallery, media_root):
    fake = b"\x00\x00\x00\x18ftypmp42" + b"\x00" * 500
    with pytest.raises(InvalidInput, match="not really a video"):
        services.photo_add(gallery=gallery, file=io.BytesIO(fake), filename="x.mp4")
    assert stored_files(media_root) == []


def test_without_ffmpeg_a_video_is_refused_clearly(gallery, monkeypatch, media_root):
    monkeypatch.setattr(video.shutil, "which", lambda name: None)
    with pytest.raises(UnsupportedType, match="need ffmpeg"):
        services.photo_add(
            gallery=gallery, file=io.BytesIO(b"\x00\x00\x00\x18ftypisom" + b"\x00" * 100), filename="x.mp4"
        )
    assert stored_files(media_root) == [] and not Asset.objects.exists()


@needs_ffmpeg
def test_video_upload_through_the_api_and_range_requests(alice, api_for, client, gallery):
    data = make_video("mp4")
    response = api_for(alice).post(
        f"/api/v1/galleries/{gallery.pk}/photos",
        {"files": [SimpleUploadedFile("c.mp4", data, "video/mp4")]},
        format="multipart",
    )
    assert response.status_code == 201, response.content
    assert response.json()[0]["photo"]["kind"] == "video"
    from galleries.media import media_url

    asset = Asset.objects.get()
    url = media_url(asset.original_key)
    partial = client.get(url, HTTP_RANGE="bytes=10-19")
    assert partial.status_code == 206
    assert partial["Content-Range"] == f"bytes 10-19/{len(data)}"
    assert b"".join(partial.streaming_content) == data[10:20]
    tail = client.get(url, HTTP_RANGE="bytes=-5")
    assert b"".join(tail.streaming_content) == data[-5:]
    assert client.get(url, HTTP_RANGE=f"bytes={len(data) + 5}-").status_code == 416
    full = client.get(url)
    assert full.status_code == 200 and full["Accept-Ranges"] == "bytes"


def test_sniffing_videos():
    assert video.sniff(b"\x00\x00\x00\x18ftypisom") == "mp4"
    assert video.sniff(b"\x00\x00\x00\x14ftypqt  ") == "mov"
    assert video.sniff(b"\x1a\x45\xdf\xa3\x01") == "webm"
    assert video.sniff(b"\x00\x00\x00\x1cftypavif") is None
    assert video.sniff(b"GIF89a") is None
