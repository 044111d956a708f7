"""Every login door (API, sign-in page, admin) is throttled and locks out guessers, never the real user."""

from __future__ import annotations

import threading
import time
from concurrent.futures import ThreadPoolExecutor

import pytest
import requests
from django.contrib.auth.backends import ModelBackend
from django.test import Client
from rest_framework.test import APIClient

pytestmark = pytest.mark.django_db

ATTACKER = "198.51.100.66"
REAL = "203.0.113.5"
PAGE_DOORS = ["/accounts/login/", "/admin/login/"]


@pytest.fixture(autouse=True)
def _login_limits(settings) -> None:
    settings.AXES_FAILURE_LIMIT = 5
    settings.TRUSTED_PROXY_COUNT = 0
    settings.REST_FRAMEWORK = {**settings.REST_FRAMEWORK, "DEFAULT_THROTTLE_RATES": {"login": "10/min"}}


@pytest.fixture
def password_checks(monkeypatch) -> list[str]:
    """The username of every password really checked (from any thread), 50 ms each like a real hasher."""
    checked: list[str] = []
    lock = threading.Lock()
    original = ModelBackend.authenticate

    def counting(self, request, username=None, password=None, **kwargs):
        time.sleep(0.05)
        with lock:
            checked.append(username)
        return original(self, request, username=username, password=password, **kwargs)

    monkeypatch.setattr(ModelBackend, "authenticate", counting)
    return checked


def _api_login(username: str, password: str, **extra):
    return APIClient().post("/api/v1/auth/login", {"username": username, "password": password}, format="json", **extra)


def _signed_in(client: Client) -> bool:
    return "_auth_user_id" in client.session


# --- The API door: a per-address rate, counted before the password is checked -----------------


def test_parallel_api_logins_against_a_live_server_check_exactly_the_allowed_number(
    alice, live_server, password_checks
):
    url = f"{live_server.url}/api/v1/auth/login"

    def attempt(i: int) -> int:
        # A different username each time: guessing across accounts, which only the rate stops.
        return requests.post(url, json={"username": f"user{i}", "password": "wrong"}, timeout=30).status_code

    # Eight at a time: the test server's listen backlog is 10, and each wave overlaps in the
    # password check anyway.
    with ThreadPoolExecutor(8) as pool:
        statuses = list(pool.map(attempt, range(24)))

    assert sorted(statuses) == [400] * 10 + [429] * 14
    assert len(password_checks) == 10


def test_two_server_processes_share_one_api_login_rate(app_processes):
    servers = app_processes(2, LOGIN_THROTTLE="10/min")
    statuses = [
        requests.post(
            f"{servers[i % 2]}/api/v1/auth/login", json={"username": f"user{i}", "password": "wrong"}, timeout=30
        ).status_code
        for i in range(24)
    ]
    assert statuses == [400] * 10 + [429] * 14


def test_rotating_x_forwarded_for_does_not_escape_the_api_login_rate(alice, password_checks):
    statuses = [_api_login(f"user{i}", "wrong", HTTP_X_FORWARDED_FOR=f"192.0.2.{i}").status_code for i in range(30)]
    assert statuses == [400] * 10 + [429] * 20
    assert len(password_checks) == 10


def test_a_throttled_api_login_says_when_to_come_back(alice):
    for i in range(10):
        _api_login(f"user{i}", "wrong")
    response = _api_login("alice", "alice-pass-123")
    assert response.status_code == 429
    assert int(response["Retry-After"]) > 0 and "detail" in response.json()


# --- Lockouts (django-axes): one username from one address ----------------------------------


def test_wrong_passwords_lock_the_api_out_with_a_json_429_and_retry_after(alice, password_checks):
    statuses = [_api_login("alice", f"guess-{i}", REMOTE_ADDR=ATTACKER).status_code for i in range(5)]
    assert statuses == [400] * 4 + [429]
    locked = _api_login("alice", "alice-pass-123", REMOTE_ADDR=ATTACKER)
    assert locked.status_code == 429 and locked["Content-Type"] == "application/json"
    assert "Too many failed sign-in attempts" in locked.json()["detail"]
    assert int(locked["Retry-After"]) == 15 * 60
    assert "token" not in locked.json()
    assert len(password_checks) == 5  # the locked-out attempt's password was never checked


