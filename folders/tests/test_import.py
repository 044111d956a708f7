"""manage.py import: through the upload services, idempotent, reconciling, and never stopped by a bad file."""

from __future__ import annotations

import errno
import io
import json
import os
import sys
import threading
import time
from pathlib import Path

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from conftest import stored_files
from folders import scan
from folders import services as folder_services
from folders.models import ImportedFile, ImportedFolder
from folders.tests.conftest import by_path, photo
from galleries import services as gallery_services
from galleries.models import Asset, Gallery, Photo
from galleries.storage import LocalMediaStorage

pytestmark = pytest.mark.django_db


def titles(gallery: Gallery) -> list[str]:
    return [p.original_filename for p in Photo.objects.filter(gallery=gallery)]


# --- One gallery -------------------------------------------------------------------------------------


def test_imports_every_photo_through_the_upload_services_and_queues_processing(
    import_root, run_import, alice, make_gallery, django_capture_on_commit_callbacks
):
    gallery = make_gallery(alice)
    photo(import_root / "a.jpg")
    photo(import_root / "day 2" / "b.jpg", colour=(10, 20, 30))

    with django_capture_on_commit_callbacks(execute=True):
        report = run_import(import_root, "--gallery", gallery.slug)

    assert report["counts"]["new"] == 2
    assert titles(gallery) == ["a.jpg", "b.jpg"]
    # Processing ran as for every upload (tasks run synchronously in the tests): variants exist.
    assert all(asset.status == "ready" and asset.variants.exists() for asset in Asset.objects.all())
    gallery.refresh_from_db()
    assert gallery.photo_total == 2  # the counters the services keep
    rows = ImportedFile.objects.order_by("relative_path")
    assert [(r.relative_path, r.gallery_id) for r in rows] == [("a.jpg", gallery.pk), ("day 2/b.jpg", gallery.pk)]
    assert all(r.photo_id and len(r.sha256) == 64 for r in rows)


def test_a_second_run_adds_nothing_says_so_and_reads_no_file_again(
    import_root, alice, make_gallery, monkeypatch, run_import
):
    gallery = make_gallery(alice)
    for n in range(4):
        photo(import_root / f"{n}.jpg", colour=(n * 40, 10, 10))
    (import_root / "IMG_9.CR2").write_bytes(b"II*\x00\x10\x00\x00\x00CR\x02\x00" + bytes(4096))  # a RAW file
    first = run_import(import_root, "--gallery", gallery.slug)
    assert first["hashed"] == 4  # the RAW file is refused from its first bytes, never read whole
    assert "not a supported image" in by_path(first)["IMG_9.CR2"]["reason"]

    hashed = []
    real_hash, real_sha = scan.hash_file, gallery_services.sha256_of
    monkeypatch.setattr(scan, "hash_file", lambda fh: hashed.append(fh.name) or real_hash(fh))

    def sha256_of(fh):
        if not isinstance(fh, io.BytesIO):  # a refused file's first 32 bytes are checked in memory
            hashed.append(fh)
        return real_sha(fh)

    monkeypatch.setattr(gallery_services, "sha256_of", sha256_of)
    out = io.StringIO()
    call_command("import", str(import_root), "--gallery", gallery.slug, stdout=out)

    assert hashed == []
    assert "Nothing new: 4 files unchanged, nothing added." in out.getvalue()
    report = run_import(import_root, "--gallery", gallery.slug)
    assert report["counts"] == {**report["counts"], "new": 0, "unchanged": 4, "changed": 0, "refused": 1}
    assert report["hashed"] == 0
    assert Photo.objects.count() == 4


def test_a_touched_file_is_read_again_but_stays_unchanged(import_root, run_import, alice, make_gallery):
    gallery = make_gallery(alice)
    photo(import_root / "a.jpg")
    run_import(import_root, "--gallery", gallery.slug)
    os.utime(import_root / "a.jpg", ns=(1_000_000_000, 1_000_000_000))

    report = run_import(import_root, "--gallery", gallery.slug)
    assert report["counts"]["unchanged"] == 1 and report["hashed"] == 1
    assert run_import(import_root, "--gallery", gallery.slug)["hashed"] == 0  # the new mtime was remembered


