"""Erasure and retention: after a client is erased nothing of them is in a dump of the
database, in exports or in the logs, the audit trail records the erasure and still verifies;
scores stay, de-identified, only where the organization's policy says so; a purge erases what
has passed the retention period and nothing else; the command line dry-runs by default."""

from __future__ import annotations

import datetime as dt
import io
import logging
import os
import shutil
import subprocess
import zipfile
from typing import Any

import pytest
from alembic import command
from fastapi.testclient import TestClient
from sqlalchemy import func, select, update
from sqlalchemy.engine import make_url
from typer.testing import CliRunner

from alliance.cli import app as cli
from alliance.instruments.registry import Registry
from alliance.services import audit
from alliance.services.errors import Conflict, Forbidden
from alliance.services.exchange import exports
from alliance.services.operations import erasure, retention
from alliance.services.records import clients, links
from alliance.services.records.care import record_session
from alliance.store.audit import AuditEvent
from alliance.store.migrate import alembic_config
from alliance.store.models import (
    Administration,
    Client,
    Episode,
    GoalRating,
    Organization,
    Score,
)
from tests.fixtures.database import Database, World

API = "/api/v1"
CODE = "ZQX-7731"
CONTACT = {"name": "Quentin Erasmus", "email": "q.erasmus@example.org", "phone": "+447700900731"}
NOTES = (
    "Quentin furious about the divorce",  # rupture report
    "Quentin misread question three",  # correction reason
    "Reached Quentin at his sister Flora",  # risk follow-up
    "Quentin asked to move the session",  # alert note
    "Quentin wants to visit his brother Bertram",  # a goal, in the client's words
    "Bertram answers his calls",  # what 10 would look like
)
ADDRESS = "203.0.113.77"  # the client's own network address, opening their link
PHQ = {f"item_{i}": 1 for i in range(1, 10)}


def _client_with_everything(
    api: TestClient, database: Database, world: World, reg: Registry
) -> str:
    """A client of c1 with contact details, two sessions, ratings (one corrected), a risk
    alert followed up and resolved, a rupture note and a link the client opened and answered."""
    c1 = world["c1"]
    with database.session() as db:
        client, episode = clients.register_client(
            db, c1.actor, code=CODE, contact=CONTACT, started_on=dt.date(2026, 9, 1)
        )
        first = record_session(db, c1.actor, episode.id, date=dt.date(2026, 9, 8))
        second = record_session(db, c1.actor, episode.id, date=dt.date(2026, 9, 15))
        made = links.create_link(
            db,
            c1.actor,
            reg,
            session_id=second.id,
            instruments=["srs"],
            base_url="http://t",
            hours=24,
        )
        db.commit()
        client_id, first_id, token = client.id, first.id, made.token
        episode_id = episode.id
    rated = api.post(
        f"{API}/sessions/{first_id}/administrations",
        headers=c1.headers,
        json={"instrument": "phq-9", "answers": PHQ, "idempotency_key": f"{CODE}-phq"},
    )
    assert rated.status_code == 201, rated.text
    fixed = api.post(
        f"{API}/administrations/{rated.json()['administration']['id']}/corrections",
        headers=c1.headers,
        json={"answers": {**PHQ, "item_3": 2}, "reason": NOTES[1], "idempotency_key": "fix"},
    )
    assert fixed.status_code == 201, fixed.text
    rupture = api.post(
        f"{API}/sessions/{first_id}/ruptures", headers=c1.headers, json={"note": NOTES[0]}
    )
    assert rupture.status_code == 201, rupture.text
    alerts = api.get(f"{API}/alerts", headers=c1.headers).json()
    risky = [a for a in alerts if a["rule"] == "risk_item"]
    assert (
        risky
        and api.post(
            f"{API}/alerts/{risky[0]['id']}/note", headers=c1.headers, json={"note": NOTES[3]}
        ).is_success
    )
    follow_up = {"outcome": "safety_plan", "note": NOTES[2], "resolve": True,
                 "contacted_at": "2026-09-08T15:30:00+00:00"}  # fmt: skip
    for alert in risky:
        done = api.post(f"{API}/alerts/{alert['id']}/follow-up", headers=c1.headers, json=follow_up)
        assert done.status_code == 201, done.text
    goal = api.post(
        f"{API}/episodes/{episode_id}/goals",
        headers=c1.headers,
        json={"description": NOTES[4], "target": NOTES[5], "proposed_by": "client"},
    )
    assert goal.status_code == 201, goal.text
    rated_goal = api.post(
        f"{API}/sessions/{first_id}/goal-ratings",
        headers=c1.headers,
        json={"goal_id": goal.json()["goal_id"], "value": 4},
    )
    assert rated_goal.status_code == 201, rated_goal.text
    with database.session() as db:
        links.submit_via_link(
            db, reg, token, answers={f"item_{i}": 8 for i in range(1, 5)},
            idempotency_key="srs-1", address=ADDRESS,
        )  # fmt: skip
        db.commit()
    return client_id


