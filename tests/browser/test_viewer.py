"""The viewer (issue 13): the lightbox, the balanced masonry, the slideshow and a photo's own page.

Each test looks at the page as a visitor would: what is on screen, where, and what a screen reader
is told. Screenshots (test-artifacts/viewer-*.png) at 375x800 and 1440x900, light and dark."""

import functools
import io

import pytest
from PIL import Image
from playwright.sync_api import expect

from galleries import services
from galleries.demo import demo_jpeg
from galleries.models import Visibility
from galleries.tasks import process_asset
from sharing import services as sharing_services
from tests.browser.conftest import AXE

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

VIEWPORTS = {"phone": {"width": 375, "height": 800}, "desktop": {"width": 1440, "height": 900}}
TITLES = ["Meadow path", "Harbour wall", "", "Low tide", "Cliff steps", "Dune grass", "Lighthouse", "Rock pools",
          "Salt marsh", "Sea fog", "Boathouse", "Pier at dusk", "Gorse", "Headland"]  # fmt: skip
SERIOUS = ("serious", "critical")
CLS_WHILE_SCROLLING = """
async () => {
  let cls = 0;
  new PerformanceObserver((list) => {
    for (const entry of list.getEntries()) if (!entry.hadRecentInput) cls += entry.value;
  }).observe({ type: "layout-shift", buffered: true });
  const frame = () => new Promise((resolve) => requestAnimationFrame(resolve));
  const count = () => document.querySelectorAll("#gallery-content .item").length;
  for (let i = 0; i < 40 && document.querySelector("#gallery-content .sentinel"); i += 1) {
    const before = count();
    window.scrollTo(0, document.documentElement.scrollHeight);
    // Until the next page has joined (or the sentinel is gone): a condition, not a fixed wait.
    for (let t = 0; t < 600 && count() === before && document.querySelector("#gallery-content .sentinel"); t += 1) {
      await frame();
    }
  }
  // Every photo decoded and two frames drawn: any shift they cause has been observed.
  await Promise.all(Array.from(document.images, (img) => img.decode().catch(() => null)));
  await frame();
  await frame();
  return cls;
}
"""


def build_viewer(owner) -> dict:
    """A public gallery of 14 processed photos of varied shapes (the third untitled), and two share
    links to it: one that allows downloads, one that does not."""
    gallery = services.gallery_create(
        owner=owner, title="Coast & hills", description="A day out.", visibility=Visibility.PUBLIC
    )
    for i, title in enumerate(TITLES):
        photo, _ = services.photo_add(gallery=gallery, file=io.BytesIO(demo_jpeg(i)), filename=f"IMG_{i:02}.jpg")
        services.photo_update(photo=photo, title=title, alt=f"Generated landscape number {i + 1}")
        process_asset(photo.asset_id)
    downloads = sharing_services.share_link_create(gallery=gallery, label="Anna", allow_download=True)
    plain = sharing_services.share_link_create(gallery=gallery, label="Ben")
    return {"gallery": gallery, "downloads": downloads, "plain": plain}


@pytest.fixture(scope="module")
def viewer_seed(seeder):
    return seeder(build_viewer)


@pytest.fixture
def viewer(viewer_seed, alice, monkeypatch):
    """alice's gallery and links; ten photos to a page, so later pages scroll in."""
    from galleries import pages

    monkeypatch.setattr(pages, "PAGE_SIZE", 10)
    return viewer_seed.restore(owner=alice)


def _open(browser, viewport, scheme="light", **options):
    context = browser.new_context(viewport=VIEWPORTS[viewport], color_scheme=scheme, **options)
    page = context.new_page()
    page.errors = []
    page.on("console", lambda m: page.errors.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda e: page.errors.append(str(e)))
    return context, page


@functools.cache
def axe_source() -> str:
    if not AXE.is_file():
        pytest.fail("axe-core is missing from node_modules: run make (npm ci) first")
    return AXE.read_text()


