"""Processing and media URLs with S3 storage (SeaweedFS): variants in the bucket, presigned GETs."""

import io

import pytest
import requests
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from PIL import Image

from conftest import make_image
from galleries import services, tasks
from galleries.media import media_url
from galleries.models import AssetStatus
from galleries.storage import original_key
from galleries.tests.conftest import VARIANTS

pytestmark = [pytest.mark.s3, pytest.mark.django_db]

KEY = "originals/ab/cd/" + "ab" + "cd" + "0" * 60 + ".jpg"


@pytest.fixture
def stored(s3_storage):
    default_storage.save(KEY, ContentFile(b"\xff\xd8\xff fake jpeg bytes"))
    return KEY


def test_a_presigned_url_serves_the_file(stored, s3_storage):
    url = media_url(stored)
    assert url.startswith(f"{s3_storage.endpoint_url}/{s3_storage.name}/{stored}?")
    assert "X-Amz-Signature=" in url and "X-Amz-Expires=3600" in url
    response = requests.get(url, timeout=10)
    assert response.status_code == 200
    assert response.content == b"\xff\xd8\xff fake jpeg bytes"
    assert response.headers["Content-Type"] == "image/jpeg"


def test_unsigned_and_tampered_urls_are_refused(stored, s3_storage):
    # The download name and expiry hold on both stores: test_media.py runs those tests on S3 too.
    url = media_url(stored)
    assert requests.get(url.split("?")[0], timeout=10).status_code == 403
    signature = url.split("X-Amz-Signature=")[1][:64]
    tampered = url.replace(signature, ("0" if signature[0] != "0" else "1") + signature[1:])
    assert requests.get(tampered, timeout=10).status_code == 403
    assert requests.get(media_url(stored, download_name="a.jpg").replace("a.jpg", "b.jpg"), timeout=10).status_code == (
        403
    )


def test_processing_builds_every_variant_into_the_bucket(alice, gallery, s3_storage):
    data = make_image("JPEG", size=(2400, 1600))
    photo, _ = services.photo_add(gallery=gallery, file=io.BytesIO(data), filename="IMG_1.jpg")
    asset = photo.asset
    assert s3_storage.names() == [original_key(asset.sha256, "jpg")]
    assert tasks.process_asset(asset.pk) == "ready"
    asset.refresh_from_db()
    assert asset.status == AssetStatus.READY and asset.blurhash
    variants = list(asset.variants.all())
    assert len(variants) == VARIANTS  # thumbnails and xlarge are WebP only
    assert sorted(s3_storage.names("variants/")) == sorted(v.key for v in variants)
    for variant in variants:
        assert variant.key.startswith(f"variants/{asset.sha256[:2]}/{asset.sha256[2:4]}/{asset.sha256}/")
        body = s3_storage.read(variant.key)
        assert len(body) == variant.size
        img = Image.open(io.BytesIO(body))
        assert img.size == (variant.width, variant.height) and img.format == variant.format.upper()
    assert tasks.process_asset(asset.pk) == "skipped"  # idempotent: nothing new


def test_the_apis_variant_urls_are_presigned_urls_that_work(alice, api_for, gallery, s3_storage):
    data = make_image("JPEG", size=(1200, 800))
    photo, _ = services.photo_add(gallery=gallery, file=io.BytesIO(data), filename="IMG_2.jpg")
    tasks.process_asset(photo.asset_id)
    body = api_for(alice).get(f"/api/v1/photos/{photo.pk}").json()
    assert body["status"] == "ready"
    keys = {(v.name, v.format): v.key for v in photo.asset.variants.all()}
    assert {(v["name"], v["format"]) for v in body["variants"]} == set(keys)
    for variant in body["variants"]:
        key = keys[(variant["name"], variant["format"])]
        assert variant["url"].startswith(f"{s3_storage.endpoint_url}/{s3_storage.name}/{key}?")
        response = requests.get(variant["url"], timeout=10)
        assert response.status_code == 200, (variant, response.text[:300])
        assert response.content == s3_storage.read(key)
        assert response.headers["Content-Type"] == f"image/{variant['format']}"
        assert requests.get(variant["url"].split("?")[0], timeout=10).status_code == 403


def test_download_gives_the_original_as_an_attachment(alice, api_for, gallery, s3_storage):
    data = make_image("JPEG")
    photo, _ = services.photo_add(gallery=gallery, file=io.BytesIO(data), filename="Mariage été.jpg")
    response = api_for(alice).get(f"/api/v1/photos/{photo.pk}/download")
    # On S3 the API redirects to a presigned URL: the bytes never pass through the web process.
    assert response.status_code == 302
    fetched = requests.get(response["Location"], timeout=10)
    assert fetched.status_code == 200 and fetched.content == data
    assert fetched.headers["Content-Disposition"].startswith("attachment")
    assert "Mariage%20%C3%A9t%C3%A9.jpg" in fetched.headers["Content-Disposition"]


def test_deleting_the_last_photo_removes_its_files_from_the_bucket(
    alice, gallery, s3_storage, django_capture_on_commit_callbacks
):
    photo, _ = services.photo_add(
        gallery=gallery, file=io.BytesIO(make_image("PNG", size=(200, 100))), filename="a.png"
    )
    tasks.process_asset(photo.asset_id)
    assert len(s3_storage.names()) == 1 + VARIANTS  # the original and its variants
    with django_capture_on_commit_callbacks(execute=True):
        services.photo_delete(photo=photo)
    assert s3_storage.names() == []


def test_health_reports_s3_storage(api_for, s3_storage):
    body = api_for().get("/api/v1/health").json()
    assert body["storage"] == "ok"
