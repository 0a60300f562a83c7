"""Shared goals: versions kept, the limit per episode, progress ratings, who may do what, and
an audit trail with ids only (issue 17)."""

from __future__ import annotations

import datetime as dt

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from alliance.services.errors import Conflict, Invalid, NotFound
from alliance.services.records import goals
from alliance.store.audit import AuditEvent
from alliance.store.models import Goal, GoalRating
from tests.fixtures.database import Database, World

API = "/api/v1"
WORDS = "Get back to the allotment on Saturdays"


def test_goals_keep_every_version_and_respect_the_limit(database: Database, world: World) -> None:
    c1 = world["c1"].actor
    episode = world.episodes["c1"]
    with database.session() as db:
        first = goals.agree_goal(
            db, c1, episode, description=f"  {WORDS} ", target="Every Saturday",
            proposed_by="client", agreed_on=dt.date(2026, 9, 8),
        )  # fmt: skip
        assert first.goal_id == first.id and first.version == 1
        assert first.description == WORDS  # spaces tidied, words kept
        goals.agree_goal(db, c1, episode, description="Sleep through", proposed_by="together")
        third = goals.agree_goal(db, c1, episode, description="Phone my sister")
        with pytest.raises(Conflict, match="already has 3 active goals"):
            goals.agree_goal(db, c1, episode, description="A fourth")

        revised = goals.revise_goal(
            db, c1, first.goal_id, target="Two Saturdays a month", reason="too much at once"
        )
        assert (revised.version, revised.change, revised.description) == (2, "revised", WORDS)
        with pytest.raises(Invalid, match="changes nothing"):
            goals.revise_goal(db, c1, first.goal_id, target="Two Saturdays a month", reason="r")
        with pytest.raises(Invalid, match="reason"):
            goals.revise_goal(db, c1, first.goal_id, target="Once", reason="  ")

        closed = goals.close_goal(db, c1, third.goal_id, status="achieved", reason="she called")
        assert (closed.version, closed.status) == (2, "achieved")
        with pytest.raises(Conflict, match="closed"):
            goals.revise_goal(db, c1, third.goal_id, description="again", reason="r")
        with pytest.raises(Invalid, match="how did the goal end"):
            goals.close_goal(db, c1, first.goal_id, status="active", reason="r")

        old, new = goals.replace_goal(
            db, c1, first.goal_id, description="Walk the dog daily", reason="the plot was sold"
        )
        assert (old.status, old.change, old.version) == ("changed", "closed", 3)
        assert new.replaces_goal_id == first.goal_id and new.version == 1
        goals.agree_goal(db, c1, episode, description="Room again after one closed")

        rating = goals.rate_goal(db, c1, world.sessions["c1"], new.goal_id, value=3)
        again = goals.rate_goal(db, c1, world.sessions["c1"], new.goal_id, value=3)
        assert again.id == rating.id  # the same rating: nothing new
        newer = goals.rate_goal(db, c1, world.sessions["c1"], new.goal_id, value=5)
        goals.rate_goal(db, c1, world.sessions["c1"], new.goal_id, value=4, rater="clinician")
        for bad in (11, -1, 2.5, True):
            with pytest.raises(Invalid, match="whole number"):
                goals.rate_goal(db, c1, world.sessions["c1"], new.goal_id, value=bad)  # type: ignore[arg-type]
        with pytest.raises(NotFound):  # a goal of another episode
            goals.rate_goal(db, c1, world.sessions["c1"], "no-such-goal", value=1)
        db.commit()

        versions = db.scalars(select(Goal).where(Goal.goal_id == first.goal_id)).all()
        assert sorted(v.version for v in versions) == [1, 2, 3]
        assert [v.version for v in versions if v.superseded_at is None] == [3]
        stored = db.scalars(select(GoalRating).where(GoalRating.goal_id == new.goal_id)).all()
        assert sorted((r.rater, r.value, r.superseded_at is None) for r in stored) == [
            ("client", 3, False), ("client", 5, True), ("clinician", 4, True),
        ]  # fmt: skip
        assert newer.superseded_at is None

        views = goals.episode_goals(db, c1, episode)
        db.commit()
        by_id = {v.goal_id: v for v in views}
        assert len(views) == 5
        assert [v.version for v in by_id[first.goal_id].versions] == [1, 2, 3]
        assert [g.version for g in by_id[first.goal_id].renegotiations] == [2]
        assert [g.goal_id for g in by_id[new.goal_id].renegotiations] == [new.goal_id]
        assert by_id[new.goal_id].progress() == [(1, 5)]
        assert by_id[new.goal_id].progress("clinician") == [(1, 4)]
        assert sum(v.active for v in views) == 3

        trail = db.scalars(select(AuditEvent).where(AuditEvent.record_type.like("goal%"))).all()
    actions = sorted((e.action, e.record_type) for e in trail)
    assert actions.count(("create", "goal")) == 5
    assert actions.count(("update", "goal")) == 3  # revision, closure, replacement
    assert actions.count(("create", "goal_rating")) == 3
    assert ("read", "goals") in actions
    assert all("allotment" not in str(e.detail) for e in trail)  # ids only, never the words


