"""Selections from the gallery's page (issue 13): counts in the list, the panel, the grid, the
exports (file names, CSV, Lightroom) and reopening a sent selection."""

from __future__ import annotations

import pytest

from sharing import services
from sharing.models import Selection

pytestmark = pytest.mark.django_db


@pytest.fixture
def sent(make_shared):
    gallery, photos, link = make_shared()
    services.selection_change(link=link, visitor="v1", add=photos, name="Anna")
    services.selection_submit(link=link, visitor="v1", note="Both please")
    return gallery, photos, link, Selection.objects.get()


def _pages(gallery, selection):
    base = f"/admin/galleries/gallery/{gallery.pk}/selections/{selection.pk}/"
    return base, base + "export/", base + "reopen/"


def test_selection_reopen_clears_the_sent_mark_and_lets_the_client_change_it(sent):
    _, photos, link, selection = sent
    assert services.selection_reopen(selection=selection).submitted_at is None
    assert Selection.objects.get().submitted_at is None
    services.selection_change(link=link, visitor="v1", remove=photos[:1])  # no Conflict any more
    assert services.selection_reopen(selection=selection).submitted_at is None  # open already: no change
    services.selection_submit(link=link, visitor="v1")
    assert Selection.objects.get().submitted_at is not None


def test_the_gallery_list_and_page_link_to_the_selections(alice, client_for, sent):
    gallery, _, _, selection = sent
    c = client_for(alice)
    listing = c.get("/admin/galleries/gallery/").content.decode()
    assert f"/admin/sharing/selection/?gallery={gallery.pk}" in listing and "1 (1 sent)" in listing
    filtered = c.get(f"/admin/sharing/selection/?gallery={gallery.pk}").content.decode()
    assert "Anna" in filtered
    page = c.get(f"/admin/galleries/gallery/{gallery.pk}/change/").content.decode()
    grid, export, reopen = _pages(gallery, selection)
    assert "Client selections (1)" in page and grid in page and export + "lightroom/" in page and reopen in page


def test_the_selection_grid_shows_its_photos(alice, client_for, sent):
    gallery, _, _, selection = sent
    html = client_for(alice).get(_pages(gallery, selection)[0]).content.decode()
    assert "IMG_0.jpg" in html and "IMG_1.jpg" in html and "Both please" in html and "Reopen for Anna" in html


def test_exports(alice, client_for, sent):
    gallery, _, _, selection = sent
    c = client_for(alice)
    export = _pages(gallery, selection)[1]
    assert c.get(export + "txt/").content.decode() == "IMG_0.jpg\nIMG_1.jpg\n"
    assert c.get(export + "lightroom/").content.decode() == "IMG_0,IMG_1\n"
    csv_text = c.get(export + "csv/").content.decode()
    assert csv_text.splitlines()[0].startswith("gallery,client,email") and "IMG_1.jpg" in csv_text
    assert c.get(export + "pdf/").status_code == 404
    action = c.post(
        "/admin/sharing/selection/", {"action": "export_lightroom", "_selected_action": [str(selection.pk)]}
    )
    assert action.content.decode() == "IMG_0,IMG_1\n"


def test_reopen_from_the_admin(alice, bob, client_for, sent):
    gallery, _, _, selection = sent
    _, _, reopen = _pages(gallery, selection)
    assert client_for(alice).get(reopen).status_code == 405
    assert client_for(bob).post(reopen).status_code == 404  # a stranger
    anonymous = client_for(None).post(reopen)
    assert anonymous.status_code == 302 and "/login/" in anonymous["Location"]
    assert Selection.objects.get().submitted_at is not None
    response = client_for(alice).post(reopen)
    assert response.status_code == 302 and Selection.objects.get().submitted_at is None
    # The list's action too.
    services.selection_submit(link=selection.link, visitor="v1")
    client_for(alice).post(
        "/admin/sharing/selection/", {"action": "reopen_selected", "_selected_action": [str(selection.pk)]}
    )
    assert Selection.objects.get().submitted_at is None


def test_strangers_reach_no_selection_page(bob, client_for, sent, make_gallery):
    gallery, _, _, selection = sent
    grid, export, _ = _pages(gallery, selection)
    c = client_for(bob)
    assert c.get(grid).status_code == 404 and c.get(export + "txt/").status_code == 404
    # A selection of another gallery under this gallery's address: 404 too.
    bobs = make_gallery(bob, title="Bob's")
    other = f"/admin/galleries/gallery/{bobs.pk}/selections/{selection.pk}/"
    assert c.get(other).status_code == 404


def test_a_new_share_link_shows_no_address_until_saved(alice, client_for, sent):
    gallery, _, link, _ = sent
    html = client_for(alice).get(f"/admin/galleries/gallery/{gallery.pk}/change/").content.decode()
    empty = html[html.index('id="share_links-empty"') :]
    empty = empty[: empty.index("</fieldset>")]
    assert "cs-copy" not in empty and "/s/" not in empty and "once the link is saved" in empty
    assert link.token in html  # the saved link shows its address
