"""One photographer rule (accounts.permissions) behind every door: API, admin and uploads."""

import pytest
from django.test import override_settings

from galleries import services
from galleries.models import Gallery, Visibility

pytestmark = pytest.mark.django_db

# A backend that keeps an inactive user signed in: the doors themselves must refuse them.
LETS_INACTIVE_IN = ["django.contrib.auth.backends.AllowAllUsersModelBackend"]


@pytest.fixture
def inactive_alice(alice):
    services.gallery_create(owner=alice, title="Her private work", visibility=Visibility.PRIVATE)
    services.gallery_create(owner=alice, title="Her public work", visibility=Visibility.PUBLIC)
    alice.is_active = False
    alice.save(update_fields=["is_active"])
    return alice


def _titles(response) -> list[str]:
    return sorted(g["title"] for g in response.json()["results"])


def test_an_inactive_staff_user_is_refused_by_every_api_door(inactive_alice, api_for):
    api = api_for(inactive_alice)  # authenticated, bypassing the authentication classes
    listed = api.get("/api/v1/galleries")
    assert listed.status_code == 200
    assert _titles(listed) == ["Her public work"]  # what any visitor sees, not her own galleries
    assert api.get("/api/v1/galleries?trash=true").json()["results"] == []
    assert api.post("/api/v1/galleries", {"title": "New"}, format="json").status_code == 403
    gallery = Gallery.objects.get(title="Her public work")
    created = api.post("/api/v1/uploads", {"gallery": str(gallery.pk), "filename": "a.jpg", "size": 10}, format="json")
    assert created.status_code == 403
    assert api.post("/api/v1/tus/", HTTP_TUS_RESUMABLE="1.0.0", HTTP_UPLOAD_LENGTH="10").status_code == 403
    assert Gallery.objects.count() == 2


@override_settings(AUTHENTICATION_BACKENDS=LETS_INACTIVE_IN)
def test_an_inactive_staff_user_is_refused_by_the_admin_and_session_doors(inactive_alice, client_for):
    c = client_for(inactive_alice)
    gallery = Gallery.objects.get(title="Her private work")
    for path in ("/admin/galleries/gallery/", f"/admin/galleries/gallery/{gallery.pk}/change/", "/admin/"):
        response = c.get(path)
        assert response.status_code == 302 and "/admin/login/" in response["Location"], path
    assert c.post("/api/v1/galleries", {"title": "New"}, content_type="application/json").status_code in (401, 403)
    assert c.get(f"/api/v1/galleries/{gallery.pk}").status_code == 404
    assert Gallery.objects.count() == 2


def test_user_roles_come_from_one_rule(alice, admin_user, django_user_model):
    charlie = django_user_model.objects.create_user("charlie", "charlie@example.com", "charlie-pass-123")
    assert alice.is_photographer and not alice.is_manager
    assert admin_user.is_photographer and admin_user.is_manager
    assert not charlie.is_photographer and not charlie.is_manager
    admin_user.is_active = False
    assert not admin_user.is_photographer and not admin_user.is_manager
