"""Login with a password (cookie + CSRF), API tokens, and the login rate limit."""

from __future__ import annotations

from fastapi.testclient import TestClient

from tests.fixtures.database import PASSWORD, World

LOGIN = "/api/v1/auth/login"


def test_login_sets_a_session_cookie_and_needs_csrf_for_changes(
    api: TestClient, world: World
) -> None:
    response = api.post(LOGIN, json={"username": "C1", "password": PASSWORD})
    assert response.status_code == 200
    body = response.json()
    assert body["user"]["username"] == "c1"
    cookie = response.cookies.get("alliance_session")
    assert cookie
    set_cookie = response.headers["set-cookie"].lower()
    assert "httponly" in set_cookie
    assert "samesite=lax" in set_cookie
    assert api.get("/api/v1/me").json()["username"] == "c1"
    session_url = f"/api/v1/episodes/{world.episodes['c1']}/sessions"
    refused = api.post(session_url, json={"date": "2026-09-15"})
    assert refused.status_code == 403
    assert "X-CSRF-Token" in refused.json()["error"]["message"]
    wrong = api.post(session_url, json={"date": "2026-09-15"}, headers={"X-CSRF-Token": "nope"})
    assert wrong.status_code == 403
    ok = api.post(
        session_url, json={"date": "2026-09-15"}, headers={"X-CSRF-Token": body["csrf_token"]}
    )
    assert ok.status_code == 201


def test_logout_ends_the_session(api: TestClient, world: World) -> None:
    body = api.post(LOGIN, json={"username": "c1", "password": PASSWORD}).json()
    assert (
        api.post("/api/v1/auth/logout", headers={"X-CSRF-Token": body["csrf_token"]}).status_code
        == 204
    )
    assert api.get("/api/v1/me").status_code == 401


def test_wrong_password_and_unknown_user_look_the_same(api: TestClient, world: World) -> None:
    wrong = api.post(LOGIN, json={"username": "c1", "password": "not the password"})
    unknown = api.post(LOGIN, json={"username": "nobody", "password": "not the password"})
    assert wrong.status_code == unknown.status_code == 401
    assert wrong.json() == unknown.json()


def test_user_without_password_cannot_log_in(api: TestClient, world: World) -> None:
    assert api.post(LOGIN, json={"username": "c2", "password": ""}).status_code == 401


def test_login_is_rate_limited_per_account(api: TestClient, world: World) -> None:
    for _ in range(5):
        assert (
            api.post(LOGIN, json={"username": "c1", "password": "guess guess"}).status_code == 401
        )
    blocked = api.post(LOGIN, json={"username": "c1", "password": PASSWORD})
    assert blocked.status_code == 429
    assert int(blocked.headers["retry-after"]) > 0
    # another account from the same address is not yet blocked
    assert api.post(LOGIN, json={"username": "a1", "password": PASSWORD}).status_code == 200


def test_api_tokens(api: TestClient, world: World) -> None:
    c1 = world["c1"]
    refused = api.post("/api/v1/tokens", json={"name": "minted"}, headers=c1.headers)
    assert refused.status_code == 422  # a token does not mint tokens; a logged-in person does
    csrf = api.post(LOGIN, json={"username": "c1", "password": PASSWORD}).json()["csrf_token"]
    created = api.post(
        "/api/v1/tokens", json={"name": "ehr bridge"}, headers={"X-CSRF-Token": csrf}
    )
    assert created.status_code == 201
    token = created.json()["token"]
    bearer = {"Authorization": f"Bearer {token}"}
    assert api.get("/api/v1/me", headers=bearer).json()["username"] == "c1"
    names = [t["name"] for t in api.get("/api/v1/tokens").json()]
    assert "ehr bridge" in names
    assert (
        api.delete(
            f"/api/v1/tokens/{created.json()['id']}", headers={"X-CSRF-Token": csrf}
        ).status_code
        == 204
    )
    assert api.get("/api/v1/me", headers=bearer).status_code == 401


def test_tokens_are_stored_hashed(api: TestClient, world: World, database) -> None:  # type: ignore[no-untyped-def]
    from sqlalchemy import select

    from alliance.store.security import ApiToken

    with database.session() as db:
        hashes = list(db.scalars(select(ApiToken.token_hash)))
    assert world["c1"].token not in hashes
    assert all(len(h) == 64 for h in hashes)


def test_no_credentials(api: TestClient, world: World) -> None:
    response = api.get("/api/v1/clients")
    assert response.status_code == 401
    assert response.json()["error"]["code"] == "unauthenticated"
    assert api.get("/api/v1/clients", headers={"Authorization": "Bearer nope"}).status_code == 401


def test_deactivated_user_is_locked_out(api: TestClient, world: World) -> None:
    admin = world["a1"]
    c2 = world["c2"]
    assert (
        api.patch(
            f"/api/v1/users/{c2.id}", json={"active": False}, headers=admin.headers
        ).status_code
        == 200
    )
    assert api.get("/api/v1/me", headers=c2.headers).status_code == 401
