"""Issue 13: what search engines and link previews see. Public galleries describe themselves and
preview their cover; share links, unlisted, private and draft galleries say noindex and never put a
photo in a preview. robots.txt keeps crawlers out of share links; pages are served compressed."""

from __future__ import annotations

import gzip
import re
from datetime import timedelta

import pytest
from django.utils import timezone

from galleries import services
from galleries.models import Visibility
from galleries.tests.conftest import bulk_photos
from sharing import services as sharing_services

pytestmark = pytest.mark.django_db


def head(html: str) -> str:
    return html[: html.index("</head>")]


def meta(html: str, attr: str, name: str) -> str | None:
    found = re.search(rf'<meta {attr}="{re.escape(name)}" content="([^"]*)">', head(html))
    return found.group(1) if found else None


@pytest.fixture
def public(alice, make_gallery):
    gallery = make_gallery(alice, "Coast & hills", description="A day out on the coast, from dawn to the last light.")
    bulk_photos(gallery, 3)
    return gallery


def test_a_public_gallery_describes_itself_and_previews_its_cover(client, public):
    response = client.get(f"/g/{public.slug}/")
    html = response.content.decode()
    assert meta(html, "name", "description") == "A day out on the coast, from dawn to the last light."
    assert meta(html, "property", "og:title") == "Coast &amp; hills"
    assert meta(html, "property", "og:url") == f"http://testserver/g/{public.slug}/"
    image = meta(html, "property", "og:image")
    first = public.photos.order_by("position").first()
    assert image.startswith(f"http://testserver/media/variants/aa/bb/{first.asset.sha256}/large.webp?")
    assert meta(html, "name", "twitter:card") == "summary_large_image"
    assert 'name="robots"' not in head(html) and "X-Robots-Tag" not in response


def test_the_cover_the_owner_chose_is_the_one_previewed_and_shown_first(client, public):
    chosen = public.photos.order_by("position").last()
    services.gallery_update(gallery=public, cover=chosen)
    html = client.get(f"/g/{public.slug}/").content.decode()
    assert chosen.asset.sha256 in meta(html, "property", "og:image")
    hero = html[html.index('<header class="gallery-hero has-cover">') : html.index('<header class="gallery-header">')]
    assert chosen.asset.sha256 in hero
    assert 'loading="eager" fetchpriority="high"' in hero
    assert re.search(r'<img src="[^"]+" alt="" width="300" height="200"', hero)  # the box is known before it loads
    assert 'href="#gallery-content"' in hero and "<h1>Coast &amp; hills</h1>" in hero and "3 photos" in hero


def test_without_a_description_the_page_says_what_it_holds(client, alice, make_gallery):
    gallery = make_gallery(alice, "Open day")
    bulk_photos(gallery, 2)
    assert meta(client.get(f"/g/{gallery.slug}/").content.decode(), "name", "description") == (
        "2 photos from Open day, by Contact Sheet."
    )


def test_a_gallery_without_photos_has_no_hero_picture_and_no_preview_image(client, alice, make_gallery):
    gallery = make_gallery(alice, "Soon")
    html = client.get(f"/g/{gallery.slug}/").content.decode()
    assert '<header class="gallery-hero">' in html and "<h1>Soon</h1>" in html
    assert meta(html, "property", "og:image") is None and meta(html, "name", "twitter:card") == "summary"


def _no_preview(response) -> None:
    html = response.content.decode()
    assert response.status_code == 200
    assert '<meta name="robots" content="noindex">' in head(html)
    assert response["X-Robots-Tag"].startswith("noindex")
    assert "og:" not in head(html) and "twitter:" not in head(html)
    assert "/media/" not in head(html)  # never a photo in a preview
    assert meta(html, "name", "description").startswith("Photos shared with you")


