"""One current rating per session, instrument, perspective, stance and rater, on every path:
a second rating becomes a correction that supersedes the first (both kept, audited); a link
for a session already rated is refused with the way to correct the rating."""

from __future__ import annotations

import copy
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from alliance.services.errors import NotFound
from alliance.services.records.corrections import administration_for
from alliance.store.alerts import Alert, AlertEvent
from alliance.store.audit import AuditEvent
from alliance.store.models import Administration
from tests.fixtures.database import Database, World
from tests.service.test_fhir_api import RESPONSE
from tests.service.test_fhir_api import post as post_fhir

API = "/api/v1"


def wai(level: int) -> dict[str, int]:
    return {f"item_{i}": level for i in range(1, 13)}


def submit(api: TestClient, world: World, body: dict[str, Any], who: str = "c1") -> Any:
    return api.post(
        f"{API}/sessions/{world.sessions[who]}/administrations",
        headers=world[who].headers,
        json=body,
    )


def current(database: Database, **where: str) -> list[Administration]:
    """The current administrations (no correction replaced them) matching ``where``."""
    with database.session() as db:
        replaced = select(Administration.supersedes_id).where(
            Administration.supersedes_id.is_not(None)
        )
        query = select(Administration).where(Administration.id.not_in(replaced))
        for column, value in where.items():
            query = query.where(getattr(Administration, column) == value)
        return list(db.scalars(query.order_by(Administration.entered_at)))


def test_a_second_api_submission_corrects_the_first(
    api: TestClient, world: World, database: Database
) -> None:
    first = submit(api, world, {"instrument": "wai-sr", "answers": wai(2), "idempotency_key": "a"})
    second = submit(api, world, {"instrument": "wai-sr", "answers": wai(5), "idempotency_key": "b"})
    assert (first.status_code, second.status_code) == (201, 201)
    original = first.json()["administration"]["id"]
    assert second.json()["administration"]["supersedes_id"] == original
    [kept] = current(database, instrument="wai-sr")
    assert kept.id == second.json()["administration"]["id"]
    assert kept.correction_reason and "second" in kept.correction_reason
    with database.session() as db:
        assert db.scalar(select(func.count()).select_from(Administration)) == 2  # both kept
        events = list(db.scalars(select(AuditEvent.action).where(AuditEvent.record_id == kept.id)))
    assert "correct" in events
    # the same key again is still a resubmission, not a third rating
    again = submit(api, world, {"instrument": "wai-sr", "answers": wai(5), "idempotency_key": "b"})
    assert (again.status_code, again.json()["created"]) == (201, False)
    # other raters and forms stand beside it: a prediction, another instrument
    prediction = {"instrument": "wai-sr", "perspective": "clinician", "stance": "prediction"}
    assert (
        submit(api, world, {**prediction, "answers": wai(4), "idempotency_key": "p"}).json()[
            "administration"
        ]["supersedes_id"]
        is None
    )
    assert len(current(database)) == 2
    # an explicit correction of the replaced rating is refused: the latest is the one to correct
    stale = api.post(
        f"{API}/administrations/{original}/corrections",
        headers=world["c1"].headers,
        json={"answers": wai(3), "reason": "typo", "idempotency_key": "c"},
    )
    assert stale.status_code == 409
    assert "correct the latest version" in stale.json()["error"]["message"]
    # only those who may change the client open a rating to correct it (the page's look-up)
    with database.session() as db:
        found, session, client = administration_for(db, world["c1"].actor, kept.id)
        assert (found.id, session.id, client.id) == (
            kept.id, world.sessions["c1"], world.clients["c1"]
        )  # fmt: skip
        for who in ("c2", "s1", "r1", "a1", "b1"):  # the supervisor reads, but does not write
            with pytest.raises(NotFound):
                administration_for(db, world[who].actor, kept.id)


