"""issue 14 in the browser: the uploader skips what the gallery holds (SHA-256 in the page, the check
endpoint), and an import job's page follows the worker live and shows the report."""

from __future__ import annotations

import hashlib
import io
import zipfile
from pathlib import Path

import pytest

from conftest import make_image
from folders import tasks
from folders.models import ImportJob
from galleries import services as gallery_services
from galleries.models import Photo
from tests.browser.conftest import login
from tests.browser.test_admin_uploader import big_valid_jpeg
from uploads.models import Upload

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

SHOTS = Path("/tmp/shots/import")


def snap(page, name: str, **kwargs) -> None:
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / f"{name}.png"), **kwargs)


def accessible(page, axe) -> None:
    """No axe violation in the page's content; the offending elements named when there is one."""
    if axe(page, "#content-main"):
        nodes = page.evaluate(
            "axe.run('#content-main').then(r => r.violations.flatMap(v => v.nodes.map(n => v.id + ': ' + n.html)))"
        )
        raise AssertionError("\n".join(nodes))


PASSWORDS = {"alice": "alice-pass-123", "root": "root-pass-123"}  # the personas' (conftest.py)


def open_uploader(page, live_server, gallery, user: str = "alice") -> None:
    login(page, live_server, user, PASSWORDS[user])
    page.goto(f"{live_server.url}/admin/galleries/gallery/{gallery.pk}/upload/")
    page.wait_for_selector(".uppy-Dashboard-AddFiles")


def files_in_dashboard(page) -> list[str]:
    return page.eval_on_selector_all(".uppy-Dashboard-Item-name", "els => els.map(e => e.textContent.trim())")


def test_the_sha256_in_the_page_matches_pythons_both_ways(page, live_server, alice):
    """crypto.subtle in one go, and the page's own SHA-256 in 4 MB pieces, on lengths around every edge."""
    gallery = gallery_services.gallery_create(owner=alice, title="Drop")
    open_uploader(page, live_server, gallery)
    sizes = [0, 1, 55, 56, 63, 64, 65, 119, 120, 4 * 2**20 + 3, 9 * 2**20 + 64]
    sums = page.evaluate(
        """async (sizes) => {
          const out = [];
          for (const n of sizes) {
            const bytes = new Uint8Array(n);
            for (let i = 0; i < n; i++) bytes[i] = (i * 31 + 7) % 251;
            const blob = new Blob([bytes]);
            out.push([await csSha256Of(blob, Infinity), await csSha256Of(blob, 0)]);
          }
          return out;
        }""",
        sizes,
    )
    for n, (whole, pieces) in zip(sizes, sums, strict=True):
        expected = hashlib.sha256(bytes((i * 31 + 7) % 251 for i in range(n))).hexdigest()
        assert (whole, pieces) == (expected, expected), n


def test_files_the_gallery_holds_are_skipped_and_the_page_says_how_many(page, live_server, alice, tmp_path, axe):
    gallery = gallery_services.gallery_create(owner=alice, title="Wedding drop")
    files = []
    for n in range(5):
        data = make_image("JPEG", size=(64, 48), colour=(n * 40, 120, 60))
        path = tmp_path / f"IMG_{n}.jpg"
        path.write_bytes(data)
        files.append(path)
        if n < 2:  # two of the five are in the gallery already
            gallery_services.photo_add(gallery=gallery, file=io.BytesIO(data), filename=path.name)
    checks = []
    page.on("request", lambda r: checks.append(r) if r.url.endswith("/photos/check") else None)
    open_uploader(page, live_server, gallery)
    page.set_input_files(".uppy-Dashboard-input >> nth=0", [str(p) for p in files])

    status = page.locator("#cs-upload-check")
    status.get_by_text("2 of 5 already stored: not uploaded again. 3 to upload.").wait_for()
    assert sorted(files_in_dashboard(page)) == ["IMG_2.jpg", "IMG_3.jpg", "IMG_4.jpg"]
    assert len(checks) == 1 and checks[0].method == "POST"
    assert checks[0].headers.get("x-csrftoken")
    sent = checks[0].post_data_json["sha256"]
    assert sorted(sent) == sorted(hashlib.sha256(p.read_bytes()).hexdigest() for p in files)
    accessible(page, axe)
    snap(page, "uploader-already-stored")

    page.click(".uppy-StatusBar-actionBtn--upload")
    page.wait_for_function("() => document.querySelectorAll('.cs-upload-row.cs-ready').length === 3", timeout=60_000)
    assert sorted(Upload.objects.values_list("filename", flat=True)) == ["IMG_2.jpg", "IMG_3.jpg", "IMG_4.jpg"]
    assert Photo.objects.filter(gallery=gallery).count() == 5
    assert page.console_errors == []


def test_a_50mb_file_already_stored_is_hashed_in_the_page_and_not_sent(page, live_server, alice, tmp_path):
    gallery = gallery_services.gallery_create(owner=alice, title="Big")
    data = big_valid_jpeg(50 * 2**20)
    path = tmp_path / "IMG_5001.jpg"
    path.write_bytes(data)
    gallery_services.photo_add(gallery=gallery, file=io.BytesIO(data), filename=path.name)
    small = tmp_path / "new.jpg"
    small.write_bytes(make_image("JPEG", size=(40, 30)))
    open_uploader(page, live_server, gallery)
    page.set_input_files(".uppy-Dashboard-input >> nth=0", [str(path), str(small)])
    page.locator("#cs-upload-check").get_by_text("1 of 2 already stored: not uploaded again.").wait_for(timeout=60_000)
    assert files_in_dashboard(page) == ["new.jpg"]
    snap(page, "uploader-50mb-already-stored")


