"""Goals on the client's page (issue 17): agree them in the client's words, rate progress,
renegotiate one — shown beside the alliance chart and marked on it as a repair."""

from __future__ import annotations

from urllib.parse import unquote

import pytest
from fastapi.testclient import TestClient

from tests.fixtures.database import World
from tests.web.conftest import PageClient

WAI = {f"item_{i}": 4 for i in range(1, 13)}


@pytest.mark.parametrize("backend", ["sqlite"])
def test_agree_rate_and_renegotiate_goals_on_the_client_page(
    clinician: PageClient, api: TestClient, world: World
) -> None:
    client, episode, session = world.clients["c1"], world.episodes["c1"], world.sessions["c1"]
    rated = api.post(
        f"/api/v1/sessions/{session}/administrations", headers=world["c1"].headers,
        json={"instrument": "wai-sr", "answers": WAI, "idempotency_key": "w1"},
    )  # fmt: skip
    assert rated.status_code == 201
    page = clinician.get(f"/clients/{client}").text
    assert "No goals agreed yet" in page and "Goals (0 of at most 3)" in page
    done = clinician.post(
        f"/episodes/{episode}/goals",
        {"client_id": client, "description": "Sleep <b>through</b>", "target": "Five nights",
         "proposed_by": "client", "agreed_on": "2026-09-08"},
    )  # fmt: skip
    assert unquote(done.headers["location"]).endswith("Goal agreed.")
    page = clinician.get(f"/clients/{client}").text
    assert "“Sleep &lt;b&gt;through&lt;/b&gt;”" in page  # the client's words, escaped
    goal = page.split('name="goal-')[1].split('"')[0]
    saved = clinician.post(
        f"/sessions/{session}/goal-ratings", {"client_id": client, f"goal-{goal}": "4"}
    )
    assert unquote(saved.headers["location"]).endswith("Progress saved on 1 goal.")
    refused = clinician.post(
        f"/sessions/{session}/goal-ratings", {"client_id": client, f"goal-{goal}": "12"}
    )
    assert "0 to 10" in unquote(refused.headers["location"]) or "whole number" in unquote(
        refused.headers["location"]
    )
    changed = clinician.post(
        f"/goals/{goal}/change",
        {"client_id": client, "how": "revise", "description": "Sleep six hours",
         "reason": "through the night felt out of reach", "agreed_on": "2026-09-08"},
    )  # fmt: skip
    assert "renegotiated" in unquote(changed.headers["location"])
    page = clinician.get(f"/clients/{client}").text
    multiples = page.index("Goals: progress 0–10")
    assert page.index("<figure") < multiples < page.index('id="goals-h"')  # beside the chart
    assert "latest 4/10 in session 1" in page
    assert "goal 1 renegotiated (session 1)" in page  # a repair mark on the alliance chart
    assert (
        "renegotiated: “Sleep six hours”" in page and "through the night felt out of reach" in page
    )
    no_reason = clinician.post(f"/goals/{goal}/change", {"client_id": client, "how": "achieved"})
    assert "say the reason" in unquote(no_reason.headers["location"])
