"""The caseload's status of each client: the latest alliance score and its trend, where the
outcome stands against its expected track (on track, off track, not enough data; as the
before-the-session view judges it, ``status.py``), and the rating due — read for the whole
caseload in a few queries, then sorted by what needs attention and filtered."""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from dataclasses import dataclass, replace

import numpy as np
from sqlalchemy import ColumnElement, bindparam, select
from sqlalchemy.orm import Session

from alliance.analytics.expected import TRACK_UNKNOWN, ExpectedTrajectory
from alliance.instruments.registry import Registry
from alliance.services.context import Actor
from alliance.services.errors import Invalid
from alliance.services.monitoring.analysis import reference
from alliance.services.records.timeline import CaseloadRow, caseload
from alliance.store.alerts import PRIORITIES
from alliance.store.models import Administration, Episode, Score
from alliance.store.models import Session as SessionRow


def _g(value: float) -> str:
    return f"{value:.1f}".rstrip("0").rstrip(".")


@dataclass(frozen=True)
class Latest:
    """A client's latest rating on a measure and the one before it."""

    instrument: str
    value: float
    previous: float | None
    higher_is: str

    @property
    def trend(self) -> str:
        """``up``, ``down`` or ``same`` (the direction of the number), ``new`` if first."""
        if self.previous is None:
            return "new"
        if self.value == self.previous:
            return "same"
        return "up" if self.value > self.previous else "down"

    @property
    def worse(self) -> bool:
        """The latest rating is worse than the one before."""
        if self.previous is None or self.value == self.previous:
            return False
        return (self.value > self.previous) != (self.higher_is == "better")

    def trend_text(self) -> str:
        if self.previous is None:
            return "first rating"
        if self.value == self.previous:
            return f"unchanged from {_g(self.previous)}"
        better = (self.value > self.previous) == (self.higher_is == "better")
        return f"{self.trend} from {_g(self.previous)} ({'better' if better else 'worse'})"


@dataclass(frozen=True)
class ClientStatus:
    """A caseload row's status: alliance, outcome against its track, the rating due."""

    alliance: Latest | None
    outcome: str  # on track, off track, not enough data
    outcome_instrument: str | None
    due_session: int | None  # the latest session, when the client has not rated it yet
    due_date: dt.date | None
    open_episode: bool

    @property
    def overdue(self) -> bool:
        return self.due_session is not None


NO_STATUS = ClientStatus(None, TRACK_UNKNOWN, None, None, None, False)


EARLY, LATE = 2, 4
"""Sessions read first: an episode's first EARLY (for the outcome's intake) and last LATE."""

Points = dict[tuple[str, str], list[tuple[int, float]]]  # (episode, instrument) → ratings


def _ratings(
    db: Session, sessions: ColumnElement[bool], params: dict[str, list[str]]
) -> tuple[Points, dict[str, str]]:
    """The client's own current totals in the chosen sessions (a condition on sessions with
    its bound ``params``), per episode and instrument in session order (of two in one
    session, the one entered last), and each instrument's version."""
    newer = (
        select(Administration.supersedes_id)
        .where(Administration.supersedes_id.is_not(None))
        .scalar_subquery()
    )
    series: Points = defaultdict(list)
    versions: dict[str, str] = {}
    # plain rows from the connection: the ORM's row handling was a third of the time here
    for episode_id, number, instrument, version, value in (
        db.connection()
        .execute(
            select(
                SessionRow.episode_id,
                SessionRow.number,
                Administration.instrument,
                Administration.version,
                Score.value,
            )
            .join(Administration, Administration.session_id == SessionRow.id)
            .join(Score, Score.administration_id == Administration.id)
            .where(
                sessions,
                Administration.perspective == "client",
                Administration.stance == "self",
                Administration.id.not_in(newer),
                Score.scale == "total",
                Score.value.is_not(None),
            )
            .order_by(SessionRow.episode_id, SessionRow.number, Administration.entered_at),
            params,
        )
        .all()
    ):
        if value is None:  # excluded by the query; for the type checker
            continue
        points = series[(episode_id, instrument)]
        if points and points[-1][0] == number:
            points[-1] = (number, float(value))  # the latest entered counts
        else:
            points.append((number, float(value)))
        versions[instrument] = version
    return dict(series), versions


def _kinds(
    registry: Registry, versions: dict[str, str], known: dict[str, tuple[str, str]]
) -> dict[str, tuple[str, str]]:
    """Each instrument's kind and direction (``higher_is`` of its total)."""
    found: dict[str, tuple[str, str]] = {}
    for instrument, version in versions.items():
        if instrument in known:
            continue
        try:
            inst = registry.get(instrument, version)
            found[instrument] = (inst.kind, inst.scale("total").higher_is)
        except KeyError:
            continue  # a definition the site no longer loads
    return found


