"""One access policy, every door: visibility x visitor x link state x resource."""

import itertools
import zipfile
from datetime import timedelta
from io import BytesIO

import pytest
from django.test import Client
from django.utils import timezone

from galleries.models import Visibility
from sharing import services

pytestmark = pytest.mark.django_db

VISIBILITIES = ["public", "unlisted", "private"]
VISITORS = ["owner", "admin", "other_staff", "anonymous", "link_holder", "link_holder_unlocked"]
LINK_STATES = ["active", "password", "expired", "revoked"]
RESOURCES = ["page", "fragment", "api", "variant", "original", "zip"]


def expected(visibility: str, visitor: str, state: str, resource: str) -> bool:
    """Who may reach what: the policy, written once, in words the tests can read."""
    if visitor.startswith("link_holder"):
        # Link holders come through the link: open, or unlocked; a closed link stays closed even when
        # the gallery is public (its /g/ address is the anonymous visitor's row). The link allows downloads.
        return state == "active" or (state == "password" and visitor == "link_holder_unlocked")
    manages = visitor in ("owner", "admin")  # the gallery's owner, and a superuser who manages every gallery
    if resource in ("original", "zip"):
        # Whole files without a link: only those who manage the gallery (the API's download, the admin's ZIP).
        return manages
    # Looking (pages, fragments, the API's photo list, variants): a listed gallery is open to anyone.
    return manages or visibility in ("public", "unlisted")


def _client(visitor, alice, bob, admin_user, link):
    c = Client()
    if visitor == "owner":
        c.force_login(alice)
    elif visitor == "admin":
        c.force_login(admin_user)
    elif visitor == "other_staff":
        c.force_login(bob)
    elif visitor == "link_holder_unlocked" and link.has_password:
        assert c.post(f"/s/{link.token}/unlock", {"password": "secret-pass"}).status_code == 302
    return c


def _via_link(visitor):
    return visitor.startswith("link_holder")


def _reach(c, visitor, gallery, photo, link, resource) -> bool:
    """Try one resource the way this visitor would (link holders through the link)."""
    if resource == "variant":
        # The URL is handed out by a page the visitor can open; then it is fetched.
        if _via_link(visitor):
            page = c.get(f"/s/{link.token}/")
        else:
            page = c.get(f"/g/{gallery.slug}/")
        if page.status_code != 200:
            return False
        html = page.content.decode()
        start = html.find("/media/variants/")
        if start < 0:
            return False
        url = html[start : html.find('"', start)].split(" ")[0].replace("&amp;", "&")
        return c.get(url).status_code == 200
    if _via_link(visitor):
        paths = {
            "page": f"/s/{link.token}/",
            "fragment": f"/s/{link.token}/?page=1",
            "api": f"/api/v1/shared/{link.token}",
            "original": f"/s/{link.token}/p/{photo.pk}/download",
            "zip": f"/s/{link.token}/download.zip",
        }
    else:
        paths = {
            "page": f"/g/{gallery.slug}/",
            "fragment": f"/g/{gallery.slug}/?page=1",
            "api": f"/api/v1/galleries/{gallery.pk}/photos",
            "original": f"/api/v1/photos/{photo.pk}/download",
        }
    if resource == "zip" and not _via_link(visitor):
        # Without a link, a whole gallery is downloaded through the admin's "Download … as a ZIP" action.
        response = c.post(
            "/admin/galleries/gallery/", {"action": "download_zip", "_selected_action": [gallery.pk], "index": 0}
        )
        return response.status_code == 200 and _is_zip(response)
    path = paths[resource]
    headers = {"HTTP_HX_REQUEST": "true", "HTTP_HX_TARGET": "sentinel"} if resource == "fragment" else {}
    response = c.get(path, **headers)
    if response.status_code != 200:
        return False
    if resource == "original":
        return b"".join(response.streaming_content)[:3] == b"\xff\xd8\xff"
    if resource == "zip":
        return _is_zip(response)
    return True


def _is_zip(response) -> bool:
    if response.get("Content-Type") != "application/zip":
        return False
    return zipfile.ZipFile(BytesIO(b"".join(response.streaming_content))).testzip() is None


@pytest.mark.parametrize(
    ("visibility", "state"), list(itertools.product(VISIBILITIES, LINK_STATES)), ids=lambda v: str(v)
)
def test_access_matrix(alice, bob, admin_user, make_shared, visibility, state):
    gallery, photos, link = make_shared(visibility=visibility, allow_download=True)
    if state == "password":
        services.share_link_update(link=link, password="secret-pass")
    elif state == "expired":
        services.share_link_update(link=link, expires_at=timezone.now() - timedelta(minutes=1))
    elif state == "revoked":
        services.share_link_revoke(link=link)
    link.refresh_from_db()
    failures = []
    for visitor in VISITORS:
        c = _client(visitor, alice, bob, admin_user, link)
        for resource in RESOURCES:
            got = _reach(c, visitor, gallery, photos[0], link, resource)
            want = expected(visibility, visitor, state, resource)
            if got != want:
                failures.append(f"{visitor} {resource}: got {got}, want {want}")
    assert not failures, f"{visibility}/{state}:\n" + "\n".join(failures)


def test_a_link_without_download_permission_serves_no_original_and_no_zip(make_shared, client):
    _gallery, photos, link = make_shared()
    assert client.get(f"/s/{link.token}/").status_code == 200
    assert client.get(f"/s/{link.token}/p/{photos[0].pk}/download").status_code == 404
    assert client.get(f"/s/{link.token}/download.zip").status_code == 404


