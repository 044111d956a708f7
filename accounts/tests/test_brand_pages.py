"""Issue 13: client pages, mails and ZIPs carry the photographer's studio brand; a client is never
offered "Sign in". The brand is found from the page's gallery in one query, never per photo."""

from __future__ import annotations

import io
import re
import zipfile

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from accounts import services
from accounts.tests.test_brand import logo_png
from conftest import make_image
from galleries import services as gallery_services
from galleries.models import Visibility
from galleries.tasks import process_asset
from galleries.tests.conftest import bulk_photos
from sharing import services as sharing_services

pytestmark = pytest.mark.django_db


def header(html: str) -> str:
    return html[html.index('<header class="site-header">') : html.index("</header>")]


@pytest.fixture
def lumen(alice):
    return services.brand_update(
        owner=alice,
        studio_name="Lumen Studio",
        accent="#1f5fbf",
        contact_email="hello@lumen.example",
        website="https://lumen.example/",
        logo=io.BytesIO(logo_png()),
    )


@pytest.fixture
def shared(alice):
    """A private gallery of two processed photos and a password link to it that allows downloads."""
    gallery = gallery_services.gallery_create(owner=alice, title="Anna & Ben", visibility=Visibility.PRIVATE)
    for i in range(2):
        photo, _ = gallery_services.photo_add(
            gallery=gallery, file=io.BytesIO(make_image(colour=(i * 90, 40, 200))), filename=f"IMG_{i}.jpg"
        )
        process_asset(photo.asset_id)
    link = sharing_services.share_link_create(gallery=gallery, label="Anna", allow_download=True)
    return gallery, link


def test_without_a_brand_a_client_page_keeps_the_calm_default_but_offers_no_sign_in(alice, client, make_gallery):
    gallery = make_gallery(alice, "Open day")
    top = header(client.get(f"/g/{gallery.slug}/").content.decode())
    assert "Contact Sheet" in top and "brand-mark" in top
    assert "Sign in" not in top and "/accounts/login/" not in top
    # The site's own front page is no client's: the photographer's way in stays there.
    assert "Sign in" in header(client.get("/").content.decode())


def test_a_branded_gallery_shows_the_studio_and_its_colours(alice, client, make_gallery, lumen):
    gallery = make_gallery(alice, "Open day")
    html = client.get(f"/g/{gallery.slug}/").content.decode()
    top = header(html)
    assert '<a class="brand studio" href="https://lumen.example/">' in top
    assert f'src="{lumen.logo_url}" alt="Lumen Studio" width="400" height="120"' in top
    assert "Contact Sheet" not in top and "Sign in" not in top
    body = re.search(r"<body[^>]*>", html).group(0)
    assert "--brand-accent: #1f5fbf" in body and "--brand-accent-ink: #ffffff" in body
    assert "--brand-accent-dark: #" in body
    assert "<title>Open day · Lumen Studio</title>" in html
    footer = html[html.index('<footer class="studio-footer">') :]
    assert "mailto:hello@lumen.example" in footer and ">lumen.example</a>" in footer


def test_a_name_without_logo_or_website_is_plain_text(alice, client, make_gallery):
    services.brand_update(owner=alice, studio_name="Lumen Studio")
    top = header(client.get(f"/g/{make_gallery(alice).slug}/").content.decode())
    assert '<span class="brand studio">' in top and "Lumen Studio" in top and "<img" not in top
    assert "studio-footer" not in client.get(f"/g/{make_gallery(alice, 'Two').slug}/").content.decode()


def test_the_shared_page_the_photo_page_and_the_zip_carry_the_brand(client, shared, lumen):
    gallery, link = shared
    page = client.get(f"/s/{link.token}/").content.decode()
    assert "Lumen Studio" in header(page) and "Sign in" not in header(page)
    photo = gallery.photos.first()
    photo_page = client.get(f"/s/{link.token}/p/{photo.pk}/").content.decode()
    assert lumen.logo_url in header(photo_page) and "Sign in" not in header(photo_page)
    response = client.get(f"/s/{link.token}/download.zip")
    assert response.status_code == 200
    assert 'filename="Lumen Studio - Anna & Ben.zip"' in response["Content-Disposition"]
    assert len(zipfile.ZipFile(io.BytesIO(b"".join(response.streaming_content))).namelist()) == 2


