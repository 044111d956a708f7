"""manage.py export: readable names, a manifest, all or nothing; and an export imports back identically."""

from __future__ import annotations

import csv
import hashlib
import io
import json
import shutil

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from conftest import make_image
from folders import services as folder_services
from folders.models import ImportedFile
from folders.tests.conftest import order
from galleries import services as gallery_services
from galleries.models import Asset, Gallery, Photo

pytestmark = pytest.mark.django_db


def test_export_writes_originals_with_readable_unique_names_and_a_manifest(wedding, tmp_path):
    guest = make_image("JPEG", size=(20, 20), colour=(1, 2, 3))
    checked = gallery_services.photo_check(file=io.BytesIO(guest), filename="guest.jpg")
    gallery_services.photos_add(gallery=wedding, files=[checked], contributor="A guest")  # waits for approval
    dest = tmp_path / "out" / "anna-ben"
    (tmp_path / "out").mkdir()
    out = io.StringIO()
    call_command("export", wedding.slug, str(dest), stdout=out)

    assert "3 photos exported" in out.getvalue()
    names = sorted(p.name for p in dest.iterdir())
    assert names == ["0001-Toast-speech-cheers.jpg", "0002-First-dance.jpg", "0003-IMG_0002.jpg", "manifest.csv",
                     "manifest.json"]  # fmt: skip
    manifest = json.loads((dest / "manifest.json").read_text())
    assert manifest["gallery"] == {"title": "Anna & Ben", "slug": wedding.slug, "description": "June, by the lake"}
    rows = manifest["photos"]
    assert [r["position"] for r in rows] == [1, 2, 3]
    assert [r["selected"] for r in rows] == [False, True, False]
    for row in rows:
        data = (dest / row["file_name"]).read_bytes()
        assert hashlib.sha256(data).hexdigest() == row["sha256"] and len(data) == row["size"]
        assert (row["width"], row["height"]) == (60, 40)
        assert set(row) >= {"title", "alt", "taken_at", "original_filename"}
    with open(dest / "manifest.csv", newline="", encoding="utf-8") as fh:
        table = list(csv.DictReader(fh))
    assert [r["file_name"] for r in table] == [r["file_name"] for r in rows]
    assert table[0]["alt"] == "'=HYPERLINK(evil)"  # a spreadsheet will not run it


def test_export_of_a_variant(wedding, tmp_path):
    dest = tmp_path / "small"
    call_command("export", wedding.slug, str(dest), "--variant", "small.webp", stdout=io.StringIO())
    rows = json.loads((dest / "manifest.json").read_text())["photos"]
    assert all(r["file_name"].endswith(".webp") for r in rows)
    assert (dest / rows[0]["file_name"]).read_bytes()[8:12] == b"WEBP"

    with pytest.raises(CommandError, match="Unknown variant “huge”"):
        call_command("export", wedding.slug, str(tmp_path / "x"), "--variant", "huge", stdout=io.StringIO())


def test_export_refuses_a_destination_that_is_not_empty_and_never_leaves_half_an_export(wedding, tmp_path, monkeypatch):
    full = tmp_path / "full"
    full.mkdir()
    (full / "keep.txt").write_text("mine")
    with pytest.raises(CommandError, match="exists and is not an empty folder"):
        call_command("export", wedding.slug, str(full), stdout=io.StringIO())
    assert [p.name for p in full.iterdir()] == ["keep.txt"]

    real_write = folder_services._write_file
    copies = []

    def write_then_fail(target, chunks):
        copies.append(target)
        if len(copies) == 2:
            raise OSError(28, "No space left on device")
        return real_write(target, chunks)

    monkeypatch.setattr(folder_services, "_write_file", write_then_fail)
    with pytest.raises(OSError):
        call_command("export", wedding.slug, str(tmp_path / "half"), stdout=io.StringIO())
    assert not (tmp_path / "half").exists()
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".export-")]

    empty = tmp_path / "empty"
    empty.mkdir()
    monkeypatch.setattr(folder_services, "_write_file", real_write)
    call_command("export", wedding.slug, str(empty), stdout=io.StringIO())  # an empty folder is fine
    assert len(list(empty.iterdir())) == 5


def test_manifest_only(wedding, tmp_path):
    call_command("export", wedding.slug, str(tmp_path / "m"), "--manifest", stdout=io.StringIO())
    assert sorted(p.name for p in (tmp_path / "m").iterdir()) == ["manifest.csv", "manifest.json"]


def test_unknown_gallery(tmp_path, db):
    with pytest.raises(CommandError, match="No gallery “nope”"):
        call_command("export", "nope", str(tmp_path / "x"), stdout=io.StringIO())


def test_an_export_imports_into_an_empty_instance_with_the_same_order_titles_and_alt_text(
    wedding, tmp_path, settings, media_root
):
    before = order(wedding)
    title, description = wedding.title, wedding.description
    backup = tmp_path / "in" / "backup"
    (tmp_path / "in").mkdir()
    settings.IMPORT_ROOTS = [str(tmp_path / "in")]
    call_command("export", wedding.slug, str(backup), stdout=io.StringIO())

    # An empty instance: no galleries, photos, assets or stored files (the users stay: --owner needs one).
    Photo.objects.all().delete()
    Asset.objects.all().delete()
    Gallery.objects.all().delete()
    shutil.rmtree(media_root, ignore_errors=True)

    out = io.StringIO()
    call_command("import", str(backup), "--gallery", "new", "--owner", "alice", "--json", stdout=out)
    report = json.loads(out.getvalue())

    assert report["counts"]["new"] == 3 and report["counts"]["refused"] == 0  # the manifests are not photos
    restored = Gallery.objects.get()
    assert (restored.title, restored.description, restored.owner.username) == (title, description, "alice")
    assert order(restored) == before
    # And again: nothing new, the same gallery.
    call_command("import", str(backup), "--gallery", "new", "--owner", "alice", stdout=(again := io.StringIO()))
    assert "Nothing new: 3 files unchanged" in again.getvalue()
    assert Gallery.objects.count() == 1 and ImportedFile.objects.count() == 3
