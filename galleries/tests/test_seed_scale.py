"""manage.py seed_scale makes rows that every page and list treats like processed photos."""

import pytest
from django.core.management import call_command

from galleries import counters
from galleries.models import Gallery, Photo

pytestmark = pytest.mark.django_db


def test_seed_scale_makes_galleries_of_ready_photos_that_pages_show(client, capsys):
    call_command("seed_scale", "--photos", "120", "--galleries", "3")
    assert "120 photos in 3 galleries" in capsys.readouterr().out
    galleries = list(Gallery.objects.filter(title__startswith="Scale "))
    assert len(galleries) == 3 and Photo.objects.filter(gallery__in=galleries).count() == 120
    assert counters.recount([g.pk for g in galleries]) == 0  # the counters are right
    page = client.get(f"/g/{galleries[0].slug}/")
    assert page.status_code == 200 and "40 photos" in page.content.decode()
    api = client.get(f"/api/v1/galleries/{galleries[0].pk}/photos?page=1").json()
    variant = api["results"][0]["variants"][0]
    assert client.get(variant["url"]).status_code == 200  # the shared file is served


def test_seed_scale_refuses_nonsense(capsys):
    from django.core.management.base import CommandError

    with pytest.raises(CommandError):
        call_command("seed_scale", "--photos", "10", "--galleries", "0")
