"""A demo clinic: a synthetic organization filled from :mod:`alliance.simulate` through the
same use cases the web pages call, so that what the demo shows is what the service does.

Everything in it is invented: clients, ratings, ruptures, risk answers and goals come from
the simulator (seeded, so every demo looks the same); the dates are moved so that the latest
sessions are last week.
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import pandas as pd
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from alliance.demo_goals import add_goals
from alliance.instruments.registry import Registry
from alliance.services.accounts import people
from alliance.services.accounts.auth import actor_for
from alliance.services.context import Actor
from alliance.services.exchange import studies
from alliance.services.monitoring import analysis
from alliance.services.monitoring.alerting import RISK_RULES
from alliance.services.records import clients
from alliance.services.records.administrations import submit_administration
from alliance.services.records.care import record_session, report_rupture
from alliance.services.records.clients import close_episode
from alliance.services.records.links import create_link
from alliance.simulate import simulate_clinic
from alliance.store.alerts import Alert as AlertRow
from alliance.store.alerts import AlertEvent, RiskFollowUp
from alliance.store.models import Client, Episode, Organization, User
from alliance.store.models import Session as SessionRow

ORGANIZATION = "Demo Clinic"
PASSWORD = "try-the-demo"
TEAM_NAMES = ("North team", "South team", "East team", "West team")
NAMES = (
    "Alex Morgan",
    "Sam Rivera",
    "Jo Okafor",
    "Kim Lindqvist",
    "Ravi Shah",
    "Mia Novak",
    "Lea Dubois",
    "Tom Eriksen",
)
OPEN_WITHIN = dt.timedelta(days=21)  # alerts older than this were worked in the demo's past


DEMO_STUDY = "Demo study"


@dataclass
class DemoLogins:
    clinicians: list[tuple[str, str, str]] = field(default_factory=list)  # username, name, alerts
    supervisors: list[str] = field(default_factory=list)
    admin: str = "admin"
    researcher: str = "researcher"
    form_link: str | None = None


def _date(value: object) -> dt.date:
    return pd.Timestamp(value).date()  # type: ignore[arg-type]


def _answers(row: pd.Series, k: int) -> dict[str, object]:
    out: dict[str, object] = {}
    for i in range(1, k + 1):
        value = row[f"item_{i}"]
        out[f"item_{i}"] = (
            None
            if value is None or (isinstance(value, float) and math.isnan(value))
            else int(value)
        )
    return out


def seed(
    db_factory: Callable[[], Session],
    registry: Registry,
    *,
    base_url: str,
    seed_value: int = 2026,
    n_clients: int = 100,
    n_clinicians: int = 6,
    sessions: int = 10,
    dropout: bool = True,
    today: dt.date | None = None,
    progress: Callable[[int, int], None] | None = None,
) -> DemoLogins:
    """Create the demo organization (once) and return its logins. ``dropout=False`` keeps
    every client for all ``sessions`` (benchmarks that need a full caseload)."""
    today = today or dt.date.today()
    logins = DemoLogins()
    with db_factory() as db:
        if db.scalar(select(Organization.id).where(Organization.name == ORGANIZATION)):
            return _existing_logins(db)
    options: dict[str, Any] = {} if dropout else {"dropout_base": 0.0, "dropout_per_sd": 0.0}
    sim = simulate_clinic(
        seed=seed_value,
        n_clinicians=n_clinicians,
        n_clients=n_clients,
        sessions=sessions,
        **options,
    )
    shift = (today - dt.timedelta(days=3)) - _date(sim.sessions["date"].max())

    with db_factory() as db:
        org = people.create_organization(db, Actor.system(), ORGANIZATION)
        system = Actor.system(org.id)
        studies.create_study(db, system, DEMO_STUDY)  # the research page's export
        team_ids: dict[str, str] = {}
        for i, team in enumerate(sorted(sim.teams["team"])):
            team_ids[team] = people.create_team(db, system, TEAM_NAMES[i % len(TEAM_NAMES)]).id
            supervisor = f"supervisor{i + 1}"
            people.create_user(
                db,
                system,
                username=supervisor,
                role="supervisor",
                password=PASSWORD,
                display_name=f"Supervisor, {TEAM_NAMES[i]}",
                team_id=team_ids[team],
            )
            logins.supervisors.append(supervisor)
        users: dict[str, User] = {}
        pairs = zip(sim.clinicians["clinician"], sim.clinicians["team"], strict=True)
        for j, (sim_id, team) in enumerate(pairs):
            username = f"clinician{j + 1}"
            users[str(sim_id)] = people.create_user(
                db,
                system,
                username=username,
                role="clinician",
                password=PASSWORD,
                display_name=NAMES[j % len(NAMES)],
                team_id=team_ids[str(team)],
            )
            logins.clinicians.append((username, NAMES[j % len(NAMES)], ""))
        people.create_user(
            db,
            system,
            username="admin",
            role="admin",
            password=PASSWORD,
            display_name="Clinic administrator",
        )
        people.create_user(
            db,
            system,
            username="researcher",
            role="researcher",
            password=PASSWORD,
            display_name="Research team",
        )
        db.commit()

    wai, phq = sim.administrations["wai-sr"], sim.administrations["phq-9"]
    episodes = sim.episodes.set_index("client")
    renegotiated = False
    total = len(episodes)
    for n, (client_code, ep) in enumerate(episodes.iterrows(), start=1):
        with db_factory() as db:
            user = db.get(User, users[str(ep["clinician"])].id)
            if user is None:
                raise RuntimeError("a demo clinician vanished")
            actor = actor_for(user)
            visits = sim.sessions[sim.sessions["client"] == client_code]
            last = _date(visits["date"].max())
            ongoing = ep["end_reason"] != "dropped_out" and n % 10 < 7
            # most clients are in care now: their latest session was in the past fortnight
            offset = (today - dt.timedelta(days=1 + n % 13)) - last if ongoing else shift
            first = _date(visits["date"].min()) + offset
            _, episode = clients.register_client(db, actor, code=str(client_code), started_on=first)
            by_number: dict[int, str] = {}
            for number, date in zip(visits["session"], visits["date"], strict=True):
                by_number[int(number)] = record_session(
                    db, actor, episode.id, date=_date(date) + offset, number=int(number)
                ).id
            for frame, instrument, k in ((wai, "wai-sr", 12), (phq, "phq-9", 10)):
                rows = frame[frame["client"] == client_code]
                for _, row in rows.iterrows():
                    session_id = by_number[int(row["session"])]
                    prediction = row["stance"] == "prediction"
                    submit_administration(
                        db,
                        actor,
                        registry,
                        session_id=session_id,
                        instrument=instrument,
                        answers=_answers(row, k),
                        idempotency_key=f"demo:{row['administration']}",
                        perspective=str(row["perspective"]),
                        stance=str(row["stance"]),
                        source="clinician" if prediction else "client_link",
                    )
                    reported = row["rupture_reported"]
                    if prediction and not pd.isna(reported) and bool(reported):
                        report_rupture(
                            db,
                            actor,
                            session_id,
                            note="Noticed the client withdraw after a difficult topic.",
                        )
            if n % 2 == 0:  # every other client has agreed goals
                renegotiated |= add_goals(
                    db, actor, episode_id=episode.id, first_day=first, sessions=by_number,
                    truth=sim.goals[sim.goals["client"] == client_code],
                    ratings=sim.goal_ratings[sim.goal_ratings["client"] == client_code],
                    n=n, renegotiate=not renegotiated and ongoing,
                )  # fmt: skip
            if not ongoing:
                close_episode(
                    db, actor, episode.id, end_reason=str(ep["end_reason"]), ended_on=last + offset
                )
            db.commit()
        if progress:
            progress(n, total)

    with db_factory() as db:
        org_id = db.scalar(select(Organization.id).where(Organization.name == ORGANIZATION))
        client_ids = list(db.scalars(select(Client.id).where(Client.organization_id == org_id)))
        db.commit()  # refresh_alerts starts its own read-only transaction
        for client_id in client_ids:
            analysis.refresh_alerts(db, registry, client_id)
            db.commit()
        _follow_up_history(db, org_id or "", today)
        db.commit()
        logins.form_link = _demo_link(db, registry, base_url, org_id or "", today)
        db.commit()
        existing = _existing_logins(db)
    logins.clinicians = existing.clinicians
    return logins


def _follow_up_history(db: Session, org_id: str, today: dt.date) -> None:
    """Alerts of sessions more than three weeks ago were worked in the demo's past."""
    old = db.execute(
        select(AlertRow, SessionRow.date)
        .join(SessionRow, SessionRow.id == AlertRow.session_id)
        .where(
            AlertRow.organization_id == org_id,
            AlertRow.state == "open",
            SessionRow.date < today - OPEN_WITHIN,
        )
    )
    for alert, session_date in old:
        alert.state = "resolved"
        note = "Followed up at the time (demo history)."
        if alert.rule in RISK_RULES:  # a risk alert is closed only with its follow-up record
            reached = dt.datetime.combine(session_date, dt.time(16, 0), tzinfo=dt.UTC)
            follow_up = RiskFollowUp(
                alert_id=alert.id, contacted_at=reached, attempts=1, outcome="safety_plan",
                note="Reached the same day; safety plan reviewed (demo history).",
            )  # fmt: skip
            db.add(follow_up)
            db.add(AlertEvent(alert_id=alert.id, action="follow_up", note=follow_up.note))
            note = ""
        db.add(AlertEvent(alert_id=alert.id, action="resolve", note=note or None))


