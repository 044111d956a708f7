"""The webhook pages of the admin in Chromium: register an endpoint, read its secret once, see the
deliveries; no axe violation in their content (screenshots in /tmp/shots/webhooks/)."""

from __future__ import annotations

from pathlib import Path

import pytest

from integrations.models import WebhookEndpoint
from sharing import services as sharing_services
from tests.browser.conftest import axe, browser, csp_violations, login, page  # noqa: F401 - fixtures

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

SHOTS = Path("/tmp/shots/webhooks")


def snap(page, name: str) -> None:  # noqa: F811 - `page` here is the argument
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / f"{name}.png"), full_page=True)


def no_violations(page, axe) -> None:  # noqa: F811
    found = axe(page, "#content-main")
    assert not found, found


def test_a_photographer_registers_an_endpoint_and_follows_its_deliveries(
    page,  # noqa: F811
    axe,  # noqa: F811
    live_server,
    alice,
    receiver,
    settings,
    make_gallery,
):
    settings.WEBHOOKS_ALLOW_PRIVATE = True
    login(page, live_server, "alice", "alice-pass-123")
    page.goto(f"{live_server.url}/admin/integrations/webhookendpoint/add/")
    no_violations(page, axe)
    page.fill("#id_url", receiver.url())
    page.fill("#id_description", "Studio CRM")
    page.check("input[name=events][value='share_link.revoked']")
    page.check("input[name=events][value='selection.submitted']")
    snap(page, "1-add")
    page.click("input[name=_save]")
    message = page.locator(".messagelist .warning").inner_text()
    endpoint = WebhookEndpoint.objects.get()
    assert endpoint.secret in message
    no_violations(page, axe)
    snap(page, "2-secret-shown-once")

    link = sharing_services.share_link_create(gallery=make_gallery(alice), label="Ann")
    sharing_services.share_link_revoke(link=link)  # committed: the delivery goes at once
    page.goto(f"{live_server.url}/admin/integrations/webhookdelivery/")
    assert "share_link.revoked" in page.locator("#result_list").inner_text()
    assert "delivered" in page.locator("#result_list").inner_text().lower()
    no_violations(page, axe)
    snap(page, "3-deliveries")
    page.click("#result_list tbody tr a")
    no_violations(page, axe)
    snap(page, "4-delivery")
    assert len(receiver.requests) == 1
