"""Whose address a request is counted under: the connection's, unless it comes through a
proxy named in ALLIANCE_TRUSTED_PROXIES — checked on a real server, since the server is what
read X-Forwarded-For. And the unknown-link limit counts only failures."""

from __future__ import annotations

import httpx
import pytest
from fastapi.testclient import TestClient

from alliance.config import Settings
from tests.fixtures.database import Database, World
from tests.service.live import live_server

LOGIN = "/api/v1/auth/login"
ATTEMPTS = 21  # the per-address limit is 4 × ALLIANCE_LOGIN_ATTEMPTS (5) failures


def _failed_logins(url: str, forwarded: list[str]) -> list[int]:
    with httpx.Client(base_url=url, timeout=30) as client:
        return [
            client.post(
                LOGIN,
                json={"username": f"nobody{i}", "password": "wrong wrong wrong"},
                headers={"X-Forwarded-For": address},
            ).status_code
            for i, address in enumerate(forwarded)
        ]


def test_a_rotated_forwarded_header_does_not_escape_the_address_limit(
    world: World, database: Database
) -> None:
    rotated = [f"203.0.113.{i}" for i in range(ATTEMPTS)]
    with live_server(database) as server:
        statuses = _failed_logins(server.url, rotated)
    assert statuses[:20] == [401] * 20
    assert statuses[20] == 429


def test_a_trusted_proxy_names_the_client(world: World, database: Database) -> None:
    with live_server(database, env={"ALLIANCE_TRUSTED_PROXIES": "127.0.0.1"}) as server:
        rotated = _failed_logins(server.url, [f"203.0.113.{i}" for i in range(ATTEMPTS)])
        one = _failed_logins(server.url, ["198.51.100.7"] * ATTEMPTS)
    assert rotated == [401] * ATTEMPTS  # 21 clients behind the proxy, one failure each
    assert one[20] == 429  # one client behind the proxy, limited


def test_trusted_proxies_are_addresses_or_networks() -> None:
    assert Settings(trusted_proxies="127.0.0.1, 10.0.0.0/24,::1").proxies == [
        "127.0.0.1",
        "10.0.0.0/24",
        "::1",
    ]
    with pytest.raises(ValueError, match="not an IP address or network"):
        Settings(trusted_proxies="proxy.example.org")


def test_unknown_links_do_not_block_a_known_link_from_the_same_address(
    api: TestClient, world: World
) -> None:
    created = api.post(
        f"/api/v1/sessions/{world.sessions['c1']}/links",
        json={"instrument": "wai-sr"},
        headers=world["c1"].headers,
    )
    assert created.status_code == 201, created.text
    token = created.json()["token"]
    statuses = {api.get(f"/api/v1/links/not-a-link-{i}").status_code for i in range(31)}
    assert statuses == {404, 429}  # the address is limited for unknown links …
    assert api.get(f"/api/v1/links/{token}").status_code == 200  # … not for a real one
    assert api.get("/api/v1/links/not-a-link-again").status_code == 429
