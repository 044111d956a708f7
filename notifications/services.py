"""Email notifications: record one mail per event, send it from the worker after commit, retry later.

Every app that tells someone about an event calls notify(); the mail is rendered at once (so what
was sent is what the log shows), stored under the event's key and sent by a django-q2 task after the
caller's transaction commits. A mail server that is down only delays mails: send_due (a schedule and
the lifecycle sweep) sends them when it is back. A key is mailed at most once.
"""

from __future__ import annotations

import logging
import re
import smtplib
import socket
from datetime import timedelta
from typing import Any

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.mail import EmailMultiAlternatives
from django.core.validators import validate_email
from django.db import IntegrityError, transaction
from django.db.models import F
from django.template import Context
from django.template.loader import get_template, render_to_string
from django.utils import timezone

from accounts.models import Brand
from notifications.models import Notification, NotificationStatus

log = logging.getLogger(__name__)

# How long a worker may hold a claimed mail before another may take it (a dead worker's mail goes
# out again after this). Far above EMAIL_TIMEOUT, so a slow but live send is never doubled.
LEASE = timedelta(minutes=5)
MAX_RETRY_DELAY = timedelta(hours=6)

SENT = "sent"
RETRY = "retry"
FAILED = "failed"
SKIPPED = "skipped"


def notify(*, key: str, to: str, template: str, context: dict[str, Any], topic: str = "") -> Notification | None:
    """Record the mail for one event and send it after commit; None when there is nothing to send.

    Nothing is sent when `to` is empty or not an address, or when a mail with this key exists
    already (also when two callers race: the unique key decides, inside a savepoint, so the
    caller's own transaction carries on).
    """
    if not key or len(key) > 200:
        raise ValueError(f"A notification key is 1-200 characters, not {len(key or '')}: {key[:40]!r}")
    to = (to or "").strip()
    try:
        validate_email(to)
    except ValidationError:
        log.info("notification %s not sent: no valid address (%r)", key, to[:100])
        return None
    if Notification.objects.filter(key=key).exists():
        return None
    subject, body_text, body_html = render(template, context)
    now = timezone.now()
    try:
        with transaction.atomic():
            notification = Notification.objects.create(
                created_at=now,
                next_attempt_at=now,
                key=key,
                kind=_kind(template),
                topic=topic[:100],
                to=to,
                subject=subject,
                body_text=body_text,
                body_html=body_html,
            )
    except IntegrityError:
        if Notification.objects.filter(key=key).exists():
            return None  # another caller recorded this event first
        raise
    transaction.on_commit(lambda pk=notification.pk: enqueue_send(pk))
    return notification


def render(template: str, context: dict[str, Any]) -> tuple[str, str, str]:
    """(subject, text, html) of templates/notifications/<template>.{subject.txt,txt,html}.

    Subject and text are plain text, so they are rendered without HTML escaping ("Tom & Ann" stays
    as written); the HTML part is escaped as usual.
    """
    full = {**studio_context(context.get("brand_owner_id")), "site_url": settings.SITE_URL, **context}
    plain = Context(full, autoescape=False)
    subject = get_template(f"notifications/{template}.subject.txt").template.render(plain)
    # One line: a line break in a header would start a new header.
    subject = re.sub(r"\s+", " ", subject).strip()[:255]
    text = get_template(f"notifications/{template}.txt").template.render(plain)
    text = re.sub(r"\n{3,}", "\n\n", text).strip() + "\n"  # blank lines left by {% if %} blocks
    html = render_to_string(f"notifications/{template}.html", full)
    return subject, text, html


def studio_context(owner_id: Any) -> dict[str, str]:
    """Who a mail about a gallery comes from: its owner's studio brand where they made one
    (accounts.Brand: name, contact address, website), else STUDIO_NAME. Callers name the owner
    with "brand_owner_id" in the mail's context."""
    brand = Brand.objects.for_owner_id(owner_id)
    return {
        "studio_name": (brand.studio_name if brand else "") or settings.STUDIO_NAME,
        "studio_email": brand.contact_email if brand else "",
        "studio_website": brand.website if brand else "",
    }


def enqueue_send(notification_id: Any) -> None:
    """Queue the send; if the queue cannot take it, send_due will send it later."""
    from django_q.tasks import async_task

    try:
        async_task(
            "notifications.tasks.send_notification",
            str(notification_id),
            task_name=f"notify {notification_id}",
            group="notifications",
        )
    except Exception:
        log.exception("could not queue notification %s; the next send_due sends it", notification_id)


def send_notification(notification_id: Any) -> str:
    """Send one mail if it is due; returns sent, retry, failed or skipped. Never raises for SMTP errors.

    The row is claimed with one conditional UPDATE (status sending, a lease in next_attempt_at),
    so of two workers only one sends; the mail goes out with no transaction open, and the outcome
    is recorded afterwards. A worker that dies mid-send leaves the claim to lapse and the mail is
    due again after LEASE (at-least-once after a crash, never twice otherwise).
    """
    return _send(notification_id)[0]


