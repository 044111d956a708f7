"""Deliveries end to end: a real receiver on loopback, signatures checked by the standardwebhooks
package (not our signer), retries, ordering per object, rollbacks, and the SSRF guard."""

from __future__ import annotations

import base64
import hashlib
import hmac
import io
import json
import socket

import pytest
from django.db import transaction
from standardwebhooks.webhooks import Webhook

from config import events
from conftest import make_image
from integrations import netguard, services
from integrations.models import DeliveryStatus, WebhookDelivery, WebhookEvent
from sharing import services as sharing_services


@pytest.fixture
def link(make_gallery, alice):
    gallery = make_gallery(alice, title="Wedding", visibility="public")
    return sharing_services.share_link_create(gallery=gallery, label="For Ann")


def revoke(link, django_capture_on_commit_callbacks) -> None:
    with django_capture_on_commit_callbacks(execute=True):
        sharing_services.share_link_revoke(link=link)


def test_a_delivery_is_signed_the_standard_way_and_carries_a_small_payload(
    local_webhooks, receiver, register, alice, link, django_capture_on_commit_callbacks
):
    secret = register(alice, receiver.url(), ["share_link.revoked"])["secret"]
    revoke(link, django_capture_on_commit_callbacks)

    [got] = receiver.requests
    assert got.path == "/hook"
    # The standardwebhooks package checks headers, timestamp tolerance and the HMAC.
    payload = Webhook(secret).verify(got.body, got.headers)
    # And by hand, from the spec: base64 HMAC-SHA256 of "id.timestamp.body" with the decoded secret.
    key = base64.b64decode(secret.removeprefix("whsec_"))
    signed = f"{got.headers['webhook-id']}.{got.headers['webhook-timestamp']}.".encode() + got.body
    expected = "v1," + base64.b64encode(hmac.new(key, signed, hashlib.sha256).digest()).decode()
    assert got.headers["webhook-signature"] == expected
    assert got.headers["content-type"] == "application/json"

    assert payload["type"] == "share_link.revoked"
    assert payload["id"] == got.headers["webhook-id"]
    assert set(payload["data"]) == {"id", "gallery_id", "label", "revoked_at"}
    assert payload["data"]["id"] == str(link.pk)
    assert link.token not in got.body.decode()  # a bearer secret never travels
    delivery = WebhookDelivery.objects.get()
    assert (delivery.status, delivery.attempts, delivery.response_status) == (DeliveryStatus.DELIVERED, 1, 200)
    assert delivery.response_ms is not None and delivery.delivered_at is not None


def test_a_tampered_body_does_not_verify(
    local_webhooks, receiver, register, alice, link, django_capture_on_commit_callbacks
):
    secret = register(alice, receiver.url(), ["share_link.revoked"])["secret"]
    revoke(link, django_capture_on_commit_callbacks)
    [got] = receiver.requests
    with pytest.raises(Exception, match="signature"):
        Webhook(secret).verify(got.body.replace(b"For Ann", b"For Bob"), got.headers)


def test_only_listening_active_endpoints_of_the_owner_get_it(
    local_webhooks, receiver, register, alice, bob, link, django_capture_on_commit_callbacks
):
    register(alice, receiver.url("/other-event"), ["photo.ready"])
    register(alice, receiver.url("/off"), ["share_link.revoked"], is_active=False)
    register(bob, receiver.url("/bob"), ["share_link.revoked"])
    register(alice, receiver.url("/yes"), ["share_link.revoked"])
    revoke(link, django_capture_on_commit_callbacks)
    assert [r.path for r in receiver.requests] == ["/yes"]


