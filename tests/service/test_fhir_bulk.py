"""FHIR Bulk Data $export end to end: kick-off, status, NDJSON downloads, deletion; only the
person who asked sees the job; every exported resource passes the R4 JSON Schema and
fhir.resources."""

from __future__ import annotations

import json
from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy import select

from alliance.store.audit import AuditEvent
from tests.fixtures.database import Database, World
from tests.fixtures.fhir_schema import problems
from tests.service.test_fhir_api import RESPONSE

API = "/api/v1"


def test_bulk_export_end_to_end(api: TestClient, world: World, database: Database) -> None:
    c1 = world["c1"].headers
    posted = api.post(
        f"{API}/fhir/QuestionnaireResponse",
        headers=c1,
        params={"session_id": world.sessions["c1"]},
        json=RESPONSE,
    )
    assert posted.status_code == 201
    refused = api.get(f"{API}/fhir/$export", headers=c1)  # not asked to be asynchronous
    assert (refused.status_code, refused.json()["resourceType"]) == (400, "OperationOutcome")
    async_ = {**c1, "Prefer": "respond-async", "Accept": "application/fhir+json"}
    assert (
        api.get(f"{API}/fhir/$export", headers=async_, params={"_type": "Goal"}).status_code == 422
    )
    researcher = {**world["r1"].headers, "Prefer": "respond-async"}
    assert api.get(f"{API}/fhir/$export", headers=researcher).status_code == 403
    kick = api.get(f"{API}/fhir/$export", headers=async_)
    assert kick.status_code == 202, kick.text
    status_url = kick.headers["content-location"].removeprefix("http://testserver")
    assert api.get(status_url, headers=world["c2"].headers).status_code == 404  # not theirs
    status = api.get(status_url, headers=c1)
    assert status.status_code == 200, status.text
    manifest = status.json()
    assert manifest["requiresAccessToken"] is True
    counts = {o["type"]: o["count"] for o in manifest["output"]}
    assert counts == {"Patient": 1, "QuestionnaireResponse": 1, "Observation": 0, "Provenance": 1}
    exported: list[dict[str, Any]] = []
    for output in manifest["output"]:
        url = output["url"].removeprefix("http://testserver")
        assert api.get(url, headers=world["c2"].headers).status_code == 404
        got = api.get(url, headers=c1)
        assert got.headers["content-type"].startswith("application/fhir+ndjson")
        lines = [json.loads(line) for line in got.text.splitlines()]
        assert len(lines) == output["count"]
        assert all(r["resourceType"] == output["type"] for r in lines)
        exported += lines
    assert all(problems(r) == [] for r in exported)
    assert [r["id"] for r in exported if r["resourceType"] == "Patient"] == ["C1-01"]
    with database.session() as db:
        events = db.scalars(select(AuditEvent).where(AuditEvent.record_type == "fhir_bulk")).all()
    assert sorted(e.action for e in events) == ["download"] * 4 + ["export"]
    assert api.delete(status_url, headers=c1).status_code == 202
    assert api.get(status_url, headers=c1).status_code == 404
