"""Issue 13: a client's note on each chosen photo (through the selection API, seen by the
photographer in the admin), and the shared page's "only my favourites" view."""

import io

import pytest
from django.test import Client

from conftest import make_image
from galleries import pages
from galleries import services as gallery_services
from galleries.tasks import process_asset
from sharing import services
from sharing.models import NOTE_MAX_LENGTH, SelectionNote

pytestmark = pytest.mark.django_db


def _post(c, link, body, **extra):
    return c.post(f"/api/v1/shared/{link.token}/selection", body, content_type="application/json", **extra)


def _chosen(c, link, photos, name="Anna"):
    response = _post(c, link, {"add": [str(p.pk) for p in photos], "name": name})
    assert response.status_code == 200
    return response


def test_a_client_writes_changes_and_removes_a_note_on_a_chosen_photo(make_shared):
    _, photos, link = make_shared()
    c = Client()
    _chosen(c, link, photos[:1])
    written = _post(c, link, {"notes": [{"photo": str(photos[0].pk), "note": "  Black and white, please.  "}]})
    assert written.status_code == 200
    assert written.json()["notes"] == [{"photo": str(photos[0].pk), "note": "Black and white, please."}]
    assert c.get(f"/api/v1/shared/{link.token}/selection").json()["notes"] == written.json()["notes"]
    changed = _post(c, link, {"notes": [{"photo": str(photos[0].pk), "note": "A tighter crop"}]})
    assert changed.json()["notes"] == [{"photo": str(photos[0].pk), "note": "A tighter crop"}]
    assert SelectionNote.objects.count() == 1
    removed = _post(c, link, {"notes": [{"photo": str(photos[0].pk), "note": ""}]})
    assert removed.status_code == 200 and removed.json()["notes"] == []
    assert SelectionNote.objects.count() == 0


def test_a_photo_chosen_and_noted_in_one_request_and_unchosen_loses_its_note(make_shared):
    _, photos, link = make_shared()
    c = Client()
    both = _post(
        c, link, {"add": [str(photos[1].pk)], "name": "Anna", "notes": [{"photo": str(photos[1].pk), "note": "Print"}]}
    )
    assert both.status_code == 200 and both.json()["notes"] == [{"photo": str(photos[1].pk), "note": "Print"}]
    gone = _post(c, link, {"remove": [str(photos[1].pk)]})
    assert gone.json()["photos"] == [] and gone.json()["notes"] == []
    assert SelectionNote.objects.count() == 0


def test_notes_are_at_most_500_characters(make_shared):
    _, photos, link = make_shared()
    c = Client()
    _chosen(c, link, photos)
    longest = _post(c, link, {"notes": [{"photo": str(photos[0].pk), "note": "x" * NOTE_MAX_LENGTH}]})
    assert longest.status_code == 200 and NOTE_MAX_LENGTH == 500
    too_long = _post(c, link, {"notes": [{"photo": str(photos[1].pk), "note": "x" * (NOTE_MAX_LENGTH + 1)}]})
    assert too_long.status_code == 400 and "notes" in too_long.json()
    assert SelectionNote.objects.get().text == "x" * 500


def test_the_service_enforces_the_limit_too(make_shared):
    from config.exceptions import InvalidInput

    _, photos, link = make_shared()
    services.selection_change(link=link, visitor="v1", add=photos, name="Anna")
    with pytest.raises(InvalidInput):
        services.selection_change(link=link, visitor="v1", notes={photos[0].pk: "y" * 501})
    with pytest.raises(InvalidInput):  # not chosen by this visitor
        services.selection_change(link=link, visitor="v2", name="Ben", notes={photos[0].pk: "mine"})
    assert SelectionNote.objects.count() == 0


@pytest.mark.parametrize(
    "body",
    [
        {"notes": "Print"},
        {"notes": [{"photo": "not-a-uuid", "note": "x"}]},
        {"notes": [{"photo": None, "note": "x"}]},
        {"notes": [{"note": "x"}]},
        {"notes": [{"photo": "PHOTO", "note": 5}]},
        {"notes": [{"photo": "PHOTO", "note": "x", "colour": "red"}]},
        {"notes": [{"photo": "PHOTO", "note": "a"}, {"photo": "PHOTO", "note": "b"}]},
        {"notes": ["PHOTO"]},
    ],
    ids=["string", "bad-uuid", "null-photo", "no-photo", "number", "unknown-key", "twice", "list-of-ids"],
)
def test_bad_notes_are_refused(make_shared, body):
    _, photos, link = make_shared()
    c = Client()
    _chosen(c, link, photos)
    raw = str(body).replace("'", '"').replace("None", "null").replace("PHOTO", str(photos[0].pk))
    response = c.post(f"/api/v1/shared/{link.token}/selection", raw, content_type="application/json")
    assert response.status_code == 400, response.content
    assert SelectionNote.objects.count() == 0


def test_a_note_needs_a_chosen_photo_of_this_gallery(make_shared):
    _, photos, link = make_shared()
    _, strangers_photos, _ = make_shared()
    c = Client()
    _chosen(c, link, photos[:1])
    not_chosen = _post(c, link, {"notes": [{"photo": str(photos[1].pk), "note": "This one too"}]})
    assert not_chosen.status_code == 400 and "choose it first" in not_chosen.json()["detail"]
    elsewhere = _post(c, link, {"notes": [{"photo": str(strangers_photos[0].pk), "note": "Hello"}]})
    assert elsewhere.status_code == 400 and "notes" in elsewhere.json()
    assert SelectionNote.objects.count() == 0