def test_visibility_private_on_a_link_still_needs_the_link(make_shared, client):
    gallery, _, _ = make_shared(visibility=Visibility.PRIVATE)
    assert client.get(f"/g/{gallery.slug}/").status_code == 404


# --- Communities: member roles x doors (issue 15) ------------------------------------------------
# A gallery of a community, seen by the gallery's owner, an admin, each member role, a signed-in
# non-member and an anonymous visitor, through every door a visitor without a link has.

COMMUNITY_VISITORS = ["owner", "admin", "c_owner", "c_curator", "c_contributor", "c_viewer", "non_member", "anonymous"]
MEMBER_ROLES = {"c_owner": "owner", "c_curator": "curator", "c_contributor": "contributor", "c_viewer": "viewer"}
NON_LINK_RESOURCES = ["page", "fragment", "api", "variant", "original", "zip"]


def expected_for_community(gallery_visibility: str, community_visibility: str, visitor: str, resource: str) -> bool:
    """The community rows of the policy: members-only galleries for every member role, every gallery
    of a community for its curators and owners, nothing of a members-only community for outsiders."""
    if visitor in ("owner", "admin"):
        return True
    if resource in ("original", "zip"):
        return False  # whole files without a link: only those who manage the gallery
    member = visitor in MEMBER_ROLES
    curates = visitor in ("c_owner", "c_curator")
    if gallery_visibility == "members":
        return member
    if gallery_visibility == "private":
        return curates
    return member or community_visibility != "members"


@pytest.fixture
def community_people(django_user_model):
    people = {
        name: django_user_model.objects.create_user(name, f"{name}@example.com", "pass-123-word")
        for name in [*MEMBER_ROLES, "non_member"]
    }
    return people


def _community_client(visitor, alice, admin_user, people):
    c = Client()
    if visitor == "owner":
        c.force_login(alice)
    elif visitor == "admin":
        c.force_login(admin_user)
    elif visitor in people:
        c.force_login(people[visitor])
    return c


@pytest.mark.parametrize(
    ("gallery_visibility", "community_visibility"),
    [
        ("members", "listed"),
        ("members", "members"),
        ("public", "members"),
        ("unlisted", "listed"),
        ("private", "unlisted"),
    ],
    ids=lambda v: str(v),
)
def test_community_access_matrix(
    alice, admin_user, make_shared, community_people, gallery_visibility, community_visibility
):
    from accounts.models import Community, Membership
    from galleries import services as gallery_services

    community = Community.objects.create(name="Harbour Rowing", slug="harbour", visibility=community_visibility)
    for name, role in MEMBER_ROLES.items():
        Membership.objects.create(user=community_people[name], community=community, role=role)
    gallery, photos, link = make_shared(visibility="private")
    gallery_services.gallery_update(gallery=gallery, community=community, visibility=gallery_visibility)
    failures = []
    for visitor in COMMUNITY_VISITORS:
        c = _community_client(visitor, alice, admin_user, community_people)
        for resource in NON_LINK_RESOURCES:
            got = _reach(c, visitor, gallery, photos[0], link, resource)
            want = expected_for_community(gallery_visibility, community_visibility, visitor, resource)
            if got != want:
                failures.append(f"{visitor} {resource}: got {got}, want {want}")
    assert not failures, f"{gallery_visibility}/{community_visibility}:\n" + "\n".join(failures)


def test_removing_a_member_ends_their_access_at_once(alice, make_shared, community_people):
    from accounts import communities
    from accounts.models import Community, Membership
    from galleries import services as gallery_services

    community = Community.objects.create(name="Harbour Rowing", slug="harbour", visibility="members")
    viewer = Membership.objects.create(user=community_people["c_viewer"], community=community, role="viewer")
    gallery, _photos, _link = make_shared(visibility="private")
    gallery_services.gallery_update(gallery=gallery, community=community, visibility="members")
    c = Client()
    c.force_login(community_people["c_viewer"])
    assert c.get(f"/g/{gallery.slug}/").status_code == 200
    assert c.get(f"/api/v1/galleries/{gallery.pk}/photos").status_code == 200
    communities.membership_remove(membership=viewer, by=None)
    assert c.get(f"/g/{gallery.slug}/").status_code == 404
    assert c.get(f"/api/v1/galleries/{gallery.pk}/photos").status_code == 404
    assert c.get("/c/harbour/").status_code == 404


def test_a_public_gallery_of_a_members_only_community_is_not_listed_on_the_home_page(alice, make_shared, client):
    from accounts.models import Community
    from galleries import services as gallery_services

    community = Community.objects.create(name="Harbour Rowing", slug="harbour", visibility="members")
    gallery, _photos, _link = make_shared(visibility="public")
    address = f"/g/{gallery.slug}/"
    assert address in client.get("/").content.decode()
    gallery_services.gallery_update(gallery=gallery, community=community)
    assert address not in client.get("/").content.decode()
    assert client.get(f"/g/{gallery.slug}/").status_code == 404


def test_a_members_gallery_needs_a_community(alice, make_shared):
    from django.db import IntegrityError, transaction

    from galleries.models import Gallery

    gallery, _photos, _link = make_shared(visibility="private")
    with pytest.raises(IntegrityError), transaction.atomic():
        Gallery.objects.filter(pk=gallery.pk).update(visibility="members")
