import time
from datetime import timedelta

import pytest
import requests
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage

from galleries import signing
from galleries.media import media_url

KEY = "originals/ab/cd/" + "ab" + "cd" + "0" * 60 + ".jpg"


@pytest.fixture
def stored(db):
    default_storage.save(KEY, ContentFile(b"\xff\xd8\xff fake jpeg bytes"))
    return KEY


@pytest.fixture
def stored_anywhere(db, storage):
    """The same file in the store under test: once on local files, once on S3 (presigned URLs)."""
    default_storage.save(KEY, ContentFile(b"\xff\xd8\xff fake jpeg bytes"))
    return KEY


def get(client, url: str):
    """Fetch a media URL as a browser would: the app serves local ones, the bucket presigned S3 ones."""
    return requests.get(url, timeout=10) if url.startswith("http") else client.get(url)


def test_signed_url_streams_the_file_with_safe_headers(client, stored):
    response = client.get(media_url(stored))
    assert response.status_code == 200
    assert b"".join(response.streaming_content) == b"\xff\xd8\xff fake jpeg bytes"
    assert response["Content-Type"] == "image/jpeg"
    assert response["X-Content-Type-Options"] == "nosniff"
    assert response["Content-Disposition"].startswith("inline")
    assert "private" in response["Cache-Control"]


def test_download_url_is_an_attachment_with_an_rfc6266_name(client, stored_anywhere):
    response = get(client, media_url(stored_anywhere, download_name="Été à Paris.jpg"))
    assert response.status_code == 200
    assert response.headers["Content-Disposition"].startswith("attachment")
    assert "filename*=utf-8''%C3%89t%C3%A9%20%C3%A0%20Paris.jpg" in response.headers["Content-Disposition"]


def test_tampered_signature_is_403(client, stored):
    url = media_url(stored)
    assert client.get(url[:-2] + ("00" if not url.endswith("00") else "11")).status_code == 403


def test_tampered_key_is_403(client, stored):
    url = media_url(stored).replace("ab/cd/abcd0", "ab/cd/abcd1")
    assert client.get(url).status_code == 403


def test_tampered_download_name_is_403(client, stored):
    url = media_url(stored, download_name="a.jpg")
    assert client.get(url.replace("dl=a.jpg", "dl=b.jpg")).status_code == 403


def test_expired_url_is_403(client, stored_anywhere, settings):
    settings.MEDIA_URL_TTL = timedelta(seconds=2)
    url = media_url(stored_anywhere)
    assert get(client, url).status_code == 200
    time.sleep(2.1)
    assert get(client, url).status_code == 403


def test_missing_signature_is_403(client, stored):
    assert client.get(f"/media/{stored}").status_code == 403
    assert client.get(f"/media/{stored}?e=abc&s=x").status_code == 403


def test_path_traversal_keys_are_refused(client, stored):
    assert client.get("/media/../config/settings.py?e=9999999999&s=x").status_code in (403, 404)


def test_urls_are_stable_within_a_window_and_never_outlive_the_ttl():
    ttl = 3600
    window = signing.window_for(ttl)
    start = 1_000_000 * window
    assert signing.expiry_for(start, ttl) == signing.expiry_for(start + window - 1, ttl)
    for offset in range(0, 3 * window, 97):
        now = start + offset
        assert ttl - window < signing.expiry_for(now, ttl) - now <= ttl


def test_signature_check_is_exact():
    secret = b"s"
    sig = signing.signature(secret, "k", 100, "")
    assert signing.check(secret, "k", 100, "", sig, now=99)
    assert not signing.check(secret, "k", 100, "", sig, now=100)
    assert not signing.check(secret, "k2", 100, "", sig, now=0)
    assert not signing.check(b"other", "k", 100, "", sig, now=0)
