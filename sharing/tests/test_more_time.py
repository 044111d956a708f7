"""Issue 11: a shared page says when its gallery closes, and a client can ask the owner for more time."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from django.test import Client
from django.utils import timezone

from galleries import services as gallery_services
from notifications.models import Notification
from sharing import services
from sharing.expiry import MORE_TIME_PER_LINK_PER_DAY

pytestmark = pytest.mark.django_db

THANKS = "Thanks — the photographer has been asked."
ASKED = "You asked already today"


@pytest.fixture(autouse=True)
def _hosts_the_site_answers(settings):
    settings.ALLOWED_HOSTS = ["testserver", "evil.example"]
    settings.SITE_URL = "https://photos.example.com"


@pytest.fixture
def closing(make_shared):
    """A shared gallery that closes in 20 days (the link itself never expires)."""

    def make(**link_fields):
        gallery, photos, link = make_shared(**link_fields)
        gallery_services.gallery_update(gallery=gallery, expires_at=timezone.now() + timedelta(days=20))
        link.gallery.refresh_from_db()
        return gallery, photos, link

    return make


def _more_time(link) -> str:
    return f"/s/{link.token}/more-time/"


def _visit(link, client=None) -> Client:
    """A visitor who has opened the shared page (and so has a visitor id in their session)."""
    client = client or Client()
    assert client.get(f"/s/{link.token}/").status_code == 200
    return client


# --- The line on the page ----------------------------------------------------------------------


def test_the_shared_page_says_when_the_gallery_closes_in_the_sites_time_zone(make_shared, settings):
    settings.TIME_ZONE = "Pacific/Auckland"  # 23:00 UTC on 10 March is noon on 11 March there
    gallery, _, link = make_shared()
    year = timezone.now().year + 1
    gallery_services.gallery_update(gallery=gallery, expires_at=datetime(year, 3, 10, 23, 0, tzinfo=UTC))
    page = Client().get(f"/s/{link.token}/").content.decode()
    assert f'Available until <time datetime="{year}-03-11T12:00:00+13:00">11 March {year}</time>' in page
    assert "Request more time" in page
    assert f'action="/s/{link.token}/more-time/ask"' in page and f'hx-post="/s/{link.token}/more-time/"' in page


def test_a_gallery_that_never_closes_shows_no_line_and_no_button(make_shared):
    _, _, link = make_shared()
    page = Client().get(f"/s/{link.token}/").content.decode()
    assert "Available until" not in page and "Request more time" not in page and "more-time.js" not in page


# --- Asking, through the real door ---------------------------------------------------------------


def test_a_request_mails_the_owner_once_a_day_with_links_from_site_url(
    closing, smtp_server, settings, alice, bob, client_for, clock, django_capture_on_commit_callbacks
):
    settings.STUDIO_NAME = "Lumen Studio"
    gallery, photos, link = closing()
    client = _visit(link)
    # The visitor chose a favourite under their name on this link: the owner learns who asks.
    chosen = client.post(
        f"/api/v1/shared/{link.token}/selection",
        {"add": [str(photos[0].pk)], "name": "Anna Lind", "email": "anna@example.com"},
        content_type="application/json",
    )
    assert chosen.status_code == 200, chosen.content

    with django_capture_on_commit_callbacks(execute=True):
        asked = client.post(_more_time(link), HTTP_HOST="evil.example", HTTP_X_FORWARDED_HOST="evil.example")
    assert asked.status_code == 200
    assert THANKS in asked.content.decode()
    assert asked["Referrer-Policy"] == "no-referrer" and asked["Cache-Control"] == "private, no-store"

    [received] = smtp_server.messages
    assert received.rcpt_tos == ["alice@example.com"]
    assert received.message["Subject"] == "Anna Lind asks for more time on Anna & Ben"
    extend_url = f"https://photos.example.com/admin/galleries/gallery/{gallery.pk}/extend/"
    expiry = timezone.localtime(gallery.expires_at)
    text, html = received.part("text/plain"), received.part("text/html")
    for part in (text, html):
        assert extend_url in part and "anna@example.com" in part and "Lumen Studio" in part
        assert f"{expiry.day} {expiry:%B %Y}" in part
        assert "evil.example" not in part
    assert 'share link "Anna"' in text and "Anna Lind <anna@example.com>" in text
    notification = Notification.objects.get()
    assert notification.kind == "more-time-requested" and notification.topic == f"gallery:{gallery.pk}"

    # The same day: refused in words, nothing more mailed, and the page says so.
    with django_capture_on_commit_callbacks(execute=True):
        again = client.post(_more_time(link))
    assert again.status_code == 429
    assert ASKED in again.content.decode()
    assert 0 < int(again["Retry-After"]) <= 24 * 3600
    assert len(smtp_server.messages) == 1 and Notification.objects.count() == 1
    page = client.get(f"/s/{link.token}/").content.decode()
    assert ASKED in page and "Request more time" not in page

    # The next day (the database throttle store follows the moved clock): asking works again.
    clock.advance(days=1)
    assert "Request more time" in client.get(f"/s/{link.token}/").content.decode()
    with django_capture_on_commit_callbacks(execute=True):
        next_day = client.post(_more_time(link))
    assert next_day.status_code == 200 and THANKS in next_day.content.decode()
    assert len(smtp_server.messages) == 2 and Notification.objects.count() == 2

    # The link in the mail works for the owner, and extends the gallery...
    path = extend_url.removeprefix("https://photos.example.com")
    owner = client_for(alice)
    assert owner.get(path).status_code == 200
    before = gallery.expires_at
    assert owner.post(path, {"days": "30"}).status_code == 302
    gallery.refresh_from_db()
    assert gallery.expires_at == before + timedelta(days=30)
    # ...and for another photographer it does not exist.
    assert client_for(bob).get(path).status_code == 404
    assert client_for(bob).post(path, {"days": "30"}).status_code == 404
    gallery.refresh_from_db()
    assert gallery.expires_at == before + timedelta(days=30)


def test_htmx_gets_the_answer_as_a_fragment(closing, django_capture_on_commit_callbacks):
    _, _, link = closing()
    client = _visit(link)
    with django_capture_on_commit_callbacks(execute=True):
        asked = client.post(_more_time(link), HTTP_HX_REQUEST="true", HTTP_HX_TARGET="more-time")
    body = asked.content.decode()
    assert asked.status_code == 200 and THANKS in body and "<html" not in body and "Available until" in body
    assert "HX-Request" in asked["Vary"]
    again = client.post(_more_time(link), HTTP_HX_REQUEST="true", HTTP_HX_TARGET="more-time")
    assert again.status_code == 429 and ASKED in again.content.decode() and "<html" not in again.content.decode()


def test_the_form_is_csrf_protected_and_works_without_javascript(closing, django_capture_on_commit_callbacks):
    _, _, link = closing()
    client = Client(enforce_csrf_checks=True)
    _visit(link, client)
    assert client.post(_more_time(link)).status_code == 403
    assert Notification.objects.count() == 0

    # Without JavaScript the button opens this page, whose form may post (same-origin referrers).
    ask = client.get(f"/s/{link.token}/more-time/ask")
    assert ask.status_code == 200 and ask["Referrer-Policy"] == "same-origin"
    body = ask.content.decode()
    assert f'<form method="post" action="/s/{link.token}/more-time/"' in body and "csrfmiddlewaretoken" in body
    token = client.cookies["csrftoken"].value
    with django_capture_on_commit_callbacks(execute=True):
        asked = client.post(_more_time(link), {"csrfmiddlewaretoken": token})
    assert asked.status_code == 200 and THANKS in asked.content.decode()
    assert Notification.objects.count() == 1


def test_a_link_takes_a_few_requests_a_day_from_all_its_visitors(closing, django_capture_on_commit_callbacks):
    _, _, link = closing()
    for _ in range(MORE_TIME_PER_LINK_PER_DAY):
        with django_capture_on_commit_callbacks(execute=True):
            assert _visit(link).post(_more_time(link)).status_code == 200
    late = _visit(link)
    refused = late.post(_more_time(link))
    assert refused.status_code == 429 and "asked several times today" in refused.content.decode()
    assert Notification.objects.count() == MORE_TIME_PER_LINK_PER_DAY
    assert "Request more time" not in _visit(link).get(f"/s/{link.token}/").content.decode()


def test_an_owner_without_an_address_gets_nothing_and_the_visitor_is_thanked(
    closing, alice, smtp_server, django_capture_on_commit_callbacks
):
    alice.email = ""
    alice.save(update_fields=["email"])
    _, _, link = closing()
    with django_capture_on_commit_callbacks(execute=True):
        asked = _visit(link).post(_more_time(link))
    assert asked.status_code == 200 and THANKS in asked.content.decode()
    assert Notification.objects.count() == 0 and smtp_server.messages == []


# --- The door refuses like the link's other doors ---------------------------------------------------


def test_a_stranger_token_and_a_revoked_link_are_404(closing):
    _, _, link = closing()
    assert Client().post("/s/not-a-real-token-at-all/more-time/").status_code == 404
    services.share_link_revoke(link=link)
    assert Client().post(_more_time(link)).status_code == 404
    assert Notification.objects.count() == 0


def test_a_locked_link_answers_like_its_other_doors_until_unlocked(closing, django_capture_on_commit_callbacks):
    _, _, link = closing(password="wedding-2026")
    client = Client()
    page = client.get(f"/s/{link.token}/")
    asked = client.post(_more_time(link))
    assert asked.status_code == page.status_code == 401
    assert "Password needed" in asked.content.decode() and "Available until" not in asked.content.decode()
    assert client.get(f"/s/{link.token}/more-time/ask").status_code == 401
    assert Notification.objects.count() == 0

    assert client.post(f"/s/{link.token}/unlock", {"password": "wedding-2026"}).status_code == 302
    with django_capture_on_commit_callbacks(execute=True):
        assert client.post(_more_time(link)).status_code == 200
    assert Notification.objects.count() == 1


def test_get_on_the_post_route_is_405_and_odd_headers_are_harmless(closing, django_capture_on_commit_callbacks):
    _, _, link = closing()
    client = _visit(link)
    assert client.get(_more_time(link)).status_code == 405
    assert client.post(f"/s/{link.token}/more-time/ask").status_code == 405
    assert client.post("/s/%FF%00%3Cb%3E/more-time/").status_code == 404
    odd = {
        "HTTP_HX_REQUEST": "\x00\xff",
        "HTTP_HX_TARGET": "<script>\u00e9",
        "HTTP_USER_AGENT": "\xff\xfe\x00",
        "HTTP_X_FORWARDED_HOST": "evil.example\x00",
        "HTTP_X_FORWARDED_FOR": "not an address",
    }
    with django_capture_on_commit_callbacks(execute=True):
        asked = client.post(_more_time(link), **odd)
    assert asked.status_code == 200 and THANKS in asked.content.decode()
    assert "evil.example" not in Notification.objects.get().body_text


def test_an_expired_link_or_gallery_is_410(closing, clock):
    _, _, link = closing(expires_at=timezone.now() + timedelta(hours=1))
    client = _visit(link)
    clock.advance(hours=2)
    assert client.post(_more_time(link)).status_code == 410

    _, _, other = closing()
    client = _visit(other)
    clock.advance(days=21)  # past the gallery's expiry
    assert client.post(_more_time(other)).status_code == 410
    assert Notification.objects.count() == 0


def test_a_gallery_without_an_expiry_is_404(make_shared):
    _, _, link = make_shared()
    client = _visit(link)
    assert client.post(_more_time(link)).status_code == 404
    assert client.get(f"/s/{link.token}/more-time/ask").status_code == 404
    assert Notification.objects.count() == 0
