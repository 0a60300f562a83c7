"""Read models: one client's timeline, and a clinician's (or team's) caseload."""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any

import pandas as pd
from sqlalchemy import and_, func, select
from sqlalchemy.orm import Session

from alliance.records import TIDY_COLUMNS
from alliance.services import audit
from alliance.services.accounts.access import (
    access_params,
    client_for,
    require_role,
    visible_clients,
)
from alliance.services.context import Actor
from alliance.services.errors import Invalid, NotFound
from alliance.store.alerts import PRIORITIES, Alert, AlertEvent, RiskFollowUp
from alliance.store.models import Administration, Client, Episode, RuptureReport, Score, User
from alliance.store.models import Session as SessionRow
from alliance.store.notifications import AlertNotification


@dataclass
class AdministrationView:
    administration: Administration
    scores: list[Score]
    superseded_by: str | None = None

    @property
    def current(self) -> bool:
        return self.administration.superseded_at is None


@dataclass
class SessionView:
    session: SessionRow
    administrations: list[AdministrationView] = field(default_factory=list)
    ruptures: list[RuptureReport] = field(default_factory=list)


@dataclass
class EpisodeView:
    episode: Episode
    sessions: list[SessionView] = field(default_factory=list)


@dataclass(frozen=True)
class AlertStep:
    """One step of an alert's history: who did what, when, with their note."""

    at: dt.datetime
    action: str
    by: str | None
    note: str | None


@dataclass
class Timeline:
    client: Client
    clinician: User
    episodes: list[EpisodeView]
    alerts: list[Alert]
    history: dict[str, list[AlertStep]] = field(default_factory=dict)  # by alert id
    follow_ups: dict[str, list[RiskFollowUp]] = field(default_factory=dict)  # by alert id
    messages: dict[str, list[AlertNotification]] = field(default_factory=dict)  # by alert id

    def tidy(self, *, current_only: bool = True) -> pd.DataFrame:
        """Scores in the tidy long format (plus version, stance, administration)."""
        rows = []
        for ep in self.episodes:
            for sv in ep.sessions:
                for av in sv.administrations:
                    if current_only and not av.current:
                        continue
                    a = av.administration
                    for s in av.scores:
                        rows.append(
                            (
                                self.client.code,
                                ep.episode.id,
                                sv.session.number,
                                sv.session.date,
                                a.instrument,
                                a.perspective,
                                s.scale,
                                s.value,
                                a.version,
                                a.stance,
                                ep.episode.clinician_id,
                                a.id,
                            )
                        )
        columns = [*TIDY_COLUMNS, "version", "stance", "clinician", "administration"]
        return pd.DataFrame(rows, columns=columns)


def timeline(db: Session, actor: Actor, client_id: str) -> Timeline:
    client = client_for(db, actor, client_id)
    clinician = db.get(User, client.clinician_id)
    if clinician is None:  # a foreign key guarantees it
        raise RuntimeError(f"client {client.id} has no clinician")
    episodes = list(
        db.scalars(
            select(Episode)
            .where(Episode.client_id == client.id)
            .order_by(Episode.started_on, Episode.created_at)
        )
    )
    ep_views = {e.id: EpisodeView(e) for e in episodes}
    sessions = (
        list(
            db.scalars(
                select(SessionRow)
                .where(SessionRow.episode_id.in_(list(ep_views)))
                .order_by(SessionRow.number)
            )
        )
        if ep_views
        else []
    )
    s_views = {s.id: SessionView(s) for s in sessions}
    for s in sessions:
        ep_views[s.episode_id].sessions.append(s_views[s.id])
    if s_views:
        admins = list(
            db.scalars(
                select(Administration)
                .where(Administration.session_id.in_(list(s_views)))
                .order_by(Administration.entered_at)
            )
        )
        scores: dict[str, list[Score]] = defaultdict(list)
        if admins:
            for sc in db.scalars(
                select(Score).where(Score.administration_id.in_([a.id for a in admins]))
            ):
                scores[sc.administration_id].append(sc)
        superseded = {a.supersedes_id: a.id for a in admins if a.supersedes_id}
        for a in admins:
            s_views[a.session_id].administrations.append(
                AdministrationView(a, scores[a.id], superseded.get(a.id))
            )
        for r in db.scalars(
            select(RuptureReport)
            .where(RuptureReport.session_id.in_(list(s_views)))
            .order_by(RuptureReport.created_at)
        ):
            s_views[r.session_id].ruptures.append(r)
    alerts = list(
        db.scalars(
            select(Alert).where(Alert.client_id == client.id).order_by(Alert.created_at.desc())
        )
    )
    alerts.sort(key=lambda a: (a.state == "resolved", PRIORITIES.index(a.priority)))
    history: dict[str, list[AlertStep]] = {a.id: [] for a in alerts}
    if alerts:
        for step, name in db.execute(
            select(AlertEvent, User.display_name)
            .outerjoin(User, User.id == AlertEvent.user_id)
            .where(AlertEvent.alert_id.in_(list(history)))
            .order_by(AlertEvent.at, AlertEvent.id)
        ):
            history[step.alert_id].append(AlertStep(step.at, step.action, name, step.note))
    follow_ups: dict[str, list[RiskFollowUp]] = defaultdict(list)
    if alerts:
        for row in db.scalars(
            select(RiskFollowUp)
            .where(RiskFollowUp.alert_id.in_(list(history)))
            .order_by(RiskFollowUp.created_at, RiskFollowUp.id)
        ):
            follow_ups[row.alert_id].append(row)
    messages: dict[str, list[AlertNotification]] = defaultdict(list)
    if alerts:
        for message in db.scalars(
            select(AlertNotification)
            .where(AlertNotification.alert_id.in_(list(history)))
            .order_by(AlertNotification.id)
        ):
            messages[message.alert_id].append(message)
    audit.record(db, actor, "read", "timeline", client.id)
    return Timeline(
        client,
        clinician,
        list(ep_views.values()),
        alerts,
        history,
        dict(follow_ups),
        dict(messages),
    )


