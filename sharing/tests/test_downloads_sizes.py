"""Issue 13: download sizes per link (web size, full size), on every download door of a link, and
the download buttons the shared page shows on its tiles only when the link allows downloads."""

import io
import re
import zipfile

import pytest
from django.core.files.storage import default_storage
from django.test import Client
from PIL import Image

from sharing import services
from sharing.models import ShareLink

pytestmark = pytest.mark.django_db


def _body(response) -> bytes:
    return b"".join(response.streaming_content) if response.streaming else response.content


def _largest_web_variant(photo):
    variants = [v for v in photo.asset.variants.all() if v.format in ("jpeg", "webp", "avif")]
    best = max(variants, key=lambda v: (v.width * v.height, v.format == "webp"))
    with default_storage.open(best.key, "rb") as handle:
        return best, handle.read()


def test_web_size_is_the_largest_web_picture_named_as_such(make_shared):
    _, photos, link = make_shared(allow_download=True, download_sizes="web")
    response = Client().get(f"/s/{link.token}/p/{photos[0].pk}/download?size=web")
    assert response.status_code == 200
    variant, data = _largest_web_variant(photos[0])
    assert _body(response) == data
    assert response["Content-Type"] == f"image/{variant.format}"
    assert re.search(r'filename="photo-0001 \(web size\)\.webp"', response["Content-Disposition"])
    image = Image.open(io.BytesIO(data))
    assert image.size == (variant.width, variant.height) and "exif" not in image.info
    link.refresh_from_db()
    assert link.download_count == 1


def test_a_size_the_link_does_not_offer_is_refused_in_words(make_shared):
    _, photos, link = make_shared(allow_download=True, download_sizes="web")
    c = Client()
    refused = c.get(f"/s/{link.token}/p/{photos[0].pk}/download?size=original")
    assert refused.status_code == 403
    assert "offers web size downloads only" in refused.content.decode()
    assert c.get(f"/s/{link.token}/download.zip?size=original").status_code == 403
    # No size asked: the largest the link offers, here the web size.
    plain = c.get(f"/s/{link.token}/p/{photos[0].pk}/download")
    assert plain.status_code == 200 and plain["Content-Type"] == "image/webp"
    link.refresh_from_db()
    assert link.download_count == 1  # refusals are not downloads

    services.share_link_update(link=link, download_sizes="original")
    assert c.get(f"/s/{link.token}/p/{photos[0].pk}/download?size=web").status_code == 403
    original = c.get(f"/s/{link.token}/p/{photos[0].pk}/download?size=original")
    assert original.status_code == 200 and _body(original)[:3] == b"\xff\xd8\xff"


def test_both_sizes_and_full_size_by_default(make_shared):
    _, photos, link = make_shared(allow_download=True)
    assert link.download_sizes == "all"
    c = Client()
    base = f"/s/{link.token}/p/{photos[1].pk}/download"
    assert _body(c.get(base))[:3] == b"\xff\xd8\xff"
    assert _body(c.get(base + "?size=original"))[:3] == b"\xff\xd8\xff"
    assert c.get(base + "?size=web")["Content-Type"] == "image/webp"


def test_an_unknown_size_is_bad_input(make_shared):
    _, photos, link = make_shared(allow_download=True)
    c = Client()
    for size in ("huge", "ORIGINAL", "web%00"):
        response = c.get(f"/s/{link.token}/p/{photos[0].pk}/download?size={size}")
        assert response.status_code == 400, size
        assert "no such size" in response.content.decode()
    assert c.get(f"/s/{link.token}/download.zip?size=huge").status_code == 400


def test_the_zip_follows_the_links_sizes(make_shared):
    gallery, photos, link = make_shared(allow_download=True, download_sizes="web")
    response = Client().get(f"/s/{link.token}/download.zip?size=web")
    assert response.status_code == 200
    assert "Anna & Ben (web size).zip" in response["Content-Disposition"]
    archive = zipfile.ZipFile(io.BytesIO(_body(response)))
    assert sorted(archive.namelist()) == ["photo-0001.webp", "photo-0002.webp"]
    assert archive.read("photo-0001.webp") == _largest_web_variant(photos[0])[1]
    whole = Client().get(f"/s/{link.token}/download.zip")  # no size: the link's largest, web
    assert sorted(zipfile.ZipFile(io.BytesIO(_body(whole))).namelist()) == ["photo-0001.webp", "photo-0002.webp"]

    services.share_link_update(link=link, download_sizes="all")
    full = Client().get(f"/s/{link.token}/download.zip?size=original")
    assert full.status_code == 200 and f'"{gallery.title}.zip"' in full["Content-Disposition"].replace("%20", " ")
    assert sorted(zipfile.ZipFile(io.BytesIO(_body(full))).namelist()) == ["photo-0001.jpg", "photo-0002.jpg"]


