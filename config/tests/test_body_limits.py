"""Bodies larger than their door accepts are refused from Content-Length, before a byte is read."""

from __future__ import annotations

import io
import socket

import pytest
from django.test import Client

HUGE = 300 * 1024**2


class UnreadBody(io.RawIOBase):
    """A wsgi.input that remembers whether anyone read from it."""

    def __init__(self) -> None:
        self.reads = 0

    def readable(self) -> bool:
        return True

    def read(self, size: int = -1) -> bytes:
        self.reads += 1
        return b"x" * (8192 if size is None or size < 0 else min(size, 8192))

    def readline(self, size: int = -1) -> bytes:
        return self.read(size)


def post_headers_only(client: Client, path: str, length: int, **extra):
    body = UnreadBody()
    response = client.generic(
        "POST",
        path,
        CONTENT_TYPE="multipart/form-data; boundary=xyz",
        CONTENT_LENGTH=str(length),
        **{"wsgi.input": body},
        **extra,
    )
    return response, body


@pytest.fixture
def gallery(alice):
    from galleries.models import Gallery

    return Gallery.objects.create(owner=alice, title="Wedding", slug="wedding", visibility="public")


@pytest.fixture
def token(alice) -> str:
    from knox.models import AuthToken

    return AuthToken.objects.create(alice)[1]


@pytest.mark.django_db
def test_an_anonymous_300_mb_login_post_is_refused_without_reading_the_body():
    response, body = post_headers_only(Client(), "/accounts/login/", HUGE)
    assert response.status_code == 413
    assert response["Content-Type"].startswith("text/plain")
    assert "at most" in response.content.decode()
    assert body.reads == 0


@pytest.mark.django_db
def test_a_300_mb_admin_login_post_is_refused_without_reading_the_body():
    response, body = post_headers_only(Client(), "/admin/login/", HUGE)
    assert response.status_code == 413
    assert body.reads == 0


@pytest.mark.django_db
def test_a_300_mb_single_shot_upload_is_refused_with_json_without_reading_the_body(gallery, token):
    response, body = post_headers_only(
        Client(), f"/api/v1/galleries/{gallery.pk}/photos", HUGE, HTTP_AUTHORIZATION=f"Token {token}"
    )
    assert response.status_code == 413
    detail = response.json()["detail"]
    assert "300.0 MB" in detail
    assert "resumable" in detail
    assert body.reads == 0


@pytest.mark.django_db
def test_a_single_shot_upload_within_its_limit_is_not_refused_by_size(gallery, token, settings):
    settings.MAX_UPLOAD_SIZE = 1024**2
    settings.SINGLE_UPLOAD_MAX_FILES = 5
    # 5 MB is above the form limit but within 5 files of 1 MB plus framing: the view answers.
    response, _ = post_headers_only(
        Client(), f"/api/v1/galleries/{gallery.pk}/photos", 5 * 1024**2, HTTP_AUTHORIZATION=f"Token {token}"
    )
    assert response.status_code != 413


@pytest.mark.django_db
def test_a_json_api_body_over_the_form_limit_is_refused_with_json(settings):
    settings.REQUEST_BODY_MAX_SIZE = 1000
    response = Client().post("/api/v1/auth/login", {"username": "a" * 2000}, content_type="application/json")
    assert response.status_code == 413
    assert "at most" in response.json()["detail"]


@pytest.mark.django_db
def test_a_chunked_body_without_length_on_a_limited_door_is_refused():
    response = Client().generic(
        "POST",
        "/accounts/login/",
        CONTENT_TYPE="application/x-www-form-urlencoded",
        HTTP_TRANSFER_ENCODING="chunked",
        **{"wsgi.input": UnreadBody()},
    )
    assert response.status_code == 411


