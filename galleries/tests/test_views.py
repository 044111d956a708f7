import pytest

from galleries import services
from galleries.models import Asset, AssetStatus, Visibility
from galleries.tests.conftest import bulk_photos, fail_processing

pytestmark = pytest.mark.django_db


def test_home_lists_public_galleries_only(alice, client, make_gallery, add_photo):
    public = make_gallery(alice, "Open day", Visibility.PUBLIC)
    add_photo(public)
    make_gallery(alice, "Hidden unlisted", Visibility.UNLISTED)
    make_gallery(alice, "Hidden private", Visibility.PRIVATE)
    html = client.get("/").content.decode()
    assert "Open day" in html and "1 photo" in html
    assert "Hidden" not in html


def test_home_hides_trashed_and_expired(alice, client, make_gallery, clock):
    from datetime import timedelta

    services.gallery_trash(gallery=make_gallery(alice, "Binned"))
    make_gallery(alice, "Old", expires_at=clock.now + timedelta(minutes=1))
    clock.advance(minutes=2)
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


def test_htmx_next_page_gets_only_the_items_fragment(client, gallery, add_photo):
    add_photo(gallery)
    response = client.get(f"/g/{gallery.slug}/?page=1", HTTP_HX_REQUEST="true", HTTP_HX_TARGET="sentinel")
    html = response.content.decode()
    assert response.status_code == 200
    assert "<html" not in html and 'class="item' in html and 'id="gallery-content"' not in html
    assert "HX-Request" in response["Vary"]


@pytest.mark.parametrize("layout", ["masonry", "tiles", "slideshow"])
def test_every_layout_renders_and_its_htmx_swap_is_the_content_only(client, gallery, add_photo, layout):
    add_photo(gallery)
    full = client.get(f"/g/{gallery.slug}/?layout={layout}").content.decode()
    assert f'data-layout="{layout}"' in full and "<html" in full
    assert f'class="layout-{layout}" aria-current="true"' in full
    fragment = client.get(
        f"/g/{gallery.slug}/?layout={layout}", HTTP_HX_REQUEST="true", HTTP_HX_TARGET="gallery-content"
    )
    html = fragment.content.decode()
    assert "<html" not in html and html.lstrip().startswith('<section id="gallery-content"')


def test_the_default_layout_applies_and_unknown_layouts_fall_back(alice, client, make_gallery, add_photo):
    g = make_gallery(alice, "Tiled", default_layout="tiles")
    add_photo(g)
    assert 'data-layout="tiles"' in client.get(f"/g/{g.slug}/").content.decode()
    assert 'data-layout="tiles"' in client.get(f"/g/{g.slug}/?layout=<script>").content.decode()


def test_pictures_have_avif_then_webp_sources_and_real_sizes(client, gallery, add_photo):
    from galleries.tasks import process_asset

    photo = add_photo(gallery)
    process_asset(photo.asset_id)
    html = client.get(f"/g/{gallery.slug}/").content.decode()
    assert html.index('type="image/avif"') < html.index('type="image/webp"')
    assert " 300w" in html and 'width="320" height="240"' in html
    assert 'fetchpriority="high"' in html and "data-blurhash=" in html
    assert 'data-pswp-width="320"' in html


def test_later_pages_load_lazily_and_link_to_the_next_page(client, gallery, add_photo, monkeypatch):
    from galleries import pages

    monkeypatch.setattr(pages, "PAGE_SIZE", 2)
    for _ in range(5):
        add_photo(gallery)
    html = client.get(f"/g/{gallery.slug}/?page=2", HTTP_HX_REQUEST="true", HTTP_HX_TARGET="sentinel").content.decode()
    assert 'fetchpriority="high"' not in html
    assert "page=3" in html and 'hx-trigger="revealed, load-more"' in html
    last = client.get(f"/g/{gallery.slug}/?page=3", HTTP_HX_REQUEST="true", HTTP_HX_TARGET="sentinel").content.decode()
    assert "sentinel" not in last


