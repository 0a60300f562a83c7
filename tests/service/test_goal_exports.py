"""Goals wherever the record goes (issue 17): the client's FHIR Bundle holds a Goal and its
progress Observations, read back as stored; the identified tables hold goal events with the
client's words; the research export keeps the events and drops the words."""

from __future__ import annotations

import io
import zipfile

import pandas as pd
from fastapi.testclient import TestClient
from fhir.resources.R4B.bundle import Bundle

from alliance.interop.fhir_goals import read_goals
from tests.fixtures.database import World
from tests.service.test_research_export import add_study, research

API = "/api/v1"
WORDS = "Robin wants to sleep through the night"


def test_goals_travel_to_fhir_tables_and_research(api: TestClient, world: World) -> None:
    c1 = world["c1"].headers
    session = world.sessions["c1"]
    for who in ("c1", "c2"):  # research exports leave out episodes without ratings
        rated = api.post(
            f"{API}/sessions/{world.sessions[who]}/administrations", headers=world[who].headers,
            json={"instrument": "gad-7", "answers": {f"item_{i}": 1 for i in range(1, 8)},
                  "idempotency_key": f"g-{who}"},
        )  # fmt: skip
        assert rated.status_code == 201
    goal = api.post(
        f"{API}/episodes/{world.episodes['c1']}/goals", headers=c1,
        json={"description": WORDS, "target": "Five nights", "proposed_by": "client",
              "agreed_on": "2026-09-08"},
    ).json()["goal_id"]  # fmt: skip
    api.post(f"{API}/goals/{goal}/revisions", headers=c1,
             json={"target": "Four nights", "reason": "Robin said five is too many"})  # fmt: skip
    for rater, value in (("client", 3), ("clinician", 5)):
        api.post(f"{API}/sessions/{session}/goal-ratings", headers=c1,
                 json={"goal_id": goal, "value": value, "rater": rater})  # fmt: skip

    response = api.get(f"{API}/clients/{world.clients['c1']}/fhir", headers=c1)
    assert response.status_code == 200
    bundle = Bundle.model_validate_json(response.content)
    resources = [e.resource for e in bundle.entry or []]
    goals = [r for r in resources if r.get_resource_type() == "Goal"]
    assert len(goals) == 1 and goals[0].description.text == WORDS
    assert goals[0].meta.versionId == "2" and goals[0].statusReason == "Robin said five is too many"
    base = "http://testserver/api/v1/fhir"
    (back,) = read_goals(resources, base_url=base)
    assert (back.goal, back.client, back.episode, back.target) == (
        goal,
        "C1-01",
        "E1",
        "Four nights",
    )
    assert [(p.session, p.rater, p.value) for p in back.progress] == [
        (1, "client", 3), (1, "clinician", 5),
    ]  # fmt: skip

    tables = api.get(f"{API}/exports/tables", headers=c1)
    with zipfile.ZipFile(io.BytesIO(tables.content)) as archive:
        name = next(n for n in archive.namelist() if n.endswith("events.csv"))
        events = pd.read_csv(archive.open(name), dtype=str, keep_default_na=False)
    goal_events = events[events["event"].str.startswith("goal_")]
    assert sorted(goal_events["event"]) == [
        "goal_agreed", "goal_progress", "goal_progress", "goal_revised",
    ]  # fmt: skip
    agreed = goal_events[goal_events["event"] == "goal_agreed"].iloc[0]
    assert agreed["detail"] == "goal 1; proposed by client" and WORDS in agreed["note"]
    assert "goal 1; clinician; 5" in set(goal_events["detail"])

    add_study(api, world, k=1)
    files = research(api, world, "r1")
    kept = pd.read_csv(io.BytesIO(files["research.events.csv"]), dtype=str, keep_default_na=False)
    assert "goal 1; client; 3" in set(kept["detail"])
    assert "note" not in kept.columns
    assert all("Robin" not in content.decode("utf-8", "replace") for content in files.values())
