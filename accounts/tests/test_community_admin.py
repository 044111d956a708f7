"""The admin's view of communities: superusers only; invited accounts never become staff there."""

from __future__ import annotations

import io

import pytest
from django.test import Client

from accounts import communities
from accounts.models import Community, Invitation, Membership, User
from conftest import make_image

pytestmark = pytest.mark.django_db


@pytest.fixture
def root(admin_user) -> Client:
    c = Client()
    c.force_login(admin_user)
    return c


def test_superusers_create_a_community_and_own_it(root, admin_user):
    avatar = io.BytesIO(make_image("PNG", size=(200, 200)))
    avatar.name = "logo.png"
    response = root.post(
        "/admin/accounts/community/add/",
        {
            "name": "Chess Club", "slug": "chess", "description": "", "visibility": "listed",
            "daily_file_quota": "100", "daily_byte_quota": "1000000", "avatar": avatar,
            "memberships-TOTAL_FORMS": "0", "memberships-INITIAL_FORMS": "0",
        },
    )  # fmt: skip
    assert response.status_code == 302, response.content.decode()[-2000:]
    community = Community.objects.get(slug="chess")
    assert community.avatar_key.endswith(".webp")
    assert Membership.objects.get(community=community).user == admin_user


def test_a_bad_avatar_is_an_error_beside_its_field(root):
    bad = io.BytesIO(b"<svg onload=alert(1)>")
    bad.name = "x.svg"
    response = root.post(
        "/admin/accounts/community/add/",
        {
            "name": "Chess", "slug": "chess", "visibility": "listed", "daily_file_quota": "1",
            "daily_byte_quota": "1", "avatar": bad, "memberships-TOTAL_FORMS": "0", "memberships-INITIAL_FORMS": "0",
        },
    )  # fmt: skip
    assert response.status_code == 200 and "SVG" in response.content.decode()
    assert not Community.objects.exists()


def test_staff_who_are_not_superusers_do_not_see_communities(alice, community):
    c = Client()
    c.force_login(alice)
    assert c.get("/admin/accounts/community/").status_code == 403
    assert c.get("/admin/accounts/invitation/").status_code == 403


def test_superusers_revoke_invitations(root, community, member):
    invitation, _token = communities.invitation_create(community=community, by=member("carol"))
    response = root.post(
        "/admin/accounts/invitation/", {"action": "revoke", "_selected_action": [invitation.pk], "index": 0}
    )
    assert response.status_code == 302
    assert Invitation.objects.get().is_revoked


def test_an_invited_account_cannot_be_made_staff_in_the_admin(root, community, member):
    _, token = communities.invitation_create(community=community, by=member("carol"))
    user, _ = communities.invitation_sign_up(
        token=token, username="gwen", email="g@example.com", password="long-pass-99"
    )
    page = root.get(f"/admin/accounts/user/{user.pk}/change/")
    form = page.context["adminform"].form
    data = {
        k: v for k, v in form.initial.items() if v is not None and k not in ("groups", "user_permissions", "password")
    }
    data.update({"is_staff": "on", "is_active": "on", "date_joined_0": "2026-12-01", "date_joined_1": "10:00:00"})
    response = root.post(f"/admin/accounts/user/{user.pk}/change/", data)
    assert response.status_code == 200 and "can never be staff" in response.content.decode()
    assert not User.objects.get(pk=user.pk).is_staff