@dataclass(frozen=True)
class CaseloadRow:
    client_id: str
    code: str
    clinician_id: str
    clinician_name: str
    open_episode_id: str | None
    sessions: int
    last_session: dt.date | None
    rated_sessions: int
    alerts: dict[str, int]

    @property
    def urgent(self) -> int:
        return self.alerts.get("urgent", 0)

    @property
    def completion(self) -> float | None:
        """Share of attended sessions with a client rating."""
        return self.rated_sessions / self.sessions if self.sessions else None

    def attention_key(self, today: dt.date) -> tuple[int, ...]:
        """Urgent risk first, then open alerts by priority, then overdue ratings."""
        counts = tuple(-self.alerts.get(p, 0) for p in PRIORITIES)
        unrated = self.sessions - self.rated_sessions
        return (*counts, -unrated, -(today - (self.last_session or today)).days)


def team_member(db: Session, actor: Actor, clinician_id: str) -> User:
    """A clinician of the supervisor's own team (active or not), else NotFound — a person
    of another team or organization is reported like one who does not exist."""
    require_role(actor, "supervisor")
    member = db.scalar(
        select(User).where(
            User.id == clinician_id,
            User.organization_id == actor.organization_id,
            User.team_id == actor.team_id,
            User.team_id.is_not(None),
        )
    )
    if member is None:
        raise NotFound(f"no clinician {clinician_id} in your team")
    return member


def caseload(
    db: Session,
    actor: Actor,
    *,
    scope: str = "own",
    clinician_id: str | None = None,
    search: str | None = None,
    today: dt.date | None = None,
) -> list[CaseloadRow]:
    """Clients needing attention first. ``scope`` is ``own`` or (supervisors) ``team``;
    with ``team``, ``clinician_id`` narrows it to one clinician of the team (read-only for
    the supervisor). ``search`` keeps clients whose code contains it (any case)."""
    require_role(actor, "clinician", "supervisor")
    if clinician_id is not None:
        require_role(actor, "supervisor")
    if scope not in ("own", "team"):
        raise Invalid("unknown scope", field="scope", value=scope, allowed="own, team")
    if scope == "team" and actor.role != "supervisor":
        raise Invalid("only a supervisor has a team view", field="scope", value=scope)
    if clinician_id is not None and scope != "team":
        raise Invalid("a clinician's caseload is a team view", field="clinician", value=scope)
    where = (
        visible_clients(actor)
        if scope == "team"
        else and_(visible_clients(actor), Client.clinician_id == actor.user_id)
    )
    if clinician_id is not None:
        member = team_member(db, actor, clinician_id)
        where = and_(where, Client.clinician_id == member.id)
    if search and search.strip():
        where = and_(where, Client.code.icontains(search.strip(), autoescape=True))
    clients = db.execute(
        select(Client.id, Client.code, Client.clinician_id, User.display_name)
        .join(User, User.id == Client.clinician_id)
        .where(where)
        .order_by(Client.code),
        access_params(actor),
    ).all()
    ids = [c[0] for c in clients]
    narrowed: dict[str, Any] = {}  # ids and flags only: a search's text may name someone
    if clinician_id is not None:
        narrowed["clinician"] = clinician_id
    if search and search.strip():
        narrowed["search"] = True
    if not ids:
        audit.record(db, actor, "list", "caseload", scope=scope, count=0, **narrowed)
        return []
    open_eps = dict(
        db.execute(
            select(Episode.client_id, Episode.id).where(
                Episode.client_id.in_(ids), Episode.ended_on.is_(None)
            )
        ).all()
    )
    rated = (
        select(Administration.session_id)
        .where(Administration.perspective == "client", Administration.stance == "self")
        .distinct()
        .subquery()
    )
    session_stats = {
        row[0]: row[1:]
        for row in db.execute(
            select(
                Episode.client_id,
                func.count(SessionRow.id),
                func.max(SessionRow.date),
                func.count(rated.c.session_id),
            )
            .join(SessionRow, SessionRow.episode_id == Episode.id)
            .outerjoin(rated, rated.c.session_id == SessionRow.id)
            .where(Episode.client_id.in_(ids), SessionRow.attended)
            .group_by(Episode.client_id)
        ).all()
    }
    alert_counts: dict[str, dict[str, int]] = defaultdict(dict)
    for client_id, priority, n in db.execute(
        select(Alert.client_id, Alert.priority, func.count())
        .where(Alert.client_id.in_(ids), Alert.state != "resolved")
        .group_by(Alert.client_id, Alert.priority)
    ).all():
        alert_counts[client_id][priority] = n
    rank = {p: i for i, p in enumerate(PRIORITIES)}
    rows = []
    for client_id, code, owner_id, name in clients:
        n, last, n_rated = session_stats.get(client_id, (0, None, 0))
        rows.append(
            CaseloadRow(
                client_id,
                code,
                owner_id,
                name,
                open_eps.get(client_id),
                int(n or 0),
                last,
                int(n_rated or 0),
                dict(  # urgent before high, wherever the counts are shown
                    sorted(alert_counts.get(client_id, {}).items(), key=lambda c: rank[c[0]])
                ),
            )
        )
    day = today or dt.date.today()
    rows.sort(key=lambda r: r.attention_key(day))
    audit.record(
        db,
        actor,
        "list",
        "caseload",
        scope=scope,
        count=len(rows),
        clients=[r.client_id for r in rows],
        **narrowed,
    )
    return rows
