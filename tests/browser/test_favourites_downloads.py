"""Issue 13, the client's side of a shared gallery: hearts whose state shows at a glance (shape and
words, not only colour), "Show only my favourites" (with infinite scroll), a note per chosen photo,
and a download button on each tile only when the link allows downloads.

Speed: the photos are processed once per module (`links_seed`), and each test looks at its screens
in one page: the colour scheme is switched live (`emulate_media`) and the viewport resized
(`set_viewport_size`), waiting for the page to settle (masonry laid out, images in, transitions
over) instead of reloading it."""

import io
from pathlib import Path

import pytest

from galleries import pages
from galleries import services as gallery_services
from galleries.demo import demo_jpeg
from galleries.tasks import process_asset
from sharing import services
from sharing.models import Selection, SelectionNote

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

SIZES = {"phone": (375, 800), "desktop": (1440, 900)}
SCHEMES = ("light", "dark")
AXE = Path(__file__).resolve().parents[2] / "node_modules/axe-core/axe.min.js"


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


@pytest.fixture(scope="module")
def axe_source() -> str:
    """axe-core (npm, package.json), read once for the module."""
    if not AXE.is_file():
        pytest.fail("axe-core is missing from node_modules: run make (npm ci) first")
    return AXE.read_text()


def serious(page, axe_source: str) -> list[str]:
    """axe-core's serious and critical violations on the page (axe is loaded into it first).

    Every rule runs; resultTypes only spares axe building selectors for the passes it reports."""
    if not page.evaluate("typeof window.axe !== 'undefined'"):
        page.evaluate(axe_source)
    return page.evaluate(
        "axe.run(document, {resultTypes: ['violations']}).then(r => r.violations.filter(v => ['serious', 'critical'].includes(v.impact))"
        ".map(v => `${v.id}: ${v.help} ${v.nodes.map(n => n.target.join(' ')).join(', ')}`))"
    )


# Settled: HTMX has swapped and settled, the masonry has had its frames to lay out again, every
# image in view has arrived and faded in, and no transition (hover, a heart's colour, a scheme's
# colours) is still running. Waited for inside the page, one frame at a time: one round trip.
SETTLE = """async (scrollTo) => {
  if (scrollTo) document.querySelector(scrollTo).scrollIntoView({behavior: 'instant'});
  const frame = () => new Promise((r) => requestAnimationFrame(r));
  const inView = (el) => {
    const r = el.getBoundingClientRect();
    return r.width > 0 && r.bottom > 0 && r.top < innerHeight && r.right > 0 && r.left < innerWidth;
  };
  const settled = () => !document.querySelector('.htmx-request, .htmx-swapping, .htmx-settling, .htmx-added')
    && [...document.querySelectorAll('.ph img')].filter(inView)
      .every((img) => img.complete && img.classList.contains('is-loaded'))
    && !document.getAnimations().some((a) => a instanceof CSSTransition && a.playState === 'running');
  await frame();
  await frame();
  const deadline = performance.now() + 15000;
  while (!settled()) {
    if (performance.now() > deadline) throw new Error('the page did not settle in 15 s');
    await frame();
  }
}"""


def settle(page, scroll_to: str | None = None) -> None:
    page.evaluate(SETTLE, scroll_to)


def view(page, size: str, scheme: str) -> None:
    """Show the open page at this size and in this colour scheme, live, and let it settle."""
    width, height = SIZES[size]
    if page.viewport_size != {"width": width, "height": height}:
        page.set_viewport_size({"width": width, "height": height})
    page.emulate_media(color_scheme=scheme)
    settle(page)


def open_page(browser, url: str, size: str, scheme: str = "light"):
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
    """Scroll so the screenshot shows the link's actions above the photos; let transitions end.

    Instantly: the gallery page scrolls smoothly (brand.css), and the screenshot would catch it moving."""
    settle(page, ".link-actions")


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


