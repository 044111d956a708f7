"""Notifications against a real SMTP server on loopback (tests/plugins/smtp.py)."""

from __future__ import annotations

import logging
import re
import threading
from datetime import timedelta

import pytest
from django.core import mail
from django.db import connection

from notifications import services, tasks
from notifications.models import Notification, NotificationStatus
from notifications.tests.conftest import selection_context

pytestmark = pytest.mark.django_db


def _notify(key="event:1", to="alice@example.com", **context):
    return services.notify(
        key=key, to=to, template="selection_submitted", context=selection_context(**context), topic="gallery:abc"
    )


def test_the_mail_has_subject_studio_name_both_parts_and_nothing_remote(
    smtp_server, settings, django_capture_on_commit_callbacks
):
    settings.STUDIO_NAME = "Lumen Studio"
    settings.DEFAULT_FROM_EMAIL = "Lumen Studio <studio@example.com>"
    with django_capture_on_commit_callbacks(execute=True):
        notification = _notify()
    assert notification is not None
    [received] = smtp_server.messages
    message = received.message
    assert received.rcpt_tos == ["alice@example.com"]
    assert received.mail_from == "studio@example.com"
    assert message["To"] == "alice@example.com"
    assert message["From"] == "Lumen Studio <studio@example.com>"
    assert message["Subject"] == "Anna chose 3 photos from Anna & Ben"
    assert message["Auto-Submitted"] == "auto-generated"
    text, html = received.part("text/plain"), received.part("text/html")
    assert "Lumen Studio" in text and "Lumen Studio" in html
    # Plain text keeps what the client wrote; HTML escapes it.
    assert "Tom & Ann <b>love</b> these" in text and "anna@example.com" in text
    assert "Tom &amp; Ann &lt;b&gt;love&lt;/b&gt; these" in html and "<b>love" not in html
    assert "http://127.0.0.1:8000/admin/sharing/selection/1/change/" in text
    assert 'href="http://127.0.0.1:8000/admin/sharing/selection/1/change/"' in html
    # No images (tracking pixels), no style sheets, scripts or fonts from elsewhere.
    assert not re.search(r"<img|<link|<script|<iframe|url\(|@import|\bsrc=", html, re.IGNORECASE)
    assert set(re.findall(r'href="([^"]+)"', html)) == {
        "mailto:anna@example.com",
        "http://127.0.0.1:8000/admin/sharing/selection/1/change/",
    }
    notification.refresh_from_db()
    assert notification.status == NotificationStatus.SENT and notification.sent_at is not None
    assert (notification.kind, notification.topic, notification.attempts) == ("selection-submitted", "gallery:abc", 1)


