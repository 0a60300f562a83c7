"""Goals as FHIR R4 Goal resources with progress Observations: valid, and read back as
written (issue 17)."""

from __future__ import annotations

import datetime as dt
import json

import pytest
from fhir.resources.R4B.bundle import Bundle

from alliance.interop.fhir_goals import goal_resources, read_goals
from alliance.records import Goal, GoalProgress

DAY = dt.date(2026, 9, 8)


def goals() -> list[Goal]:
    return [
        Goal(
            client="C_7",
            episode="E1",
            goal="g-1",
            number=1,
            description="Sleep six hours",
            proposed_by="client",
            agreed_on=DAY,
            status="active",
            version=2,
            target="Five nights a week",
            reason="through the night felt out of reach",
            changed_on=dt.date(2026, 9, 15),
            progress=(
                GoalProgress(1, DAY, "client", 2),
                GoalProgress(1, DAY, "clinician", 6, clinician="c1"),
                GoalProgress(2, dt.date(2026, 9, 15), "client", 4),
            ),
        ),
        Goal(
            client="C_7",
            episode="E1",
            goal="g-2",
            number=2,
            description="Walk the dog",
            proposed_by="together",
            agreed_on=DAY,
            status="changed",
            reason="moved",
            changed_on=dt.date(2026, 9, 15),
            version=3,
        ),
        Goal(
            client="C_7",
            episode="E1",
            goal="g-3",
            number=3,
            description="Walk daily",
            proposed_by="clinician",
            agreed_on=dt.date(2026, 9, 15),
            status="achieved",
            replaces="g-2",
            progress=(GoalProgress(2, dt.date(2026, 9, 15), "client", 10),),
        ),
    ]


def test_goals_round_trip_through_fhir_json() -> None:
    resources = goal_resources(goals())
    bundle = Bundle.model_validate(
        {
            "resourceType": "Bundle",
            "type": "collection",
            "entry": [{"resource": json.loads(r.model_dump_json())} for r in resources],
        }
    )  # fmt: skip — validated again as a whole Bundle
    first = json.loads(resources[0].model_dump_json())
    assert first["resourceType"] == "Goal"
    assert first["lifecycleStatus"] == "active"
    assert first["achievementStatus"]["coding"][0]["code"] == "improving"  # 2 -> 4
    assert first["expressedBy"]["reference"] == first["subject"]["reference"]
    assert first["subject"]["reference"].startswith("Patient/")
    assert first["description"]["text"] == "Sleep six hours"
    assert first["target"][0]["detailString"] == "Five nights a week"
    observation = json.loads(resources[1].model_dump_json())
    assert observation["focus"] == [{"reference": f"Goal/{first['id']}"}]
    assert observation["valueInteger"] == 2
    states = {r.id: (r.lifecycleStatus, r.achievementStatus.coding[0].code)
              for r in resources if r.get_resource_type() == "Goal"}  # fmt: skip
    assert sorted(states.values()) == [
        ("active", "improving"), ("cancelled", "not-achieved"), ("completed", "achieved"),
    ]  # fmt: skip
    back = read_goals([json.loads(e.resource.model_dump_json()) for e in bundle.entry or []])
    assert back == goals()


def test_a_goal_without_our_identifiers_is_refused() -> None:
    stranger = {"resourceType": "Goal", "lifecycleStatus": "active", "id": "x",
                "description": {"text": "t"}, "subject": {"reference": "Patient/p"}}  # fmt: skip
    with pytest.raises(ValueError, match="not a goal this service wrote"):
        read_goals([stranger])
