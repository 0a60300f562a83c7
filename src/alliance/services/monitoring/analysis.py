"""Analysing a client's series and turning what the analytics finds into alerts.

The clinic service stores raw answers and scores; after a submission it runs the analytics
(``alliance.analytics``) over the client's current scores, with the organization's alert rules
(``alliance.feedback``), and opens an alert for each new signal. One client is analysed at a
time, but against the clinic's history: the typical session-to-session spread (the floor of
the baseline rule) and the expected trajectories (off-track) come from every client of the
organization, recomputed at most every ``REFERENCE_SECONDS``. That cache holds derived
figures only; losing it changes nothing but speed.

Risk answers are not alerted here: they raise an urgent alert at submission, synchronously
(see ``administrations.py``), so that no failure of the analysis can delay or hide one.
"""

from __future__ import annotations

import datetime as dt
import json
import threading
import time
from collections import OrderedDict
from dataclasses import dataclass
from typing import Any

import pandas as pd
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from alliance.analytics.expected import ExpectedTrajectory
from alliance.analytics.pipeline import detect_all
from alliance.analytics.series import order_series
from alliance.analytics.tidy import REPORTED_RUPTURE_SCALE, RISK_SCALE
from alliance.feedback.alerts import Alert as FeedbackAlert
from alliance.feedback.alerts import alerts_from_signals
from alliance.feedback.config import ALWAYS_ON, ConfigError, FeedbackConfig
from alliance.instruments.registry import Registry
from alliance.instruments.scoring import score_answers
from alliance.records import TIDY_COLUMNS
from alliance.services import audit
from alliance.services.context import Actor
from alliance.services.monitoring.alerting import raise_alert
from alliance.services.monitoring.corrected import close_unsupported
from alliance.services.monitoring.goal_rows import goal_marker, goal_progress_rows
from alliance.store.alerts import Alert as AlertRow
from alliance.store.engine import READ_ONLY, serialize
from alliance.store.models import (
    Administration,
    Client,
    Episode,
    Organization,
    RuptureReport,
    Score,
    User,
)
from alliance.store.models import Session as SessionRow

REFERENCE_SECONDS = 900.0
TRAJECTORIES = (
    ("wai-sr", "total"),
    ("phq-9", "total"),
    ("core-10", "total"),
    ("ors", "total"),
    ("srs", "total"),
)
COLUMNS = [*TIDY_COLUMNS, "version", "stance", "clinician", "administration"]
SERIES_KEY = ["client", "episode", "session", "instrument", "perspective", "stance", "scale"]


def scores_frame(
    db: Session,
    registry: Registry,
    *,
    organization_id: str,
    client_id: str | None = None,
    clinician_id: str | None = None,
) -> pd.DataFrame:
    """Current (not superseded) scores of an organization, or of one client, or of the
    episodes one clinician leads (``clinician_id``), as a tidy table with the ``risk`` and
    ``rupture_reported`` pseudo-scales the analytics reads."""
    where = [Client.organization_id == organization_id]
    if client_id is not None:
        where.append(Client.id == client_id)
    if clinician_id is not None:
        where.append(Episode.clinician_id == clinician_id)
    rows = db.execute(
        select(
            Client.code,
            Episode.id,
            SessionRow.number,
            SessionRow.date,
            Administration.instrument,
            Administration.perspective,
            Score.scale,
            Score.value,
            Administration.version,
            Administration.stance,
            User.username,
            Administration.id,
        )
        .join(Episode, Episode.client_id == Client.id)
        .join(SessionRow, SessionRow.episode_id == Episode.id)
        .join(Administration, Administration.session_id == SessionRow.id)
        .join(Score, Score.administration_id == Administration.id)
        .join(User, User.id == Episode.clinician_id)
        .where(*where, Administration.superseded_at.is_(None), Score.value.is_not(None))
        .order_by(Administration.entered_at)
    ).all()
    frame = pd.DataFrame(rows, columns=COLUMNS)
    extra = _risk_rows(db, registry, where) + _reported_rows(db, where)
    extra += goal_progress_rows(db, where)
    if extra:
        frame = pd.concat([frame, pd.DataFrame(extra, columns=COLUMNS)], ignore_index=True)
    # The analytics take one rating per session and series: when a session holds two (two
    # forms entered for it, or several rupture reports), the latest entered counts.
    return frame.drop_duplicates(SERIES_KEY, keep="last", ignore_index=True)


