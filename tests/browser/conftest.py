"""Browser tests: Playwright driving the system Chromium against a live server on 127.0.0.1."""

from __future__ import annotations

import os
import shutil
from collections.abc import Callable
from pathlib import Path

import pytest

ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]


def chromium_path() -> str | None:
    return os.environ.get("CHROMIUM") or shutil.which("chromium") or shutil.which("chromium-browser")


@pytest.fixture(scope="session")
def browser():
    path = chromium_path()
    if not path:
        pytest.skip("Chromium is not installed (apt-get install chromium)")
    # Playwright's sync API runs an event loop in this thread; the ORM calls in the tests are
    # still synchronous and safe.
    os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        instance = playwright.chromium.launch(executable_path=path, args=CHROMIUM_ARGS)
        yield instance
        instance.close()


# --- Content-Security-Policy: no test may open a page that breaks it (issue 9) -------------------

REPORT_VIOLATIONS = """
document.addEventListener("securitypolicyviolation", (e) => {
  window.__cspViolation(`${e.effectiveDirective} refused ${e.blockedURI || "an inline piece"}`
    + ` at ${e.sourceFile || document.location.href}:${e.lineNumber}`);
}, true);
"""


def watch_csp(context, violations: list[str]) -> None:
    """Records every CSP violation in the context's pages: the DOM event, and the console's words."""
    context.expose_binding("__cspViolation", lambda source, text: violations.append(f"{source['page'].url}: {text}"))
    context.add_init_script(REPORT_VIOLATIONS)

    def on_console(message) -> None:
        if "Content Security Policy" in message.text or message.text.startswith("Refused to"):
            violations.append(f"console: {message.text}")

    context.on("console", on_console)


@pytest.fixture(autouse=True)
def csp_violations(request):
    """Every browser context a test opens reports CSP violations; any violation fails the test.

    A test that provokes one on purpose empties the list before it ends."""
    violations: list[str] = []
    if "browser" not in request.fixturenames:
        yield violations
        return
    browser = request.getfixturevalue("browser")
    new_context = browser.new_context

    def watched_new_context(*args, **kwargs):
        context = new_context(*args, **kwargs)
        watch_csp(context, violations)
        return context

    browser.new_context = watched_new_context
    try:
        yield violations
    finally:
        del browser.new_context
    assert not violations, "Content-Security-Policy violations:\n" + "\n".join(violations)


@pytest.fixture
def page(browser):
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    page = context.new_page()
    page.console_errors = []
    page.on("console", lambda m: page.console_errors.append(m.text) if m.type == "error" else None)
    yield page
    context.close()


AXE = Path(__file__).resolve().parents[2] / "node_modules/axe-core/axe.min.js"


@pytest.fixture
def axe() -> Callable[..., list[str]]:
    """Runs axe-core (npm, package.json) on a page: the violations as "rule: help (n nodes)" lines."""
    if not AXE.is_file():
        pytest.fail("axe-core is missing from node_modules: run make (npm ci) first")
    source = AXE.read_text()

    def run(page, context: str | None = None) -> list[str]:
        if not page.evaluate("typeof window.axe !== 'undefined'"):
            page.evaluate(source)
        target = "document" if context is None else repr(context)
        return page.evaluate(
            f"axe.run({target}).then(r => r.violations.map(v => `${{v.id}}: ${{v.help}} (${{v.nodes.length}})`))"
        )

    return run


@pytest.fixture
def shot():
    ARTIFACTS.mkdir(exist_ok=True)

    def take(page, name: str, **kwargs) -> Path:
        path = ARTIFACTS / f"{name}.png"
        page.screenshot(path=str(path), **kwargs)
        return path

    return take


# --- Data seeded once per module ----------------------------------------------------------------
#
# Processing photos (variants, blurhash) is the slow part of a browser test's data. A module's
# fixture builds its rows and files once, with the database unblocked and MEDIA_ROOT pointing at a
# template directory; the rows are serialised and the database flushed, exactly as a transactional
# test leaves it. Each test then gets a fresh copy: the rows saved back (with the test's own owner)
# and the files copied into its own MEDIA_ROOT. So every test still starts from the same state and
# may change it freely; the live server's thread sees committed rows, as before.

