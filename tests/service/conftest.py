"""Store, service and API tests use the database fixtures of ``tests.fixtures.database``
(registered in the root conftest)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from alliance.services.accounts import people
from alliance.services.context import Actor
from alliance.store.audit import CHAINS, GENESIS, AuditHead
from alliance.store.base import Base
from tests.fixtures.database import Database, drop_schema, fresh_database


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
