"""The caseload's status columns (alliance and its trend, outcome against its track, the
rating due), its search and filters, its order, and a supervisor's read-only caseload of one
clinician of the team (checked and audited)."""

from __future__ import annotations

import pandas as pd
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from alliance.analytics.expected import TABLE_COLUMNS, ExpectedTrajectory
from alliance.instruments.registry import Registry
from alliance.services.errors import Forbidden, Invalid, NotFound
from alliance.services.monitoring.alerting import raise_alert
from alliance.services.monitoring.caseload_status import caseload_with_status, client_statuses
from alliance.services.records.clients import register_client
from alliance.services.records.timeline import caseload
from alliance.store.audit import AuditEvent
from tests.fixtures.database import Database, World

API = "/api/v1"


def rate(api: TestClient, world: World, session: str, instrument: str, answers: dict) -> None:
    response = api.post(
        f"{API}/sessions/{session}/administrations",
        headers=world["c1"].headers,
        json={
            "instrument": instrument,
            "answers": answers,
            "idempotency_key": f"{session}{instrument}",
        },
    )
    assert response.status_code == 201, response.text


def new_session(api: TestClient, world: World, day: int) -> str:
    response = api.post(
        f"{API}/episodes/{world.episodes['c1']}/sessions",
        headers=world["c1"].headers,
        json={"date": f"2026-09-{day:02d}"},
    )
    assert response.status_code == 201, response.text
    return str(response.json()["id"])


def phq9(level: int) -> dict[str, int]:
    return {f"item_{i}": level for i in range(1, 9)} | {"item_9": 0}


def band(instrument: str, upper: float) -> ExpectedTrajectory:
    """Any intake, sessions 1–10: expected 10, on track from 0 to ``upper``."""
    rows = [
        (instrument, "total", 0, 0.0, 100.0, s, 10.0, 0.0, upper, 3.0, 50) for s in range(1, 11)
    ]
    return ExpectedTrajectory.from_frame(pd.DataFrame(rows, columns=list(TABLE_COLUMNS)))


def test_status_columns(
    api: TestClient, world: World, database: Database, registry: Registry
) -> None:
    sessions = [world.sessions["c1"], new_session(api, world, 15), new_session(api, world, 22)]
    for session, level in zip(sessions, (5, 4, 3), strict=True):  # WAI-SR 60, 48, 36
        rate(api, world, session, "wai-sr", {f"item_{i}": level for i in range(1, 13)})
    rate(api, world, sessions[0], "phq-9", phq9(1))  # 8
    rate(api, world, sessions[2], "phq-9", phq9(2))  # 16
    new_session(api, world, 29)  # attended, not rated yet
    with database.session() as db:
        rows = caseload(db, world["c1"].actor)
        [status] = client_statuses(db, registry, rows, band("phq-9", 12.0)).values()
        assert (status.alliance.instrument, status.alliance.value) == ("wai-sr", 36.0)
        assert status.alliance.trend == "down" and status.alliance.worse
        assert status.alliance.trend_text() == "down from 48 (worse)"
        assert (status.outcome, status.outcome_instrument) == ("off track", "phq-9")
        assert status.due_session == 4 and str(status.due_date) == "2026-09-29"
        [on] = client_statuses(db, registry, rows, band("phq-9", 20.0)).values()
        assert on.outcome == "on track"
        [unknown] = client_statuses(db, registry, rows, None).values()
        assert unknown.outcome == "not enough data"


def test_search_filters_and_order(
    api: TestClient, world: World, database: Database, registry: Registry
) -> None:
    with database.session() as db:
        actor = world["c1"].actor
        for code in ("AB-7", "ab-8", "ZZ_1"):
            register_client(db, actor, code=code)
        db.commit()
        by_code = {r.code: r for r in caseload(db, actor)}
        for code, rule, priority in (
            ("ZZ_1", "reported_rupture", "high"),
            ("ab-8", "risk_item", "urgent"),
            ("ab-8", "drop_from_baseline", "medium"),
        ):
            raise_alert(
                db, organization_id=world.orgs["A"], client_id=by_code[code].client_id,
                episode_id=None, session_id=None, key=f"{code}:{rule}", rule=rule,
                priority=priority, reason="test", next_steps=[], numbers={}, provenance=None,
            )  # fmt: skip
        db.commit()
        view = caseload_with_status(db, actor, registry)
        assert [e.row.code for e in view.entries] == ["ab-8", "ZZ_1", "C1-01", "AB-7"]
        assert list(view.entries[0].row.alerts) == ["urgent", "medium"]  # urgent first
        assert [e.row.code for e in view.urgent] == ["ab-8"]
        found = caseload_with_status(db, actor, registry, search="Ab-")
        assert [e.row.code for e in found.entries] == ["ab-8", "AB-7"]  # any case
        underscore = caseload_with_status(db, actor, registry, search="_")
        assert [e.row.code for e in underscore.entries] == ["ZZ_1"]  # not a wildcard
        alerts = caseload_with_status(db, actor, registry, show="alerts")
        assert [e.row.code for e in alerts.entries] == ["ab-8", "ZZ_1"] and alerts.found == 4
        due = caseload_with_status(db, actor, registry, show="due")
        assert [e.row.code for e in due.entries] == ["C1-01"]  # its session 1 has no rating
        with pytest.raises(Invalid, match="unknown filter"):
            caseload_with_status(db, actor, registry, show="everything")


def test_a_supervisor_reads_one_clinicians_caseload(
    world: World, database: Database, registry: Registry
) -> None:
    with database.session() as db:
        view = caseload_with_status(
            db, world["s1"].actor, registry, scope="team", clinician_id=world["c1"].id
        )
        assert [e.row.code for e in view.entries] == ["C1-01"]
        for who in ("c3", "b1"):  # another team, another organization
            with pytest.raises(NotFound):
                caseload(db, world["s1"].actor, scope="team", clinician_id=world[who].id)
        with pytest.raises(Forbidden):  # a clinician reads no colleague's caseload
            caseload(db, world["c1"].actor, scope="team", clinician_id=world["c2"].id)
        db.commit()
        events = db.scalars(select(AuditEvent).where(AuditEvent.record_type == "caseload")).all()
        assert any((e.detail or {}).get("clinician") == world["c1"].id for e in events)


def test_ratings_between_the_first_and_last_sessions_are_found(
    api: TestClient, world: World, database: Database, registry: Registry
) -> None:
    """The caseload reads an episode's first two and last four sessions first; ratings that
    lie only between (here the PHQ-9 at sessions 3–4 and the WAI-SR at 2–3 of 8) are read
    too, so the columns are the same as from every rating."""
    sessions = [world.sessions["c1"], *(new_session(api, world, 8 + n) for n in range(2, 9))]
    rate(api, world, sessions[1], "wai-sr", {f"item_{i}": 5 for i in range(1, 13)})  # 60
    rate(api, world, sessions[2], "wai-sr", {f"item_{i}": 4 for i in range(1, 13)})  # 48
    rate(api, world, sessions[2], "phq-9", phq9(1))  # 8
    rate(api, world, sessions[3], "phq-9", phq9(2))  # 16
    with database.session() as db:
        rows = caseload(db, world["c1"].actor)
        [status] = client_statuses(db, registry, rows, band("phq-9", 12.0)).values()
    assert (status.alliance.value, status.alliance.previous) == (48.0, 60.0)
    assert (status.outcome, status.outcome_instrument) == ("off track", "phq-9")
    assert status.due_session == 8