def test_an_anonymous_visitor_with_no_favourite_and_a_locked_or_unknown_link(make_shared):
    _, photos, link = make_shared(password="secret-pass")
    c = Client()
    note = {"notes": [{"photo": str(photos[0].pk), "note": "Hi"}]}
    assert _post(c, link, note).status_code == 401  # locked
    assert c.post("/api/v1/shared/" + "x" * 43 + "/selection", note, content_type="application/json").status_code == 404
    assert c.post(f"/s/{link.token}/unlock", {"password": "secret-pass"}).status_code == 302
    first = _post(c, link, note)  # unlocked, but no favourites (and no name) yet
    assert first.status_code == 400
    assert SelectionNote.objects.count() == 0


def test_a_sent_selection_keeps_its_notes_locked(make_shared):
    _, photos, link = make_shared()
    c = Client()
    _chosen(c, link, photos[:1])
    _post(c, link, {"notes": [{"photo": str(photos[0].pk), "note": "Crop"}]})
    assert _post(c, link, {"submit": True}).status_code == 200
    locked = _post(c, link, {"notes": [{"photo": str(photos[0].pk), "note": "Changed my mind"}]})
    assert locked.status_code == 409
    assert SelectionNote.objects.get().text == "Crop"


def test_the_photographer_sees_the_notes_in_the_admin(alice, bob, client_for, make_shared):
    _gallery, photos, link = make_shared()
    selection = services.selection_change(
        link=link, visitor="v1", add=photos, name="Anna", notes={photos[1].pk: "Can this be <b>brighter</b>?"}
    )
    page = client_for(alice).get(f"/admin/sharing/selection/{selection.pk}/change/").content.decode()
    assert "Can this be &lt;b&gt;brighter&lt;/b&gt;?" in page and "<b>brighter" not in page
    assert client_for(bob).get(f"/admin/sharing/selection/{selection.pk}/change/").status_code in (302, 403, 404)


def test_the_schema_documents_notes_and_sizes(client):
    schema = client.get("/api/schema/", HTTP_ACCEPT="application/json").json()
    parts = schema["components"]["schemas"]
    assert parts["PhotoNoteRequest"]["properties"]["note"]["maxLength"] == 500
    assert "notes" in parts["SelectionInputRequest"]["properties"]
    assert "notes" in parts["SelectionOutput"]["properties"]
    assert "download_sizes" in parts["SharedGallery"]["properties"]
    assert "download_sizes" in parts["ShareLinkInputRequest"]["properties"]
    post = schema["paths"]["/api/v1/shared/{token}/selection"]["post"]
    assert {"400", "401", "404", "409", "410"} <= set(post["responses"])


# --- Only my favourites ---------------------------------------------------------------------------


@pytest.fixture
def three(make_shared):
    """A gallery of three photos (the third added here) and its link."""
    gallery, photos, link = make_shared()
    photo, _ = gallery_services.photo_add(
        gallery=gallery, file=io.BytesIO(make_image("JPEG", size=(300, 400), colour=(10, 200, 40))), filename="c.jpg"
    )
    process_asset(photo.asset_id)
    return gallery, [*photos, photo], link


def test_the_favourites_view_shows_only_this_visitors_favourites_page_by_page(three, monkeypatch):
    _, photos, link = three
    monkeypatch.setattr(pages, "PAGE_SIZE", 1)
    c = Client()
    _chosen(c, link, [photos[2], photos[0]])
    first = c.get(f"/s/{link.token}/favourites/").content.decode()
    assert str(photos[0].pk) in first and str(photos[1].pk) not in first and str(photos[2].pk) not in first
    assert 'hx-get="?layout=masonry&amp;page=2"' in first  # relative: page 2 stays within the favourites
    assert 'aria-pressed="true">' in first and "Showing only your favourites" in first
    second = c.get(f"/s/{link.token}/favourites/?layout=masonry&page=2", HTTP_HX_REQUEST="true").content.decode()
    assert str(photos[2].pk) in second and str(photos[0].pk) not in second and str(photos[1].pk) not in second
    assert "page=3" not in second
    # Another visitor (another browser) has favourites of their own: none.
    other = Client().get(f"/s/{link.token}/favourites/").content.decode()
    assert not any(str(p.pk) in other for p in photos) and "none yet" in other


def test_the_favourites_view_keeps_the_layout_and_swaps_as_a_fragment(three):
    _, photos, link = three
    c = Client()
    _chosen(c, link, [photos[1]])
    tiles = c.get(f"/s/{link.token}/favourites/?layout=tiles", HTTP_HX_REQUEST="true", HTTP_HX_TARGET="gallery-content")
    html = tiles.content.decode()
    assert html.lstrip().startswith('<section id="gallery-content"') and 'data-layout="tiles"' in html
    assert str(photos[1].pk) in html and str(photos[0].pk) not in html


def test_the_favourites_view_is_behind_the_link(three):
    _, _photos, link = three
    services.share_link_update(link=link, password="secret-pass")
    c = Client()
    assert c.get(f"/s/{link.token}/favourites/").status_code == 401
    assert c.get("/s/" + "x" * 43 + "/favourites/").status_code == 404
    services.share_link_revoke(link=link)
    assert c.get(f"/s/{link.token}/favourites/").status_code == 404


def test_the_favourites_view_costs_the_same_for_few_and_many(three, django_assert_max_num_queries):
    _, photos, link = three
    c = Client()
    _chosen(c, link, photos[:1])
    c.get(f"/s/{link.token}/favourites/")
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    with CaptureQueriesContext(connection) as one:
        c.get(f"/s/{link.token}/favourites/")
    _post(c, link, {"add": [str(p.pk) for p in photos]})
    with CaptureQueriesContext(connection) as all_three:
        c.get(f"/s/{link.token}/favourites/")
    assert len(all_three) == len(one)
