"""The OpenAPI schema tells the truth: Schemathesis fuzzes every operation in-process and checks the answers.

Every operation of /api/schema/ is called through the WSGI app with examples drawn from the schema
(valid and invalid), once with a photographer's token and once without credentials. Path ids are
pinned to real rows (a gallery with a processed photo, a share link that takes uploads, open
uploads of each door) so the calls reach the code behind the 404. Each call runs in a savepoint
that is rolled back, so a DELETE early on does not turn every later call into a 404.
"""

from __future__ import annotations

import io
import os
from collections.abc import Iterator

import pytest
import schemathesis
from django.core.handlers.wsgi import WSGIHandler
from django.core.signals import request_finished, request_started
from django.db import close_old_connections, transaction
from hypothesis import HealthCheck, settings
from knox.models import AuthToken
from schemathesis.config import SchemathesisConfig
from schemathesis.core.parameters import ParameterLocation
from schemathesis.specs.openapi.checks import positive_data_acceptance

from conftest import make_image
from galleries import services as gallery_services
from galleries.models import Visibility
from galleries.tasks import process_asset
from sharing import services as sharing_services
from uploads import services as upload_services
from uploads.models import UploadProtocol

# Small enough that both runs together take well under two minutes on the CI machine.
# SCHEMA_FUZZ_EXAMPLES=200 digs deeper by hand.
MAX_EXAMPLES = int(os.environ.get("SCHEMA_FUZZ_EXAMPLES", "12"))
SEED = 20261201

# How invalid input may be refused: Schemathesis's defaults, plus 412 (tus: a missing or wrong
# Tus-Resumable, as the tus protocol says) and 413 (a body over a size limit).
REFUSALS = ["400", "401", "403", "404", "405", "406", "409", "412", "413", "415", "422", "428", "429"]

# Every built-in check runs (server errors, status codes, media types, response bodies and
# headers, invalid input refused, auth enforced, missing headers, unsupported methods), but:
EXCLUDED = [
    # A request the schema allows can still be wrong: a random password, bytes that are no image.
    positive_data_acceptance,
]


@pytest.fixture
def world(db, alice) -> dict:
    """Real rows for every path id in the schema."""
    gallery = gallery_services.gallery_create(owner=alice, title="Wedding", visibility=Visibility.PUBLIC)
    photo, _ = gallery_services.photo_add(
        gallery=gallery, file=io.BytesIO(make_image("JPEG", size=(320, 240))), filename="first.jpg"
    )
    process_asset(photo.asset_id)
    link = sharing_services.share_link_create(gallery=gallery, allow_upload=True, allow_download=True)
    chunked = upload_services.upload_create(
        owner=alice, gallery=gallery, filename="big.jpg", size=3000, protocol=UploadProtocol.CHUNKS
    )
    tus = upload_services.upload_create(
        owner=alice, gallery=gallery, filename="big.jpg", size=3000, protocol=UploadProtocol.TUS
    )
    guest = upload_services.upload_create(
        owner=None,
        gallery=gallery,
        filename="guest.jpg",
        size=3000,
        protocol=UploadProtocol.TUS,
        share_link=link,
        guest_name="Fuzz",
        guest_visitor="fuzzer",
    )
    ids = {"gallery_id": str(gallery.pk), "photo_id": str(photo.pk), "link_id": str(link.pk), "token": link.token}
    return {
        "token": AuthToken.objects.create(alice)[1],
        # Per path prefix: which upload each door's {upload_id} names.
        "ids": [
            ("/api/v1/uploads/", {**ids, "upload_id": str(chunked.pk)}),
            ("/api/v1/tus/", {**ids, "upload_id": str(tus.pk)}),
            ("/s/", {**ids, "upload_id": str(guest.pk)}),
            ("/", ids),
        ],
    }


@pytest.fixture
def _app_keeps_the_test_connection() -> Iterator[None]:
    # Django's own test client does the same: closing the connection after each request would end
    # the test's transaction (and with it every row the test made).
    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    yield
    request_started.connect(close_old_connections)
    request_finished.connect(close_old_connections)


# tus bodies are raw bytes, like application/octet-stream.
schemathesis.serializer.alias("application/offset+octet-stream", "application/octet-stream")

# Loaded once at collection: generating the schema touches no database.
schema = schemathesis.openapi.from_wsgi(
    "/api/schema/?format=json",
    WSGIHandler(),
    config=SchemathesisConfig.from_dict(
        {
            "seed": SEED,
            "generation": {"mode": "all", "max-examples": MAX_EXAMPLES, "deterministic": True, "database": "none"},
            "phases": {"coverage": {"enabled": False}, "stateful": {"enabled": False}},
            "checks": {"negative_data_rejection": {"expected-statuses": REFUSALS}},
        }
    ),
)