def test_an_unlisted_gallery_and_its_photos_stay_out_of_search_and_previews(client, alice, make_gallery):
    gallery = make_gallery(alice, "Smith wedding", visibility=Visibility.UNLISTED, description="Private words")
    bulk_photos(gallery, 2)
    _no_preview(client.get(f"/g/{gallery.slug}/"))
    assert "Private words" not in head(client.get(f"/g/{gallery.slug}/").content.decode())
    photo = client.get(f"/g/{gallery.slug}/p/{gallery.photos.first().pk}/")
    assert photo["X-Robots-Tag"] == "noindex" and '<meta name="robots" content="noindex">' in photo.content.decode()


def test_a_public_gallerys_photo_page_may_be_indexed(client, public):
    response = client.get(f"/g/{public.slug}/p/{public.photos.first().pk}/")
    assert "X-Robots-Tag" not in response and 'name="robots"' not in head(response.content.decode())


def test_a_share_link_never_previews_even_a_public_gallery(client, public):
    link = sharing_services.share_link_create(gallery=public, label="Anna")
    response = client.get(f"/s/{link.token}/")
    _no_preview(response)
    assert response["X-Robots-Tag"] == "noindex, nofollow"


def test_the_owner_looking_at_a_draft_sees_a_noindex_page(alice, client_for, make_gallery):
    draft = make_gallery(alice, "Later", publish_at=timezone.now() + timedelta(days=3))
    bulk_photos(draft, 1)
    response = client_for(alice).get(f"/g/{draft.slug}/")
    assert response["X-Robots-Tag"] == "noindex" and "og:image" not in response.content.decode()


def test_robots_txt_keeps_crawlers_out_of_share_links_and_the_back_rooms(client):
    response = client.get("/robots.txt")
    assert response.status_code == 200 and response["Content-Type"].startswith("text/plain")
    lines = response.content.decode().splitlines()
    assert lines[0] == "User-agent: *"
    for path in ("/s/", "/admin/", "/api/", "/accounts/"):
        assert f"Disallow: {path}" in lines
    assert "Disallow: /g/" not in lines and "Disallow: /" not in lines  # public galleries stay reachable


# --- Compression -----------------------------------------------------------------------------------


def test_a_public_gallery_page_is_served_gzipped(client, public):
    plain = client.get(f"/g/{public.slug}/").content
    response = client.get(f"/g/{public.slug}/", HTTP_ACCEPT_ENCODING="gzip, deflate, br")
    assert response["Content-Encoding"] == "gzip" and "Accept-Encoding" in response["Vary"]
    unzipped = gzip.decompress(response.content)
    assert len(response.content) < len(unzipped) / 3
    # The same page (the CSRF token is masked afresh for each response, signed URLs alike).
    assert (
        re.sub(rb'"X-CSRFToken": "[^"]+"', b"", unzipped)[:300] == re.sub(rb'"X-CSRFToken": "[^"]+"', b"", plain)[:300]
    )


def test_shared_pages_are_gzipped_too(client, public):
    link = sharing_services.share_link_create(gallery=public, label="Anna")
    response = client.get(f"/s/{link.token}/", HTTP_ACCEPT_ENCODING="gzip")
    assert response["Content-Encoding"] == "gzip"


@pytest.mark.parametrize("url", ["/admin/login/", "/accounts/login/", "/api/v1/galleries"])
def test_pages_that_echo_input_beside_secrets_are_never_compressed(client, public, url):
    response = client.get(url, HTTP_ACCEPT_ENCODING="gzip")
    assert response.status_code == 200 and not response.has_header("Content-Encoding")


def test_the_admin_is_never_compressed(alice, client_for, public):
    response = client_for(alice).get("/admin/galleries/gallery/?q=Coast", HTTP_ACCEPT_ENCODING="gzip")
    assert response.status_code == 200 and not response.has_header("Content-Encoding")


def test_the_home_page_names_its_galleries_in_its_description(client, public, alice, make_gallery):
    make_gallery(alice, "Open day")
    description = meta(client.get("/").content.decode(), "name", "description")
    assert description == "Photo galleries: Open day, Coast &amp; hills."
