import hashlib

import pytest

from galleries import services as gallery_services
from galleries.models import AssetStatus, Photo
from tests.browser.conftest import login
from uploads.models import Upload, UploadStatus

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def big_valid_jpeg(size: int) -> bytes:
    """A real photo-like JPEG padded after its end marker to `size` bytes (decoders ignore trailing data).

    A landscape rather than noise: noise takes the variant encoders six times as long, for nothing
    this test looks at."""
    import os

    from galleries.demo import demo_jpeg

    data = demo_jpeg(0)
    return data + os.urandom(size - len(data))


def test_a_50mb_upload_interrupted_twice_finishes_and_verifies(
    page, live_server, alice, settings, tmp_path, shot, storage
):
    settings.UPLOAD_CHUNK_SIZE = 8 * 2**20
    gallery = gallery_services.gallery_create(owner=alice, title="Wedding drop")
    data = big_valid_jpeg(50 * 2**20)
    path = tmp_path / "IMG_5001.jpg"
    path.write_bytes(data)

    aborted = []

    def flaky(route, request):
        # Cut the connection on the 2nd and 4th PATCH: Uppy must resume from the server's offset.
        if request.method == "PATCH":
            flaky.count += 1
            if flaky.count in (2, 4):
                aborted.append(flaky.count)
                route.abort("connectionreset")
                if flaky.count == 4:  # the rest goes straight through: intercepted bodies are slow
                    page.unroute("**/api/v1/tus/**", flaky)
                return None
        return route.continue_()

    flaky.count = 0
    login(page, live_server, "alice", "alice-pass-123")
    page.route("**/api/v1/tus/**", flaky)
    page.goto(f"{live_server.url}/admin/galleries/gallery/{gallery.pk}/upload/")
    page.wait_for_selector(".uppy-Dashboard")
    page.set_input_files(".uppy-Dashboard-input >> nth=0", str(path))
    page.click(".uppy-StatusBar-actionBtn--upload")
    page.wait_for_selector(".cs-upload-row.cs-ready", timeout=120_000)
    shot(page, f"admin-uploader-50mb-resumed-{storage.kind}", full_page=True)

    assert aborted == [2, 4]
    upload = Upload.objects.get()
    assert upload.status == UploadStatus.COMPLETE
    photo = Photo.objects.get(gallery=gallery)
    assert photo.asset.sha256 == hashlib.sha256(data).hexdigest()
    assert photo.asset.status == AssetStatus.READY
    assert "IMG_5001.jpg" in page.inner_text("#upload-status")


def test_refused_files_show_the_servers_reason(page, live_server, alice, tmp_path, shot):
    gallery = gallery_services.gallery_create(owner=alice, title="Drop")
    bad = tmp_path / "drawing.jpg"
    bad.write_bytes(b'<svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script></svg>')
    login(page, live_server, "alice", "alice-pass-123")
    page.goto(f"{live_server.url}/admin/galleries/gallery/{gallery.pk}/upload/")
    page.wait_for_selector(".uppy-Dashboard")
    page.set_input_files(".uppy-Dashboard-input >> nth=0", str(bad))
    page.click(".uppy-StatusBar-actionBtn--upload")
    page.wait_for_selector("text=not a supported image", timeout=30_000)
    shot(page, "admin-uploader-refused")
    assert not Photo.objects.exists()


def test_the_uploader_page_loads_without_errors(page, live_server, alice, shot):
    gallery = gallery_services.gallery_create(owner=alice, title="Drop")
    login(page, live_server, "alice", "alice-pass-123")
    page.goto(f"{live_server.url}/admin/galleries/gallery/{gallery.pk}/upload/")
    page.wait_for_selector(".uppy-Dashboard-AddFiles")
    shot(page, "admin-uploader")
    assert page.console_errors == []
