"""The audit trail: every read and write of client data is recorded, chained by hash, and
``alliance audit verify`` finds the first broken event."""

from __future__ import annotations

import itertools
import json
from pathlib import Path

import pytest
from alembic import command
from fastapi.testclient import TestClient
from sqlalchemy import delete, select, update
from typer.testing import CliRunner

from alliance.cli import app
from alliance.services import audit
from alliance.services.context import Actor
from alliance.store.audit import AuditEvent, AuditHead
from alliance.store.migrate import alembic_config
from tests.fixtures.database import Database, World


def events(database: Database) -> list[AuditEvent]:
    with database.session() as db:
        return list(
            db.scalars(select(AuditEvent).order_by(AuditEvent.at, AuditEvent.chain, AuditEvent.seq))
        )


def longest_chain(database: Database) -> list[AuditEvent]:
    rows = events(database)
    chains = {
        c: sorted((r for r in rows if r.chain == c), key=lambda r: r.seq)
        for c in {r.chain for r in rows}
    }
    return max(chains.values(), key=len)


def test_reads_and_writes_of_client_data_are_recorded(
    api: TestClient, world: World, database: Database
) -> None:
    before = {(e.chain, e.seq) for e in events(database)}
    c1 = world["c1"]
    client_id = world.clients["c1"]
    assert api.get(f"/api/v1/clients/{client_id}/timeline", headers=c1.headers).status_code == 200
    response = api.post(
        f"/api/v1/sessions/{world.sessions['c1']}/administrations",
        headers=c1.headers,
        json={
            "instrument": "gad-7",
            "idempotency_key": "a",
            "answers": {f"item_{i}": 1 for i in range(1, 8)},
        },
    )
    assert response.status_code == 201
    new = [e for e in events(database) if (e.chain, e.seq) not in before]
    assert [(e.action, e.record_type, e.record_id) for e in new] == [
        ("read", "timeline", client_id),
        ("create", "administration", response.json()["administration"]["id"]),
    ]
    assert {e.actor_id for e in new} == {c1.id}
    assert {e.actor_kind for e in new} == {"token"}
    assert all(e.address for e in new)


def test_refused_reads_leave_no_data_but_the_chain_stays_whole(
    api: TestClient, world: World, database: Database
) -> None:
    response = api.get(f"/api/v1/clients/{world.clients['c3']}", headers=world["c1"].headers)
    assert response.status_code == 404
    with database.session() as db:
        assert audit.verify(db).ok


def test_chains_link_every_event(world: World, database: Database) -> None:
    rows = events(database)
    assert len(rows) > 20
    for chain in {r.chain for r in rows}:
        links = sorted((r for r in rows if r.chain == chain), key=lambda r: r.seq)
        assert [r.seq for r in links] == list(range(1, len(links) + 1))
        assert all(b.prev_hash == a.hash for a, b in itertools.pairwise(links))
    with database.session() as db:
        result = audit.verify(db)
    assert result.ok
    assert result.checked == len(rows)


def test_verify_names_an_edited_event(world: World, database: Database) -> None:
    target = longest_chain(database)[1]
    with database.session() as db:
        db.execute(
            update(AuditEvent)
            .where(AuditEvent.chain == target.chain, AuditEvent.seq == target.seq)
            .values(action="read")
        )
        db.commit()
        result = audit.verify(db)
    assert not result.ok
    assert result.first_broken == f"{target.chain}/{target.seq}"
    assert "edited" in str(result.problem)


def test_verify_names_a_deleted_event(world: World, database: Database) -> None:
    target = longest_chain(database)[0]
    with database.session() as db:
        db.execute(
            delete(AuditEvent).where(AuditEvent.chain == target.chain, AuditEvent.seq == target.seq)
        )
        db.commit()
        result = audit.verify(db)
    assert not result.ok
    assert result.first_broken == f"{target.chain}/1"
    assert "missing" in str(result.problem)


def test_verify_notices_events_cut_from_the_end(world: World, database: Database) -> None:
    last = longest_chain(database)[-1]
    with database.session() as db:
        db.execute(
            delete(AuditEvent).where(AuditEvent.chain == last.chain, AuditEvent.seq == last.seq)
        )
        db.commit()
        result = audit.verify(db)
    assert not result.ok
    assert "deleted from the end" in str(result.problem)


def test_rehashing_an_edited_event_still_breaks_the_next_link(
    world: World, database: Database
) -> None:
    chain = longest_chain(database)
    assert len(chain) >= 2
    target = chain[0]
    fields = {
        c: getattr(target, c)
        for c in (
            "chain",
            "seq",
            "at",
            "organization_id",
            "actor_kind",
            "actor_id",
            "record_type",
            "record_id",
            "address",
            "detail",
            "prev_hash",
        )
    }
    fields["action"] = "forged"
    with database.session() as db:
        db.execute(
            update(AuditEvent)
            .where(AuditEvent.chain == target.chain, AuditEvent.seq == target.seq)
            .values(action="forged", hash=audit.event_hash(fields))
        )
        db.commit()
        result = audit.verify(db)
    assert result.first_broken == f"{target.chain}/{target.seq + 1}"
    assert "link" in str(result.problem)