def test_the_same_bytes_twice_in_one_run_are_one_photo(import_root, run_import, alice, make_gallery):
    gallery = make_gallery(alice)
    data = photo(import_root / "a.jpg")
    (import_root / "copy of a.jpg").write_bytes(data)

    report = by_path(run_import(import_root, "--gallery", gallery.slug))

    assert report["a.jpg"]["status"] == "new"
    assert report["copy of a.jpg"]["status"] == "duplicate"
    assert report["copy of a.jpg"]["reason"] == "same bytes as a.jpg"
    assert Photo.objects.count() == 1 and Asset.objects.count() == 1


def test_bytes_already_uploaded_are_not_added_again(import_root, run_import, alice, make_gallery):
    gallery = make_gallery(alice)
    data = photo(import_root / "a.jpg")
    gallery_services.photo_add(gallery=gallery, file=io.BytesIO(data), filename="uploaded.jpg")

    report = by_path(run_import(import_root, "--gallery", gallery.slug))
    assert report["a.jpg"]["status"] == "duplicate" and report["a.jpg"]["reason"] == "already in the gallery"
    assert Photo.objects.count() == 1


def test_hidden_and_system_files_are_skipped(import_root, run_import, alice, make_gallery):
    gallery = make_gallery(alice)
    photo(import_root / "a.jpg")
    photo(import_root / ".hidden" / "b.jpg", colour=(1, 1, 1))
    photo(import_root / "._a.jpg", colour=(2, 2, 2))
    (import_root / ".DS_Store").write_bytes(b"\0\0\0\1Bud1")
    (import_root / "Thumbs.db").write_bytes(b"\xd0\xcf\x11\xe0")

    report = run_import(import_root, "--gallery", gallery.slug)
    assert [item["path"] for item in report["files"]] == ["a.jpg"]


def test_links_are_followed_inside_the_tree_only(import_root, run_import, alice, make_gallery, tmp_path):
    gallery = make_gallery(alice)
    photo(import_root / "real" / "a.jpg")
    photo(tmp_path / "secret" / "outside.jpg", colour=(9, 9, 9))
    (import_root / "inside-link").symlink_to(import_root / "real")
    (import_root / "outside-file.jpg").symlink_to(tmp_path / "secret" / "outside.jpg")
    (import_root / "outside-folder").symlink_to(tmp_path / "secret")
    (import_root / "real" / "loop").symlink_to(import_root / "real")

    report = by_path(run_import(import_root, "--gallery", gallery.slug))

    assert report["outside-file.jpg"]["reason"] == "a link to outside the imported folder"
    assert report["outside-folder"]["reason"] == "a link to outside the imported folder"
    assert not any("outside.jpg" in path for path in report)
    assert Photo.objects.count() == 1  # the real file, once, however many ways lead to it


def test_dry_run_changes_nothing(import_root, run_import, alice):
    photo(import_root / "2026" / "a.jpg")
    (import_root / "notes.txt").write_text("not a photo")

    report = run_import(import_root, "--folders-as-galleries", "--owner", "alice", "--dry-run")

    assert report["dry_run"] is True
    assert report["counts"]["new"] == 1 and report["counts"]["refused"] == 1
    assert [g["title"] for g in report["galleries"]] == ["2026"]
    assert not Gallery.objects.exists() and not ImportedFile.objects.exists() and not Asset.objects.exists()


def test_the_table_on_stdout_and_no_progress_off_a_terminal(import_root, alice, make_gallery):
    gallery = make_gallery(alice)
    photo(import_root / "a.jpg")
    (import_root / "empty.jpg").write_bytes(b"")
    out, err = io.StringIO(), io.StringIO()

    call_command("import", str(import_root), "--gallery", gallery.slug, stdout=out, stderr=err)

    text = out.getvalue()
    assert "new" in text and "refused    empty.jpg  The file is empty." in text
    assert err.getvalue() == ""


