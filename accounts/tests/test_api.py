import pytest
from rest_framework.test import APIClient

pytestmark = pytest.mark.django_db


def test_login_gives_a_token_that_works_and_logout_revokes_it(alice):
    api = APIClient()
    response = api.post("/api/v1/auth/login", {"username": "alice", "password": "alice-pass-123"}, format="json")
    assert response.status_code == 200
    token = response.json()["token"]
    assert response.json()["username"] == "alice"

    api.credentials(HTTP_AUTHORIZATION=f"Token {token}")
    assert api.get("/api/v1/galleries").status_code == 200
    assert api.post("/api/v1/galleries", {"title": "Via token"}, format="json").status_code == 201

    assert api.post("/api/v1/auth/logout").status_code == 204
    assert api.post("/api/v1/galleries", {"title": "After logout"}, format="json").status_code == 401


def test_wrong_password_is_a_clear_400(alice):
    response = APIClient().post("/api/v1/auth/login", {"username": "alice", "password": "nope"}, format="json")
    assert response.status_code == 400
    assert "Unable to log in" in str(response.json())


def test_missing_fields_are_named():
    response = APIClient().post("/api/v1/auth/login", {}, format="json")
    assert response.status_code == 400
    assert set(response.json()) == {"username", "password"}


def test_logout_without_a_token_is_401():
    assert APIClient().post("/api/v1/auth/logout").status_code == 401


def test_login_is_throttled(alice):
    api = APIClient()
    statuses = [
        api.post("/api/v1/auth/login", {"username": "alice", "password": "wrong"}, format="json").status_code
        for _ in range(12)
    ]
    assert statuses[-1] == 429
    assert statuses[0] == 400


def test_a_garbage_token_is_401():
    api = APIClient()
    api.credentials(HTTP_AUTHORIZATION="Token not-a-real-token")
    assert api.get("/api/v1/galleries").status_code == 401
