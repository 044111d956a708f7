"""A real SMTP server on loopback for tests (issue 11: notifications), built on aiosmtpd.

Fixture: `smtp_server` starts one on 127.0.0.1 and a free port, points Django's mail settings at it
(the real SMTP backend, so connection errors and timeouts are real too), collects what it receives,
and stops by itself. `smtp_server.stop()` takes it down (the port then refuses connections),
`smtp_server.start()` brings it back on the same port.
"""

from __future__ import annotations

import email
import email.policy
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from email.message import EmailMessage

import pytest

from tests.plugins.processes import free_ports


@dataclass
class Received:
    """One message as the server got it: the parsed mail and the envelope."""

    message: EmailMessage
    mail_from: str
    rcpt_tos: list[str]

    def part(self, content_type: str) -> str:
        """The text of the first part of this type (text/plain, text/html)."""
        for part in self.message.walk():
            if part.get_content_type() == content_type and not part.is_multipart():
                return part.get_content()
        raise AssertionError(f"no {content_type} part in {self.message['Subject']!r}")


@dataclass
class SmtpServer:
    host: str
    port: int
    messages: list[Received] = field(default_factory=list)
    _lock: threading.Lock = field(default_factory=threading.Lock)
    _controller: object | None = None

    async def handle_DATA(self, server, session, envelope) -> str:  # aiosmtpd's handler hook
        message = email.message_from_bytes(envelope.original_content or envelope.content, policy=email.policy.default)
        with self._lock:
            self.messages.append(Received(message, envelope.mail_from, list(envelope.rcpt_tos)))
        return "250 Message accepted for delivery"

    @property
    def running(self) -> bool:
        return self._controller is not None

    def start(self) -> None:
        from aiosmtpd.controller import Controller

        if self._controller is None:
            controller = Controller(self, hostname=self.host, port=self.port, ready_timeout=10)
            controller.start()
            self._controller = controller

    def stop(self) -> None:
        if self._controller is not None:
            self._controller.stop()
            self._controller = None


@pytest.fixture
def smtp_server(settings) -> Iterator[SmtpServer]:
    pytest.importorskip("aiosmtpd", reason="aiosmtpd is not installed (pip install -r requirements/dev.txt)")
    (port,) = free_ports(1)
    server = SmtpServer("127.0.0.1", port)
    server.start()
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST = server.host
    settings.EMAIL_PORT = server.port
    settings.EMAIL_HOST_USER = ""
    settings.EMAIL_HOST_PASSWORD = ""
    settings.EMAIL_USE_TLS = False
    settings.EMAIL_USE_SSL = False
    settings.EMAIL_TIMEOUT = 5
    try:
        yield server
    finally:
        server.stop()