def test_a_link_for_a_rated_session_is_refused_with_the_way_to_correct(
    api: TestClient, world: World, database: Database
) -> None:
    session = world.sessions["c1"]
    headers = world["c1"].headers
    early = api.post(
        f"{API}/sessions/{session}/links", headers=headers, json={"instrument": "wai-sr"}
    )
    assert early.status_code == 201
    rated = submit(api, world, {"instrument": "wai-sr", "answers": wai(2), "idempotency_key": "a"})
    rated_id = rated.json()["administration"]["id"]
    refused = api.post(
        f"{API}/sessions/{session}/links", headers=headers, json={"instrument": "wai-sr"}
    )
    assert refused.status_code == 409
    error = refused.json()["error"]
    assert "already" in error["message"] and "correct" in error["message"]
    assert f"/administrations/{rated_id}/corrections" in error["allowed"]
    # another instrument of the same session may still be asked
    other = api.post(f"{API}/sessions/{session}/links", headers=headers, json={"instrument": "srs"})
    assert other.status_code == 201
    # a link made before the session was rated: the client's answers correct the rating
    answered = api.post(
        f"{API}/links/{early.json()['token']}",
        json={"answers": wai(5), "idempotency_key": "form-1"},
    )
    assert answered.status_code == 201, answered.text
    assert answered.json()["administration"]["supersedes_id"] == rated_id
    [kept] = current(database, instrument="wai-sr")
    assert kept.id == answered.json()["administration"]["id"]


def test_an_imported_row_for_a_rated_session_corrects_the_rating(
    api: TestClient, world: World, database: Database
) -> None:
    gad = {f"item_{i}": 1 for i in range(1, 8)}
    rated = submit(api, world, {"instrument": "gad-7", "answers": gad, "idempotency_key": "a"})
    header = "client,episode,session,date,instrument,version,perspective,stance,clinician"
    items = ",".join(f"item_{i}" for i in range(1, 8))
    row = "C1-01,E1,1,2026-09-08,gad-7,1.0,client,self,c1,2,2,2,2,2,2,2"
    content = f"{header},{items}\n{row}\n".encode()
    response = api.post(
        f"{API}/imports", headers=world["c1"].headers, files={"file": ("f.csv", content)}
    )
    assert response.status_code == 200, response.text
    assert (response.json()["stored"], response.json()["corrected"]) == (1, 1)
    [kept] = current(database, instrument="gad-7")
    assert kept.supersedes_id == rated.json()["administration"]["id"]
    assert kept.answers["item_1"] == 2
    # the same file again stores nothing; a file that rates one session twice is refused
    again = api.post(
        f"{API}/imports", headers=world["c1"].headers, files={"file": ("f.csv", content)}
    )
    assert (again.json()["stored"], again.json()["already_stored"]) == (0, 1)
    twice = f"{header},{items}\n{row}\n{row.replace(',2,2,2,2,2,2,2', ',3,3,3,3,3,3,3')}\n"
    refused = api.post(
        f"{API}/imports", headers=world["c1"].headers, files={"file": ("f.csv", twice.encode())}
    )
    assert refused.status_code == 422
    [problem] = refused.json()["error"]["problems"]
    assert problem["line"] == 3 and "line 2" in problem["problem"]
    assert len(current(database, instrument="gad-7")) == 1


def test_a_second_fhir_response_for_a_session_corrects_the_first(
    api: TestClient, world: World, database: Database
) -> None:
    session = world.sessions["c1"]
    first = post_fhir(api, world, "c1", RESPONSE, session_id=session)
    assert first.status_code == 201, first.text
    changed = copy.deepcopy(RESPONSE)
    changed["item"][0]["answer"] = [{"valueCoding": {"code": "0"}}]
    second = post_fhir(api, world, "c1", changed, session_id=session)
    assert second.status_code == 201, second.text
    assert second.json()["id"] != first.json()["id"]  # the stored QuestionnaireResponses
    with database.session() as db:
        corrected = db.get(Administration, second.json()["id"])
        assert corrected is not None and corrected.supersedes_id == first.json()["id"]
    assert [a.id for a in current(database, instrument="gad-7")] == [second.json()["id"]]