def _complete(
    points_of: dict[str, list[tuple[int, float]]],
    kinds: dict[str, tuple[str, str]],
    late_from: int,
    early_to: int,
) -> bool:
    """Whether an episode's ratings in its first EARLY sessions (numbers up to ``early_to``)
    and last LATE (from ``late_from``) give what reading them all would: the newest alliance
    measure's last two ratings and the newest outcome measure's first and last. A measure
    none of whose ratings were read may still lie between: then they do not."""
    for kind in ("alliance", "outcome"):
        measures = [(i, p) for i, p in points_of.items() if kinds.get(i, ("",))[0] == kind]
        if not measures:
            return False
        _, points = max(measures, key=lambda m: (m[1][-1][0], m[0]))
        if points[-1][0] < late_from:
            return False
        if kind == "alliance" and (len(points) < 2 or points[-2][0] < late_from):
            return False
        if kind == "outcome" and points[0][0] > early_to:
            return False
    return True


def client_statuses(
    db: Session,
    registry: Registry,
    rows: list[CaseloadRow],
    trajectories: ExpectedTrajectory | None,
) -> dict[str, ClientStatus]:
    """The status of each caseload row's client, from their latest episode, in a few queries
    for the whole caseload. Access was checked (and the reading audited) by the caseload."""
    ids = [r.client_id for r in rows]
    if not ids:
        return {}
    latest_episode: dict[str, str] = {}
    for client_id, episode_id in db.execute(
        select(Episode.client_id, Episode.id)
        .where(Episode.client_id.in_(ids))
        .order_by(Episode.started_on, Episode.created_at)
    ).all():
        latest_episode[client_id] = episode_id  # the last one wins
    episodes = list(latest_episode.values())
    # Most of a long episode's ratings change nothing here, and reading them all was most of
    # the page's time: read the first EARLY and the last LATE sessions of each episode, and
    # the whole episode only where those cannot tell (see ``_complete``).
    latest_ids = set(episodes)
    open_ids = {r.open_episode_id for r in rows if r.open_episode_id in latest_ids}
    numbers: dict[str, list[int]] = defaultdict(list)  # session numbers in order
    window: list[str] = []  # ids of the sessions read first
    last_attended: dict[str, tuple[str, int, dt.date]] = {}  # open episodes: id, number, date
    by_episode_sessions: dict[str, list[tuple[str, int, dt.date, bool]]] = defaultdict(list)
    for session_id, episode_id, number, date, attended in (
        db.connection()
        .execute(
            select(
                SessionRow.id,
                SessionRow.episode_id,
                SessionRow.number,
                SessionRow.date,
                SessionRow.attended,
            )
            .where(SessionRow.episode_id.in_(episodes))
            .order_by(SessionRow.episode_id, SessionRow.number)
        )
        .all()
    ):
        by_episode_sessions[episode_id].append((session_id, number, date, attended))
    for episode_id, sessions in by_episode_sessions.items():
        numbers[episode_id] = [n for _, n, _, _ in sessions]
        window += [i for i, _, _, _ in sessions[:EARLY] + sessions[EARLY:][-LATE:]]
        held = [(i, n, d) for i, n, d, a in sessions if a]
        if episode_id in open_ids and held:
            last_attended[episode_id] = held[-1]
    # a bound list: no per-value work when the statement is built
    series, versions = _ratings(
        db, SessionRow.id.in_(bindparam("window", expanding=True)), {"window": window}
    )
    rated = set(
        db.scalars(
            select(Administration.session_id).where(
                Administration.session_id.in_([i for i, _, _ in last_attended.values()]),
                Administration.perspective == "client",
                Administration.stance == "self",
            )
        )
    )
    kinds = _kinds(registry, versions, {})
    read: dict[str, dict[str, list[tuple[int, float]]]] = defaultdict(dict)
    for (episode_id, instrument), points in series.items():
        read[episode_id][instrument] = points
    incomplete = [
        e
        for e in episodes
        if len(numbers[e]) > EARLY + LATE
        and not _complete(read[e], kinds, numbers[e][-LATE], numbers[e][EARLY - 1])
    ]
    if incomplete:
        for key in [k for k in series if k[0] in incomplete]:
            del series[key]
        more, more_versions = _ratings(
            db,
            SessionRow.episode_id.in_(bindparam("episodes", expanding=True)),
            {"episodes": incomplete},
        )
        series.update(more)
        kinds.update(_kinds(registry, more_versions, kinds))
    by_episode: dict[str, dict[str, list[tuple[int, float]]]] = defaultdict(dict)
    for (episode_id, instrument), points in series.items():
        if instrument in kinds:
            by_episode[episode_id][instrument] = points

    def newest(episode_id: str, kind: str) -> tuple[str, list[tuple[int, float]]] | None:
        found = [(i, p) for i, p in by_episode[episode_id].items() if kinds[i][0] == kind]
        return max(found, key=lambda f: (f[1][-1][0], f[0])) if found else None

    outcome_rows: list[tuple[str, str, float, int, float]] = []  # client, instrument, …
    statuses: dict[str, ClientStatus] = {}
    for row in rows:
        client_id = row.client_id
        latest = latest_episode.get(client_id)
        if latest is None:
            statuses[client_id] = NO_STATUS
            continue
        episode_id = latest
        alliance = None
        found = newest(episode_id, "alliance")
        if found is not None:
            instrument, points = found
            alliance = Latest(
                instrument,
                points[-1][1],
                points[-2][1] if len(points) >= 2 else None,
                kinds[instrument][1],
            )
        outcome = newest(episode_id, "outcome")
        if outcome is not None and len(outcome[1]) >= 2:
            instrument, points = outcome
            outcome_rows.append((client_id, instrument, points[0][1], *points[-1]))
        due_session, due_date = None, None
        last = last_attended.get(episode_id)
        if last is not None and last[0] not in rated:
            _, due_session, due_date = last
        statuses[client_id] = ClientStatus(
            alliance,
            TRACK_UNKNOWN,
            outcome[0] if outcome else None,
            due_session,
            due_date,
            row.open_episode_id is not None,
        )
    if trajectories is not None and outcome_rows:
        for instrument in {r[1] for r in outcome_rows}:
            mine = [r for r in outcome_rows if r[1] == instrument]
            tracks = trajectories.track(
                instrument,
                "total",
                np.array([r[2] for r in mine], dtype=np.float64),
                np.array([r[3] for r in mine]),
                np.array([r[4] for r in mine], dtype=np.float64),
                higher_is_better=kinds[instrument][1] == "better",
            )
            for r, track in zip(mine, tracks, strict=True):
                statuses[r[0]] = replace(statuses[r[0]], outcome=track)
    return statuses