def _pin_ids(case, world: dict) -> None:
    """Real ids in the path, unless the path itself is what this case gets wrong."""
    if case.meta is not None and case.meta.is_negative_at(ParameterLocation.PATH):
        return
    ids = next(ids for prefix, ids in world["ids"] if case.operation.path.startswith(prefix))
    for name in case.path_parameters or {}:
        if name in ids:
            case.path_parameters[name] = ids[name]


def _call(case, world: dict, *, token: bool) -> None:
    _pin_ids(case, world)
    # Passed to the call (not written into the case) so ignored_auth knows the token is real and
    # checks that the same request without it, or with a wrong one, is refused.
    headers = {"Authorization": f"Token {world['token']}"} if token else None
    # A savepoint per call, rolled back: each call sees the same rows.
    with transaction.atomic():
        case.call_and_validate(headers=headers, excluded_checks=EXCLUDED)
        transaction.set_rollback(True)


FUZZ_SETTINGS = settings(
    max_examples=MAX_EXAMPLES,
    derandomize=True,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much, HealthCheck.function_scoped_fixture],
)


@schema.parametrize()
@FUZZ_SETTINGS
def test_every_operation_answers_as_documented_with_a_token(case, world, _app_keeps_the_test_connection) -> None:
    _call(case, world, token=True)


@schema.parametrize()
@FUZZ_SETTINGS
def test_every_operation_answers_as_documented_without_credentials(case, world, _app_keeps_the_test_connection) -> None:
    _call(case, world, token=False)


# --- What the schema says, in words a reader can check -------------------------------------

RAW = schema.raw_schema


def _ref(node: dict) -> dict:
    while "$ref" in node:
        node = RAW["components"]["schemas"][node["$ref"].rsplit("/", 1)[1]]
    return node


def _ok_body(path: str, method: str = "get") -> dict:
    return _ref(RAW["paths"][path][method]["responses"]["200"]["content"]["application/json"]["schema"])


def test_lists_are_described_as_the_pages_they_are() -> None:
    assert set(_ok_body("/api/v1/galleries")["properties"]) == {"next", "previous", "results"}
    assert set(_ok_body("/api/v1/galleries/{gallery_id}/photos")["properties"]) == {
        "count",
        "next",
        "previous",
        "results",
    }


def test_page_size_and_chunk_hash_have_their_bounds() -> None:
    photos = {
        p["name"]: p["schema"] for p in RAW["paths"]["/api/v1/galleries/{gallery_id}/photos"]["get"]["parameters"]
    }
    assert (photos["page_size"]["minimum"], photos["page_size"]["maximum"]) == (1, 200)
    chunk = RAW["paths"]["/api/v1/uploads/{upload_id}/chunks/{index}"]["put"]["parameters"]
    assert next(p for p in chunk if p["name"] == "X-Chunk-SHA256")["schema"]["pattern"] == "^[0-9a-fA-F]{64}$"


def test_request_bodies_say_unknown_fields_are_refused() -> None:
    body = RAW["paths"]["/api/v1/galleries"]["post"]["requestBody"]["content"]["application/json"]["schema"]
    assert _ref(body)["additionalProperties"] is False
    patch = RAW["paths"]["/api/v1/photos/{photo_id}"]["patch"]["requestBody"]["content"]["application/json"]
    assert _ref(patch["schema"])["additionalProperties"] is False


def test_public_reads_need_no_credentials_and_only_real_schemes_are_named() -> None:
    assert set(RAW["components"]["securitySchemes"]) == {"knoxApiToken", "cookieAuth"}
    for path in ("/api/v1/galleries", "/api/v1/galleries/{gallery_id}", "/api/v1/photos/{photo_id}"):
        assert {} in RAW["paths"][path]["get"]["security"], path
    assert {} not in RAW["paths"]["/api/v1/galleries"]["post"]["security"]
    assert {} not in RAW["paths"]["/api/v1/photos/{photo_id}/download"]["get"]["security"]


def test_tus_documents_head_options_and_the_missing_version() -> None:
    for prefix in ("/api/v1/tus/", "/s/{token}/tus/"):
        item = RAW["paths"][prefix + "{upload_id}"]
        assert {"head", "options", "patch", "delete"} <= set(item)
        for method in ("head", "patch", "delete"):
            assert "412" in item[method]["responses"], (prefix, method)
            assert any(p["name"] == "Tus-Resumable" for p in item[method]["parameters"]), (prefix, method)
        assert "options" in RAW["paths"][prefix]