def open_alerts(database: Database, client_id: str) -> dict[str, str]:
    """The client's unresolved alerts: key → rule."""
    with database.session() as db:
        rows = db.execute(
            select(Alert.key, Alert.rule).where(
                Alert.client_id == client_id, Alert.state != "resolved"
            )
        ).all()
    return dict(rows)


def rated_sessions(api: TestClient, world: World, levels: list[int]) -> list[str]:
    """Sessions 1 … n of c1's client, each rated by the client at ``levels``."""
    sessions = [world.sessions["c1"]]
    for n in range(2, len(levels) + 1):
        made = api.post(
            f"{API}/episodes/{world.episodes['c1']}/sessions",
            headers=world["c1"].headers,
            json={"date": f"2026-09-{7 + n:02d}"},
        )
        sessions.append(made.json()["id"])
    for n, (session, level) in enumerate(zip(sessions, levels, strict=True), start=1):
        response = api.post(
            f"{API}/sessions/{session}/administrations",
            headers=world["c1"].headers,
            json={"instrument": "wai-sr", "answers": wai(level), "idempotency_key": f"s{n}"},
        )
        assert response.status_code == 201, response.text
    return sessions


def test_a_corrected_drop_closes_its_alert_and_opens_no_repair(
    api: TestClient, world: World, database: Database
) -> None:
    """The client's 24 at session 4 was a slip for 60: once corrected, the drop it raised is
    closed by the system (its history says why), and the correction is no repair."""
    sessions = rated_sessions(api, world, [5, 5, 5, 2])
    client = world.clients["c1"]
    drops = {k: r for k, r in open_alerts(database, client).items() if "drop" in r}
    assert drops and all(k.endswith(":4") for k in drops)
    corrected = api.post(
        f"{API}/sessions/{sessions[3]}/administrations",
        headers=world["c1"].headers,
        json={"instrument": "wai-sr", "answers": wai(5), "idempotency_key": "s4-again"},
    )
    assert corrected.json()["administration"]["supersedes_id"] is not None
    still = open_alerts(database, client)
    assert not set(drops) & set(still), still
    assert "repair" not in still.values()
    with database.session() as db:
        closed = db.scalars(
            select(AlertEvent.note)
            .join(Alert, Alert.id == AlertEvent.alert_id)
            .where(Alert.key.in_(list(drops)), AlertEvent.action == "resolve")
        ).all()
    assert len(closed) == len(drops)
    assert all(note and "corrected" in note for note in closed)


def test_a_correction_never_removes_an_urgent_risk_alert(
    api: TestClient, world: World, database: Database
) -> None:
    risky = {f"item_{i}": 1 for i in range(1, 10)} | {"item_9": 2, "item_10": 1}
    first = submit(api, world, {"instrument": "phq-9", "answers": risky, "idempotency_key": "r"})
    assert first.json()["risk_items"] == ["item_9"]
    calm = risky | {"item_9": 0}
    second = submit(api, world, {"instrument": "phq-9", "answers": calm, "idempotency_key": "q"})
    assert second.json()["administration"]["supersedes_id"] == first.json()["administration"]["id"]
    fixed = api.post(
        f"{API}/administrations/{second.json()['administration']['id']}/corrections",
        headers=world["c1"].headers,
        json={"answers": calm | {"item_1": 0}, "reason": "typo", "idempotency_key": "q2"},
    )
    assert fixed.status_code == 201
    alerts = open_alerts(database, world.clients["c1"])
    assert alerts.get(f"risk:{first.json()['administration']['id']}") == "risk_item"
    with database.session() as db:
        risk = db.scalar(select(Alert).where(Alert.rule == "risk_item"))
        assert risk is not None and (risk.state, risk.priority) == ("open", "urgent")