def test_goals_over_the_api_by_role(api: TestClient, world: World) -> None:
    c1 = world["c1"].headers
    episode = world.episodes["c1"]
    body = {"description": WORDS, "target": "Every Saturday", "proposed_by": "client"}
    for who in ("c2", "c3", "s1", "r1", "a1", "b1", "ba"):  # only the owner writes
        response = api.post(
            f"{API}/episodes/{episode}/goals", headers=world[who].headers, json=body
        )
        assert response.status_code == 404, who
    made = api.post(f"{API}/episodes/{episode}/goals", headers=c1, json=body)
    assert made.status_code == 201
    goal = made.json()["goal_id"]
    for who, status in {"c1": 200, "s1": 200, "c2": 404, "c3": 404, "r1": 404, "a1": 404,
                        "b1": 404}.items():  # fmt: skip
        listed = api.get(f"{API}/episodes/{episode}/goals", headers=world[who].headers)
        assert listed.status_code == status, who
        assert api.get(f"{API}/goals/{goal}", headers=world[who].headers).status_code == status
    revised = api.post(
        f"{API}/goals/{goal}/revisions", headers=c1, json={"target": "Twice a month", "reason": "r"}
    )
    assert revised.status_code == 201 and revised.json()["version"] == 2
    refused = api.post(
        f"{API}/goals/{goal}/revisions",
        headers=world["s1"].headers,
        json={"target": "x", "reason": "r"},
    )
    assert refused.status_code == 404
    rated = api.post(
        f"{API}/sessions/{world.sessions['c1']}/goal-ratings", headers=c1,
        json={"goal_id": goal, "value": 6},
    )  # fmt: skip
    assert rated.status_code == 201 and rated.json()["source"] == "api"
    bad = api.post(
        f"{API}/sessions/{world.sessions['c1']}/goal-ratings", headers=c1,
        json={"goal_id": goal, "value": 12},
    )  # fmt: skip
    assert bad.status_code == 422
    replaced = api.post(
        f"{API}/goals/{goal}/replacement", headers=c1, json={"description": "Walk", "reason": "r"}
    )
    assert replaced.status_code == 201 and replaced.json()["replaces_goal_id"] == goal
    listed = api.get(f"{API}/episodes/{episode}/goals", headers=c1).json()
    assert listed["count"] == 2 and listed["max_goals"] == 3
    old = next(g for g in listed["data"] if g["goal_id"] == goal)
    assert [v["version"] for v in old["versions"]] == [1, 2, 3]
    assert old["current"]["status"] == "changed" and old["renegotiated"]
    assert old["ratings"][0]["value"] == 6

    assert (
        api.put(f"{API}/organization/goals", headers=c1, json={"max_goals": 5}).status_code == 403
    )
    wide = api.put(f"{API}/organization/goals", headers=world["a1"].headers, json={"max_goals": 5})
    assert wide.status_code == 200
    too_many = api.put(
        f"{API}/organization/goals", headers=world["a1"].headers, json={"max_goals": 6}
    )
    assert too_many.status_code == 422
    assert api.get(f"{API}/organization/goals", headers=c1).json() == {"max_goals": 5}


def test_goal_ratings_far_apart_open_a_disagreement_alert(api: TestClient, world: World) -> None:
    c1 = world["c1"].headers
    episode = world.episodes["c1"]
    goal = api.post(
        f"{API}/episodes/{episode}/goals", headers=c1, json={"description": "Sleep"}
    ).json()["goal_id"]
    second = api.post(
        f"{API}/episodes/{episode}/sessions", headers=c1, json={"date": "2026-09-15"}
    ).json()["id"]
    for session, client, mine in ((world.sessions["c1"], 2, 6), (second, 3, 7)):
        for rater, value in (("client", client), ("clinician", mine)):
            response = api.post(
                f"{API}/sessions/{session}/goal-ratings", headers=c1,
                json={"goal_id": goal, "value": value, "rater": rater},
            )  # fmt: skip
            assert response.status_code == 201
    alerts = api.get(f"{API}/alerts", headers=c1).json()
    found = [a for a in alerts if a["rule"] == "goal_disagreement"]
    assert len(found) == 1, alerts
    assert "progress on goal 1" in found[0]["reason"] and "4 points apart" in found[0]["reason"]
    assert found[0]["next_steps"]
