"""The communities API: communities, members, invitations, the queue; every write against a stranger,
anonymous, a viewer and bad input."""

from __future__ import annotations

import pytest
from rest_framework.test import APIClient

from accounts import communities
from accounts.models import Community, Invitation, Membership
from galleries.models import Photo

pytestmark = pytest.mark.django_db


@pytest.fixture
def api(people, alice, admin_user):
    def make(name):
        client = APIClient()
        if name == "alice":
            client.force_authenticate(alice)
        elif name == "admin":
            client.force_authenticate(admin_user)
        elif name is not None:
            client.force_authenticate(people[name])
        return client

    return make


def test_my_communities_with_my_role(api, community):
    Community.objects.create(name="Chess", slug="chess", visibility="listed")
    rows = api("carol").get("/api/v1/communities").json()
    assert [(r["slug"], r["role"]) for r in rows] == [("harbour", "curator")]
    assert api(None).get("/api/v1/communities").status_code == 401
    assert {r["slug"] for r in api("admin").get("/api/v1/communities").json()} == {"harbour", "chess"}


def test_a_photographer_creates_a_community(api):
    response = api("alice").post("/api/v1/communities", {"name": "Chess Club", "visibility": "listed"}, format="json")
    assert response.status_code == 201 and response.json()["role"] == "owner"
    assert api("dave").post("/api/v1/communities", {"name": "Mine"}, format="json").status_code == 403
    assert api("alice").post("/api/v1/communities", {"visibility": "listed"}, format="json").status_code == 400
    assert api(None).post("/api/v1/communities", {"name": "X"}, format="json").status_code == 401


def test_reading_a_community_follows_the_policy(api, community):
    url = f"/api/v1/communities/{community.pk}"
    assert api("erin").get(url).json()["role"] == "viewer"
    assert api("frank").get(url).status_code == 404
    assert api(None).get(url).status_code == 404
    Community.objects.filter(pk=community.pk).update(visibility="listed")
    assert api(None).get(url).json()["role"] == ""
    assert api(None).get("/api/v1/communities/00000000-0000-0000-0000-000000000000").status_code == 404


def test_only_owners_change_a_community(api, community):
    url = f"/api/v1/communities/{community.pk}"
    assert api("olga").patch(url, {"description": "Club photos"}, format="json").json()["description"] == (
        "Club photos"
    )
    assert api("carol").patch(url, {"name": "Mine"}, format="json").status_code == 403
    assert api("frank").patch(url, {"name": "Mine"}, format="json").status_code == 404
    assert api(None).patch(url, {"name": "Mine"}, format="json").status_code in (401, 404)
    assert api("olga").patch(url, {"visibility": "everyone"}, format="json").status_code == 400
    assert api("olga").patch(url, {"daily_file_quota": -1}, format="json").status_code == 400
    assert Community.objects.get().name == "Harbour Rowing"


def test_members_list_and_changes(api, community, member):
    url = f"/api/v1/communities/{community.pk}/members"
    assert {m["username"] for m in api("erin").get(url).json()} == {"olga", "carol", "dave", "erin"}
    assert api("frank").get(url).status_code == 404
    erin = member("erin")
    detail = f"{url}/{erin.pk}"
    assert api("carol").patch(detail, {"role": "contributor", "trusted": True}, format="json").json()["trusted"]
    assert api("dave").patch(detail, {"role": "viewer"}, format="json").status_code == 403
    assert api("frank").patch(detail, {"role": "viewer"}, format="json").status_code == 404
    assert api(None).patch(detail, {"role": "viewer"}, format="json").status_code in (401, 404)
    assert api("carol").patch(detail, {"role": "king"}, format="json").status_code == 400
    assert api("carol").patch(detail, {}, format="json").status_code == 400
    assert api("carol").patch(f"{url}/999999", {"role": "viewer"}, format="json").status_code == 404
    olga = member("olga")
    assert api("olga").patch(f"{url}/{olga.pk}", {"role": "viewer"}, format="json").status_code == 409
    assert api("erin").delete(f"{url}/{member('dave').pk}").status_code == 403
    assert api("carol").delete(detail).status_code == 204
    assert not Membership.objects.filter(pk=erin.pk).exists()


