"""Every list and page asks the database the same number of questions however many photos and
galleries there are (issue 12): counts come from the galleries' counters, pages take ids first."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from galleries import marks, services
from galleries.models import Visibility
from galleries.tests.conftest import bulk_photos

pytestmark = pytest.mark.django_db


def queries(client, url: str, **headers) -> int:
    with CaptureQueriesContext(connection) as ctx:
        response = client.get(url, **headers)
    assert response.status_code == 200, (url, response.status_code)
    return len(ctx)


def galleries_of(owner, count: int, photos: int, prefix: str) -> list:
    made = []
    for i in range(count):
        gallery = services.gallery_create(owner=owner, title=f"{prefix} {i}", visibility=Visibility.PUBLIC)
        bulk_photos(gallery, photos)
        made.append(gallery)
    return made


def test_the_home_page_and_the_galleries_api_do_not_grow(alice, bob, client, api_for):
    galleries_of(alice, 3, 2, "Few")
    few = {
        "home": queries(client, "/"),
        "api anonymous": queries(api_for(), "/api/v1/galleries"),
        "api owner": queries(api_for(alice), "/api/v1/galleries"),
    }
    galleries_of(bob, 40, 30, "Many")  # more galleries (more than a page) and more photos each
    many = {
        "home": queries(client, "/"),
        "home page 2": queries(client, "/?page=2"),
        "api anonymous": queries(api_for(), "/api/v1/galleries"),
        "api owner": queries(api_for(bob), "/api/v1/galleries"),
    }
    assert many["home"] == few["home"] == many["home page 2"], (few, many)
    assert many["api anonymous"] == few["api anonymous"], (few, many)
    assert many["api owner"] == few["api owner"], (few, many)


@pytest.mark.parametrize("viewer", ["owner", "visitor"])
def test_deep_pages_cost_what_the_first_page_costs(alice, client, client_for, api_for, viewer, monkeypatch):
    monkeypatch.setattr(marks, "STRIDE", 100)  # page 6 of 50 starts past two marks
    [gallery] = galleries_of(alice, 1, 360, "Deep")
    page_client = client_for(alice) if viewer == "owner" else client
    api = api_for(alice) if viewer == "owner" else api_for()
    htmx = {"HTTP_HX_REQUEST": "true", "HTTP_HX_TARGET": "sentinel"}
    first = queries(page_client, f"/g/{gallery.slug}/?page=1", **htmx)
    api_first = queries(api, f"/api/v1/galleries/{gallery.pk}/photos?page=1")
    queries(page_client, f"/g/{gallery.slug}/?page=7", **htmx)  # the first deep page makes the marks
    deep = queries(page_client, f"/g/{gallery.slug}/?page=6", **htmx)
    api_deep = queries(api, f"/api/v1/galleries/{gallery.pk}/photos?page=6")
    # One question more than page 1, however deep: which mark the page starts at.
    assert deep == first + 1 and api_deep == api_first + 1, (first, deep, api_first, api_deep)
    photos = list(gallery.photos.order_by("position"))
    near, far = (queries(page_client, photos[i].get_absolute_url()) for i in (5, 305))
    assert near == far, (near, far)  # "306 of 360" is counted from the mark before it


def test_a_page_number_written_differently_is_the_same_page_and_the_same_cache_entry(alice, client):
    [gallery] = galleries_of(alice, 1, 120, "Keys")
    url = f"/g/{gallery.slug}/"
    headers = {"HTTP_HX_REQUEST": "true", "HTTP_HX_TARGET": "sentinel"}
    first = client.get(url + "?page=2", **headers).content
    with CaptureQueriesContext(connection) as ctx:
        again = client.get(url + "?page=0002", **headers).content
    assert again == first
    assert not any("galleries_photo" in q["sql"] for q in ctx.captured_queries)  # served from the cache


def test_the_photos_api_refuses_parameters_it_does_not_know_and_keys_its_cache_on_parsed_ones(alice, api_for):
    [gallery] = galleries_of(alice, 1, 60, "Params")
    url = f"/api/v1/galleries/{gallery.pk}/photos"
    refused = api_for().get(url + "?page=1&utm_source=mail")
    assert refused.status_code == 400 and "utm_source" in refused.json()
    assert api_for(alice).get(url + "?x=1").status_code == 400
    first = api_for().get(url + "?page=2").content
    with CaptureQueriesContext(connection) as ctx:
        assert api_for().get(url + "?page=02").content == first
    assert not any("galleries_photo" in q["sql"] for q in ctx.captured_queries)


def test_many_visitors_missing_one_entry_at_once_render_it_once(alice, monkeypatch):
    import threading

    from galleries import pages

    [gallery] = galleries_of(alice, 1, 1, "Stampede")
    builds = []

    def slow_build():
        builds.append(1)
        threading.Event().wait(0.3)
        return "page"

    results = []
    threads = [
        threading.Thread(target=lambda: results.append(pages.cached_for_visitors(gallery, slow_build, page=1)))
        for _ in range(8)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert results == ["page"] * 8 and len(builds) == 1


def test_pages_neither_repeat_nor_skip_a_photo_while_the_owner_uploads(alice, api_for):
    import io

    from conftest import make_image

    [gallery] = galleries_of(alice, 1, 120, "Busy")
    api = api_for(alice)
    seen = [p["id"] for p in api.get(f"/api/v1/galleries/{gallery.pk}/photos?page=1").json()["results"]]
    for i in range(7):  # new photos arrive between page 1 and page 2
        services.photo_add(
            gallery=gallery, file=io.BytesIO(make_image("PNG", size=(8, 8), colour=(i, 1, 2))), filename="n.png"
        )
    page = 2
    while True:
        response = api.get(f"/api/v1/galleries/{gallery.pk}/photos?page={page}")
        if response.status_code == 404:
            break
        seen += [p["id"] for p in response.json()["results"]]
        page += 1
    assert len(seen) == len(set(seen)) == 127
