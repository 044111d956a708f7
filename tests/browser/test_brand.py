"""Issue 13: a client sees the photographer's studio, not "Contact Sheet / Sign in": on a branded
public gallery with its hero, on a share link's password page and on the shared gallery, in light
and dark, on a phone and a desktop. The hero must not move the page (CLS) and is the page's
largest paint; axe finds nothing serious.

Speed: one browser page per viewport; the colour scheme is switched in it (`emulate_media`), and the
photos are processed once per module (`seed`)."""

from __future__ import annotations

import io

import pytest
from django.test import override_settings
from PIL import Image

from accounts import services as account_services
from accounts.colours import accent_pair, contrast
from galleries import services
from galleries.demo import demo_jpeg
from galleries.models import Visibility
from galleries.tasks import process_asset
from sharing import services as sharing_services

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

VIEWPORTS = {"phone": {"width": 375, "height": 800}, "desktop": {"width": 1440, "height": 900}}
SCHEMES = ("light", "dark")
# Read once the page has settled (see `settle`): the buffered entries, and any still queued (takeRecords),
# after the fonts are ready and two more frames are painted, so a late shift or paint is counted.
VITALS = """
async () => {
  let cls = 0, lcp = null;
  const shifts = (list) => { for (const e of list) if (!e.hadRecentInput) cls += e.value; };
  const paints = (list) => { if (list.length) lcp = list[list.length - 1]; };
  const shiftObserver = new PerformanceObserver((l) => shifts(l.getEntries()));
  shiftObserver.observe({ type: "layout-shift", buffered: true });
  let painted;
  const firstPaint = new Promise((resolve) => { painted = resolve; });
  const paintObserver = new PerformanceObserver((l) => { paints(l.getEntries()); painted(); });
  paintObserver.observe({ type: "largest-contentful-paint", buffered: true });
  await document.fonts.ready;
  await firstPaint;
  await new Promise((resolve) => requestAnimationFrame(() => requestAnimationFrame(resolve)));
  shifts(shiftObserver.takeRecords());
  paints(paintObserver.takeRecords());
  shiftObserver.disconnect();
  paintObserver.disconnect();
  return {
    cls,
    lcp: lcp ? lcp.startTime : 0,
    lcpInHero: !!(lcp && lcp.element && lcp.element.closest(".gallery-hero")),
  };
}
"""
# Settled: every picture in view (or, for a full-page shot, every picture) has loaded and faded in, and no
# CSS transition is running (a scheme switched live fades its colours).
SETTLED = """
(everywhere) => [...document.images].every((img) => {
  const box = img.getBoundingClientRect();
  if (!everywhere && (box.bottom <= 0 || box.top >= innerHeight || box.width === 0)) return true;
  return img.complete && img.naturalWidth > 0 && (!img.closest(".ph") || img.classList.contains("is-loaded"));
}) && !document.getAnimations().some((a) => a instanceof CSSTransition && a.playState === "running")
"""


def rgb(hex_colour: str) -> str:
    """#rrggbb as the browser's computed style writes it."""
    r, g, b = (int(hex_colour[i : i + 2], 16) for i in (1, 3, 5))
    return f"rgb({r}, {g}, {b})"


def build(owner) -> dict:
    """A public gallery of six processed photos (the third one its cover) and a private gallery with a password link."""
    public = services.gallery_create(
        owner=owner,
        title="Coast & hills",
        description="A day out on the coast, from dawn to the last light.",
        visibility=Visibility.PUBLIC,
    )
    photos = []
    for i in range(6):
        photo, _ = services.photo_add(gallery=public, file=io.BytesIO(demo_jpeg(i)), filename=f"IMG_{i}.jpg")
        services.photo_update(photo=photo, alt=f"Generated landscape number {i + 1}")
        process_asset(photo.asset_id)
        photos.append(photo)
    services.gallery_update(gallery=public, cover=photos[2])
    private = services.gallery_create(owner=owner, title="Anna & Ben", visibility=Visibility.PRIVATE)
    for i in range(4):
        photo, _ = services.photo_add(gallery=private, file=io.BytesIO(demo_jpeg(i + 6)), filename=f"AB_{i}.jpg")
        process_asset(photo.asset_id)
    link = sharing_services.share_link_create(gallery=private, label="Anna", password="wedding-2026")
    return {"public": public, "link": link}


@pytest.fixture(scope="module")
def seed(seeder):
    # The module's fixture runs before the autouse test settings (conftest `_fast_and_isolated`): the same
    # fastest encoder settings here, or the photos are processed at the production speed.
    with override_settings(AVIF_SPEED=10, WEBP_METHOD=0):
        return seeder(build)


def studio_logo() -> bytes:
    """A wordmark-like logo: a dark square mark on transparency."""
    img = Image.new("RGBA", (360, 96), (0, 0, 0, 0))
    img.paste((31, 47, 70, 255), (0, 8, 80, 88))
    img.paste((230, 160, 60, 255), (20, 28, 60, 68))
    for x in range(100, 350, 26):
        img.paste((31, 47, 70, 255), (x, 30, x + 18, 66))
    buf = io.BytesIO()
    img.save(buf, "PNG")
    return buf.getvalue()