def test_progress_on_a_terminal_goes_to_stderr(import_root, alice, make_gallery):
    class Terminal(io.StringIO):
        def isatty(self) -> bool:
            return True

    gallery = make_gallery(alice)
    photo(import_root / "a.jpg")
    out, err = io.StringIO(), Terminal()
    call_command("import", str(import_root), "--gallery", gallery.slug, "--json", stdout=out, stderr=err)

    assert "1/1 files" in err.getvalue() and "ETA" in err.getvalue() and "/s" in err.getvalue()
    assert json.loads(out.getvalue())["counts"]["new"] == 1  # stdout stays clean JSON


# --- Folders as galleries --------------------------------------------------------------------------


def test_each_folder_becomes_a_gallery_titled_by_its_path_and_is_reused(import_root, run_import, alice):
    photo(import_root / "2026" / "Wedding" / "Ceremony" / "a.jpg")
    photo(import_root / "2026" / "Wedding" / "Party" / "b.jpg", colour=(1, 2, 3))
    photo(import_root / "c.jpg", colour=(3, 2, 1))
    (import_root / "2026" / "Wedding" / "notes.txt").write_text("no photos in this folder")

    report = run_import(import_root, "--folders-as-galleries", "--owner", "alice")

    made = {g.title: g for g in Gallery.objects.filter(owner=alice)}
    assert set(made) == {"in", "2026 / Wedding / Ceremony", "2026 / Wedding / Party"}  # no gallery for notes
    assert titles(made["2026 / Wedding / Ceremony"]) == ["a.jpg"]
    assert all(g["created"] for g in report["galleries"])
    assert all(g.visibility == "private" for g in made.values())

    gallery_services.gallery_update(gallery=made["2026 / Wedding / Party"], title="The party")
    photo(import_root / "2026" / "Wedding" / "Party" / "d.jpg", colour=(5, 5, 5))
    report = run_import(import_root, "--folders-as-galleries", "--owner", "alice")

    assert Gallery.objects.count() == 3
    assert titles(Gallery.objects.get(title="The party")) == ["b.jpg", "d.jpg"]
    assert report["counts"]["new"] == 1 and report["counts"]["unchanged"] == 3
    assert ImportedFolder.objects.count() == 3


def test_a_folder_gone_as_a_whole_is_reported_missing(import_root, run_import, alice):
    photo(import_root / "keep" / "a.jpg")
    photo(import_root / "gone" / "b.jpg", colour=(1, 2, 3))
    run_import(import_root, "--folders-as-galleries", "--owner", "alice")
    (import_root / "gone" / "b.jpg").unlink()
    (import_root / "gone").rmdir()

    report = by_path(run_import(import_root, "--folders-as-galleries", "--owner", "alice"))
    assert report["gone/b.jpg"]["status"] == "missing"
    report = by_path(run_import(import_root, "--folders-as-galleries", "--owner", "alice", "--delete-missing"))
    assert report["gone/b.jpg"]["status"] == "removed"
    assert not Photo.objects.filter(gallery__title="gone").exists()


def test_a_trashed_gallery_is_refused(import_root, alice, make_gallery):
    gallery = make_gallery(alice)
    gallery_services.gallery_trash(gallery=gallery)
    with pytest.raises(CommandError, match="is in the trash"):
        call_command("import", str(import_root), "--gallery", gallery.slug, stdout=io.StringIO())


def test_long_folder_paths_keep_their_end_in_the_title():
    title = folder_services.folder_title("root", "/".join(["x" * 40] * 4))
    assert len(title) == 100 and title.startswith("…") and title.endswith("x" * 40)


# --- Reconciling ----------------------------------------------------------------------------------


def test_a_changed_file_is_a_new_photo_and_the_old_one_is_kept(import_root, run_import, alice, make_gallery):
    gallery = make_gallery(alice)
    photo(import_root / "a.jpg")
    run_import(import_root, "--gallery", gallery.slug)
    old = Photo.objects.get()
    photo(import_root / "a.jpg", colour=(0, 255, 0))

    item = by_path(run_import(import_root, "--gallery", gallery.slug))["a.jpg"]

    assert item["status"] == "changed" and item["reason"].endswith("the old one is kept")
    assert Photo.objects.filter(gallery=gallery).count() == 2 and Photo.objects.filter(pk=old.pk).exists()
    assert ImportedFile.objects.get().photo_id != old.pk


