"""`make run` and `make test` say in one sentence which prerequisite is missing, before setting anything up.

Both start with `setup`, so the tests ask for `setup`: if the check ever failed to stop it, the worst
case is an up-to-date setup, never a whole test run started from inside a test.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
TOOLS = ["make", "sh", "bash", "env"]  # what make itself needs to run a recipe

pytestmark = pytest.mark.skipif(not shutil.which("make"), reason="make is not installed")


def path_with(tmp_path: Path, *extra: str) -> str:
    """A PATH of symlinks: make's own tools, this Python as python3, and the extra tools named."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    for tool in [*TOOLS, *extra]:
        found = shutil.which(tool)
        if found:
            (bin_dir / tool).symlink_to(found)
    (bin_dir / "python3").symlink_to(sys.executable)
    return str(bin_dir)


def make(target: str, path: str, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        ["make", "--no-print-directory", "-s", target, *args],
        cwd=ROOT,
        env={"PATH": path},
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_without_node_setup_stops_with_one_sentence_naming_it(tmp_path):
    result = make("setup", path_with(tmp_path, "npm"))
    assert result.returncode != 0
    sentence = result.stderr.splitlines()[0]
    assert sentence.startswith("Contact Sheet needs Node.js 20 and npm")
    assert "'node' is not on PATH" in sentence


def test_without_npm_setup_stops_with_one_sentence_naming_it(tmp_path):
    result = make("setup", path_with(tmp_path, "node"))
    assert result.returncode != 0
    assert "'npm' is not on PATH" in result.stderr.splitlines()[0]


def test_run_and_test_begin_with_setup():
    rules = (ROOT / "Makefile").read_text()
    assert "\nrun: setup\n" in rules and "\ntest: setup" in rules
    assert "\nsetup: check-prereqs " in rules


def test_an_old_or_missing_python_is_named(tmp_path):
    result = make("check-prereqs", path_with(tmp_path, "node", "npm"), "PYTHON=/nonexistent/python3.9")
    assert result.returncode != 0
    assert result.stderr.splitlines()[0].startswith("Contact Sheet needs Python 3.11 or newer")


@pytest.mark.skipif(not (shutil.which("node") and shutil.which("npm")), reason="node and npm are not installed")
def test_with_everything_there_the_check_passes_quietly(tmp_path):
    result = make("check-prereqs", path_with(tmp_path, "node", "npm"))
    assert (result.returncode, result.stdout, result.stderr) == (0, "", "")