def test_invitations_through_the_api(api, community, people):
    url = f"/api/v1/communities/{community.pk}/invitations"
    created = api("carol").post(url, {"role": "contributor", "max_uses": 3, "label": "Crew"}, format="json")
    body = created.json()
    assert created.status_code == 201 and body["token"] and "/join/" in body["url"]
    assert "token" not in api("carol").get(url).json()[0]
    assert api("erin").post(url, {"role": "viewer"}, format="json").status_code == 403
    assert api("erin").get(url).status_code == 403
    assert api("frank").post(url, {"role": "viewer"}, format="json").status_code == 404
    assert api(None).post(url, {"role": "viewer"}, format="json").status_code in (401, 404)
    assert api("carol").post(url, {"role": "owner"}, format="json").status_code == 400
    assert api("carol").post(url, {"role": "viewer", "max_uses": 0}, format="json").status_code == 400
    accepted = api("frank").post(f"/api/v1/invitations/{body['token']}/accept")
    assert accepted.status_code == 200 and accepted.json()["role"] == "contributor"
    revoked = api("carol").delete(f"{url}/{body['id']}")
    assert revoked.status_code == 200 and revoked.json()["status"] == "revoked"
    gone = api("erin").post(f"/api/v1/invitations/{body['token']}/accept")
    assert gone.status_code == 410 and "withdrawn" in gone.json()["detail"]
    assert api("erin").post("/api/v1/invitations/nope/accept").status_code == 404
    assert api(None).post(f"/api/v1/invitations/{body['token']}/accept").status_code == 401
    assert Invitation.objects.get().uses == 1


def test_the_queue_through_the_api(api, community, community_gallery, pending_photo):
    gallery = community_gallery()
    other = community_gallery("Other")
    photos = [pending_photo(gallery, i) for i in range(3)]
    url = f"/api/v1/communities/{community.pk}/queue"
    page = api("carol").get(url, {"limit": 2}).json()
    assert page["count"] == 3 and len(page["results"]) == 2 and page["next"]
    rest = api("carol").get(page["next"]).json()
    assert len(rest["results"]) == 1 and rest["next"] is None
    assert api("carol").get(url, {"cursor": "broken"}).status_code == 400
    assert api("carol").get(url, {"limit": "x"}).status_code == 400
    done = api("carol").post(url, {"action": "approve", "photos": [str(photos[0].pk)]}, format="json")
    assert done.json() == {"done": 1}
    moved = api("carol").post(
        url, {"action": "move", "photos": [str(photos[1].pk)], "gallery": str(other.pk)}, format="json"
    )
    assert moved.json() == {"done": 1}
    no_reason = api("carol").post(url, {"action": "reject", "photos": [str(photos[2].pk)]}, format="json")
    assert no_reason.status_code == 400
    assert (
        api("carol").post(url, {"action": "explode", "photos": [str(photos[2].pk)]}, format="json").status_code == 400
    )
    for name, status in (("erin", 403), ("dave", 403), ("frank", 404)):
        assert api(name).get(url).status_code == status
        refused = api(name).post(url, {"action": "approve", "photos": [str(photos[2].pk)]}, format="json")
        assert refused.status_code == status
    assert api(None).post(url, {"action": "approve", "photos": [str(photos[2].pk)]}, format="json").status_code in (
        401,
        404,
    )
    assert not Photo.objects.get(pk=photos[2].pk).is_approved


def test_accepting_is_throttled_per_address(api, community, member):
    _, token = communities.invitation_create(community=community, by=member("carol"), max_uses=100)
    client = api("frank")
    statuses = [
        client.post(f"/api/v1/invitations/{token}/accept", REMOTE_ADDR="198.51.100.20").status_code for _ in range(22)
    ]
    assert statuses[:20] == [200] * 20 and statuses[20:] == [429, 429]


def test_galleries_of_a_community_through_the_api(api, alice, community, community_gallery):
    from galleries import services as gallery_services

    community_gallery("Regatta")
    Membership.objects.create(user=alice, community=community, role="curator")
    mine = gallery_services.gallery_create(owner=alice, title="Autumn head")
    url = f"/api/v1/communities/{community.pk}/galleries"
    assert [g["title"] for g in api("erin").get(url).json()] == ["Regatta"]
    assert api("frank").get(url).status_code == 404
    added = api("alice").post(url, {"gallery": str(mine.pk), "visibility": "members"}, format="json")
    assert added.status_code == 200 and added.json()["visibility"] == "members"
    assert {g["title"] for g in api("erin").get(url).json()} == {"Regatta", "Autumn head"}
    assert api("carol").post(url, {"gallery": str(mine.pk)}, format="json").status_code == 404  # not hers
    assert api("erin").post(url, {"gallery": str(mine.pk)}, format="json").status_code == 403
    assert api("alice").post(url, {"gallery": "nope"}, format="json").status_code == 400
    removed = api("alice").post(url, {"gallery": str(mine.pk), "remove": True}, format="json")
    assert removed.status_code == 200 and removed.json()["visibility"] == "private"
    assert api("alice").post(url, {"gallery": str(mine.pk), "remove": True}, format="json").status_code == 400
