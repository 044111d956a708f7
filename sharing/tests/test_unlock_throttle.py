"""Share-link passwords: throttled across threads, processes and proxies, never against the real client."""

from __future__ import annotations

import threading
import time
from concurrent.futures import ThreadPoolExecutor

import pytest
import requests
from django.test import Client

from sharing.models import ShareLink

pytestmark = pytest.mark.django_db

ATTACKER = "198.51.100.66"
CLIENT = "203.0.113.5"


def _unlock(client: Client, link: ShareLink, password: str, **extra) -> int:
    return client.post(
        f"/api/v1/shared/{link.token}/unlock", {"password": password}, content_type="application/json", **extra
    ).status_code


@pytest.fixture
def password_checks(monkeypatch) -> list[bool]:
    """Every time a share-link password is really checked (from any thread), its outcome.

    Each check takes 50 ms, as a real password hasher does (the tests' MD5 takes microseconds):
    that is the window in which parallel requests used to slip past a check-then-count throttle.
    """
    checked: list[bool] = []
    lock = threading.Lock()
    original = ShareLink.check_password

    def counting(self, raw: str) -> bool:
        time.sleep(0.05)
        result = original(self, raw)
        with lock:
            checked.append(result)
        return result

    monkeypatch.setattr(ShareLink, "check_password", counting)
    return checked


@pytest.mark.parametrize("store", ["database", "redis"])
def test_parallel_wrong_passwords_against_a_live_server_check_exactly_the_allowed_number(
    store, make_shared, live_server, settings, password_checks, request
):
    if store == "redis":
        request.getfixturevalue("redis_throttle")
    settings.SHARE_UNLOCK_ATTEMPTS = 5
    _, _, link = make_shared(password="secret-pass")
    url = f"{live_server.url}/api/v1/shared/{link.token}/unlock"

    def attempt(i: int) -> int:
        return requests.post(url, json={"password": f"guess-{i}"}, timeout=30).status_code

    # Eight at a time: the test server's listen backlog is 10, and each wave overlaps in the
    # password check anyway.
    with ThreadPoolExecutor(8) as pool:
        statuses = list(pool.map(attempt, range(24)))

    assert sorted(statuses) == [400] * 5 + [429] * 19
    assert password_checks == [False] * 5


def test_two_server_processes_share_one_count(make_shared, app_processes):
    _, _, link = make_shared(password="secret-pass")
    servers = app_processes(2, SHARE_UNLOCK_ATTEMPTS="5")
    statuses = [
        requests.post(
            f"{servers[i % 2]}/api/v1/shared/{link.token}/unlock", json={"password": f"g{i}"}, timeout=30
        ).status_code
        for i in range(12)
    ]
    assert statuses == [400] * 5 + [429] * 7


def test_rotating_x_forwarded_for_does_not_escape_the_throttle_without_trusted_proxies(
    make_shared, client, settings, password_checks
):
    settings.TRUSTED_PROXY_COUNT = 0
    settings.SHARE_UNLOCK_ATTEMPTS = 3
    _, _, link = make_shared(password="secret-pass")
    statuses = [_unlock(client, link, f"guess-{i}", HTTP_X_FORWARDED_FOR=f"192.0.2.{i}") for i in range(20)]
    assert statuses == [400] * 3 + [429] * 17
    assert len(password_checks) == 3


def test_with_one_trusted_proxy_the_address_it_appended_counts_and_a_spoofed_left_entry_does_not_help(
    make_shared, client, settings, password_checks
):
    settings.TRUSTED_PROXY_COUNT = 1
    settings.SHARE_UNLOCK_ATTEMPTS = 3
    _, _, link = make_shared(password="secret-pass")
    # The attacker writes a new address into the header each time; the proxy appends the real one.
    statuses = [_unlock(client, link, f"guess-{i}", HTTP_X_FORWARDED_FOR=f"192.0.2.{i}, {ATTACKER}") for i in range(10)]
    assert statuses == [400] * 3 + [429] * 7
    # The proxy's entry is the address: the real client, seen by the proxy, is not throttled.
    assert _unlock(client, link, "secret-pass", HTTP_X_FORWARDED_FOR=CLIENT) == 200
    assert len(password_checks) == 4