def serious(axe, page, context=None) -> list[str]:
    """axe's serious and critical violations on the page (or within `context`)."""
    if not page.evaluate("typeof window.axe !== 'undefined'"):
        page.evaluate(axe_source())  # load axe-core without a first, discarded run
    target = "document" if context is None else repr(context)
    return page.evaluate(
        f"axe.run({target}).then(r => r.violations.filter(v => {list(SERIOUS)!r}.includes(v.impact))"
        ".map(v => `${v.id}: ${v.help} (${v.nodes.length})`))"
    )


# cs-show is the stylesheet's safety net (it reveals a photo or grid after 2-3 s if the script never
# does), not a motion to wait for; endless animations (spinners) never settle.
SETTLED = """
() => document.getAnimations().every(
  (a) => a.playState !== "running" || a.animationName === "cs-show"
    || a.effect?.getComputedTiming().endTime === Infinity)
"""
# The photos on screen have loaded (lazy ones further down, and hidden slides, are not waited for).
IMAGES_LOADED = """
() => Array.from(document.images)
  .filter((img) => { const r = img.getBoundingClientRect(); return r.width > 0 && r.bottom > 0 && r.top < innerHeight; })
  .every((img) => img.complete)
"""


def settle(page):
    """Waits until every finite animation and transition (fades, slides) has ended."""
    page.wait_for_function(SETTLED)


def open_lightbox(page, n=0):
    page.wait_for_selector('#gallery-content[data-lightbox="ready"]')  # a click before that opens the photo page
    page.locator("#gallery-content a.photo-link").nth(n).click()
    page.wait_for_selector(".pswp--open")
    page.wait_for_timeout(500)  # the opening fade (no condition found yet that PhotoSwipe has bound its keys)


def pixels(path, box):
    """The (r, g, b) pixels of a screenshot inside box = (left, top, right, bottom)."""
    data = Image.open(path).convert("RGB").crop(box).tobytes()
    return [tuple(data[i : i + 3]) for i in range(0, len(data), 3)]


def luminance(path, box) -> float:
    data = pixels(path, box)
    return sum(0.2126 * r + 0.7152 * g + 0.0722 * b for r, g, b in data) / len(data)


# --- Lightbox --------------------------------------------------------------------------------------


def test_the_lightbox_is_an_opaque_named_dialog(browser, live_server, viewer, shot, axe):
    """Each screen size once; light and dark switched live on the same open lightbox."""
    gallery = viewer["gallery"]
    for viewport in VIEWPORTS:
        context, page = _open(browser, viewport)
        page.goto(f"{live_server.url}/g/{gallery.slug}/")
        page.wait_for_selector(".grid-masonry.is-laid-out")
        open_lightbox(page)
        root = page.locator(".pswp")
        assert root.get_attribute("role") == "dialog"
        assert root.get_attribute("aria-label") == "Photo viewer: Coast & hills"
        for scheme in ("light", "dark"):
            page.emulate_media(color_scheme=scheme)
            settle(page)
            style = page.evaluate(
                "(() => { const s = getComputedStyle(document.querySelector('.pswp__bg'));"
                " return {opacity: s.opacity, colour: s.backgroundColor}; })()"
            )
            assert style == {"opacity": "1", "colour": "rgb(11, 11, 10)"}, scheme
            path = shot(page, f"viewer-lightbox-{viewport}-{scheme}")
            # The band of the bar between the counter and the buttons is the stage's colour alone: no
            # header, no page behind it. (Without the opaque stage the site header shows there.)
            width = VIEWPORTS[viewport]["width"]
            band = pixels(path, (100, 4, width - 280 if viewport == "desktop" else width - 130, 52))
            assert all(max(abs(r - 11), abs(g - 11), abs(b - 10)) <= 3 for r, g, b in band), scheme
            # The photo keeps clear of the bar: it starts below it.
            top = page.evaluate(
                "document.querySelector('.pswp__item[aria-hidden=\"false\"] img.pswp__img').getBoundingClientRect().top"
            )
            assert top >= 56
            assert serious(axe, page, ".pswp") == [], (viewport, scheme)
        assert page.errors == []
        context.close()