def test_failures_are_retried_with_backoff_until_delivered(
    local_webhooks, settings, receiver, register, alice, link, django_capture_on_commit_callbacks
):
    settings.WEBHOOK_RETRY_BASE = 30
    register(alice, receiver.url(), ["share_link.revoked"])
    receiver.answer(500, 503)
    revoke(link, django_capture_on_commit_callbacks)

    delivery = WebhookDelivery.objects.get()
    assert delivery.status == DeliveryStatus.PENDING
    assert (delivery.attempts, delivery.response_status) == (1, 500)
    assert "500" in delivery.last_error
    first_wait = delivery.next_attempt_at - delivery.last_attempt_at
    assert 29 <= first_wait.total_seconds() <= 31
    assert services.send_due() == 0  # not due yet: nothing is sent early
    assert len(receiver.requests) == 1

    WebhookDelivery.objects.update(next_attempt_at=delivery.last_attempt_at)  # the wait is over
    assert services.send_due() == 0
    delivery.refresh_from_db()
    assert (delivery.status, delivery.attempts, delivery.response_status) == (DeliveryStatus.PENDING, 2, 503)
    second_wait = delivery.next_attempt_at - delivery.last_attempt_at
    assert 59 <= second_wait.total_seconds() <= 61  # doubled

    WebhookDelivery.objects.update(next_attempt_at=delivery.last_attempt_at)
    assert services.send_due() == 1
    delivery.refresh_from_db()
    assert (delivery.status, delivery.attempts, delivery.response_status) == (DeliveryStatus.DELIVERED, 3, 200)
    assert len({r.headers["webhook-id"] for r in receiver.requests}) == 1  # one message, three attempts
    assert len(receiver.requests) == 3


@pytest.mark.parametrize(("status", "retried"), [(400, False), (404, False), (410, False), (408, True), (429, True)])
def test_client_errors_are_final_except_timeout_and_throttle(
    local_webhooks, receiver, register, alice, link, django_capture_on_commit_callbacks, status, retried
):
    register(alice, receiver.url(), ["share_link.revoked"])
    receiver.answer(status)
    revoke(link, django_capture_on_commit_callbacks)
    delivery = WebhookDelivery.objects.get()
    assert delivery.status == (DeliveryStatus.PENDING if retried else DeliveryStatus.FAILED)
    assert delivery.response_status == status
    services.send_due()
    delivery.refresh_from_db()
    assert delivery.status == (DeliveryStatus.DELIVERED if retried else DeliveryStatus.FAILED)
    assert len(receiver.requests) == (2 if retried else 1)


def test_attempts_are_bounded(
    local_webhooks, settings, receiver, register, alice, link, django_capture_on_commit_callbacks
):
    settings.WEBHOOK_MAX_ATTEMPTS = 3
    register(alice, receiver.url(), ["share_link.revoked"])
    receiver.answer(500, 500, 500, 500, 500)
    revoke(link, django_capture_on_commit_callbacks)
    for _ in range(5):
        services.send_due()
    delivery = WebhookDelivery.objects.get()
    assert (delivery.status, delivery.attempts) == (DeliveryStatus.FAILED, 3)
    assert delivery.last_error.startswith("Gave up after 3 attempts.")
    assert len(receiver.requests) == 3


def test_timeouts_and_refused_connections_are_retried(
    local_webhooks, settings, receiver, register, alice, link, django_capture_on_commit_callbacks
):
    settings.WEBHOOK_TIMEOUT = 1
    register(alice, receiver.url("/slow"), ["share_link.revoked"])
    with socket.socket() as closed:  # a port nobody listens on
        closed.bind(("127.0.0.1", 0))
        free_port = closed.getsockname()[1]
    register(alice, f"http://127.0.0.1:{free_port}/hook", ["share_link.revoked"])
    receiver.answer(200, delay=1.5)
    revoke(link, django_capture_on_commit_callbacks)
    errors = sorted(WebhookDelivery.objects.values_list("status", "last_error"))
    assert [status for status, _ in errors] == [DeliveryStatus.PENDING, DeliveryStatus.PENDING]
    assert any("Could not connect" in error for _, error in errors)
    assert any("No answer within 1 s" in error for _, error in errors)


def test_deliveries_about_one_object_arrive_in_order(
    local_webhooks, receiver, register, alice, make_gallery, django_capture_on_commit_callbacks
):
    first = make_gallery(alice, title="First")
    other = make_gallery(alice, title="Other")
    register(alice, receiver.url(), ["gallery.published", "gallery.expired"])
    receiver.answer(500)
    with django_capture_on_commit_callbacks(execute=True), transaction.atomic():
        events.emit("gallery.published", owner=alice, obj_id=first.pk)
        events.emit("gallery.expired", owner=alice, obj_id=first.pk)
        events.emit("gallery.expired", owner=alice, obj_id=other.pk)
    # The first failed and waits for its retry; the second (same gallery) waits behind it; the
    # other gallery's event is not held up.
    assert [(r.json["type"], r.json["data"]["id"]) for r in receiver.requests] == [
        ("gallery.published", str(first.pk)),
        ("gallery.expired", str(other.pk)),
    ]
    later = WebhookDelivery.objects.get(event__type="gallery.expired", event__object_id=str(first.pk))
    assert later.status == DeliveryStatus.PENDING and later.attempts == 0
    assert services.deliver(later.pk) == services.WAITING  # asked directly, it still waits

    services.send_due()
    assert [(r.json["type"], r.json["data"]["id"]) for r in receiver.requests[2:]] == [
        ("gallery.published", str(first.pk)),
        ("gallery.expired", str(first.pk)),
    ]
    assert set(WebhookDelivery.objects.values_list("status", flat=True)) == {DeliveryStatus.DELIVERED}


