"""Every number and header the tus and chunk doors read: odd values get a JSON 4xx, never a 5xx."""

import base64

import pytest
from django.test import Client
from hypothesis import HealthCheck, assume, given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st

from galleries import services as gallery_services
from galleries.models import Visibility
from sharing import services as sharing_services
from uploads.tests.conftest import sha

pytestmark = pytest.mark.django_db
TUS = {"HTTP_TUS_RESUMABLE": "1.0.0"}
BODY = b"0123456789"

# Values a careless parser trips on: other scripts' digits (str.isdigit() says yes, int() says
# no or reads them), signs, spaces, decimals, huge numbers, empty, control and non-ASCII bytes.
ODD_NUMBERS = [
    "²",
    "¹²",
    "٣",
    "１２",
    "߁",
    "-1",
    "+1",
    " 1",
    "1 ",
    "1.0",
    "1e3",
    "0x10",
    "",
    " ",
    "9" * 19,
    "9" * 400,
    "1,2",
    "\xff\xfe",
    "é",
    "\t",
    "0" * 30 + "1",
]
odd_values = st.one_of(
    st.sampled_from(ODD_NUMBERS),
    st.integers(min_value=-(10**30), max_value=10**30).map(str),
    st.text(st.characters(min_codepoint=0x20, max_codepoint=0xFF), max_size=24),
    st.text(st.characters(categories=["Nd", "No"]), min_size=1, max_size=6),
)
# The URL routes only ASCII digits as a chunk index: any number of them, leading zeros included.
index_values = st.one_of(
    st.integers(min_value=0, max_value=10**40).map(str),
    st.text(st.sampled_from("0123456789"), min_size=1, max_size=40),
)
# derandomize: the same examples on every run and machine (CI must not depend on luck).
QUICK = hypothesis_settings(
    max_examples=30,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
    database=None,
    derandomize=True,
)


def meta(**values) -> str:
    return ",".join(f"{k} {base64.b64encode(v.encode()).decode()}" for k, v in values.items())


def environ_name(header: str) -> str:
    if header == "Content-Length":
        return "CONTENT_LENGTH"
    if header == "Content-Type":
        return "CONTENT_TYPE"
    return "HTTP_" + header.upper().replace("-", "_")


def assert_json_4xx_or_success(response, method: str = "POST") -> None:
    assert response.status_code < 500, response.content
    if response.status_code >= 400 and method != "HEAD":
        assert response["Content-Type"].startswith("application/json"), (response.status_code, response.content)
        assert response.json()["detail"]


def safe_content_length(header: str, value: str) -> None:
    # The test client cannot read past the body it was given; a real server would just wait.
    if header == "Content-Length" and value.isascii() and value.isdigit() and len(value) <= 18:
        assume(int(value) <= len(BODY))


@pytest.fixture
def gallery(alice):
    return gallery_services.gallery_create(owner=alice, title="Fuzz", visibility=Visibility.PUBLIC)


@pytest.fixture
def link(gallery):
    return sharing_services.share_link_create(gallery=gallery, allow_upload=True)


@pytest.fixture
def doors(alice, api_for, gallery, link):
    """(name, client, create URL, metadata) for the API tus door as alice and the guest door anonymously."""
    return {
        "api": (api_for(alice), "/api/v1/tus/", meta(gallery=str(gallery.pk), filename="a.jpg")),
        "guest": (Client(), f"/s/{link.token}/tus/", meta(filename="a.jpg", guest="Gina")),
    }


CREATE_HEADERS = [
    "Upload-Length",
    "Upload-Defer-Length",
    "Upload-Concat",
    "Upload-Metadata",
    "Upload-Checksum",
    "Tus-Resumable",
    "Content-Length",
    "Content-Type",
]


@pytest.mark.parametrize("door", ["api", "guest"])
@pytest.mark.parametrize("header", CREATE_HEADERS)
def test_tus_creation_answers_odd_header_values_with_a_json_4xx(doors, door, header):
    client, url, metadata = doors[door]

    @QUICK
    @given(value=odd_values)
    def check(value):
        safe_content_length(header, value)
        headers = {
            "HTTP_UPLOAD_LENGTH": str(len(BODY)),
            "HTTP_UPLOAD_METADATA": metadata,
            **TUS,
            environ_name(header): value,
        }
        content_type = headers.pop("CONTENT_TYPE", "application/offset+octet-stream")
        response = client.generic("POST", url, BODY, content_type=content_type, **headers)
        assert_json_4xx_or_success(response)

    check()


