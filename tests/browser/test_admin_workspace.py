"""The photographer's workspace in a real browser (issue 13): the gallery page's photo grid (drag to
reorder with django-admin-sortable2, bulk select, labelled fields that fit at 1440 px), the upload
order, the selections panel and the index; axe on each, screenshots light and dark.

Speed: the workspace's photos are processed once per module (conftest's `seeder`) and restored for
each test; each look is one logged-in page that switches viewport and colour scheme in place."""

from __future__ import annotations

import functools
import io

import pytest
from playwright.sync_api import expect

from galleries import services as gallery_services
from galleries.demo import demo_jpeg
from galleries.models import Photo
from sharing import services as sharing_services
from sharing.models import Selection
from tests.browser.conftest import AXE, login

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

NAMES = ["ceremony-long-file-name-DSC_0003.jpg", "DSC_0001.jpg", "DSC_0005.jpg", "DSC_0002.jpg", "DSC_0004.jpg",
         "DSC_0006.jpg"]  # fmt: skip
SIZES = {"desktop": {"width": 1440, "height": 900}, "mobile": {"width": 375, "height": 800}}
SCHEMES = ("light", "dark")


def build_workspace(owner) -> dict:
    """A gallery of six processed photos (one titled), a second gallery, and a submitted selection of three."""
    gallery = gallery_services.gallery_create(owner=owner, title="Anna & Ben — wedding")
    photos = []
    for i, name in enumerate(NAMES):
        photo, _ = gallery_services.photo_add(
            gallery=gallery, file=io.BytesIO(demo_jpeg(i, size=(640, 427))), filename=name
        )
        photos.append(photo)
    gallery_services.photo_update(photo=photos[0], title="First look", alt="The couple under the old oak")
    gallery_services.gallery_create(owner=owner, title="Engagement")
    link = sharing_services.share_link_create(gallery=gallery, label="Anna & Ben")
    sharing_services.selection_change(link=link, visitor="v1", add=photos[:3], name="Anna")
    sharing_services.selection_submit(link=link, visitor="v1")
    return {"gallery": gallery}


@pytest.fixture(scope="module")
def workspace_seed(seeder):
    return seeder(build_workspace)


@pytest.fixture
def workspace(workspace_seed, alice):
    """alice's workspace, fresh for each test (rows saved again, files copied): (gallery, photos)."""
    gallery = workspace_seed.restore(owner=alice)["gallery"]
    return gallery, list(Photo.objects.filter(gallery=gallery).order_by("position"))


@functools.cache
def _axe_source() -> str:
    return AXE.read_text()


def _violations(page) -> list[dict]:
    """axe-core's violations on the page, with their impact and where they are (one run of axe)."""
    if not page.evaluate("typeof window.axe !== 'undefined'"):
        page.evaluate(_axe_source())
    return page.evaluate(
        "axe.run(document, {resultTypes: ['violations']}).then(r => r.violations.map(v => ({"
        "id: v.id, impact: v.impact, help: v.help, n: v.nodes.length,"
        " where: v.nodes.map(n => n.target.join(' ')).slice(0, 3).join(' | ')})))"
    )


def _serious(violations: list[dict]) -> list[str]:
    """Serious and critical axe violations, with where they are (every admin page we ship is checked)."""
    return [f"{v['id']}: {v['where']}" for v in violations if v["impact"] in ("serious", "critical")]


def _resize(page, device: str) -> None:
    """Switch the page to a device's viewport and wait until the layout has the new width."""
    viewport = SIZES[device]
    page.set_viewport_size(viewport)
    page.wait_for_function(
        "([w, h]) => window.innerWidth === w && window.innerHeight === h && document.documentElement.clientWidth <= w",
        arg=[viewport["width"], viewport["height"]],
    )


def _scheme(page, scheme: str) -> None:
    """Switch the colour scheme live (no reload). The admin's links fade to their new colours over
    0.15 s: those transitions are finished at once, so that axe and the screenshots see the final colours."""
    page.emulate_media(color_scheme=scheme)
    assert page.evaluate(
        """s => {
          document.getAnimations().filter(a => a instanceof CSSTransition).forEach(a => a.finish());
          return matchMedia(`(prefers-color-scheme: ${s})`).matches;
        }""",
        scheme,
    ), scheme


def _look(page, name: str, shot) -> None:
    """The open page at each viewport, light and dark: no serious axe violation (desktop), a screenshot."""
    for device in SIZES:
        _resize(page, device)
        for scheme in SCHEMES:
            _scheme(page, scheme)
            if device == "desktop":
                serious = _serious(_violations(page))
                assert not serious, (name, scheme, serious)
            shot(page, f"admin-workspace-{name}-{device}-{scheme}")