def test_upload_waits_for_the_check_and_then_sends_only_the_rest(page, live_server, alice, tmp_path):
    """Upload clicked at once: the preprocessor waits for the sums, the held file never goes up."""
    gallery = gallery_services.gallery_create(owner=alice, title="Quick")
    held = make_image("JPEG", size=(50, 40), colour=(1, 2, 3))
    gallery_services.photo_add(gallery=gallery, file=io.BytesIO(held), filename="held.jpg")
    (tmp_path / "held.jpg").write_bytes(held)
    (tmp_path / "fresh.jpg").write_bytes(make_image("JPEG", size=(50, 40), colour=(200, 2, 3)))

    def slow_check(route, request):
        page.wait_for_timeout(800)  # the check answers late: the click comes first
        route.continue_()

    page.route("**/photos/check", slow_check)
    open_uploader(page, live_server, gallery)
    page.set_input_files(".uppy-Dashboard-input >> nth=0", [str(tmp_path / "held.jpg"), str(tmp_path / "fresh.jpg")])
    page.click(".uppy-StatusBar-actionBtn--upload")
    page.wait_for_selector(".cs-upload-row.cs-ready", timeout=60_000)
    assert list(Upload.objects.values_list("filename", flat=True)) == ["fresh.jpg"]
    assert "1 of 2 already stored" in page.inner_text("#cs-upload-check")


def test_a_superuser_on_someone_elses_gallery_uploads_everything(page, live_server, alice, admin_user, tmp_path):
    """The check only ever answers the owner (404 for anyone else): the uploader then sends every file."""
    gallery = gallery_services.gallery_create(owner=alice, title="Alice's")
    data = make_image("JPEG", size=(50, 40))
    gallery_services.photo_add(gallery=gallery, file=io.BytesIO(data), filename="a.jpg")
    (tmp_path / "a.jpg").write_bytes(data)
    open_uploader(page, live_server, gallery, "root")
    with page.expect_response("**/photos/check") as answer:
        page.set_input_files(".uppy-Dashboard-input >> nth=0", str(tmp_path / "a.jpg"))
    assert answer.value.status == 404
    assert files_in_dashboard(page) == ["a.jpg"]
    assert page.inner_text("#cs-upload-check") == ""


# --- The import job's page ---------------------------------------------------------------------------


def test_an_import_jobs_page_follows_the_worker_and_shows_the_report(page, live_server, alice, settings, tmp_path, axe):
    root = tmp_path / "in"
    (root / "June").mkdir(parents=True)
    settings.IMPORT_ROOTS = [str(root)]
    for n in range(3):
        (root / "June" / f"IMG_{n}.jpg").write_bytes(make_image("JPEG", size=(48, 32), colour=(n * 70, 10, 10)))
    (root / "June" / "contract.pdf").write_bytes(b"%PDF-1.4")
    gallery = gallery_services.gallery_create(owner=alice, title="June wedding")
    login(page, live_server, "alice", "alice-pass-123")
    page.goto(f"{live_server.url}/admin/galleries/gallery/{gallery.pk}/change/")
    snap(page, "gallery-page-tools")
    page.click("text=Import from a server folder")
    page.fill("#id_path", str(root / "nowhere"))
    page.click("input[value='Start the import']")
    page.get_by_text("is not a folder.").wait_for()
    accessible(page, axe)
    snap(page, "import-form-error", full_page=True)

    # Queued while no worker runs: the page waits and polls; the worker's run shows up by itself.
    job = ImportJob.objects.create(
        owner=alice, gallery=gallery, path=str(root / "June"), options={"picks_from_rating": 4}
    )
    page.goto(f"{live_server.url}/admin/galleries/gallery/{gallery.pk}/import/{job.pk}/")
    page.get_by_text("Waiting for the worker").first.wait_for()
    assert page.get_attribute("#job", "hx-trigger") == "every 1s"
    accessible(page, axe)
    snap(page, "import-job-queued", full_page=True)

    assert tasks.run_import_job(job.pk) == "done"
    page.wait_for_selector("#job[data-status='done']", timeout=10_000)
    assert page.get_attribute("#job", "hx-get") is None  # done: no more polling
    assert page.inner_text(".cs-count-new") == "3" and page.inner_text(".cs-count-refused") == "1"
    assert "contract.pdf" in page.inner_text(".cs-report-files")
    accessible(page, axe)
    snap(page, "import-job-done", full_page=True)
    page.emulate_media(color_scheme="dark")
    snap(page, "import-job-done-dark", full_page=True)
    # The refused path's form came back with 400 (bad input): the only error the console saw.
    assert page.console_errors == ["Failed to load resource: the server responded with a status of 400 (Bad Request)"]


def test_the_export_page_downloads_the_zip(page, live_server, alice, axe):
    gallery = gallery_services.gallery_create(owner=alice, title="Lake")
    data = make_image("JPEG", size=(64, 48))
    shot, _ = gallery_services.photo_add(gallery=gallery, file=io.BytesIO(data), filename="IMG_1.jpg")
    gallery_services.photo_update(photo=shot, title="Jetty")
    login(page, live_server, "alice", "alice-pass-123")
    page.goto(f"{live_server.url}/admin/galleries/gallery/{gallery.pk}/change/")
    page.click("#content-main >> text=Export")
    page.get_by_label("Originals (as uploaded)").wait_for()
    accessible(page, axe)
    snap(page, "export-page", full_page=True)
    with page.expect_download() as download:
        page.click("input[value='Download the ZIP']")
    assert download.value.suggested_filename == "Lake export.zip"
    with zipfile.ZipFile(download.value.path()) as archive:
        assert archive.namelist() == ["0001-Jetty.jpg", "manifest.json", "manifest.csv"]
        assert archive.read("0001-Jetty.jpg") == data