SHOW = {
    "all": "everyone",
    "alerts": "with open alerts",
    "off": "outcome off track",
    "due": "a rating due",
}
"""The caseload's filters: value → what the page says."""


@dataclass(frozen=True)
class CaseloadEntry:
    row: CaseloadRow
    status: ClientStatus

    def attention_key(self, today: dt.date) -> tuple[object, ...]:
        """Urgent risk first, then open alerts by priority, then outcomes off track, then
        ratings due, then the longest since the last session."""
        row = self.row
        counts = tuple(-row.alerts.get(p, 0) for p in PRIORITIES)
        return (
            *counts,
            self.status.outcome != "off track",
            not self.status.overdue,
            -(row.sessions - row.rated_sessions),
            -(today - (row.last_session or today)).days,
            row.code,
        )

    def shown_by(self, show: str) -> bool:
        match show:
            case "alerts":
                return bool(self.row.alerts)
            case "off":
                return self.status.outcome == "off track"
            case "due":
                return self.status.overdue
        return True


@dataclass(frozen=True)
class CaseloadView:
    entries: list[CaseloadEntry]  # the ones shown, needing attention first
    found: int  # before ``show`` narrowed them (after the search)
    urgent: list[CaseloadEntry]  # every client found with an urgent alert, shown or not


def caseload_with_status(
    db: Session,
    actor: Actor,
    registry: Registry,
    *,
    scope: str = "own",
    clinician_id: str | None = None,
    search: str | None = None,
    show: str = "all",
    today: dt.date | None = None,
) -> CaseloadView:
    """The caseload (``timeline.caseload``: access checked, reading audited) with each
    client's status, needing attention first, narrowed to ``show`` (a key of :data:`SHOW`)."""
    if show not in SHOW:
        raise Invalid("unknown filter", field="show", value=show, allowed=", ".join(SHOW))
    rows = caseload(db, actor, scope=scope, clinician_id=clinician_id, search=search)
    if not rows:
        return CaseloadView([], 0, [])
    if actor.organization_id is None:  # a clinical role always has one
        raise RuntimeError("a caseload without an organization")
    trajectories = reference(db, registry, actor.organization_id).trajectories
    statuses = client_statuses(db, registry, rows, trajectories)
    day = today or dt.date.today()
    entries = [CaseloadEntry(r, statuses.get(r.client_id, NO_STATUS)) for r in rows]
    entries.sort(key=lambda e: e.attention_key(day))
    return CaseloadView(
        [e for e in entries if e.shown_by(show)],
        len(entries),
        [e for e in entries if e.row.urgent],
    )
