"""The mail log in the admin: managers only, read-only, "Send again"."""

from __future__ import annotations

import pytest

from notifications import services
from notifications.models import Notification, NotificationStatus
from notifications.tests.conftest import selection_context

pytestmark = pytest.mark.django_db

CHANGELIST = "/admin/notifications/notification/"


@pytest.fixture
def failed(smtp_server):
    smtp_server.stop()
    notification = services.notify(
        key="event:admin", to="alice@example.com", template="selection_submitted", context=selection_context()
    )
    services.send_notification(notification.pk)
    Notification.objects.filter(pk=notification.pk).update(status=NotificationStatus.FAILED)
    smtp_server.start()
    return notification


def test_the_log_lists_mails_with_their_state_for_a_manager(admin_user, client_for, failed):
    page = client_for(admin_user).get(CHANGELIST)
    assert page.status_code == 200
    html = page.content.decode()
    assert "Anna chose 3 photos from Anna &amp; Ben" in html and "alice@example.com" in html
    assert "Could not connect to the mail server" in html and "Send again" in html
    assert client_for(admin_user).get(CHANGELIST, {"status__exact": "failed", "q": "alice"}).status_code == 200
    detail = client_for(admin_user).get(f"{CHANGELIST}{failed.pk}/change/")
    assert detail.status_code == 200
    body = detail.content.decode()
    assert 'sandbox srcdoc="' in body and "<blockquote" not in body  # the HTML part, escaped into the frame
    assert 'name="subject"' not in body  # read-only: no form fields
    assert client_for(admin_user).get(f"{CHANGELIST}add/").status_code == 403


def test_photographers_and_strangers_do_not_see_the_log(alice, client_for, failed):
    assert client_for(alice).get(CHANGELIST).status_code == 403
    assert client_for(alice).get(f"{CHANGELIST}{failed.pk}/change/").status_code in (302, 403)
    assert client_for(None).get(CHANGELIST).status_code == 302


def test_send_again_sends_a_failed_mail_once(
    admin_user, client_for, failed, smtp_server, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        response = client_for(admin_user).post(
            CHANGELIST, {"action": "send_again", "_selected_action": [str(failed.pk)]}, follow=True
        )
    assert response.status_code == 200
    assert "1 mail queued to be sent again." in response.content.decode()
    failed.refresh_from_db()
    assert failed.status == NotificationStatus.SENT
    assert len(smtp_server.messages) == 1
    with django_capture_on_commit_callbacks(execute=True):
        again = client_for(admin_user).post(
            CHANGELIST, {"action": "send_again", "_selected_action": [str(failed.pk)]}, follow=True
        )
    assert "1 left alone: already sent" in again.content.decode()
    assert len(smtp_server.messages) == 1