@pytest.mark.django_db(transaction=True)
def test_a_rolled_back_change_sends_nothing(local_webhooks, receiver, register, alice, link):
    register(alice, receiver.url(), ["share_link.revoked"])
    with pytest.raises(RuntimeError), transaction.atomic():
        sharing_services.share_link_revoke(link=link)
        assert WebhookDelivery.objects.count() == 1  # written in the same transaction...
        raise RuntimeError("the request failed after the revoke")
    assert WebhookDelivery.objects.count() == 0  # ...and gone with it
    assert WebhookEvent.objects.count() == 0
    assert receiver.requests == []

    link.refresh_from_db()
    with transaction.atomic():
        sharing_services.share_link_revoke(link=link)
        assert receiver.requests == []  # nothing leaves before the commit
    assert len(receiver.requests) == 1


def test_loopback_is_refused_at_send_time_unless_allowed(
    local_webhooks, settings, receiver, register, alice, link, django_capture_on_commit_callbacks
):
    register(alice, receiver.url(), ["share_link.revoked"])  # allowed when it was registered
    settings.WEBHOOKS_ALLOW_PRIVATE = False
    settings.DEBUG = True  # plain http is fine in development; the address is what is refused
    revoke(link, django_capture_on_commit_callbacks)
    delivery = WebhookDelivery.objects.get()
    assert delivery.status == DeliveryStatus.FAILED
    assert "127.0.0.1, which is not a public address" in delivery.last_error
    assert receiver.requests == []


def test_a_name_that_rebinds_to_loopback_after_registration_is_refused(
    settings, monkeypatch, receiver, register, alice, link, django_capture_on_commit_callbacks
):
    settings.DEBUG = True  # http allowed; WEBHOOKS_ALLOW_PRIVATE stays off
    answers = {"rebind.example": "93.184.216.34"}
    real = socket.getaddrinfo

    def fake_getaddrinfo(host, port, *args, **kwargs):
        if host in answers:
            return [(socket.AF_INET, socket.SOCK_STREAM, 6, "", (answers[host], port))]
        return real(host, port, *args, **kwargs)

    monkeypatch.setattr(netguard.socket, "getaddrinfo", fake_getaddrinfo)
    register(alice, f"http://rebind.example:{receiver.port}/hook", ["share_link.revoked"])
    answers["rebind.example"] = "127.0.0.1"  # the attacker's DNS changes its answer
    revoke(link, django_capture_on_commit_callbacks)
    delivery = WebhookDelivery.objects.get()
    assert delivery.status == DeliveryStatus.FAILED
    assert "not a public address" in delivery.last_error
    assert receiver.requests == []


def test_redirects_are_not_followed(
    local_webhooks, receiver, register, alice, link, django_capture_on_commit_callbacks
):
    register(alice, receiver.url(), ["share_link.revoked"])
    receiver.answer(302, headers={"Location": receiver.url("/internal-admin")})
    revoke(link, django_capture_on_commit_callbacks)
    delivery = WebhookDelivery.objects.get()
    assert delivery.status == DeliveryStatus.FAILED
    assert "redirects are not followed" in delivery.last_error
    assert [r.path for r in receiver.requests] == ["/hook"]
    services.send_due()
    assert [r.path for r in receiver.requests] == ["/hook"]  # and not retried


def test_a_switched_off_endpoint_gets_nothing_more(
    local_webhooks, receiver, register, alice, link, api_for, django_capture_on_commit_callbacks
):
    endpoint = register(alice, receiver.url(), ["share_link.revoked"])
    receiver.answer(500)
    revoke(link, django_capture_on_commit_callbacks)
    api_for(alice).patch(f"/api/v1/webhooks/{endpoint['id']}", {"is_active": False}, format="json")
    services.send_due()
    delivery = WebhookDelivery.objects.get()
    assert delivery.status == DeliveryStatus.FAILED
    assert "switched off" in delivery.last_error
    assert len(receiver.requests) == 1


