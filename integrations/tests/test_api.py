"""/api/v1/webhooks…: the owner's doors, and everyone else's refusals (stranger 404, anonymous 401,
not a photographer 403, bad input 400)."""

from __future__ import annotations

import pytest
from standardwebhooks.webhooks import Webhook

from integrations.models import DeliveryStatus, WebhookDelivery, WebhookEndpoint
from sharing import services as sharing_services

PUBLIC_URL = "https://93.184.216.34/hooks/contact-sheet"  # an IP literal: no DNS needed


@pytest.fixture
def endpoint(api_for, alice) -> dict:
    response = api_for(alice).post("/api/v1/webhooks", {"url": PUBLIC_URL, "events": ["photo.ready"]}, format="json")
    assert response.status_code == 201, response.content
    return response.json()


@pytest.fixture
def delivered(local_webhooks, receiver, register, alice, make_gallery, django_capture_on_commit_callbacks):
    """One of alice's endpoints on the loopback receiver, with one delivered delivery."""
    endpoint = register(alice, receiver.url(), ["share_link.revoked"])
    link = sharing_services.share_link_create(gallery=make_gallery(alice), label="Ann")
    with django_capture_on_commit_callbacks(execute=True):
        sharing_services.share_link_revoke(link=link)
    delivery = WebhookDelivery.objects.get()
    assert delivery.status == DeliveryStatus.DELIVERED
    return endpoint, delivery


def test_the_owner_registers_an_endpoint_and_sees_its_secret_once(api_for, alice, endpoint):
    assert endpoint["secret"].startswith("whsec_")
    assert endpoint["url"] == PUBLIC_URL and endpoint["events"] == ["photo.ready"] and endpoint["is_active"]
    read = api_for(alice).get(f"/api/v1/webhooks/{endpoint['id']}")
    assert read.status_code == 200 and "secret" not in read.json()
    listed = api_for(alice).get("/api/v1/webhooks").json()
    assert [e["id"] for e in listed] == [endpoint["id"]] and "secret" not in listed[0]


def test_the_owner_changes_and_deletes_an_endpoint(api_for, alice, endpoint):
    api = api_for(alice)
    changed = api.patch(
        f"/api/v1/webhooks/{endpoint['id']}",
        {"events": ["selection.submitted", "photo.ready"], "description": "CRM", "is_active": False},
        format="json",
    )
    assert changed.status_code == 200, changed.content
    assert changed.json()["events"] == ["photo.ready", "selection.submitted"]
    assert changed.json()["description"] == "CRM" and changed.json()["is_active"] is False
    assert api.delete(f"/api/v1/webhooks/{endpoint['id']}").status_code == 204
    assert not WebhookEndpoint.objects.exists()


def test_rotating_the_secret_signs_with_both_for_a_while(
    delivered, api_for, alice, receiver, django_capture_on_commit_callbacks
):
    endpoint, delivery = delivered
    rotated = api_for(alice).post(f"/api/v1/webhooks/{endpoint['id']}/rotate-secret")
    assert rotated.status_code == 200
    new_secret = rotated.json()["secret"]
    assert new_secret.startswith("whsec_") and new_secret != endpoint["secret"]
    with django_capture_on_commit_callbacks(execute=True):
        api_for(alice).post(f"/api/v1/webhooks/{endpoint['id']}/deliveries/{delivery.pk}/replay")
    got = receiver.requests[-1]
    assert len(got.headers["webhook-signature"].split(" ")) == 2
    Webhook(new_secret).verify(got.body, got.headers)  # the receiver that switched already
    Webhook(endpoint["secret"]).verify(got.body, got.headers)  # and the one that has not yet


