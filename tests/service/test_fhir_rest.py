"""The FHIR R4 REST interface: /metadata, read and search of every resource type by each of
its parameters, paging, OperationOutcomes, formats, the JSON API's access rules and audit.
Every resource the interface returns is checked against the official R4 JSON Schema and
fhir.resources (tests/fixtures/fhir_schema.py)."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy import select

from alliance.store.audit import AuditEvent
from tests.fixtures.database import Database, World
from tests.fixtures.fhir_schema import every_resource, problems
from tests.service.test_fhir_api import RESPONSE

API = "/api/v1"
BASE = "http://testserver/api/v1/fhir"
EHR_PHQ9 = json.loads((Path(__file__).parents[1] / "data" / "ehr-phq9-response.json").read_text())
MRN = {"system": "urn:oid:1.2.3.4.5.1", "value": "MRN-000123"}
CHECKED: list[str] = []  # the resources validated, for the count in the note


def valid(response: Any, status: int = 200) -> dict[str, Any]:
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/fhir+json")
    body: dict[str, Any] = response.json()
    for resource in every_resource(body):
        checked = resource
        if resource["resourceType"] == "CapabilityStatement":  # see fhir_schema's docstring
            assert resource["fhirVersion"] == "4.0.1"
            checked = {**resource, "fhirVersion": "4.0.0"}
        assert problems(checked) == [], resource.get("id")
        CHECKED.append(resource["resourceType"])
    return body


def ids(bundle: dict[str, Any]) -> list[str]:
    assert bundle["type"] == "searchset"
    return [e["resource"]["id"] for e in bundle.get("entry", [])]


def test_metadata_states_what_is_supported(api: TestClient) -> None:
    statement = valid(api.get(f"{API}/fhir/metadata"))  # no login needed
    [rest] = statement["rest"]
    kinds = {r["type"]: r for r in rest["resource"]}
    assert set(kinds) == {
        "Patient", "Practitioner", "Questionnaire", "QuestionnaireResponse", "Observation",
        "Provenance", "StructureDefinition", "CodeSystem",
    }  # fmt: skip
    params = {k: [p["name"] for p in r["searchParam"]] for k, r in kinds.items()}
    assert params["Observation"] == ["patient", "subject", "code", "date", "category"]
    assert params["QuestionnaireResponse"][:4] == [
        "subject",
        "patient",
        "questionnaire",
        "authored",
    ]
    assert [i["code"] for i in kinds["QuestionnaireResponse"]["interaction"]][-1] == "create"
    assert "no scopes" in rest["security"]["description"]
    for asked in ({"_format": "xml"}, {"_format": "application/fhir+xml"}):
        refused = api.get(f"{API}/fhir/metadata", params=asked)
        assert valid(refused, 406)["issue"][0]["code"] == "not-supported"
    xml = api.get(f"{API}/fhir/metadata", headers={"Accept": "application/fhir+xml"})
    assert xml.status_code == 406
    assert valid(api.get(f"{API}/fhir/metadata", params={"_format": "json"}))["kind"] == "instance"


def test_search_and_read_by_every_parameter(
    api: TestClient, world: World, database: Database
) -> None:
    c1 = world["c1"].headers

    def get(path: str, who: str = "c1", status: int = 200, **params: Any) -> dict[str, Any]:
        return valid(
            api.get(f"{API}/fhir/{path}", headers=world[who].headers, params=params), status
        )

    # the record: c1's client rated a GAD-7 (session 1) and, through the EHR, a PHQ-9
    def post(path: str, headers: dict[str, str], body: Any, **params: Any) -> None:
        answer = api.post(f"{API}/{path}", headers=headers, params=params, json=body)
        assert answer.status_code == 201, answer.text

    post(f"clients/{world.clients['c1']}/identifiers", c1, MRN)
    for body, params in (
        (RESPONSE, {"session_id": world.sessions["c1"]}),
        (EHR_PHQ9, {"session": 2}),
    ):
        post("fhir/QuestionnaireResponse", c1, body, **params)
    other = {**copy.deepcopy(RESPONSE), "subject": {"identifier": {"value": "C2-01"}}}
    c2 = world["c2"].headers
    post("fhir/QuestionnaireResponse", c2, other, session=1)

    # Patient: identifier (our code, or the EHR's), read; another clinician's client is not seen
    ours = f"{BASE}/identifier/client|C1-01"
    assert ids(get("Patient", identifier=ours)) == ["C1-01"]
    assert ids(get("Patient", identifier=f"{MRN['system']}|{MRN['value']}")) == ["C1-01"]
    assert ids(get("Patient", identifier="C2-01")) == []
    assert ids(get("Patient")) == ["C1-01"]
    assert get("Patient/C1-01")["id"] == "C1-01"
    assert get("Patient/C2-01", status=404)["issue"][0]["code"] == "not-found"
    # Practitioner: identifier, read
    assert ids(get("Practitioner", identifier=f"{BASE}/identifier/clinician|c1")) == ["c1"]
    assert get("Practitioner/s1")["identifier"][0]["value"] == "s1"
    # Questionnaire: url, code (the LOINC panel, or an item's LOINC code)
    assert ids(get("Questionnaire", url=f"{BASE}/Questionnaire/gad-7")) == ["gad-7"]
    assert ids(get("Questionnaire", code="44249-1")) == ["phq-9"]
    assert ids(get("Questionnaire", code="http://loinc.org|69725-0")) == ["gad-7"]
    # QuestionnaireResponse: subject, patient, questionnaire, authored
    both = get("QuestionnaireResponse", subject="Patient/C1-01")
    assert both["total"] == 2
    assert ids(get("QuestionnaireResponse", patient="C1-01")) == ids(both)
    phq = get("QuestionnaireResponse", questionnaire=f"{BASE}/Questionnaire/phq-9")
    assert len(ids(phq)) == 1
    assert ids(get("QuestionnaireResponse", authored="2026-10-05")) == ids(phq)
    assert ids(get("QuestionnaireResponse", authored="ge2026-10")) == ids(phq)
    assert len(ids(get("QuestionnaireResponse", authored="lt2026-10-01"))) == 1
    read = get(f"QuestionnaireResponse/{ids(phq)[0]}")
    assert read["item"][8]["answer"][0]["valueCoding"]["code"] == "LA6569-3"
    # Observation: patient, code, date, category (the PHQ-9 total; the GAD-7 misses an item)
    [total] = ids(get("Observation", patient="Patient/C1-01"))
    assert ids(get("Observation", code="http://loinc.org|44261-6")) == [total]
    assert ids(get("Observation", code="http://loinc.org|70274-6")) == []
    assert ids(get("Observation", date="2026-10-05")) == [total]
    assert ids(get("Observation", date="lt2026-10-05")) == []
    assert ids(get("Observation", category="survey")) == [total]
    report = "https://alliance.example/fhir/CodeSystem/report"
    assert ids(get("Observation", category=f"{report}|clinician-prediction")) == []
    assert get(f"Observation/{total}")["valueQuantity"]["value"] == 10
    # Provenance: where each response another system sent came from (both came by the API)
    sent = get("Provenance", patient="Patient/C1-01")
    assert sent["total"] == 2
    assert {e["resource"]["agent"][0]["who"]["reference"] for e in sent["entry"]} == {
        "Practitioner/c1"
    }
    [origin] = get("Provenance", target=f"QuestionnaireResponse/{ids(phq)[0]}")["entry"]
    assert origin["resource"]["target"] == [{"reference": f"QuestionnaireResponse/{ids(phq)[0]}"}]
    assert get(f"Provenance/{origin['resource']['id']}")["recorded"]
    # paging
    first = get("QuestionnaireResponse", _count=1)
    assert (first["total"], len(first["entry"])) == (2, 1)
    following = next(link["url"] for link in first["link"] if link["relation"] == "next")
    second = valid(api.get(following.removeprefix("http://testserver"), headers=c1))
    assert ids(second) != ids(first)
    assert {link["relation"] for link in second["link"]} == {"self", "previous"}
    # errors are OperationOutcomes; the JSON API's rules hold
    assert get("Observation", status=400, value="3")["issue"][0]["expression"] == ["value"]
    assert get("Observation", status=422, _count="0")["issue"][0]["code"] == "invalid"
    assert get("Patient", who="r1", status=403)["issue"][0]["code"] == "forbidden"
    assert ids(get("Patient", who="b1")) == ["B1-01"]
    assert valid(api.get(f"{API}/fhir/Patient"), 401)["issue"][0]["code"] == "login"
    with database.session() as db:
        reads = db.scalars(
            select(AuditEvent).where(
                AuditEvent.record_type == "client", AuditEvent.action == "read"
            )
        ).all()
    assert reads and all(e.detail == {"via": "fhir"} for e in reads)


def test_the_projects_definitions_are_published(api: TestClient) -> None:
    url = "https://alliance.example/fhir/StructureDefinition/episode"
    found = valid(api.get(f"{API}/fhir/StructureDefinition", params={"url": url}))
    assert ids(found) == ["alliance-episode"]
    system = valid(api.get(f"{API}/fhir/CodeSystem/alliance-report"))
    assert next(c["code"] for c in system["concept"]) == "patient-reported"
    every = valid(api.get(f"{API}/fhir/StructureDefinition", params={"_count": 100}))
    assert every["total"] == len(every["entry"]) >= 19
