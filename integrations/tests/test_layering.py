"""integrations is the top layer: no other app imports it (they emit through config.events), and it
imports no other app's views or private names (config/tests/test_dependencies.py's rules)."""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
APPS = ["config", "accounts", "notifications", "galleries", "sharing", "uploads", "lifecycle", "folders"]


def _imports(path: Path) -> list[tuple[int, str, list[str]]]:
    found = []
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.append((node.lineno, node.module, [a.name for a in node.names]))
        elif isinstance(node, ast.Import):
            found.extend((node.lineno, a.name, []) for a in node.names)
    return found


def _code(app: str) -> list[Path]:
    return [p for p in (ROOT / app).rglob("*.py") if "tests" not in p.parts and "migrations" not in p.parts]


def test_no_lower_app_imports_integrations():
    wrong = [
        f"{path.relative_to(ROOT)}:{line} imports {module}"
        for app in APPS
        for path in _code(app)
        for line, module, _ in _imports(path)
        if module.split(".")[0] == "integrations"
    ]
    assert wrong == []


def test_integrations_imports_no_views_or_private_names_of_other_apps():
    wrong = [
        f"{path.relative_to(ROOT)}:{line} imports {module} {names}"
        for path in _code("integrations")
        for line, module, names in _imports(path)
        if module.split(".")[0] in APPS and (module.endswith(".views") or any(name.startswith("_") for name in names))
    ]
    assert wrong == []
