"""The Content-Security-Policy holds on every kind of page, and nothing we ship breaks it.

The csp_violations fixture (conftest.py) fails any browser test whose pages report a violation;
these tests visit the pages with the most script: the admin, Uppy, Swagger UI and PhotoSwipe.
"""

import io

import pytest

from galleries import services
from galleries.demo import demo_jpeg
from galleries.models import Visibility
from galleries.tasks import process_asset
from tests.browser.conftest import login

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def build_gallery(owner) -> dict:
    """A public gallery of three processed photos with titles."""
    gallery = services.gallery_create(owner=owner, title="Harbour", visibility=Visibility.PUBLIC)
    for i in range(3):
        photo, _ = services.photo_add(gallery=gallery, file=io.BytesIO(demo_jpeg(i)), filename=f"IMG_{i}.jpg")
        services.photo_update(photo=photo, title=f"Photo {i + 1}", alt=f"Harbour view {i + 1}")
        process_asset(photo.asset_id)
    return {"gallery": gallery}


@pytest.fixture(scope="module")
def gallery_seed(seeder):
    return seeder(build_gallery)


@pytest.fixture
def gallery(gallery_seed, alice):
    return gallery_seed.restore(owner=alice)["gallery"]


def script_src(response) -> str:
    policy = response.headers["content-security-policy"]
    return next(part for part in policy.split(";") if part.strip().startswith("script-src"))


def test_every_page_sends_a_policy_without_inline_scripts(page, live_server, gallery, alice):
    for path in ["/", f"/g/{gallery.slug}/", "/accounts/login/", "/admin/login/", "/api/docs/"]:
        response = page.goto(f"{live_server.url}{path}")
        assert response.ok, path
        assert "'unsafe-inline'" not in script_src(response), path
        assert "'unsafe-eval'" not in script_src(response), path


def test_the_admin_the_uploader_swagger_and_the_lightbox_work_under_the_policy(
    page, live_server, gallery, alice, shot, csp_violations
):
    login(page, live_server, "alice", "alice-pass-123")
    page.goto(f"{live_server.url}/admin/galleries/gallery/")
    page.wait_for_selector("#result_list")
    assert "Harbour" in page.inner_text("#result_list")

    page.goto(f"{live_server.url}/admin/galleries/gallery/{gallery.pk}/change/")
    page.wait_for_selector("#gallery_form")

    page.goto(f"{live_server.url}/admin/galleries/gallery/{gallery.pk}/upload/")
    page.wait_for_selector(".uppy-Dashboard")  # Uppy built its dashboard: its module ran
    shot(page, "csp-admin-uploader")

    page.goto(f"{live_server.url}/api/docs/")
    page.wait_for_selector(".opblock", timeout=20_000)  # Swagger UI rendered the schema's operations
    assert page.locator(".opblock").count() > 5
    shot(page, "csp-swagger-ui")

    page.goto(f"{live_server.url}/g/{gallery.slug}/")
    page.wait_for_selector(".grid-masonry.is-laid-out")
    page.wait_for_selector(".ph img.is-loaded")  # the fade-in no longer needs an inline onload
    page.locator("#gallery-content a.photo-link").first.click()
    page.wait_for_selector(".pswp--open")
    page.wait_for_selector(".pswp__img")
    page.wait_for_timeout(400)
    assert page.inner_text(".pswp__custom-caption") == "Photo 1"
    shot(page, "csp-lightbox")
    assert csp_violations == []
    assert [e for e in page.console_errors if "401" not in e] == []


def test_an_inline_script_is_refused_and_reported(page, live_server, gallery, csp_violations):
    # The recorder itself works: an injected inline script is blocked and lands in the list.
    page.goto(f"{live_server.url}/g/{gallery.slug}/")
    page.evaluate(
        """() => { const s = document.createElement("script"); s.textContent = "window.__ran = true";
                   document.body.append(s); }"""
    )
    page.wait_for_timeout(300)
    assert page.evaluate("window.__ran === undefined")
    assert any("script-src" in v for v in csp_violations), csp_violations
    csp_violations.clear()


def test_while_the_database_is_down_visitors_see_the_friendly_page(page, live_server, gallery, monkeypatch, shot):
    from django.db import OperationalError, connections

    def refuse(self):
        raise OperationalError("connection refused")

    # Class-wide, so the live server's thread cannot reach the database either.
    monkeypatch.setattr(type(connections["default"]), "ensure_connection", refuse)
    try:
        response = page.goto(f"{live_server.url}/g/{gallery.slug}/")
        assert response.status == 503
        assert response.headers["retry-after"] == "30"
        assert "back in a few minutes" in page.inner_text("main")
        assert page.evaluate("getComputedStyle(document.body).backgroundColor") != "rgba(0, 0, 0, 0)"  # site.css
        shot(page, "database-down-page")
        api = page.request.get(f"{live_server.url}/api/v1/galleries")
        assert api.status == 503
        assert "detail" in api.json()
    finally:
        monkeypatch.undo()
