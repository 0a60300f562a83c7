"""The FHIR routes: instruments as Questionnaires, and QuestionnaireResponses written by
another system (built here by hand from the FHIR specification's structure, not by our
exporter) stored for the session the caller names."""

from __future__ import annotations

import copy
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from fastapi.testclient import TestClient
from fhir.resources.R4B.questionnaire import Questionnaire
from sqlalchemy import select

from alliance.config import Settings
from alliance.instruments.registry import builtin_registry
from alliance.instruments.wording import template
from alliance.store.models import Administration
from alliance.store.models import Session as SessionRow
from alliance.web.app import create_app
from tests.fixtures.database import Database, World

API = "/api/v1"
CANONICAL = "http://testserver/api/v1/fhir/Questionnaire/gad-7"

RESPONSE: dict[str, Any] = {
    "resourceType": "QuestionnaireResponse",
    "status": "completed",
    "questionnaire": f"{CANONICAL}|1.0",
    "subject": {"identifier": {"value": "C1-01"}},
    "authored": "2026-09-08T10:30:00+01:00",
    "item": [
        {"linkId": "item_1", "answer": [{"valueCoding": {"code": "2"}}]},
        {"linkId": "item_2", "answer": [{"valueCoding": {"code": "1", "display": "x"}}]},
        {
            "linkId": "section",
            "item": [
                {"linkId": "item_3", "answer": [{"valueInteger": 3}]},
                {"linkId": "item_4", "answer": [{"valueInteger": 0}]},
            ],
        },
        {"linkId": "item_5", "answer": [{"valueInteger": 1}]},
        {"linkId": "item_6", "answer": [{"valueDecimal": 2}]},
        {"linkId": "item_7"},
    ],
}


def post(api: TestClient, world: World, who: str, resource: dict[str, Any], **params: Any) -> Any:
    return api.post(
        f"{API}/fhir/QuestionnaireResponse",
        headers={**world[who].headers, "Content-Type": "application/fhir+json"},
        params=params,
        json=resource,
    )


def test_questionnaire_for_any_logged_in_person(api: TestClient, world: World) -> None:
    for who in ("c1", "r1", "a1", "ba"):
        response = api.get(f"{API}/fhir/Questionnaire/gad-7", headers=world[who].headers)
        assert response.status_code == 200
        assert response.headers["content-type"].startswith("application/fhir+json")
    q = Questionnaire.model_validate(response.json())
    assert (q.url, q.version) == (CANONICAL, "1.0")  # the canonical URL is where it is served
    licensed = [e for e in q.extension if e.url.endswith("/licensed-wording")]
    assert licensed[0].valueBoolean is False
    assert api.get(f"{API}/fhir/Questionnaire/gad-7").status_code == 401
    missing = api.get(f"{API}/fhir/Questionnaire/gad-8", headers=world["c1"].headers)
    assert missing.status_code == 404
    assert missing.json()["issue"][0]["code"] == "not-found"
    wrong = api.get(
        f"{API}/fhir/Questionnaire/gad-7",
        params={"perspective": "observer"},
        headers=world["c1"].headers,
    )
    assert "client" in wrong.json()["issue"][0]["diagnostics"]


@pytest.fixture
def packed_api(database: Database, tmp_path: Path) -> Iterator[TestClient]:
    """The app with a French wording pack for the GAD-7 loaded."""
    folder = tmp_path / "wording"
    folder.mkdir()
    data = yaml.safe_load(template(builtin_registry().get("gad-7"), "fr"))
    data["source"] = "Test pack (not a real translation)"
    data["title"] = "Questionnaire test"
    data["items"] = {k: f"Texte {k}" for k in data["items"]}
    data["options"] = {k: f"Choix {k}" for k in data["options"]}
    (folder / "gad-7-fr.yaml").write_text(yaml.safe_dump(data, allow_unicode=True), "utf-8")
    settings = Settings(
        database_url=database.url,
        base_url="http://testserver",
        wording_dir=folder,
    )
    with TestClient(create_app(settings, engine=database.engine)) as client:
        yield client


def test_questionnaire_in_the_sites_wording(packed_api: TestClient, world: World) -> None:
    headers = world["c1"].headers
    french = packed_api.get(
        f"{API}/fhir/Questionnaire/gad-7", params={"language": "fr"}, headers=headers
    ).json()
    assert (french["language"], french["item"][0]["text"]) == ("fr", "Texte item_1")
    project = packed_api.get(f"{API}/fhir/Questionnaire/gad-7", headers=headers).json()
    assert project["item"][0]["text"] != "Texte item_1"
    other = packed_api.get(
        f"{API}/fhir/Questionnaire/gad-7", params={"language": "de"}, headers=headers
    ).json()
    assert other["item"][0]["text"] == project["item"][0]["text"]  # falls back, and says so


def stored(database: Database, response: Any) -> Administration:
    with database.session() as db:
        row = db.get(Administration, response.json()["id"])
        assert row is not None
        db.expunge(row)
        return row