def test_a_changed_file_replaces_the_old_photo_with_delete_missing(import_root, run_import, alice, make_gallery):
    gallery = make_gallery(alice)
    photo(import_root / "a.jpg")
    run_import(import_root, "--gallery", gallery.slug)
    old = Photo.objects.get()
    photo(import_root / "a.jpg", colour=(0, 255, 0))

    item = by_path(run_import(import_root, "--gallery", gallery.slug, "--delete-missing"))["a.jpg"]

    assert item["reason"].endswith("the old one was removed")
    assert list(Photo.objects.values_list("pk", flat=True)) == [ImportedFile.objects.get().photo_id]
    assert not Photo.objects.filter(pk=old.pk).exists()


def test_missing_files_are_reported_and_removed_only_when_asked(import_root, run_import, alice, make_gallery):
    gallery = make_gallery(alice)
    photo(import_root / "a.jpg")
    photo(import_root / "b.jpg", colour=(1, 2, 3))
    run_import(import_root, "--gallery", gallery.slug)
    (import_root / "b.jpg").unlink()

    item = by_path(run_import(import_root, "--gallery", gallery.slug))["b.jpg"]
    assert (item["status"], item["reason"]) == ("missing", "gone from disk")
    assert Photo.objects.count() == 2

    item = by_path(run_import(import_root, "--gallery", gallery.slug, "--delete-missing"))["b.jpg"]
    assert item["status"] == "removed"
    assert titles(gallery) == ["a.jpg"] and ImportedFile.objects.count() == 1
    assert "missing" not in {i["status"] for i in run_import(import_root, "--gallery", gallery.slug)["files"]}


# --- Metadata --------------------------------------------------------------------------------------

SIDECAR = b"""<?xpacket begin="" id="W5M0MpCehiHzreSzNTczkc9d"?>
<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#">
<rdf:Description rdf:about="" xmlns:xmp="http://ns.adobe.com/xap/1.0/" xmlns:dc="http://purl.org/dc/elements/1.1/"
  xmp:Rating="4" xmp:Label="Red">
 <dc:title><rdf:Alt><rdf:li xml:lang="x-default">First dance</rdf:li></rdf:Alt></dc:title>
 <dc:description><rdf:Alt><rdf:li xml:lang="x-default">The couple dancing under lights</rdf:li></rdf:Alt></dc:description>
 <dc:subject><rdf:Bag><rdf:li>wedding</rdf:li><rdf:li>dance</rdf:li></rdf:Bag></dc:subject>
</rdf:Description></rdf:RDF></x:xmpmeta><?xpacket end="w"?>"""


def test_titles_captions_ratings_and_labels_from_sidecars_and_embedded_xmp(
    import_root, run_import, alice, make_gallery
):
    gallery = make_gallery(alice)
    photo(import_root / "dance.jpg")
    (import_root / "dance.xmp").write_bytes(SIDECAR)  # Lightroom, Capture One: the extension replaced
    embedded = SIDECAR.replace(b"First dance", b"Cake").replace(b'xmp:Rating="4"', b'xmp:Rating="-1"')
    photo(import_root / "cake.jpg", colour=(1, 2, 3), xmp=embedded)
    photo(import_root / "toast.jpg", colour=(3, 2, 1))
    (import_root / "toast.jpg.xmp").write_bytes(SIDECAR.replace(b"First dance", b"Toast"))  # darktable

    report = by_path(run_import(import_root, "--gallery", gallery.slug))

    shot = Photo.objects.get(original_filename="dance.jpg")
    assert (shot.title, shot.alt) == ("First dance", "The couple dancing under lights")
    assert Photo.objects.get(original_filename="cake.jpg").title == "Cake"
    assert Photo.objects.get(original_filename="toast.jpg").title == "Toast"
    assert report["dance.jpg"]["rating"] == 4 and report["dance.jpg"]["label"] == "Red"
    assert report["cake.jpg"]["rating"] == -1
    record = ImportedFile.objects.get(relative_path="dance.jpg")
    assert (record.rating, record.label, record.keywords) == (4, "Red", ["wedding", "dance"])
    assert "dance.xmp" not in report  # a sidecar is read, not imported


