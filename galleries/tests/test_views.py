import pytest

from galleries import services
from galleries.models import Asset, AssetStatus, Visibility

pytestmark = pytest.mark.django_db


def test_home_lists_public_galleries_only(alice, client, make_gallery, add_photo):
    public = make_gallery(alice, "Open day", Visibility.PUBLIC)
    add_photo(public)
    make_gallery(alice, "Hidden unlisted", Visibility.UNLISTED)
    make_gallery(alice, "Hidden private", Visibility.PRIVATE)
    html = client.get("/").content.decode()
    assert "Open day" in html and "1 photo" in html
    assert "Hidden" not in html


def test_home_hides_trashed_and_expired(alice, client, make_gallery):
    from datetime import timedelta

    from django.utils import timezone

    services.gallery_trash(gallery=make_gallery(alice, "Binned"))
    make_gallery(alice, "Old", expires_at=timezone.now() - timedelta(minutes=1))
    html = client.get("/").content.decode()
    assert "Binned" not in html and "Old" not in html


def test_gallery_page_shows_photos(client, gallery, add_photo):
    add_photo(gallery)
    response = client.get(f"/g/{gallery.slug}/")
    assert response.status_code == 200
    html = response.content.decode()
    assert "<h1>Wedding</h1>" in html and "1 photo" in html


def test_private_gallery_is_404_for_visitors_and_strangers(alice, bob, client_for, make_gallery):
    private = make_gallery(alice, "Private", Visibility.PRIVATE)
    assert client_for().get(f"/g/{private.slug}/").status_code == 404
    assert client_for(bob).get(f"/g/{private.slug}/").status_code == 404
    assert client_for(alice).get(f"/g/{private.slug}/").status_code == 200


def test_unlisted_gallery_is_reachable(alice, client_for, make_gallery):
    unlisted = make_gallery(alice, "Unlisted", Visibility.UNLISTED)
    assert client_for().get(f"/g/{unlisted.slug}/").status_code == 200


def test_unknown_slug_is_404(client, db):
    assert client.get("/g/nothing-here/").status_code == 404


def test_htmx_request_gets_only_the_grid_fragment(client, gallery, add_photo):
    add_photo(gallery)
    response = client.get(f"/g/{gallery.slug}/", HTTP_HX_REQUEST="true")
    html = response.content.decode()
    assert response.status_code == 200
    assert "<html" not in html and 'id="photo-grid"' in html
    assert "HX-Request" in response["Vary"]


def test_titles_and_alt_text_are_escaped(alice, client, make_gallery, add_photo):
    g = make_gallery(alice, "<script>alert(1)</script>")
    photo = add_photo(g)
    services.photo_update(photo=photo, alt='"><script>alert(2)</script>')
    Asset.objects.filter(pk=photo.asset_id).update(status=AssetStatus.READY)
    html = client.get(f"/g/{g.slug}/").content.decode() + client.get(f"/g/{g.slug}/p/{photo.pk}/").content.decode()
    assert "<script>alert" not in html
    assert "&lt;script&gt;alert(1)" in html


def test_photo_page_has_previous_and_next(client, gallery, add_photo):
    a, b, c = add_photo(gallery), add_photo(gallery), add_photo(gallery)
    html = client.get(f"/g/{gallery.slug}/p/{b.pk}/").content.decode()
    assert f"/p/{a.pk}/" in html and f"/p/{c.pk}/" in html and "2 / 3" in html


def test_visitors_never_get_the_original_as_a_fallback(client, gallery, photo):
    html = client.get(f"/g/{gallery.slug}/").content.decode()
    assert "originals/" not in html
    assert "Pending" in html


def test_the_owner_sees_the_original_while_variants_are_built(client_for, alice, gallery, photo):
    assert "originals/" in client_for(alice).get(f"/g/{gallery.slug}/").content.decode()


def test_visitors_do_not_see_failed_photos(client, gallery, add_photo):
    broken = add_photo(gallery)
    Asset.objects.filter(pk=broken.asset_id).update(status=AssetStatus.FAILED)
    assert client.get(f"/g/{gallery.slug}/p/{broken.pk}/").status_code == 404
    assert "0 photos" in client.get(f"/g/{gallery.slug}/").content.decode()


def test_login_page_and_sign_in(alice, client):
    assert client.get("/accounts/login/").status_code == 200
    response = client.post("/accounts/login/", {"username": "alice", "password": "alice-pass-123"})
    assert response.status_code == 302


def test_login_refuses_offsite_next(alice, client):
    response = client.post(
        "/accounts/login/?next=https://evil.example/",
        {"username": "alice", "password": "alice-pass-123", "next": "https://evil.example/"},
    )
    assert response.status_code == 302 and "evil" not in response["Location"]


def test_home_uses_the_first_ready_photo_when_no_cover_is_chosen(alice, client, make_gallery, add_photo):
    from galleries.tasks import process_asset

    g = make_gallery(alice, "Covered", Visibility.PUBLIC)
    first = add_photo(g)
    process_asset(first.asset_id)
    html = client.get("/").content.decode()
    assert "variants/" in html