@pytest.fixture
def world(seed, alice):
    made = seed.restore(owner=alice)
    account_services.brand_update(
        owner=alice,
        studio_name="Lumen Studio",
        accent="#8a1538",
        contact_email="hello@lumen.example",
        website="https://lumen.example/",
        logo=io.BytesIO(studio_logo()),
    )
    return made


def _open(browser, viewport: str, scheme: str = "light"):
    context = browser.new_context(viewport=VIEWPORTS[viewport], color_scheme=scheme)
    page = context.new_page()
    page.errors = []
    page.on("pageerror", lambda e: page.errors.append(str(e)))
    page.on("console", lambda m: page.errors.append(m.text) if m.type == "error" and "401" not in m.text else None)
    return context, page


def settle(page, everywhere: bool = False) -> None:
    """Waits for the page's pictures to load and fade in and for colour transitions to end (no fixed sleep)."""
    page.wait_for_load_state("load")
    page.wait_for_function(SETTLED, arg=everywhere, polling="raf")


def in_scheme(page, scheme: str) -> None:
    """Switches the colour scheme live (no reload) and waits for the page to repaint in it."""
    page.emulate_media(color_scheme=scheme)
    assert page.evaluate(f"matchMedia('(prefers-color-scheme: {scheme})').matches")
    settle(page)


def shots_and_axe(page, shot, axe, name: str, full_page: bool = False) -> None:
    """The screen in light and dark (`name-light`, `name-dark`), with axe finding nothing in either."""
    for scheme in SCHEMES:
        in_scheme(page, scheme)
        shot(page, f"{name}-{scheme}")
        if full_page:
            settle(page, everywhere=True)
            shot(page, f"{name}-{scheme}-full", full_page=True)
        assert axe(page) == [], scheme


def _header_is_the_studios(page) -> None:
    header = page.locator("header.site-header")
    assert header.locator("img.studio-logo").get_attribute("alt") == "Lumen Studio"
    assert header.locator("a.brand.studio").get_attribute("href") == "https://lumen.example/"
    text = header.inner_text()
    assert "Sign in" not in text and "Contact Sheet" not in text
    assert page.evaluate("document.querySelector('.studio-logo').naturalWidth") > 0  # the logo really loads


@pytest.mark.parametrize("viewport", ["phone", "desktop"])
def test_a_branded_public_gallery_opens_with_its_hero(browser, live_server, world, shot, axe, viewport):
    """Opened fresh in each scheme (the vitals are the load's); on the phone, "View photos" then scrolls calmly."""
    gallery = world["public"]
    context, page = _open(browser, viewport)
    for scheme in SCHEMES:
        page.emulate_media(color_scheme=scheme)
        page.goto(f"{live_server.url}/g/{gallery.slug}/")
        settle(page)
        vitals = page.evaluate(VITALS)
        print(f"\nbrand hero {viewport} {scheme}: CLS {vitals['cls']:.4f}, LCP {vitals['lcp']:.0f} ms")
        shot(page, f"brand-gallery-{viewport}-{scheme}")
        _header_is_the_studios(page)
        hero = page.locator(".gallery-hero.has-cover")
        assert hero.locator("h1").inner_text() == "Coast & hills"
        assert "6 photos" in hero.inner_text()
        img = hero.locator(".hero-cover img")
        assert img.get_attribute("fetchpriority") == "high" and img.get_attribute("loading") == "eager"
        assert img.get_attribute("alt") == "Generated landscape number 3"  # the cover the owner chose
        assert page.evaluate("document.querySelector('.hero-cover img').complete")
        assert vitals["cls"] < 0.05
        assert vitals["lcpInHero"], "the hero should be the largest paint"
        box = hero.bounding_box()
        assert box["height"] >= 280 and box["height"] <= VIEWPORTS[viewport]["height"] * 0.7
        # The accent is the studio's (a lighter tint of it on dark pages) and reads on the button.
        button = page.evaluate(
            "(() => { const s = getComputedStyle(document.querySelector('.hero-scroll')); return [s.backgroundColor, s.color]; })()"
        )
        pair = accent_pair("#8a1538")
        fill, ink = (pair.light, pair.light_ink) if scheme == "light" else (pair.dark, pair.dark_ink)
        assert button == [rgb(fill), rgb(ink)] and contrast(fill, ink) >= 4.5
        assert axe(page) == [], scheme
        assert page.errors == []
    if viewport == "phone":
        _view_photos_scrolls_calmly_to_the_photos(page, live_server, gallery, shot)
    context.close()