def test_metadata_never_overwrites_what_the_photo_already_has(import_root, run_import, alice, make_gallery):
    gallery = make_gallery(alice)
    data = photo(import_root / "dance.jpg")
    (import_root / "dance.xmp").write_bytes(SIDECAR)
    existing, _ = gallery_services.photo_add(gallery=gallery, file=io.BytesIO(data), filename="dance.jpg")
    gallery_services.photo_update(photo=existing, title="My own title")

    run_import(import_root, "--gallery", gallery.slug)
    existing.refresh_from_db()
    assert (existing.title, existing.alt) == ("My own title", "The couple dancing under lights")


def test_iptc_title_and_caption_are_read(import_root, run_import, alice, make_gallery):
    gallery = make_gallery(alice)
    jpeg = photo(import_root / "x.jpg")

    def record(dataset: int, value: bytes) -> bytes:
        return b"\x1c\x02" + bytes([dataset]) + len(value).to_bytes(2, "big") + value

    iim = record(5, b"Harbour at dawn") + record(120, b"Boats leaving the harbour")
    iim += b"\0" * (len(iim) % 2)
    resource = b"8BIM\x04\x04\x00\x00" + len(iim).to_bytes(4, "big") + iim
    body = b"Photoshop 3.0\x00" + resource
    app13 = b"\xff\xed" + (len(body) + 2).to_bytes(2, "big") + body
    (import_root / "x.jpg").write_bytes(jpeg[:2] + app13 + jpeg[2:])

    run_import(import_root, "--gallery", gallery.slug)
    shot = Photo.objects.get()
    assert (shot.title, shot.alt) == ("Harbour at dawn", "Boats leaving the harbour")


# --- Bad input and faults ---------------------------------------------------------------------------


def test_bad_files_are_each_reported_and_never_stop_the_run(import_root, run_import, alice, make_gallery, monkeypatch):
    gallery = make_gallery(alice)
    photo(import_root / "a-good.jpg")
    (import_root / "b-empty.jpg").write_bytes(b"")
    (import_root / "c-text.jpg").write_text("not a picture")
    locked = import_root / "d-locked.jpg"
    photo(locked, colour=(1, 1, 1))
    os.chmod(locked, 0)
    vanishing = import_root / "e-vanishing.jpg"
    photo(vanishing, colour=(2, 2, 2))
    photo(import_root / "z-good.jpg", colour=(3, 3, 3))

    real_open = open

    def faulty_open(path, *args, **kw):
        if os.fsdecode(path) == str(vanishing):
            os.unlink(path)  # gone between the walk and the read
        if os.fsdecode(path) == str(locked) and os.geteuid() == 0:
            raise PermissionError(errno.EACCES, "Permission denied", path)  # root reads anything
        return real_open(path, *args, **kw)

    monkeypatch.setattr(folder_services, "open", faulty_open, raising=False)
    try:
        report = by_path(run_import(import_root, "--gallery", gallery.slug))
    finally:
        os.chmod(locked, 0o644)

    assert report["a-good.jpg"]["status"] == report["z-good.jpg"]["status"] == "new"
    assert report["b-empty.jpg"]["reason"] == "The file is empty."
    assert "not a supported image" in report["c-text.jpg"]["reason"]
    assert report["d-locked.jpg"]["reason"] == "permission denied"
    assert report["e-vanishing.jpg"]["reason"] == "vanished before it could be read"
    assert {i["status"] for p, i in report.items() if p[0] in "bcde"} == {"refused"}
    assert titles(gallery) == ["a-good.jpg", "z-good.jpg"]


def test_an_unreadable_folder_is_reported(import_root, run_import, alice, make_gallery, monkeypatch):
    gallery = make_gallery(alice)
    photo(import_root / "ok" / "a.jpg")
    photo(import_root / "private" / "b.jpg", colour=(1, 1, 1))
    real_scandir = os.scandir

    def scandir(path):
        if os.fsdecode(path).endswith("private"):
            raise PermissionError(errno.EACCES, "Permission denied", path)
        return real_scandir(path)

    monkeypatch.setattr(scan.os, "scandir", scandir)
    report = by_path(run_import(import_root, "--gallery", gallery.slug))
    assert report["private"]["reason"] == "folder cannot be read: permission denied"
    assert report["ok/a.jpg"]["status"] == "new"


