"""The admin's "Import from a server folder": a form, a background job, its live progress and its report."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest
from django.utils import timezone

from folders import services as folder_services
from folders import tasks
from folders.models import ImportedFile, ImportJob, ImportJobStatus
from folders.tests.conftest import photo
from galleries import services as gallery_services
from galleries.models import Gallery, Photo

pytestmark = pytest.mark.django_db


def form_url(gallery) -> str:
    return f"/admin/galleries/gallery/{gallery.pk}/import/"


def job_url(job) -> str:
    return f"/admin/galleries/gallery/{job.gallery_id}/import/{job.pk}/"


def fill(root: Path, count: int = 3) -> list[bytes]:
    return [photo(root / f"shoot/IMG_{n}.jpg", colour=(n * 50, 90, 20)) for n in range(count)]


def start(client, gallery, path, **options):
    data = {"path": str(path), "into": "gallery", **options}
    return client.post(form_url(gallery), data)


@pytest.fixture
def wedding(alice, make_gallery) -> Gallery:
    return make_gallery(alice, title="Wedding")


# --- The way in -------------------------------------------------------------------------------------


def test_the_gallery_page_links_to_import_and_export(wedding, alice, client_for):
    page = client_for(alice).get(f"/admin/galleries/gallery/{wedding.pk}/change/").content.decode()
    assert f'href="{form_url(wedding)}">Import from a server folder</a>' in page
    assert f'href="/admin/galleries/gallery/{wedding.pk}/export/">Export</a>' in page


def test_the_form_names_the_allowed_folders_and_suggests_those_inside(import_root, wedding, alice, client_for):
    (import_root / "2026-06 Wedding").mkdir()
    response = client_for(alice).get(form_url(wedding))
    page = response.content.decode()
    assert response.status_code == 200
    assert f"<code>{import_root}</code>" in page
    assert f'<option value="{import_root}/2026-06 Wedding">' in page


def test_without_import_roots_the_page_says_imports_are_switched_off(settings, wedding, alice, client_for, tmp_path):
    settings.IMPORT_ROOTS = []
    client = client_for(alice)
    assert "Importing from server folders is switched off" in client.get(form_url(wedding)).content.decode()
    response = start(client, wedding, tmp_path)
    assert response.status_code == 400
    assert not ImportJob.objects.exists()


# --- A job from start to report ----------------------------------------------------------------------


def test_submitting_queues_a_job_that_imports_and_reports(
    import_root, wedding, alice, client_for, django_capture_on_commit_callbacks
):
    fill(import_root)
    (import_root / "shoot" / "notes.pdf").write_bytes(b"%PDF-1.4 not a photo")
    client = client_for(alice)
    with django_capture_on_commit_callbacks(execute=True):  # the task runs after commit (synchronously here)
        response = start(client, wedding, import_root / "shoot")

    job = ImportJob.objects.get()
    assert response.status_code == 302 and response["Location"] == job_url(job)
    assert (job.owner, job.gallery, job.path, job.status) == (alice, wedding, str(import_root / "shoot"), "done")
    assert (job.files_total, job.files_done) == (4, 4)
    assert job.bytes_done == job.bytes_total == sum(p.stat().st_size for p in (import_root / "shoot").iterdir())
    assert job.started_at and job.finished_at and job.report["counts"]["new"] == 3
    assert Photo.objects.filter(gallery=wedding).count() == 3

    page = client.get(job_url(job)).content.decode()
    assert 'data-status="done"' in page and "hx-get" not in page  # finished: the page stops polling
    assert "Done" in page and "Run this import again" in page
    assert '<td class="cs-count-new">3</td>' in page and '<td class="cs-count-refused">1</td>' in page
    assert "<code>notes.pdf</code>" in page and "not a supported image" in page
    assert "<code>IMG_0.jpg</code>" in page


def test_a_second_run_adds_nothing_and_says_so(
    import_root, wedding, alice, client_for, django_capture_on_commit_callbacks
):
    fill(import_root, 2)
    client = client_for(alice)
    with django_capture_on_commit_callbacks(execute=True):
        start(client, wedding, import_root)
    with django_capture_on_commit_callbacks(execute=True):
        start(client, wedding, import_root)
    second = ImportJob.objects.order_by("created_at").last()
    assert second.report["counts"]["unchanged"] == 2 and second.report["hashed"] == 0
    assert "Nothing new: nothing was added." in client.get(job_url(second)).content.decode()
    assert Photo.objects.count() == 2


def test_the_options_reach_the_import(import_root, wedding, alice, client_for, django_capture_on_commit_callbacks):
    fill(import_root, 2)
    client = client_for(alice)
    with django_capture_on_commit_callbacks(execute=True):
        start(client, wedding, import_root, dry_run="on")
    job = ImportJob.objects.get()
    assert job.options["dry_run"] is True and job.report["dry_run"] is True
    assert job.report["counts"]["new"] == 2 and not Photo.objects.exists()
    assert "Dry run: nothing is changed." in client.get(job_url(job)).content.decode()

    with django_capture_on_commit_callbacks(execute=True):
        start(client, wedding, import_root)
    (import_root / "shoot" / "IMG_0.jpg").unlink()
    with django_capture_on_commit_callbacks(execute=True):
        start(client, wedding, import_root, delete_missing="on")
    last = ImportJob.objects.order_by("created_at").last()
    assert last.report["counts"]["removed"] == 1 and Photo.objects.count() == 1


def test_folders_as_galleries_makes_galleries_for_the_gallerys_owner(
    import_root, wedding, alice, admin_user, client_for, django_capture_on_commit_callbacks
):
    photo(import_root / "Ceremony" / "a.jpg")
    photo(import_root / "Party" / "b.jpg", colour=(5, 5, 5))
    with django_capture_on_commit_callbacks(execute=True):
        response = client_for(admin_user).post(form_url(wedding), {"path": str(import_root), "into": "folders"})
    assert response.status_code == 302
    made = Gallery.objects.exclude(pk=wedding.pk)
    assert sorted(made.values_list("title", flat=True)) == ["Ceremony", "Party"]
    assert set(made.values_list("owner__username", flat=True)) == {"alice"}  # not the superuser who clicked
    assert not wedding.photos.exists()


def test_the_page_shows_progress_while_the_job_runs(
    import_root, wedding, alice, client_for, django_capture_on_commit_callbacks, monkeypatch
):
    """While the worker is at the second file, the job row says how far it is, and the page polls it."""
    fill(import_root, 3)
    client = client_for(alice)
    monkeypatch.setattr(folder_services, "PROGRESS_EVERY", 0)
    seen = []
    real_add = gallery_services.photos_add

    def add_and_look(**kwargs):
        job = ImportJob.objects.get()
        seen.append((job.status, job.files_done, job.files_total, job.stage))
        if len(seen) == 2:
            fragment = client.get(job_url(job), headers={"HX-Request": "true"})
            seen.append(fragment.content.decode())
        return real_add(**kwargs)

    monkeypatch.setattr(gallery_services, "photos_add", add_and_look)
    with django_capture_on_commit_callbacks(execute=True):
        start(client, wedding, import_root)

    assert seen[:2] == [("running", 0, 3, "Importing files…"), ("running", 1, 3, "Importing files…")]
    fragment = seen[2]
    assert fragment.strip().startswith('<div id="job"')  # the fragment alone, not the page
    assert f'hx-get="{job_url(ImportJob.objects.get())}" hx-trigger="every 1s"' in fragment
    assert '<progress id="job-progress" max="100"' in fragment and "1 of 3 files" in fragment


def test_a_queued_job_shows_it_waits_and_polls(import_root, wedding, alice, client_for):
    fill(import_root, 1)
    client = client_for(alice)
    start(client, wedding, import_root)  # not committed: the task is not run
    job = ImportJob.objects.get()
    assert job.status == "queued"
    fragment = client.get(job_url(job), headers={"HX-Request": "true"}).content.decode()
    assert "Waiting for the worker" in fragment and 'hx-trigger="every 1s"' in fragment
    assert "<html" not in fragment and "No worker has started this import yet" not in fragment
    ImportJob.objects.filter(pk=job.pk).update(created_at=timezone.now() - timedelta(minutes=2))
    fragment = client.get(job_url(job), headers={"HX-Request": "true"}).content.decode()
    assert "No worker has started this import yet" in fragment and "every 1s" in fragment  # still waiting


def test_a_folder_gone_before_the_worker_starts_fails_the_job_with_the_reason(
    import_root, wedding, alice, client_for, django_capture_on_commit_callbacks
):
    fill(import_root, 1)
    client = client_for(alice)
    start(client, wedding, import_root / "shoot")
    job = ImportJob.objects.get()
    for item in (import_root / "shoot").iterdir():
        item.unlink()
    (import_root / "shoot").rmdir()
    assert tasks.run_import_job(job.pk) == "failed"
    job.refresh_from_db()
    assert job.status == "failed" and "is not a folder" in job.error
    page = client.get(job_url(job)).content.decode()
    assert "is not a folder" in page and "Failed" in page and "hx-get" not in page


def test_an_unexpected_error_fails_the_job_and_does_not_escape(import_root, wedding, alice, client_for, monkeypatch):
    fill(import_root, 1)
    start(client_for(alice), wedding, import_root)
    monkeypatch.setattr(folder_services.scan, "walk", lambda *a, **k: 1 / 0)
    job = ImportJob.objects.get()
    assert tasks.run_import_job(job.pk) == "failed"
    job.refresh_from_db()
    assert "ZeroDivisionError" in job.error and job.finished_at is not None


# --- Killed workers, second deliveries, running again ------------------------------------------------


def test_the_task_runs_a_job_once_a_second_delivery_is_a_no_op(import_root, wedding, alice, client_for):
    fill(import_root, 1)
    start(client_for(alice), wedding, import_root)
    job = ImportJob.objects.get()
    assert tasks.run_import_job(job.pk) == "done"
    assert tasks.run_import_job(job.pk) == "skipped"
    assert tasks.run_import_job("3f8e54a4-7a5e-4b55-9a0d-6d0d6c0f0c4e") == "gone"
    assert Photo.objects.count() == 1


def test_a_job_whose_worker_died_shows_as_stopped_and_runs_again_where_it_stopped(
    import_root, wedding, alice, client_for, django_capture_on_commit_callbacks
):
    fill(import_root, 3)
    client = client_for(alice)
    # The worker died after the first file: one photo is in, the job says running, its heartbeat stopped.
    folder_services.folder_import(path=import_root / "shoot" / "..", gallery=wedding, progress=None)
    first = ImportedFile.objects.order_by("relative_path").first()
    ImportedFile.objects.exclude(pk=first.pk).delete()
    Photo.objects.exclude(pk=first.photo_id).delete()
    job = ImportJob.objects.create(
        owner=alice, gallery=wedding, path=str(import_root), options={}, status=ImportJobStatus.RUNNING,
        files_total=3, files_done=1, started_at=timezone.now() - timedelta(minutes=5),
        heartbeat_at=timezone.now() - timedelta(minutes=2),
    )  # fmt: skip
    assert job.is_stale

    page = client.get(job_url(job)).content.decode()
    assert 'data-status="stale"' in page and "The worker stopped working on this import" in page
    assert "hx-get" not in page  # nothing will change: no more polling

    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(job_url(job) + "again/")
    again = ImportJob.objects.exclude(pk=job.pk).get()
    assert response["Location"] == job_url(again)
    assert again.status == "done" and again.report["counts"] == {**again.report["counts"], "new": 2, "unchanged": 1}
    assert Photo.objects.filter(gallery=wedding).count() == 3


def test_a_redelivered_task_takes_over_a_job_whose_worker_died(import_root, wedding, alice):
    fill(import_root, 1)
    job = ImportJob.objects.create(
        owner=alice, gallery=wedding, path=str(import_root), status=ImportJobStatus.RUNNING,
        started_at=timezone.now() - timedelta(minutes=5), heartbeat_at=timezone.now() - timedelta(minutes=2),
    )  # fmt: skip
    assert tasks.run_import_job(job.pk) == "done"
    job.heartbeat_at = timezone.now()
    job.status = ImportJobStatus.RUNNING
    job.save()
    assert tasks.run_import_job(job.pk) == "skipped"  # alive: another worker has it


def test_a_running_job_cannot_be_run_again(import_root, wedding, alice, client_for):
    job = ImportJob.objects.create(
        owner=alice, gallery=wedding, path=str(import_root), status=ImportJobStatus.RUNNING,
        started_at=timezone.now(), heartbeat_at=timezone.now(),
    )  # fmt: skip
    client = client_for(alice)
    response = client.post(job_url(job) + "again/", follow=True)
    assert "This import is still running; wait for it to finish." in response.content.decode()
    assert ImportJob.objects.count() == 1
    assert client.get(job_url(job) + "again/").status_code == 405


# --- Bad input and other people ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("path", "message"),
    [
        ("{outside}", "is not under IMPORT_ROOTS"),
        ("{root}/../", "is not under IMPORT_ROOTS"),
        ("{root}/nowhere", "is not a folder."),
        ("shoot", "Give the full path of the folder, starting with one of:"),
        ("", "This field is required."),
    ],
)
def test_bad_paths_are_refused_with_a_clear_message(import_root, tmp_path, wedding, alice, client_for, path, message):
    outside = tmp_path / "elsewhere"
    outside.mkdir()
    path = path.format(outside=outside, root=import_root)
    response = client_for(alice).post(form_url(wedding), {"path": path, "into": "gallery"})
    assert response.status_code == 400
    assert message in response.content.decode()
    assert not ImportJob.objects.exists()


def test_a_link_out_of_the_roots_is_refused(import_root, tmp_path, wedding, alice, client_for):
    outside = tmp_path / "private"
    outside.mkdir()
    (import_root / "link").symlink_to(outside)
    response = client_for(alice).post(form_url(wedding), {"path": str(import_root / "link"), "into": "gallery"})
    assert response.status_code == 400 and "is not under IMPORT_ROOTS" in response.content.decode()


def test_bad_options_are_refused(import_root, wedding, alice, client_for):
    client = client_for(alice)
    response = client.post(form_url(wedding), {"path": str(import_root), "into": "elsewhere"})
    assert response.status_code == 400 and "Select a valid choice" in response.content.decode()
    response = client.post(form_url(wedding), {"path": str(import_root), "into": "gallery", "picks_from_rating": "9"})
    assert response.status_code == 400 and "Select a valid choice" in response.content.decode()
    assert not ImportJob.objects.exists()


def test_a_trashed_gallery_is_refused(import_root, wedding, alice, client_for):
    gallery_services.gallery_trash(gallery=wedding)
    response = start(client_for(alice), wedding, import_root)
    assert response.status_code == 400 and "is in the trash; restore it first" in response.content.decode()


def test_a_stranger_gets_404_everywhere(
    import_root, wedding, alice, bob, client_for, django_capture_on_commit_callbacks
):
    fill(import_root, 1)
    with django_capture_on_commit_callbacks(execute=True):
        start(client_for(alice), wedding, import_root)
    job = ImportJob.objects.get()
    client = client_for(bob)
    assert client.get(form_url(wedding)).status_code == 404
    assert start(client, wedding, import_root).status_code == 404
    assert client.get(job_url(job)).status_code == 404
    assert client.get(job_url(job), headers={"HX-Request": "true"}).status_code == 404
    assert client.get(job_url(job) + "report.json").status_code == 404
    assert client.post(job_url(job) + "again/").status_code == 404
    # bob's own gallery does not open alice's job either
    own = gallery_services.gallery_create(owner=bob, title="Mine")
    assert client.get(f"/admin/galleries/gallery/{own.pk}/import/{job.pk}/").status_code == 404
    assert ImportJob.objects.count() == 1


def test_anonymous_and_non_staff_users_are_sent_to_the_login(
    import_root, wedding, alice, client_for, django_user_model
):
    job = ImportJob.objects.create(owner=alice, gallery=wedding, path=str(import_root))
    visitor = django_user_model.objects.create_user("carol", "carol@example.com", "carol-pass-123")
    for user in (None, visitor):
        client = client_for(user)
        for response in (
            client.get(form_url(wedding)),
            start(client, wedding, import_root),
            client.get(job_url(job)),
            client.post(job_url(job) + "again/"),
        ):
            assert response.status_code == 302 and response["Location"].startswith("/admin/login/")
    assert ImportJob.objects.count() == 1


def test_a_superuser_imports_into_anyones_gallery(
    import_root, wedding, admin_user, client_for, django_capture_on_commit_callbacks
):
    fill(import_root, 1)
    with django_capture_on_commit_callbacks(execute=True):
        start(client_for(admin_user), wedding, import_root)
    job = ImportJob.objects.get()
    assert job.owner == admin_user and job.status == "done"
    assert wedding.photos.count() == 1


def test_the_whole_report_downloads_as_json(
    import_root, wedding, alice, client_for, django_capture_on_commit_callbacks
):
    fill(import_root, 2)
    client = client_for(alice)
    start(client, wedding, import_root)
    job = ImportJob.objects.get()
    assert client.get(job_url(job) + "report.json").status_code == 404  # no report yet
    tasks.run_import_job(job.pk)
    response = client.get(job_url(job) + "report.json")
    assert response.status_code == 200 and "attachment" in response["Content-Disposition"]
    assert sorted(f["path"] for f in response.json()["files"]) == ["shoot/IMG_0.jpg", "shoot/IMG_1.jpg"]


def test_the_gallery_page_lists_its_recent_imports(import_root, wedding, alice, bob, client_for):
    ImportJob.objects.create(owner=alice, gallery=wedding, path=str(import_root / "June"))
    page = client_for(alice).get(f"/admin/galleries/gallery/{wedding.pk}/change/").content.decode()
    assert "Imports from server folders" in page and f"{import_root}/June</a>" in page
    assert "Waiting for the worker" in page


def test_a_second_start_of_the_same_import_opens_the_one_under_way(import_root, wedding, alice, client_for):
    client = client_for(alice)
    start(client, wedding, import_root)  # queued: the worker has not taken it yet
    first = ImportJob.objects.get()
    response = start(client, wedding, str(import_root) + "/")
    assert response.status_code == 302 and response["Location"] == job_url(first)
    assert ImportJob.objects.count() == 1
    page = client.get(response["Location"]).content.decode()
    assert "This folder is being imported into this gallery already" in page
    # The service says so to any other door too.
    with pytest.raises(folder_services.Conflict, match="being imported into this gallery already"):
        folder_services.import_job_start(user=alice, gallery=wedding, path=str(import_root))
    # Once it is stale (its worker died), a new one may start.
    ImportJob.objects.filter(pk=first.pk).update(
        status=ImportJobStatus.RUNNING, heartbeat_at=timezone.now() - timedelta(minutes=5)
    )
    assert start(client, wedding, import_root)["Location"] != job_url(first)
    assert ImportJob.objects.count() == 2
