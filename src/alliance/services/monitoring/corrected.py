"""Alerts a correction took the ground from.

An alert rests on the ratings it was computed from. When a rating of its series, at its
session or before, is corrected after the alert was raised, the analysis that follows looks
again: an alert the current ratings no longer give (a drop that was a typing slip) is
resolved by the system, with a note in its history saying why, so that no drop stays open
beside a rating that shows none (nor a repair opens against it). Risk alerts are never
touched: they are raised from the answer given, and they close only with a follow-up
(``follow_up.py``), whatever a correction says later.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Set

from sqlalchemy import select
from sqlalchemy.orm import Session

from alliance.services import audit
from alliance.services.context import Actor
from alliance.services.monitoring.alerting import RISK_RULES
from alliance.store.alerts import Alert, AlertEvent
from alliance.store.base import utcnow
from alliance.store.models import Administration, Client, Episode
from alliance.store.models import Session as SessionRow

NOTE = (
    "Resolved by the system: a rating it was based on was corrected, and the current ratings "
    "no longer show it."
)


def close_unsupported(db: Session, client: Client, supported: Set[str]) -> int:
    """Resolve the client's open alerts whose basis a later correction changed and whose key
    the current ratings no longer give (``supported``: the keys they give). Returns how many
    were resolved. Risk alerts are left as they are."""
    corrections: Corrections = {}
    for episode_id, number, instrument, at in db.execute(
        select(
            SessionRow.episode_id,
            SessionRow.number,
            Administration.instrument,
            Administration.superseded_at,
        )
        .join(SessionRow, SessionRow.id == Administration.session_id)
        .join(Episode, Episode.id == SessionRow.episode_id)
        .where(Episode.client_id == client.id, Administration.superseded_at.is_not(None))
    ):
        if at is not None:  # the query asks for replaced ratings only
            corrections.setdefault((episode_id, instrument), []).append((number, at))
    if not corrections:
        return 0
    closed = 0
    for alert in db.scalars(
        select(Alert).where(
            Alert.client_id == client.id,
            Alert.state != "resolved",
            Alert.rule.not_in(RISK_RULES),
        )
    ):
        if alert.key in supported or not _undermined(alert, corrections):
            continue
        alert.state = "resolved"
        alert.updated_at = utcnow()
        db.add(AlertEvent(alert_id=alert.id, action="resolve", note=NOTE))
        audit.record(
            db,
            Actor.system(client.organization_id),
            "resolve",
            "alert",
            alert.id,
            reason="rating corrected",
        )
        closed += 1
    return closed


Corrections = dict[tuple[str, str], list[tuple[int, dt.datetime]]]
"""(episode id, instrument) → (session number, when its rating was replaced) of each."""


def _undermined(alert: Alert, corrections: Corrections) -> bool:
    """Whether a rating of the alert's series, at its session or before, was replaced after
    the alert was raised."""
    numbers = alert.numbers or {}
    session, instrument = numbers.get("session"), numbers.get("instrument")
    if alert.episode_id is None or not isinstance(session, int | float) or not instrument:
        return False
    return any(
        number <= session and at >= alert.created_at
        for number, at in corrections.get((alert.episode_id, str(instrument)), [])
    )
