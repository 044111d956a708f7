"""Community services: invitations, membership changes and their rules."""

from __future__ import annotations

import io
from datetime import timedelta

import pytest
from django.db import IntegrityError, transaction
from django.utils import timezone

from accounts import communities
from accounts.models import Community, Invitation, Membership, User
from config.exceptions import Conflict, Gone, InvalidInput, NotFound, TooLarge, UnsupportedType
from conftest import make_image

pytestmark = pytest.mark.django_db


def test_a_photographer_creates_a_community_and_owns_it(alice):
    c = communities.community_create(owner=alice, name="Harbour Rowing", description="Club photos")
    assert c.slug == "harbour-rowing"
    assert Membership.objects.get(community=c, user=alice).role == "owner"


def test_a_member_cannot_create_a_community(people):
    with pytest.raises(communities.Forbidden):
        communities.community_create(owner=people["dave"], name="Mine")


def test_community_fields_are_checked(alice, community):
    with pytest.raises(InvalidInput, match="taken"):
        communities.community_create(owner=alice, name="Other", slug="harbour")
    with pytest.raises(InvalidInput):
        communities.community_create(owner=alice, name="")
    with pytest.raises(InvalidInput, match=r"[Vv]isibility"):
        communities.community_create(owner=alice, name="X", visibility="everyone")
    with pytest.raises(InvalidInput, match="no field"):
        communities.community_create(owner=alice, name="X", owner_id=1)


def test_the_avatar_is_checked_like_a_logo_and_redrawn(alice, member, community):
    c = communities.community_update(
        community=community, by=member("olga"), avatar=io.BytesIO(make_image("PNG", size=(300, 300)))
    )
    assert c.avatar_key.startswith("communities/") and c.avatar_key.endswith(".webp")
    with pytest.raises(UnsupportedType):
        communities.community_update(community=community, by=member("olga"), avatar=io.BytesIO(b"<svg onload=x>"))
    with pytest.raises(TooLarge):
        communities.community_update(
            community=community, by=member("olga"), avatar=io.BytesIO(b"\x89PNG\r\n\x1a\n" + b"0" * (3 * 2**20))
        )


def test_only_owners_change_the_community(member, community):
    with pytest.raises(communities.Forbidden):
        communities.community_update(community=community, by=member("carol"), name="Taken over")


# --- Invitations ---------------------------------------------------------------------------------


def test_an_invitation_stores_only_the_hash_of_its_token(member, community):
    invitation, token = communities.invitation_create(community=community, by=member("carol"), role="contributor")
    assert len(token) >= 40 and token not in invitation.token_hash
    assert invitation.token_hash == communities.hash_token(token)
    assert communities.invitation_for_token(token) == invitation


def test_curators_invite_contributors_and_viewers_owners_also_curators_nobody_owners(member, community):
    communities.invitation_create(community=community, by=member("olga"), role="curator")
    with pytest.raises(communities.Forbidden):
        communities.invitation_create(community=community, by=member("carol"), role="curator")
    with pytest.raises(InvalidInput):
        communities.invitation_create(community=community, by=member("olga"), role="owner")
    with pytest.raises(communities.Forbidden):
        communities.invitation_create(community=community, by=member("dave"), role="viewer")


@pytest.mark.parametrize(
    ("fields", "match"),
    [
        ({"max_uses": 0}, "Uses"),
        ({"max_uses": 5000}, "Uses"),
        ({"max_uses": "3"}, "Uses"),
        ({"expires_at": "past"}, "future"),
        ({"expires_at": "far"}, "at most"),
        ({"role": "admin"}, "curator, contributor or viewer"),
    ],
)
def test_bad_invitation_values_are_refused(member, community, fields, match):
    if fields.get("expires_at") == "past":
        fields["expires_at"] = timezone.now() - timedelta(minutes=1)
    elif fields.get("expires_at") == "far":
        fields["expires_at"] = timezone.now() + timedelta(days=365)
    with pytest.raises(InvalidInput, match=match):
        communities.invitation_create(community=community, by=member("olga"), **fields)


def test_signing_up_through_an_invitation_makes_a_member_who_is_never_staff(member, community):
    _, token = communities.invitation_create(community=community, by=member("carol"), role="contributor")
    user, membership = communities.invitation_sign_up(
        token=token, username="gwen", email="Gwen@Example.com", password="a-long-pass-phrase"
    )
    assert membership.role == "contributor" and membership.community == community
    assert user.invited and not user.is_staff and not user.is_superuser and user.email == "gwen@example.com"
    user.is_staff = True
    with pytest.raises(IntegrityError), transaction.atomic():
        user.save()
    assert not User.objects.get(pk=user.pk).is_staff


