"""Issue 11: a client sends a selection through the share-link door; the gallery's owner gets one mail."""

from __future__ import annotations

import pytest
from django.test import Client

from notifications.models import Notification, NotificationStatus
from notifications.services import send_due
from sharing.models import Selection

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _a_host_the_site_answers(settings):
    settings.ALLOWED_HOSTS = ["testserver", "evil.example"]


def _choose_and_send(client, link, photos, note="Print the first one, please & thanks"):
    url = f"/api/v1/shared/{link.token}/selection"
    chosen = client.post(
        url,
        {"add": [str(p.pk) for p in photos], "name": "Anna Lind", "email": "anna@example.com"},
        content_type="application/json",
    )
    assert chosen.status_code == 200, chosen.content
    # A forged Host never ends up in the mail: links come from SITE_URL.
    return client.post(url, {"submit": True, "note": note}, content_type="application/json", HTTP_HOST="evil.example")


def test_the_owner_gets_one_mail_with_the_selection(
    make_shared, smtp_server, settings, alice, client_for, django_capture_on_commit_callbacks
):
    settings.SITE_URL = "https://photos.example.com"
    settings.STUDIO_NAME = "Lumen Studio"
    gallery, photos, link = make_shared()
    client = Client()
    with django_capture_on_commit_callbacks(execute=True):
        sent = _choose_and_send(client, link, photos)
    assert sent.status_code == 200 and sent.json()["submitted_at"]
    selection = Selection.objects.get()

    [received] = smtp_server.messages
    assert received.rcpt_tos == ["alice@example.com"]
    assert received.message["Subject"] == "Anna Lind chose 2 photos from Anna & Ben"
    text, html = received.part("text/plain"), received.part("text/html")
    admin_url = f"https://photos.example.com/admin/sharing/selection/{selection.pk}/change/"
    for part in (text, html):
        assert "Lumen Studio" in part and "anna@example.com" in part and admin_url in part
        assert "evil.example" not in part
    assert "Print the first one, please & thanks" in text
    assert "Print the first one, please &amp; thanks" in html
    assert "<img" not in html

    notification = Notification.objects.get()
    assert notification.kind == "selection-submitted" and notification.topic == f"gallery:{gallery.pk}"
    assert notification.key == f"selection-submitted:{selection.pk}:{selection.submitted_at.timestamp():.6f}"
    # The link in the mail opens the selection for the owner.
    assert client_for(alice).get(admin_url.removeprefix("https://photos.example.com")).status_code == 200

    # Sending again (a second click, a retried request) mails nothing more.
    with django_capture_on_commit_callbacks(execute=True):
        again = client.post(f"/api/v1/shared/{link.token}/selection", {"submit": True}, content_type="application/json")
    assert again.status_code == 200
    assert len(smtp_server.messages) == 1 and Notification.objects.count() == 1


def test_a_mail_server_that_is_down_does_not_stop_the_client(
    make_shared, smtp_server, clock, django_capture_on_commit_callbacks
):
    _, photos, link = make_shared()
    smtp_server.stop()
    client = Client()
    with django_capture_on_commit_callbacks(execute=True):
        sent = _choose_and_send(client, link, photos[:1])
    assert sent.status_code == 200 and sent.json()["submitted_at"]
    assert Selection.objects.get().submitted_at is not None
    notification = Notification.objects.get()
    assert notification.status == NotificationStatus.PENDING and notification.attempts == 1
    assert "connection refused" in notification.last_error

    smtp_server.start()
    clock.advance(minutes=2)
    assert send_due() == 1
    assert send_due() == 0
    [received] = smtp_server.messages
    assert received.message["Subject"] == "Anna Lind chose 1 photo from Anna & Ben"


def test_an_owner_without_an_address_gets_no_mail_and_the_client_is_not_bothered(
    make_shared, alice, django_capture_on_commit_callbacks
):
    alice.email = ""
    alice.save(update_fields=["email"])
    _, photos, link = make_shared()
    with django_capture_on_commit_callbacks(execute=True):
        sent = _choose_and_send(Client(), link, photos)
    assert sent.status_code == 200 and sent.json()["submitted_at"]
    assert Notification.objects.count() == 0
