"""Fixtures for imports: a folder under IMPORT_ROOTS, and a way to run the command and read its report."""

from __future__ import annotations

import io
import json
import os
from collections.abc import Callable
from pathlib import Path

import pytest
from django.core.management import call_command

from conftest import make_image
from galleries import services as gallery_services
from galleries.models import Gallery, Photo
from sharing import services as sharing_services


@pytest.fixture
def import_root(settings, tmp_path: Path) -> Path:
    """tmp_path/in: the only folder IMPORT_ROOTS allows (tmp_path/media is MEDIA_ROOT)."""
    root = tmp_path / "in"
    root.mkdir()
    settings.IMPORT_ROOTS = [str(root)]
    return root


def photo(path: Path | bytes, colour=(200, 120, 40), **kw) -> bytes:
    """Write a small real JPEG (different colours, different bytes) at path; return its bytes."""
    data = make_image("JPEG", size=(48, 32), colour=colour, **kw)
    path = os.fsencode(path)
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "wb") as fh:
        fh.write(data)
    return data


@pytest.fixture
def run_import() -> Callable[..., dict]:
    """run_import(path, *options) -> the report, read back from --json."""

    def run(path, *options) -> dict:
        out = io.StringIO()
        call_command("import", str(path), *options, "--json", stdout=out, stderr=io.StringIO())
        return json.loads(out.getvalue())

    return run


def by_path(report: dict) -> dict[str, dict]:
    return {item["path"]: item for item in report["files"]}


@pytest.fixture
def wedding(alice, make_gallery, django_capture_on_commit_callbacks):
    """Three processed photos, reordered, with titles and alt text (one odd), one chosen by a client."""
    gallery = make_gallery(alice, title="Anna & Ben", description="June, by the lake")
    photos = []
    with django_capture_on_commit_callbacks(execute=True):
        for n, (name, title, alt) in enumerate(
            [
                ("IMG_0001.JPG", "First dance", "The couple dancing"),
                ("IMG_0002.JPG", "", ""),
                ("IMG_0003.JPG", "Toast / speech: “cheers!”", "=HYPERLINK(evil)"),
            ]
        ):
            data = make_image("JPEG", size=(60, 40), colour=(n * 60, 100, 30))
            shot, _ = gallery_services.photo_add(gallery=gallery, file=io.BytesIO(data), filename=name)
            gallery_services.photo_update(photo=shot, title=title, alt=alt)
            photos.append(shot)
    gallery_services.photos_reorder(gallery=gallery, photo_ids=[photos[2].pk, photos[0].pk, photos[1].pk])
    link = sharing_services.share_link_create(gallery=gallery, label="Anna")
    sharing_services.selection_change(link=link, visitor="v1", add=[photos[0]], name="Anna")
    return gallery


def order(gallery: Gallery) -> list[tuple[str, str, str]]:
    return [(p.title, p.alt, p.asset.sha256) for p in Photo.objects.filter(gallery=gallery).select_related("asset")]