def test_the_lightbox_counts_the_whole_gallery_and_walks_into_later_pages(browser, live_server, viewer):
    gallery = viewer["gallery"]
    context, page = _open(browser, "desktop")
    page.goto(f"{live_server.url}/g/{gallery.slug}/")
    page.wait_for_selector(".grid-masonry.is-laid-out")
    assert page.locator("#gallery-content .item").count() == 10  # one page of ten
    open_lightbox(page)
    expect(page.locator(".pswp__counter")).to_have_text("1 / 14")
    for n in range(2, 14):
        page.keyboard.press("ArrowRight")
        expect(page.locator(".pswp__counter")).to_have_text(f"{n} / 14")
        if n == 10:  # the last of page one: page two must have joined before walking on
            expect(page.locator("#gallery-content .item")).to_have_count(14)
        settle(page)
    expect(page.locator(".pswp__custom-caption")).to_have_text("Gorse")  # the 13th, from page two
    assert page.url.endswith(page.locator("#gallery-content a.photo-link").nth(12).get_attribute("href"))
    page.keyboard.press("ArrowRight")
    page.keyboard.press("ArrowRight")  # round to the first again
    expect(page.locator(".pswp__counter")).to_have_text("1 / 14")
    assert page.errors == []
    context.close()


@pytest.mark.parametrize("viewport", ["phone", "desktop"])
def test_the_lightbox_heart_shows_its_state_without_colour(browser, live_server, viewer, shot, viewport):
    link = viewer["plain"]
    context, page = _open(browser, viewport)
    page.on("console", lambda m: None)
    page.errors = []
    page.goto(f"{live_server.url}/s/{link.token}/")
    page.wait_for_selector(".heart:not([hidden])")
    open_lightbox(page)
    heart = page.locator(".pswp__button--heart")
    assert heart.get_attribute("aria-pressed") == "false"
    assert heart.get_attribute("aria-label") == "Favourite"
    box = heart.bounding_box()
    area = (int(box["x"]), int(box["y"]), int(box["x"] + box["width"]), int(box["y"] + box["height"]))
    off = shot(page, f"viewer-lightbox-heart-off-{viewport}")
    if viewport == "desktop":
        assert heart.inner_text() == "Favourite"
    heart.click()
    page.fill("#fav-name-input", "Anna")  # the name is asked once, over the lightbox
    page.click("#fav-name button[value=ok]")
    expect(heart).to_have_attribute("aria-pressed", "true")
    page.wait_for_selector(".fav-count:has-text('1 chosen')")
    settle(page)
    on = shot(page, f"viewer-lightbox-heart-on-{viewport}")
    if viewport == "desktop":
        assert heart.inner_text() == "Chosen"
    # Filled, not outlined, and a tick appears: a change of shape.
    fill = page.evaluate("getComputedStyle(document.querySelector('.pswp__button--heart .cs-heart')).fill")
    assert fill not in ("none", "")
    assert page.locator(".pswp__button--heart .cs-check").is_visible()
    # In grey alone the two states are far apart: a light pill against the dark bar.
    assert luminance(on, area) - luminance(off, area) > 80
    # The grid's heart agrees once the lightbox closes.
    page.keyboard.press("Escape")
    page.wait_for_selector(".pswp--open", state="detached")
    assert page.get_attribute(".heart >> nth=0", "aria-pressed") == "true"
    assert page.errors == []
    context.close()


def test_the_lightbox_offers_a_download_only_where_the_tile_does(browser, live_server, viewer, shot):
    gallery = viewer["gallery"]
    context, page = _open(browser, "desktop")
    page.goto(f"{live_server.url}/g/{gallery.slug}/")
    page.wait_for_selector(".grid-masonry.is-laid-out")
    # The contract with the tiles: data-download and data-download-label on figure.item.
    page.evaluate(
        "(() => { const item = document.querySelectorAll('#gallery-content .item')[1];"
        " item.dataset.download = '/some/photo/download?size=web'; item.dataset.downloadLabel = 'Download web size'; })()"
    )
    open_lightbox(page, 0)
    download = page.locator(".pswp__button--download")
    expect(download).to_be_hidden()
    page.keyboard.press("ArrowRight")
    expect(download).to_be_visible()
    assert download.get_attribute("href") == "/some/photo/download?size=web"
    assert download.get_attribute("download") == ""
    assert download.get_attribute("aria-label") == "Download web size"
    assert download.inner_text() == "Download web size"
    page.keyboard.press("ArrowRight")
    expect(download).to_be_hidden()
    assert page.errors == []
    context.close()


