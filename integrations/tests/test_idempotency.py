"""Idempotency-Key on the API's POSTs, through real requests."""

from __future__ import annotations

import io
import threading
from datetime import timedelta

import pytest
from django.db import connection
from django.test.client import encode_multipart
from rest_framework.test import APIClient

from conftest import make_image
from galleries.models import Gallery, Photo
from integrations import idempotency
from integrations.models import IdempotencyKey

KEY = "7d0f2c1e-4b5a-4c39-9e7a-0a6f3b2d9c11"


def create(api: APIClient, title: str = "Wedding", key: str | None = KEY, **body):
    headers = {} if key is None else {"HTTP_IDEMPOTENCY_KEY": key}
    return api.post("/api/v1/galleries", {"title": title, **body}, format="json", **headers)


def test_a_retry_gets_the_first_answer_and_does_nothing_again(api_for, alice):
    api = api_for(alice)
    first = create(api)
    assert first.status_code == 201
    again = create(api)
    assert again.status_code == 201
    assert again.json() == first.json()
    assert again["Idempotent-Replayed"] == "true" and "Idempotent-Replayed" not in first
    assert again["Content-Type"] == first["Content-Type"]
    assert Gallery.objects.count() == 1


def test_the_same_json_written_differently_is_the_same_request(api_for, alice):
    api = api_for(alice)
    first = api.post(
        "/api/v1/galleries",
        b'{"title": "Wedding", "visibility": "public"}',
        content_type="application/json",
        HTTP_IDEMPOTENCY_KEY=KEY,
    )
    again = api.post(
        "/api/v1/galleries",
        b'{"visibility":"public","title":"Wedding"}',
        content_type="application/json",
        HTTP_IDEMPOTENCY_KEY=KEY,
    )
    assert (first.status_code, again.status_code) == (201, 201)
    assert again["Idempotent-Replayed"] == "true"
    assert Gallery.objects.count() == 1


def test_the_same_key_with_another_body_is_422(api_for, alice):
    api = api_for(alice)
    assert create(api, "Wedding").status_code == 201
    response = create(api, "Birthday")
    assert response.status_code == 422
    assert "already used for another request" in response.json()["detail"]
    assert list(Gallery.objects.values_list("title", flat=True)) == ["Wedding"]


def test_the_same_key_on_another_door_is_422(api_for, alice):
    api = api_for(alice)
    gallery_id = create(api).json()["id"]
    response = api.post(f"/api/v1/galleries/{gallery_id}/restore", HTTP_IDEMPOTENCY_KEY=KEY)
    assert response.status_code == 422
    assert "POST /api/v1/galleries" in response.json()["detail"]


def test_two_users_keys_never_meet(api_for, alice, bob):
    assert create(api_for(alice), "Alice's").status_code == 201
    bobs = create(api_for(bob), "Bob's")
    assert bobs.status_code == 201 and "Idempotent-Replayed" not in bobs
    assert sorted(Gallery.objects.values_list("owner__username", flat=True)) == ["alice", "bob"]


def test_a_token_and_a_session_of_one_user_share_their_keys(client, alice):
    from knox.models import AuthToken

    token = AuthToken.objects.create(alice)[1]
    by_token = APIClient()
    by_token.credentials(HTTP_AUTHORIZATION=f"Token {token}")
    assert create(by_token).status_code == 201
    by_session = APIClient(enforce_csrf_checks=False)
    by_session.force_login(alice)
    again = create(by_session)
    assert again.status_code == 201 and again["Idempotent-Replayed"] == "true"
    assert Gallery.objects.count() == 1


def test_keys_expire_after_24_hours(api_for, alice, clock):
    api = api_for(alice)
    assert create(api).status_code == 201
    clock.advance(hours=23)
    assert create(api)["Idempotent-Replayed"] == "true"
    clock.advance(hours=2)
    fresh = create(api)
    assert fresh.status_code == 201 and "Idempotent-Replayed" not in fresh
    assert Gallery.objects.count() == 2


def test_the_sweep_forgets_expired_keys(api_for, alice, clock):
    from integrations.tasks import sweep

    create(api_for(alice), key="old")
    clock.advance(hours=12)
    create(api_for(alice), "Second", key="young")
    clock.advance(hours=13)
    assert sweep().startswith("integrations sweep: 1 idempotency keys")
    assert list(IdempotencyKey.objects.values_list("key", flat=True)) == ["young"]
    assert sweep().startswith("integrations sweep: 0 idempotency keys")  # twice is harmless