def _risk_rows(db: Session, registry: Registry, where: list[Any]) -> list[tuple[Any, ...]]:
    """A ``risk`` row per administration of an instrument with a risk item."""
    with_risk = [i.id for i in registry if i.risk_items]
    rows = db.execute(
        select(
            Client.code,
            Episode.id,
            SessionRow.number,
            SessionRow.date,
            Administration.instrument,
            Administration.perspective,
            Administration.answers,
            Administration.version,
            Administration.stance,
            User.username,
            Administration.id,
        )
        .join(Episode, Episode.client_id == Client.id)
        .join(SessionRow, SessionRow.episode_id == Episode.id)
        .join(Administration, Administration.session_id == SessionRow.id)
        .join(User, User.id == Episode.clinician_id)
        .where(
            *where,
            Administration.superseded_at.is_(None),
            Administration.instrument.in_(with_risk),
        )
        .order_by(Administration.entered_at)
    ).all()
    out = []
    for (
        code,
        episode,
        number,
        date,
        inst_id,
        perspective,
        answers,
        version,
        stance,
        who,
        aid,
    ) in rows:
        try:
            inst = registry.get(inst_id, version)
        except KeyError:
            continue
        flagged = float(score_answers(inst, answers).any_risk[0])
        out.append(
            (
                code,
                episode,
                number,
                date,
                inst_id,
                perspective,
                RISK_SCALE,
                flagged,
                version,
                stance,
                who,
                aid,
            )
        )
    return out


def _reported_rows(db: Session, where: list[Any]) -> list[tuple[Any, ...]]:
    """A ``rupture_reported`` row for each session in which a rater noticed a rupture."""
    rows = db.execute(
        select(
            Client.code,
            Episode.id,
            SessionRow.number,
            SessionRow.date,
            RuptureReport.perspective,
            User.username,
            RuptureReport.id,
        )
        .join(Episode, Episode.client_id == Client.id)
        .join(SessionRow, SessionRow.episode_id == Episode.id)
        .join(RuptureReport, RuptureReport.session_id == SessionRow.id)
        .join(User, User.id == Episode.clinician_id)
        .where(*where)
        .order_by(RuptureReport.created_at)
    ).all()
    return [
        (
            code,
            episode,
            number,
            date,
            "wai-sr",
            perspective,
            REPORTED_RUPTURE_SCALE,
            1.0,
            "1.0",
            "self",
            who,
            report,
        )
        for code, episode, number, date, perspective, who, report in rows
    ]


@dataclass(frozen=True)
class Reference:
    spreads: dict[tuple[str, str, str, str], float]
    trajectories: ExpectedTrajectory | None


_cache: dict[str, tuple[float, Reference]] = {}
_lock = threading.Lock()


def reference(db: Session, registry: Registry, organization_id: str) -> Reference:
    """The organization's typical spreads and expected trajectories (cached)."""
    now = time.monotonic()
    with _lock:
        hit = _cache.get(organization_id)
    if hit and now - hit[0] < REFERENCE_SECONDS:
        return hit[1]
    frame = scores_frame(db, registry, organization_id=organization_id)
    spreads: dict[tuple[str, str, str, str], float] = {}
    trajectories = None
    if len(frame):
        ordered = order_series(frame, registry=registry)
        spreads = ordered.typical_spreads()
        tables = []
        for instrument, scale in TRAJECTORIES:
            try:
                tables.append(
                    ExpectedTrajectory.fit(ordered, instrument=instrument, scale=scale).to_frame()
                )
            except ValueError:
                continue  # too little history for this measure
        if tables:
            trajectories = ExpectedTrajectory(pd.concat(tables, ignore_index=True))
    result = Reference(spreads, trajectories)
    with _lock:
        _cache[organization_id] = (now, result)
    return result