def test_a_response_for_a_named_session(api: TestClient, world: World, database: Database) -> None:
    session = world.sessions["c1"]
    first = post(api, world, "c1", RESPONSE, session_id=session)
    assert first.status_code == 201, first.text
    body = first.json()  # the stored response, as the FHIR interface reads it
    assert body["resourceType"] == "QuestionnaireResponse"
    base = "http://testserver/api/v1/fhir"
    assert first.headers["location"] == f"{base}/QuestionnaireResponse/{body['id']}/_history/1"
    assert first.headers["etag"] == 'W/"1"'
    assert first.headers["content-type"].startswith("application/fhir+json")
    row = stored(database, first)
    assert row.answers == {
        "item_1": 2,
        "item_2": 1,
        "item_3": 3,
        "item_4": 0,
        "item_5": 1,
        "item_6": 2,
        "item_7": None,
    }
    assert all(isinstance(v, int) for v in row.answers.values() if v is not None)
    again = post(api, world, "c1", RESPONSE, session_id=session)
    assert (again.status_code, again.json()["id"]) == (200, body["id"])  # stored once
    assert "location" not in again.headers
    by_encounter = {**copy.deepcopy(RESPONSE), "encounter": {"reference": f"Encounter/{session}"}}
    assert post(api, world, "c1", by_encounter).status_code == 200
    # conditional create: the identifier of a stored response returns it, creating nothing
    ours = body["identifier"]
    other = {**copy.deepcopy(RESPONSE), "authored": "2026-09-20"}
    condition = f"identifier={ours['system']}|{ours['value']}"
    found = api.post(
        f"{API}/fhir/QuestionnaireResponse",
        headers={**world["c1"].headers, "If-None-Exist": condition},
        params={"session": 3},
        json=other,
    )
    assert (found.status_code, found.json()["id"]) == (200, body["id"])
    with database.session() as db:
        rows = db.scalars(select(Administration)).all()
        assert [(r.source, r.session_id) for r in rows] == [("api", session)]


def test_a_response_for_a_client_and_a_session_number(
    api: TestClient, world: World, database: Database
) -> None:
    later = {**copy.deepcopy(RESPONSE), "authored": "2026-09-15"}
    created = post(api, world, "c1", later, session=2)
    assert created.status_code == 201, created.text
    with database.session() as db:
        session = db.get(SessionRow, stored(database, created).session_id)
        assert session is not None
        assert (session.number, session.date.isoformat(), session.episode_id) == (
            2,
            "2026-09-15",
            world.episodes["c1"],
        )
    existing = post(api, world, "c1", RESPONSE, session=1, episode="E1", client="C1-01")
    assert stored(database, existing).session_id == world.sessions["c1"]
    no_episode = post(api, world, "c1", RESPONSE, session=1, episode="E4")
    assert no_episode.status_code == 404
    assert no_episode.json()["resourceType"] == "OperationOutcome"


def test_a_bad_response_names_every_problem(api: TestClient, world: World) -> None:
    bad = copy.deepcopy(RESPONSE)
    bad["item"][0]["answer"] = [{"valueCoding": {"code": "7"}}]
    bad["item"][2]["item"][0]["linkId"] = "item_99"
    response = post(api, world, "c1", bad, session_id=world.sessions["c1"])
    assert response.status_code == 422
    outcome = response.json()  # an OperationOutcome: the error, then one issue per problem
    assert outcome["resourceType"] == "OperationOutcome"
    assert outcome["issue"][0]["details"]["text"] == "import_rejected"
    assert [(i["expression"], i["diagnostics"]) for i in outcome["issue"][1:]] == [
        (
            ["item[0].answer[0]"],
            "QuestionnaireResponse: not an allowed value (allowed: 0, 1, 2, 3)",
        ),
        (
            ["item[2].item[0].linkId"],
            "QuestionnaireResponse: not an item of gad-7 "
            "(allowed: item_1 … item_7 or the LOINC question codes of gad-7)",
        ),
    ]
    foreign = {**copy.deepcopy(RESPONSE), "questionnaire": "https://elsewhere.example/Q/gad-7"}
    problems = post(api, world, "c1", foreign, session_id=world.sessions["c1"]).json()
    assert problems["issue"][1]["diagnostics"].endswith(
        "(allowed: http://testserver/api/v1/fhir/Questionnaire/<instrument>|<version>, or "
        "http://loinc.org/q/<LOINC panel> of gad-7, phq-9)"
    )
    nobody = {k: v for k, v in RESPONSE.items() if k != "subject"}
    assert post(api, world, "c1", nobody).json()["issue"][0]["expression"] == ["subject"]


def test_only_the_clients_clinicians_post_responses(api: TestClient, world: World) -> None:
    session = world.sessions["c1"]
    assert post(api, world, "r1", RESPONSE, session_id=session).status_code == 403
    assert post(api, world, "a1", RESPONSE, session_id=session).status_code == 403
    for who in ("c2", "s1", "b1"):
        assert post(api, world, who, RESPONSE, session_id=session).status_code == 404
        assert post(api, world, who, RESPONSE, session=1).status_code == 404
