"""Member pages: the community, my communities, members, invitations, joining, the curation queue."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.core import mail
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from accounts import communities
from accounts.models import Community, Invitation, Membership, User
from galleries.models import Gallery, Photo

pytestmark = pytest.mark.django_db


@pytest.fixture
def as_(people, alice, admin_user):
    """as_("carol") -> a client signed in as carol; as_(None) anonymous."""

    def make(name):
        c = Client()
        if name == "alice":
            c.force_login(alice)
        elif name == "admin":
            c.force_login(admin_user)
        elif name is not None:
            c.force_login(people[name])
        return c

    return make


# --- The community page ------------------------------------------------------------------------


@pytest.mark.parametrize("name", ["olga", "carol", "dave", "erin", "admin"])
def test_members_see_the_community_and_its_members_galleries(as_, community, community_gallery, name):
    community_gallery("Regatta")
    response = as_(name).get("/c/harbour/")
    assert response.status_code == 200
    page = response.content.decode()
    assert "Harbour Rowing" in page and "Regatta" in page


@pytest.mark.parametrize("name", ["frank", None, "alice_not_member"])
def test_outsiders_get_404_for_a_members_only_community(as_, community, community_gallery, name, bob):
    community_gallery("Regatta")
    c = as_(name if name != "alice_not_member" else None)
    if name == "alice_not_member":
        c.force_login(bob)
    assert c.get("/c/harbour/").status_code == 404
    assert c.get("/c/harbour/members/").status_code in (302, 404)
    assert c.get("/c/harbour/queue/").status_code in (302, 404)


def test_a_listed_community_shows_visitors_only_what_they_may_see(as_, community, community_gallery):
    Community.objects.filter(pk=community.pk).update(visibility="listed")
    community_gallery("Members regatta", visibility="members")
    community_gallery("Open day", visibility="public")
    page = as_(None).get("/c/harbour/").content.decode()
    assert "Open day" in page and "Members regatta" not in page
    assert as_("frank").get("/c/harbour/members/").status_code == 403


def test_an_unknown_community_is_404(as_):
    assert as_("frank").get("/c/nowhere/").status_code == 404


def test_the_community_page_takes_the_same_queries_whatever_the_number_of_galleries(
    as_, community, community_gallery, pending_photo
):
    c = as_("erin")
    first = community_gallery("One")
    pending_photo(first, 1)
    Photo.objects.update(is_approved=True)
    c.get("/c/harbour/")  # warm the session and content types
    with CaptureQueriesContext(connection) as few:
        assert c.get("/c/harbour/").status_code == 200
    for i in range(12):
        gallery = community_gallery(f"Gallery {i}")
        pending_photo(gallery, 100 + i)
    Photo.objects.update(is_approved=True)
    for i in range(10):
        user = User.objects.create_user(f"m{i}")
        Membership.objects.create(user=user, community=community, role="viewer")
    with CaptureQueriesContext(connection) as many:
        response = c.get("/c/harbour/")
    assert response.status_code == 200 and "Gallery 11" in response.content.decode()
    assert len(many) == len(few), [q["sql"] for q in many.captured_queries]


def test_the_galleries_fragment_for_htmx(as_, community, community_gallery):
    community_gallery("Regatta")
    response = as_("erin").get("/c/harbour/", HTTP_HX_REQUEST="true", HTTP_HX_TARGET="community-galleries")
    page = response.content.decode()
    assert response.status_code == 200 and "Regatta" in page and "<html" not in page
    assert 'id="community-galleries"' in page


def test_my_communities_lists_mine_with_my_role(as_, community):
    Community.objects.create(name="Chess Club", slug="chess")
    page = as_("carol").get("/c/").content.decode()
    assert "Harbour Rowing" in page and "Curator" in page and "Chess Club" not in page
    assert as_(None).get("/c/").status_code == 302


# --- Members -------------------------------------------------------------------------------------


def test_members_see_the_member_list_without_controls_unless_they_curate(as_, community):
    viewer_page = as_("erin").get("/c/harbour/members/").content.decode()
    assert "dave" in viewer_page and "Remove<span" not in viewer_page
    curator_page = as_("carol").get("/c/harbour/members/").content.decode()
    assert "Remove<span" in curator_page


def test_a_curator_changes_a_role_with_htmx(as_, member):
    erin = member("erin")
    response = as_("carol").post(f"/c/harbour/members/{erin.pk}/", {"role": "contributor"}, HTTP_HX_REQUEST="true")
    assert response.status_code == 200 and 'id="members"' in response.content.decode()
    assert member("erin").role == "contributor"


@pytest.mark.parametrize(("name", "status"), [("erin", 403), ("dave", 403), ("frank", 404), (None, 302)], ids=str)
def test_changing_a_member_is_refused_to_others(as_, member, name, status):
    carol = member("carol")
    response = as_(name).post(f"/c/harbour/members/{carol.pk}/", {"role": "viewer"})
    assert response.status_code == status
    assert member("carol").role == "curator"
    response = as_(name).post(f"/c/harbour/members/{carol.pk}/", {"action": "remove"})
    assert response.status_code == status
    assert Membership.objects.filter(pk=carol.pk).exists()


def test_bad_member_input_is_a_clear_4xx(as_, member):
    c = as_("olga")
    assert c.post(f"/c/harbour/members/{member('dave').pk}/", {"role": "emperor"}).status_code == 400
    assert c.post("/c/harbour/members/999999/", {"role": "viewer"}).status_code == 404
    assert c.post("/c/harbour/members/abc/", {"role": "viewer"}).status_code == 404
    response = c.post(f"/c/harbour/members/{member('olga').pk}/", {"role": "viewer"})
    assert response.status_code == 409 and "at least one owner" in response.content.decode()


def test_a_member_from_another_community_cannot_be_changed_through_this_one(as_, community, people):
    other = Community.objects.create(name="Chess", slug="chess")
    foreign = Membership.objects.create(user=people["frank"], community=other, role="viewer")
    assert as_("olga").post(f"/c/harbour/members/{foreign.pk}/", {"action": "remove"}).status_code == 404
    assert Membership.objects.filter(pk=foreign.pk).exists()


def test_removing_a_member_ends_their_pages_at_once(as_, member, community_gallery):
    gallery = community_gallery("Regatta")
    erin_client = as_("erin")
    assert erin_client.get(f"/g/{gallery.slug}/").status_code == 200
    assert as_("carol").post(f"/c/harbour/members/{member('erin').pk}/", {"action": "remove"}).status_code == 302
    assert erin_client.get(f"/g/{gallery.slug}/").status_code == 404
    assert erin_client.get("/c/harbour/").status_code == 404


def test_a_member_leaves(as_, member):
    response = as_("dave").post(f"/c/harbour/members/{member('dave').pk}/", {"action": "remove"})
    assert response.status_code == 302 and response["Location"] == "/c/"
    assert not Membership.objects.filter(user__username="dave").exists()


# --- Invitations ---------------------------------------------------------------------------------


def test_a_curator_makes_an_invitation_and_sees_the_link_once(as_, community):
    c = as_("carol")
    response = c.post("/c/harbour/invitations/", {"role": "contributor", "days": "3", "max_uses": "5", "label": "Crew"})
    page = response.content.decode()
    assert response.status_code == 200 and "/join/" in page and "shown only once" in page
    invitation = Invitation.objects.get()
    assert (invitation.role, invitation.max_uses, invitation.label) == ("contributor", 5, "Crew")
    assert invitation.expires_at - timezone.now() > timedelta(days=2, hours=23)
    assert "/join/" not in c.get("/c/harbour/invitations/").content.decode()


@pytest.mark.parametrize(
    ("data", "status"),
    [
        ({"role": "owner", "days": "3", "max_uses": "1"}, 400),
        ({"role": "viewer", "days": "abc", "max_uses": "1"}, 400),
        ({"role": "viewer", "days": "365", "max_uses": "1"}, 400),
        ({"role": "viewer", "days": "1", "max_uses": "0"}, 400),
        ({"role": "curator", "days": "1", "max_uses": "1"}, 403),
    ],
    ids=str,
)
def test_bad_invitations_are_refused_with_a_message(as_, community, data, status):
    response = as_("carol").post("/c/harbour/invitations/", data)
    assert response.status_code == status
    assert 'class="errors"' in response.content.decode()
    assert not Invitation.objects.exists()


@pytest.mark.parametrize(("name", "status"), [("erin", 403), ("dave", 403), ("frank", 404), (None, 302)], ids=str)
def test_invitations_are_for_curators_only(as_, community, member, name, status):
    invitation, _ = communities.invitation_create(community=community, by=member("carol"))
    c = as_(name)
    assert c.get("/c/harbour/invitations/").status_code == status
    assert c.post("/c/harbour/invitations/", {"role": "viewer", "days": "1", "max_uses": "1"}).status_code == status
    assert c.post(f"/c/harbour/invitations/{invitation.pk}/revoke").status_code == status
    assert Invitation.objects.count() == 1 and Invitation.objects.get().revoked_at is None


def test_a_curator_revokes_an_invitation(as_, community, member):
    invitation, token = communities.invitation_create(community=community, by=member("carol"))
    response = as_("carol").post(f"/c/harbour/invitations/{invitation.pk}/revoke", HTTP_HX_REQUEST="true")
    assert response.status_code == 200 and "Revoked" in response.content.decode()
    assert as_(None).get(f"/join/{token}/").status_code == 410
    assert as_("carol").post("/c/harbour/invitations/not-a-uuid/revoke").status_code == 404


# --- Joining -------------------------------------------------------------------------------------


def test_joining_through_an_invitation_creates_the_account_and_signs_in(as_, community, member):
    _, token = communities.invitation_create(community=community, by=member("carol"), role="contributor")
    c = as_(None)
    page = c.get(f"/join/{token}/")
    assert page.status_code == 200 and "Join Harbour Rowing" in page.content.decode()
    assert page["Referrer-Policy"] == "same-origin"
    response = c.post(
        f"/join/{token}/", {"username": "gwen", "email": "gwen@example.com", "password": "a-long-pass-phrase"}
    )
    assert response.status_code == 302 and response["Location"] == "/c/harbour/"
    assert c.get("/c/harbour/").status_code == 200
    gwen = User.objects.get(username="gwen")
    assert gwen.invited and not gwen.is_staff
    assert Membership.objects.get(user=gwen).role == "contributor"


def test_a_signed_in_user_accepts_an_invitation(as_, community, member, people):
    _, token = communities.invitation_create(community=community, by=member("carol"))
    c = as_("frank")
    assert "Signed in as" in c.get(f"/join/{token}/").content.decode()
    assert c.post(f"/join/{token}/").status_code == 302
    assert Membership.objects.get(user=people["frank"]).role == "viewer"


def test_sign_up_errors_are_shown_by_field(as_, community, member):
    _, token = communities.invitation_create(community=community, by=member("carol"))
    response = as_(None).post(f"/join/{token}/", {"username": "", "email": "x", "password": "1"})
    page = response.content.decode()
    assert response.status_code == 400 and page.count('aria-invalid="true"') == 3
    assert not User.objects.filter(email="x").exists()


@pytest.mark.parametrize("state", ["expired", "used_up", "revoked"])
def test_a_closed_invitation_shows_a_clear_page(as_, community, member, people, state):
    invitation, token = communities.invitation_create(community=community, by=member("carol"))
    if state == "expired":
        Invitation.objects.filter(pk=invitation.pk).update(expires_at=timezone.now() - timedelta(seconds=1))
    elif state == "used_up":
        communities.invitation_accept(token=token, user=people["frank"])
    else:
        communities.invitation_revoke(invitation=invitation, by=None)
    words = {"expired": "has expired", "used_up": "used up", "revoked": "withdrawn"}[state]
    for response in (as_(None).get(f"/join/{token}/"), as_(None).post(f"/join/{token}/", {"username": "z"})):
        assert response.status_code == 410 and words in response.content.decode()
    assert as_(None).get("/join/not-a-token/").status_code == 404


def test_joining_is_throttled_per_address(as_, community, member, settings):
    _, token = communities.invitation_create(community=community, by=member("carol"))
    c = Client(REMOTE_ADDR="198.51.100.7")
    statuses = [c.post(f"/join/{token}/", {"username": "", "password": ""}).status_code for _ in range(22)]
    assert statuses[:20] == [400] * 20 and statuses[20:] == [429, 429]
    assert Client(REMOTE_ADDR="198.51.100.8").post(f"/join/{token}/", {}).status_code == 400


# --- Sign-in and password reset ------------------------------------------------------------------


def test_password_reset_mails_only_real_accounts_and_says_the_same_to_everyone(people):
    c = Client()
    known = c.post("/accounts/password-reset/", {"email": "erin@example.com"})
    unknown = c.post("/accounts/password-reset/", {"email": "nobody@example.com"})
    assert known.status_code == unknown.status_code == 302
    assert known["Location"] == unknown["Location"]
    assert len(mail.outbox) == 1 and mail.outbox[0].to == ["erin@example.com"]
    assert "/accounts/reset/" in mail.outbox[0].body
    done = c.get(known["Location"]).content.decode()
    assert "If the address belongs to an account" in done


def test_a_reset_link_sets_a_new_password(people):
    c = Client()
    c.post("/accounts/password-reset/", {"email": "erin@example.com"})
    link = next(line for line in mail.outbox[0].body.splitlines() if "/accounts/reset/" in line)
    path = link.split("://", 1)[1].split("/", 1)[1]
    form = c.get("/" + path, follow=True)
    assert form.status_code == 200 and "Choose a new password" in form.content.decode()
    response = c.post(
        form.redirect_chain[-1][0], {"new_password1": "a-fresh-phrase-9", "new_password2": "a-fresh-phrase-9"}
    )
    assert response.status_code == 302
    assert User.objects.get(username="erin").check_password("a-fresh-phrase-9")


def test_password_reset_is_throttled_per_address(people):
    c = Client(REMOTE_ADDR="198.51.100.9")
    statuses = [c.post("/accounts/password-reset/", {"email": "erin@example.com"}).status_code for _ in range(7)]
    assert statuses[:5] == [302] * 5 and statuses[5:] == [429, 429]
    assert len(mail.outbox) == 5


def test_sign_in_is_throttled_per_address_across_usernames(people):
    c = Client(REMOTE_ADDR="198.51.100.10")
    statuses = [
        c.post("/accounts/login/", {"username": f"user{i}", "password": "wrong"}).status_code for i in range(32)
    ]
    assert set(statuses[:30]) == {200} and statuses[30:] == [429, 429]
    assert "Too many attempts" in c.post("/accounts/login/", {"username": "erin", "password": "x"}).content.decode()


def test_a_refused_member_change_by_htmx_comes_back_in_the_list_with_its_reason(as_, member):
    response = as_("olga").post(f"/c/harbour/members/{member('olga').pk}/", {"role": "viewer"}, HTTP_HX_REQUEST="true")
    page = response.content.decode()
    assert response.status_code == 409 and 'id="members"' in page and "at least one owner" in page
    assert "<html" not in page


def test_members_land_on_their_communities_after_signing_in_and_photographers_on_the_galleries(community, alice):
    member = Client()
    response = member.post("/accounts/login/", {"username": "erin", "password": "erin-pass-123"})
    assert response.status_code == 302 and response["Location"] == "/c/"
    photographer = Client()
    response = photographer.post("/accounts/login/", {"username": "alice", "password": "alice-pass-123"})
    assert response.status_code == 302 and response["Location"] == "/"
    with_next = Client().post(
        "/accounts/login/", {"username": "carol", "password": "carol-pass-123", "next": "/c/harbour/"}
    )
    assert with_next["Location"] == "/c/harbour/"


# --- Settings ------------------------------------------------------------------------------------


def _settings(**overrides):
    data = {
        "name": "Harbour Rowing Club",
        "description": "Regattas",
        "visibility": "listed",
        "daily_file_quota": "50",
        "daily_byte_quota": "1000000",
    }
    return {**data, **overrides}


def test_an_owner_changes_the_settings_and_the_avatar(as_, community):
    import io

    from conftest import make_image

    avatar = io.BytesIO(make_image("JPEG", size=(300, 300)))
    avatar.name = "club.jpg"
    response = as_("olga").post("/c/harbour/settings/", {**_settings(), "avatar": avatar})
    assert response.status_code == 302
    community.refresh_from_db()
    assert (community.name, community.visibility, community.daily_file_quota) == ("Harbour Rowing Club", "listed", 50)
    assert community.avatar_key
    served = as_(None).get(community.avatar_url)
    assert served.status_code == 200 and served["Content-Type"] == "image/webp"
    assert "Saved." in as_("olga").get(response["Location"]).content.decode()


@pytest.mark.parametrize(("name", "status"), [("carol", 403), ("erin", 403), ("frank", 404), (None, 302)], ids=str)
def test_only_owners_reach_the_settings(as_, community, name, status):
    assert as_(name).post("/c/harbour/settings/", _settings()).status_code == status
    assert Community.objects.get().name == "Harbour Rowing"


@pytest.mark.parametrize(
    ("overrides", "words"),
    [
        ({"visibility": "everyone"}, "Visibility"),
        ({"daily_file_quota": "many"}, "whole numbers"),
        ({"name": ""}, "Name"),
    ],
    ids=str,
)
def test_bad_settings_are_refused_with_a_message(as_, community, overrides, words):
    response = as_("olga").post("/c/harbour/settings/", _settings(**overrides))
    assert response.status_code == 400 and words in response.content.decode()
    assert Community.objects.get().name == "Harbour Rowing"


def test_a_bad_avatar_is_refused(as_, community):
    import io

    bad = io.BytesIO(b"<svg/>")
    bad.name = "x.svg"
    response = as_("olga").post("/c/harbour/settings/", {**_settings(), "avatar": bad})
    assert response.status_code == 415 and "SVG" in response.content.decode()


# --- Galleries into a community ------------------------------------------------------------------


@pytest.fixture
def alice_curates(community, alice):
    return Membership.objects.create(user=alice, community=community, role="curator")


def test_a_photographer_who_curates_adds_a_gallery_for_members(as_, alice, alice_curates, community):
    from galleries import services as gallery_services

    gallery = gallery_services.gallery_create(owner=alice, title="Autumn head")
    c = as_("alice")
    assert "Autumn head" in c.get("/c/harbour/").content.decode()  # offered in the form
    response = c.post("/c/harbour/galleries/add", {"gallery": gallery.pk, "members_only": "1"})
    assert response.status_code == 302
    gallery.refresh_from_db()
    assert gallery.community == community and gallery.visibility == "members"
    assert as_("erin").get(f"/g/{gallery.slug}/").status_code == 200
    assert as_("frank").get(f"/g/{gallery.slug}/").status_code == 404


def test_adding_a_gallery_is_refused_to_others(as_, alice, bob, community, alice_curates):
    from galleries import services as gallery_services

    bobs = gallery_services.gallery_create(owner=bob, title="Bob's")
    alices = gallery_services.gallery_create(owner=alice, title="Alice's")
    assert as_("alice").post("/c/harbour/galleries/add", {"gallery": bobs.pk}).status_code == 404
    assert as_("alice").post("/c/harbour/galleries/add", {"gallery": "junk"}).status_code == 404
    assert as_("erin").post("/c/harbour/galleries/add", {"gallery": alices.pk}).status_code == 403
    assert as_("frank").post("/c/harbour/galleries/add", {"gallery": alices.pk}).status_code == 404
    assert as_(None).post("/c/harbour/galleries/add", {"gallery": alices.pk}).status_code == 302
    assert not Gallery.objects.filter(community=community).exists()
