"""Upgrades that migrate: a database made and filled by the code of every schema revision
main has been at (``tests/data/upgrades``, made by ``scripts/upgrade_fixtures.py`` from the
commits it names) is upgraded by ``alliance init`` to the head and still holds its data,
verifies its audit trail and takes new ratings."""

from __future__ import annotations

import datetime as dt
import gzip
import json
import sqlite3
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select
from typer.testing import CliRunner

from alliance.cli import app as cli
from alliance.instruments.registry import Registry
from alliance.services import audit
from alliance.services.context import Actor
from alliance.services.records.administrations import submit_administration
from alliance.services.records.care import record_session
from alliance.store import migrate
from alliance.store.audit import AuditEvent
from alliance.store.engine import make_engine, session_factory
from alliance.store.models import (
    Administration,
    Client,
    ClientContact,
    Episode,
    RuptureReport,
    Score,
    User,
)

FIXTURES = Path(__file__).parents[1] / "data" / "upgrades"
INDEX: dict[str, dict[str, Any]] = json.loads((FIXTURES / "index.json").read_text())
REFUSED = {"0001-first-day"}  # 0001 as it was before it was edited in place (one chain)


def _load(name: str, tmp_path: Path) -> str:
    path = tmp_path / f"{name}.sqlite3"
    with sqlite3.connect(path) as connection:
        connection.executescript(
            gzip.decompress((FIXTURES / f"{name}.sql.gz").read_bytes()).decode()
        )
    return f"sqlite:///{path}"


def _init(url: str) -> tuple[int, str]:
    result = CliRunner().invoke(cli, ["init", "--database", url], env={"COLUMNS": "200"})
    return result.exit_code, result.output


def test_every_revision_main_has_been_at_has_a_fixture() -> None:
    """A new migration needs a fixture of the revision before it (scripts/upgrade_fixtures.py)."""
    held = {entry["revision"] for entry in INDEX.values()}
    assert migrate.known_revisions() - {migrate.head_revision()} <= held
    assert set(migrate.RENUMBERED) <= held


@pytest.mark.parametrize("name", sorted(set(INDEX) - REFUSED))
def test_a_database_of_an_earlier_revision_upgrades_with_its_data(
    name: str, tmp_path: Path, registry: Registry
) -> None:
    made = INDEX[name]
    url = _load(name, tmp_path)
    code, said = _init(url)
    assert code == 0, said
    assert f"migrated (schema {migrate.head_revision()})" in said
    engine = make_engine(url)
    try:
        sessions = session_factory(engine)
        audit.install(sessions)
        with sessions() as db:
            counts = made["counts"]
            assert set(db.scalars(select(Client.code))) == {"FX-01", "FX-02"}
            contact = db.scalar(select(ClientContact))
            assert contact is not None and contact.name == "Fixture Person"
            assert (
                db.scalar(select(func.count()).select_from(Administration))
                == (counts["administrations"])
            )
            assert db.scalar(select(func.count()).select_from(Score)) == counts["scores"]
            assert (
                db.scalar(select(func.count()).select_from(AuditEvent)) == (counts["audit_events"])
            )
            corrected = db.scalar(
                select(Administration).where(Administration.supersedes_id.is_not(None))
            )
            assert corrected is not None and corrected.correction_reason == "typed wrong"
            replaced = db.get(Administration, corrected.supersedes_id)
            assert replaced is not None and replaced.superseded_at is not None
            assert replaced.answers["item_2"] == 1 and corrected.answers["item_2"] == 3
            assert db.scalar(select(RuptureReport.note)) == "went quiet"
            ended = db.scalar(select(Episode.ended_on).where(Episode.ended_on.is_not(None)))
            assert ended == dt.date(2026, 3, 1)
            result = audit.verify(db)
            assert result.ok, result.describe()

            # the upgraded database takes new work, audited
            clinician = db.scalar(select(User).where(User.username == "c1"))
            assert clinician is not None
            actor = Actor(
                kind="user",
                user_id=clinician.id,
                organization_id=clinician.organization_id,
                role="clinician",
                team_id=clinician.team_id,
            )
            episode = db.scalar(select(Episode).where(Episode.ended_on.is_(None)))
            assert episode is not None
            session = record_session(db, actor, episode.id, date=dt.date(2026, 12, 1))
            submit_administration(
                db, actor, registry, session_id=session.id, instrument="gad-7",
                answers={f"item_{i}": 0 for i in range(1, 8)}, idempotency_key="after-upgrade",
            )  # fmt: skip
            db.commit()
            after = audit.verify(db)
            assert after.ok and after.checked > result.checked
    finally:
        engine.dispose()


def test_a_database_of_the_first_days_0001_is_refused_with_the_differences(
    tmp_path: Path,
) -> None:
    code, said = _init(_load("0001-first-day", tmp_path))
    assert code == 1
    assert "Do not serve it" in said or "cannot initialise" in said
