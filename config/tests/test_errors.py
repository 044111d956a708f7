"""Faults at the edges: every /api/ answer is JSON, and a database outage answers 503, not a 500 page."""

from __future__ import annotations

import socket

import pytest
from django.db import OperationalError, connection
from django.http import HttpResponse
from django.test import Client
from django.urls import include, path
from django.views.decorators.http import require_POST

API_PATHS = [
    "/api/v1/galleries",
    "/api/v1/photos/00000000-0000-0000-0000-000000000000",
    "/api/v1/shared/some-token",
    "/api/v1/auth/login",
]


@pytest.fixture
def client() -> Client:
    # Django's own handlers must answer: the test client would otherwise re-raise the exception.
    return Client(raise_request_exception=False)


def assert_json_error(response, status: int) -> dict:
    assert response.status_code == status, response.content[:300]
    assert response["Content-Type"].startswith("application/json"), response["Content-Type"]
    body = response.json()
    assert isinstance(body.get("detail"), str)
    assert body["detail"]
    return body


# --- Every /api/ answer is JSON ------------------------------------------------------------------


@pytest.mark.django_db
def test_a_non_uuid_in_an_api_path_answers_a_json_404(client):
    assert_json_error(client.get("/api/v1/photos/not-a-uuid"), 404)
    assert_json_error(client.get("/api/v1/galleries/not-a-uuid/photos"), 404)


@pytest.mark.django_db
def test_an_unknown_api_path_answers_a_json_404(client):
    body = assert_json_error(client.get("/api/v1/no-such-thing"), 404)
    assert body["detail"] == "Not found."
    assert_json_error(client.post("/api/v2/galleries", {}), 404)


@pytest.mark.django_db
def test_a_page_path_still_answers_the_html_404(client):
    response = client.get("/g/no-such-gallery/")
    assert response.status_code == 404
    assert response["Content-Type"].startswith("text/html")


@pytest.mark.django_db
def test_a_wrong_method_on_the_api_answers_a_json_405_with_allow(client):
    response = client.put("/api/v1/health")
    assert_json_error(response, 405)
    assert "GET" in response["Allow"]


def plain_django_view(request):
    return HttpResponse("<p>plain</p>")


urlpatterns = [
    path("api/v1/plain", require_POST(plain_django_view)),
    path("api/v1/", include("galleries.api.urls")),
]


@pytest.mark.django_db
@pytest.mark.urls(__name__)
def test_a_plain_django_view_under_the_api_answers_its_405_in_json(client):
    response = client.get("/api/v1/plain")
    body = assert_json_error(response, 405)
    assert body["detail"] == 'Method "GET" not allowed.'
    assert response["Allow"] == "POST"


@pytest.mark.django_db
def test_a_crash_outside_drf_answers_a_json_500_on_api_paths(client, monkeypatch):
    from galleries.api import views

    def boom(*args, **kwargs):
        raise RuntimeError("boom")

    monkeypatch.setattr(views.HealthApi, "get", boom)
    body = assert_json_error(client.get("/api/v1/health"), 500)
    assert "boom" not in body["detail"]


@pytest.mark.django_db
def test_a_bad_host_on_the_api_answers_a_json_400(client):
    assert_json_error(client.get("/api/v1/galleries", HTTP_HOST="evil.example.com"), 400)


@pytest.mark.django_db
def test_a_body_django_refuses_as_too_big_answers_json_on_the_api(client, settings):
    # Django's own DATA_UPLOAD_MAX_MEMORY_SIZE check raises outside DRF's views.
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 10
    response = client.post("/api/v1/auth/login", "x=" + "a" * 100, content_type="application/x-www-form-urlencoded")
    assert response.status_code in (400, 413)
    assert response["Content-Type"].startswith("application/json")


# --- Database down ---------------------------------------------------------------------------


@pytest.fixture
def database_down(monkeypatch):
    """The default connection cannot be made, as when PostgreSQL is stopped."""
    connection.close()

    def refuse(*args, **kwargs):
        raise OperationalError("connection to server at 127.0.0.1, port 1 failed: Connection refused")

    monkeypatch.setattr(connection, "ensure_connection", refuse)
    monkeypatch.setattr(connection, "connect", refuse)
    yield
    monkeypatch.undo()


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("path", API_PATHS)
def test_with_the_database_down_an_api_path_answers_json_503_with_retry_after(client, database_down, path):
    response = client.get(path)
    body = assert_json_error(response, 503)
    assert int(response["Retry-After"]) > 0
    assert "database" not in body["detail"].lower() or "unavailable" in body["detail"].lower()


@pytest.mark.django_db(transaction=True)
def test_with_the_database_down_an_api_post_with_a_session_answers_json_503(client, alice, database_down):
    # The session is read by the auth middleware and DRF's authentication, outside the view.
    client.cookies["sessionid"] = "a" * 32
    response = client.post("/api/v1/galleries", {"title": "x"}, content_type="application/json")
    assert_json_error(response, 503)


@pytest.mark.django_db(transaction=True)
def test_with_the_database_down_a_page_answers_a_friendly_503(client, database_down):
    for page in ["/", "/g/some-gallery/", "/accounts/login/", "/admin/"]:
        client.cookies["sessionid"] = "a" * 32
        response = client.get(page)
        assert response.status_code == 503, (page, response.status_code)
        assert response["Content-Type"].startswith("text/html")
        assert int(response["Retry-After"]) > 0
        html = response.content.decode()
        assert "Contact Sheet" in html
        assert "back in a few minutes" in html
        assert "Traceback" not in html


@pytest.mark.django_db(transaction=True)
def test_with_the_database_down_saving_the_session_answers_503_not_500(client, database_down):
    # A login POST writes the session in SessionMiddleware's response phase, outside the view.
    response = client.post("/accounts/login/", {"username": "alice", "password": "x"})
    assert response.status_code == 503


@pytest.mark.django_db(transaction=True)
def test_with_the_database_down_health_keeps_its_own_503_body(client, database_down):
    response = client.get("/api/v1/health")
    assert response.status_code == 503
    body = response.json()
    assert body["status"] != "ok"
    assert body["database"].startswith("error")


def _dead_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.mark.django_db(transaction=True)
def test_with_postgresql_on_a_dead_port_api_and_pages_answer_503(client, monkeypatch):
    if connection.vendor != "postgresql":
        pytest.skip("needs PostgreSQL (DATABASE_URL=postgres://...)")
    connection.close()
    monkeypatch.setitem(connection.settings_dict, "PORT", str(_dead_port()))
    monkeypatch.setitem(connection.settings_dict, "HOST", "127.0.0.1")
    try:
        assert_json_error(client.get("/api/v1/galleries"), 503)
        response = client.get("/")
        assert response.status_code == 503
        assert "back in a few minutes" in response.content.decode()
    finally:
        connection.close()
