"""Issue 13, the client's side of a shared gallery: hearts whose state shows at a glance (shape and
words, not only colour), "Show only my favourites" (with infinite scroll), a note per chosen photo,
and a download button on each tile only when the link allows downloads."""

import io

import pytest

from galleries import pages
from galleries import services as gallery_services
from galleries.demo import demo_jpeg
from galleries.tasks import process_asset
from sharing import services
from sharing.models import Selection, SelectionNote

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

SIZES = {"phone": (375, 800), "desktop": (1440, 900)}


def build_links(owner) -> dict:
    """A private gallery of six processed photos; a link that allows both download sizes and one
    that allows none."""
    gallery = gallery_services.gallery_create(owner=owner, title="Anna & Ben", visibility="private")
    for i in range(6):
        photo, _ = gallery_services.photo_add(gallery=gallery, file=io.BytesIO(demo_jpeg(i)), filename=f"IMG_{i}.jpg")
        process_asset(photo.asset_id)
    return {
        "downloads": services.share_link_create(gallery=gallery, label="Anna", allow_download=True),
        "plain": services.share_link_create(gallery=gallery, label="Ben"),
    }


@pytest.fixture(scope="module")
def links_seed(seeder):
    return seeder(build_links)


@pytest.fixture
def links(links_seed, alice):
    return links_seed.restore(owner=alice)


def serious(page, axe) -> list[str]:
    """axe-core's serious and critical violations on the page (the fixture loads axe first)."""
    axe(page)
    return page.evaluate(
        "axe.run(document).then(r => r.violations.filter(v => ['serious', 'critical'].includes(v.impact))"
        ".map(v => `${v.id}: ${v.help} ${v.nodes.map(n => n.target.join(' ')).join(', ')}`))"
    )


def open_page(browser, url: str, size: str, scheme: str):
    width, height = SIZES[size]
    context = browser.new_context(viewport={"width": width, "height": height}, color_scheme=scheme)
    page = context.new_page()
    page.errors = []
    page.on("pageerror", lambda e: page.errors.append(str(e)))
    page.on("console", lambda m: page.errors.append(m.text) if m.type == "error" else None)
    page.goto(url)
    page.wait_for_selector(".heart:not([hidden])")
    return context, page


def show_panel_and_grid(page) -> None:
    """Scroll so the screenshot shows the link's actions above the photos; let transitions end."""
    page.evaluate("document.querySelector('.link-actions').scrollIntoView()")
    page.wait_for_timeout(300)


def heart_look(page, index: int) -> dict:
    """What a sighted visitor sees of a heart: the fill of its shape, its background, its words."""
    return page.evaluate(
        """(i) => {
          const heart = document.querySelectorAll('.heart')[i];
          const svg = heart.querySelector('svg');
          const words = getComputedStyle(heart, '::after').content;
          return {pressed: heart.getAttribute('aria-pressed'), fill: getComputedStyle(svg).fill,
                  background: getComputedStyle(heart).backgroundColor,
                  words: words === 'none' ? '' : words.split('/')[0].trim().replaceAll('"', ''),
                  ring: getComputedStyle(heart.closest('.item'), '::after').borderTopWidth};
        }""",
        index,
    )


@pytest.mark.parametrize("scheme", ["light", "dark"])
@pytest.mark.parametrize("size", ["phone", "desktop"])
def test_a_client_chooses_writes_a_note_and_filters_their_favourites(
    browser, live_server, links, shot, axe, size, scheme
):
    link = links["downloads"]
    context, page = open_page(browser, f"{live_server.url}/s/{link.token}/", size, scheme)
    # Downloads: a button on every tile, and the contract with the lightbox on every figure.
    assert page.locator(".item .tile-download").count() == 6
    first = page.locator("figure.item").first
    assert first.get_attribute("data-download").endswith("/download?size=original")
    assert first.get_attribute("data-download-label") == "Download full size"
    assert page.get_by_role("link", name="Download all, web size").get_attribute("href").endswith("?size=web")
    assert page.get_by_role("link", name="Download all, full size").get_attribute("href").endswith("download.zip")

    before = heart_look(page, 0)
    page.locator(".heart").nth(0).click()
    page.fill("#fav-name-input", "Anna")
    page.click("#fav-name button[value=ok]")
    page.wait_for_selector(".fav-count:has-text('1 chosen')")
    page.locator(".heart").nth(3).click()
    page.wait_for_selector(".fav-count:has-text('2 chosen')")
    chosen, other = heart_look(page, 0), heart_look(page, 1)
    # Chosen and not chosen differ in shape (filled or outline), words and ring, not only in colour.
    assert chosen["pressed"] == "true" and other["pressed"] == "false" and before == other
    assert other["fill"] == "none" and chosen["fill"] != "none"
    assert chosen["words"] == "Chosen" and other["words"] == ""
    assert chosen["ring"] == "3px" and other["ring"] == "0px"
    assert chosen["background"] != other["background"]

    # A note on a chosen photo (only chosen photos offer one).
    assert page.locator(".note-button:not([hidden])").count() == 2
    page.locator(".item").nth(0).locator(".note-button").click()
    page.fill("#fav-note-text", "Could this one be in black and white?")
    assert page.inner_text("#fav-note-count") == "37 of 500 characters"
    if size == "phone":
        page.wait_for_timeout(200)
        shot(page, f"client-note-dialog-{size}-{scheme}")
    assert serious(page, axe) == []
    page.click("#fav-note button[value=ok]")
    page.wait_for_selector(".item >> nth=0 >> .note-button.has-note")
    assert SelectionNote.objects.get().text == "Could this one be in black and white?"
    page.mouse.move(1, 1)
    show_panel_and_grid(page)
    shot(page, f"client-favourites-{size}-{scheme}")
    assert serious(page, axe) == []

    # Only my favourites: its own address, the two chosen photos, the toggle pressed.
    page.get_by_role("button", name="Show only my favourites").click()
    page.wait_for_url("**/favourites/**")
    page.wait_for_selector(".heart:not([hidden])")
    assert page.locator("#gallery-content .item").count() == 2
    assert page.get_by_role("button", name="Show only my favourites").get_attribute("aria-pressed") == "true"
    assert page.locator(".note-button.has-note").count() == 1
    page.wait_for_timeout(300)
    shot(page, f"client-only-favourites-{size}-{scheme}")
    assert serious(page, axe) == []
    # Un-choosing a photo here takes it out of the view.
    page.locator(".heart[aria-pressed=true]").nth(1).click()
    page.wait_for_selector(".fav-count:has-text('1 chosen')")
    assert page.locator("#gallery-content .item").count() == 1
    page.get_by_role("button", name="Show only my favourites").click()
    page.wait_for_url(f"**/s/{link.token}/?layout=*")
    assert page.locator("#gallery-content .item").count() == 6
    assert Selection.objects.get().photos.count() == 1
    # The tiles layout: on a phone its small tiles keep the icons (filled or outline) without words.
    page.get_by_role("link", name="Tiles").click()
    page.wait_for_selector("#gallery-content[data-layout=tiles] .heart[aria-pressed=true]")
    show_panel_and_grid(page)
    shot(page, f"client-tiles-{size}-{scheme}")
    assert heart_look(page, 0)["fill"] != "none" and heart_look(page, 1)["fill"] == "none"
    assert serious(page, axe) == []
    assert page.errors == []
    context.close()