def test_sign_up_names_the_wrong_fields(member, community):
    _, token = communities.invitation_create(community=community, by=member("carol"))
    with pytest.raises(communities.SignUpInvalid) as caught:
        communities.invitation_sign_up(token=token, username="bad name!", email="nope", password="1")
    assert set(caught.value.errors) == {"username", "email", "password"}
    with pytest.raises(communities.SignUpInvalid) as caught:
        communities.invitation_sign_up(token=token, username="dave", email="x@example.com", password="a-long-pass-1")
    assert "taken" in caught.value.errors["username"]
    with pytest.raises(communities.SignUpInvalid) as caught:
        communities.invitation_sign_up(token=token, username="z", email="DAVE@example.com", password="a-long-pass-1")
    assert "sign in" in caught.value.errors["email"]
    assert Invitation.objects.get().uses == 0


def test_an_invitation_is_used_up_after_its_uses(member, community, people):
    _, token = communities.invitation_create(community=community, by=member("carol"), max_uses=1)
    communities.invitation_accept(token=token, user=people["frank"])
    with pytest.raises(Gone) as caught:
        communities.invitation_for_token(token)
    assert caught.value.code == "used_up"


def test_an_expired_or_revoked_invitation_is_gone_and_an_unknown_one_not_found(member, community, people):
    invitation, token = communities.invitation_create(community=community, by=member("carol"))
    Invitation.objects.filter(pk=invitation.pk).update(expires_at=timezone.now() - timedelta(seconds=1))
    with pytest.raises(Gone, match="expired"):
        communities.invitation_accept(token=token, user=people["frank"])
    invitation2, token2 = communities.invitation_create(community=community, by=member("carol"))
    communities.invitation_revoke(invitation=invitation2, by=member("carol"))
    with pytest.raises(Gone) as caught:
        communities.invitation_accept(token=token2, user=people["frank"])
    assert caught.value.code == "revoked"
    with pytest.raises(NotFound):
        communities.invitation_accept(token="nope", user=people["frank"])
    assert not Membership.objects.filter(user=people["frank"]).exists()


def test_a_member_accepting_a_lower_role_keeps_theirs_and_the_link_stays_unused(member, community, people):
    _, token = communities.invitation_create(community=community, by=member("carol"), role="viewer")
    assert communities.invitation_accept(token=token, user=people["dave"]).role == "contributor"
    assert Invitation.objects.get().uses == 0
    _, token = communities.invitation_create(community=community, by=member("carol"), role="contributor")
    assert communities.invitation_accept(token=token, user=people["erin"]).role == "contributor"


def test_a_revoked_invitation_cannot_be_revoked_by_a_viewer(member, community):
    invitation, _ = communities.invitation_create(community=community, by=member("carol"))
    with pytest.raises(communities.Forbidden):
        communities.invitation_revoke(invitation=invitation, by=member("erin"))


# --- Members -------------------------------------------------------------------------------------


def test_curators_change_contributors_and_viewers_but_not_curators_or_owners(member):
    assert communities.membership_change(membership=member("erin"), by=member("carol"), role="contributor").role == (
        "contributor"
    )
    with pytest.raises(communities.Forbidden):
        communities.membership_change(membership=member("erin"), by=member("carol"), role="curator")
    with pytest.raises(communities.Forbidden):
        communities.membership_change(membership=member("olga"), by=member("carol"), role="viewer")
    with pytest.raises(communities.Forbidden):
        communities.membership_change(membership=member("erin"), by=member("dave"), role="viewer")
    with pytest.raises(InvalidInput):
        communities.membership_change(membership=member("erin"), by=member("olga"), role="king")


def test_the_last_owner_stays(member):
    with pytest.raises(Conflict):
        communities.membership_change(membership=member("olga"), by=member("olga"), role="curator")
    with pytest.raises(Conflict):
        communities.membership_remove(membership=member("olga"), by=member("olga"))
    communities.membership_change(membership=member("carol"), by=member("olga"), role="owner")
    communities.membership_remove(membership=member("olga"), by=member("olga"))
    assert not Membership.objects.filter(user__username="olga").exists()


def test_anyone_may_leave_and_curators_remove_viewers(member, community):
    communities.membership_remove(membership=member("dave"), by=member("dave"))
    communities.membership_remove(membership=member("erin"), by=member("carol"))
    assert sorted(Membership.objects.filter(community=community).values_list("user__username", flat=True)) == [
        "carol",
        "olga",
    ]


def test_trusted_is_set_by_curators(member):
    assert communities.membership_change(membership=member("dave"), by=member("carol"), trusted=True).trusted


def test_a_community_with_galleries_cannot_be_deleted(community, community_gallery):
    community_gallery()
    with pytest.raises(Exception, match=r"protected|PROTECT|referenced"):
        Community.objects.filter(pk=community.pk).delete()