def test_a_client_chooses_writes_a_note_and_filters_their_favourites(browser, live_server, links, shot, axe_source):
    """The whole visit in one page, each screen seen at both sizes and in both schemes; the clicks
    alternate between phone and desktop sizes, so both are exercised."""
    link = links["downloads"]
    context, page = open_page(browser, f"{live_server.url}/s/{link.token}/", "phone")
    # Downloads: a button on every tile, and the contract with the lightbox on every figure.
    assert page.locator(".item .tile-download").count() == 6
    first = page.locator("figure.item").first
    assert first.get_attribute("data-download").endswith("/download?size=original")
    assert first.get_attribute("data-download-label") == "Download full size"
    assert page.get_by_role("link", name="Download all, web size").get_attribute("href").endswith("?size=web")
    assert page.get_by_role("link", name="Download all, full size").get_attribute("href").endswith("download.zip")

    before = {}
    for size in SIZES:
        view(page, size, "light")
        before[size] = heart_look(page, 0)
    # At desktop size: the first heart (the name is asked once); at phone size: the fourth.
    page.locator(".heart").nth(0).click()
    page.fill("#fav-name-input", "Anna")
    page.click("#fav-name button[value=ok]")
    page.wait_for_selector(".fav-count:has-text('1 chosen')")
    view(page, "phone", "light")
    page.locator(".heart").nth(3).click()
    page.wait_for_selector(".fav-count:has-text('2 chosen')")
    for size in SIZES:
        view(page, size, "light")
        chosen, other = heart_look(page, 0), heart_look(page, 1)
        # Chosen and not chosen differ in shape (filled or outline), words and ring, not only in colour.
        assert chosen["pressed"] == "true" and other["pressed"] == "false" and before[size] == other
        assert other["fill"] == "none" and chosen["fill"] != "none"
        assert chosen["words"] == "Chosen" and other["words"] == ""
        assert chosen["ring"] == "3px" and other["ring"] == "0px"
        assert chosen["background"] != other["background"]

    # A note on a chosen photo (only chosen photos offer one), written at desktop size.
    assert page.locator(".note-button:not([hidden])").count() == 2
    page.locator(".item").nth(0).locator(".note-button").click()
    page.fill("#fav-note-text", "Could this one be in black and white?")
    assert page.inner_text("#fav-note-count") == "37 of 500 characters"
    for size in ("desktop", "phone"):
        for scheme in SCHEMES:
            view(page, size, scheme)
            if size == "phone":
                shot(page, f"client-note-dialog-{size}-{scheme}")
            assert serious(page, axe_source) == [], (size, scheme)
    page.click("#fav-note button[value=ok]")
    page.wait_for_selector(".item >> nth=0 >> .note-button.has-note")
    assert SelectionNote.objects.get().text == "Could this one be in black and white?"
    page.mouse.move(1, 1)
    for size in SIZES:
        for scheme in SCHEMES:
            view(page, size, scheme)
            show_panel_and_grid(page)
            shot(page, f"client-favourites-{size}-{scheme}")
            assert serious(page, axe_source) == [], (size, scheme)

    # Only my favourites (at desktop size): its own address, the two chosen photos, the toggle pressed.
    page.get_by_role("button", name="Show only my favourites").click()
    page.wait_for_url("**/favourites/**")
    page.wait_for_selector(".heart:not([hidden])")
    assert page.locator("#gallery-content .item").count() == 2
    assert page.get_by_role("button", name="Show only my favourites").get_attribute("aria-pressed") == "true"
    assert page.locator(".note-button.has-note").count() == 1
    for size in ("desktop", "phone"):
        for scheme in SCHEMES:
            view(page, size, scheme)
            shot(page, f"client-only-favourites-{size}-{scheme}")
            assert serious(page, axe_source) == [], (size, scheme)
    # Un-choosing a photo here (at phone size) takes it out of the view.
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
    for size in SIZES:
        for scheme in SCHEMES:
            view(page, size, scheme)
            show_panel_and_grid(page)
            shot(page, f"client-tiles-{size}-{scheme}")
            assert heart_look(page, 0)["fill"] != "none" and heart_look(page, 1)["fill"] == "none"
            assert serious(page, axe_source) == [], (size, scheme)
    assert page.errors == []
    context.close()


def test_the_favourites_view_scrolls_on_without_showing_other_photos(browser, live_server, links, monkeypatch):
    link = links["downloads"]
    photos = list(link.gallery.photos.order_by("position"))
    picked = [photos[0], photos[2], photos[5]]
    context, page = open_page(browser, f"{live_server.url}/s/{link.token}/", "desktop")
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
    # The last page has come when the sentinel is gone (no further page can be asked for then).
    page.wait_for_function(
        "document.querySelectorAll('#gallery-content .item').length >= 3 && !document.querySelector('.sentinel')"
    )
    shown = page.eval_on_selector_all("#gallery-content .item", "items => items.map(i => i.dataset.id)")
    assert shown == [str(p.pk) for p in picked]
    assert page.locator(".sentinel").count() == 0
    assert page.errors == []
    context.close()


def test_a_link_without_downloads_shows_no_download_button(browser, live_server, links, shot, axe_source):
    link = links["plain"]
    context, page = open_page(browser, f"{live_server.url}/s/{link.token}/", "desktop")
    assert page.locator(".tile-download").count() == 0
    assert page.locator("[data-download]").count() == 0
    assert page.locator("a[href*='download']").count() == 0
    assert page.locator(".heart:not([hidden])").count() == 6
    for scheme in SCHEMES:
        view(page, "desktop", scheme)
        shot(page, f"client-no-downloads-desktop-{scheme}")
        assert serious(page, axe_source) == [], scheme
    # The door refuses too, with a page that says why.
    photo = link.gallery.photos.order_by("position").first()
    response = page.goto(f"{live_server.url}/s/{link.token}/p/{photo.pk}/download?size=web")
    assert response.status == 404 and "Downloads are not enabled" in page.inner_text("main")
    context.close()


def test_a_size_the_link_does_not_offer_is_refused_in_words(browser, live_server, links, shot, axe_source):
    link = links["downloads"]
    services.share_link_update(link=link, download_sizes="web")
    context = browser.new_context(viewport={"width": 375, "height": 800}, color_scheme="light")
    page = context.new_page()
    page.goto(f"{live_server.url}/s/{link.token}/")
    assert page.locator("figure.item").first.get_attribute("data-download-label") == "Download web size"
    photo = link.gallery.photos.order_by("position").first()
    response = page.goto(f"{live_server.url}/s/{link.token}/p/{photo.pk}/download?size=original")
    assert response.status == 403 and "offers web size downloads only" in page.inner_text("main")
    for scheme in SCHEMES:
        page.emulate_media(color_scheme=scheme)
        settle(page)
        shot(page, f"client-download-refused-phone-{scheme}")
        assert serious(page, axe_source) == [], scheme
    context.close()