def test_one_photo_is_singular_and_an_empty_note_leaves_no_trace(smtp_server, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        _notify(photo_count=1, note="", client_email="")
    [received] = smtp_server.messages
    assert received.message["Subject"] == "Anna chose 1 photo from Anna & Ben"
    text = received.part("text/plain")
    assert "note" not in text and "\n\n\n" not in text and "<>" not in text


def test_the_same_key_is_mailed_once(smtp_server, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        first = _notify(key="event:once")
        second = _notify(key="event:once", client_name="Someone else")
    assert first is not None and second is None
    assert Notification.objects.count() == 1
    assert len(smtp_server.messages) == 1
    with django_capture_on_commit_callbacks(execute=True):
        assert services.send_notification(first.pk) == services.SKIPPED  # sent already: not again
        services.send_due()
    assert len(smtp_server.messages) == 1


@pytest.mark.django_db(transaction=True)
def test_two_callers_at_once_make_one_row_and_one_mail():
    mail.outbox = []
    barrier = threading.Barrier(2)
    results = []

    def call():
        try:
            barrier.wait(5)
            results.append(_notify(key="event:race"))
        finally:
            connection.close()

    threads = [threading.Thread(target=call) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    assert len(results) == 2
    assert sum(result is not None for result in results) == 1
    assert Notification.objects.filter(key="event:race").count() == 1
    assert len(mail.outbox) == 1


def test_losing_the_race_inside_the_callers_transaction_leaves_that_transaction_usable(monkeypatch):
    """The case the pre-check cannot see: the row appears between the check and the insert."""
    from django.db import transaction

    from notifications.models import NotificationQuerySet

    first = _notify(key="event:late")
    real_exists = NotificationQuerySet.exists
    calls = []

    def exists_misses_once(self):
        calls.append(1)
        return False if len(calls) == 1 else real_exists(self)

    monkeypatch.setattr(NotificationQuerySet, "exists", exists_misses_once)
    with transaction.atomic():
        assert _notify(key="event:late") is None  # the unique key decided, in a savepoint
        assert Notification.objects.count() == 1  # the caller's transaction carries on
    assert len(calls) == 2 and Notification.objects.get().pk == first.pk


@pytest.mark.parametrize("to", ["", "   ", "not-an-address", None])
def test_no_valid_address_no_mail(to, caplog):
    with caplog.at_level(logging.INFO, logger="notifications.services"):
        assert _notify(to=to) is None
    assert Notification.objects.count() == 0
    assert "no valid address" in caplog.text


def test_a_key_longer_than_the_column_is_a_bug_not_a_truncation():
    with pytest.raises(ValueError, match="1-200"):
        _notify(key="k" * 201)


def test_mail_server_down_keeps_the_mail_and_sends_it_when_back(
    smtp_server, clock, settings, django_capture_on_commit_callbacks
):
    smtp_server.stop()
    with django_capture_on_commit_callbacks(execute=True):
        notification = _notify()  # the task runs now, finds the server down, and returns normally
    notification.refresh_from_db()
    assert notification.status == NotificationStatus.PENDING
    assert notification.attempts == 1
    assert notification.last_error == (
        f"Could not connect to the mail server at 127.0.0.1:{smtp_server.port}: connection refused (is it running?)."
    )
    assert notification.next_attempt_at == clock.now + timedelta(seconds=settings.NOTIFICATION_RETRY_BASE)

    smtp_server.start()
    assert services.send_due() == 0  # not due yet
    assert smtp_server.messages == []
    clock.advance(seconds=61)
    assert services.send_due() == 1
    assert services.send_due() == 0
    assert len(smtp_server.messages) == 1
    notification.refresh_from_db()
    assert notification.status == NotificationStatus.SENT and notification.attempts == 2
    assert notification.last_error == ""


def test_the_task_returns_normally_on_smtp_errors_so_the_queue_never_retries_it(smtp_server):
    smtp_server.stop()
    notification = _notify()
    assert tasks.send_notification(str(notification.pk)) == services.RETRY
    assert tasks.send_notification(str(notification.pk)) == services.SKIPPED  # not due again yet


def test_after_max_attempts_it_is_failed_and_send_again_revives_it(smtp_server, clock, settings):
    settings.NOTIFICATION_MAX_ATTEMPTS = 3
    smtp_server.stop()
    notification = _notify()
    outcomes = []
    for _ in range(5):
        outcomes.append(services.send_notification(notification.pk))
        clock.advance(hours=7)
    assert outcomes == [services.RETRY, services.RETRY, services.FAILED, services.SKIPPED, services.SKIPPED]
    notification.refresh_from_db()
    assert notification.status == NotificationStatus.FAILED and notification.attempts == 3
    assert "connection refused" in notification.last_error
    assert services.send_due() == 0

    smtp_server.start()
    assert services.resend(notification) is True
    assert services.send_due() == 1
    notification.refresh_from_db()
    assert notification.status == NotificationStatus.SENT and notification.attempts == 1
    assert services.resend(notification) is False  # sent: never a second copy
    assert len(smtp_server.messages) == 1


def test_retry_delay_doubles_up_to_six_hours(settings):
    settings.NOTIFICATION_RETRY_BASE = 60
    delays = [services.retry_delay(n).total_seconds() for n in range(1, 12)]
    assert delays[:5] == [60, 120, 240, 480, 960]
    assert delays[-1] == 6 * 3600 and max(delays) == 6 * 3600


def test_a_claimed_mail_is_not_sent_by_a_second_worker_until_its_lease_lapses(smtp_server, clock):
    notification = _notify()
    # Worker one claims it (as send_notification does) and dies before sending.
    Notification.objects.filter(pk=notification.pk).update(
        status=NotificationStatus.SENDING, attempts=1, next_attempt_at=clock.now + services.LEASE
    )
    assert services.send_notification(notification.pk) == services.SKIPPED
    assert services.resend(notification) is False  # being sent: the admin cannot double it either
    assert services.send_due() == 0
    clock.advance(seconds=services.LEASE.total_seconds() + 1)
    assert services.send_due() == 1
    assert services.send_due() == 0
    assert len(smtp_server.messages) == 1


def test_send_due_stops_at_an_unreachable_server_and_leaves_the_rest_untouched(smtp_server, clock):
    for i in range(3):
        _notify(key=f"event:{i}")
    smtp_server.stop()
    assert services.send_due() == 0
    assert sorted(Notification.objects.values_list("attempts", flat=True)) == [0, 0, 1]
    smtp_server.start()
    clock.advance(minutes=2)
    assert services.send_due() == 3
    assert sorted(r.rcpt_tos[0] for r in smtp_server.messages) == ["alice@example.com"] * 3


def test_a_refused_recipient_fails_at_once_with_the_servers_answer(smtp_server, monkeypatch):
    async def refuse(server, session, envelope, address, rcpt_options):
        return "550 5.1.1 No such user here"

    monkeypatch.setattr(smtp_server, "handle_RCPT", refuse, raising=False)
    notification = _notify(to="nobody@example.com")
    assert services.send_notification(notification.pk) == services.FAILED
    notification.refresh_from_db()
    assert notification.status == NotificationStatus.FAILED
    assert (
        notification.last_error
        == "The mail server refused the address nobody@example.com: 550 5.1.1 No such user here."
    )


def test_the_queue_down_leaves_the_mail_for_send_due(monkeypatch, django_capture_on_commit_callbacks, caplog):
    import django_q.tasks

    def broken(*args, **kwargs):
        raise ConnectionError("broker unreachable")

    monkeypatch.setattr(django_q.tasks, "async_task", broken)
    mail.outbox = []
    with django_capture_on_commit_callbacks(execute=True):
        notification = _notify()  # the caller does not see the queue's trouble
    assert Notification.objects.get(pk=notification.pk).status == NotificationStatus.PENDING
    assert "could not queue" in caplog.text
    assert services.send_due() == 1 and len(mail.outbox) == 1


def test_sending_is_on_the_schedule():
    from config.schedules import SCHEDULES

    [entry] = [s for s in SCHEDULES if s["func"] == "notifications.tasks.send_due"]
    assert entry["minutes"] == 5
    assert tasks.send_due() == 0
