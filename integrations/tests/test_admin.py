"""The admin door: photographers register their own endpoints, see their own deliveries, replay them."""

from __future__ import annotations

import pytest

from integrations.models import DeliveryStatus, WebhookDelivery, WebhookEndpoint
from sharing import services as sharing_services

PUBLIC_URL = "https://93.184.216.34/hooks/admin"
ADD = "/admin/integrations/webhookendpoint/add/"


def _add(client, url: str = PUBLIC_URL, events: tuple[str, ...] = ("photo.ready",)):
    return client.post(ADD, {"url": url, "description": "CRM", "events": list(events), "is_active": "on"}, follow=True)


def test_a_photographer_registers_an_endpoint_and_sees_the_secret_once(client_for, alice):
    response = _add(client_for(alice))
    assert response.status_code == 200
    endpoint = WebhookEndpoint.objects.get()
    assert endpoint.owner == alice and endpoint.events == ["photo.ready"]
    shown = [str(m) for m in response.context["messages"]]
    assert any(endpoint.secret in m for m in shown)
    page = client_for(alice).get(f"/admin/integrations/webhookendpoint/{endpoint.pk}/change/")
    assert page.status_code == 200 and endpoint.secret not in page.content.decode()


def test_the_admin_refuses_a_private_address(client_for, alice):
    response = _add(client_for(alice), url="https://10.0.0.3/hook")
    assert response.status_code == 200
    assert "not a public address" in response.content.decode()
    assert not WebhookEndpoint.objects.exists()


def test_the_admin_refuses_no_events(client_for, alice):
    response = _add(client_for(alice), events=())
    assert "This field is required" in response.content.decode()
    assert not WebhookEndpoint.objects.exists()


def test_anonymous_is_sent_to_the_login(db, client_for):
    response = client_for(None).post(ADD, {"url": PUBLIC_URL, "events": ["photo.ready"]})
    assert response.status_code == 302 and "/login/" in response["Location"]
    assert not WebhookEndpoint.objects.exists()


def test_a_stranger_neither_sees_nor_changes_anothers_endpoint(client_for, alice, bob):
    _add(client_for(alice))
    endpoint = WebhookEndpoint.objects.get()
    stranger = client_for(bob)
    listing = stranger.get("/admin/integrations/webhookendpoint/")
    assert listing.status_code == 200 and PUBLIC_URL not in listing.content.decode()
    change = f"/admin/integrations/webhookendpoint/{endpoint.pk}/change/"
    assert stranger.get(change).status_code in (302, 403, 404)
    stranger.post(change, {"url": "https://93.184.216.35/", "events": ["photo.ready"], "is_active": "on"})
    stranger.post(f"/admin/integrations/webhookendpoint/{endpoint.pk}/delete/", {"post": "yes"})
    endpoint.refresh_from_db()
    assert endpoint.url == PUBLIC_URL


def test_rotating_from_the_admin_shows_the_new_secret(client_for, alice):
    _add(client_for(alice))
    endpoint = WebhookEndpoint.objects.get()
    old = endpoint.secret
    response = client_for(alice).post(
        "/admin/integrations/webhookendpoint/",
        {"action": "rotate_secret", "_selected_action": [str(endpoint.pk)]},
        follow=True,
    )
    endpoint.refresh_from_db()
    assert endpoint.secret != old and endpoint.previous_secret == old
    assert any(endpoint.secret in str(m) for m in response.context["messages"])


@pytest.fixture
def failed_delivery(local_webhooks, receiver, register, alice, make_gallery, django_capture_on_commit_callbacks):
    register(alice, receiver.url(), ["share_link.revoked"])
    receiver.answer(410)
    link = sharing_services.share_link_create(gallery=make_gallery(alice), label="Ann")
    with django_capture_on_commit_callbacks(execute=True):
        sharing_services.share_link_revoke(link=link)
    delivery = WebhookDelivery.objects.get()
    assert delivery.status == DeliveryStatus.FAILED
    return delivery


def test_the_owner_replays_a_failed_delivery_from_the_admin(
    failed_delivery, client_for, alice, receiver, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        response = client_for(alice).post(
            "/admin/integrations/webhookdelivery/",
            {"action": "replay", "_selected_action": [str(failed_delivery.pk)]},
            follow=True,
        )
    assert response.status_code == 200
    replay = WebhookDelivery.objects.exclude(pk=failed_delivery.pk).get()
    assert replay.replay_of == failed_delivery and replay.status == DeliveryStatus.DELIVERED
    assert len(receiver.requests) == 2


def test_a_stranger_cannot_see_or_replay_anothers_delivery(failed_delivery, client_for, bob, receiver):
    stranger = client_for(bob)
    listing = stranger.get("/admin/integrations/webhookdelivery/")
    assert listing.status_code == 200 and f"{failed_delivery.pk} of " not in listing.content.decode()
    assert "0 webhook deliveries" in listing.content.decode()
    stranger.post(
        "/admin/integrations/webhookdelivery/", {"action": "replay", "_selected_action": [str(failed_delivery.pk)]}
    )
    assert WebhookDelivery.objects.count() == 1
    assert len(receiver.requests) == 1
