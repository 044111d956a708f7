"""Community personas: olga owns it, carol curates, dave contributes, erin views, frank is a stranger."""

from __future__ import annotations

import io

import pytest

from accounts.models import Community, Membership
from conftest import make_image
from galleries import services as gallery_services


@pytest.fixture
def people(django_user_model):
    return {
        name: django_user_model.objects.create_user(name, f"{name}@example.com", f"{name}-pass-123")
        for name in ("olga", "carol", "dave", "erin", "frank")
    }


@pytest.fixture
def community(people, alice):
    c = Community.objects.create(name="Harbour Rowing", slug="harbour", visibility="members", created_by=alice)
    for name, role in (("olga", "owner"), ("carol", "curator"), ("dave", "contributor"), ("erin", "viewer")):
        Membership.objects.create(user=people[name], community=c, role=role)
    return c


@pytest.fixture
def member(people, community):
    """member("carol") -> her Membership."""
    return lambda name: Membership.objects.get(user=people[name], community=community)


@pytest.fixture
def community_gallery(alice, community):
    def make(title="Regatta", visibility="members"):
        gallery = gallery_services.gallery_create(owner=alice, title=title)
        return gallery_services.gallery_update(gallery=gallery, community=community, visibility=visibility)

    return make


@pytest.fixture
def pending_photo():
    """pending_photo(gallery, i, contributor="dave"): a real photo waiting for a curator."""

    def make(gallery, i=0, contributor="dave"):
        checked = gallery_services.photo_check(
            file=io.BytesIO(make_image("JPEG", size=(64, 48), colour=(i * 7 % 255, 90, 30 + i % 200))),
            filename=f"IMG_{i:04d}.jpg",
        )
        photo, _ = gallery_services.photos_add(gallery=gallery, files=[checked], contributor=contributor)[0]
        return photo

    return make
