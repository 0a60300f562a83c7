"""Clients, episodes, sessions, ruptures, the timeline and the caseload over the API."""

from __future__ import annotations

from fastapi.testclient import TestClient

from tests.fixtures.database import World

API = "/api/v1"


def test_register_client_with_first_episode(api: TestClient, world: World) -> None:
    c1 = world["c1"].headers
    response = api.post(
        f"{API}/clients",
        headers=c1,
        json={
            "code": "K-007",
            "started_on": "2026-10-01",
            "contact": {"name": "A. Person", "email": "a@example.org"},
        },
    )
    assert response.status_code == 201
    body = response.json()
    assert body["client"]["code"] == "K-007"
    assert body["client"]["clinician_id"] == world["c1"].id
    assert body["episode"]["started_on"] == "2026-10-01"
    assert "contact" not in body["client"]  # identifying data is kept apart
    contact = api.get(f"{API}/clients/{body['client']['id']}/contact", headers=c1).json()
    assert contact == {"name": "A. Person", "email": "a@example.org", "phone": None}
    assert api.get(f"{API}/clients/by-code/K-007", headers=c1).json()["id"] == body["client"]["id"]


def test_client_code_rules(api: TestClient, world: World) -> None:
    c1 = world["c1"].headers
    duplicate = api.post(f"{API}/clients", headers=c1, json={"code": "C1-01"})
    assert duplicate.status_code == 409
    assert duplicate.json()["error"]["field"] == "code"
    bad = api.post(f"{API}/clients", headers=c1, json={"code": "Jane Doe"})
    assert bad.status_code == 422
    assert bad.json()["error"] == {
        "code": "invalid",
        "field": "code",
        "value": "Jane Doe",
        "message": "a client code is 1–64 letters, digits, '.', '_' or '-' (a pseudonym, not a "
        "name)",
    }
    # the same code in another organization is a different client
    other = api.post(f"{API}/clients", headers=world["b1"].headers, json={"code": "K-1"})
    mine = api.post(f"{API}/clients", headers=c1, json={"code": "K-1"})
    assert other.status_code == mine.status_code == 201


def test_supervisor_assigns_within_their_team_only(api: TestClient, world: World) -> None:
    s1 = world["s1"].headers
    ok = api.post(
        f"{API}/clients", headers=s1, json={"code": "S-1", "clinician_id": world["c2"].id}
    )
    assert ok.status_code == 201
    assert ok.json()["client"]["clinician_id"] == world["c2"].id
    other_team = api.post(
        f"{API}/clients", headers=s1, json={"code": "S-2", "clinician_id": world["c3"].id}
    )
    assert other_team.status_code == 422
    clinician = api.post(
        f"{API}/clients",
        headers=world["c1"].headers,
        json={"code": "S-3", "clinician_id": world["c2"].id},
    )
    assert clinician.status_code == 422


def test_dates_of_care_are_checked(api: TestClient, world: World) -> None:
    """A date outside 1900–2199 is a typing error (2206 for 2026), refused wherever a date of
    care is entered."""
    c1 = world["c1"].headers
    allowed = "a date YYYY-MM-DD from 1900-01-01 to 2199-12-31"
    for path, body, field in [
        (f"{API}/clients", {"code": "K-8", "started_on": "2206-10-01"}, "started_on"),
        (f"{API}/episodes/{world.episodes['c1']}/sessions", {"date": "2206-09-15"}, "date"),
        (
            f"{API}/episodes/{world.episodes['c1']}/close",
            {"end_reason": "completed", "ended_on": "2206-11-01"},
            "ended_on",
        ),
    ]:
        response = api.post(path, headers=c1, json=body)
        assert response.status_code == 422, path
        error = response.json()["error"]
        assert (error["field"], error["value"], error["allowed"]) == (
            field,
            body[field],
            allowed,
        )
    reopen = api.post(
        f"{API}/clients/{world.clients['c1']}/episodes",
        headers=c1,
        json={"started_on": "1899-12-31"},
    )
    assert reopen.status_code == 422 and reopen.json()["error"]["field"] == "started_on"
    kept = api.post(
        f"{API}/episodes/{world.episodes['c1']}/sessions", headers=c1, json={"date": "2199-12-31"}
    )
    assert kept.status_code == 201


