"""Fixtures for store, service and API tests: a fresh database per test — a SQLite file
always, and a PostgreSQL schema too when ALLIANCE_TEST_DATABASE_URL is set."""

from __future__ import annotations

import functools
import os
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, text
from sqlalchemy.orm import Session

from alliance.config import Settings
from alliance.services import audit, auth, clients, people
from alliance.services.care import record_session
from alliance.services.context import Actor
from alliance.store import alerts as _alerts  # noqa: F401 - register tables
from alliance.store import models as _models  # noqa: F401
from alliance.store import security as _security  # noqa: F401
from alliance.store.audit import CHAINS, GENESIS, AuditHead
from alliance.store.base import Base
from alliance.store.engine import make_engine, session_factory
from alliance.web.app import create_app

PG_URL = os.environ.get("ALLIANCE_TEST_DATABASE_URL")
BACKENDS = [
    "sqlite",
    pytest.param(
        "postgresql",
        marks=pytest.mark.skipif(not PG_URL, reason="ALLIANCE_TEST_DATABASE_URL is not set"),
    ),
]


def fresh_database(backend: str, tmp_path: Path) -> tuple[str, Engine, str | None]:
    """An empty database of ``backend``; for PostgreSQL a new schema (returned for clean-up)."""
    if backend == "sqlite":
        url = f"sqlite:///{tmp_path / 'alliance.sqlite3'}"
        return url, make_engine(url), None
    if PG_URL is None:
        raise RuntimeError("PostgreSQL requested without ALLIANCE_TEST_DATABASE_URL")
    schema = f"t_{uuid.uuid4().hex[:12]}"
    admin = make_engine(PG_URL)
    with admin.begin() as connection:
        connection.execute(text(f'CREATE SCHEMA "{schema}"'))
    admin.dispose()
    url = f"{PG_URL}{'&' if '?' in PG_URL else '?'}options=-csearch_path%3D{schema}"
    return url, make_engine(url), schema


def drop_schema(schema: str) -> None:
    if PG_URL is None:
        return
    admin = make_engine(PG_URL)
    with admin.begin() as connection:
        connection.execute(text(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'))
    admin.dispose()


@pytest.fixture(params=BACKENDS)
def backend(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@dataclass
class Database:
    url: str
    engine: Engine
    backend: str

    def __post_init__(self) -> None:
        self._factory = session_factory(self.engine)
        audit.install(self._factory)

    def session(self) -> Session:
        return self._factory()


@pytest.fixture
def empty_database(backend: str, tmp_path: Path) -> Iterator[Database]:
    """A database with no tables (for migration tests)."""
    url, engine, schema = fresh_database(backend, tmp_path)
    yield Database(url, engine, backend)
    engine.dispose()
    if schema:
        drop_schema(schema)


@pytest.fixture
def database(backend: str, tmp_path: Path) -> Iterator[Database]:
    """A database with the current schema (tests only: create_all, not migrations)."""
    url, engine, schema = fresh_database(backend, tmp_path)
    Base.metadata.create_all(engine)
    with engine.begin() as connection:
        connection.execute(
            AuditHead.__table__.insert(),
            [{"id": chain, "last_seq": 0, "last_hash": GENESIS} for chain in range(CHAINS)],
        )
    yield Database(url, engine, backend)
    engine.dispose()
    if schema:
        drop_schema(schema)


@dataclass
class Person:
    username: str
    id: str
    token: str
    actor: Actor

    @property
    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"}


@dataclass
class World:
    """Two organizations. In A: team North (clinicians c1, c2 and supervisor s1), team South
    (clinician c3), a researcher and an admin. In B: clinician b1 and an admin. Each
    clinician has one client with one session."""

    people: dict[str, Person] = field(default_factory=dict)
    orgs: dict[str, str] = field(default_factory=dict)
    teams: dict[str, str] = field(default_factory=dict)
    clients: dict[str, str] = field(default_factory=dict)  # by clinician username
    episodes: dict[str, str] = field(default_factory=dict)
    sessions: dict[str, str] = field(default_factory=dict)

    def __getitem__(self, username: str) -> Person:
        return self.people[username]


PASSWORD = "correct horse battery"


@functools.cache
def password_hash() -> str:
    """argon2 is slow on purpose; hash the test password once per test run."""
    return auth.hash_password(PASSWORD)


def build_world(db: Session) -> World:
    import datetime as dt

    world = World()
    for org_name, tag in (("Clinic A", "A"), ("Clinic B", "B")):
        world.orgs[tag] = people.create_organization(db, Actor.system(), org_name).id
    spec = [
        ("A", "North", "c1", "clinician"),
        ("A", "North", "c2", "clinician"),
        ("A", "North", "s1", "supervisor"),
        ("A", "South", "c3", "clinician"),
        ("A", None, "r1", "researcher"),
        ("A", None, "a1", "admin"),
        ("B", "East", "b1", "clinician"),
        ("B", None, "ba", "admin"),
    ]
    for tag, team, username, role in spec:
        system = Actor.system(world.orgs[tag])
        team_id = None
        if team:
            if team not in world.teams:
                world.teams[team] = people.create_team(db, system, team).id
            team_id = world.teams[team]
        user = people.create_user(
            db, system, username=username, role=role, password=None, team_id=team_id
        )
        if username in ("c1", "a1"):
            user.password_hash = password_hash()
        actor = auth.actor_for(user)
        _, raw = auth.create_api_token(db, actor, "tests")
        world.people[username] = Person(username, user.id, raw, auth.actor_for(user, kind="token"))
    for username in ("c1", "c2", "c3", "b1"):
        actor = world[username].actor
        client, episode = clients.register_client(
            db, actor, code=f"{username.upper()}-01", started_on=dt.date(2026, 9, 1)
        )
        session = record_session(db, actor, episode.id, date=dt.date(2026, 9, 8))
        world.clients[username] = client.id
        world.episodes[username] = episode.id
        world.sessions[username] = session.id
    db.commit()
    return world


@pytest.fixture
def world(database: Database) -> World:
    with database.session() as db:
        return build_world(db)


@pytest.fixture
def settings(database: Database) -> Settings:
    return Settings(
        database_url=database.url, secret_key="test-secret", base_url="http://testserver"
    )


@pytest.fixture
def api(settings: Settings, database: Database) -> Iterator[TestClient]:
    app = create_app(settings, engine=database.engine)
    with TestClient(app) as client:
        yield client


@pytest.fixture
def second_database(backend: str, tmp_path: Path) -> Iterator[Database]:
    """Another empty database of the same backend, holding organization "Clinic A" with
    users c1, c2 (clinicians) and s1 (supervisor) of team North — for round trips."""
    folder = tmp_path / "second"
    folder.mkdir()
    url, engine, schema = fresh_database(backend, folder)
    Base.metadata.create_all(engine)
    with engine.begin() as connection:
        connection.execute(
            AuditHead.__table__.insert(),
            [{"id": chain, "last_seq": 0, "last_hash": GENESIS} for chain in range(CHAINS)],
        )
    database = Database(url, engine, backend)
    with database.session() as db:
        org = people.create_organization(db, Actor.system(), "Clinic A")
        system = Actor.system(org.id)
        team = people.create_team(db, system, "North")
        for username, role in (("c1", "clinician"), ("c2", "clinician"), ("s1", "supervisor")):
            people.create_user(
                db, system, username=username, role=role, password=None, team_id=team.id
            )
        db.commit()
    yield database
    engine.dispose()
    if schema:
        drop_schema(schema)