THUMBS_IN_VIEW_LOADED = (
    "() => Array.from(document.querySelectorAll('.cs-card img.cs-thumb'))"
    ".filter(i => i.getBoundingClientRect().top < innerHeight)"
    ".every(i => i.complete && i.naturalWidth > 0)"
)


def test_the_gallery_page_grid_fits_is_labelled_and_looks_right(browser, live_server, alice, workspace, shot):
    gallery, _ = workspace
    selection = Selection.objects.get()
    selection_url = f"/admin/galleries/gallery/{gallery.pk}/selections/{selection.pk}/"
    context = browser.new_context(viewport=SIZES["desktop"], color_scheme="light")
    page = context.new_page()
    login(page, live_server, "alice", "alice-pass-123")  # lands on the index
    _look(page, "index", shot)
    page.goto(f"{live_server.url}/admin/galleries/gallery/{gallery.pk}/change/")
    page.wait_for_selector("fieldset.cs-photo-grid.sortable .cs-card img.cs-thumb")
    for device in SIZES:
        _resize(page, device)
        for scheme in SCHEMES:
            _scheme(page, scheme)
            # Nothing runs past the window: the page scrolls only down.
            overflow = page.evaluate("document.documentElement.scrollWidth - document.documentElement.clientWidth")
            assert overflow <= 0, f"{device}/{scheme}: {overflow}px wider than the window"
            # File names are cut with an ellipsis, never wrapped mid-word.
            heights = page.eval_on_selector_all(
                ".cs-card-name", "els => els.map(e => e.getBoundingClientRect().height)"
            )
            assert max(heights) < 24
            # Thumbnails are real pictures (~160 px), loaded.
            widths = page.eval_on_selector_all(
                ".cs-card img.cs-thumb", "els => els.map(e => e.getBoundingClientRect().width)"
            )
            assert min(widths) >= 140, widths
            page.locator("fieldset.cs-photo-grid").scroll_into_view_if_needed()
            page.wait_for_function(THUMBS_IN_VIEW_LOADED)
            if device == "desktop":
                grid = page.eval_on_selector("fieldset.cs-photo-grid", "e => e.getBoundingClientRect().right")
                module = page.eval_on_selector("#content-main", "e => e.getBoundingClientRect().right")
                assert grid <= module + 1
                violations = _violations(page)
                serious = _serious(violations)
                assert not serious, serious
                everything = [f"{v['id']}: {v['help']} ({v['n']})" for v in violations]
                print(f"axe {scheme} (all impacts): {everything}")
            page.locator("fieldset.cs-photo-grid").scroll_into_view_if_needed()
            shot(page, f"admin-workspace-gallery-{device}-{scheme}")
            page.locator("#selections").scroll_into_view_if_needed()
            shot(page, f"admin-workspace-selections-panel-{device}-{scheme}")
    # A new link shows no address (its token is made on saving) and no Copy button.
    page.get_by_text("Add another Share link").click()
    new = page.locator(".inline-related.last-related:not(.empty-form), #share_links-1")
    for device in SIZES:
        _resize(page, device)
        for scheme in SCHEMES:
            _scheme(page, scheme)
            new.first.evaluate("e => e.scrollIntoView({block: 'start'})")  # its head, where the address goes
            assert "once the link is saved" in new.first.inner_text()
            assert new.first.locator(".cs-copy").count() == 0
            shot(page, f"admin-workspace-share-link-new-{device}-{scheme}")
    for name, url in (("list", "/admin/galleries/gallery/"), ("selection-grid", selection_url)):
        page.goto(live_server.url + url)
        _look(page, name, shot)
    context.close()