def test_a_link_that_allows_downloads_downloads_from_the_lightbox(browser, live_server, viewer, shot):
    for viewport in VIEWPORTS:
        link = viewer["downloads"]
        context, page = _open(browser, viewport, accept_downloads=True)
        page.goto(f"{live_server.url}/s/{link.token}/")
        page.wait_for_selector("#gallery-content .item")
        tile_url = page.get_attribute("#gallery-content .item >> nth=0", "data-download")
        assert tile_url, "the tiles of a link that allows downloads carry data-download"
        open_lightbox(page)
        download = page.locator(".pswp__button--download")
        expect(download).to_be_visible()
        assert download.get_attribute("href") == tile_url
        shot(page, f"viewer-lightbox-download-{viewport}")
        with page.expect_download() as info:
            download.click()
        assert info.value.suggested_filename.endswith((".jpg", ".webp", ".jpeg"))
        # A link without downloads: no button.
        page.goto(f"{live_server.url}/s/{viewer['plain'].token}/")
        page.wait_for_selector("#gallery-content .item")
        assert page.locator("#gallery-content .item[data-download]").count() == 0
        open_lightbox(page)
        expect(page.locator(".pswp__button--download")).to_be_hidden()
        context.close()


# --- Masonry ---------------------------------------------------------------------------------------

MASONRY_GEOMETRY = """
(() => {
  const items = Array.from(document.querySelectorAll("#gallery-content .item"));
  return items.map((item) => {
    const box = item.getBoundingClientRect();
    const link = item.querySelector(".photo-link").getBoundingClientRect();
    const img = item.querySelector("img").getBoundingClientRect();
    return { x: box.left + scrollX, y: box.top + scrollY, bottom: box.bottom + scrollY, height: box.height,
             linkHeight: link.height, linkBottom: link.bottom, imgBottom: img.bottom, imgHeight: img.height,
             fit: getComputedStyle(item.querySelector("img")).objectFit };
  });
})()
"""
# The grid has been laid out for its present width (the ResizeObserver has run) and nothing moves.
RELAID = """
() => { const grid = document.querySelector(".grid-masonry");
        return grid.dataset.width === String(Math.round(grid.clientWidth)); }
"""


def masonry_columns(page) -> dict[int, list]:
    columns: dict[int, list] = {}
    for box in page.evaluate(MASONRY_GEOMETRY):
        columns.setdefault(round(box["x"]), []).append(box)
    return columns


def assert_masonry_level(page, viewport, scheme):
    """Every page appended; level column bottoms; whole-pixel tiles with no sliver; reading order."""
    expect(page.locator("#gallery-content .item")).to_have_count(14)
    assert page.locator("#gallery-content .sentinel").count() == 0
    boxes = page.evaluate(MASONRY_GEOMETRY)
    columns = masonry_columns(page)
    assert len(columns) == (2 if viewport == "phone" else 4)
    bottoms = [max(b["bottom"] for b in column) for column in columns.values()]
    assert max(bottoms) - min(bottoms) <= 1, (viewport, scheme, bottoms)
    for box in boxes:
        assert box["linkHeight"] == round(box["linkHeight"])  # whole pixels
        assert abs(box["height"] - box["linkHeight"]) < 0.5
        assert abs(box["imgBottom"] - box["linkBottom"]) < 0.5  # no sliver under the photo
        assert box["fit"] == "cover"
    # Reading order as before: the first row is the first photos, left to right.
    first_row = boxes[: len(columns)]
    assert [b["x"] for b in first_row] == sorted(b["x"] for b in first_row)
    assert len({round(b["y"]) for b in first_row}) == 1


