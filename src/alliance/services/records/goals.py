"""Shared goals: agreed with the client in their own words, revised, replaced or closed with a
reason, and rated 0–10 for progress session by session (goal-based outcomes, Law & Jacob
2015).

Nothing is overwritten. A revision or closure adds a version of the goal (same ``goal_id``,
next ``version``) and marks the one before superseded; a replacement closes the goal as
``changed`` and agrees a new one that names it. A new progress rating of the same goal,
session and rater supersedes the one before. Every change and every read is audited with ids
only: the goal's words are client data and never go into the audit trail or a log.

A goal that was revised, or that replaced another, was *renegotiated*: the before-the-session
view marks it as a repair event (agreeing goals again is one way an alliance is repaired).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from alliance.services import audit
from alliance.services.accounts.access import episode_for, require_role, session_for
from alliance.services.accounts.organization import organization
from alliance.services.context import Actor
from alliance.services.errors import Conflict, Invalid, NotFound, check_date
from alliance.store.base import new_id, utcnow
from alliance.store.models import (
    GOAL_PROPOSERS,
    GOAL_RATERS,
    GOAL_STATES,
    Episode,
    Goal,
    GoalRating,
    Organization,
)
from alliance.store.models import Session as SessionRow

TEXT_LIMIT = 500  # characters of a goal or its target: a sentence or two in the client's words
REASON_LIMIT = 1000
MOST_GOALS = 5  # the most a site may allow at once
CLOSED = tuple(s for s in GOAL_STATES if s != "active")


@dataclass
class GoalView:
    """A goal: every version (oldest first) and its current progress ratings."""

    versions: list[Goal]
    ratings: list[GoalRating] = field(default_factory=list)  # current ones, session order
    sessions: dict[str, int] = field(default_factory=dict)  # session id -> number

    @property
    def goal_id(self) -> str:
        return self.versions[0].goal_id

    @property
    def current(self) -> Goal:
        return self.versions[-1]

    @property
    def active(self) -> bool:
        return self.current.status == "active"

    @property
    def renegotiations(self) -> list[Goal]:
        """The versions that renegotiated it: revisions, and the first version when it
        replaced another goal."""
        return [
            v
            for v in self.versions
            if v.change == "revised" or (v.version == 1 and v.replaces_goal_id)
        ]

    def progress(self, rater: str = "client") -> list[tuple[int, int]]:
        """(session number, rating) of one rater, in session order."""
        points = [
            (self.sessions[r.session_id], r.value)
            for r in self.ratings
            if r.rater == rater and r.session_id in self.sessions
        ]
        return sorted(points)


def _text(value: str | None, name: str, *, limit: int, required: bool) -> str | None:
    text = " ".join((value or "").split())
    if not text:
        if required:
            raise Invalid(f"say the {name}", field=name)
        return None
    if len(text) > limit:
        raise Invalid(
            f"the {name} is longer than {limit} characters", field=name, allowed=f"1 to {limit}"
        )
    return text


def _open_episode(db: Session, actor: Actor, episode_id: str) -> Episode:
    episode = episode_for(db, actor, episode_id, write=True)
    if episode.ended_on is not None:
        raise Conflict("the episode is closed; its goals cannot change", field="episode_id")
    return episode


def _current(db: Session, goal_id: str) -> Goal | None:
    return db.scalar(select(Goal).where(Goal.goal_id == goal_id, Goal.superseded_at.is_(None)))


def _writable_goal(db: Session, actor: Actor, goal_id: str) -> tuple[Goal, Episode]:
    goal = _current(db, goal_id)
    if goal is None or goal.organization_id != actor.organization_id:
        raise NotFound(f"no goal {goal_id}")
    try:
        episode = _open_episode(db, actor, goal.episode_id)
    except NotFound:
        raise NotFound(f"no goal {goal_id}") from None
    if goal.status != "active":
        raise Conflict(
            f"the goal is closed ({goal.status.replace('_', ' ')}); agree a new one instead",
            field="goal_id",
        )
    return goal, episode


def goal_limit(db: Session, organization_id: str) -> int:
    org = db.get(Organization, organization_id)
    return org.max_goals if org is not None else 3


def set_goal_limit(db: Session, actor: Actor, limit: int) -> Organization:
    """How many goals an episode may hold at once: 1 to 5 (an admin's setting)."""
    require_role(actor, "admin")
    if isinstance(limit, bool) or not isinstance(limit, int) or not 1 <= limit <= MOST_GOALS:
        raise Invalid(
            "not a number of goals", field="max_goals", value=limit, allowed=f"1 to {MOST_GOALS}"
        )
    org = organization(db, actor)
    org.max_goals = limit
    audit.record(db, actor, "update", "organization", org.id, changed=["max_goals"])
    return org


def agree_goal(
    db: Session,
    actor: Actor,
    episode_id: str,
    *,
    description: str,
    target: str | None = None,
    proposed_by: str = "together",
    agreed_on: dt.date | None = None,
    replaces_goal_id: str | None = None,
) -> Goal:
    """Record a goal agreed in an episode, in the client's words, with who proposed it, the
    date agreed and what 10 would look like. An episode holds at most the organization's
    ``max_goals`` active goals."""
    episode = _open_episode(db, actor, episode_id)
    words = _text(description, "description", limit=TEXT_LIMIT, required=True) or ""
    aim = _text(target, "target", limit=TEXT_LIMIT, required=False)
    if proposed_by not in GOAL_PROPOSERS:
        raise Invalid(
            "who proposed the goal?",
            field="proposed_by",
            value=proposed_by,
            allowed=", ".join(GOAL_PROPOSERS),
        )
    agreed_on = agreed_on or dt.date.today()
    check_date(agreed_on, "agreed_on")
    if agreed_on < episode.started_on:
        raise Invalid(
            "a goal cannot be agreed before its episode started",
            field="agreed_on",
            value=agreed_on.isoformat(),
        )
    limit = goal_limit(db, episode_organization(actor))
    active = db.scalar(
        select(func.count())
        .select_from(Goal)
        .where(Goal.episode_id == episode.id, Goal.superseded_at.is_(None), Goal.status == "active")
    )
    if (active or 0) >= limit:
        raise Conflict(
            f"this episode already has {limit} active goals, the most this service allows; "
            "close or replace one first",
            field="episode_id",
        )
    first = new_id()
    goal = Goal(
        id=first,
        goal_id=first,
        organization_id=episode_organization(actor),
        episode_id=episode.id,
        version=1,
        description=words,
        target=aim,
        proposed_by=proposed_by,
        agreed_on=agreed_on,
        status="active",
        change="agreed",
        replaces_goal_id=replaces_goal_id,
        recorded_by=actor.user_id,
    )
    db.add(goal)
    db.flush()
    audit.record(db, actor, "create", "goal", goal.goal_id, episode=episode.id, version=1)
    return goal


def _new_version(db: Session, actor: Actor, before: Goal, **changes: object) -> Goal:
    before.superseded_at = utcnow()
    db.flush()  # the old version stops being current before the new one is
    kept = {
        name: getattr(before, name)
        for name in ("organization_id", "episode_id", "goal_id", "description", "target",
                     "proposed_by", "agreed_on", "status", "replaces_goal_id")
    }  # fmt: skip
    after = Goal(**(kept | changes), version=before.version + 1, recorded_by=actor.user_id)
    db.add(after)
    db.flush()
    audit.record(
        db,
        actor,
        "update",
        "goal",
        after.goal_id,
        episode=after.episode_id,
        version=after.version,
        change=after.change,
    )
    return after


def revise_goal(
    db: Session,
    actor: Actor,
    goal_id: str,
    *,
    reason: str,
    description: str | None = None,
    target: str | None = None,
    agreed_on: dt.date | None = None,
) -> Goal:
    """Renegotiate a goal's words or target (a new version; the old one is kept)."""
    before, _ = _writable_goal(db, actor, goal_id)
    why = _text(reason, "reason", limit=REASON_LIMIT, required=True)
    words = _text(description, "description", limit=TEXT_LIMIT, required=False)
    aim = _text(target, "target", limit=TEXT_LIMIT, required=False)
    if (words or before.description) == before.description and (aim or before.target) == (
        before.target
    ):
        raise Invalid("the revision changes nothing: give new words or a new target")
    agreed_on = agreed_on or dt.date.today()
    check_date(agreed_on, "agreed_on")
    return _new_version(
        db,
        actor,
        before,
        description=words or before.description,
        target=aim or before.target,
        agreed_on=agreed_on,
        change="revised",
        reason=why,
    )


def close_goal(db: Session, actor: Actor, goal_id: str, *, status: str, reason: str) -> Goal:
    """Close a goal: ``achieved``, ``no_longer_wanted`` or ``changed``, with the reason."""
    if status not in CLOSED:
        raise Invalid(
            "how did the goal end?", field="status", value=status, allowed=", ".join(CLOSED)
        )
    before, _ = _writable_goal(db, actor, goal_id)
    why = _text(reason, "reason", limit=REASON_LIMIT, required=True)
    return _new_version(db, actor, before, status=status, change="closed", reason=why)


def replace_goal(
    db: Session,
    actor: Actor,
    goal_id: str,
    *,
    reason: str,
    description: str,
    target: str | None = None,
    proposed_by: str = "together",
    agreed_on: dt.date | None = None,
) -> tuple[Goal, Goal]:
    """Close a goal as ``changed`` and agree the one that replaces it. Returns (the closed
    goal's last version, the new goal)."""
    closed = close_goal(db, actor, goal_id, status="changed", reason=reason)
    new = agree_goal(
        db,
        actor,
        closed.episode_id,
        description=description,
        target=target,
        proposed_by=proposed_by,
        agreed_on=agreed_on,
        replaces_goal_id=closed.goal_id,
    )
    return closed, new


def rate_goal(
    db: Session,
    actor: Actor,
    session_id: str,
    goal_id: str,
    *,
    value: int,
    rater: str = "client",
    source: str = "clinician",
) -> GoalRating:
    """Progress towards a goal in a session, 0 (not at all) to 10 (the goal reached), by the
    client or the clinician. A new rating of the same goal, session and rater replaces the
    current one, which is kept."""
    session, episode, _ = session_for(db, actor, session_id, write=True)
    goal = _current(db, goal_id)
    if goal is None or goal.episode_id != episode.id:
        raise NotFound(f"no goal {goal_id} in this session's episode", field="goal_id")
    if rater not in GOAL_RATERS:
        raise Invalid("whose rating?", field="rater", value=rater, allowed=", ".join(GOAL_RATERS))
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= 10:
        raise Invalid("progress is a whole number", field="value", value=value, allowed="0 to 10")
    held = db.scalar(
        select(GoalRating).where(
            GoalRating.goal_id == goal.goal_id,
            GoalRating.session_id == session.id,
            GoalRating.rater == rater,
            GoalRating.superseded_at.is_(None),
        )
    )
    if held is not None:
        if held.value == value:
            return held  # the same rating again: nothing to replace
        held.superseded_at = utcnow()
        db.flush()
    rating = GoalRating(
        organization_id=episode_organization(actor),
        goal_id=goal.goal_id,
        session_id=session.id,
        rater=rater,
        value=value,
        source=source,
        entered_by=actor.user_id,
    )
    db.add(rating)
    db.flush()
    audit.record(
        db,
        actor,
        "create",
        "goal_rating",
        rating.id,
        goal=goal.goal_id,
        session=session.id,
        replaces=held.id if held else None,
    )
    return rating


def client_of_session(db: Session, session_id: str) -> str:
    """The client id of a session the caller has just written to."""
    return (
        db.scalar(
            select(Episode.client_id)
            .join(SessionRow, SessionRow.episode_id == Episode.id)
            .where(SessionRow.id == session_id)
        )
        or ""
    )


def episode_organization(actor: Actor) -> str:
    if actor.organization_id is None:
        raise NotFound("no organization")
    return actor.organization_id


def load_goals(db: Session, episode_ids: list[str]) -> dict[str, list[GoalView]]:
    """The goals of episodes the caller may already read, by episode id, oldest first (no
    access check and no audit: for read models whose caller did both)."""
    if not episode_ids:
        return {}
    versions = db.scalars(
        select(Goal)
        .where(Goal.episode_id.in_(episode_ids))
        .order_by(Goal.episode_id, Goal.recorded_at, Goal.goal_id, Goal.version)
    ).all()
    by_goal: dict[str, GoalView] = {}
    for v in versions:
        by_goal.setdefault(v.goal_id, GoalView(versions=[])).versions.append(v)
    for view in by_goal.values():
        view.versions.sort(key=lambda g: g.version)
    if by_goal:
        sessions = db.execute(
            select(SessionRow.id, SessionRow.number).where(SessionRow.episode_id.in_(episode_ids))
        ).all()
        numbers: dict[str, int] = {row.id: row.number for row in sessions}
        ratings = db.scalars(
            select(GoalRating).where(
                GoalRating.goal_id.in_(list(by_goal)), GoalRating.superseded_at.is_(None)
            )
        ).all()
        for r in sorted(ratings, key=lambda r: numbers.get(r.session_id, 0)):
            by_goal[r.goal_id].ratings.append(r)
        for view in by_goal.values():
            view.sessions = numbers
    out: dict[str, list[GoalView]] = {}
    for view in by_goal.values():
        out.setdefault(view.versions[0].episode_id, []).append(view)
    return out


def episode_goals(db: Session, actor: Actor, episode_id: str) -> list[GoalView]:
    """The goals of an episode the actor may read: every version and the current ratings."""
    episode = episode_for(db, actor, episode_id)
    goals = load_goals(db, [episode.id]).get(episode.id, [])
    audit.record(db, actor, "read", "goals", episode.id, goals=len(goals))
    return goals


def shown_goals(db: Session, actor: Actor, episode_id: str) -> list[GoalView]:
    """The goals of an episode whose client's timeline the actor has just read (and was
    allowed to): loaded and the reading audited, without checking access again."""
    views = load_goals(db, [episode_id]).get(episode_id, [])
    audit.record(db, actor, "read", "goals", episode_id, goals=len(views))
    return views


def goal_history(db: Session, actor: Actor, goal_id: str) -> GoalView:
    """One goal with every version and every progress rating, superseded ones too."""
    first = db.scalar(select(Goal).where(Goal.goal_id == goal_id, Goal.version == 1))
    if first is None or first.organization_id != actor.organization_id:
        raise NotFound(f"no goal {goal_id}")
    try:
        episode_for(db, actor, first.episode_id)
    except NotFound:
        raise NotFound(f"no goal {goal_id}") from None
    view = load_goals(db, [first.episode_id])[first.episode_id]
    goal = next(g for g in view if g.goal_id == goal_id)
    goal.ratings = list(
        db.scalars(
            select(GoalRating)
            .where(GoalRating.goal_id == goal_id)
            .order_by(GoalRating.entered_at, GoalRating.id)
        )
    )
    audit.record(db, actor, "read", "goal", goal_id)
    return goal