def test_throttled_addresses_do_not_block_the_right_password_from_another_address(make_shared, settings):
    settings.SHARE_UNLOCK_ATTEMPTS = 3
    settings.SHARE_UNLOCK_LINK_FAILURES = 30
    _, _, link = make_shared(password="secret-pass")
    # An attacker with a dozen addresses guesses until every one of them is throttled, and the
    # link has seen more wrong passwords than its ceiling.
    for n in range(12):
        bot = Client(REMOTE_ADDR=f"198.51.100.{n + 1}")
        assert [_unlock(bot, link, f"guess-{n}-{i}") for i in range(4)][-1] == 429
    assert _unlock(Client(REMOTE_ADDR="198.51.100.1"), link, "secret-pass") == 429
    real = Client(REMOTE_ADDR=CLIENT)
    assert _unlock(real, link, "secret-pass") == 200
    assert real.get(f"/s/{link.token}/").status_code == 200


def test_past_the_link_ceiling_an_address_that_failed_waits_but_a_new_one_still_gets_its_try(
    make_shared, settings, password_checks
):
    settings.SHARE_UNLOCK_ATTEMPTS = 5
    settings.SHARE_UNLOCK_LINK_FAILURES = 6
    _, _, link = make_shared(password="secret-pass")
    # Three addresses spend two guesses each: six failures on the link, the ceiling.
    for n in range(3):
        bot = Client(REMOTE_ADDR=f"198.51.100.{n + 1}")
        assert [_unlock(bot, link, f"guess-{n}-{i}") for i in range(2)] == [400, 400]
    # Under attack, an address that has already failed gets no more guesses in this window...
    assert _unlock(Client(REMOTE_ADDR="198.51.100.1"), link, "another-guess") == 429
    # ...a new address gets exactly one (so each guess costs the attacker an address)...
    fresh = Client(REMOTE_ADDR="198.51.100.50")
    assert [_unlock(fresh, link, "guess-a"), _unlock(fresh, link, "guess-b")] == [400, 429]
    # ...and the real client, who has not failed, unlocks with the right password.
    real = Client(REMOTE_ADDR=CLIENT)
    assert _unlock(real, link, "secret-pass") == 200
    assert len(password_checks) == 8


def test_the_right_password_after_a_few_wrong_ones_unlocks_and_starts_the_count_afresh(make_shared, settings):
    settings.SHARE_UNLOCK_ATTEMPTS = 3
    _, _, link = make_shared(password="secret-pass")
    client = Client(REMOTE_ADDR=CLIENT)
    assert [_unlock(client, link, "typo-1"), _unlock(client, link, "typo-2")] == [400, 400]
    assert _unlock(client, link, "secret-pass") == 200
    assert [_unlock(client, link, f"again-{i}") for i in range(4)] == [400, 400, 400, 429]


def test_the_unlock_page_is_throttled_by_the_same_counter(make_shared, settings):
    settings.SHARE_UNLOCK_ATTEMPTS = 2
    _, _, link = make_shared(password="secret-pass")
    page = Client(REMOTE_ADDR=ATTACKER)
    assert [page.post(f"/s/{link.token}/unlock", {"password": "x"}).status_code for _ in range(2)] == [400, 400]
    blocked = page.post(f"/s/{link.token}/unlock", {"password": "secret-pass"})
    assert blocked.status_code == 429 and "Too many wrong passwords" in blocked.content.decode()
    assert _unlock(Client(REMOTE_ADDR=ATTACKER), link, "secret-pass") == 429


def test_a_throttled_unlock_says_when_to_come_back(make_shared, settings):
    from django.test import Client

    _, _, link = make_shared(password="right-pass")
    api, page = Client(), Client()
    for i in range(settings.SHARE_UNLOCK_ATTEMPTS):
        api.post(f"/api/v1/shared/{link.token}/unlock", {"password": f"wrong-{i}"}, content_type="application/json")
    refused = api.post(f"/api/v1/shared/{link.token}/unlock", {"password": "x"}, content_type="application/json")
    assert refused.status_code == 429 and refused["Retry-After"] == str(settings.SHARE_UNLOCK_WINDOW)
    refused_page = page.post(f"/s/{link.token}/unlock", {"password": "x"})
    assert refused_page.status_code == 429 and refused_page["Retry-After"] == str(settings.SHARE_UNLOCK_WINDOW)
