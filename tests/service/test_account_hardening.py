"""Findings of the outside review on accounts and sessions: one-time code guesses that a right
password reset, a password reset that left sessions working, one-time codes that worked twice,
weak passwords, unbounded names, and an audit check that spoke for the whole installation."""

from __future__ import annotations

import datetime as dt

import pyotp
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import update

from alliance.services.accounts import auth
from alliance.services.errors import Invalid
from alliance.store.audit import AuditEvent
from alliance.store.models import User
from tests.fixtures.database import PASSWORD, Database, World

LOGIN = "/api/v1/auth/login"
SECRET = pyotp.random_base32()


def _with_codes(database: Database, world: World, username: str = "c1") -> pyotp.TOTP:
    with database.session() as db:
        db.execute(update(User).where(User.id == world[username].id).values(totp_secret=SECRET))
        db.commit()
    return pyotp.TOTP(SECRET)


def _code_step(database: Database, token: str, code: str) -> object:
    with database.session() as db:
        try:
            auth.complete_second_factor(
                db, token, code, address="192.0.2.1", max_attempts=5, window_minutes=15
            )
        except Exception as exc:
            db.commit()  # as the route does: the failure counts
            return type(exc).__name__
        db.commit()
        return "ok"


def _password_login(database: Database, username: str = "c1") -> str:
    with database.session() as db:
        result = auth.login(
            db,
            username,
            PASSWORD,
            address="192.0.2.1",
            session_hours=1,
            max_attempts=5,
            window_minutes=15,
        )
        db.commit()
        assert result.needs_code
        return result.token


def _wrong(totp: pyotp.TOTP) -> str:
    right = {totp.at(dt.datetime.now(dt.UTC) + dt.timedelta(seconds=s)) for s in (-30, 0, 30)}
    return next(c for c in (f"{n:06d}" for n in range(1000)) if c not in right)


def test_a_right_password_does_not_reset_the_count_of_wrong_codes(
    database: Database, world: World
) -> None:
    totp = _with_codes(database, world)
    wrong = _wrong(totp)
    outcomes = []
    for _ in range(3):  # log in with the password, guess two codes, log in again …
        token = _password_login(database)
        outcomes += [_code_step(database, token, wrong) for _ in range(2)]
    assert outcomes[:5] == ["Unauthenticated"] * 5
    assert outcomes[5] == "RateLimited"
    # locked: even the right code waits for the window to pass
    assert _code_step(database, _password_login(database), totp.now()) == "RateLimited"


def test_a_one_time_code_works_once(database: Database, world: World) -> None:
    totp = _with_codes(database, world)
    code = totp.now()
    assert _code_step(database, _password_login(database), code) == "ok"
    assert _code_step(database, _password_login(database), code) == "Unauthenticated"


def test_turning_on_one_time_codes_needs_the_password(database: Database, world: World) -> None:
    secret = pyotp.random_base32()
    with database.session() as db:
        actor = auth.actor_for(db.get(User, world["c1"].id), address="192.0.2.1")
        with pytest.raises(Invalid) as refused:
            auth.enable_totp(
                db,
                actor,
                secret,
                pyotp.TOTP(secret).now(),
                password="not my password",
                max_attempts=5,
                window_minutes=15,
            )
        assert refused.value.field == "password"
        auth.enable_totp(
            db,
            actor,
            secret,
            pyotp.TOTP(secret).now(),
            password=PASSWORD,
            max_attempts=5,
            window_minutes=15,
        )
        db.commit()
        assert db.get(User, world["c1"].id).totp_secret == secret  # type: ignore[union-attr]


def test_an_admins_password_reset_ends_the_users_sessions_and_tokens(
    api: TestClient, world: World
) -> None:
    c1 = world["c1"]
    assert api.post(LOGIN, json={"username": "c1", "password": PASSWORD}).status_code == 200
    assert api.get("/api/v1/me").status_code == 200  # the cookie works
    assert api.get("/api/v1/me", headers=c1.headers).status_code == 200  # the token works
    reset = api.patch(
        f"/api/v1/users/{c1.id}",
        json={"password": "a fresh passphrase for c1"},
        headers=world["a1"].headers,
    )
    assert reset.status_code == 200
    assert api.get("/api/v1/me").status_code == 401
    assert api.get("/api/v1/me", headers=c1.headers).status_code == 401
    relogin = api.post(LOGIN, json={"username": "c1", "password": "a fresh passphrase for c1"})
    assert relogin.status_code == 200


@pytest.mark.parametrize(
    "password", [" " * 10, "1234567890", "password12", "qwertyuiop", "c2c2c2c2c2c2"]
)
def test_easy_passwords_are_refused(api: TestClient, world: World, password: str) -> None:
    response = api.patch(
        f"/api/v1/users/{world['c2'].id}",
        json={"password": password},
        headers=world["a1"].headers,
    )
    assert response.status_code == 422
    error = response.json()["error"]
    assert error["field"] == "password"
    assert "guess" in error["message"] or "characters" in error["message"]
    assert "allowed" in error


def test_a_strong_passphrase_is_taken(api: TestClient, world: World) -> None:
    response = api.patch(
        f"/api/v1/users/{world['c2'].id}",
        json={"password": "violet tractor lagoon"},
        headers=world["a1"].headers,
    )
    assert response.status_code == 200


def test_display_names_are_bounded(api: TestClient, world: World) -> None:
    admin = world["a1"].headers
    long = "x" * 201
    for response in (
        api.patch(f"/api/v1/users/{world['c2'].id}", json={"display_name": long}, headers=admin),
        api.post(
            "/api/v1/users",
            json={"username": "newbie", "role": "clinician", "display_name": long},
            headers=admin,
        ),
    ):
        assert response.status_code == 422
        assert response.json()["error"]["field"] == "display_name"


def test_an_organizations_admin_verifies_only_their_organizations_events(
    api: TestClient, world: World, database: Database
) -> None:
    with database.session() as db:
        total = db.query(AuditEvent).count()
        own = db.query(AuditEvent).filter(AuditEvent.organization_id == world.orgs["B"]).count()
    answer = api.get("/api/v1/audit/verify", headers=world["ba"].headers).json()
    assert answer["ok"]
    assert answer["checked"] == own < total
    assert "this organization" in answer["message"]

    # a broken event of organization A is not named to organization B's admin
    with database.session() as db:
        event = db.query(AuditEvent).filter(AuditEvent.organization_id == world.orgs["A"]).first()
        assert event is not None
        where = f"{event.chain}/{event.seq}"
        event.action = "edited"
        db.commit()
    foreign = api.get("/api/v1/audit/verify", headers=world["ba"].headers).json()
    assert not foreign["ok"]
    assert foreign["first_broken"] is None
    assert where not in foreign["message"]
    mine = api.get("/api/v1/audit/verify", headers=world["a1"].headers).json()
    assert mine["first_broken"] == where