def _send(notification_id: Any) -> tuple[str, bool]:
    """send_notification's outcome, and whether the mail server itself failed (not this one mail)."""
    now = timezone.now()
    claimed = (
        Notification.objects.due()
        .filter(pk=notification_id)
        .update(status=NotificationStatus.SENDING, attempts=F("attempts") + 1, next_attempt_at=now + LEASE)
    )
    if not claimed:
        return SKIPPED, False
    notification = Notification.objects.get(pk=notification_id)
    try:
        _message(notification).send(fail_silently=False)
    except (smtplib.SMTPException, OSError) as exc:  # SMTPException is an OSError; both named for the reader
        reason, permanent = describe_error(exc, to=notification.to)
        server_down = not isinstance(exc, smtplib.SMTPRecipientsRefused | smtplib.SMTPDataError)
        return _record_failure(notification, reason, permanent=permanent), server_down
    except Exception as exc:
        # Not the mail server: a bug or a bad setting. Logged with its traceback, retried like the rest.
        log.exception("notification %s could not be sent", notification_id)
        reason = f"Could not send: {type(exc).__name__}: {exc}"
        return _record_failure(notification, reason, permanent=False), False
    Notification.objects.filter(pk=notification.pk).update(
        status=NotificationStatus.SENT, sent_at=timezone.now(), last_error=""
    )
    log.info("notification %s (%s) sent to %s", notification.pk, notification.kind, notification.to)
    return SENT, False


def send_due(limit: int = 200) -> int:
    """Send up to `limit` mails that are due (oldest first); returns how many went out.

    Stops at the first mail the server could not be reached for: the others would only wait for
    the same timeout, one after the other, and are tried again on the next run. Call it outside any
    transaction (the sweep, the schedule): each claim and each result is committed on its own.
    """
    ids = list(Notification.objects.due().order_by("next_attempt_at").values_list("pk", flat=True)[:limit])
    sent = 0
    for notification_id in ids:
        outcome, server_down = _send(notification_id)
        sent += outcome == SENT
        if server_down:
            break
    return sent


def resend(notification: Notification) -> bool:
    """Admin "Send again": a failed or pending mail is due now, with a fresh round of attempts.

    A mail being sent right now, or already sent, is left alone (no second copy). Returns whether
    it was queued.
    """
    changed = Notification.objects.filter(
        pk=notification.pk, status__in=[NotificationStatus.PENDING, NotificationStatus.FAILED]
    ).update(status=NotificationStatus.PENDING, attempts=0, next_attempt_at=timezone.now())
    if changed:
        transaction.on_commit(lambda pk=notification.pk: enqueue_send(pk))
    return bool(changed)


def retry_delay(attempts: int) -> timedelta:
    """NOTIFICATION_RETRY_BASE after the first failure, doubling each time, at most 6 hours."""
    base = timedelta(seconds=settings.NOTIFICATION_RETRY_BASE)
    return min(base * 2 ** min(max(attempts - 1, 0), 20), MAX_RETRY_DELAY)


def describe_error(exc: BaseException, *, to: str = "") -> tuple[str, bool]:
    """A sentence an admin understands for a failed send, and whether trying again cannot help."""
    server = f"{settings.EMAIL_HOST}:{settings.EMAIL_PORT}"
    if isinstance(exc, smtplib.SMTPRecipientsRefused):
        answers = "; ".join(f"{code} {_text(msg)}" for code, msg in exc.recipients.values())
        permanent = all(code >= 500 for code, _ in exc.recipients.values())
        return f"The mail server refused the address {to}: {answers}.", permanent
    if isinstance(exc, smtplib.SMTPAuthenticationError):
        return f"The mail server refused the user name and password: {exc.smtp_code} {_text(exc.smtp_error)}.", False
    if isinstance(exc, smtplib.SMTPResponseException):
        return f"The mail server at {server} answered {exc.smtp_code} {_text(exc.smtp_error)}.", False
    if isinstance(exc, smtplib.SMTPServerDisconnected):
        return f"The mail server at {server} closed the connection: {exc or 'no reason given'}.", False
    if isinstance(exc, smtplib.SMTPException):
        return f"The mail server at {server} could not take the mail: {exc}.", False
    if isinstance(exc, ConnectionRefusedError):
        return f"Could not connect to the mail server at {server}: connection refused (is it running?).", False
    if isinstance(exc, TimeoutError | socket.timeout):
        return f"The mail server at {server} did not answer within {settings.EMAIL_TIMEOUT} s.", False
    if isinstance(exc, socket.gaierror):
        return f"Could not find the mail server {settings.EMAIL_HOST}: {exc.strerror or exc}.", False
    return f"Could not reach the mail server at {server}: {exc.strerror or exc}.", False


def _record_failure(notification: Notification, reason: str, *, permanent: bool) -> str:
    attempts = Notification.objects.filter(pk=notification.pk).values_list("attempts", flat=True).first() or 0
    gave_up = permanent or attempts >= settings.NOTIFICATION_MAX_ATTEMPTS
    Notification.objects.filter(pk=notification.pk, status=NotificationStatus.SENDING).update(
        status=NotificationStatus.FAILED if gave_up else NotificationStatus.PENDING,
        last_error=reason,
        next_attempt_at=timezone.now() + retry_delay(attempts),
    )
    log.warning(
        "notification %s to %s not sent (attempt %s%s): %s",
        notification.pk,
        notification.to,
        attempts,
        ", giving up" if gave_up else "",
        reason,
    )
    return FAILED if gave_up else RETRY


def _message(notification: Notification) -> EmailMultiAlternatives:
    message = EmailMultiAlternatives(
        subject=notification.subject,
        body=notification.body_text,
        from_email=settings.DEFAULT_FROM_EMAIL,
        to=[notification.to],
        # Out-of-office replies and autoresponders leave automatic mails alone (RFC 3834).
        headers={"Auto-Submitted": "auto-generated", "X-Auto-Response-Suppress": "All"},
    )
    if notification.body_html:
        message.attach_alternative(notification.body_html, "text/html")
    return message


def _kind(template: str) -> str:
    return template.replace("_", "-")[:50]


def _text(value: bytes | str) -> str:
    text = value.decode("utf-8", "replace") if isinstance(value, bytes) else str(value)
    return re.sub(r"\s+", " ", text).strip()[:300]
