"""A real webhook receiver on loopback, and endpoints registered through the API."""

from __future__ import annotations

import io
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from conftest import make_image


@dataclass
class Received:
    path: str
    headers: dict[str, str]
    body: bytes

    @property
    def json(self) -> dict:
        import json

        return json.loads(self.body)


@dataclass
class Receiver:
    """Answers each POST with the next scripted (status, headers, delay), then with 200."""

    port: int = 0
    requests: list[Received] = field(default_factory=list)
    script: list[tuple[int, dict[str, str], float]] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def url(self, path: str = "/hook") -> str:
        return f"http://127.0.0.1:{self.port}{path}"

    def answer(self, *statuses: int, headers: dict[str, str] | None = None, delay: float = 0.0) -> None:
        self.script.extend((status, headers or {}, delay) for status in statuses)

    def next_answer(self) -> tuple[int, dict[str, str], float]:
        with self.lock:
            return self.script.pop(0) if self.script else (200, {}, 0.0)


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    """A threading HTTP server on 127.0.0.1 that records what it gets; it stops after the test, or by
    itself after two minutes whatever happens."""
    rec = Receiver()

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
            with rec.lock:
                rec.requests.append(Received(self.path, {k.lower(): v for k, v in self.headers.items()}, body))
            status, headers, delay = rec.next_answer()
            if delay:
                time.sleep(delay)
            payload = b"nope" if status >= 400 else b"ok"
            try:
                self.send_response(status)
                for name, value in headers.items():
                    self.send_header(name, value)
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)
            except OSError:
                pass  # the sender gave up waiting (a timeout test)

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    rec.port = server.server_address[1]
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    stopper = threading.Timer(120, server.shutdown)
    stopper.daemon = True
    stopper.start()
    yield rec
    stopper.cancel()
    server.shutdown()
    server.server_close()


@pytest.fixture
def local_webhooks(settings) -> None:
    """Webhooks may reach the loopback receiver; retries are due at once (send_due runs them)."""
    settings.WEBHOOKS_ALLOW_PRIVATE = True
    settings.WEBHOOK_RETRY_BASE = 0
    settings.WEBHOOK_TIMEOUT = 2


@pytest.fixture
def register(api_for) -> Callable[..., dict]:
    """register(user, url, events): an endpoint through the API, as an integrator does; returns the answer."""

    def make(user, url: str, events: list[str], **extra) -> dict:
        response = api_for(user).post("/api/v1/webhooks", {"url": url, "events": events, **extra}, format="json")
        assert response.status_code == 201, response.content
        return response.json()

    return make


@pytest.fixture
def ready_photo(make_gallery, alice) -> Callable:
    """ready_photo(gallery=None): a processed photo in one of alice's galleries."""
    from galleries import services
    from galleries.tasks import process_asset

    def make(gallery=None, colour=(200, 120, 40)):
        gallery = gallery or make_gallery(alice, title="Wedding", visibility="public")
        photo, _ = services.photo_add(
            gallery=gallery, file=io.BytesIO(make_image("JPEG", size=(48, 32), colour=colour)), filename="a.jpg"
        )
        process_asset(photo.asset_id)
        photo.refresh_from_db()
        return photo

    return make