def test_masonry_columns_end_level_without_slivers(browser, live_server, viewer, shot, axe):
    """Each screen size in light, then reloaded in dark (the scrolling is measured in both schemes);
    on the desktop the same page is then resized and must re-lay out level."""
    gallery = viewer["gallery"]
    for viewport in VIEWPORTS:
        context, page = _open(browser, viewport)
        for scheme in ("light", "dark"):
            page.emulate_media(color_scheme=scheme)
            page.goto(f"{live_server.url}/g/{gallery.slug}/?layout=masonry")
            page.wait_for_selector(".grid-masonry.is-laid-out")
            cls = page.evaluate(CLS_WHILE_SCROLLING)  # every page appended
            print(f"\nmasonry {viewport} {scheme}: CLS while scrolling {cls:.4f}")
            assert cls < 0.05
            assert_masonry_level(page, viewport, scheme)
            page.evaluate("window.scrollTo(0, document.documentElement.scrollHeight)")
            page.wait_for_function(
                "() => Math.ceil(scrollY + innerHeight) >= document.documentElement.scrollHeight - 1"
            )
            settle(page)
            shot(page, f"viewer-masonry-end-{viewport}-{scheme}")
            page.evaluate("window.scrollTo(0, 0)")
            page.wait_for_function("() => scrollY === 0")
            settle(page)
            shot(page, f"viewer-masonry-{viewport}-{scheme}")
            assert serious(axe, page) == [], (viewport, scheme)
        if viewport == "desktop":
            # Re-laid out on resize, the columns stay level.
            for width in (1024, 700, 1900):
                page.set_viewport_size({"width": width, "height": 900})
                page.wait_for_function(RELAID)
                settle(page)
                bottoms = [max(b["bottom"] for b in column) for column in masonry_columns(page).values()]
                assert max(bottoms) - min(bottoms) <= 1, (width, bottoms)
        assert page.errors == []
        context.close()


# --- Slideshow -------------------------------------------------------------------------------------

SLIDESHOW_GEOMETRY = """
(() => {
  const rect = (el) => { const r = el.getBoundingClientRect(); return {top: r.top, bottom: r.bottom, left: r.left, right: r.right, width: r.width, height: r.height}; };
  const show = document.querySelector(".slideshow");
  const current = show.querySelector(".item.is-current");
  return { show: rect(show), bar: rect(show.querySelector(".ss-bar")), stage: rect(show.querySelector(".slides")),
           photo: rect(current.querySelector(".photo-link")), img: rect(current.querySelector("img")),
           strip: rect(show.querySelector(".ss-strip")), slide: rect(current),
           viewport: {width: document.documentElement.clientWidth, height: innerHeight} };
})()
"""
TO_THE_PHOTOS = "document.getElementById('gallery-content').scrollIntoView({behavior: 'instant'})"
AT_THE_PHOTOS = "() => Math.abs(document.getElementById('gallery-content').getBoundingClientRect().top) <= 1 || Math.ceil(scrollY + innerHeight) >= document.documentElement.scrollHeight - 1"