def test_the_owner_lists_deliveries_and_replays_one(
    delivered, api_for, alice, receiver, django_capture_on_commit_callbacks
):
    endpoint, delivery = delivered
    api = api_for(alice)
    listed = api.get(f"/api/v1/webhooks/{endpoint['id']}/deliveries")
    assert listed.status_code == 200
    [row] = listed.json()["results"]
    assert row["id"] == delivery.pk and row["status"] == "delivered" and row["event_type"] == "share_link.revoked"
    assert row["response_status"] == 200 and row["attempts"] == 1
    assert api.get(f"/api/v1/webhooks/{endpoint['id']}/deliveries?status=failed").json()["results"] == []

    with django_capture_on_commit_callbacks(execute=True):
        replayed = api.post(f"/api/v1/webhooks/{endpoint['id']}/deliveries/{delivery.pk}/replay")
    assert replayed.status_code == 202, replayed.content
    assert replayed.json()["replay_of"] == delivery.pk
    assert WebhookDelivery.objects.get(pk=replayed.json()["id"]).status == DeliveryStatus.DELIVERED
    first, second = receiver.requests
    assert first.headers["webhook-id"] == second.headers["webhook-id"] and first.body == second.body


def test_a_delivery_still_being_tried_cannot_be_replayed(api_for, alice, delivered):
    endpoint, delivery = delivered
    WebhookDelivery.objects.filter(pk=delivery.pk).update(status=DeliveryStatus.PENDING)
    response = api_for(alice).post(f"/api/v1/webhooks/{endpoint['id']}/deliveries/{delivery.pk}/replay")
    assert response.status_code == 409
    assert "still being tried" in response.json()["detail"]


# --- Everyone else -------------------------------------------------------------------------------


def _doors(endpoint_id: str, delivery_id: int) -> list[tuple[str, str, dict | None]]:
    return [
        ("get", f"/api/v1/webhooks/{endpoint_id}", None),
        ("patch", f"/api/v1/webhooks/{endpoint_id}", {"description": "mine now"}),
        ("delete", f"/api/v1/webhooks/{endpoint_id}", None),
        ("post", f"/api/v1/webhooks/{endpoint_id}/rotate-secret", None),
        ("get", f"/api/v1/webhooks/{endpoint_id}/deliveries", None),
        ("post", f"/api/v1/webhooks/{endpoint_id}/deliveries/{delivery_id}/replay", None),
    ]


def test_a_stranger_gets_404_on_every_door(api_for, bob, delivered):
    endpoint, delivery = delivered
    for method, path, body in _doors(endpoint["id"], delivery.pk):
        response = getattr(api_for(bob), method)(path, body, format="json")
        assert response.status_code == 404, (method, path, response.status_code)
    assert api_for(bob).get("/api/v1/webhooks").json() == []
    assert WebhookEndpoint.objects.get().description == ""
    assert WebhookDelivery.objects.count() == 1


def test_a_delivery_of_another_endpoint_is_404(api_for, alice, delivered):
    _, delivery = delivered
    other = (
        api_for(alice).post("/api/v1/webhooks", {"url": PUBLIC_URL, "events": ["photo.ready"]}, format="json").json()
    )
    response = api_for(alice).post(f"/api/v1/webhooks/{other['id']}/deliveries/{delivery.pk}/replay")
    assert response.status_code == 404


def test_anonymous_gets_401_on_every_door(api_for, delivered):
    endpoint, delivery = delivered
    doors = [*_doors(endpoint["id"], delivery.pk), ("get", "/api/v1/webhooks", None), ("post", "/api/v1/webhooks", {})]
    for method, path, body in doors:
        response = getattr(api_for(None), method)(path, body, format="json")
        assert response.status_code == 401, (method, path, response.status_code)


def test_a_user_who_is_not_a_photographer_gets_403(api_for, django_user_model):
    client = django_user_model.objects.create_user("carol", "carol@example.com", "carol-pass-123")
    response = api_for(client).post("/api/v1/webhooks", {"url": PUBLIC_URL, "events": ["photo.ready"]}, format="json")
    assert response.status_code == 403


