"""Exports from the database imported into a fresh database give the same administrations
and scores: a client's FHIR Bundle, and the organization's tables as CSV and as Parquet."""

from __future__ import annotations

import io
import zipfile
from pathlib import Path

import pandas as pd
import pytest
from fastapi.testclient import TestClient
from fhir.resources.R4B.bundle import Bundle
from sqlalchemy import func, select

from alliance.instruments.registry import builtin_registry
from alliance.services.context import Actor
from alliance.services.exchange.imports import import_file
from alliance.store.alerts import Alert
from alliance.store.models import Administration, Episode, Organization
from tests.fixtures.database import Database, World
from tests.service.records import API, fill, snapshot

BASE = "http://testserver"


def import_into(database: Database, path: Path, **options: str) -> None:
    with database.session() as db:
        org = db.scalar(select(Organization.id).where(Organization.name == "Clinic A"))
        import_file(db, Actor.system(org), builtin_registry(), path, base_url=BASE, **options)
        db.commit()


def test_fhir_bundle_round_trip(
    api: TestClient, world: World, database: Database, second_database: Database, tmp_path: Path
) -> None:
    fill(api, world)
    [risk] = [
        a for a in api.get(f"{API}/alerts", headers=world["c1"].headers).json()
        if a["rule"] == "risk_item"
    ]  # fmt: skip
    api.post(
        f"{API}/alerts/{risk['id']}/follow-up",
        headers=world["c1"].headers,
        json={"outcome": "safety_plan", "note": "Plan made.", "attempts": 2,
              "contacted_at": "2026-09-09T09:15:00+00:00", "resolve": True},
    )  # fmt: skip
    response = api.get(f"{API}/clients/{world.clients['c1']}/fhir", headers=world["c1"].headers)
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("application/fhir+json")
    bundle = Bundle.model_validate_json(response.content)
    kinds = [e.resource.get_resource_type() for e in bundle.entry]
    assert kinds.count("QuestionnaireResponse") == 8  # current ones: the corrected one stands
    # the follow-up of the risk answer, in the project's code system (docs/fhir.md)
    system = "https://alliance.example/fhir/CodeSystem/risk-follow-up"  # the fixed base
    [follow] = [
        e.resource for e in bundle.entry
        if e.resource.get_resource_type() == "Observation"
        and e.resource.code.coding[0].system == system
    ]  # fmt: skip
    assert follow.code.coding[0].code == "follow-up"
    assert follow.valueCodeableConcept.coding[0].code == "safety-plan"
    assert follow.component[0].valueInteger == 2
    assert follow.note[0].text == "Plan made."
    assert follow.effectiveDateTime.isoformat().startswith("2026-09-09T09:15:00")
    responses = {e.resource.id for e in bundle.entry
                 if e.resource.get_resource_type() == "QuestionnaireResponse"}  # fmt: skip
    assert follow.derivedFrom[0].reference.removeprefix("QuestionnaireResponse/") in responses
    assert kinds.count("Patient") == 1
    # who said it: the clinician's prediction is authored by c1's Practitioner, and its
    # scores are not survey answers of the patient
    [practitioner] = [e.resource for e in bundle.entry
                      if e.resource.get_resource_type() == "Practitioner"]  # fmt: skip
    assert practitioner.identifier[0].value == "c1"
    predictions = [
        e.resource for e in bundle.entry
        if e.resource.get_resource_type() == "Observation"
        and e.resource.code.coding[0].code.endswith("/prediction")
    ]  # fmt: skip
    assert [o.code.coding[0].code for o in predictions] == [
        "wai-sr/task/prediction", "wai-sr/goal/prediction", "wai-sr/bond/prediction",
        "wai-sr/total/prediction",
    ]  # fmt: skip
    for obs in predictions:
        assert obs.performer[0].reference == f"Practitioner/{practitioner.id}"
        assert [c.coding[0].code for c in obs.category] == ["clinician-prediction"]
    [predicted] = [
        e.resource for e in bundle.entry
        if e.resource.get_resource_type() == "QuestionnaireResponse"
        and e.resource.author.reference == f"Practitioner/{practitioner.id}"
    ]  # fmt: skip
    assert predicted.source.reference == f"Practitioner/{practitioner.id}"
    path = tmp_path / "c1-01.json"
    path.write_bytes(response.content)
    import_into(second_database, path)
    mine = [row for row in snapshot(database) if row[0] == "C1-01"]
    assert snapshot(second_database) == mine
    with second_database.session() as db:  # E1 ended when E2 began; the risk answer alerted
        episodes = db.execute(
            select(Episode.end_reason, Episode.ended_on).order_by(Episode.started_on)
        ).all()
        assert [(r, d.isoformat() if d else None) for r, d in episodes] == [
            ("other", "2026-09-15"),
            (None, None),
        ]
        assert (
            db.scalar(select(func.count()).select_from(Alert).where(Alert.priority == "urgent"))
            == 1
        )