def test_the_slideshow_stage_fills_the_screen(browser, live_server, viewer, shot, axe):
    """Each screen size once, light and dark switched live; on the phone the controls then stay put."""
    gallery = viewer["gallery"]
    for viewport in VIEWPORTS:
        context, page = _open(browser, viewport)
        page.goto(f"{live_server.url}/g/{gallery.slug}/?layout=slideshow")
        page.wait_for_selector(".ss-count:has-text('1 / 14')")
        page.wait_for_function(IMAGES_LOADED)
        for scheme in ("light", "dark"):
            page.emulate_media(color_scheme=scheme)
            page.evaluate("window.scrollTo(0, 0)")
            page.wait_for_function("() => scrollY === 0")
            settle(page)
            shot(page, f"viewer-slideshow-top-{viewport}-{scheme}")
            # As the hero's "View photos" does: to the photos.
            page.evaluate(TO_THE_PHOTOS)
            page.wait_for_function(AT_THE_PHOTOS)
            settle(page)
            shot(page, f"viewer-slideshow-{viewport}-{scheme}")
            g = page.evaluate(SLIDESHOW_GEOMETRY)
            vw, vh = g["viewport"]["width"], g["viewport"]["height"]
            # Full bleed: the slideshow spans the window's width; the bar, stage and thumbnails all fit.
            assert g["show"]["left"] == 0 and g["show"]["width"] == vw
            assert g["show"]["top"] >= -1 and g["strip"]["bottom"] <= vh + 1
            if viewport == "desktop":
                # One screen high, the photo as tall as the stage allows (a landscape screen).
                assert abs(g["show"]["top"]) <= 1 and abs(g["show"]["height"] - vh) <= 1
                assert g["photo"]["height"] >= g["stage"]["height"] - 40 or g["photo"]["width"] >= vw - 1
            else:
                # The (landscape) photo spans the phone's width, and the stage hugs it: no band above or below.
                assert g["photo"]["width"] == vw
                assert abs(g["photo"]["top"] - g["stage"]["top"]) <= 1
                assert abs(g["stage"]["bottom"] - g["slide"]["bottom"]) <= 1
                assert g["slide"]["bottom"] - g["photo"]["bottom"] <= 40  # the caption line alone
            # The photo fills its box (no sliver).
            assert abs(g["img"]["height"] - g["photo"]["height"]) < 0.5
            assert serious(axe, page) == [], (viewport, scheme)
        if viewport == "phone":
            # Photos of another shape change the stage's height on a phone; the bar above never moves.
            page.evaluate("window.scrollTo(0, 0)")
            places = set()
            heights = set()
            for _ in range(4):
                g = page.evaluate(SLIDESHOW_GEOMETRY)
                places.add(round(page.locator(".ss-next").bounding_box()["y"]))
                heights.add(round(g["photo"]["height"]))
                page.click(".ss-next")
            assert len(places) == 1
            assert len(heights) > 1  # landscape and portrait photos came by
        assert page.errors == []
        context.close()


def test_the_thumbnail_strip_is_keyboard_accessible(browser, live_server, viewer, shot):
    gallery = viewer["gallery"]
    context, page = _open(browser, "desktop")
    page.goto(f"{live_server.url}/g/{gallery.slug}/?layout=slideshow")
    page.wait_for_selector(".ss-count:has-text('1 / 14')")
    thumbs = page.locator(".ss-strip .ss-thumb")
    # The strip is built from the first page's slides; the second page (which a slideshow asks for
    # at once) joins it when it comes.
    expect(thumbs).to_have_count(14)
    assert page.get_attribute(".ss-strip", "aria-label") == "All photos"
    assert thumbs.nth(0).get_attribute("aria-current") == "true"
    assert thumbs.nth(0).get_attribute("aria-label") == "Photo 1: Meadow path"
    assert page.locator(".ss-strip [tabindex='0']").count() == 1
    thumbs.nth(3).click()
    expect(page.locator(".ss-count")).to_have_text("4 / 14")
    assert thumbs.nth(3).get_attribute("aria-current") == "true"
    assert page.locator(".ss-strip [aria-current]").count() == 1
    # From the keyboard: focus is on the current thumbnail; arrows move the show and the focus.
    page.focus(".ss-strip [tabindex='0']")
    page.keyboard.press("ArrowRight")
    expect(page.locator(".ss-count")).to_have_text("5 / 14")
    assert page.evaluate("document.activeElement.getAttribute('aria-current')") == "true"
    assert page.evaluate("document.activeElement.getAttribute('aria-label')") == "Photo 5: Cliff steps"
    page.keyboard.press("Home")
    expect(page.locator(".ss-count")).to_have_text("1 / 14")
    page.keyboard.press("Enter")  # Enter on the current thumbnail keeps it
    expect(page.locator(".ss-count")).to_have_text("1 / 14")
    page.keyboard.press("End")
    expect(page.locator(".ss-count")).to_have_text("14 / 14")
    assert thumbs.nth(13).get_attribute("aria-current") == "true"
    page.wait_for_function(IMAGES_LOADED)
    settle(page)
    shot(page, "viewer-slideshow-strip-desktop")
    assert page.errors == []
    context.close()


