"""The request log keeps what an operator must read: ordinary refusals on share links and the API stay out."""

from __future__ import annotations

import logging
import secrets
from collections.abc import Iterator
from unittest import mock

import pytest
from django.core.files.storage import FileSystemStorage
from django.test import Client


class RequestLog:
    """What django.request hands to its handlers (it does not propagate to caplog's root handler)."""

    def __init__(self, caplog: pytest.LogCaptureFixture) -> None:
        self.caplog = caplog

    def records(self) -> list[tuple[str, int]]:
        return [(r.levelname, r.status_code) for r in self.caplog.records if r.name == "django.request"]

    def warnings_or_worse(self) -> list[str]:
        return [f"{r.levelname} {r.getMessage()}" for r in self.caplog.records if r.levelno >= logging.WARNING]


@pytest.fixture
def request_log(caplog) -> Iterator[RequestLog]:
    logger = logging.getLogger("django.request")
    logger.addHandler(caplog.handler)
    try:
        yield RequestLog(caplog)
    finally:
        logger.removeHandler(caplog.handler)


def unknown_token() -> str:
    return secrets.token_urlsafe(32)


def test_an_unknown_share_link_is_not_a_warning(db, client, request_log):
    assert client.get(f"/s/{unknown_token()}/").status_code == 404
    assert client.get(f"/api/v1/shared/{unknown_token()}").status_code == 404
    assert request_log.warnings_or_worse() == []


def test_an_api_call_without_credentials_is_not_a_warning(db, api_for, request_log):
    assert api_for(None).post("/api/v1/galleries", {"title": "x"}, format="json").status_code == 401
    assert request_log.warnings_or_worse() == []


def test_bad_input_on_the_api_is_not_a_warning(alice, api_for, request_log):
    assert api_for(alice).post("/api/v1/galleries", {"title": ""}, format="json").status_code == 400
    assert request_log.warnings_or_worse() == []


def test_ordinary_refusals_are_still_there_at_debug_level(db, client, request_log, caplog):
    with caplog.at_level(logging.DEBUG, logger="django.request"):
        assert client.get(f"/s/{unknown_token()}/").status_code == 404
    assert request_log.records() == [("DEBUG", 404)]


def test_a_server_error_on_the_api_is_still_an_error(db, request_log):
    with mock.patch.object(FileSystemStorage, "exists", side_effect=OSError("disk gone")):
        answer = Client(raise_request_exception=False).get("/api/v1/health")
    assert answer.status_code == 503
    assert request_log.records() == [("ERROR", 503)]


def test_a_missing_page_outside_links_and_the_api_is_still_a_warning(db, client, request_log):
    assert client.get("/g/no-such-gallery/").status_code == 404
    assert request_log.records() == [("WARNING", 404)]


def test_a_throttled_password_guess_on_a_share_link_is_still_a_warning(alice, settings, request_log):
    from galleries.services import gallery_create
    from sharing.services import share_link_create

    settings.SHARE_UNLOCK_ATTEMPTS = 1
    link = share_link_create(gallery=gallery_create(owner=alice, title="Anna & Ben"), password="right-one")
    guesser = Client()
    unlock = f"/api/v1/shared/{link.token}/unlock"
    wrong = guesser.post(unlock, {"password": "wrong"}, content_type="application/json")
    throttled = guesser.post(unlock, {"password": "wrong"}, content_type="application/json")
    assert (wrong.status_code // 100, throttled.status_code) == (4, 429)
    assert request_log.records() == [("WARNING", 429)]  # the wrong password itself is an ordinary answer
