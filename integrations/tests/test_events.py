"""config.events: the seam lower apps emit through; and the pure helpers behind deliveries."""

from __future__ import annotations

import pytest
from django.db import transaction
from standardwebhooks.webhooks import Webhook

from config import events
from galleries.models import Gallery
from integrations import netguard, signing
from integrations.models import WebhookDelivery, WebhookEvent


def test_an_unknown_event_type_is_a_programming_error(alice):
    with pytest.raises(ValueError, match="Unknown event type"):
        events.emit("photo.deleted", owner=alice, obj_id="x")


def test_a_broken_handler_never_undoes_the_change(db, alice, make_gallery, monkeypatch, caplog):
    def broken(event_type, **kwargs):
        Gallery.objects.raw("SELECT nothing FROM nowhere")[0]  # a database error inside the handler

    events.register(broken)
    try:
        with transaction.atomic():
            gallery = make_gallery(alice, title="Kept")
            events.emit("gallery.published", owner=alice, obj_id=gallery.pk)
            Gallery.objects.filter(pk=gallery.pk).update(title="Kept and changed")  # the transaction still works
    finally:
        events.unregister(broken)
    assert Gallery.objects.get().title == "Kept and changed"
    assert "event handler" in caplog.text


def test_nobody_listening_writes_nothing(db, alice, make_gallery, django_assert_max_num_queries):
    gallery = make_gallery(alice)
    # One SELECT, and the savepoint around the handler (this test runs inside a transaction).
    with django_assert_max_num_queries(3):
        events.emit("gallery.expired", owner=alice, obj_id=gallery.pk)
    assert not WebhookEvent.objects.exists() and not WebhookDelivery.objects.exists()


def test_our_signatures_verify_with_an_independent_implementation():
    secret = signing.new_secret()
    body = b'{"type":"photo.ready","data":{"id":"1"}}'
    import time

    now = int(time.time())
    headers = signing.headers([secret], msg_id="msg_1", timestamp=now, body=body)
    assert Webhook(secret).verify(body, headers) == {"type": "photo.ready", "data": {"id": "1"}}
    with pytest.raises(Exception, match="signature"):
        Webhook(signing.new_secret()).verify(body, headers)


@pytest.mark.parametrize(
    ("address", "public"),
    [
        ("93.184.216.34", True),
        ("2606:4700::1111", True),
        ("127.0.0.1", False),
        ("10.0.0.1", False),
        ("172.16.5.4", False),
        ("192.168.0.1", False),
        ("100.64.0.1", False),
        ("169.254.169.254", False),
        ("224.0.0.251", False),
        ("240.0.0.1", False),
        ("255.255.255.255", False),
        ("0.0.0.0", False),  # noqa: S104 - an address under test, nothing binds to it
        ("::1", False),
        ("::", False),
        ("fe80::1", False),
        ("fc00::1", False),
        ("ff02::1", False),
        ("::ffff:10.0.0.1", False),
        ("2002:7f00:0001::1", False),  # 6to4 around 127.0.0.1
        ("not an address", False),
    ],
)
def test_which_addresses_count_as_public(address, public):
    assert netguard.is_public(address) is public


def test_a_url_is_checked_before_anything_is_resolved():
    with pytest.raises(netguard.Refused, match="https"):
        netguard.check_url("http://93.184.216.34/", allow_http=False)
    assert netguard.check_url("http://93.184.216.34:8080/", allow_http=True) == ("http", "93.184.216.34", 8080)
    with pytest.raises(netguard.Refused, match="not valid"):
        netguard.check_url("https://93.184.216.34:99999/", allow_http=False)
