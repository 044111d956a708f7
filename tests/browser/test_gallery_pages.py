import io

import pytest
from playwright.sync_api import expect

from galleries import services
from galleries.demo import demo_jpeg
from galleries.models import Visibility
from galleries.tasks import process_asset

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

VIEWPORTS = {"phone": {"width": 375, "height": 800}, "desktop": {"width": 1440, "height": 900}}
WEB_VITALS = """
() => new Promise((resolve) => {
  let cls = 0, lcp = 0;
  new PerformanceObserver((list) => {
    for (const entry of list.getEntries()) if (!entry.hadRecentInput) cls += entry.value;
  }).observe({ type: "layout-shift", buffered: true });
  new PerformanceObserver((list) => {
    const entries = list.getEntries();
    lcp = entries[entries.length - 1].startTime;
  }).observe({ type: "largest-contentful-paint", buffered: true });
  setTimeout(() => resolve({ cls, lcp }), 1500);
})
"""


def build_demo(owner) -> dict:
    """A public gallery of 14 processed photos (the fifth one EXIF-rotated)."""
    gallery = services.gallery_create(
        owner=owner, title="Coast & hills", description="A day out.", visibility=Visibility.PUBLIC
    )
    for i in range(14):
        photo, _ = services.photo_add(
            gallery=gallery, file=io.BytesIO(demo_jpeg(i, orientation=6 if i == 4 else 1)), filename=f"IMG_{i:02}.jpg"
        )
        services.photo_update(photo=photo, title=f"Photo {i + 1}", alt=f"Generated landscape number {i + 1}")
        process_asset(photo.asset_id)
    return {"gallery": gallery}


@pytest.fixture(scope="module")
def demo_seed(seeder):
    return seeder(build_demo)


@pytest.fixture
def demo(demo_seed, alice, monkeypatch):
    """alice's public gallery of 14 processed photos, ten to a page so the second page can scroll in."""
    from galleries import pages

    monkeypatch.setattr(pages, "PAGE_SIZE", 10)
    return demo_seed.restore(owner=alice)["gallery"]


def _open(browser, viewport):
    context = browser.new_context(viewport=VIEWPORTS[viewport])
    page = context.new_page()
    page.errors = []
    page.on("console", lambda m: page.errors.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda e: page.errors.append(str(e)))
    return context, page


@pytest.mark.parametrize("viewport", ["phone", "desktop"])
@pytest.mark.parametrize("layout", ["masonry", "tiles", "slideshow"])
def test_each_layout_looks_right_and_does_not_shift(browser, live_server, demo, shot, axe, layout, viewport):
    context, page = _open(browser, viewport)
    page.goto(f"{live_server.url}/g/{demo.slug}/?layout={layout}")
    page.wait_for_load_state("networkidle")
    vitals = page.evaluate(WEB_VITALS)
    print(f"\n{layout} {viewport}: CLS {vitals['cls']:.4f}, LCP {vitals['lcp']:.0f} ms")
    shot(page, f"gallery-{layout}-{viewport}")
    assert vitals["cls"] < 0.05
    assert vitals["lcp"] > 0
    assert page.errors == []
    if layout == "masonry":
        assert page.locator(".grid-masonry.is-laid-out").count() == 1
    assert axe(page) == []
    context.close()


def test_switching_layouts_swaps_only_the_content_and_keeps_history(browser, live_server, demo):
    context, page = _open(browser, "desktop")
    page.goto(f"{live_server.url}/g/{demo.slug}/")
    page.evaluate("window.__marker = 'same page'")
    page.click(".layout-switch a.layout-tiles")
    page.wait_for_selector("#gallery-content[data-layout=tiles]")
    assert page.url.endswith("?layout=tiles")
    assert page.evaluate("window.__marker") == "same page"  # no full reload
    assert page.get_attribute(".layout-switch a.layout-tiles", "aria-current") == "true"
    page.click(".layout-switch a.layout-slideshow")
    page.wait_for_selector("#gallery-content[data-layout=slideshow]")
    page.go_back()
    page.wait_for_selector("#gallery-content[data-layout=tiles]")
    page.go_back()
    page.wait_for_selector("#gallery-content[data-layout=masonry]")
    assert page.errors == []
    context.close()