def test_a_file_that_changes_while_it_is_read_is_refused_and_nothing_is_kept(
    import_root, run_import, alice, make_gallery, monkeypatch, media_root
):
    gallery = make_gallery(alice)
    growing = import_root / "growing.jpg"
    photo(growing)
    real_hash = scan.hash_file

    def hash_then_grow(fh):
        result = real_hash(fh)
        with open(growing, "ab") as more:
            more.write(b"still being copied")
        return result

    monkeypatch.setattr(scan, "hash_file", hash_then_grow)
    item = by_path(run_import(import_root, "--gallery", gallery.slug))["growing.jpg"]

    assert item["status"] == "refused" and "changed while it was read" in item["reason"]
    assert not Photo.objects.exists() and not Asset.objects.exists() and not ImportedFile.objects.exists()
    assert [f for f in stored_files(media_root) if f.startswith("originals/")] == []


def test_names_in_any_encoding_and_long_paths(import_root, run_import, alice, make_gallery):
    gallery = make_gallery(alice)
    photo(os.path.join(os.fsencode(import_root), b"caf\xe9 latin-1.jpg"))  # not UTF-8
    photo(import_root / "Ünïcødé 📷.jpg", colour=(1, 2, 3))
    deep = import_root / ("a" * 60) / ("b" * 60) / ("c" * 60) / ("d" * 40 + ".jpg")
    photo(deep, colour=(3, 2, 1))
    assert len(str(deep.relative_to(import_root))) > 200
    (import_root / "line\nbreak.jpg").write_bytes(b"")

    report = by_path(run_import(import_root, "--gallery", gallery.slug))

    assert report["caf\\xe9 latin-1.jpg"]["status"] == "new"
    assert report["Ünïcødé 📷.jpg"]["status"] == "new"
    assert report[str(deep.relative_to(import_root))]["status"] == "new"
    assert report["line\nbreak.jpg"]["status"] == "refused"
    assert sorted(titles(gallery)) == sorted(["caf\ufffd latin-1.jpg", "Ünïcødé 📷.jpg", "d" * 40 + ".jpg"])
    assert run_import(import_root, "--gallery", gallery.slug)["counts"]["unchanged"] == 3  # the same keys again


def test_a_full_disk_stops_cleanly_with_the_report_and_the_next_run_carries_on(
    import_root, alice, make_gallery, monkeypatch, media_root, run_import
):
    gallery = make_gallery(alice)
    for n in range(3):
        photo(import_root / f"{n}.jpg", colour=(n * 50, 0, 0))
    real_save = LocalMediaStorage._save
    saves = []

    def save(self, name, content):
        if name.startswith("originals/"):
            saves.append(name)
            if len(saves) == 2:
                raise OSError(errno.ENOSPC, "No space left on device")
        return real_save(self, name, content)

    monkeypatch.setattr(LocalMediaStorage, "_save", save)
    out = io.StringIO()
    with pytest.raises(CommandError, match="disk is full"):
        call_command("import", str(import_root), "--gallery", gallery.slug, stdout=out)

    text = out.getvalue()
    assert "refused    1.jpg  the disk is full" in text
    assert "STOPPED: The disk is full" in text and "1 were not reached" in text
    assert not [line for line in text.splitlines() if line.startswith("missing")]  # unreached is not missing
    assert titles(gallery) == ["0.jpg"]  # nothing half-added
    assert len([f for f in stored_files(media_root) if f.startswith("originals/")]) == 1

    monkeypatch.setattr(LocalMediaStorage, "_save", real_save)
    report = run_import(import_root, "--gallery", gallery.slug)
    assert (report["counts"]["new"], report["counts"]["unchanged"]) == (2, 1)
    assert titles(gallery) == ["0.jpg", "1.jpg", "2.jpg"]


