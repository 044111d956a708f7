"""A token no link can have is a plain 404 at every link door, on SQLite and on PostgreSQL (which
refuses a NUL byte in a query: it used to be a 500)."""

import pytest

ODD = ["%00", "abc%00def", "%FF%FE", "%3Cscript%3E", "a" * 101, "..%2F..", "%E2%80%AE"]
DOORS = [
    ("get", "/s/{}/"),
    ("post", "/s/{}/unlock"),
    ("get", "/s/{}/download.zip"),
    ("get", "/s/{}/p/00000000-0000-0000-0000-000000000000/"),
    ("post", "/s/{}/more-time/"),
    ("get", "/s/{}/upload"),
    ("post", "/s/{}/tus/"),
    ("get", "/api/v1/shared/{}"),
]


@pytest.mark.django_db
@pytest.mark.parametrize(("method", "door"), DOORS)
def test_a_token_no_link_can_have_is_404_at_every_door(client, method, door):
    for token in ODD:
        response = getattr(client, method)(door.format(token), HTTP_TUS_RESUMABLE="1.0.0", HTTP_UPLOAD_LENGTH="10")
        assert response.status_code == 404, (door, token, response.status_code)