def test_query_count_does_not_grow_with_the_gallery(alice, client, make_gallery, django_assert_max_num_queries):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    small, large = make_gallery(alice, "Fifty"), make_gallery(alice, "Five thousand")
    bulk_photos(small, 50)
    bulk_photos(large, 5000)
    counts = {}
    for g in (small, large):
        with CaptureQueriesContext(connection) as ctx:
            assert client.get(f"/g/{g.slug}/").status_code == 200
        counts[g.title] = len(ctx)
        with CaptureQueriesContext(connection) as ctx:
            assert client.get(f"/api/v1/galleries/{g.pk}/photos").status_code == 200
        counts[g.title + " api"] = len(ctx)
    assert counts["Fifty"] == counts["Five thousand"] <= 6, counts
    assert counts["Fifty api"] == counts["Five thousand api"] <= 6, counts


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
    first = client.get(f"/g/{gallery.slug}/p/{a.pk}/").content.decode()
    assert 'rel="prev"' not in first and "1 / 3" in first


def test_visitors_never_get_the_original_as_a_fallback(client, gallery, photo):
    html = client.get(f"/g/{gallery.slug}/").content.decode()
    assert "originals/" not in html
    assert "Processing…" in html


def test_the_owner_sees_the_original_while_variants_are_built(client_for, alice, gallery, photo):
    assert "originals/" in client_for(alice).get(f"/g/{gallery.slug}/").content.decode()


def test_visitors_do_not_see_failed_photos(client, gallery, add_photo):
    from django.core.files.storage import default_storage

    from galleries.tasks import process_asset

    broken = add_photo(gallery)
    default_storage.delete(broken.asset.original_key)  # processing fails for good: the original is gone
    assert process_asset(broken.asset_id) == "failed"
    assert Asset.objects.get(pk=broken.asset_id).status == AssetStatus.FAILED
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


def test_cached_pages_never_go_stale(alice, client, api_for, make_gallery, add_photo):
    """Visitors get cached pages; every change to what a gallery shows is visible at once."""
    from galleries.models import Asset, AssetStatus
    from galleries.tasks import process_asset

    g = make_gallery(alice, "Cached", Visibility.PUBLIC)
    a = add_photo(g)
    api = api_for()
    page = lambda: client.get(f"/g/{g.slug}/").content.decode()  # noqa: E731
    photos = lambda: api.get(f"/api/v1/galleries/{g.pk}/photos").json()  # noqa: E731
    assert "Processing…" in page() and photos()["results"][0]["status"] == "pending"
    process_asset(a.asset_id)  # processing finished
    assert "Processing…" not in page() and photos()["results"][0]["status"] == "ready"
    services.photo_update(photo=a, title="Renamed", alt="Described")  # texts
    assert "Described" in page() and photos()["results"][0]["alt"] == "Described"
    b = add_photo(g)  # a new photo
    assert str(b.pk) in page() and photos()["count"] == 2
    services.photo_update(photo=b, position=0)  # new order
    services.photo_update(photo=a, position=5)
    assert page().index(str(b.pk)) < page().index(str(a.pk))
    from django.core.files.storage import default_storage

    default_storage.delete(b.asset.original_key)
    assert process_asset(b.asset_id) == "failed"  # processing failed for good
    assert Asset.objects.get(pk=b.asset_id).status == AssetStatus.FAILED
    assert str(b.pk) not in page() and photos()["count"] == 1
    services.photo_delete(photo=a)  # deletion
    assert photos()["count"] == 0 and str(a.pk) not in page()


def test_owners_are_never_served_the_visitors_cache(alice, client, client_for, make_gallery, add_photo):

    g = make_gallery(alice, "Mixed", Visibility.PUBLIC)
    broken = add_photo(g)
    fail_processing(broken)
    assert str(broken.pk) not in client.get(f"/g/{g.slug}/").content.decode()  # fills the visitors' cache
    assert str(broken.pk) in client_for(alice).get(f"/g/{g.slug}/").content.decode()