def test_cli_audit_verify_detects_an_edited_event(world: World, database: Database) -> None:
    command.stamp(alembic_config(database.engine), "head")  # built with create_all
    runner = CliRunner()
    result = runner.invoke(app, ["audit", "verify", "--database", database.url])
    assert result.exit_code == 0, result.stderr
    assert "audit trail intact" in result.stdout
    target = longest_chain(database)[2]
    with database.session() as db:
        db.execute(
            update(AuditEvent)
            .where(AuditEvent.chain == target.chain, AuditEvent.seq == target.seq)
            .values(record_id="x")
        )
        db.commit()
    result = runner.invoke(app, ["audit", "verify", "--database", database.url])
    assert result.exit_code == 1
    assert f"BROKEN at event {target.chain}/{target.seq}" in result.stderr


KEY = b"an operator's key kept apart"


def cut_last_events(database: Database, count: int) -> AuditEvent:
    """Delete the last ``count`` events of the longest chain and roll its head back, as
    someone with write access to the database could; return the new last event."""
    chain = longest_chain(database)
    assert len(chain) > count
    kept = chain[-count - 1]
    with database.session() as db:
        db.execute(
            delete(AuditEvent).where(AuditEvent.chain == kept.chain, AuditEvent.seq > kept.seq)
        )
        db.execute(
            update(AuditHead)
            .where(AuditHead.id == kept.chain)
            .values(last_seq=kept.seq, last_hash=kept.hash)
        )
        db.commit()
    return kept


def test_a_checkpoint_notices_events_cut_from_the_end_with_the_head_rolled_back(
    world: World, database: Database
) -> None:
    with database.session() as db:
        point = audit.checkpoint(db, key=KEY)
    kept = cut_last_events(database, 2)
    with database.session() as db:
        assert audit.verify(db).ok  # the chains alone cannot tell
        result = audit.verify(db, checkpoints=[audit.Checkpoint.parse(point.text())], key=KEY)
    assert not result.ok
    assert result.first_broken == f"{kept.chain}/{kept.seq + 1}"
    assert "deleted from the end and the head rolled back" in str(result.problem)


def test_a_checkpoint_notices_cut_events_replaced_by_new_ones(
    world: World, database: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Cutting the last event and appending a new one gives the chain back its length, not
    its events."""
    with database.session() as db:
        point = audit.checkpoint(db)
    kept = cut_last_events(database, 1)
    monkeypatch.setattr(audit.random, "randrange", lambda n: kept.chain)
    with database.session() as db:
        audit.record(db, Actor.system(), "read", "nothing")
        db.commit()
        assert audit.verify(db).ok
        result = audit.verify(db, checkpoints=[point])
    assert not result.ok
    assert "were replaced" in str(result.problem)


def test_a_checkpoint_holds_while_the_trail_grows_and_its_signature_is_checked(
    world: World, database: Database
) -> None:
    with database.session() as db:
        point = audit.checkpoint(db, key=KEY)
        audit.record(db, Actor.system(), "read", "nothing")
        db.commit()
        later = audit.verify(db, checkpoints=[point], key=KEY)
        assert later.ok and later.checkpoints == 1
        shorter = [max(n - 1, 0) for n in point.lengths]
        forged = audit.Checkpoint.parse(
            point.text().replace(
                json.dumps(list(point.lengths), separators=(",", ":")),
                json.dumps(shorter, separators=(",", ":")),
            )
        )
        assert forged.lengths != point.lengths
        refused = audit.verify(db, checkpoints=[forged], key=KEY)
        assert not refused.ok and "does not match its signature" in str(refused.problem)
        assert "signature" in str(audit.verify(db, checkpoints=[point], key=b"x" * 16).problem)
        assert "give the key" in str(audit.verify(db, checkpoints=[point]).problem)


def test_cli_checkpoint_then_verify_against_it(
    world: World, database: Database, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    command.stamp(alembic_config(database.engine), "head")  # built with create_all
    key_file = tmp_path / "audit.key"
    key_file.write_text(KEY.decode(), encoding="utf-8")
    monkeypatch.setenv("ALLIANCE_AUDIT_KEY_FILE", str(key_file))
    runner = CliRunner()
    made = runner.invoke(app, ["audit", "checkpoint", "--database", database.url])
    assert made.exit_code == 0, made.stderr
    kept = tmp_path / "checkpoints.txt"
    kept.write_text(made.stdout, encoding="utf-8")
    assert '"hmac_sha256":' in made.stdout and len(made.stdout.splitlines()) == 1
    verify = ["audit", "verify", "--against", str(kept), "--database", database.url]
    result = runner.invoke(app, verify)
    assert result.exit_code == 0, result.stderr
    assert "holds the events of 1 checkpoint(s)" in " ".join(result.stdout.split())
    cut_last_events(database, 1)
    assert runner.invoke(app, ["audit", "verify", "--database", database.url]).exit_code == 0
    result = runner.invoke(app, verify)
    assert result.exit_code == 1
    assert "BROKEN" in result.stderr and "rolled back" in " ".join(result.stderr.split())