def test_an_answer_that_is_not_a_success_frees_the_key(api_for, alice):
    api = api_for(alice)
    refused = create(api, title="")
    assert refused.status_code == 400
    assert not IdempotencyKey.objects.exists()
    corrected = create(api, title="Wedding")
    assert corrected.status_code == 201 and "Idempotent-Replayed" not in corrected


def test_anonymous_requests_are_refused_as_before_and_keep_nothing(db, api_for):
    response = create(api_for(None))
    assert response.status_code == 401
    assert not IdempotencyKey.objects.exists()


@pytest.mark.parametrize(
    ("key", "message"),
    [
        ("", "must not be empty"),
        ("k" * 256, "at most 255"),
        ("abc\x01def", "control characters"),
        ("tab\there", "control characters"),
        ("caf\u00e9", "printable ASCII"),
    ],
)
def test_bad_keys_are_a_400(api_for, alice, key, message):
    response = create(api_for(alice), key=key)
    assert response.status_code == 400
    assert message in response.json()["detail"]
    assert not Gallery.objects.exists()


def test_a_key_of_255_printable_characters_is_fine(api_for, alice):
    key = ("A-z0 9~!" * 40)[:255]
    assert create(api_for(alice), key=key).status_code == 201
    assert create(api_for(alice), key=key)["Idempotent-Replayed"] == "true"


def test_other_methods_ignore_the_header(api_for, alice):
    gallery_id = create(api_for(alice), key=None).json()["id"]
    for _ in range(2):
        response = api_for(alice).patch(
            f"/api/v1/galleries/{gallery_id}", {"title": "Renamed"}, format="json", HTTP_IDEMPOTENCY_KEY=KEY
        )
        assert response.status_code == 200 and "Idempotent-Replayed" not in response
    assert not IdempotencyKey.objects.exists()


def test_a_multipart_upload_retried_with_a_new_boundary_is_the_same_request(api_for, alice, make_gallery):
    gallery = make_gallery(alice)
    picture = make_image("JPEG", size=(40, 30))
    api = api_for(alice)
    answers = []
    for boundary in ("first-boundary-1111", "other-boundary-2222"):
        body = encode_multipart(boundary, {"files": io.BytesIO(picture)})
        answers.append(
            api.post(
                f"/api/v1/galleries/{gallery.pk}/photos",
                body,
                content_type=f"multipart/form-data; boundary={boundary}",
                HTTP_IDEMPOTENCY_KEY=KEY,
            )
        )
    assert [a.status_code for a in answers] == [201, 201], answers[0].content
    assert answers[1]["Idempotent-Replayed"] == "true"
    assert answers[0].json() == answers[1].json()
    assert Photo.objects.count() == 1
    other = encode_multipart("b3", {"files": io.BytesIO(make_image("JPEG", size=(40, 30), colour=(1, 2, 3)))})
    response = api.post(
        f"/api/v1/galleries/{gallery.pk}/photos",
        other,
        content_type="multipart/form-data; boundary=b3",
        HTTP_IDEMPOTENCY_KEY=KEY,
    )
    assert response.status_code == 422  # another file under the same key


def test_an_anonymous_visitor_retrying_a_selection_gets_the_first_answer(api_for, alice, make_gallery):
    from sharing import services as sharing_services

    link = sharing_services.share_link_create(gallery=make_gallery(alice), label="Ann")
    visitor = api_for(None)
    first = visitor.post(
        f"/api/v1/shared/{link.token}/selection", {"name": "Ann"}, format="json", HTTP_IDEMPOTENCY_KEY=KEY
    )
    assert first.status_code == 200, first.content
    again = visitor.post(
        f"/api/v1/shared/{link.token}/selection", {"name": "Ann"}, format="json", HTTP_IDEMPOTENCY_KEY=KEY
    )
    assert again["Idempotent-Replayed"] == "true" and again.json() == first.json()
    assert IdempotencyKey.objects.get().scope.startswith("anon:")