def test_episodes_and_sessions(api: TestClient, world: World) -> None:
    c1 = world["c1"].headers
    episode = world.episodes["c1"]
    second = api.post(f"{API}/episodes/{episode}/sessions", headers=c1, json={"date": "2026-09-15"})
    assert second.status_code == 201
    assert second.json()["number"] == 2
    taken = api.post(
        f"{API}/episodes/{episode}/sessions", headers=c1, json={"date": "2026-09-20", "number": 2}
    )
    assert taken.status_code == 409
    early = api.post(f"{API}/episodes/{episode}/sessions", headers=c1, json={"date": "2026-01-01"})
    assert early.status_code == 422
    assert early.json()["error"]["field"] == "date"
    missed = api.post(
        f"{API}/episodes/{episode}/sessions",
        headers=c1,
        json={"date": "2026-09-22", "attended": False},
    )
    assert missed.json()["number"] == 3

    reopen = api.post(
        f"{API}/clients/{world.clients['c1']}/episodes",
        headers=c1,
        json={"started_on": "2026-12-01"},
    )
    assert reopen.status_code == 409
    bad_reason = api.post(
        f"{API}/episodes/{episode}/close",
        headers=c1,
        json={"end_reason": "bored", "ended_on": "2026-11-01"},
    )
    assert bad_reason.status_code == 422
    assert "dropped_out" in bad_reason.json()["error"]["allowed"]
    closed = api.post(
        f"{API}/episodes/{episode}/close",
        headers=c1,
        json={"end_reason": "dropped_out", "ended_on": "2026-11-01"},
    )
    assert closed.json()["end_reason"] == "dropped_out"
    after = api.post(f"{API}/episodes/{episode}/sessions", headers=c1, json={"date": "2026-11-05"})
    assert after.status_code == 409
    new = api.post(
        f"{API}/clients/{world.clients['c1']}/episodes",
        headers=c1,
        json={"started_on": "2026-12-01"},
    )
    assert new.status_code == 201


def test_timeline_holds_everything(api: TestClient, world: World) -> None:
    c1 = world["c1"].headers
    session = world.sessions["c1"]
    answers = {f"item_{i}": 4 for i in range(1, 13)}
    api.post(
        f"{API}/sessions/{session}/administrations",
        headers=c1,
        json={"instrument": "wai-sr", "answers": answers, "idempotency_key": "t1"},
    )
    api.post(
        f"{API}/sessions/{session}/administrations",
        headers=c1,
        json={
            "instrument": "wai-sr",
            "perspective": "clinician",
            "stance": "prediction",
            "answers": {f"item_{i}": 5 for i in range(1, 13)},
            "idempotency_key": "t2",
        },
    )
    api.post(f"{API}/sessions/{session}/ruptures", headers=c1, json={"note": "went quiet"})
    body = api.get(f"{API}/clients/{world.clients['c1']}/timeline", headers=c1).json()
    assert body["client"]["code"] == "C1-01"
    assert body["clinician"]["username"] == "c1"
    [episode] = body["episodes"]
    [sess] = episode["sessions"]
    assert sess["session"]["number"] == 1
    totals = {
        (a["administration"]["stance"], s["scale"]): s["value"]
        for a in sess["administrations"]
        for s in a["scores"]
    }
    assert totals[("self", "total")] == 48
    assert totals[("prediction", "total")] == 60
    assert sess["ruptures"][0]["note"] == "went quiet"


def test_caseload_puts_urgent_risk_first(api: TestClient, world: World) -> None:
    c1 = world["c1"].headers
    second = api.post(
        f"{API}/clients", headers=c1, json={"code": "Z-LAST", "started_on": "2026-10-01"}
    ).json()
    session = api.post(
        f"{API}/episodes/{second['episode']['id']}/sessions",
        headers=c1,
        json={"date": "2026-11-02"},
    ).json()["id"]
    risky = {f"item_{i}": 0 for i in range(1, 10)} | {"item_9": 2}
    api.post(
        f"{API}/sessions/{session}/administrations",
        headers=c1,
        json={"instrument": "phq-9", "answers": risky, "idempotency_key": "r"},
    )
    rows = api.get(f"{API}/clients", headers=c1).json()["data"]
    assert [r["code"] for r in rows] == ["Z-LAST", "C1-01"]
    assert rows[0]["alerts"] == {"urgent": 1}
    assert rows[0]["completion"] == 1.0
    assert rows[1]["completion"] == 0.0


def test_supervisor_team_view(api: TestClient, world: World) -> None:
    own = api.get(f"{API}/clients", headers=world["s1"].headers).json()
    assert own["count"] == 0
    team = api.get(f"{API}/clients?scope=team", headers=world["s1"].headers).json()
    assert sorted(r["code"] for r in team["data"]) == ["C1-01", "C2-01"]
    refused = api.get(f"{API}/clients?scope=team", headers=world["c1"].headers)
    assert refused.status_code == 422