@pytest.mark.django_db
def test_the_upload_doors_keep_their_own_per_piece_checks(alice, token, settings):
    settings.REQUEST_BODY_MAX_SIZE = 1000
    # A tus PATCH and a chunk PUT larger than the form limit reach their views (404 here: no such
    # upload), which check the piece against the upload itself.
    missing = "00000000-0000-0000-0000-000000000000"
    client = Client()
    auth = {"HTTP_AUTHORIZATION": f"Token {token}"}
    patch = client.generic(
        "PATCH",
        f"/api/v1/tus/{missing}",
        b"x" * 5000,
        content_type="application/offset+octet-stream",
        HTTP_TUS_RESUMABLE="1.0.0",
        HTTP_UPLOAD_OFFSET="0",
        **auth,
    )
    assert patch.status_code == 404
    put = client.generic(
        "PUT", f"/api/v1/uploads/{missing}/chunks/0", b"x" * 5000, content_type="application/octet-stream", **auth
    )
    assert put.status_code == 404


@pytest.mark.django_db
def test_the_admin_change_form_still_saves(admin_user, gallery):
    client = Client()
    client.force_login(admin_user)
    url = f"/admin/galleries/gallery/{gallery.pk}/change/"
    page = client.get(url)
    assert page.status_code == 200
    form = page.context["adminform"].form
    data = {name: form[name].value() or "" for name in form.fields}
    data["title"] = "Wedding, edited"
    for formset in page.context["inline_admin_formsets"]:
        management = formset.formset.management_form
        for name in management.fields:
            data[f"{management.prefix}-{name}"] = management[name].value()
    data = {k: v for k, v in data.items() if v is not None}
    response = client.post(url, data)
    assert response.status_code in (200, 302)
    assert response.status_code != 413


# --- Through a real server: the answer comes while the body is still unsent -----------------------


def _headers_only(live_server, path: str, length: int, *extra: str) -> bytes:
    host, port = live_server.url.removeprefix("http://").split(":")
    with socket.create_connection((host, int(port)), timeout=5) as sock:
        head = [
            f"POST {path} HTTP/1.1",
            f"Host: {host}",
            "Content-Type: multipart/form-data; boundary=xyz",
            f"Content-Length: {length}",
            *extra,
            "",
            "",
        ]
        sock.sendall("\r\n".join(head).encode())
        sock.sendall(b"--xyz\r\n")  # the first bytes of 300 MB that never come
        answer = b""
        try:
            while b"}" not in answer and b"most" not in answer.partition(b"\r\n\r\n")[2]:
                data = sock.recv(4096)
                if not data:
                    break
                answer += data
        except TimeoutError:
            return answer or b"(no answer within 5 s: the server is waiting for the body)"
        return answer


def test_a_live_server_refuses_a_300_mb_login_before_the_body_arrives(live_server):
    answer = _headers_only(live_server, "/accounts/login/", HUGE)
    assert answer.startswith(b"HTTP/1.1 413"), answer[:200]


@pytest.mark.django_db(transaction=True)
def test_a_live_server_refuses_a_300_mb_single_shot_upload_before_the_body_arrives(live_server, gallery, token):
    answer = _headers_only(live_server, f"/api/v1/galleries/{gallery.pk}/photos", HUGE, f"Authorization: Token {token}")
    assert answer.startswith(b"HTTP/1.1 413"), answer[:200]
    assert b'"detail"' in answer


@pytest.mark.django_db
def test_a_single_shot_upload_of_more_files_than_its_limit_is_refused_and_stores_nothing(
    gallery, token, settings, jpeg_bytes
):
    from django.core.files.uploadedfile import SimpleUploadedFile

    settings.SINGLE_UPLOAD_MAX_FILES = 2
    files = [SimpleUploadedFile(f"p{i}.jpg", jpeg_bytes(), "image/jpeg") for i in range(3)]
    response = Client().post(
        f"/api/v1/galleries/{gallery.pk}/photos", {"files": files}, HTTP_AUTHORIZATION=f"Token {token}"
    )
    assert response.status_code == 400
    assert "at most 2 files" in response.json()["files"][0]
    assert gallery.photos.count() == 0