def _demo_link(
    db: Session, registry: Registry, base_url: str, org_id: str, today: dt.date
) -> str | None:
    """A link for a new session today in clinician1's most recent open episode, so that the
    client's form can be tried at once and its answers become a new point on the chart."""
    user = db.scalar(select(User).where(User.username == "clinician1"))
    if user is None:
        return None
    row = db.execute(
        select(Episode.id)
        .join(SessionRow, SessionRow.episode_id == Episode.id)
        .join(Client, Client.id == Episode.client_id)
        .where(
            Client.organization_id == org_id,
            Episode.clinician_id == user.id,
            Episode.ended_on.is_(None),
        )
        .order_by(SessionRow.date.desc())
    ).first()
    if row is None:
        return None
    actor = actor_for(user)
    session = record_session(db, actor, row[0], date=today)
    new = create_link(
        db,
        actor,
        registry,
        session_id=session.id,
        instruments=["wai-sr", "phq-9"],  # one link, two measures in order
        base_url=base_url,
        hours=24 * 7,
        sent_to="qr",
    )
    return new.url


def _existing_logins(db: Session) -> DemoLogins:
    logins = DemoLogins()
    org_id = db.scalar(select(Organization.id).where(Organization.name == ORGANIZATION))
    counts: dict[tuple[str, str], int] = {}
    for username, priority, n in db.execute(
        select(User.username, AlertRow.priority, func.count())
        .join(Client, Client.clinician_id == User.id)
        .join(AlertRow, AlertRow.client_id == Client.id)
        .where(User.organization_id == org_id, AlertRow.state != "resolved")
        .group_by(User.username, AlertRow.priority)
    ).all():
        counts[(username, priority)] = n
    for user in db.scalars(
        select(User).where(User.organization_id == org_id).order_by(User.username)
    ):
        if user.role == "clinician":
            summary = ", ".join(
                f"{counts[(user.username, p)]} {p}"
                for p in ("urgent", "high", "medium", "low")
                if (user.username, p) in counts
            )
            logins.clinicians.append(
                (
                    user.username,
                    user.display_name,
                    f"open alerts: {summary}" if summary else "no open alerts",
                )
            )
        elif user.role == "supervisor":
            logins.supervisors.append(user.username)
    return logins