def test_a_link_without_downloads_shows_no_button_and_every_door_refuses(make_shared):
    _, photos, link = make_shared(allow_download=False, download_sizes="all")
    c = Client()
    page = c.get(f"/s/{link.token}/").content.decode()
    assert "data-download" not in page and "tile-download" not in page and "download.zip" not in page
    photo_page = c.get(f"/s/{link.token}/p/{photos[0].pk}/").content.decode()
    assert "/download" not in photo_page
    for size in ("", "?size=web", "?size=original"):
        refused = c.get(f"/s/{link.token}/p/{photos[0].pk}/download{size}")
        assert refused.status_code == 404 and "Downloads are not enabled" in refused.content.decode()
        assert c.get(f"/s/{link.token}/download.zip{size}").status_code == 404
    assert ShareLink.objects.get(pk=link.pk).download_count == 0


def test_tiles_carry_the_download_of_the_largest_size_the_link_offers(make_shared):
    _, photos, link = make_shared(allow_download=True, download_sizes="all")
    c = Client()
    page = c.get(f"/s/{link.token}/").content.decode()
    for photo in photos:
        url = f"/s/{link.token}/p/{photo.pk}/download?size=original"
        assert f'data-download="{url}"' in page
        assert f'class="tile-download" href="{url}" download' in page
    assert page.count('data-download-label="Download full size"') == 2
    assert f'href="/s/{link.token}/download.zip" download aria-label="Download all, full size"' in page
    assert f'href="/s/{link.token}/download.zip?size=web" download aria-label="Download all, web size"' in page
    # Changing the link's sizes changes the (cached) photo fragment at once.
    services.share_link_update(link=link, download_sizes="web")
    page = c.get(f"/s/{link.token}/").content.decode()
    assert "size=original" not in page and page.count('data-download-label="Download web size"') == 2
    assert f'href="/s/{link.token}/download.zip" download>Download all</a>' in page
    fragment = c.get(f"/s/{link.token}/?page=1", HTTP_HX_REQUEST="true", HTTP_HX_TARGET="sentinel")
    assert fragment.content.decode().count('class="tile-download"') == 2
    services.share_link_update(link=link, allow_download=False)
    assert "tile-download" not in c.get(f"/s/{link.token}/").content.decode()


def test_strangers_and_locked_visitors_get_nothing(make_shared):
    _, photos, link = make_shared(allow_download=True, password="secret-pass")
    _, other_photos, _ = make_shared(allow_download=True)
    c = Client()
    # Locked: the password page, never the file.
    locked = c.get(f"/s/{link.token}/p/{photos[0].pk}/download?size=web")
    assert locked.status_code == 401 and "Enter the password" in locked.content.decode()
    assert c.get(f"/s/{link.token}/download.zip?size=web").status_code == 401
    assert c.post(f"/s/{link.token}/unlock", {"password": "secret-pass"}).status_code == 302
    # A photo of another gallery, and an unknown link: 404.
    assert c.get(f"/s/{link.token}/p/{other_photos[0].pk}/download?size=web").status_code == 404
    assert c.get(f"/s/{'x' * 43}/p/{photos[0].pk}/download?size=web").status_code == 404
    assert c.get(f"/s/{link.token}/p/{photos[0].pk}/download?size=web").status_code == 200


def test_the_api_sets_and_shows_the_sizes(alice, bob, api_for, make_shared):
    gallery, _, link = make_shared()
    api = api_for(alice)
    made = api.post(
        f"/api/v1/galleries/{gallery.pk}/share-links", {"allow_download": True, "download_sizes": "web"}, format="json"
    )
    assert made.status_code == 201 and made.json()["download_sizes"] == "web"
    bad = api.patch(f"/api/v1/share-links/{link.pk}", {"download_sizes": "huge"}, format="json")
    assert bad.status_code == 400 and "download_sizes" in bad.json()
    assert (
        api_for(bob).patch(f"/api/v1/share-links/{link.pk}", {"download_sizes": "web"}, format="json").status_code
        == 404
    )
    assert (
        api_for(None).patch(f"/api/v1/share-links/{link.pk}", {"download_sizes": "web"}, format="json").status_code
        == 401
    )
    assert ShareLink.objects.get(pk=link.pk).download_sizes == "all"
    assert api.patch(f"/api/v1/share-links/{link.pk}", {"download_sizes": "original"}, format="json").status_code == 200

    visitor = Client()
    shared = visitor.get(f"/api/v1/shared/{link.token}").json()
    assert shared["allow_download"] is False and shared["download_sizes"] == []
    api.patch(f"/api/v1/share-links/{link.pk}", {"allow_download": True}, format="json")
    assert visitor.get(f"/api/v1/shared/{link.token}").json()["download_sizes"] == ["original"]
    assert visitor.get(f"/api/v1/shared/{made.json()['token']}").json()["download_sizes"] == ["web"]


def test_the_service_refuses_an_unknown_size(make_shared):
    from config.exceptions import InvalidInput

    gallery, _, link = make_shared()
    with pytest.raises(InvalidInput):
        services.share_link_create(gallery=gallery, download_sizes="huge")
    with pytest.raises(InvalidInput):
        services.share_link_update(link=link, download_sizes="")
    assert ShareLink.objects.get(pk=link.pk).download_sizes == "all"


def test_the_admin_sets_the_sizes(alice, client_for, make_shared):
    gallery, _photos, _link = make_shared()
    c = client_for(alice)
    page = c.get(f"/admin/galleries/gallery/{gallery.pk}/change/").content.decode()
    assert 'name="share_links-0-download_sizes"' in page and "Web size only" in page
