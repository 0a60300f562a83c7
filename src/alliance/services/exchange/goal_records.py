"""Goals outside the database: as plain records (for FHIR, :mod:`alliance.interop.fhir_goals`)
and as care events of the tables and research exports.

Events, one row each (columns of ``tables.EVENT_COLUMNS``):

- ``goal_agreed``: date agreed; detail ``goal <n>; proposed by <who>`` (and ``; replaces goal
  <m>``); note the goal in the client's words and what 10 would look like;
- ``goal_revised``: the renegotiated version; detail ``goal <n>; version <v>``; note the new
  words, target and the reason;
- ``goal_closed``: detail ``goal <n>; <achieved | no_longer_wanted | changed>``; note the
  reason;
- ``goal_progress``: a current progress rating; detail ``goal <n>; <client | clinician>;
  <0–10>``; no note.

The session of a change is the last one held on or before its date. Goal words and reasons
are free text: they travel in ``note``, which research exports drop, as they drop notes.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from typing import Any

from sqlalchemy import ColumnElement, select
from sqlalchemy.orm import Session

from alliance.records import Goal as GoalRecord
from alliance.records import GoalProgress
from alliance.services.records.goals import GoalView, load_goals
from alliance.store.models import Client, Episode, User
from alliance.store.models import Session as SessionRow

Row = tuple[Any, ...]


def _goals_in_scope(
    db: Session, organization_id: str, scope: ColumnElement[bool], params: Mapping[str, Any]
) -> tuple[dict[str, list[GoalView]], dict[str, str], dict[str, list[tuple[int, dt.date]]]]:
    episodes = db.execute(
        select(Episode.id, Client.id)
        .join(Client, Client.id == Episode.client_id)
        .where(scope, Client.organization_id == organization_id),
        dict(params),
    ).all()
    client_of: dict[str, str] = {row[0]: row[1] for row in episodes}
    views = load_goals(db, list(client_of))
    held: dict[str, list[tuple[int, dt.date]]] = {}
    if views:
        for episode, number, date in db.execute(
            select(SessionRow.episode_id, SessionRow.number, SessionRow.date)
            .where(SessionRow.episode_id.in_(list(views)))
            .order_by(SessionRow.number)
        ).all():
            held.setdefault(episode, []).append((number, date))
    return views, client_of, held


def _session_of(day: dt.date, sessions: list[tuple[int, dt.date]]) -> int | None:
    before = [number for number, date in sessions if date <= day]
    return max(before) if before else None


def goal_events(
    db: Session,
    labels: Mapping[str, str],
    names: Mapping[str, str],
    *,
    organization_id: str,
    scope: ColumnElement[bool],
    params: Mapping[str, Any],
) -> list[Row]:
    """The goal events of the clients in ``scope`` (see the module docstring)."""
    views, client_of, held = _goals_in_scope(db, organization_id, scope, params)
    rows: list[Row] = []
    for episode, goals in views.items():
        client, label, sessions = names[client_of[episode]], labels[episode], held.get(episode, [])
        numbers = {g.goal_id: n for n, g in enumerate(goals, start=1)}
        for n, view in enumerate(goals, start=1):
            for v in view.versions:
                if v.change == "agreed":
                    day, event = v.agreed_on, "goal_agreed"
                    detail = f"goal {n}; proposed by {v.proposed_by}"
                    if v.replaces_goal_id in numbers:
                        detail += f"; replaces goal {numbers[v.replaces_goal_id]}"
                    note = v.description + (f" | 10 = {v.target}" if v.target else "")
                elif v.change == "revised":
                    day, event = v.agreed_on, "goal_revised"
                    detail = f"goal {n}; version {v.version}"
                    note = f"{v.description} | 10 = {v.target or ''} | reason: {v.reason or ''}"
                else:
                    day, event = v.recorded_at.date(), "goal_closed"
                    detail, note = f"goal {n}; {v.status}", v.reason or ""
                rows.append((client, label, _session_of(day, sessions), day, event, detail, note))
            dates = dict(sessions)
            for r in view.ratings:
                number = view.sessions.get(r.session_id)
                if number is not None:
                    rows.append((client, label, number, dates.get(number), "goal_progress",
                                 f"goal {n}; {r.rater}; {r.value}", None))  # fmt: skip
    return rows


def client_goal_records(
    db: Session, client: Client, labels: Mapping[str, str], code: str
) -> list[GoalRecord]:
    """The client's goals as they stand, with their current progress, as plain records."""
    episodes = list(db.scalars(select(Episode.id).where(Episode.client_id == client.id)))
    views = load_goals(db, episodes)
    clinicians = dict(
        db.execute(
            select(Episode.id, User.username)
            .join(User, User.id == Episode.clinician_id)
            .where(Episode.client_id == client.id)
        ).all()
    )
    out: list[GoalRecord] = []
    for episode, goals in views.items():
        rows = db.execute(
            select(SessionRow.number, SessionRow.date).where(SessionRow.episode_id == episode)
        ).all()
        dates: dict[int, dt.date] = {row[0]: row[1] for row in rows}
        for n, view in enumerate(goals, start=1):
            now = view.current
            out.append(
                GoalRecord(
                    client=code, episode=labels.get(episode, "E1"), goal=view.goal_id, number=n,
                    description=now.description, proposed_by=now.proposed_by,
                    agreed_on=view.versions[0].agreed_on,
                    status=now.status,  # type: ignore[arg-type]
                    version=now.version, target=now.target, reason=now.reason,
                    replaces=now.replaces_goal_id,
                    changed_on=now.recorded_at.date() if now.version > 1 else None,
                    progress=tuple(
                        GoalProgress(
                            session=view.sessions[r.session_id],
                            date=dates[view.sessions[r.session_id]],
                            rater=r.rater,  # type: ignore[arg-type]
                            value=r.value,
                            clinician=clinicians.get(episode) if r.rater == "clinician" else None,
                        )
                        for r in view.ratings
                        if r.session_id in view.sessions
                    ),
                )
            )  # fmt: skip
    return out