def test_lightbox_opens_follows_the_url_and_returns_focus(browser, live_server, demo, shot):
    context, page = _open(browser, "desktop")
    gallery_url = f"{live_server.url}/g/{demo.slug}/"
    page.goto(gallery_url)
    page.wait_for_selector(".grid-masonry.is-laid-out")
    first = page.locator("#gallery-content a.photo-link").first
    first_href = first.get_attribute("href")
    first.focus()
    page.keyboard.press("Enter")
    page.wait_for_selector(".pswp--open")
    page.wait_for_timeout(400)
    assert page.url == f"{live_server.url}{first_href}"
    assert page.inner_text(".pswp__custom-caption") == "Photo 1"
    shot(page, "lightbox-desktop")
    page.keyboard.press("ArrowRight")
    page.wait_for_timeout(300)
    second_href = page.locator("#gallery-content a.photo-link").nth(1).get_attribute("href")
    assert page.url == f"{live_server.url}{second_href}"
    assert page.inner_text(".pswp__custom-caption") == "Photo 2"
    page.keyboard.press("Escape")
    page.wait_for_selector(".pswp--open", state="detached")
    assert page.url == gallery_url
    assert page.evaluate("document.activeElement.getAttribute('href')") == first_href
    assert page.errors == []
    context.close()


def test_the_deep_link_works_without_javascript(browser, live_server, demo, shot):
    context = browser.new_context(viewport=VIEWPORTS["phone"], java_script_enabled=False)
    page = context.new_page()
    page.goto(f"{live_server.url}/g/{demo.slug}/")
    href = page.locator("#gallery-content a.photo-link").nth(1).get_attribute("href")
    page.goto(f"{live_server.url}{href}")
    assert "2 / 14" in page.inner_text(".photo-nav")
    shot(page, "photo-page-phone-nojs")
    page.click("a[rel=next]")
    assert "3 / 14" in page.inner_text(".photo-nav")
    page.click("a.back")
    assert page.url.endswith(f"/g/{demo.slug}/")
    context.close()


def test_arrow_keys_walk_the_photo_pages(browser, live_server, demo):
    context, page = _open(browser, "desktop")
    page.goto(f"{live_server.url}/g/{demo.slug}/")
    href = page.locator("#gallery-content a.photo-link").first.get_attribute("href")
    page.goto(f"{live_server.url}{href}")
    page.keyboard.press("ArrowRight")
    page.wait_for_selector("text=2 / 14")
    page.keyboard.press("ArrowLeft")
    page.wait_for_selector("text=1 / 14")
    assert page.errors == []
    context.close()


@pytest.mark.parametrize("layout", ["masonry", "tiles"])
def test_scrolling_to_the_end_loads_page_two(browser, live_server, demo, layout):
    context, page = _open(browser, "phone")
    page.goto(f"{live_server.url}/g/{demo.slug}/?layout={layout}")
    page.wait_for_load_state("networkidle")
    # Ten tiles can fit on one phone screen, in which case page two comes without scrolling.
    assert page.locator("#gallery-content .item").count() in (10, 14)
    page.mouse.wheel(0, 20000)
    # expect() polls with selectors: wait_for_function("...") compiles a string, which the CSP refuses.
    expect(page.locator("#gallery-content .item")).to_have_count(14, timeout=10_000)
    assert page.locator("#gallery-content .sentinel").count() == 0
    assert page.errors == []
    context.close()


def test_slideshow_keyboard_autoplay_and_next_page(browser, live_server, demo, shot):
    context, page = _open(browser, "desktop")
    page.goto(f"{live_server.url}/g/{demo.slug}/?layout=slideshow")
    page.wait_for_selector(".ss-count:has-text('1 / 14')")
    page.keyboard.press("ArrowRight")
    page.wait_for_selector(".ss-count:has-text('2 / 14')")
    page.click(".ss-play")
    assert page.get_attribute(".ss-play", "aria-pressed") == "true"
    page.click(".ss-play")
    for _ in range(9):
        page.click(".ss-next")
    expect(page.locator(".slides .item")).to_have_count(14, timeout=10_000)
    assert page.inner_text(".ss-count") == "11 / 14"
    shot(page, "slideshow-desktop-page-two")
    assert page.errors == []
    context.close()


def test_home_page(browser, live_server, demo, shot):
    for viewport in ("phone", "desktop"):
        context, page = _open(browser, viewport)
        page.goto(f"{live_server.url}/")
        page.wait_for_load_state("networkidle")
        assert "Coast &amp; hills" in page.content() or "Coast & hills" in page.inner_text("main")
        assert "14 photos" in page.inner_text("main")
        shot(page, f"home-{viewport}")
        assert page.errors == []
        context.close()