def _dump(database: Database) -> str:
    if database.backend == "sqlite":
        database.engine.dispose()
        raw = database.engine.raw_connection()
        try:
            return "\n".join(raw.driver_connection.iterdump())  # type: ignore[union-attr]
        finally:
            raw.close()
    url = make_url(database.url)
    schema = url.query["options"].split("=")[-1]
    env = {**os.environ, "PGPASSWORD": url.password or ""}
    done = subprocess.run(
        [
            shutil.which("pg_dump") or "pg_dump",
            f"--host={url.host}", f"--port={url.port or 5432}", f"--username={url.username}",
            f"--schema={schema}", "--data-only", url.database or "",
        ],
        capture_output=True, text=True, env=env, check=True,
    )  # fmt: skip
    return done.stdout


def _export(database: Database, world: World, reg: Registry) -> str:
    with database.session() as db:
        held = exports.export_holdings(db, world["c1"].actor, reg)
        data = exports.tables_zip(held, reg)
        db.commit()
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        return "\n".join(archive.read(name).decode() for name in archive.namelist())


def _erase(database: Database, world: World, name: str = CODE) -> erasure.Erasure:
    admin = world["a1"].actor
    with database.session() as db:
        client = erasure.client_to_erase(db, admin, name)
        done = erasure.erase_client(db, admin, client.id)
        db.commit()
    return done


def _traces(client_id: str) -> tuple[str, ...]:
    return (CODE, client_id, ADDRESS, *CONTACT.values(), *NOTES)


def _verifies(database: Database) -> None:
    with database.session() as db:
        result = audit.verify(db)
    assert result.ok, result.describe()


def test_an_erased_client_leaves_nothing_in_the_dump_exports_or_logs_and_the_trail_verifies(
    api: TestClient,
    database: Database,
    world: World,
    registry: Registry,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG)
    client_id = _client_with_everything(api, database, world, registry)
    before = _dump(database)
    assert [t for t in _traces(client_id) if t not in before] == []  # the check sees them
    assert CODE in _export(database, world, registry)
    with database.session() as db:
        point = audit.checkpoint(db)
        addressed = db.scalar(select(func.count()).where(AuditEvent.address == ADDRESS))
    assert addressed >= 2  # the link opened and answered, from the client's address

    refused = world["c1"].actor  # a clinician may not erase
    with database.session() as db, pytest.raises(Forbidden):
        erasure.erase_client(db, refused, client_id)
    done = _erase(database, world)

    assert not done.kept_scores
    assert done.removed["clients"] == 1 and done.removed["client_contacts"] == 1
    assert done.removed["administrations"] == 3 and done.removed["alerts"] >= 1
    assert done.removed["goals"] == 1 and done.removed["goal_ratings"] == 1
    assert done.redacted_events >= 10
    after = _dump(database)
    left = [trace for trace in _traces(client_id) if trace in after]
    assert left == []
    exported = _export(database, world, registry)
    assert CODE not in exported
    logged = "\n".join(r.getMessage() + str(r.__dict__) for r in caplog.records)
    assert [t for t in _traces(client_id) if t in logged] == []

    with database.session() as db:
        result = audit.verify(db, checkpoints=[point])  # a checkpoint from before still holds
        assert result.ok, result.describe()
        event = db.scalar(select(AuditEvent).where(AuditEvent.action == "erase"))
        assert event is not None and event.record_id is None
        assert event.detail["reason"] == "request" and event.detail["kept_scores"] is False
        assert len(event.detail["redacted"]) == done.redacted_events
        assert f"{event.chain}/{event.seq}" == done.audit_event
        # a redacted event edited afterwards is found (the edit must change it: PostgreSQL gives
        # the redacted events in no set order, and the first may already be an export)
        victim = db.scalar(select(AuditEvent).where(AuditEvent.redacted_by.is_not(None)).limit(1))
        assert victim is not None
        db.execute(
            update(AuditEvent)
            .where(AuditEvent.chain == victim.chain, AuditEvent.seq == victim.seq)
            .values(action=f"{victim.action}-edited")
        )
        broken = audit.verify(db)
        assert not broken.ok and broken.first_broken == f"{victim.chain}/{victim.seq}"
        assert "redacted" in (broken.problem or "")
        db.rollback()


@pytest.mark.parametrize("backend", ["sqlite"])  # the logic is the same on both
def test_an_organization_may_keep_de_identified_scores(
    api: TestClient, database: Database, world: World, registry: Registry
) -> None:
    client_id = _client_with_everything(api, database, world, registry)
    with database.session() as db:
        retention.set_policy(db, world["a1"].actor, retention_years=None, erasure_keeps_scores=True)
        db.commit()
        scores = sorted(db.scalars(select(Score.value)).all(), key=str)
        progress = db.scalars(select(GoalRating.value)).all()
    done = _erase(database, world)

    assert done.kept_scores and "administrations" not in done.removed
    assert done.removed["rupture_notes"] == 1 and done.removed["goal_texts"] == 1
    assert [t for t in _traces(client_id) if t in _dump(database)] == []
    with database.session() as db:
        assert sorted(db.scalars(select(Score.value)).all(), key=str) == scores
        assert db.scalars(select(GoalRating.value)).all() == progress == [4]
        kept = db.scalar(select(Client).where(Client.code.startswith("erased-")))
        assert kept is not None and kept.id != client_id
        episode = db.scalar(select(Episode).where(Episode.client_id == kept.id))
        assert episode is not None and episode.ended_on is not None  # closed
        keys = db.scalars(select(Administration.idempotency_key)).all()
        assert not any(CODE in key for key in keys)
        events = db.scalars(select(AuditEvent.record_id)).all()
        assert kept.id not in events  # the trail does not lead to the kept records
    _verifies(database)


