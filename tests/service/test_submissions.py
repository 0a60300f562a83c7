"""Submitting administrations: validation, scoring, idempotency, corrections, risk alerts."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from alliance.store.alerts import Alert, RiskFollowUp
from alliance.store.models import Administration, Score
from tests.fixtures.database import Database, World

API = "/api/v1"


def submit(api: TestClient, world: World, body: dict, who: str = "c1"):  # type: ignore[no-untyped-def]
    return api.post(
        f"{API}/sessions/{world.sessions[who]}/administrations",
        headers=world[who].headers,
        json=body,
    )


GAD = {f"item_{i}": 2 for i in range(1, 8)}


def test_submission_is_validated_scored_and_stored(
    api: TestClient, world: World, database: Database
) -> None:
    response = submit(api, world, {"instrument": "gad-7", "answers": GAD, "idempotency_key": "g"})
    assert response.status_code == 201
    body = response.json()
    assert body["created"] is True
    assert body["administration"]["answers"] == GAD
    assert body["administration"]["version"] == "1.0"
    assert body["scores"] == [
        {"scale": "total", "value": 14.0, "band": "moderate", "answered": 7, "scoring_version": "1"}
    ]
    with database.session() as db:
        stored = db.scalar(select(Administration))
        assert stored is not None
        assert stored.answers == GAD
        assert stored.entered_by == world["c1"].id
        assert stored.source == "api"


def test_bad_answer_names_field_value_and_allowed(api: TestClient, world: World) -> None:
    response = submit(
        api, world, {"instrument": "gad-7", "idempotency_key": "x", "answers": {**GAD, "item_3": 4}}
    )
    assert response.status_code == 422
    assert response.json()["error"] == {
        "code": "invalid",
        "message": "value out of range: 4",
        "field": "answers.item_3",
        "value": 4,
        "allowed": "0, 1, 2, 3",
    }
    unknown = submit(
        api, world, {"instrument": "gad-7", "idempotency_key": "y", "answers": {**GAD, "item_8": 1}}
    )
    assert unknown.json()["error"]["field"] == "answers.item_8"
    text = submit(
        api,
        world,
        {"instrument": "gad-7", "idempotency_key": "z", "answers": {**GAD, "item_1": "often"}},
    )
    assert text.json()["error"]["field"] == "answers.item_1"
    assert text.json()["error"]["allowed"] == "0, 1, 2, 3"
    instrument = submit(api, world, {"instrument": "gad-8", "idempotency_key": "w", "answers": GAD})
    assert instrument.json()["error"]["field"] == "instrument"
    assert "gad-7" in instrument.json()["error"]["allowed"]
    empty = submit(api, world, {"instrument": "gad-7", "idempotency_key": "v", "answers": {}})
    assert empty.status_code == 422
    missing_key = submit(api, world, {"instrument": "gad-7", "answers": GAD})
    assert missing_key.json()["error"]["field"] == "idempotency_key"


def test_resubmission_with_the_same_key_stores_once(
    api: TestClient, world: World, database: Database
) -> None:
    body = {"instrument": "gad-7", "answers": GAD, "idempotency_key": "same"}
    first = submit(api, world, body).json()
    again = submit(api, world, body).json()
    assert again["created"] is False
    assert again["administration"]["id"] == first["administration"]["id"]
    assert again["scores"] == first["scores"]
    with database.session() as db:
        assert db.scalar(select(func.count()).select_from(Administration)) == 1
        assert db.scalar(select(func.count()).select_from(Score)) == 1
    changed = submit(api, world, {**body, "answers": {**GAD, "item_1": 0}})
    assert changed.status_code == 409
    assert changed.json()["error"]["field"] == "idempotency_key"


def test_partial_answers_and_unconfirmed_keys(api: TestClient, world: World) -> None:
    partial = submit(
        api,
        world,
        {
            "instrument": "phq-9",
            "idempotency_key": "p",
            "answers": {f"item_{i}": 1 for i in range(1, 8)},
        },
    )
    assert partial.json()["scores"][0]["value"] == 9.0  # 7 answered, prorated × 9/7
    wai_s = submit(
        api,
        world,
        {
            "instrument": "wai-s",
            "idempotency_key": "w",
            "answers": {f"item_{i}": 5 for i in range(1, 13)},
        },
    )
    assert wai_s.status_code == 201
    assert wai_s.json()["scores"] == []
    assert set(wai_s.json()["not_computed"]) == {"task", "goal", "bond", "total"}


def test_forms_and_stances(api: TestClient, world: World) -> None:
    answers = {f"item_{i}": 4 for i in range(1, 13)}
    clinician_self = submit(
        api,
        world,
        {
            "instrument": "wai-sr",
            "perspective": "clinician",
            "answers": answers,
            "idempotency_key": "a",
        },
    )
    assert clinician_self.status_code == 422
    assert clinician_self.json()["error"]["field"] == "perspective"
    prediction = submit(
        api,
        world,
        {
            "instrument": "wai-sr",
            "perspective": "clinician",
            "stance": "prediction",
            "answers": answers,
            "idempotency_key": "b",
        },
    )
    assert prediction.status_code == 201
    client_prediction = submit(
        api,
        world,
        {
            "instrument": "wai-sr",
            "stance": "prediction",
            "answers": answers,
            "idempotency_key": "c",
        },
    )
    assert client_prediction.status_code == 422
    observer = submit(
        api,
        world,
        {
            "instrument": "wai",
            "perspective": "observer",
            "answers": {f"item_{i}": 4 for i in range(1, 37)},
            "idempotency_key": "d",
        },
    )
    assert observer.status_code == 201


def test_risk_answer_raises_an_urgent_alert(
    api: TestClient, world: World, database: Database
) -> None:
    answers = {f"item_{i}": 0 for i in range(1, 11)} | {"item_6": 1}
    response = submit(
        api, world, {"instrument": "core-10", "answers": answers, "idempotency_key": "risk"}
    )
    assert response.json()["risk_items"] == ["item_6"]
    alerts = api.get(f"{API}/alerts", headers=world["c1"].headers).json()
    assert [a["priority"] for a in alerts] == ["urgent"]
    assert alerts[0]["rule"] == "risk_item"
    assert "CORE-10 question 6 (plans to end one's life) answered 1 (Rarely)" in alerts[0]["reason"]
    assert len(alerts[0]["next_steps"]) >= 2
    submit(api, world, {"instrument": "core-10", "answers": answers, "idempotency_key": "risk"})
    with database.session() as db:
        assert db.scalar(select(func.count()).select_from(Alert)) == 1
        alert = db.scalar(select(Alert))
        assert alert is not None
        assert (alert.client_id, alert.episode_id, alert.session_id) == (
            world.clients["c1"],
            world.episodes["c1"],
            world.sessions["c1"],
        )
        assert alert.numbers == {"item_6": 1}
        assert alert.key == f"risk:{response.json()['administration']['id']}"


def test_a_risk_item_left_empty_is_not_a_no(api: TestClient, world: World) -> None:
    """PHQ-9 with item 9 left empty: a high alert asks the clinician to ask; with item 9
    answered 0 there is none; answered above 0, only the urgent one."""
    answers = {f"item_{i}": 1 for i in range(1, 9)}
    for key, item_9 in (("empty", None), ("no", 0), ("yes", 2)):
        response = submit(
            api,
            world,
            {
                "instrument": "phq-9",
                "answers": answers | {"item_9": item_9},
                "idempotency_key": key,
            },
        )
        assert response.status_code == 201, response.text
    alerts = api.get(f"{API}/alerts", headers=world["c1"].headers).json()
    assert sorted((a["rule"], a["priority"]) for a in alerts) == [
        ("risk_item", "urgent"),
        ("risk_unanswered", "high"),
    ]
    empty = next(a for a in alerts if a["rule"] == "risk_unanswered")
    question = "PHQ-9 question 9 (thoughts of death or self-harm)"  # never raw ids
    assert f"unanswered in session 1: {question}." in empty["reason"]
    assert "cannot tell" in empty["reason"]
    risk = next(a for a in alerts if a["rule"] == "risk_item")
    assert f"{question} answered 2 (On most days), at or above 1" in risk["reason"]
    assert any("not a no" in step for step in empty["next_steps"])
    assert empty["provenance"].startswith("derived:")


def test_corrections_supersede_and_keep_the_original(
    api: TestClient, world: World, database: Database
) -> None:
    first = submit(api, world, {"instrument": "gad-7", "answers": GAD, "idempotency_key": "o"})
    original = first.json()["administration"]["id"]
    fixed = api.post(
        f"{API}/administrations/{original}/corrections",
        headers=world["c1"].headers,
        json={
            "answers": {**GAD, "item_1": 0},
            "reason": "typed 2 for 0",
            "idempotency_key": "fix1",
        },
    )
    assert fixed.status_code == 201
    assert fixed.json()["administration"]["supersedes_id"] == original
    assert fixed.json()["scores"][0]["value"] == 12
    again = api.post(
        f"{API}/administrations/{original}/corrections",
        headers=world["c1"].headers,
        json={"answers": GAD, "reason": "again", "idempotency_key": "fix2"},
    )
    assert again.status_code == 409
    timeline = api.get(
        f"{API}/clients/{world.clients['c1']}/timeline", headers=world["c1"].headers
    ).json()
    admins = timeline["episodes"][0]["sessions"][0]["administrations"]
    by_id = {a["administration"]["id"]: a for a in admins}
    assert by_id[original]["current"] is False
    assert by_id[original]["superseded_by"] == fixed.json()["administration"]["id"]
    assert by_id[original]["administration"]["answers"] == GAD  # never overwritten
    with database.session() as db:
        assert db.scalar(select(func.count()).select_from(Administration)) == 2


def test_alert_workflow_keeps_history(api: TestClient, world: World) -> None:
    c1 = world["c1"].headers
    answers = {f"item_{i}": 0 for i in range(1, 10)} | {"item_9": 1}
    submit(api, world, {"instrument": "phq-9", "answers": answers, "idempotency_key": "k"})
    [alert] = api.get(f"{API}/alerts", headers=c1).json()
    resolve_first = api.post(f"{API}/alerts/{alert['id']}/acknowledge", headers=c1, json={})
    assert resolve_first.json()["state"] == "acknowledged"
    assert (
        api.post(f"{API}/alerts/{alert['id']}/acknowledge", headers=c1, json={}).status_code == 409
    )
    noted = api.post(
        f"{API}/alerts/{alert['id']}/note", headers=c1, json={"note": "called, safe, plan agreed"}
    )
    assert noted.status_code == 200
    assert api.post(f"{API}/alerts/{alert['id']}/note", headers=c1, json={}).status_code == 422
    # a risk alert is not closed with one click: it needs the follow-up record
    one_click = api.post(f"{API}/alerts/{alert['id']}/resolve", headers=c1, json={})
    assert one_click.status_code == 422
    assert one_click.json()["error"]["field"] == "follow_up"
    assert [a["state"] for a in api.get(f"{API}/alerts", headers=c1).json()] == ["acknowledged"]
    follow_up = {
        "outcome": "safety_plan",
        "note": "Reached by phone; safety plan reviewed; next call tomorrow.",
        "attempts": 2,
        "contacted_at": "2026-09-08T15:30:00+00:00",
        "resolve": True,
    }
    foreign = api.post(
        f"{API}/alerts/{alert['id']}/follow-up", headers=world["c3"].headers, json=follow_up
    )
    assert foreign.status_code == 404
    done = api.post(f"{API}/alerts/{alert['id']}/follow-up", headers=c1, json=follow_up)
    assert done.status_code == 201, done.text
    assert (done.json()["outcome"], done.json()["attempts"]) == ("safety_plan", 2)
    assert api.get(f"{API}/alerts", headers=c1).json() == []
    history = api.get(f"{API}/alerts/{alert['id']}/history", headers=c1).json()
    assert [h["action"] for h in history] == [
        "raised", "not_sent", "acknowledge", "note", "follow_up", "resolve"
    ]  # fmt: skip
    assert history[3]["note"] == "called, safe, plan agreed"
    assert history[4]["note"].startswith("Safety plan made or reviewed with the client — reached")
    assert "2 attempts" in history[4]["note"] and "next call tomorrow" in history[4]["note"]
    again = api.post(f"{API}/alerts/{alert['id']}/follow-up", headers=c1, json=follow_up)
    assert again.status_code == 409


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"note": "  "}, "note"),
        ({"outcome": "fine"}, "outcome"),
        ({"attempts": 0}, "attempts"),
        ({"contacted_at": None}, "contacted_at"),
        ({"contacted_at": "2026-09-08T15:30:00"}, "contacted_at"),
        ({"contacted_at": "2999-01-01T00:00:00+00:00"}, "contacted_at"),
        ({"outcome": "not_reached"}, "contacted_at"),
        ({"outcome": "not_reached", "contacted_at": None}, "outcome"),
    ],
)
def test_a_follow_up_names_what_is_missing(
    api: TestClient, world: World, database: Database, change: dict[str, object], field: str
) -> None:
    """Each part of the record is required: the resolve is refused, naming the field, and
    the alert stays open."""
    c1 = world["c1"].headers
    answers = {f"item_{i}": 0 for i in range(1, 10)} | {"item_9": 2}
    submit(api, world, {"instrument": "phq-9", "answers": answers, "idempotency_key": "k"})
    [alert] = api.get(f"{API}/alerts", headers=c1).json()
    body = {
        "outcome": "no_current_risk",
        "note": "Seen in clinic; no current risk.",
        "contacted_at": "2026-09-08T15:30:00+00:00",
        "resolve": True,
    } | change
    refused = api.post(f"{API}/alerts/{alert['id']}/follow-up", headers=c1, json=body)
    assert refused.status_code == 422, refused.text
    assert refused.json()["error"]["field"] == field
    assert [a["state"] for a in api.get(f"{API}/alerts", headers=c1).json()] == ["open"]
    with database.session() as db:
        assert db.scalar(select(func.count()).select_from(RiskFollowUp)) == 0


def test_a_client_not_reached_keeps_the_alert_open(api: TestClient, world: World) -> None:
    c1 = world["c1"].headers
    answers = {f"item_{i}": 0 for i in range(1, 10)} | {"item_9": 3}
    submit(api, world, {"instrument": "phq-9", "answers": answers, "idempotency_key": "k"})
    [alert] = api.get(f"{API}/alerts", headers=c1).json()
    tried = api.post(
        f"{API}/alerts/{alert['id']}/follow-up",
        headers=c1,
        json={"outcome": "not_reached", "note": "No answer twice; voicemail left.", "attempts": 2},
    )
    assert tried.status_code == 201, tried.text
    [still] = api.get(f"{API}/alerts", headers=c1).json()
    assert still["state"] == "acknowledged"  # someone is on it: it is not escalated
    history = api.get(f"{API}/alerts/{alert['id']}/history", headers=c1).json()
    assert [h["action"] for h in history] == ["raised", "not_sent", "follow_up", "acknowledge"]
    assert "not reached, 2 attempts" in history[2]["note"]


def test_other_alerts_are_resolved_as_before(api: TestClient, world: World) -> None:
    """The follow-up record is for risk alerts; other alerts keep their one-step resolve."""
    c1 = world["c1"].headers
    with_gap = {"instrument": "wai-sr", "answers": {f"item_{i}": 1 for i in range(1, 13)}}
    submit(api, world, with_gap | {"idempotency_key": "client"})
    prediction = {"perspective": "clinician", "stance": "prediction", "idempotency_key": "p"}
    submit(api, world, {**with_gap, "answers": {f"item_{i}": 5 for i in range(1, 13)}} | prediction)
    alerts = api.get(f"{API}/alerts", headers=c1).json()
    gap = next(a for a in alerts if a["rule"] == "calibration_gap")
    assert api.post(f"{API}/alerts/{gap['id']}/resolve", headers=c1, json={}).status_code == 200
    refused = api.post(
        f"{API}/alerts/{gap['id']}/follow-up",
        headers=c1,
        json={"outcome": "no_current_risk", "note": "n", "contacted_at": None},
    )
    assert refused.status_code in (409, 422)


def test_two_ratings_in_one_session_do_not_break_the_analysis(
    api: TestClient, world: World, database: Database
) -> None:
    """A second client rating of one form in a session corrects the first (the first is
    kept, superseded); the analytics take the current one, several rupture reports count
    once, and every analysis of the clinic keeps working."""
    from alliance.instruments.registry import builtin_registry
    from alliance.services.monitoring import analysis
    from alliance.store.models import Client

    for key, level in (("first", 5), ("second", 2)):
        submit(
            api,
            world,
            {
                "instrument": "wai-sr",
                "idempotency_key": key,
                "answers": {f"item_{i}": level for i in range(1, 13)},
            },
        )
    api.post(
        f"{API}/sessions/{world.sessions['c1']}/ruptures",
        headers=world["c1"].headers,
        json={"note": "one"},
    )
    api.post(
        f"{API}/sessions/{world.sessions['c1']}/ruptures",
        headers=world["c1"].headers,
        json={"note": "two"},
    )
    analysis.forget_reference()
    with database.session() as db:
        client = db.get(Client, world.clients["c1"])
        assert client is not None
        frame = analysis.scores_frame(
            db, builtin_registry(), organization_id=client.organization_id, client_id=client.id
        )
        totals = frame[(frame["instrument"] == "wai-sr") & (frame["scale"] == "total")]
        assert totals["score"].tolist() == [24.0]  # the latest entered
        assert (frame["scale"] == "rupture_reported").sum() == 1
        analysis.client_signals(db, builtin_registry(), client)  # does not raise