def test_fullscreen_plays_the_show_unless_motion_is_reduced(browser, live_server, viewer, shot):
    gallery = viewer["gallery"]
    context, page = _open(browser, "desktop")
    for motion, plays in (("no-preference", "true"), ("reduce", "false")):
        page.emulate_media(reduced_motion=motion)
        page.goto(f"{live_server.url}/g/{gallery.slug}/?layout=slideshow")
        page.wait_for_selector(".ss-count:has-text('1 / 14')")
        button = page.locator(".ss-fullscreen")
        expect(button).to_be_visible()
        assert page.get_attribute(".ss-play", "aria-pressed") == "false"  # never by itself on the page
        button.click()
        expect(button).to_have_attribute("aria-pressed", "true")
        assert page.evaluate("document.fullscreenElement?.classList.contains('slideshow')")
        expect(page.locator(".ss-play")).to_have_attribute("aria-pressed", plays)
        page.wait_for_function(IMAGES_LOADED)
        settle(page)
        shot(page, f"viewer-slideshow-fullscreen-desktop-{motion}")
        page.keyboard.press("ArrowRight")  # a key stops the show and moves on
        expect(page.locator(".ss-count")).to_have_text("2 / 14")
        button.click()
        expect(button).to_have_attribute("aria-pressed", "false")
        assert page.evaluate("document.fullscreenElement") is None
        assert page.errors == []
    context.close()


def test_fullscreen_is_not_offered_where_the_browser_has_none(browser, live_server, viewer):
    gallery = viewer["gallery"]
    context, page = _open(browser, "phone")
    context.add_init_script("Object.defineProperty(Document.prototype, 'fullscreenEnabled', {get: () => false})")
    page.goto(f"{live_server.url}/g/{gallery.slug}/?layout=slideshow")
    page.wait_for_selector(".ss-count:has-text('1 / 14')")
    expect(page.locator(".ss-fullscreen")).to_be_hidden()
    expect(page.locator(".ss-play")).to_be_visible()
    context.close()


def test_reduced_motion_changes_photos_without_a_fade(browser, live_server, viewer):
    gallery = viewer["gallery"]
    animation = "getComputedStyle(document.querySelector('.slideshow .item.is-current')).animationName"
    context, page = _open(browser, "desktop")
    for motion, expected in (("no-preference", "ss-fade"), ("reduce", "none")):
        page.emulate_media(reduced_motion=motion)
        page.goto(f"{live_server.url}/g/{gallery.slug}/?layout=slideshow")
        page.wait_for_selector(".ss-count:has-text('1 / 14')")
        assert page.evaluate(animation) == "none"  # the first photo is simply there
        page.click(".ss-next")
        assert page.evaluate(animation) == expected
        # Play still plays when asked, with reduced motion too.
        page.click(".ss-play")
        expect(page.locator(".ss-play")).to_have_attribute("aria-pressed", "true")
        assert page.inner_text(".ss-play") == "Pause"
    context.close()


# --- A photo's own page ----------------------------------------------------------------------------

PHOTO_GEOMETRY = """
(() => {
  const rect = (sel) => { const r = document.querySelector(sel).getBoundingClientRect(); return {top: r.top, bottom: r.bottom, width: r.width, height: r.height}; };
  return { img: rect(".photo-single img"), caption: rect(".photo-caption"), title: rect("h1"), vh: innerHeight,
           scrollable: document.documentElement.scrollHeight > innerHeight };
})()
"""


