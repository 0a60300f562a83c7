"""Patient matching by the EHR's identifier (system + value) on every import path: the
FHIR API, a FHIR file and a table imported into the database. The EHR's PHQ-9 response
(tests/data/ehr-phq9-response.json) names its patient only by an MRN."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy import select

from alliance.store.alerts import Alert
from alliance.store.audit import AuditEvent
from alliance.store.models import Administration, Client
from tests.fixtures.database import Database, World

API = "/api/v1"
EHR_PHQ9 = json.loads((Path(__file__).parents[1] / "data" / "ehr-phq9-response.json").read_text())
MRN = {"system": "urn:oid:1.2.3.4.5.1", "value": "MRN-000123"}
TOKEN = f"{MRN['system']}|{MRN['value']}"
BASE = "http://testserver/api/v1/fhir"


def add_mrn(api: TestClient, world: World, who: str = "c1", **body: Any) -> Any:
    return api.post(
        f"{API}/clients/{world.clients[who]}/identifiers",
        headers=world[who].headers,
        json={**MRN, **body},
    )


def test_identifiers_are_the_clients_own_clinicians(api: TestClient, world: World) -> None:
    assert add_mrn(api, world).status_code == 201
    assert add_mrn(api, world).status_code == 201  # the same again: nothing new
    listed = api.get(
        f"{API}/clients/{world.clients['c1']}/identifiers", headers=world["c1"].headers
    )
    assert listed.json() == [MRN]
    taken = add_mrn(api, world, "c2")  # another client, same organization
    assert (taken.status_code, taken.json()["error"]["code"]) == (409, "conflict")
    for who in ("c3", "r1", "b1"):  # another team, a researcher, another organization
        answer = api.get(
            f"{API}/clients/{world.clients['c1']}/identifiers", headers=world[who].headers
        )
        assert answer.status_code in (403, 404), who
    bad = add_mrn(api, world, value="a|b")
    assert bad.status_code == 422
    assert add_mrn(api, world, "b1").status_code == 201  # organizations are apart


def test_an_ehr_response_by_mrn_through_the_api(
    api: TestClient, world: World, database: Database
) -> None:
    def post(who: str, **params: Any) -> Any:
        return api.post(
            f"{API}/fhir/QuestionnaireResponse",
            headers={**world[who].headers, "Content-Type": "application/fhir+json"},
            params={"session": 1, **params},
            json=EHR_PHQ9,
        )

    unknown = post("c1")
    assert unknown.status_code == 404
    assert "identifier" in unknown.json()["issue"][0]["diagnostics"]
    assert add_mrn(api, world).status_code == 201
    assert post("c2").status_code == 404  # not c2's client, whatever the MRN
    stored = post("c1")
    assert stored.status_code == 201, stored.text
    body = stored.json()
    with database.session() as db:
        row = db.get(Administration, body["id"])
        assert row is not None and row.instrument == "phq-9"
        client = db.scalar(select(Client).where(Client.id == world.clients["c1"]))
        assert client is not None
        assert row.answers["item_9"] == 1  # LA6569-3: a risk answer
        alert = db.scalar(select(Alert).where(Alert.rule == "risk_item"))
        assert alert is not None and alert.priority == "urgent"
        reads = db.scalars(
            select(AuditEvent).where(AuditEvent.record_type == "client_identifier")
        ).all()
        assert {e.action for e in reads} == {"create", "read"}
    by_parameter = dict(EHR_PHQ9, subject={"reference": "Patient/ehr-4711"})
    again = api.post(
        f"{API}/fhir/QuestionnaireResponse",
        headers={**world["c1"].headers, "Content-Type": "application/fhir+json"},
        params={"session": 1, "identifier": TOKEN},
        json=by_parameter,
    )
    assert (again.status_code, again.json()["id"]) == (200, body["id"])


def test_files_and_tables_match_by_identifier(
    api: TestClient, world: World, database: Database
) -> None:
    bundle = {
        "resourceType": "Bundle",
        "type": "collection",
        "entry": [
            {
                "fullUrl": "urn:uuid:0b0e4c2e-7d36-4f36-9a59-3d4f1c7a2b10",
                "resource": {"resourceType": "Patient", "id": "ehr-4711", "identifier": [MRN]},
            },
            {
                "resource": dict(
                    EHR_PHQ9,
                    subject={"reference": "Patient/ehr-4711"},
                    extension=[
                        {"url": f"{BASE}/StructureDefinition/episode", "valueString": "E1"},
                        {"url": f"{BASE}/StructureDefinition/session", "valueInteger": 2},
                    ],
                )
            },
        ],
    }
    table = (
        "client,episode,session,date,instrument,version,perspective,"
        + ",".join(f"item_{n}" for n in range(1, 8))
        + f"\n{TOKEN},E1,1,2026-09-08,gad-7,1.0,client,1,1,1,1,1,1,1\n"
    ).encode()

    def upload(name: str, content: bytes) -> Any:
        return api.post(
            f"{API}/imports", headers=world["c1"].headers, files={"file": (name, content)}
        )

    refused = upload("t.csv", table)
    assert refused.status_code == 422
    assert "no client of yours has this identifier" in refused.text
    assert add_mrn(api, world).status_code == 201
    done = upload("t.csv", table)
    assert done.status_code == 200, done.text
    assert (done.json()["stored"], done.json()["clients_created"]) == (1, 0)
    # a FHIR Bundle whose Patient carries only the MRN
    fhir_file = upload("b.json", json.dumps(bundle).encode())
    assert fhir_file.status_code == 200, fhir_file.text
    assert (fhir_file.json()["stored"], fhir_file.json()["clients_created"]) == (1, 0)
    with database.session() as db:
        rows = db.scalars(select(Administration.instrument)).all()
    assert sorted(rows) == ["gad-7", "phq-9"]