def test_an_import_killed_halfway_leaves_whole_photos_and_the_next_run_continues(
    import_root, alice, make_gallery, monkeypatch, run_import, media_root
):
    gallery = make_gallery(alice)
    for n in range(5):
        photo(import_root / f"{n}.jpg", colour=(n * 50, 0, 0))
    real_add = gallery_services.photos_add
    calls = []

    def killed_on_the_third(**kw):
        calls.append(1)
        if len(calls) == 3:
            raise KeyboardInterrupt  # what a kill looks like from inside: nothing after this line runs
        return real_add(**kw)

    monkeypatch.setattr(gallery_services, "photos_add", killed_on_the_third)
    with pytest.raises(KeyboardInterrupt):
        run_import(import_root, "--gallery", gallery.slug)
    assert titles(gallery) == ["0.jpg", "1.jpg"]
    assert ImportedFile.objects.count() == 2 and Asset.objects.count() == 2

    monkeypatch.setattr(gallery_services, "photos_add", real_add)
    report = run_import(import_root, "--gallery", gallery.slug)
    assert (report["counts"]["new"], report["counts"]["unchanged"], report["hashed"]) == (3, 2, 3)
    assert titles(gallery) == [f"{n}.jpg" for n in range(5)]
    assert len([f for f in stored_files(media_root) if f.startswith("originals/")]) == 5


# --- Who may import what ---------------------------------------------------------------------------


def test_no_import_roots_refuses_every_import_and_says_how_to_set_them(settings, tmp_path, alice, make_gallery):
    settings.IMPORT_ROOTS = []
    gallery = make_gallery(alice)
    photo(tmp_path / "in" / "a.jpg")
    with pytest.raises(CommandError) as refused:
        call_command("import", str(tmp_path / "in"), "--gallery", gallery.slug, stdout=io.StringIO())
    assert "IMPORT_ROOTS is empty. Set the environment variable IMPORT_ROOTS" in str(refused.value)
    assert not Photo.objects.exists()


def test_paths_outside_the_roots_are_refused_even_through_links_and_dots(import_root, tmp_path, alice, make_gallery):
    gallery = make_gallery(alice)
    photo(tmp_path / "elsewhere" / "a.jpg")
    (import_root / "sneaky").symlink_to(tmp_path / "elsewhere")
    for path in (tmp_path / "elsewhere", import_root / "sneaky", import_root / ".." / "elsewhere", Path("/etc")):
        with pytest.raises(CommandError, match="is not under IMPORT_ROOTS"):
            call_command("import", str(path), "--gallery", gallery.slug, stdout=io.StringIO())
    assert not Photo.objects.exists()


def test_the_service_itself_refuses_paths_outside_the_roots(import_root, tmp_path, alice, make_gallery):
    from config.exceptions import InvalidInput

    with pytest.raises(InvalidInput, match="is not under IMPORT_ROOTS"):
        folder_services.folder_import(path=tmp_path, gallery=make_gallery(alice))


def test_bad_arguments_are_clear_errors(import_root, alice, bob, make_gallery):
    gallery = make_gallery(alice)
    cases = [
        (["--gallery", "nope"], "No gallery “nope”"),
        (["--folders-as-galleries"], "--owner USERNAME"),
        (["--folders-as-galleries", "--owner", "nobody"], "No user named “nobody”"),
        (["--gallery", gallery.slug, "--owner", "bob"], "bob may not change the gallery"),
        (["--gallery", "new"], "--owner USERNAME"),
    ]
    for options, message in cases:
        with pytest.raises(CommandError, match=message):
            call_command("import", str(import_root), *options, stdout=io.StringIO())
    with pytest.raises(CommandError, match="is not a folder"):
        photo(import_root / "a.jpg")
        call_command("import", str(import_root / "a.jpg"), "--gallery", gallery.slug, stdout=io.StringIO())


