"""The webhook doors and the Idempotency-Key header answer as the schema says (Schemathesis, in-process),
like config/tests/test_schema_fuzz.py does for the rest of the API, on this app's operations and a
POST that takes the header."""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest
import schemathesis
from django.core.handlers.wsgi import WSGIHandler
from django.core.signals import request_finished, request_started
from django.db import close_old_connections, transaction
from hypothesis import HealthCheck, settings
from knox.models import AuthToken
from schemathesis.config import SchemathesisConfig
from schemathesis.core.parameters import ParameterLocation
from schemathesis.specs.openapi.checks import positive_data_acceptance

from integrations import services
from integrations.models import DeliveryStatus, WebhookDelivery, WebhookEvent

MAX_EXAMPLES = int(os.environ.get("SCHEMA_FUZZ_EXAMPLES", "10"))
REFUSALS = ["400", "401", "403", "404", "405", "406", "409", "413", "415", "422", "429"]

schema = schemathesis.openapi.from_wsgi(
    "/api/schema/?format=json",
    WSGIHandler(),
    config=SchemathesisConfig.from_dict(
        {
            "seed": 20261216,
            "generation": {"mode": "all", "max-examples": MAX_EXAMPLES, "deterministic": True, "database": "none"},
            "phases": {"coverage": {"enabled": False}, "stateful": {"enabled": False}},
            "checks": {"negative_data_rejection": {"expected-statuses": REFUSALS}},
        }
    ),
).include(path_regex=r"^/api/v1/(webhooks|galleries$)")


@pytest.fixture
def world(db, alice) -> dict:
    endpoint, _ = services.endpoint_create(owner=alice, url="https://93.184.216.34/hook", events=["photo.ready"])
    event = WebhookEvent.objects.create(owner=alice, type="photo.ready", object_id="x", payload="{}")
    delivery = WebhookDelivery.objects.create(
        event=event, endpoint=endpoint, object_key="photo:x", status=DeliveryStatus.FAILED
    )
    return {
        "token": AuthToken.objects.create(alice)[1],
        "ids": {"endpoint_id": str(endpoint.pk), "delivery_id": delivery.pk},
    }


@pytest.fixture
def _app_keeps_the_test_connection() -> Iterator[None]:
    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    yield
    request_started.connect(close_old_connections)
    request_finished.connect(close_old_connections)


@pytest.fixture(autouse=True)
def _no_network(monkeypatch) -> None:
    """Generated URLs are never looked up or called: every host is 'not found'."""
    import socket

    from integrations import netguard

    def refuse(host, *args, **kwargs):
        try:
            import ipaddress

            ipaddress.ip_address(str(host).strip("[]"))
        except ValueError:
            raise socket.gaierror(socket.EAI_NONAME, "Name or service not known") from None
        return [(socket.AF_INET, socket.SOCK_STREAM, 6, "", (str(host).strip("[]"), 443))]

    monkeypatch.setattr(netguard.socket, "getaddrinfo", refuse)


def _call(case, world: dict, *, token: bool) -> None:
    if not (case.meta is not None and case.meta.is_negative_at(ParameterLocation.PATH)):
        for name in case.path_parameters or {}:
            if name in world["ids"]:
                case.path_parameters[name] = world["ids"][name]
    headers = {"Authorization": f"Token {world['token']}"} if token else None
    with transaction.atomic():
        case.call_and_validate(headers=headers, excluded_checks=[positive_data_acceptance])
        transaction.set_rollback(True)


FUZZ_SETTINGS = settings(
    max_examples=MAX_EXAMPLES,
    derandomize=True,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much, HealthCheck.function_scoped_fixture],
)


@schema.parametrize()
@FUZZ_SETTINGS
def test_webhook_doors_answer_as_documented_with_a_token(case, world, _app_keeps_the_test_connection) -> None:
    _call(case, world, token=True)


@schema.parametrize()
@FUZZ_SETTINGS
def test_webhook_doors_answer_as_documented_without_credentials(case, world, _app_keeps_the_test_connection) -> None:
    _call(case, world, token=False)