@pytest.mark.django_db(transaction=True)
def test_a_duplicate_while_the_first_still_runs_is_409(alice, monkeypatch):
    from galleries.api import views as gallery_views

    started, release = threading.Event(), threading.Event()
    real_create = gallery_views.services.gallery_create

    def slow_create(**kwargs):
        started.set()
        assert release.wait(10)
        return real_create(**kwargs)

    monkeypatch.setattr(gallery_views.services, "gallery_create", slow_create)
    answers = {}

    def first_request():
        api = APIClient()
        api.force_authenticate(alice)
        try:
            answers["first"] = create(api)
        finally:
            connection.close()

    thread = threading.Thread(target=first_request)
    thread.start()
    try:
        assert started.wait(10)
        api = APIClient()
        api.force_authenticate(alice)
        duplicate = create(api)
        assert duplicate.status_code == 409
        assert "still being processed" in duplicate.json()["detail"]
        assert duplicate["Retry-After"] == "1"
    finally:
        release.set()
        thread.join(10)
    assert answers["first"].status_code == 201
    api = APIClient()
    api.force_authenticate(alice)
    assert create(api)["Idempotent-Replayed"] == "true"
    assert Gallery.objects.count() == 1


def test_a_key_left_behind_by_a_dead_request_is_taken_over(api_for, alice, clock):
    api = api_for(alice)
    assert create(api).status_code == 201
    # As if that request had died before answering: held, with no answer.
    IdempotencyKey.objects.update(response_status=None, locked_until=clock.now + timedelta(minutes=1))
    assert create(api).status_code == 409
    clock.advance(idempotency.LOCK)
    retried = create(api)
    assert retried.status_code == 201 and "Idempotent-Replayed" not in retried


def test_the_schema_documents_the_header_on_every_post(client):
    schema = client.get("/api/schema/?format=json").json()
    posts = {
        path: ops["post"] for path, ops in schema["paths"].items() if "post" in ops and path.startswith("/api/v1/")
    }
    assert "/api/v1/galleries" in posts and "/api/v1/webhooks" in posts
    for path, operation in posts.items():
        [parameter] = [p for p in operation.get("parameters", []) if p.get("name") == "Idempotency-Key"]
        assert parameter["in"] == "header" and parameter["required"] is False, path
        assert parameter["schema"]["maxLength"] == 255, path
        assert {"409", "422"} <= set(operation["responses"]), path
    for path, operations in schema["paths"].items():
        for method, operation in operations.items():
            if method != "post" and isinstance(operation, dict):
                names = [p.get("name") for p in operation.get("parameters", [])]
                assert "Idempotency-Key" not in names, (method, path)


def test_a_login_is_never_kept_so_no_token_lands_in_the_ledger(db, alice, api_for):
    api = api_for(None)
    body = {"username": "alice", "password": "alice-pass-123"}
    first = api.post("/api/v1/auth/login", body, format="json", HTTP_IDEMPOTENCY_KEY=KEY)
    assert first.status_code == 200, first.content
    again = api.post("/api/v1/auth/login", body, format="json", HTTP_IDEMPOTENCY_KEY=KEY)
    assert again.status_code == 200 and "Idempotent-Replayed" not in again
    assert first.json()["token"] != again.json()["token"]
    assert not IdempotencyKey.objects.exists()


def test_a_tus_creation_with_upload_is_read_whole_by_the_view_and_replayed(api_for, alice, make_gallery):
    import base64

    from uploads.models import Upload

    gallery = make_gallery(alice)
    data = make_image("JPEG", size=(40, 30), colour=(70, 7, 7))
    meta = ",".join(
        f"{k} {base64.b64encode(v.encode()).decode()}"
        for k, v in {"gallery": str(gallery.pk), "filename": "t.jpg"}.items()
    )
    headers = {
        "HTTP_TUS_RESUMABLE": "1.0.0",
        "HTTP_UPLOAD_LENGTH": str(len(data) + 10),
        "HTTP_UPLOAD_METADATA": meta,
        "HTTP_IDEMPOTENCY_KEY": KEY,
    }
    api = api_for(alice)
    first = api.post("/api/v1/tus/", data, content_type="application/offset+octet-stream", **headers)
    assert first.status_code == 201, first.content
    assert first["Upload-Offset"] == str(len(data))  # the view read the body the middleware had read first
    again = api.post("/api/v1/tus/", data, content_type="application/offset+octet-stream", **headers)
    assert again.status_code == 201 and again["Idempotent-Replayed"] == "true"
    assert again["Location"] == first["Location"] and again["Upload-Offset"] == first["Upload-Offset"]
    assert Upload.objects.count() == 1
    other = api.post("/api/v1/tus/", data[:-1], content_type="application/offset+octet-stream", **headers)
    assert other.status_code == 422