def test_a_kill_between_the_photo_and_its_record_leaves_neither(
    import_root, alice, make_gallery, monkeypatch, run_import, media_root
):
    gallery = make_gallery(alice)
    for n in range(3):
        photo(import_root / f"{n}.jpg", colour=(n * 50, 0, 0))
    real_create = ImportedFile.objects.create
    calls = []

    def create(**kw):
        calls.append(1)
        if len(calls) == 2:
            raise KeyboardInterrupt
        return real_create(**kw)

    monkeypatch.setattr(ImportedFile.objects, "create", create)
    with pytest.raises(KeyboardInterrupt):
        run_import(import_root, "--gallery", gallery.slug)
    assert titles(gallery) == ["0.jpg"] and ImportedFile.objects.count() == 1  # photo and record, or neither
    assert len([f for f in stored_files(media_root) if f.startswith("originals/")]) == 1


def test_a_full_database_disk_stops_cleanly_too(import_root, alice, make_gallery, monkeypatch):
    from django.db import OperationalError

    gallery = make_gallery(alice)
    photo(import_root / "a.jpg")

    def full(**kw):
        raise OperationalError("database or disk is full")

    monkeypatch.setattr(ImportedFile.objects, "create", full)
    out = io.StringIO()
    with pytest.raises(CommandError, match="disk is full"):
        call_command("import", str(import_root), "--gallery", gallery.slug, stdout=out)
    assert "refused    a.jpg  the disk is full" in out.getvalue()
    assert not Photo.objects.exists()


def test_watch_imports_files_as_they_appear_once_nobody_writes_to_them(import_root, alice, make_gallery, monkeypatch):
    gallery = make_gallery(alice)
    photo(import_root / "settled.jpg")
    os.utime(import_root / "settled.jpg", ns=(1_000_000_000, 1_000_000_000))
    photo(import_root / "copying.jpg", colour=(1, 2, 3))  # written just now: maybe still growing
    looks = []

    def between_looks(seconds):
        looks.append(seconds)
        os.utime(import_root / "copying.jpg", ns=(2_000_000_000, 2_000_000_000))  # the copy has finished

    monkeypatch.setattr("folders.management.commands.import.time.sleep", between_looks)
    monkeypatch.setitem(sys.modules, "watchfiles", None)  # no file events here: plain polling
    out = io.StringIO()
    call_command(
        "import", str(import_root), "--gallery", gallery.slug, "--watch", "--interval", "7", "--rounds", "3",
        "--json", stdout=out,
    )  # fmt: skip

    reports = [json.loads(line) for line in out.getvalue().splitlines()]
    assert looks == [7, 7]
    assert len(reports) == 2  # the third look found nothing new and said nothing
    assert by_path(reports[0])["copying.jpg"]["status"] == "waiting"
    assert by_path(reports[0])["settled.jpg"]["status"] == "new"
    assert by_path(reports[1])["copying.jpg"]["status"] == "new"
    assert titles(gallery) == ["settled.jpg", "copying.jpg"]

    with pytest.raises(CommandError, match="do not go together"):
        call_command("import", str(import_root), "--gallery", gallery.slug, "--watch", "--dry-run")


def test_watch_wakes_when_a_file_appears_instead_of_waiting_out_the_interval(import_root, alice, make_gallery):
    """watchfiles: the second look comes when the file lands (a copy renamed into place, as rsync and
    cameras' uploaders do), not after --interval (here 60 s; the test's own limit is far below it)."""
    gallery = make_gallery(alice)
    photo(import_root / "first.jpg")
    staged = import_root.parent / "staged.jpg"
    photo(staged, colour=(9, 8, 7))
    landing = threading.Timer(1.0, os.replace, (staged, import_root / "second.jpg"))
    out = io.StringIO()
    started = time.monotonic()
    landing.start()
    try:
        call_command(
            "import", str(import_root), "--gallery", gallery.slug, "--watch", "--interval", "60", "--settle", "0",
            "--rounds", "2", "--json", stdout=out,
        )  # fmt: skip
    finally:
        landing.cancel()
    assert time.monotonic() - started < 30
    reports = [json.loads(line) for line in out.getvalue().splitlines()]
    assert [sorted(by_path(r)) for r in reports] == [["first.jpg"], ["first.jpg", "second.jpg"]]
    assert by_path(reports[1])["second.jpg"]["status"] == "new"
    assert titles(gallery) == ["first.jpg", "second.jpg"]