SEEDED_APPS = ("galleries", "sharing", "uploads")


class Seed:
    """Rows (serialised) and media files (a template directory) built once; `restore` puts them back."""

    def __init__(self, rows: str, media: Path, names: dict[str, tuple[str, object]]) -> None:
        self.rows, self.media, self.names = rows, media, names

    def restore(self, owner) -> dict:
        """Save the rows again, owned by `owner`, copy the files into MEDIA_ROOT; the built objects by name."""
        from django.apps import apps
        from django.conf import settings
        from django.contrib.auth import get_user_model
        from django.core import serializers
        from django.core.management.color import no_style
        from django.db import connection, transaction

        user_model = get_user_model()
        # Foreign keys are checked at commit (deferred on SQLite and PostgreSQL): the order of saving does not matter.
        with transaction.atomic():
            for item in serializers.deserialize("json", self.rows):
                for field in item.object._meta.concrete_fields:
                    if field.is_relation and field.related_model is user_model and getattr(item.object, field.attname):
                        setattr(item.object, field.attname, owner.pk)
                item.save()
        models = [m for label in SEEDED_APPS for m in apps.get_app_config(label).get_models()]
        with connection.cursor() as cursor:  # PostgreSQL: the next id after the restored ones
            for sql in connection.ops.sequence_reset_sql(no_style(), models):
                cursor.execute(sql)
        shutil.copytree(self.media, settings.MEDIA_ROOT, dirs_exist_ok=True)
        return {name: apps.get_model(label)._base_manager.get(pk=pk) for name, (label, pk) in self.names.items()}


@pytest.fixture(scope="module")
def seeder(django_db_setup, django_db_blocker, tmp_path_factory) -> Callable[[Callable], Seed]:
    """`seeder(build)`: run `build(owner)` once (it returns {name: object}) and keep what it made as a Seed."""

    def seed(build: Callable) -> Seed:
        from django.apps import apps
        from django.conf import settings
        from django.contrib.auth import get_user_model
        from django.core import serializers
        from django.core.management import call_command
        from django.test import override_settings
        from django_q.conf import Conf

        media = tmp_path_factory.mktemp("seed-media")
        storages = {
            **settings.STORAGES,
            "default": {"BACKEND": "galleries.storage.LocalMediaStorage", "OPTIONS": {"location": media}},
        }
        with (
            django_db_blocker.unblock(),
            override_settings(
                MEDIA_ROOT=media,
                STORAGES=storages,
                USE_S3=False,
                UPLOAD_TEMP_DIR=media.parent / f"{media.name}-uploads",
                UPLOAD_CHUNK_STORE="uploads.chunkstore.LocalChunkStore",
                PASSWORD_HASHERS=["django.contrib.auth.hashers.MD5PasswordHasher"],
                AVIF_SPEED=10,  # the encoders' fastest settings, as every test's (conftest._fast_and_isolated)
                WEBP_METHOD=0,
            ),
            pytest.MonkeyPatch.context() as patch,
        ):
            patch.setattr(Conf, "SYNC", True)
            try:
                owner = get_user_model().objects.create_user("seed-owner", "seed@example.com", "seed-pass-123")
                built = build(owner)
                objects = [
                    obj
                    for label in SEEDED_APPS
                    for model in apps.get_app_config(label).get_models()
                    for obj in model._base_manager.order_by("pk")
                ]
                rows = serializers.serialize("json", objects)
            finally:
                call_command("flush", interactive=False, verbosity=0)  # as a transactional test ends
        return Seed(rows, media, {name: (obj._meta.label, obj.pk) for name, obj in built.items()})

    return seed


def login(page, live_server, username: str, password: str) -> None:
    page.goto(f"{live_server.url}/admin/login/")
    page.fill("#id_username", username)
    page.fill("#id_password", password)
    page.click("input[type=submit]")
    page.wait_for_url(f"{live_server.url}/admin/")
