"""Every route × every role × own / other team / other organization.

The world (see conftest) has, in organization A, team North (clinicians c1 and c2, supervisor
s1), team South (clinician c3), researcher r1 and admin a1; in organization B, clinician b1 and
admin ba. The target records belong to c1. A record that is not visible answers exactly like
one that does not exist (404); a role that may not use a route at all gets 403.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pytest
from fastapi.testclient import TestClient

from alliance.learning.bank import builtin_bank
from tests.fixtures.database import World

API = "/api/v1"
EVERYONE = ("c2", "c3", "s1", "r1", "a1", "b1", "ba", "c1")  # the owner acts last
GAD = {f"item_{i}": 1 for i in range(1, 8)}


@dataclass(frozen=True)
class Route:
    name: str
    method: str
    path: Callable[[World, dict[str, Any]], str]
    expected: dict[str, int]
    body: Callable[[World, str], dict[str, Any]] | None = None
    setup: Callable[[TestClient, World], dict[str, Any]] | None = None
    files: Callable[[World, str], dict[str, Any]] | None = None


def only(owner: int, **others: int) -> dict[str, int]:
    """``owner`` for c1, 404 for everyone else unless given."""
    return {name: others.get(name, 404) for name in EVERYONE if name != "c1"} | {"c1": owner}


def _administration(api: TestClient, world: World) -> dict[str, Any]:
    response = api.post(
        f"{API}/sessions/{world.sessions['c1']}/administrations",
        headers=world["c1"].headers,
        json={
            "instrument": "phq-9",
            "idempotency_key": "setup",
            "answers": {f"item_{i}": 0 for i in range(1, 10)} | {"item_9": 1},
        },
    )
    assert response.status_code == 201
    alert = api.get(f"{API}/alerts", headers=world["c1"].headers).json()[0]
    return {"administration": response.json()["administration"]["id"], "alert": alert["id"]}


CLINICAL = {"c1": 200, "c2": 200, "c3": 200, "s1": 200, "b1": 200, "r1": 403, "a1": 403, "ba": 403}


def _quiz_result(api: TestClient, world: World) -> dict[str, Any]:
    response = api.post(
        f"{API}/learning/quiz/results",
        headers=world["c1"].headers,
        json=_answers("c1"),
    )
    assert response.status_code == 201
    return {"result": response.json()["id"]}


def _answers(who: str) -> dict[str, Any]:
    return {
        "bank_version": builtin_bank().version,
        "seed": 1,
        "questions": 2,
        "answers": [None, 0],
        "idempotency_key": f"q-{who}",
    }


def _studies(api: TestClient, world: World) -> dict[str, Any]:
    """A study of the same name in each organization."""
    for admin in ("a1", "ba"):
        made = api.post(f"{API}/studies", headers=world[admin].headers, json={"name": "Main study"})
        assert made.status_code == 201
    return {}


CLINICAL_200 = {"c1": 200, "c2": 200, "c3": 200, "s1": 200, "b1": 200}
NOT_CLINICAL_403 = {"r1": 403, "a1": 403, "ba": 403}
RESPONSE = {
    "resourceType": "QuestionnaireResponse",
    "status": "completed",
    "questionnaire": "http://testserver/api/v1/fhir/Questionnaire/gad-7|1.0",
    "authored": "2026-09-08",
    "item": [{"linkId": f"item_{i}", "answer": [{"valueInteger": 1}]} for i in range(1, 8)],
}
IMPORT = (
    "client,episode,session,date,instrument,version,perspective,"
    + ",".join(f"item_{i}" for i in range(1, 8))
    + "\nC1-01,E1,1,2026-09-08,gad-7,1.0,client,"
    + ",".join(["2"] * 7)
    + "\n"
)

ROUTES = [
    Route("read client", "GET", lambda w, s: f"{API}/clients/{w.clients['c1']}", only(200, s1=200)),
    Route(
        "read timeline",
        "GET",
        lambda w, s: f"{API}/clients/{w.clients['c1']}/timeline",
        only(200, s1=200),
    ),
    Route("find by code", "GET", lambda w, s: f"{API}/clients/by-code/C1-01", only(200, s1=200)),
    Route(
        "read contact", "GET", lambda w, s: f"{API}/clients/{w.clients['c1']}/contact", only(200)
    ),
    Route(
        "write contact",
        "PUT",
        lambda w, s: f"{API}/clients/{w.clients['c1']}/contact",
        only(200),
        body=lambda w, who: {"phone": "0123"},
    ),
    Route(
        "open episode",
        "POST",
        lambda w, s: f"{API}/clients/{w.clients['c1']}/episodes",
        only(409),
        body=lambda w, who: {"started_on": "2026-10-01"},
    ),
    Route(
        "record session",
        "POST",
        lambda w, s: f"{API}/episodes/{w.episodes['c1']}/sessions",
        only(201),
        body=lambda w, who: {"date": "2026-09-20"},
    ),
    Route(
        "close episode",
        "POST",
        lambda w, s: f"{API}/episodes/{w.episodes['c1']}/close",
        only(200),
        body=lambda w, who: {"end_reason": "completed", "ended_on": "2026-10-01"},
    ),
    Route(
        "submit",
        "POST",
        lambda w, s: f"{API}/sessions/{w.sessions['c1']}/administrations",
        only(201),
        body=lambda w, who: {"instrument": "gad-7", "answers": GAD, "idempotency_key": f"m-{who}"},
    ),
    Route(
        "correct",
        "POST",
        lambda w, s: f"{API}/administrations/{s['administration']}/corrections",
        only(201),
        setup=_administration,
        body=lambda w, who: {
            "answers": {f"item_{i}": 0 for i in range(1, 10)},
            "reason": "r",
            "idempotency_key": f"c-{who}",
        },
    ),
    Route(
        "report rupture",
        "POST",
        lambda w, s: f"{API}/sessions/{w.sessions['c1']}/ruptures",
        only(201),
        body=lambda w, who: {"note": "n"},
    ),
    Route(
        "create link",
        "POST",
        lambda w, s: f"{API}/sessions/{w.sessions['c1']}/links",
        only(201),
        body=lambda w, who: {"instrument": "wai-sr"},
    ),
    Route(
        "list links",
        "GET",
        lambda w, s: f"{API}/sessions/{w.sessions['c1']}/links",
        only(200, s1=200),
    ),
    Route(
        "acknowledge alert",
        "POST",
        lambda w, s: f"{API}/alerts/{s['alert']}/acknowledge",
        only(200, s1=200) | {"s1": 200, "c1": 409},
        setup=_administration,
        body=lambda w, who: {},
    ),
    Route(
        "record a risk alert's follow-up",
        "POST",
        lambda w, s: f"{API}/alerts/{s['alert']}/follow-up",
        only(201, s1=201),
        setup=_administration,
        body=lambda w, who: {"outcome": "not_reached", "note": f"tried by {who}", "attempts": 1},
    ),
    Route(
        "risk routing",
        "GET",
        lambda w, s: f"{API}/organization/risk-routing",
        {"a1": 200, "ba": 200, "c1": 403, "c2": 403, "c3": 403, "s1": 403, "r1": 403, "b1": 403},
    ),
    Route(
        "set risk routing",
        "PUT",
        lambda w, s: f"{API}/organization/risk-routing",
        {"a1": 200, "ba": 200, "c1": 403, "c2": 403, "c3": 403, "s1": 403, "r1": 403, "b1": 403},
        body=lambda w, who: {"duty_email": f"duty-{who}@example.org"},
    ),
    Route(
        "alert history",
        "GET",
        lambda w, s: f"{API}/alerts/{s['alert']}/history",
        only(200, s1=200),
        setup=_administration,
    ),
    Route(
        "caseload",
        "GET",
        lambda w, s: f"{API}/clients",
        {"c1": 200, "c2": 200, "c3": 200, "s1": 200, "b1": 200, "r1": 403, "a1": 403, "ba": 403},
    ),
    Route(
        "a team member's caseload (the supervisor's read-only view)",
        "GET",
        lambda w, s: f"{API}/clients?clinician={w['c1'].id}",
        {"s1": 200, "c1": 403, "c2": 403, "c3": 403, "b1": 403, "r1": 403, "a1": 403, "ba": 403},
    ),
    Route(
        "another team's clinician's caseload",
        "GET",
        lambda w, s: f"{API}/clients?clinician={w['c3'].id}",
        {"s1": 404, "c1": 403, "c2": 403, "c3": 403, "b1": 403, "r1": 403, "a1": 403, "ba": 403},
    ),
    Route(
        "register client",
        "POST",
        lambda w, s: f"{API}/clients",
        {"c1": 201, "c2": 201, "c3": 201, "s1": 201, "b1": 201, "r1": 403, "a1": 403, "ba": 403},
        body=lambda w, who: {"code": f"NEW-{who}"},
    ),
    Route(
        "list users",
        "GET",
        lambda w, s: f"{API}/users",
        {"a1": 200, "ba": 200, "s1": 200, "c1": 403, "c2": 403, "c3": 403, "r1": 403, "b1": 403},
    ),
    Route(
        "create team",
        "POST",
        lambda w, s: f"{API}/teams",
        {"a1": 201, "ba": 201, "s1": 403, "c1": 403, "c2": 403, "c3": 403, "r1": 403, "b1": 403},
        body=lambda w, who: {"name": f"Team {who}"},
    ),
    Route(
        "update user",
        "PATCH",
        lambda w, s: f"{API}/users/{w['c2'].id}",
        {"a1": 200, "ba": 404, "s1": 403, "c1": 403, "c2": 403, "c3": 403, "r1": 403, "b1": 403},
        body=lambda w, who: {"display_name": f"by {who}"},
    ),
    Route("my calibration", "GET", lambda w, s: f"{API}/learning/calibration", CLINICAL),
    Route(
        "a team member's calibration (not shared by default)",
        "GET",
        lambda w, s: f"{API}/learning/calibration/{w['c1'].id}",
        only(200, s1=403, r1=403, a1=403, ba=403),
    ),
    Route(
        "learning settings",
        "GET",
        lambda w, s: f"{API}/organization/learning",
        dict.fromkeys(EVERYONE, 200),
    ),
    Route(
        "change learning settings",
        "PUT",
        lambda w, s: f"{API}/organization/learning",
        {"a1": 200, "ba": 200, "s1": 403, "c1": 403, "c2": 403, "c3": 403, "r1": 403, "b1": 403},
        body=lambda w, who: {"supervisors_see_calibration": False},
    ),
    Route("quiz topics", "GET", lambda w, s: f"{API}/learning/quiz/topics", CLINICAL),
    Route(
        "draw a quiz",
        "POST",
        lambda w, s: f"{API}/learning/quiz",
        CLINICAL,
        body=lambda w, who: {"questions": 3},
    ),
    Route(
        "send quiz answers",
        "POST",
        lambda w, s: f"{API}/learning/quiz/results",
        {k: 201 if v == 200 else v for k, v in CLINICAL.items()},
        body=lambda w, who: _answers(who),
    ),
    Route("my quiz results", "GET", lambda w, s: f"{API}/learning/quiz/results", CLINICAL),
    Route(
        "read a quiz result (only its taker)",
        "GET",
        lambda w, s: f"{API}/learning/quiz/results/{s['result']}",
        only(200, r1=403, a1=403, ba=403),
        setup=_quiz_result,
    ),
    Route(
        "verify audit",
        "GET",
        lambda w, s: f"{API}/audit/verify",
        {"a1": 200, "ba": 200, "s1": 403, "c1": 403, "c2": 403, "c3": 403, "r1": 403, "b1": 403},
    ),
    Route(
        "client's FHIR bundle",
        "GET",
        lambda w, s: f"{API}/clients/{w.clients['c1']}/fhir",
        only(200, s1=200, r1=403, a1=403, ba=403),
    ),
    Route(
        "export tables",
        "GET",
        lambda w, s: f"{API}/exports/tables",
        CLINICAL_200 | NOT_CLINICAL_403,
    ),
    Route(
        "research export",
        "POST",
        lambda w, s: f"{API}/exports/research",
        CLINICAL_200 | {"r1": 200, "a1": 403, "ba": 403},
        setup=_studies,
        body=lambda w, who: {"study": "Main study"},
    ),
    Route(
        "list studies",
        "GET",
        lambda w, s: f"{API}/studies",
        CLINICAL_200 | {"r1": 200, "a1": 200, "ba": 200},
    ),
    Route(
        "create a study (admins only)",
        "POST",
        lambda w, s: f"{API}/studies",
        {"a1": 201, "ba": 201} | dict.fromkeys(("c1", "c2", "c3", "s1", "r1", "b1"), 403),
        body=lambda w, who: {"name": f"Study of {who}", "date_mode": "days", "k": 3},
    ),
    Route(
        "import a file",
        "POST",
        lambda w, s: f"{API}/imports",
        # C1-01 is c1's, seen but not changed by s1; to those who cannot see it (c2, c3, and
        # b1 in organization B) the code is free: a new client of their own
        {"c1": 200, "c2": 200, "c3": 200, "s1": 422, "b1": 200} | NOT_CLINICAL_403,
        files=lambda w, who: {"file": ("visits.csv", IMPORT.encode())},
    ),
    Route(
        "FHIR Questionnaire",
        "GET",
        lambda w, s: f"{API}/fhir/Questionnaire/wai-sr",
        CLINICAL_200 | {"r1": 200, "a1": 200, "ba": 200},
    ),
    Route(
        "FHIR QuestionnaireResponse",
        "POST",
        lambda w, s: f"{API}/fhir/QuestionnaireResponse?session_id={w.sessions['c1']}",
        only(201, r1=403, a1=403, ba=403),
        body=lambda w, who: RESPONSE,
    ),
]


@pytest.mark.parametrize("route", ROUTES, ids=lambda r: r.name)
def test_route_by_role(api: TestClient, world: World, route: Route) -> None:
    state = route.setup(api, world) if route.setup else {}
    got = {}
    for who in EVERYONE:
        if who not in route.expected:
            continue
        response = api.request(
            route.method,
            route.path(world, state),
            headers=world[who].headers,
            json=route.body(world, who) if route.body else None,
            files=route.files(world, who) if route.files else None,
        )
        got[who] = response.status_code
        if response.status_code == 404:  # the FHIR interface answers an OperationOutcome
            body = response.json()
            found = body["error"]["code"] if "error" in body else body["issue"][0]["code"]
            assert found in ("not_found", "not-found")
    assert got == route.expected


def test_lists_leak_nothing_across_teams_or_organizations(api: TestClient, world: World) -> None:
    _administration(api, world)
    for who, codes in {"c1": ["C1-01"], "c2": ["C2-01"], "c3": ["C3-01"], "b1": ["B1-01"]}.items():
        rows = api.get(f"{API}/clients", headers=world[who].headers).json()["data"]
        assert [r["code"] for r in rows] == codes
    for who in ("c2", "c3", "r1", "a1", "b1", "ba"):
        assert api.get(f"{API}/alerts", headers=world[who].headers).json() == []
    assert len(api.get(f"{API}/alerts", headers=world["s1"].headers).json()) == 1
    b_users = api.get(f"{API}/users", headers=world["ba"].headers).json()["data"]
    assert sorted(u["username"] for u in b_users) == ["b1", "ba"]


def test_a_foreign_record_and_a_missing_one_answer_alike(api: TestClient, world: World) -> None:
    foreign = api.get(f"{API}/clients/{world.clients['b1']}", headers=world["c1"].headers)
    missing = api.get(
        f"{API}/clients/00000000-0000-0000-0000-000000000000", headers=world["c1"].headers
    )
    assert foreign.status_code == missing.status_code == 404
    assert foreign.json()["error"].keys() == missing.json()["error"].keys()
