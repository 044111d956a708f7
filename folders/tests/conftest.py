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