def test_the_favourites_view_scrolls_on_without_showing_other_photos(browser, live_server, links, monkeypatch):
    link = links["downloads"]
    photos = list(link.gallery.photos.order_by("position"))
    picked = [photos[0], photos[2], photos[5]]
    context, page = open_page(browser, f"{live_server.url}/s/{link.token}/", "desktop", "light")
    page.evaluate(
        """async ([url, ids]) => {
          const csrf = JSON.parse(document.body.getAttribute('hx-headers'))['X-CSRFToken'];
          await fetch(url, {method: 'POST', headers: {'Content-Type': 'application/json', 'X-CSRFToken': csrf},
                            body: JSON.stringify({add: ids, name: 'Anna'})});
        }""",
        [f"/api/v1/shared/{link.token}/selection", [str(p.pk) for p in picked]],
    )
    monkeypatch.setattr(pages, "PAGE_SIZE", 2)  # the live server runs in this process
    page.goto(f"{live_server.url}/s/{link.token}/favourites/?layout=tiles")
    page.wait_for_selector(".heart:not([hidden])")
    page.mouse.wheel(0, 4000)
    page.wait_for_function("document.querySelectorAll('#gallery-content .item').length === 3")
    page.wait_for_timeout(300)
    shown = page.eval_on_selector_all("#gallery-content .item", "items => items.map(i => i.dataset.id)")
    assert shown == [str(p.pk) for p in picked]
    assert page.locator(".sentinel").count() == 0
    assert page.errors == []
    context.close()


@pytest.mark.parametrize("scheme", ["light", "dark"])
def test_a_link_without_downloads_shows_no_download_button(browser, live_server, links, shot, axe, scheme):
    link = links["plain"]
    context, page = open_page(browser, f"{live_server.url}/s/{link.token}/", "desktop", scheme)
    assert page.locator(".tile-download").count() == 0
    assert page.locator("[data-download]").count() == 0
    assert page.locator("a[href*='download']").count() == 0
    assert page.locator(".heart:not([hidden])").count() == 6
    shot(page, f"client-no-downloads-desktop-{scheme}")
    assert serious(page, axe) == []
    # The door refuses too, with a page that says why.
    photo = link.gallery.photos.order_by("position").first()
    response = page.goto(f"{live_server.url}/s/{link.token}/p/{photo.pk}/download?size=web")
    assert response.status == 404 and "Downloads are not enabled" in page.inner_text("main")
    context.close()


@pytest.mark.parametrize("scheme", ["light", "dark"])
def test_a_size_the_link_does_not_offer_is_refused_in_words(browser, live_server, links, shot, axe, scheme):
    link = links["downloads"]
    services.share_link_update(link=link, download_sizes="web")
    context = browser.new_context(viewport={"width": 375, "height": 800}, color_scheme=scheme)
    page = context.new_page()
    page.goto(f"{live_server.url}/s/{link.token}/")
    assert page.locator("figure.item").first.get_attribute("data-download-label") == "Download web size"
    photo = link.gallery.photos.order_by("position").first()
    response = page.goto(f"{live_server.url}/s/{link.token}/p/{photo.pk}/download?size=original")
    assert response.status == 403 and "offers web size downloads only" in page.inner_text("main")
    shot(page, f"client-download-refused-phone-{scheme}")
    assert serious(page, axe) == []
    context.close()