PATCH_HEADERS = ["Upload-Offset", "Upload-Checksum", "Tus-Resumable", "Content-Length", "Content-Type"]


@pytest.mark.parametrize("door", ["api", "guest"])
@pytest.mark.parametrize("header", PATCH_HEADERS)
def test_tus_patch_answers_odd_header_values_with_a_json_4xx(doors, door, header):
    client, url, metadata = doors[door]
    created = client.post(url, HTTP_UPLOAD_LENGTH=str(10**6), HTTP_UPLOAD_METADATA=metadata, **TUS)
    assert created.status_code == 201, created.content
    location = created["Location"]

    @QUICK
    @given(value=odd_values)
    def check(value):
        safe_content_length(header, value)
        headers = {"HTTP_UPLOAD_OFFSET": "0", **TUS, environ_name(header): value}
        content_type = headers.pop("CONTENT_TYPE", "application/offset+octet-stream")
        response = client.generic("PATCH", location, BODY, content_type=content_type, **headers)
        assert_json_4xx_or_success(response, "PATCH")
        head = client.head(location, **{**TUS, environ_name(header): value})
        assert head.status_code < 500

    check()


@pytest.mark.parametrize("header", ["Upload-Length", "Upload-Offset", "Upload-Concat", "Content-Length"])
def test_anonymous_odd_values_on_the_api_tus_door_get_a_json_4xx(header, gallery):
    client = Client()

    @QUICK
    @given(value=odd_values)
    def check(value):
        safe_content_length(header, value)
        response = client.generic(
            "POST",
            "/api/v1/tus/",
            BODY,
            content_type="application/offset+octet-stream",
            **TUS,
            **{environ_name(header): value},
        )
        assert_json_4xx_or_success(response)
        assert response.status_code in (401, 403)

    check()


@pytest.mark.parametrize("header", ["Content-Length", "Content-Type", "X-Chunk-SHA256", "index"])
def test_the_chunk_door_answers_odd_values_with_a_json_4xx(alice, api_for, gallery, header):
    api = api_for(alice)
    started = api.post(
        "/api/v1/uploads", {"gallery": str(gallery.pk), "filename": "a.jpg", "size": 10**6}, format="json"
    )
    upload_id = started.json()["id"]

    @QUICK
    @given(value=index_values if header == "index" else odd_values)
    def check(value):
        index = "0"
        headers = {"HTTP_X_CHUNK_SHA256": sha(BODY)}
        content_type = "application/octet-stream"
        if header == "index":
            index = value
        elif header == "Content-Type":
            content_type = value
        else:
            safe_content_length(header, value)
            headers[environ_name(header)] = value
        response = api.generic(
            "PUT", f"/api/v1/uploads/{upload_id}/chunks/{index}", BODY, content_type=content_type, **headers
        )
        assert_json_4xx_or_success(response, "PUT")

    check()


@pytest.mark.parametrize("value", ["²", "³", "٣", "-5", " 5", "", "9" * 40])
def test_upload_length_and_offset_with_odd_digits_get_a_clear_400(doors, value):
    client, url, metadata = doors["guest"]
    refused = client.post(url, HTTP_UPLOAD_LENGTH=value, HTTP_UPLOAD_METADATA=metadata, **TUS)
    assert refused.status_code == 400 and "Upload-Length" in refused.json()["detail"]
    created = client.post(url, HTTP_UPLOAD_LENGTH="10", HTTP_UPLOAD_METADATA=metadata, **TUS)
    refused = client.generic(
        "PATCH",
        created["Location"],
        BODY,
        content_type="application/offset+octet-stream",
        HTTP_UPLOAD_OFFSET=value,
        **TUS,
    )
    assert refused.status_code == 400 and "Upload-Offset" in refused.json()["detail"]