def test_drag_and_buttons_reorder_and_save(page, live_server, alice, workspace):
    gallery, _ = workspace
    login(page, live_server, "alice", "alice-pass-123")
    page.goto(f"{live_server.url}/admin/galleries/gallery/{gallery.pk}/change/")
    page.wait_for_selector("fieldset.cs-photo-grid.sortable")
    page.wait_for_load_state("load")
    # Drag the last card by its handle onto the first (sortable2's Sortable.js).
    cards = page.locator(".cs-card.has_original")
    handles = page.locator(".cs-card.has_original h3.cs-card-handle")
    handles.nth(5).drag_to(handles.nth(0))
    # The drop has landed: the dragged card is first and sortable2 has renumbered it.
    expect(cards.first.locator(".cs-card-name")).to_have_text(NAMES[5])
    expect(cards.first.locator("input._reorder_")).to_have_value("1")
    # And the keyboard way: move the (new) second card one later.
    cards.nth(1).locator(".cs-move-later").click()
    page.locator("input[name=_save]").first.click()
    page.wait_for_url(f"{live_server.url}/admin/galleries/gallery/")
    order = list(Photo.objects.filter(gallery=gallery).order_by("position").values_list("original_filename", flat=True))
    assert order == [NAMES[5], NAMES[1], NAMES[0], NAMES[2], NAMES[3], NAMES[4]], order


def test_bulk_move_and_sort_from_the_grid(page, live_server, alice, workspace, shot):
    gallery, _ = workspace
    login(page, live_server, "alice", "alice-pass-123")
    page.goto(f"{live_server.url}/admin/galleries/gallery/{gallery.pk}/change/")
    page.select_option("#cs-sort-key", "filename")
    page.get_by_role("button", name="Sort", exact=True).click()
    page.wait_for_selector(".messagelist .success")
    names = page.eval_on_selector_all(".cs-card-name", "els => els.map(e => e.textContent)")
    assert names == sorted(NAMES, key=str.casefold)
    assert page.locator("#cs-bulk-target").is_hidden()
    page.locator(".cs-card.has_original").nth(0).locator("input.cs-select").check()
    page.locator(".cs-card.has_original").nth(1).locator("input.cs-select").check()
    page.select_option("#cs-bulk-action", "move")
    assert page.locator("#cs-bulk-target").is_visible()
    page.select_option("#cs-bulk-target", label="Engagement")
    page.locator(".cs-bulk-apply").click()
    page.wait_for_selector(".messagelist .success")
    shot(page, "admin-workspace-after-move")
    assert Photo.objects.filter(gallery=gallery).count() == 4
    assert Photo.objects.filter(gallery__title="Engagement").count() == 2


def test_uploads_land_in_the_order_chosen(page, live_server, alice, tmp_path):
    gallery = gallery_services.gallery_create(owner=alice, title="Drop")
    chosen = ["c.jpg", "a.jpg", "e.jpg", "b.jpg", "d.jpg"]
    paths = []
    for i, name in enumerate(chosen):
        # Sizes differ so that, uploaded in parallel, small later files would finish first.
        path = tmp_path / name
        path.write_bytes(demo_jpeg(i, size=(1600 - 250 * i, 1000 - 150 * i)))
        paths.append(str(path))
    login(page, live_server, "alice", "alice-pass-123")
    page.goto(f"{live_server.url}/admin/galleries/gallery/{gallery.pk}/upload/")
    page.wait_for_selector(".uppy-Dashboard")
    page.set_input_files(".uppy-Dashboard-input >> nth=0", paths)
    page.click(".uppy-StatusBar-actionBtn--upload")
    page.wait_for_function("() => document.querySelectorAll('.cs-upload-row.cs-ready').length === 5", timeout=120_000)
    order = list(Photo.objects.filter(gallery=gallery).order_by("position").values_list("original_filename", flat=True))
    assert order == chosen


def test_the_index_groups_daily_work_first(page, live_server, alice, admin_user, shot):
    login(page, live_server, "alice", "alice-pass-123")
    sections = page.eval_on_selector_all("#content-main .module caption", "els => els.map(e => e.textContent.trim())")
    assert sections[0].startswith("Daily work") and not any(s.startswith("System") for s in sections)
    serious = _serious(_violations(page))
    assert not serious, serious
    shot(page, "admin-workspace-index-photographer")


def test_superusers_see_the_system_section_after_the_daily_work(browser, live_server, admin_user, shot):
    context = browser.new_context(viewport=SIZES["desktop"], color_scheme="light")
    page = context.new_page()
    login(page, live_server, "root", "root-pass-123")
    for scheme in SCHEMES:
        _scheme(page, scheme)
        sections = page.eval_on_selector_all(
            "#content-main .module caption", "els => els.map(e => e.textContent.trim())"
        )
        assert sections[0].startswith("Daily work") and sections[-1].startswith("System"), sections
        system = page.locator("#content-main .module", has_text="System").inner_text()
        assert "Assets" in system and "Uploads" in system
        serious = _serious(_violations(page))
        assert not serious, (scheme, serious)
        shot(page, f"admin-workspace-index-superuser-desktop-{scheme}")
    context.close()
