"""Placing the rows of an import in the database: which client, episode and session each
row belongs to, which of those must be created, and every reason a row cannot be placed.

The rules are listed in :mod:`alliance.services.exchange.imports`; this module checks them for the
whole file before anything is written (:func:`place_rows`), then creates what is missing in
one go (:meth:`Placement.create`).
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from dataclasses import dataclass, field

import pandas as pd
from sqlalchemy import select
from sqlalchemy.orm import Session

from alliance.services import audit
from alliance.services.context import Actor
from alliance.services.exchange.import_problems import Problems
from alliance.services.exchange.results import ImportResult
from alliance.services.exchange.tables import (
    EPISODE_ALLOWED,
    episode_label,
    episode_number,
    episode_order,
)
from alliance.store.base import utcnow
from alliance.store.models import Client, Episode, User
from alliance.store.models import Session as SessionRow
from alliance.text import counted

CLINICAL = ("clinician", "supervisor")
CLINICIAN_ALLOWED = "the username of an active clinician or supervisor of this organization"
ASSIGN_RULE = (
    "a new client or episode may go to you or, for a supervisor, to the team; not to the "
    "clinician named"
)


@dataclass
class EpisodePlan:
    code: str
    number: int
    row: Episode | None  # None: to be created
    start: dt.date
    last: dt.date
    clinician: User | None = None
    close: bool = False


@dataclass
class SessionPlan:
    episode: tuple[str, int]
    number: int
    date: dt.date
    first_row: int
    row: SessionRow | None  # None: to be created


@dataclass
class Placement:
    """Where every row goes; :meth:`create` writes what does not exist yet."""

    clients: dict[str, Client | None]
    episodes: dict[tuple[str, int], EpisodePlan]
    sessions: dict[tuple[str, int, int], SessionPlan]
    row_sessions: list[tuple[str, int, int]]
    client_rows: dict[str, Client] = field(default_factory=dict)

    def existing_session_ids(self) -> list[str]:
        return sorted(p.row.id for p in self.sessions.values() if p.row is not None)

    def create(self, db: Session, actor: Actor, result: ImportResult) -> None:
        """Create the missing clients, episodes and sessions (one audit event each)."""
        new_clients = []
        for code, client in self.clients.items():
            if client is not None:
                self.client_rows[code] = client
                continue
            mine = [p for p in self.episodes.values() if p.code == code]
            latest = max(mine, key=lambda p: p.number)
            if latest.clinician is None:
                raise RuntimeError("a new client without a clinician passed the checks")
            row = Client(
                organization_id=actor.organization_id,
                code=code,
                clinician_id=latest.clinician.id,
                language="en",
            )
            db.add(row)
            self.client_rows[code] = row
            new_clients.append(row)
        db.flush()
        base = utcnow()
        new_episodes: list[Episode] = []
        for plan in sorted(self.episodes.values(), key=lambda p: (p.code, p.number)):
            if plan.row is not None:
                continue
            if plan.clinician is None:
                raise RuntimeError("a new episode without a clinician passed the checks")
            plan.row = Episode(
                client_id=self.client_rows[plan.code].id,
                clinician_id=plan.clinician.id,
                started_on=plan.start,
                ended_on=plan.last if plan.close else None,
                end_reason="other" if plan.close else None,
                # distinct creation times keep E1, E2 … in order when two start on one day
                created_at=base + dt.timedelta(microseconds=len(new_episodes)),
            )
            db.add(plan.row)
            new_episodes.append(plan.row)
        db.flush()
        new_sessions: list[SessionRow] = []
        for planned in self.sessions.values():
            if planned.row is not None:
                continue
            parent = self.episodes[planned.episode].row
            if parent is None:
                raise RuntimeError("a session of an episode that was not created")
            planned.row = SessionRow(episode_id=parent.id, number=planned.number, date=planned.date)
            db.add(planned.row)
            new_sessions.append(planned.row)
        db.flush()
        for client in new_clients:
            audit.record(db, actor, "create", "client", client.id, source="import")
        for episode in new_episodes:
            audit.record(
                db,
                actor,
                "create",
                "episode",
                episode.id,
                client=episode.client_id,
                source="import",
                closed=episode.ended_on is not None,
            )
        for session in new_sessions:
            audit.record(
                db,
                actor,
                "create",
                "session",
                session.id,
                episode=session.episode_id,
                source="import",
            )
        result.clients_created += len(new_clients)
        result.episodes_created += len(new_episodes)
        result.sessions_created += len(new_sessions)

    def session_of(self, i: int) -> tuple[SessionRow, Episode, Client]:
        key = self.row_sessions[i]
        session = self.sessions[key].row
        episode = self.episodes[(key[0], key[1])].row
        if session is None or episode is None:
            raise RuntimeError("rows are placed only after create()")
        return session, episode, self.client_rows[key[0]]


def place_rows(
    db: Session,
    actor: Actor,
    table: pd.DataFrame,
    problems: Problems,
    *,
    chosen: User | None,
    clients: dict[str, Client | None],
) -> Placement:
    """Check where every row goes (problems are added to ``problems``)."""
    codes = table["client"].astype("str").str.strip().tolist()
    labels = table["episode"].astype("str").tolist()
    numbers = [int(n) for n in table["session"].tolist()]
    dates = [d.date() for d in pd.to_datetime(table["date"])]
    named = [
        None if pd.isna(v) or not str(v).strip() else str(v).strip().lower()
        for v in table["clinician"]
    ]

    ordinals: list[int | None] = []
    for i, label in enumerate(labels):
        n = episode_number(label)
        if n is None:
            problems.row(i, "not an episode number", "episode", label, EPISODE_ALLOWED)
        ordinals.append(n)

    existing = _episodes(db, [c.id for c in clients.values() if c is not None])
    users = _users(db, actor, {n for n in named if n})
    me = db.get(User, actor.user_id) if actor.user_id and actor.role in CLINICAL else None
    rows_of: dict[tuple[str, int], list[int]] = defaultdict(list)
    for i, (code, n) in enumerate(zip(codes, ordinals, strict=True)):
        if n is not None:
            rows_of[(code, n)].append(i)

    def clinician_for(i: int) -> User | None:
        if chosen is not None:
            return chosen
        name = named[i]
        if name is None:
            if me is None:
                problems.row(
                    i,
                    "no clinician for the new client or episode: name one in the clinician "
                    "column or choose one for the import",
                    "clinician",
                    allowed=CLINICIAN_ALLOWED,
                )
            return me
        user = users.get(name)
        if user is None:
            problems.row(
                i, "no such clinician in this organization", "clinician", name, CLINICIAN_ALLOWED
            )
        elif not may_assign(actor, user):
            problems.row(
                i,
                ASSIGN_RULE,
                "clinician",
                name,
            )
            return None
        return user

    episodes: dict[tuple[str, int], EpisodePlan] = {}
    for code in sorted({c for c, _ in rows_of}):
        client = clients.get(code)
        held = existing.get(client.id, []) if client is not None else []
        wanted = sorted(n for c, n in rows_of if c == code)
        for n in wanted:
            if n <= len(held):
                old = held[n - 1]
                episodes[(code, n)] = EpisodePlan(code, n, old, old.started_on, old.started_on)
        previous = held[-1].started_on if held else None
        following = len(held) + 1
        new = [n for n in wanted if n > len(held)]
        for n in new:
            rows = rows_of[(code, n)]
            if held and held[-1].ended_on is None:
                for i in rows:
                    problems.row(
                        i,
                        f"the client's episode {episode_label(len(held))} is open; close it "
                        "before importing the new episode",
                        "episode",
                        labels[i],
                        allowed=", ".join(episode_label(m) for m in range(1, len(held) + 1)),
                    )
                continue
            if n != following:
                for i in rows:
                    problems.row(
                        i,
                        f"the client has {counted(following - 1, 'episode')} before this one, "
                        f"so this one is {episode_label(following)}, not the file's episode",
                        "episode",
                        labels[i],
                        allowed=episode_label(following),
                    )
                continue
            start = min(dates[i] for i in rows)
            if previous is not None and start < previous:
                first = min(rows, key=lambda i: dates[i])
                problems.row(
                    first,
                    f"episode {episode_label(n)} would start before the episode before it "
                    f"({previous.isoformat()}), on the file's date",
                    "date",
                    start.isoformat(),
                    allowed=f"{previous.isoformat()} or later",
                )
            episodes[(code, n)] = EpisodePlan(
                code, n, None, start, max(dates[i] for i in rows), clinician=clinician_for(rows[0])
            )
            previous, following = start, following + 1
        created = [episodes[(code, n)] for n in new if (code, n) in episodes]
        for earlier in created[:-1]:
            earlier.close = True  # a client keeps one open episode: the latest

    sessions = _sessions(db, [p.row.id for p in episodes.values() if p.row is not None])
    plans: dict[tuple[str, int, int], SessionPlan] = {}
    row_sessions: list[tuple[str, int, int]] = []
    for i, (code, n) in enumerate(zip(codes, ordinals, strict=True)):
        key = (code, n or 0, numbers[i])
        row_sessions.append(key)
        episode = episodes.get((code, n)) if n is not None else None
        if episode is None:
            continue
        seen = plans.get(key)
        where = f"session {numbers[i]} of {episode_label(episode.number)}"
        if seen is not None:
            if seen.date != dates[i]:
                problems.row(
                    i,
                    f"{where} is dated {seen.date.isoformat()} on an earlier row of the file, "
                    "not this row's date",
                    "date",
                    dates[i].isoformat(),
                    allowed=seen.date.isoformat(),
                )
            continue
        stored = sessions.get((episode.row.id, numbers[i])) if episode.row is not None else None
        if stored is not None:
            if stored.date != dates[i]:
                problems.row(
                    i,
                    f"{where} is dated {stored.date.isoformat()} in the database, not the "
                    "file's date",
                    "date",
                    dates[i].isoformat(),
                    allowed=stored.date.isoformat(),
                )
        elif numbers[i] < 1:
            problems.row(i, "session numbers start at 1", "session", numbers[i], allowed="1, 2, …")
        elif episode.row is not None and episode.row.ended_on is not None:
            problems.row(
                i,
                f"episode {episode_label(episode.number)} was closed on "
                f"{episode.row.ended_on.isoformat()}, so it cannot get a new session",
                "session",
                numbers[i],
            )
        elif episode.row is not None and dates[i] < episode.row.started_on:
            problems.row(
                i,
                f"the session would be dated before its episode started "
                f"({episode.row.started_on.isoformat()}), on the file's date",
                "date",
                dates[i].isoformat(),
                allowed=f"{episode.row.started_on.isoformat()} or later",
            )
        plans[key] = SessionPlan((code, episode.number), numbers[i], dates[i], i, stored)
    return Placement(clients, episodes, plans, row_sessions)


def may_assign(actor: Actor, user: User) -> bool:
    """The rule of :func:`alliance.services.records.clients.register_client` for whose client a new
    client may be: one's own, or (a supervisor) a team member's; the installation: anyone's."""
    if actor.is_system or user.id == actor.user_id:
        return True
    return (
        actor.role == "supervisor" and actor.team_id is not None and user.team_id == actor.team_id
    )


def _episodes(db: Session, client_ids: list[str]) -> dict[str, list[Episode]]:
    out: dict[str, list[Episode]] = defaultdict(list)
    for start in range(0, len(client_ids), 500):
        chunk = client_ids[start : start + 500]
        for episode in db.scalars(
            select(Episode).where(Episode.client_id.in_(chunk)).order_by(*episode_order())
        ):
            out[episode.client_id].append(episode)
    return out


def _sessions(db: Session, episode_ids: list[str]) -> dict[tuple[str, int], SessionRow]:
    out: dict[tuple[str, int], SessionRow] = {}
    for start in range(0, len(episode_ids), 500):
        chunk = episode_ids[start : start + 500]
        for row in db.scalars(select(SessionRow).where(SessionRow.episode_id.in_(chunk))):
            out[(row.episode_id, row.number)] = row
    return out


def _users(db: Session, actor: Actor, names: set[str]) -> dict[str, User]:
    if not names:
        return {}
    return {
        u.username: u
        for u in db.scalars(
            select(User).where(
                User.organization_id == actor.organization_id,
                User.username.in_(sorted(names)),
                User.role.in_(CLINICAL),
                User.active,
            )
        )
    }
