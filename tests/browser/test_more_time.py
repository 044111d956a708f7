"""Issue 11: a shared gallery says when it closes; "Request more time" asks its owner, in place."""

from __future__ import annotations

import io
from datetime import timedelta
from pathlib import Path

import pytest
from django.utils import timezone

from galleries import services as gallery_services
from galleries.demo import demo_jpeg
from galleries.tasks import process_asset
from notifications.models import Notification
from sharing import services

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

THANKS = "Thanks — the photographer has been asked."
ROOT = Path(__file__).resolve().parents[2]


def build_closing(owner) -> dict:
    """A private gallery of three processed photos that closes in 40 days, and a plain link to it."""
    gallery = gallery_services.gallery_create(
        owner=owner, title="Anna & Ben", visibility="private", expires_at=timezone.now() + timedelta(days=40)
    )
    for i in range(3):
        photo, _ = gallery_services.photo_add(gallery=gallery, file=io.BytesIO(demo_jpeg(i)), filename=f"IMG_{i}.jpg")
        process_asset(photo.asset_id)
    return {"link": services.share_link_create(gallery=gallery, label="Anna")}


@pytest.fixture(scope="module")
def closing_seed(seeder):
    return seeder(build_closing)


@pytest.fixture
def link(closing_seed, alice):
    return closing_seed.restore(owner=alice)["link"]


def _expected_date(link) -> str:
    return timezone.localtime(link.gallery.expires_at).strftime("%-d %B %Y")


@pytest.mark.parametrize(("name", "width", "height"), [("phone", 375, 800), ("desktop", 1440, 900)])
def test_a_client_sees_the_closing_date_and_asks_for_more_time(
    browser, live_server, link, shot, axe, name, width, height
):
    context = browser.new_context(viewport={"width": width, "height": height})
    page = context.new_page()
    errors = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    # The browser logs the 429 of the second request below as an error; that one is expected.
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" and "429" not in m.text else None)
    page.goto(f"{live_server.url}/s/{link.token}/")
    line = page.locator("#more-time .more-time-line")
    assert line.inner_text() == f"Available until {_expected_date(link)}"
    assert page.locator("#more-time").bounding_box()["y"] < height  # near the header, not below the photos
    shot(page, f"more-time-{name}")

    page.evaluate("window.__sameDocument = true")
    page.get_by_role("button", name="Request more time").click()
    note = page.locator("#more-time .more-time-note")
    note.wait_for()
    assert note.inner_text() == THANKS
    assert page.evaluate("window.__sameDocument") is True  # swapped in place, no reload
    assert page.evaluate("document.activeElement.classList.contains('more-time-note')")
    assert page.get_by_role("button", name="Request more time").count() == 0
    assert Notification.objects.filter(kind="more-time-requested").count() == 1

    assert axe(page, "#more-time") == []
    shot(page, f"more-time-{name}-asked")

    # A second request the same day (another tab still showing the button) is refused in words.
    page.evaluate(f"htmx.ajax('POST', '/s/{link.token}/more-time/', {{target: '#more-time', swap: 'innerHTML'}})")
    page.get_by_text("You asked already today").wait_for()
    assert Notification.objects.filter(kind="more-time-requested").count() == 1

    # Reloaded the same day: the page remembers, and offers no second request.
    page.reload()
    assert "You asked already today" in page.inner_text("#more-time")
    assert errors == []
    context.close()


def test_without_javascript_the_button_asks_through_a_page(browser, live_server, link, shot):
    context = browser.new_context(viewport={"width": 375, "height": 800}, java_script_enabled=False)
    page = context.new_page()
    page.goto(f"{live_server.url}/s/{link.token}/")
    page.get_by_role("button", name="Request more time").click()
    page.wait_for_url(f"{live_server.url}/s/{link.token}/more-time/ask?")
    shot(page, "more-time-nojs-ask")
    page.get_by_role("button", name="Request more time").click()  # a real form POST, CSRF checked
    page.get_by_text(THANKS).wait_for()
    assert Notification.objects.filter(kind="more-time-requested").count() == 1
    shot(page, "more-time-nojs-asked")
    context.close()
