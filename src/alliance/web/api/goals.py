"""Shared goals: agree, revise, replace and close them; rate progress; read them back."""

from __future__ import annotations

import datetime as dt
from typing import Literal

from fastapi import APIRouter, BackgroundTasks
from pydantic import BaseModel, ConfigDict, Field

from alliance.services.accounts.organization import organization
from alliance.services.records import goals
from alliance.store.models import Goal, GoalRating
from alliance.web.api.deps import ActorDep, ClinicDep, DbDep
from alliance.web.clinic import analyse

router = APIRouter(tags=["goals"])

Words = Field(min_length=1, max_length=goals.TEXT_LIMIT)
Reason = Field(min_length=1, max_length=goals.REASON_LIMIT)


class _In(BaseModel):
    model_config = ConfigDict(extra="forbid")


class _Out(BaseModel):
    model_config = ConfigDict(from_attributes=True)


class GoalIn(_In):
    description: str = Words  # the client's own words
    target: str | None = Field(default=None, max_length=goals.TEXT_LIMIT)  # what 10 looks like
    proposed_by: Literal["client", "clinician", "together"] = "together"
    agreed_on: dt.date | None = None


class GoalRevision(_In):
    reason: str = Reason
    description: str | None = Field(default=None, max_length=goals.TEXT_LIMIT)
    target: str | None = Field(default=None, max_length=goals.TEXT_LIMIT)
    agreed_on: dt.date | None = None


class GoalReplacement(GoalIn):
    reason: str = Reason


class GoalClosure(_In):
    status: Literal["achieved", "no_longer_wanted", "changed"]
    reason: str = Reason


class GoalRatingIn(_In):
    goal_id: str = Field(max_length=36)
    value: int = Field(ge=0, le=10)
    rater: Literal["client", "clinician"] = "client"


class GoalVersionPublic(_Out):
    id: str
    goal_id: str
    episode_id: str
    version: int
    description: str
    target: str | None
    proposed_by: str
    agreed_on: dt.date
    status: str
    change: str
    reason: str | None
    replaces_goal_id: str | None
    recorded_at: dt.datetime
    superseded_at: dt.datetime | None


class GoalRatingPublic(_Out):
    id: str
    goal_id: str
    session_id: str
    rater: str
    value: int
    source: str
    entered_at: dt.datetime
    superseded_at: dt.datetime | None


class GoalPublic(BaseModel):
    goal_id: str
    current: GoalVersionPublic
    versions: list[GoalVersionPublic]
    ratings: list[GoalRatingPublic]
    renegotiated: bool


class GoalsPublic(BaseModel):
    data: list[GoalPublic]
    count: int
    max_goals: int


class GoalLimit(_In):
    max_goals: int = Field(ge=1, le=goals.MOST_GOALS)


def _public(view: goals.GoalView) -> GoalPublic:
    return GoalPublic(
        goal_id=view.goal_id,
        current=GoalVersionPublic.model_validate(view.current),
        versions=[GoalVersionPublic.model_validate(v) for v in view.versions],
        ratings=[GoalRatingPublic.model_validate(r) for r in view.ratings],
        renegotiated=bool(view.renegotiations),
    )


@router.get("/episodes/{episode_id}/goals", response_model=GoalsPublic)
def list_goals(episode_id: str, db: DbDep, actor: ActorDep) -> GoalsPublic:
    """The episode's goals, every version kept, with their current progress ratings."""
    views = goals.episode_goals(db, actor, episode_id)
    limit = goals.goal_limit(db, actor.organization_id or "")
    db.commit()
    data = [_public(v) for v in views]
    return GoalsPublic(data=data, count=len(data), max_goals=limit)


@router.post("/episodes/{episode_id}/goals", response_model=GoalVersionPublic, status_code=201)
def agree_goal(episode_id: str, body: GoalIn, db: DbDep, actor: ActorDep) -> Goal:
    """A goal agreed with the client, in their words, with who proposed it and a target."""
    goal = goals.agree_goal(db, actor, episode_id, **body.model_dump())
    db.commit()
    return goal


@router.get("/goals/{goal_id}", response_model=GoalPublic)
def goal_history(goal_id: str, db: DbDep, actor: ActorDep) -> GoalPublic:
    """One goal: every version and every progress rating, replaced ones too."""
    view = goals.goal_history(db, actor, goal_id)
    db.commit()
    return _public(view)


@router.post("/goals/{goal_id}/revisions", response_model=GoalVersionPublic, status_code=201)
def revise_goal(goal_id: str, body: GoalRevision, db: DbDep, actor: ActorDep) -> Goal:
    """Renegotiate the goal's words or target: a new version, the old one kept."""
    goal = goals.revise_goal(db, actor, goal_id, **body.model_dump())
    db.commit()
    return goal


@router.post("/goals/{goal_id}/replacement", response_model=GoalVersionPublic, status_code=201)
def replace_goal(goal_id: str, body: GoalReplacement, db: DbDep, actor: ActorDep) -> Goal:
    """Close the goal as changed and agree the goal that replaces it (returned)."""
    _, new = goals.replace_goal(db, actor, goal_id, **body.model_dump())
    db.commit()
    return new


@router.post("/goals/{goal_id}/close", response_model=GoalVersionPublic)
def close_goal(goal_id: str, body: GoalClosure, db: DbDep, actor: ActorDep) -> Goal:
    """Close the goal: achieved, no longer wanted, or changed, with the reason."""
    goal = goals.close_goal(db, actor, goal_id, status=body.status, reason=body.reason)
    db.commit()
    return goal


@router.post(
    "/sessions/{session_id}/goal-ratings", response_model=GoalRatingPublic, status_code=201
)
def rate_goal(
    session_id: str,
    body: GoalRatingIn,
    db: DbDep,
    actor: ActorDep,
    clinic: ClinicDep,
    background: BackgroundTasks,
) -> GoalRating:
    """Progress towards a goal in this session, 0–10, by the client or the clinician; the
    client's ratings are then analysed (goal signals)."""
    rating = goals.rate_goal(
        db,
        actor,
        session_id,
        body.goal_id,
        value=body.value,
        rater=body.rater,
        source="api" if actor.kind == "token" else "clinician",
    )
    client_id = goals.client_of_session(db, session_id)
    db.commit()
    background.add_task(analyse, clinic, client_id)
    return rating


@router.get("/organization/goals", response_model=GoalLimit)
def goal_settings(db: DbDep, actor: ActorDep) -> GoalLimit:
    """How many goals an episode may hold at once."""
    org = organization(db, actor)
    db.commit()
    return GoalLimit(max_goals=org.max_goals)


@router.put("/organization/goals", response_model=GoalLimit)
def change_goal_settings(body: GoalLimit, db: DbDep, actor: ActorDep) -> GoalLimit:
    """Allow up to five goals at once (admins); goal-based outcomes suggest three."""
    org = goals.set_goal_limit(db, actor, body.max_goals)
    db.commit()
    return GoalLimit(max_goals=org.max_goals)
