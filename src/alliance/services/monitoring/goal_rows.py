"""Goal progress ratings as rows of the analytics' tidy table (``instrument = goals``,
``scale = goal_<n>``, :mod:`alliance.analytics.goal_scale`), numbered as the client's page
numbers the goals: by when each was first agreed in its episode."""

from __future__ import annotations

from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from alliance.analytics.goal_scale import GOAL_INSTRUMENT, goal_scale
from alliance.store.models import Client, Episode, Goal, GoalRating, User
from alliance.store.models import Session as SessionRow


def goal_progress_rows(db: Session, where: list[Any]) -> list[tuple[Any, ...]]:
    """Current progress ratings of the clients ``where`` selects (conditions on
    :class:`Client` and :class:`Episode`), as tidy rows in the column order of
    ``analysis.COLUMNS``."""
    rows = db.execute(
        select(
            Client.code,
            Episode.id,
            SessionRow.number,
            SessionRow.date,
            GoalRating.rater,
            GoalRating.goal_id,
            GoalRating.value,
            User.username,
            GoalRating.id,
        )
        .join(Episode, Episode.client_id == Client.id)
        .join(SessionRow, SessionRow.episode_id == Episode.id)
        .join(GoalRating, GoalRating.session_id == SessionRow.id)
        .join(User, User.id == Episode.clinician_id)
        .where(*where, GoalRating.superseded_at.is_(None))
    ).all()
    if not rows:
        return []
    numbers = goal_numbers(db, sorted({row[1] for row in rows}))
    return [
        (code, episode, number, date, GOAL_INSTRUMENT, rater, goal_scale(numbers[goal]),
         float(value), "1.0", "self", who, rating)
        for code, episode, number, date, rater, goal, value, who, rating in rows
    ]  # fmt: skip


def goal_numbers(db: Session, episode_ids: list[str]) -> dict[str, int]:
    """goal id -> its place in its episode (1, 2, …), by when it was first agreed."""
    firsts = db.execute(
        select(Goal.goal_id, Goal.episode_id)
        .where(Goal.episode_id.in_(episode_ids), Goal.version == 1)
        .order_by(Goal.episode_id, Goal.recorded_at, Goal.goal_id)
    ).all()
    out: dict[str, int] = {}
    counts: dict[str, int] = {}
    for goal, episode in firsts:
        counts[episode] = counts.get(episode, 0) + 1
        out[goal] = counts[episode]
    return out


def goal_marker(db: Session, client_id: str) -> tuple[Any, ...]:
    """Changes whenever the client's goal ratings change (for the signals' cache)."""
    row = db.execute(
        select(func.count(GoalRating.id), func.max(GoalRating.entered_at))
        .join(SessionRow, SessionRow.id == GoalRating.session_id)
        .join(Episode, Episode.id == SessionRow.episode_id)
        .where(Episode.client_id == client_id)
    ).one()
    return (row[0], row[1])
