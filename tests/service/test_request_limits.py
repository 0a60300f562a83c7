"""Requests the service cannot take are refused with a 4xx and the usual error body, never a
server error: bodies over their route's limit (413 at once, on a real server too), bodies
that are not JSON, numbers that are not finite, integers no column holds, unpaired
surrogates and NUL characters."""

from __future__ import annotations

import socket
from collections.abc import Iterator
from urllib.parse import urlsplit

import httpx
import pytest
from fastapi.testclient import TestClient

from alliance.web.security import CSP
from tests.fixtures.database import Database, World
from tests.service.live import live_server

LOGIN = "/api/v1/auth/login"


def _usual_error(response: httpx.Response, status: int) -> dict[str, object]:
    assert response.status_code == status, response.text
    assert response.headers["content-security-policy"] == CSP
    error = response.json()["error"]
    assert isinstance(error, dict)
    assert error["code"] and error["message"]
    return error


def _json(api: TestClient, method: str, url: str, text: str, **headers: str) -> httpx.Response:
    return api.request(
        method, url, content=text.encode(), headers={"Content-Type": "application/json", **headers}
    )


def test_a_body_over_its_routes_limit_is_refused_before_it_is_read(
    api: TestClient, world: World
) -> None:
    big = b'{"username": "c1", "password": "' + b"x" * 100_000 + b'"}'
    error = _usual_error(
        api.post(LOGIN, content=big, headers={"Content-Type": "application/json"}), 413
    )
    assert error["code"] == "too_large"
    # a stream without a length is counted as it comes, and cut off at the limit
    sent: list[int] = []

    def chunks() -> Iterator[bytes]:
        for _ in range(100):
            sent.append(1)
            yield b" " * 65536

    streamed = api.post(LOGIN, content=chunks(), headers={"Content-Type": "application/json"})
    assert _usual_error(streamed, 413)["code"] == "too_large"
    # a page form has its limit too, and the answer is a page
    page = api.post("/login", content=b"username=" + b"x" * 100_000)
    assert page.status_code == 413
    assert page.headers["content-security-policy"] == CSP


def test_a_session_number_no_column_holds_is_refused(api: TestClient, world: World) -> None:
    url = f"/api/v1/episodes/{world.episodes['c1']}/sessions"
    for number in (2**63, 2**31, 10_001):
        response = _json(
            api, "POST", url, f'{{"date": "2026-09-15", "number": {number}}}', **world["c1"].headers
        )
        assert _usual_error(response, 422)["field"] == "number"


ADMINISTRATION = "/api/v1/sessions/{session}/administrations"
LINKS = "/api/v1/sessions/{session}/links"


GAD = '{"instrument": "gad-7", "idempotency_key": %s, "answers": %s}'


@pytest.mark.parametrize(
    ("url", "body", "field"),
    [
        (ADMINISTRATION, GAD % ('"k"', '{"item_1": NaN}'), "item_1"),
        (ADMINISTRATION, GAD % ('"k"', '{"item_1": 1e309}'), "item_1"),
        (LINKS, '{"instrument": "wai-sr", "hours": NaN}', "hours"),
        (LINKS, '{"instrument": "wai-sr", "hours": -Infinity}', "hours"),
        (ADMINISTRATION, GAD % ('"\\ud800"', "{}"), "idempotency_key"),
        (ADMINISTRATION, GAD % ('"a\\u0000b"', "{}"), "idempotency_key"),
    ],
)
def test_numbers_and_text_no_database_stores_are_refused(
    api: TestClient, world: World, url: str, body: str, field: str
) -> None:
    target = url.format(session=world.sessions["c1"])
    error = _usual_error(_json(api, "POST", target, body, **world["c1"].headers), 422)
    assert str(error["field"]).endswith(field)


def test_unstorable_text_anywhere_is_refused(api: TestClient, world: World) -> None:
    c1 = world["c1"].headers
    cases = [
        _json(
            api, "POST", "/api/v1/clients", '{"code": "X1", "contact": {"name": "\\ud83d"}}', **c1
        ),
        _json(api, "POST", "/api/v1/tokens", '{"name": "a\\u0000"}', **c1),
        _json(api, "POST", LOGIN, '{"username": "\\udfff", "password": "x"}'),
        api.get("/api/v1/clients/by-code/a%00b", headers=c1),
        api.get("/api/v1/clients", params={"q": "a\x00b"}, headers=c1),
    ]
    for response in cases:
        _usual_error(response, 422)
    form = api.post("/login", data={"username": "a\x00b", "password": "x"})
    assert form.status_code == 422
    assert form.headers["content-security-policy"] == CSP


@pytest.mark.parametrize("content_type", ["text/plain", "application/x-www-form-urlencoded", None])
def test_a_json_route_given_something_else_answers_422(
    api: TestClient, world: World, content_type: str | None
) -> None:
    headers = {"Content-Type": content_type} if content_type else {}
    response = api.post(LOGIN, content=b'{"username": "c1", "password": "x"}', headers=headers)
    error = _usual_error(response, 422)
    assert "JSON" in str(error["message"])


def read_one_answer(sock: socket.socket) -> str:
    """One whole HTTP answer: the head, then as many body bytes as it announces (the server
    may send head and body in separate packets)."""
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = sock.recv(65536)
        if not chunk:
            return data.decode("latin-1")
        data += chunk
    head, _, body = data.partition(b"\r\n\r\n")
    length = 0
    for line in head.split(b"\r\n")[1:]:
        name, _, value = line.partition(b":")
        if name.strip().lower() == b"content-length":
            length = int(value.strip())
    while len(body) < length:
        chunk = sock.recv(65536)
        if not chunk:
            break
        body += chunk
    return (head + b"\r\n\r\n" + body).decode("latin-1")


def test_a_live_server_answers_413_before_the_body_is_sent(
    world: World, database: Database
) -> None:
    """The real server, a 200 MB body announced: the answer comes back while the client has
    sent only the headers."""
    with live_server(database) as server:
        address = urlsplit(server.url)
        with socket.create_connection((address.hostname, address.port), timeout=30) as sock:
            sock.sendall(
                b"POST /api/v1/auth/login HTTP/1.1\r\nHost: x\r\n"
                b"Content-Type: application/json\r\nContent-Length: 200000000\r\n\r\n"
            )
            answer = read_one_answer(sock)
    assert answer.startswith("HTTP/1.1 413"), answer[:200]
    assert "too_large" in answer


def test_a_made_up_id_longer_than_any_column_is_not_a_server_error(
    api: TestClient, world: World
) -> None:
    """Found by the fuzz test on PostgreSQL: the audit event of the listing named the client
    id asked for, and a 65-character id overflowed its column."""
    response = api.get(
        "/api/v1/alerts", params={"client_id": "x" * 100}, headers=world["c1"].headers
    )
    assert response.status_code == 200
    assert response.json() == []