def _view_photos_scrolls_calmly_to_the_photos(page, live_server, gallery, shot) -> None:
    page.emulate_media(color_scheme="light")
    page.goto(f"{live_server.url}/g/{gallery.slug}/")
    settle(page)
    assert page.evaluate("scrollY") == 0
    assert page.evaluate("getComputedStyle(document.documentElement).scrollBehavior") == "smooth"
    page.click(".hero-scroll")
    # The smooth scroll has ended when the position holds for a few frames.
    page.wait_for_function(
        """() => {
          const w = window.__scroll || (window.__scroll = { y: -1, still: 0 });
          w.still = scrollY === w.y ? w.still + 1 : 0;
          w.y = scrollY;
          return scrollY > 0 && w.still >= 5;
        }""",
        polling="raf",
    )
    top = page.evaluate("document.getElementById('gallery-content').getBoundingClientRect().top")
    at_bottom = page.evaluate("scrollY + innerHeight >= document.documentElement.scrollHeight - 2")
    assert page.evaluate("scrollY") > 300 and page.url.endswith("#gallery-content")
    assert 0 <= top <= 40 or at_bottom  # the photos at the top, unless the page ends first
    settle(page)
    shot(page, "brand-gallery-phone-after-view-photos")
    assert page.errors == []


@pytest.mark.parametrize("viewport", ["phone", "desktop"])
def test_the_lock_page_and_the_shared_gallery_carry_the_brand(browser, live_server, world, shot, axe, viewport):
    link = world["link"]
    context, page = _open(browser, viewport)
    page.goto(f"{live_server.url}/s/{link.token}/")
    settle(page)
    _header_is_the_studios(page)
    assert "Anna & Ben" not in page.content()  # nothing of the gallery before the password
    assert page.locator("footer.studio-footer a[href='mailto:hello@lumen.example']").count() == 1
    shots_and_axe(page, shot, axe, f"brand-lock-{viewport}")
    in_scheme(page, "light")
    page.fill("#id_password", "wedding-2026")
    page.click("button[type=submit]")
    page.wait_for_selector(".gallery-hero h1")
    for scheme in SCHEMES:  # the shared gallery loaded afresh in each scheme, for its vitals
        page.emulate_media(color_scheme=scheme)
        if scheme != "light":
            page.reload()
        settle(page)
        vitals = page.evaluate(VITALS)
        shot(page, f"brand-shared-{viewport}-{scheme}")
        settle(page, everywhere=True)
        shot(page, f"brand-shared-{viewport}-{scheme}-full", full_page=True)
        _header_is_the_studios(page)
        assert page.locator(".gallery-hero h1").inner_text() == "Anna & Ben"
        assert vitals["cls"] < 0.05, scheme
        assert axe(page) == [], scheme
    assert page.errors == []
    context.close()


def test_without_a_brand_the_shared_gallery_keeps_the_calm_default(browser, live_server, seed, alice, shot, axe):
    link = seed.restore(owner=alice)["link"]
    sharing_services.share_link_update(link=link, password=None)
    context, page = _open(browser, "desktop", "light")
    page.goto(f"{live_server.url}/s/{link.token}/")
    settle(page)
    shot(page, "brand-default-shared-desktop-light")
    header = page.inner_text("header.site-header")
    assert "Contact Sheet" in header and "Sign in" not in header
    assert axe(page) == []
    context.close()


@pytest.mark.parametrize("viewport", ["phone", "desktop"])
def test_a_photographer_brands_the_studio_in_the_admin(browser, live_server, alice, shot, axe, viewport, tmp_path):
    """The form is filled on each viewport; every screen is shot and checked in light and dark."""
    from accounts.models import Brand
    from tests.browser.conftest import login

    logo = tmp_path / "logo.png"
    logo.write_bytes(studio_logo())
    context, page = _open(browser, viewport)
    login(page, live_server, "alice", "alice-pass-123")
    page.click("text=Studio brand")
    page.wait_for_url("**/admin/accounts/brand/add/")
    shots_and_axe(page, shot, axe, f"brand-admin-empty-{viewport}")
    page.fill("#id_studio_name", "Lumen Studio")
    page.fill("#id_accent", "#ffd700")
    page.set_input_files("#id_logo", str(logo))
    page.click("input[name=_save]")
    error = page.locator(".errorlist").first.inner_text()
    assert "contrast of 1.2:1" in error and "4.5:1" in error
    shots_and_axe(page, shot, axe, f"brand-admin-contrast-error-{viewport}")
    page.fill("#id_accent", "#8a1538")
    page.set_input_files("#id_logo", str(logo))  # a refused form does not keep the file
    page.fill("#id_website", "https://lumen.example/")
    page.click("input[name=_save]")
    page.wait_for_url("**/admin/accounts/brand/*/change/")
    assert page.evaluate("document.querySelector('.field-logo_preview img').naturalWidth") > 0
    shots_and_axe(page, shot, axe, f"brand-admin-saved-{viewport}")
    assert Brand.objects.get(owner=alice).accent == "#8a1538"
    assert page.errors == []
    context.close()
