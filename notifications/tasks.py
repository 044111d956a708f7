"""django-q2 entry points; the work is in services (tasks take ids and refetch)."""

from __future__ import annotations

from typing import Any

from notifications import services


def send_notification(notification_id: Any) -> str:
    """Send one mail. Returns normally on SMTP errors (the row records them), so django-q2 never
    runs it a second time on its own and a mail is not sent twice."""
    return services.send_notification(notification_id)


def send_due() -> int:
    """The schedule: send every mail that is due (after the mail server was down, say)."""
    return services.send_due()