@pytest.mark.parametrize("kind", ["csv", "parquet"])
def test_tables_round_trip(
    api: TestClient,
    world: World,
    *,
    database: Database,
    second_database: Database,
    tmp_path: Path,
    kind: str,
) -> None:
    fill(api, world)
    response = api.get(
        f"{API}/exports/tables", params={"format": kind}, headers=world["s1"].headers
    )
    assert response.status_code == 200
    with zipfile.ZipFile(io.BytesIO(response.content)) as archive:
        assert sorted(archive.namelist()) == sorted(
            [
                f"administrations.{kind}",
                "administrations.codebook.csv",
                f"administrations.scores.{kind}",
                "administrations.scores.codebook.csv",
                f"administrations.events.{kind}",
                "administrations.events.codebook.csv",
            ]
        )
        archive.extractall(tmp_path)
    import_into(second_database, tmp_path / f"administrations.{kind}")
    assert snapshot(second_database) == snapshot(database)  # C1-01 and C2-01, s1's team
    again = api.get(f"{API}/exports/tables", params={"format": kind}, headers=world["s1"].headers)
    assert again.content  # exports are repeatable
    with second_database.session() as db:
        stored = db.scalar(select(func.count()).select_from(Administration))
    import_into(second_database, tmp_path / f"administrations.{kind}")
    with second_database.session() as db:
        assert db.scalar(select(func.count()).select_from(Administration)) == stored == 9


def test_an_export_imported_into_its_own_database_stores_nothing(
    api: TestClient, world: World, database: Database, tmp_path: Path
) -> None:
    """The content keys of an export differ from the keys the clinic's own submissions
    carried, so a session's identical administrations are recognised instead."""
    fill(api, world)
    response = api.get(f"{API}/exports/tables", headers=world["c1"].headers)
    with zipfile.ZipFile(io.BytesIO(response.content)) as archive:
        archive.extractall(tmp_path)
    before = snapshot(database)
    upload = api.post(
        f"{API}/imports",
        headers=world["c1"].headers,
        files={"file": ("administrations.csv", (tmp_path / "administrations.csv").read_bytes())},
    )
    assert upload.status_code == 200, upload.text
    assert (upload.json()["stored"], upload.json()["already_stored"]) == (0, 8)
    assert snapshot(database) == before


def test_the_tables_and_their_codebooks(api: TestClient, world: World) -> None:
    fill(api, world)
    [risk] = [
        a for a in api.get(f"{API}/alerts", headers=world["c1"].headers).json()
        if a["rule"] == "risk_item"
    ]  # fmt: skip
    followed = api.post(
        f"{API}/alerts/{risk['id']}/follow-up",
        headers=world["c1"].headers,
        json={"outcome": "referred", "note": "Crisis team took over.", "attempts": 3,
              "contacted_at": "2026-09-09T09:15:00+00:00", "resolve": True},
    )  # fmt: skip
    assert followed.status_code == 201, followed.text
    response = api.get(f"{API}/exports/tables", headers=world["c1"].headers)
    assert response.headers["content-disposition"] == (
        'attachment; filename="alliance-tables-csv.zip"'
    )
    with zipfile.ZipFile(io.BytesIO(response.content)) as archive:
        table, book, scores, score_book = (
            pd.read_csv(io.BytesIO(archive.read(name)), dtype=str, keep_default_na=False)
            for name in (
                "administrations.csv",
                "administrations.codebook.csv",
                "administrations.scores.csv",
                "administrations.scores.codebook.csv",
            )
        )
    note = {"(any text column)"}  # how CSV text cells are made safe for spreadsheets
    assert set(table.columns) == set(book["column"]) - note
    assert set(scores.columns) == set(score_book["column"]) - note
    assert set(table["client"]) == {"C1-01"}  # c1 sees only their own client
    with zipfile.ZipFile(io.BytesIO(response.content)) as archive:
        events, event_book = (
            pd.read_csv(io.BytesIO(archive.read(name)), dtype=str, keep_default_na=False)
            for name in ("administrations.events.csv", "administrations.events.codebook.csv")
        )
    assert set(events.columns) == set(event_book["column"]) - note
    # what the ratings do not hold: how the first episode ended
    # … and what was done about the risk answer
    assert events[["client", "episode", "date", "event", "detail", "note"]].values.tolist() == [
        ["C1-01", "E1", "2026-09-09", "risk_follow_up", "referred",
         "3 attempts; reached 2026-09-09 09:15 UTC. Crisis team took over."],
        ["C1-01", "E1", "2026-09-20", "episode_ended", "completed", ""],
    ]  # fmt: skip
    assert "risk_follow_up" in event_book.set_index("column").loc["event", "meaning"]
    assert table.iloc[0][["client", "episode", "session", "date", "clinician"]].tolist() == [
        "C1-01",
        "E1",
        "1",
        "2026-09-08",
        "c1",
    ]
    assert table["episode"].tolist() == ["E1"] * 6 + ["E2"] * 2
    prediction = table[table["stance"] == "prediction"]
    assert prediction[["instrument", "perspective"]].values.tolist() == [["wai-sr", "clinician"]]
    gad = scores[scores["instrument"] == "gad-7"]
    assert gad[["scale", "score"]].values.tolist() == [["total", "7"]]  # the correction
    wai = scores[(scores["instrument"] == "wai-sr") & (scores["session"] == "1")]
    assert set(wai["scale"]) == {"task", "goal", "bond", "total"}