@pytest.mark.parametrize(
    ("body", "field", "message"),
    [
        ({"events": ["photo.ready"]}, "url", "required"),
        ({"url": PUBLIC_URL, "events": []}, "events", "Choose at least one event"),
        ({"url": PUBLIC_URL, "events": ["photo.deleted"]}, "events", "not a valid choice"),
        ({"url": PUBLIC_URL, "events": "photo.ready"}, "events", ""),
        ({"url": PUBLIC_URL, "events": ["photo.ready"], "secret": "whsec_mine"}, "secret", "Unknown field"),
        ({"url": "http://93.184.216.34/hook", "events": ["photo.ready"]}, "detail", "must start with https://"),
        ({"url": "ftp://93.184.216.34/hook", "events": ["photo.ready"]}, "detail", "must start with https://"),
        ({"url": "https://user:pw@93.184.216.34/", "events": ["photo.ready"]}, "detail", "user name or password"),
        ({"url": "https://127.0.0.1/hook", "events": ["photo.ready"]}, "detail", "not a public address"),
        ({"url": "https://[::1]/hook", "events": ["photo.ready"]}, "detail", "not a public address"),
        ({"url": "https://10.0.0.7/hook", "events": ["photo.ready"]}, "detail", "not a public address"),
        ({"url": "https://192.168.1.20/hook", "events": ["photo.ready"]}, "detail", "not a public address"),
        (
            {"url": "https://169.254.169.254/latest/meta-data", "events": ["photo.ready"]},
            "detail",
            "not a public address",
        ),
        ({"url": "https://224.0.0.1/hook", "events": ["photo.ready"]}, "detail", "not a public address"),
        ({"url": "https://240.0.0.1/hook", "events": ["photo.ready"]}, "detail", "not a public address"),
        ({"url": "https://[::ffff:127.0.0.1]/hook", "events": ["photo.ready"]}, "detail", "not a public address"),
        ({"url": "https://0.0.0.0/hook", "events": ["photo.ready"]}, "detail", "not a public address"),
        ({"url": "https://no-such-host.invalid/hook", "events": ["photo.ready"]}, "detail", "Could not resolve"),
    ],
)
def test_bad_input_is_a_clear_400(api_for, alice, body, field, message):
    response = api_for(alice).post("/api/v1/webhooks", body, format="json")
    assert response.status_code == 400, response.content
    text = str(response.json()[field])
    assert message in text, text
    assert not WebhookEndpoint.objects.exists()


def test_a_change_is_checked_like_a_new_endpoint(api_for, alice, endpoint):
    response = api_for(alice).patch(f"/api/v1/webhooks/{endpoint['id']}", {"url": "https://10.1.1.1/"}, format="json")
    assert response.status_code == 400 and "not a public address" in response.json()["detail"]
    response = api_for(alice).patch(f"/api/v1/webhooks/{endpoint['id']}", {"events": []}, format="json")
    assert response.status_code == 400
    assert WebhookEndpoint.objects.get().url == PUBLIC_URL


def test_a_bad_status_filter_is_a_400(api_for, alice, endpoint):
    response = api_for(alice).get(f"/api/v1/webhooks/{endpoint['id']}/deliveries?status=lost")
    assert response.status_code == 400 and "status" in response.json()


def test_private_addresses_are_allowed_only_by_the_setting(settings, api_for, alice):
    body = {"url": "http://127.0.0.1:9/hook", "events": ["photo.ready"]}
    assert api_for(alice).post("/api/v1/webhooks", body, format="json").status_code == 400
    settings.WEBHOOKS_ALLOW_PRIVATE = True
    assert api_for(alice).post("/api/v1/webhooks", body, format="json").status_code == 201


def test_the_schema_lists_the_webhook_doors(client):
    schema = client.get("/api/schema/?format=json").json()
    assert {"/api/v1/webhooks", "/api/v1/webhooks/{endpoint_id}/deliveries/{delivery_id}/replay"} <= set(
        schema["paths"]
    )