@pytest.mark.parametrize("backend", ["sqlite"])  # the logic is the same on both
def test_an_open_risk_alert_blocks_the_erasure(
    api: TestClient, database: Database, world: World
) -> None:
    risk = {f"item_{i}": 0 for i in range(1, 10)} | {"item_9": 2}
    answered = api.post(
        f"{API}/sessions/{world.sessions['c1']}/administrations",
        headers=world["c1"].headers,
        json={"instrument": "phq-9", "answers": risk, "idempotency_key": "r"},
    )
    assert answered.status_code == 201
    with pytest.raises(Conflict, match="risk alert"):
        _erase(database, world, "C1-01")
    with database.session() as db:
        assert db.get(Client, world.clients["c1"]) is not None


def _age(database: Database, episode_id: str, ended: dt.date | None) -> None:
    with database.session() as db:
        _age_in(db, episode_id, ended)
        db.commit()


def _age_in(db: Any, episode_id: str, ended: dt.date | None) -> None:
    db.execute(update(Episode).where(Episode.id == episode_id).values(ended_on=ended))


def test_retention_lists_and_purges_only_what_has_passed_it(
    database: Database, world: World
) -> None:
    admin = world["a1"].actor
    today = dt.date(2036, 3, 1)
    _age(database, world.episodes["c1"], dt.date(2027, 2, 28))  # ended 9 years ago
    _age(database, world.episodes["c2"], dt.date(2029, 3, 2))  # 7 years ago less a day
    # c3's episode is still open
    with database.session() as db:
        assert retention.expired_clients(db, admin, today=today) == []  # kept until erased
        retention.set_policy(db, admin, retention_years=7, erasure_keeps_scores=False)
        db.commit()
        [expired] = retention.expired_clients(db, admin, today=today)
        assert (expired.code, expired.last_ended) == ("C1-01", dt.date(2027, 2, 28))
        done = retention.purge(db, admin, today=today)
        db.commit()
        assert [c.code for c, _ in done.erased] == ["C1-01"] and done.skipped == []
        left = set(db.scalars(select(Client.code)))
        assert left == {"C2-01", "C3-01", "B1-01"}
        event = db.scalar(select(AuditEvent).where(AuditEvent.action == "erase"))
        assert event is not None and event.detail["reason"] == "retention"
        # what an erasure keeps de-identified is not purged again and again
        retention.set_policy(db, admin, retention_years=7, erasure_keeps_scores=True)
        _age_in(db, world.episodes["c2"], dt.date(2028, 1, 1))
        [kept] = retention.purge(db, admin, today=today).erased
        db.commit()
        assert kept[0].code == "C2-01" and kept[1].kept_scores
        assert retention.expired_clients(db, admin, today=today) == []
        with pytest.raises(Exception, match="1 to 100"):
            retention.set_policy(db, admin, retention_years=0, erasure_keeps_scores=False)
    _verifies(database)


@pytest.mark.parametrize("backend", ["sqlite"])  # the logic is the same on both
def test_the_command_line_dry_runs_unless_confirmed(database: Database, world: World) -> None:
    command.stamp(alembic_config(database.engine), "head")  # built with create_all
    runner = CliRunner()
    env = {"ALLIANCE_DATABASE_URL": database.url, "COLUMNS": "200"}
    _age(database, world.episodes["c2"], dt.date(2020, 1, 1))

    def run(*args: str) -> Any:
        result = runner.invoke(cli, list(args), env=env)
        assert result.exit_code == 0, result.output
        return result.output

    assert "kept until erased" not in run("org", "retention", "Clinic A", "--years", "5")
    assert "C2-01" in run("retention", "list", "--org", "Clinic A")
    dry = run("retention", "purge", "--org", "Clinic A")
    assert "Would erase 1 client" in dry and "nothing changed" in dry
    shown = run("client", "erase", "C1-01", "--org", "Clinic A")
    assert "Would erase C1-01" in shown
    with database.session() as db:
        assert db.scalar(select(func.count()).select_from(Client)) == 4
    assert "Erased 1 client" in run("retention", "purge", "--org", "Clinic A", "--confirm")
    assert "Erased C1-01" in run("client", "erase", "C1-01", "--org", "Clinic A", "--confirm")
    with database.session() as db:
        assert set(db.scalars(select(Client.code))) == {"C3-01", "B1-01"}
        org = db.scalar(select(Organization).where(Organization.name == "Clinic A"))
        assert org is not None and org.retention_years == 5
    _verifies(database)