def forget_reference(organization_id: str | None = None) -> None:
    with _lock:
        if organization_id is None:
            _cache.clear()
        else:
            _cache.pop(organization_id, None)


def config_of(organization: Organization) -> FeedbackConfig:
    """The organization's alert rules; the defaults when none (or a broken set) is stored."""
    try:
        return FeedbackConfig.from_dict(organization.feedback_config or {})
    except ConfigError:
        return FeedbackConfig.default()


_signals_cache: OrderedDict[tuple[Any, ...], pd.DataFrame] = OrderedDict()
SIGNALS_CACHED = 512


def _data_marker(db: Session, client_id: str) -> tuple[Any, ...]:
    """Changes whenever the client's administrations or rupture reports change."""
    admins = db.execute(
        select(func.count(Administration.id), func.max(Administration.entered_at))
        .join(SessionRow, SessionRow.id == Administration.session_id)
        .join(Episode, Episode.id == SessionRow.episode_id)
        .where(Episode.client_id == client_id)
    ).one()
    reports = db.scalar(
        select(func.count(RuptureReport.id))
        .join(SessionRow, SessionRow.id == RuptureReport.session_id)
        .join(Episode, Episode.id == SessionRow.episode_id)
        .where(Episode.client_id == client_id)
    )
    return (admins[0], admins[1], reports, *goal_marker(db, client_id))


def client_signals(db: Session, registry: Registry, client: Client) -> pd.DataFrame:
    """Every signal of the client's current scores, judged against the clinic's history.

    Results are cached per client until its data (or the clinic's reference) changes: the
    before-the-session view is read far more often than new answers arrive."""
    ref = reference(db, registry, client.organization_id)
    organization = db.get(Organization, client.organization_id)
    rules = json.dumps(organization.feedback_config if organization else {}, sort_keys=True)
    key = (client.id, _data_marker(db, client.id), id(ref), rules)
    with _lock:
        hit = _signals_cache.get(key)
        if hit is not None:
            _signals_cache.move_to_end(key)
            return hit.copy()
    signals = _client_signals(db, registry, client, ref)
    with _lock:
        _signals_cache[key] = signals
        while len(_signals_cache) > SIGNALS_CACHED:
            _signals_cache.popitem(last=False)
    return signals.copy()


def _client_signals(
    db: Session, registry: Registry, client: Client, ref: Reference
) -> pd.DataFrame:
    organization = db.get(Organization, client.organization_id)
    if organization is None:
        raise RuntimeError(f"client {client.id} has no organization")
    frame = scores_frame(db, registry, organization_id=client.organization_id, client_id=client.id)
    if frame.empty:
        return frame
    ordered = order_series(frame, registry=registry)
    ordered.use_reference_spreads(ref.spreads)
    detectors = config_of(organization).detectors(reference=ref.trajectories)
    return detect_all(ordered, detectors, registry=registry)


# Rules that describe a state rather than an event: while one of their alerts is open for an
# episode and measure, the same rule does not open another at every new session.
STATE_RULES = frozenset(
    {
        "low_early_alliance",
        "outcome_deterioration",
        "off_track",
        "below_cutoff",
        "calibration_gap",
        "discrepancy",
        "low_goal_agreement",
        "goal_disagreement",
        "goal_stall",
    }
)


def alert_key(alert: FeedbackAlert) -> str:
    return ":".join(
        str(part)
        for part in (alert.rule, alert.episode, alert.instrument, alert.scale, alert.session)
    )


def _open_states(db: Session, client_id: str) -> set[str]:
    """``rule:episode:instrument:scale`` of the client's unresolved state alerts."""
    keys = db.scalars(
        select(AlertRow.key).where(
            AlertRow.client_id == client_id,
            AlertRow.state != "resolved",
            AlertRow.rule.in_(STATE_RULES),
        )
    )
    return {key.rsplit(":", 1)[0] for key in keys}