def test_without_a_studio_name_the_zip_is_named_after_the_gallery(client, shared):
    _gallery, link = shared
    response = client.get(f"/s/{link.token}/download.zip")
    assert 'filename="Anna & Ben.zip"' in response["Content-Disposition"]


def test_the_password_page_shows_the_studio_but_nothing_of_the_gallery(client, shared, lumen):
    gallery, link = shared
    sharing_services.share_link_update(link=link, password="wedding-2026")
    response = client.get(f"/s/{link.token}/")
    html = response.content.decode()
    assert response.status_code == 401
    assert "Lumen Studio" in header(html) and "Sign in" not in header(html)
    assert gallery.title not in html and "Anna &amp; Ben" not in html and "/media/" not in html


def test_a_closed_link_offers_no_sign_in(client):
    html = client.get("/s/" + "x" * 43 + "/").content.decode()
    assert "Sign in" not in header(html)


def test_a_signed_in_photographer_keeps_their_links_on_their_own_gallery(alice, client_for, make_gallery, lumen):
    top = header(client_for(alice).get(f"/g/{make_gallery(alice).slug}/").content.decode())
    assert "Lumen Studio" in top and "Sign out" in top


def test_the_brand_costs_no_query_per_photo(alice, bob, client, make_gallery, lumen):
    services.brand_update(owner=bob, studio_name="Bob's")
    counts = {}
    for owner, photos in ((alice, 3), (bob, 120)):
        gallery = make_gallery(owner, f"G{photos}")
        bulk_photos(gallery, photos)
        with CaptureQueriesContext(connection) as ctx:
            assert client.get(f"/g/{gallery.slug}/").status_code == 200
        counts[photos] = [q["sql"] for q in ctx.captured_queries]
    assert len(counts[3]) == len(counts[120])
    assert not any("accounts_brand" in sql and "galleries" not in sql for sql in counts[3])  # joined to the gallery


# --- Mails -----------------------------------------------------------------------------------------


def test_a_mail_about_a_gallery_comes_from_its_owners_studio(alice, bob, settings, lumen):
    from notifications.services import render

    settings.STUDIO_NAME = "Contact Sheet"
    context = {
        "gallery_title": "Anna & Ben",
        "client_name": "Anna",
        "expiry_date": "1 May",
        "gallery_url": "https://x/s/t/",
    }
    _subject, text, html = render("gallery_expiring_client", {**context, "brand_owner_id": alice.pk})
    assert "from Lumen Studio" in text and "Write to Lumen Studio: hello@lumen.example" in text
    assert "Sent by Lumen Studio (https://lumen.example/)" in text
    assert "mailto:hello@lumen.example" in html and "Lumen Studio" in html
    # Another owner without a brand: the site's own name, no contact line.
    _s, text, _h = render("gallery_expiring_client", {**context, "brand_owner_id": bob.pk})
    assert "from Contact Sheet" in text and "Write to" not in text


def test_the_selection_mail_names_the_owners_studio(client, shared, lumen, django_capture_on_commit_callbacks):
    from notifications.models import Notification

    gallery, link = shared
    url = f"/api/v1/shared/{link.token}/selection"
    photo = gallery.photos.first()
    assert (
        client.post(url, {"add": [str(photo.pk)], "name": "Anna"}, content_type="application/json").status_code == 200
    )
    with django_capture_on_commit_callbacks(execute=False):
        assert client.post(url, {"submit": True}, content_type="application/json").status_code == 200
    mail = Notification.objects.get(kind="selection-submitted")
    assert mail.body_text.startswith("Lumen Studio") and "Sent by Lumen Studio" in mail.body_text


def test_an_accent_written_around_the_service_never_reaches_the_page(alice, client, make_gallery, lumen):
    from accounts.models import Brand

    hostile = "r;}*{a:"  # seven characters, as the column holds on PostgreSQL
    Brand.objects.filter(pk=lumen.pk).update(accent=hostile)
    html = client.get(f"/g/{make_gallery(alice).slug}/").content.decode()
    assert hostile not in html and "data-accent" not in html and "Lumen Studio" in html