def test_a_photo_becoming_ready_is_told_for_each_photo(
    local_webhooks, receiver, register, alice, ready_photo, django_capture_on_commit_callbacks
):
    register(alice, receiver.url(), ["photo.ready"])
    with django_capture_on_commit_callbacks(execute=True):
        photo = ready_photo()
    [got] = [r for r in receiver.requests if r.json["type"] == "photo.ready"]
    data = got.json["data"]
    assert data["id"] == str(photo.pk) and data["status"] == "ready"
    assert (data["width"], data["height"]) == (48, 32)
    assert "url" not in got.body.decode()  # no signed media URL that outlives its TTL


def test_a_failed_photo_is_told_with_its_error(
    local_webhooks, receiver, register, alice, make_gallery, django_capture_on_commit_callbacks
):
    from django.core.files.storage import default_storage

    from galleries import services as gallery_services
    from galleries.tasks import process_asset

    register(alice, receiver.url(), ["photo.failed", "photo.ready"])
    photo, _ = gallery_services.photo_add(
        gallery=make_gallery(alice), file=io.BytesIO(make_image("JPEG", size=(40, 30))), filename="x.jpg"
    )
    default_storage.delete(photo.asset.original_key)  # processing cannot succeed: a permanent failure
    with django_capture_on_commit_callbacks(execute=True):
        assert process_asset(photo.asset_id) == "failed"
    [got] = receiver.requests
    assert got.json["type"] == "photo.failed"
    assert got.json["data"]["id"] == str(photo.pk)
    assert got.json["data"]["status"] == "failed"
    assert got.json["data"]["error"] == "The original file is missing from storage."


@pytest.mark.django_db(transaction=True)
def test_a_client_submitting_a_selection_reaches_the_photographers_receiver(
    local_webhooks, receiver, register, alice, ready_photo, api_for
):
    """The issue's "done when": a webhook receiver gets a signed selection.submitted."""
    secret = register(alice, receiver.url(), ["selection.submitted"])["secret"]
    photo = ready_photo()
    link = sharing_services.share_link_create(gallery=photo.gallery, label="Ann")
    visitor = api_for(None)
    chosen = visitor.post(
        f"/api/v1/shared/{link.token}/selection",
        {"name": "Ann", "email": "ann@example.com", "add": [str(photo.pk)]},
        format="json",
    )
    assert chosen.status_code == 200, chosen.content
    assert receiver.requests == []  # choosing is not submitting
    sent = visitor.post(f"/api/v1/shared/{link.token}/selection", {"submit": True, "note": "These two"}, format="json")
    assert sent.status_code == 200, sent.content

    [got] = receiver.requests
    payload = Webhook(secret).verify(got.body, got.headers)
    assert payload["type"] == "selection.submitted"
    data = payload["data"]
    assert (data["name"], data["email"], data["note"]) == ("Ann", "ann@example.com", "These two")
    assert data["photo_ids"] == [str(photo.pk)]
    assert data["gallery_id"] == str(photo.gallery_id) and data["share_link_id"] == str(link.pk)
    assert json.loads(got.body)["id"] == got.headers["webhook-id"]


def test_finished_deliveries_are_pruned_after_30_days_pending_ones_kept(
    local_webhooks, receiver, register, alice, link, clock, django_capture_on_commit_callbacks
):
    from integrations.tasks import sweep

    register(alice, receiver.url(), ["share_link.revoked", "gallery.expired"])
    revoke(link, django_capture_on_commit_callbacks)  # delivered
    receiver.answer(500)
    with django_capture_on_commit_callbacks(execute=True):
        events.emit("gallery.expired", owner=alice, obj_id=link.gallery_id)  # failed once, pending
    clock.advance(days=29)
    assert sweep().endswith("0 webhook deliveries")
    clock.advance(days=2)
    assert sweep().endswith("1 webhook deliveries")
    assert list(WebhookDelivery.objects.values_list("status", flat=True)) == [DeliveryStatus.PENDING]
    assert list(WebhookEvent.objects.values_list("type", flat=True)) == ["gallery.expired"]