def test_a_photo_page_has_its_title_and_fits_the_screen(browser, live_server, viewer, shot, axe):
    """Each screen size once, light and dark switched live on the same page."""
    gallery = viewer["gallery"]
    photos = list(gallery.photos.order_by("position"))
    for viewport in VIEWPORTS:
        context, page = _open(browser, viewport)
        page.goto(f"{live_server.url}/g/{gallery.slug}/p/{photos[0].id}/")
        page.wait_for_function(IMAGES_LOADED)
        assert page.locator("h1").count() == 1
        assert page.inner_text("h1") == "Meadow path"
        # The alt text is the image's, not the caption's: never "Meadow path Generated landscape…".
        assert page.get_attribute(".photo-single img", "alt") == "Generated landscape number 1"
        assert "Generated landscape" not in page.inner_text(".photo-caption")
        for scheme in ("light", "dark"):
            page.emulate_media(color_scheme=scheme)
            settle(page)
            shot(page, f"viewer-photo-{viewport}-{scheme}")
            g = page.evaluate(PHOTO_GEOMETRY)
            assert g["caption"]["bottom"] <= g["vh"], g  # photo and caption above the fold
            assert g["img"]["top"] >= 0 and g["img"]["bottom"] <= g["caption"]["top"]
            assert g["img"]["height"] > (450 if viewport == "desktop" else 200)  # and the photo is big
            assert serious(axe, page) == [], (viewport, scheme)
        # An untitled photo is still named: its place in the gallery.
        page.goto(f"{live_server.url}/g/{gallery.slug}/p/{photos[2].id}/")
        assert page.inner_text("h1") == "Photo 3"
        assert page.get_attribute(".photo-single img", "alt") == "Generated landscape number 3"
        assert page.errors == []
        context.close()


def test_a_shared_photo_page_keeps_its_downloads_and_navigation(browser, live_server, viewer, shot, axe):
    link = viewer["downloads"]
    photos = list(viewer["gallery"].photos.order_by("position"))
    for viewport in VIEWPORTS:
        context, page = _open(browser, viewport, accept_downloads=True)
        page.goto(f"{live_server.url}/s/{link.token}/p/{photos[1].id}/")
        page.wait_for_function(IMAGES_LOADED)
        settle(page)
        shot(page, f"viewer-photo-shared-{viewport}")
        assert page.inner_text("h1") == "Harbour wall"
        downloads = page.locator(".photo-downloads a[download]")
        assert downloads.count() >= 1
        g = page.evaluate(PHOTO_GEOMETRY)
        assert g["caption"]["bottom"] <= g["vh"], g
        with page.expect_download() as info:
            downloads.first.click()
        assert info.value.suggested_filename
        assert serious(axe, page) == [], viewport
        page.click("a[rel=next]")
        assert page.inner_text("h1") == "Photo 3"
        page.click("a[rel=prev]")
        assert page.inner_text("h1") == "Harbour wall"
        page.click("a.back")
        page.wait_for_selector("#gallery-content .item")
        assert page.errors == []
        context.close()


# --- Every layout, once more through axe -------------------------------------------------------------


@pytest.mark.parametrize("layout", ["masonry", "tiles", "slideshow"])
def test_each_layout_passes_axe(browser, live_server, viewer, shot, axe, layout):
    """As the page first loads (before any scrolling), each screen size, light and dark switched live."""
    gallery = viewer["gallery"]
    for viewport in VIEWPORTS:
        context, page = _open(browser, viewport)
        page.goto(f"{live_server.url}/g/{gallery.slug}/?layout={layout}")
        page.wait_for_selector("#gallery-content .item")
        page.wait_for_function(IMAGES_LOADED)
        for scheme in ("light", "dark"):
            page.emulate_media(color_scheme=scheme)
            settle(page)
            if layout == "tiles":
                shot(page, f"viewer-tiles-{viewport}-{scheme}")
            assert serious(axe, page) == [], (viewport, layout, scheme)
        assert page.errors == []
        context.close()


def test_without_javascript_the_slideshow_lists_every_photo(browser, live_server, viewer, shot):
    gallery = viewer["gallery"]
    context = browser.new_context(viewport=VIEWPORTS["phone"], java_script_enabled=False)
    page = context.new_page()
    page.goto(f"{live_server.url}/g/{gallery.slug}/?layout=slideshow")
    items = page.locator(".slides .item")
    assert items.count() == 10  # the first page, one under the other
    assert all(items.nth(i).is_visible() for i in range(10))
    expect(page.locator(".ss-bar")).to_be_hidden()  # buttons that need the script are not offered
    expect(page.locator(".ss-strip")).to_be_hidden()
    assert (
        page.locator(".slides .item >> nth=1").bounding_box()["y"]
        > page.locator(".slides .item >> nth=0").bounding_box()["y"]
    )
    shot(page, "viewer-slideshow-nojs-phone")
    context.close()
