"""POST /api/v1/galleries/{id}/photos/check: which sums the owner's gallery already holds, to nobody else."""

from __future__ import annotations

import hashlib
import io

import pytest

from conftest import make_image
from galleries import services

pytestmark = pytest.mark.django_db


@pytest.fixture
def held(alice, make_gallery):
    gallery = make_gallery(alice, visibility="public")
    data = make_image("JPEG", size=(40, 30))
    services.photo_add(gallery=gallery, file=io.BytesIO(data), filename="a.jpg")
    return gallery, hashlib.sha256(data).hexdigest()


def url(gallery) -> str:
    return f"/api/v1/galleries/{gallery.pk}/photos/check"


def test_the_owner_learns_which_sums_the_gallery_holds(held, alice, api_for):
    gallery, sha = held
    other = "0" * 64
    response = api_for(alice).post(url(gallery), {"sha256": [other, sha.upper(), sha]}, format="json")

    assert response.status_code == 200
    assert response.json() == {"held": [sha], "held_count": 1, "checked": 2}


def test_a_stranger_gets_404_even_for_a_public_gallery(held, bob, api_for, admin_user):
    gallery, sha = held
    assert api_for(bob).post(url(gallery), {"sha256": [sha]}, format="json").status_code == 404
    # Only ever the caller's own photos: an admin is no owner here either.
    assert api_for(admin_user).post(url(gallery), {"sha256": [sha]}, format="json").status_code == 404


def test_anonymous_gets_401(held, api_for):
    gallery, sha = held
    assert api_for(None).post(url(gallery), {"sha256": [sha]}, format="json").status_code == 401


@pytest.mark.parametrize(
    ("body", "field", "message"),
    [
        ({}, "sha256", "This field is required."),
        ({"sha256": []}, "sha256", "This list may not be empty."),
        ({"sha256": "abc"}, "sha256", "Must be a list."),
        ({"sha256": ["abc"]}, "sha256", "Must be a SHA-256 sum: 64 hexadecimal characters."),
        ({"sha256": ["g" * 64]}, "sha256", "Must be a SHA-256 sum: 64 hexadecimal characters."),
        ({"sha256": [1]}, "sha256", "Must be a string."),
        ({"sha256": ["a" * 64] * 5001}, "sha256", "Send at most 5000 sums at once."),
        ({"sha256": ["a" * 64], "extra": 1}, "extra", "Unknown field."),
    ],
)
def test_bad_input_is_a_clear_400(held, alice, api_for, body, field, message):
    gallery, _ = held
    response = api_for(alice).post(url(gallery), body, format="json")
    assert response.status_code == 400
    errors = response.json()[field]
    flat = [e for item in (errors.values() if isinstance(errors, dict) else errors) for e in
            (item if isinstance(item, list) else [item])]  # fmt: skip
    assert message in flat


def test_five_thousand_sums_are_answered_in_one_query(held, alice, api_for, django_assert_max_num_queries):
    gallery, sha = held
    sums = [f"{n:064x}" for n in range(4999)] + [sha]
    with django_assert_max_num_queries(4):
        response = api_for(alice).post(url(gallery), {"sha256": sums}, format="json")
    assert response.json()["held"] == [sha]


def test_the_endpoint_is_in_the_schema_with_its_errors(client):
    schema = client.get("/api/schema/?format=json").json()
    operation = schema["paths"]["/api/v1/galleries/{gallery_id}/photos/check"]["post"]
    # 409 and 422 come with the Idempotency-Key header every POST takes (integrations.schema).
    assert set(operation["responses"]) == {"200", "400", "401", "404", "409", "422"}
    assert "PhotoCheck" in str(operation["requestBody"])