def changed_since(db: Session, since: dt.datetime) -> list[str]:
    """Ids of the clients whose ratings or rupture reports changed since ``since`` (a worker
    that starts analyses them again, in case one that stopped could not)."""
    rated = (
        select(Episode.client_id)
        .join(SessionRow, SessionRow.episode_id == Episode.id)
        .join(Administration, Administration.session_id == SessionRow.id)
        .where(Administration.entered_at >= since)
    )
    reported = (
        select(Episode.client_id)
        .join(SessionRow, SessionRow.episode_id == Episode.id)
        .join(RuptureReport, RuptureReport.session_id == SessionRow.id)
        .where(RuptureReport.created_at >= since)
    )
    found = list(db.scalars(rated.union(reported)))
    db.rollback()
    return found


def refresh_alerts(db: Session, registry: Registry, client_id: str) -> int:
    """Open an alert for each new signal at the latest session of each of the client's
    episodes (earlier signals stay visible on the charts); returns how many were opened.

    Call it with a session that has no transaction open (it starts by reading in a
    read-only transaction); commit afterwards to keep the alerts."""
    if db.in_transaction():
        raise RuntimeError("refresh_alerts needs a session with no transaction open")
    # reading and analysing run in a read-only transaction, so that on SQLite the write lock
    # is taken only for the few inserts at the end
    db.connection(execution_options={READ_ONLY: True})
    client = db.get(Client, client_id)
    organization = db.get(Organization, client.organization_id) if client else None
    if client is None or organization is None:
        db.rollback()
        return 0
    signals = client_signals(db, registry, client)
    config = config_of(organization)
    if signals.empty:
        current = signals
    else:
        latest = signals.groupby("episode")["session"].transform("max")
        rated = (
            scores_frame(db, registry, organization_id=client.organization_id, client_id=client.id)
            .groupby("episode")["session"]
            .max()
        )
        current = signals[signals["session"] == signals["episode"].map(rated).fillna(latest)]
    # every alert the current ratings give, at any session: an open one they no longer give
    # lost its ground if a rating under it was corrected since
    supported = {alert_key(a) for a in alerts_from_signals(signals, config=config)}
    db.rollback()
    # two workers analysing one client at once (its form on one, the clinician's prediction
    # on the other) take turns to write, so the second sees the first one's alerts
    serialize(db, f"analysis:{client.id}")
    sessions = {
        f"{episode}:{number}": session_id
        for episode, number, session_id in db.execute(
            select(SessionRow.episode_id, SessionRow.number, SessionRow.id)
            .join(Episode, Episode.id == SessionRow.episode_id)
            .where(Episode.client_id == client.id)
        ).all()
    }
    closed = close_unsupported(db, client, supported)
    states = _open_states(db, client.id)
    opened = 0
    for alert in alerts_from_signals(current, config=config):
        if alert.rule in ALWAYS_ON:
            continue  # raised at submission
        key = alert_key(alert)
        if alert.rule in STATE_RULES and key.rsplit(":", 1)[0] in states:
            continue
        created = raise_alert(
            db,
            organization_id=client.organization_id,
            client_id=client.id,
            episode_id=alert.episode,
            session_id=sessions.get(f"{alert.episode}:{alert.session}"),
            key=key,
            rule=alert.rule,
            priority=alert.priority,
            reason=alert.reason,
            next_steps=[step.text for step in alert.next_steps],
            numbers={
                "session": alert.session,
                "instrument": alert.instrument,
                "scale": alert.scale,
                **({"size": alert.size} if alert.size is not None else {}),
            },
            provenance=alert.provenance,
        )
        if created is not None:
            opened += 1
            states.add(key.rsplit(":", 1)[0])
    if opened or closed:
        audit.record(
            db, Actor.system(client.organization_id), "analyse", "client", client.id,
            alerts=opened, resolved=closed,
        )  # fmt: skip
    return opened
