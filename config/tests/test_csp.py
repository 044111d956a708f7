"""The Content-Security-Policy header: scripts from our origin only, media from wherever media is served."""

from __future__ import annotations

import pytest

from config.csp import media_origins


def directives(response) -> dict[str, list[str]]:
    policy = response["Content-Security-Policy"]
    parts = (p.split() for p in policy.split(";") if p.strip())
    return {name: values for name, *values in parts}


def test_media_origins_name_the_s3_endpoint_and_the_cdn():
    assert media_origins(endpoint_url="http://127.0.0.1:8333/", custom_domain="", region="us-east-1") == [
        "http://127.0.0.1:8333"
    ]
    assert media_origins(endpoint_url="", custom_domain="cdn.example.com", region="eu-west-1") == [
        "https://cdn.example.com",
        "https://s3.amazonaws.com",
        "https://s3.eu-west-1.amazonaws.com",
    ]


@pytest.mark.django_db
def test_with_s3_configured_images_and_video_may_come_from_its_endpoint(client, settings):
    settings.USE_S3 = True
    settings.S3_ENDPOINT_URL = "https://s3.example.net:9000/"
    settings.S3_CUSTOM_DOMAIN = "cdn.example.com"
    policy = directives(client.get("/"))
    for name in ("img-src", "media-src"):
        assert "https://s3.example.net:9000" in policy[name]
        assert "https://cdn.example.com" in policy[name]
    assert policy["script-src"] == ["'self'"]


@pytest.mark.django_db
def test_on_local_storage_media_comes_from_our_own_origin_only(client):
    policy = directives(client.get("/"))
    assert policy["img-src"] == ["'self'", "data:", "blob:"]
    assert policy["media-src"] == ["'self'", "blob:"]


@pytest.mark.django_db
def test_pages_and_the_api_docs_carry_a_policy_without_inline_scripts(client):
    for path in ["/", "/accounts/login/", "/api/docs/"]:
        response = client.get(path)
        assert response.status_code == 200, path
        policy = response["Content-Security-Policy"]
        script_src = next(p for p in policy.split(";") if p.strip().startswith("script-src"))
        assert "'unsafe-inline'" not in script_src
        assert "frame-ancestors 'none'" in policy


@pytest.mark.django_db
def test_the_api_docs_page_has_no_inline_script(client):
    html = client.get("/api/docs/").content.decode()
    assert "<script>" not in html
    assert "?script=" in html or "script=" in html
