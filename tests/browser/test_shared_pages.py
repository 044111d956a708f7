import io

import pytest

from galleries import services as gallery_services
from galleries.demo import demo_jpeg
from galleries.tasks import process_asset
from sharing import services
from sharing.models import Selection

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def build_link(owner) -> dict:
    """A private gallery of four processed photos and a password link to it that allows downloads."""
    gallery = gallery_services.gallery_create(owner=owner, title="Anna & Ben", visibility="private")
    for i in range(4):
        photo, _ = gallery_services.photo_add(gallery=gallery, file=io.BytesIO(demo_jpeg(i)), filename=f"IMG_{i}.jpg")
        process_asset(photo.asset_id)
    link = services.share_link_create(
        gallery=gallery, label="Anna", password="wedding-2026", allow_download=True, selection_quota=3
    )
    return {"link": link}


@pytest.fixture(scope="module")
def link_seed(seeder):
    return seeder(build_link)


@pytest.fixture
def link(link_seed, alice):
    return link_seed.restore(owner=alice)["link"]


def test_a_client_unlocks_favours_and_sends_a_selection(browser, live_server, link, shot):
    context = browser.new_context(viewport={"width": 1440, "height": 900})
    page = context.new_page()
    errors = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" and "401" not in m.text else None)
    page.goto(f"{live_server.url}/s/{link.token}/")
    shot(page, "shared-password-form")
    page.fill("#id_password", "wedding-2026")
    page.click("button[type=submit]")
    page.wait_for_selector(".heart:not([hidden])")
    assert page.get_attribute("a[download][href$='download.zip']", "href").endswith("download.zip")
    page.click(".heart >> nth=0")
    page.fill("#fav-name-input", "Anna")
    page.click("#fav-name button[value=ok]")
    page.wait_for_selector(".fav-count:has-text('1 chosen of up to 3')")
    page.click("#gallery-content a.photo-link >> nth=1")
    page.wait_for_selector(".pswp--open")
    page.wait_for_timeout(500)  # the opening animation ignores keys
    page.click(".pswp__button--heart")
    page.wait_for_selector(".fav-count:has-text('2 chosen')")
    page.keyboard.press("Escape")
    page.wait_for_selector(".pswp--open", state="detached")
    shot(page, "shared-favourites")
    page.click(".fav-submit")
    page.fill("#fav-note-input", "Can we have these in colour and black and white?")
    page.click("#fav-submit button[value=ok]")
    page.wait_for_selector(".fav-count:has-text('2 sent to the photographer')")
    selection = Selection.objects.get()
    assert selection.name == "Anna" and selection.submitted_at and selection.photos.count() == 2
    assert errors == []
    context.close()


def test_an_expired_link_shows_a_friendly_page(browser, live_server, link, shot):
    from datetime import timedelta

    from django.utils import timezone

    services.share_link_update(link=link, expires_at=None)
    link.expires_at = timezone.now() - timedelta(minutes=1)
    link.save()
    context = browser.new_context(viewport={"width": 375, "height": 800})
    page = context.new_page()
    response = page.goto(f"{live_server.url}/s/{link.token}/")
    assert response.status == 410
    assert "This link has expired" in page.inner_text("main")
    shot(page, "shared-expired-phone")
    context.close()