@pytest.fixture
def tls_receiver(tmp_path):
    """An HTTPS receiver on 127.0.0.1 with a self-signed certificate for hooks.test; records the
    name the client asked for (SNI) and the requests that got through."""
    import ssl
    import subprocess
    import threading
    from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

    cert, key = tmp_path / "cert.pem", tmp_path / "key.pem"
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1", "-subj", "/CN=hooks.test",
         "-addext", "subjectAltName=DNS:hooks.test", "-keyout", str(key), "-out", str(cert)],
        check=True, capture_output=True, timeout=60,
    )  # fmt: skip
    seen: dict = {"sni": [], "hosts": []}

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            self.rfile.read(int(self.headers.get("Content-Length") or 0))
            seen["hosts"].append(self.headers["Host"])
            self.send_response(204)
            self.end_headers()

        def log_message(self, *args: object) -> None:
            pass

    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert, key)
    context.sni_callback = lambda sock, name, ctx: seen["sni"].append(name)
    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    server.socket = context.wrap_socket(server.socket, server_side=True, do_handshake_on_connect=False)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    stopper = threading.Timer(120, server.shutdown)
    stopper.daemon = True
    stopper.start()
    yield server.server_address[1], cert, seen
    stopper.cancel()
    server.shutdown()
    server.server_close()


def test_https_is_verified_against_the_name_while_the_socket_goes_to_the_checked_address(
    local_webhooks, monkeypatch, tls_receiver, register, alice, link, django_capture_on_commit_callbacks
):
    import ssl

    port, cert, seen = tls_receiver
    real = socket.getaddrinfo
    monkeypatch.setattr(
        netguard.socket,
        "getaddrinfo",
        lambda host, *a, **kw: (
            [(socket.AF_INET, socket.SOCK_STREAM, 6, "", ("127.0.0.1", port))]
            if host == "hooks.test"
            else real(host, *a, **kw)
        ),
    )
    register(alice, f"https://hooks.test:{port}/hook", ["share_link.revoked"])
    revoke(link, django_capture_on_commit_callbacks)
    delivery = WebhookDelivery.objects.get()
    # A certificate nobody vouches for: not delivered, tried again later.
    assert delivery.status == DeliveryStatus.PENDING and "TLS failed" in delivery.last_error
    assert seen["sni"] == ["hooks.test"] and seen["hosts"] == []

    trusted = ssl.create_default_context(cafile=str(cert))
    monkeypatch.setattr(netguard.ssl, "create_default_context", lambda: trusted)
    services.send_due()
    delivery.refresh_from_db()
    assert delivery.status == DeliveryStatus.DELIVERED and delivery.response_status == 204
    assert seen["hosts"] == [f"hooks.test:{port}"]


def test_a_receiver_that_answers_a_byte_at_a_time_is_cut_off(
    local_webhooks, settings, register, alice, link, django_capture_on_commit_callbacks
):
    import threading
    import time

    settings.WEBHOOK_TIMEOUT = 1  # each wait; the whole exchange at most 3 s
    listener = socket.create_server(("127.0.0.1", 0))
    port = listener.getsockname()[1]
    stop = threading.Event()

    def drip() -> None:
        conn, _ = listener.accept()
        with conn:
            conn.recv(65536)
            conn.sendall(b"HTTP/1.1 200 OK\r\nX-Slow: ")
            while not stop.wait(0.3):  # never finishes its headers, never waits a whole second
                try:
                    conn.sendall(b"z")
                except OSError:
                    return

    thread = threading.Thread(target=drip, daemon=True)
    thread.start()
    try:
        register(alice, f"http://127.0.0.1:{port}/hook", ["share_link.revoked"])
        started = time.monotonic()
        revoke(link, django_capture_on_commit_callbacks)
        took = time.monotonic() - started
    finally:
        stop.set()
        listener.close()
    delivery = WebhookDelivery.objects.get()
    assert delivery.status == DeliveryStatus.PENDING
    assert "took longer than 3 s" in delivery.last_error
    assert 2.5 < took < 8


def test_a_deactivated_photographer_sends_nothing(
    local_webhooks, receiver, register, alice, link, django_capture_on_commit_callbacks
):
    register(alice, receiver.url(), ["share_link.revoked"])
    alice.is_active = False
    alice.save()
    revoke(link, django_capture_on_commit_callbacks)
    assert receiver.requests == [] and not WebhookDelivery.objects.exists()