@pytest.mark.parametrize("door", ["/api/v1/auth/login", "/accounts/login/"])
def test_parallel_wrong_passwords_for_one_user_against_a_live_server_check_exactly_the_lockout_limit(
    alice, door, live_server, password_checks
):
    url = f"{live_server.url}{door}"
    csrf = requests.get(f"{live_server.url}/accounts/login/", timeout=30).cookies["csrftoken"]

    def attempt(i: int) -> int:
        if door.startswith("/api/"):
            return requests.post(url, json={"username": "alice", "password": f"guess-{i}"}, timeout=30).status_code
        form = {"username": "alice", "password": f"guess-{i}", "csrfmiddlewaretoken": csrf}
        return requests.post(url, data=form, cookies={"csrftoken": csrf}, timeout=30).status_code

    # Eight at a time: the test server's listen backlog is 10.
    with ThreadPoolExecutor(8) as pool:
        statuses = list(pool.map(attempt, range(16)))

    assert password_checks == ["alice"] * 5
    assert statuses.count(429) >= 11
    locked = requests.post(url, json={"username": "alice", "password": "alice-pass-123"}, timeout=30)
    if not door.startswith("/api/"):
        form = {"username": "alice", "password": "alice-pass-123", "csrfmiddlewaretoken": csrf}
        locked = requests.post(url, data=form, cookies={"csrftoken": csrf}, timeout=30, allow_redirects=False)
    assert locked.status_code == 429


@pytest.mark.parametrize("door", PAGE_DOORS)
def test_twenty_five_wrong_passwords_then_the_right_one_does_not_sign_in_on_a_page(alice, door):
    attacker = Client(REMOTE_ADDR=ATTACKER)
    statuses = [attacker.post(door, {"username": "alice", "password": f"guess-{i}"}).status_code for i in range(25)]
    assert statuses[:4] == [200] * 4 and set(statuses[4:]) == {429}
    response = attacker.post(door, {"username": "alice", "password": "alice-pass-123"})
    assert response.status_code == 429 and not _signed_in(attacker)
    page = response.content.decode()
    assert "Too many attempts" in page and "Try again in 15 minutes" in page
    assert response["Retry-After"] == str(15 * 60)


@pytest.mark.parametrize("door", ["/api/v1/auth/login", *PAGE_DOORS])
def test_the_real_user_from_another_address_still_signs_in_while_the_attacker_is_locked_out(alice, door):
    attacker, real = Client(REMOTE_ADDR=ATTACKER), Client(REMOTE_ADDR=REAL)
    body = {"content_type": "application/json"} if door.startswith("/api/") else {}
    for i in range(6):
        attacker.post(door, {"username": "alice", "password": f"guess-{i}"}, **body)
    assert attacker.post(door, {"username": "alice", "password": "alice-pass-123"}, **body).status_code == 429
    response = real.post(door, {"username": "alice", "password": "alice-pass-123"}, **body)
    assert response.status_code in (200, 302) and response.status_code != 429
    if door.startswith("/api/"):
        assert "token" in response.json()
    else:
        assert response.status_code == 302 and _signed_in(real)


def test_one_door_locks_them_all_for_that_username_and_address(alice):
    attacker = Client(REMOTE_ADDR=ATTACKER)
    for i in range(5):
        attacker.post("/accounts/login/", {"username": "alice", "password": f"guess-{i}"})
    assert attacker.post("/admin/login/", {"username": "alice", "password": "alice-pass-123"}).status_code == 429
    assert _api_login("alice", "alice-pass-123", REMOTE_ADDR=ATTACKER).status_code == 429


def test_rotating_x_forwarded_for_does_not_escape_the_lockout_without_trusted_proxies(alice):
    client = Client()
    statuses = [
        client.post(
            "/accounts/login/", {"username": "alice", "password": f"g{i}"}, HTTP_X_FORWARDED_FOR=f"192.0.2.{i}"
        ).status_code
        for i in range(8)
    ]
    assert statuses == [200] * 4 + [429] * 4


def test_with_one_trusted_proxy_a_spoofed_left_entry_does_not_escape_the_lockout(alice, settings):
    settings.TRUSTED_PROXY_COUNT = 1
    proxy = Client(REMOTE_ADDR="192.0.2.1")  # every request arrives from the proxy
    statuses = [
        proxy.post(
            "/accounts/login/",
            {"username": "alice", "password": f"g{i}"},
            HTTP_X_FORWARDED_FOR=f"192.0.2.{100 + i}, {ATTACKER}",
        ).status_code
        for i in range(8)
    ]
    assert statuses == [200] * 4 + [429] * 4
    # The proxy's entry is the address: alice, behind the same proxy from her own address, gets in.
    real = Client(REMOTE_ADDR="192.0.2.1")
    response = real.post(
        "/accounts/login/", {"username": "alice", "password": "alice-pass-123"}, HTTP_X_FORWARDED_FOR=REAL
    )
    assert response.status_code == 302 and _signed_in(real)


def test_a_successful_sign_in_clears_earlier_failures(alice):
    client = Client(REMOTE_ADDR=REAL)
    for i in range(4):
        client.post("/accounts/login/", {"username": "alice", "password": f"typo-{i}"})
    assert client.post("/accounts/login/", {"username": "alice", "password": "alice-pass-123"}).status_code == 302
    client.logout()
    statuses = [
        client.post("/accounts/login/", {"username": "alice", "password": f"t{i}"}).status_code for i in range(5)
    ]
    assert statuses == [200] * 4 + [429]
