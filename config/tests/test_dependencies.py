"""Apps depend on each other one way: folders → lifecycle → uploads → sharing → galleries → notifications → accounts; every app may use config.

An app never imports another app's views or private (underscore) names: what several apps need lives
in the lowest app that owns it (roles in accounts.permissions, errors in config.exceptions, the API's
photo presenter in galleries.api.presenters). Tests and migrations are left out.
"""

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
# Each app and the apps it may import (config is open to all).
LAYERS = ["accounts", "notifications", "galleries", "sharing", "uploads", "lifecycle", "folders", "integrations"]
ALLOWED = {app: set(LAYERS[: i + 1]) | {"config"} for i, app in enumerate(LAYERS)}


def _imports(path: Path) -> list[tuple[int, str, list[str]]]:
    """(line, module, names) of every import in a file, wherever it stands."""
    found = []
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.append((node.lineno, node.module, [a.name for a in node.names]))
        elif isinstance(node, ast.Import):
            found.extend((node.lineno, a.name, []) for a in node.names)
    return found


def _cross_app_imports():
    """(app, where, module, names) of every import of another app, in each app's own code."""
    for app in LAYERS:
        for path in (ROOT / app).rglob("*.py"):
            if "tests" in path.parts or "migrations" in path.parts:
                continue
            for line, module, names in _imports(path):
                top = module.split(".")[0]
                if top in LAYERS and top != app:
                    yield app, f"{path.relative_to(ROOT)}:{line}", module, names


def test_apps_import_each_other_one_way_only():
    wrong = [
        f"{where} imports {module}"
        for app, where, module, _ in _cross_app_imports()
        if module.split(".")[0] not in ALLOWED[app]
    ]
    assert wrong == []


def test_no_app_imports_another_apps_views_or_private_names():
    wrong = [
        f"{where} imports {module} {names}"
        for _, where, module, names in _cross_app_imports()
        if module.endswith(".views") or any(name.startswith("_") for name in names)
    ]
    assert wrong == []


def test_gallery_templates_know_nothing_of_share_links():
    """A door that adds to the gallery pages (sharing) extends them; the gallery's own templates
    only take plain values (favourites, download_original) and never a share link."""
    import re

    wrong = []
    for folder in ("templates/galleries", "templates/components"):
        for path in (ROOT / folder).rglob("*.html"):
            for number, line in enumerate(path.read_text().splitlines(), 1):
                if re.search(r"\blink\.|\{% if link|'shared-|\"shared-", line):
                    wrong.append(f"{path.relative_to(ROOT)}:{number}")
    assert wrong == []
