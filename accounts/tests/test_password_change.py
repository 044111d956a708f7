"""A password change, through any door, ends every API token and every session of that user."""

from __future__ import annotations

import pytest
from django.contrib.auth.hashers import MD5PasswordHasher, make_password
from django.core.management import call_command
from django.test import Client
from knox.models import AuthToken
from rest_framework.test import APIClient

from accounts.models import Session

pytestmark = pytest.mark.django_db


class OldMD5PasswordHasher(MD5PasswordHasher):
    """A retired hasher (as fast as the tests' MD5): hashes it made are upgraded at sign-in."""

    algorithm = "old-md5"


class SignedIn:
    """One user's ways in, made through the real doors: an API token and a browser session."""

    def __init__(self, username: str, password: str) -> None:
        response = APIClient().post("/api/v1/auth/login", {"username": username, "password": password}, format="json")
        assert response.status_code == 200
        self.api = APIClient()
        self.api.credentials(HTTP_AUTHORIZATION=f"Token {response.json()['token']}")
        self.browser = Client()
        assert self.browser.post("/accounts/login/", {"username": username, "password": password}).status_code == 302
        self.session_key = self.browser.session.session_key
        assert self.token_works() and self.session_works()

    def token_works(self) -> bool:
        return self.api.get("/api/v1/galleries").status_code == 200

    def session_works(self) -> bool:
        return self.browser.get("/admin/").status_code == 200

    def session_row_exists(self) -> bool:
        return Session.objects.filter(session_key=self.session_key).exists()


def _assert_signed_out(way_in: SignedIn) -> None:
    assert not way_in.session_row_exists()
    assert not way_in.token_works()
    assert not way_in.session_works()


def test_set_password_and_save_ends_every_token_and_session(alice, bob):
    alices, bobs = SignedIn("alice", "alice-pass-123"), SignedIn("bob", "bob-pass-123")
    alice.set_password("a-brand-new-pass-456")
    alice.save()
    _assert_signed_out(alices)
    assert AuthToken.objects.filter(user=alice).count() == 0
    assert bobs.token_works() and bobs.session_works() and bobs.session_row_exists()


def test_an_admin_setting_someones_password_ends_their_tokens_and_sessions(alice, admin_user):
    alices = SignedIn("alice", "alice-pass-123")
    admin = Client()
    admin.force_login(admin_user)
    response = admin.post(
        f"/admin/accounts/user/{alice.pk}/password/",
        {"password1": "a-brand-new-pass-456", "password2": "a-brand-new-pass-456", "usable_password": "true"},
    )
    assert response.status_code == 302
    _assert_signed_out(alices)
    assert admin.get("/admin/").status_code == 200  # the admin's own session is untouched


def test_changing_your_own_password_in_the_admin_ends_your_other_sessions_but_keeps_this_one(alice):
    elsewhere = SignedIn("alice", "alice-pass-123")
    here = Client()
    here.post("/accounts/login/", {"username": "alice", "password": "alice-pass-123"})
    response = here.post(
        "/admin/password_change/",
        {
            "old_password": "alice-pass-123",
            "new_password1": "a-brand-new-pass-456",
            "new_password2": "a-brand-new-pass-456",
        },
    )
    assert response.status_code == 302
    _assert_signed_out(elsewhere)
    assert here.get("/admin/").status_code == 200


def test_making_the_password_unusable_in_the_admin_ends_tokens_and_sessions(alice, admin_user):
    alices = SignedIn("alice", "alice-pass-123")
    admin = Client()
    admin.force_login(admin_user)
    response = admin.post(
        f"/admin/accounts/user/{alice.pk}/password/", {"usable_password": "false", "unset-password": ""}
    )
    assert response.status_code == 302
    alice.refresh_from_db()
    assert not alice.has_usable_password()
    _assert_signed_out(alices)


def test_the_changepassword_command_ends_tokens_and_sessions(alice, monkeypatch):
    from django.contrib.auth.management.commands import changepassword

    alices = SignedIn("alice", "alice-pass-123")
    monkeypatch.setattr(changepassword.Command, "_get_pass", lambda self, prompt="": "a-brand-new-pass-456")
    call_command("changepassword", "alice", stdout=None)
    _assert_signed_out(alices)


def test_saving_a_user_without_touching_the_password_keeps_them_signed_in(alice):
    alices = SignedIn("alice", "alice-pass-123")
    alice.first_name = "Alice"
    alice.save()
    assert alices.token_works() and alices.session_works()


def test_a_password_hash_upgrade_at_sign_in_is_not_a_password_change(alice, settings):
    alices = SignedIn("alice", "alice-pass-123")
    # A stored hash from an older hasher is upgraded on the next sign-in (check_password's setter).
    settings.PASSWORD_HASHERS = [
        "django.contrib.auth.hashers.MD5PasswordHasher",
        f"{__name__}.OldMD5PasswordHasher",
    ]
    type(alice).objects.filter(pk=alice.pk).update(password=make_password("alice-pass-123", hasher="old-md5"))
    assert Client().post("/accounts/login/", {"username": "alice", "password": "alice-pass-123"}).status_code == 302
    alice.refresh_from_db()
    assert alice.password.startswith("md5$")
    # Tokens and session rows stay. (Django itself still ends the old sessions at their next
    # request, because the session hash is derived from the stored hash.)
    assert alices.session_row_exists() and alices.token_works()
