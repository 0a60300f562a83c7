"""The documented follow-up of a risk alert: who reached the client, when (or how many
attempts failed), what came of it, and a note.

A risk alert (a risk answer, or a risk item left empty) is never closed with one click:
:func:`record_follow_up` is the only way to resolve it, and only with an outcome that says the
client was reached or helped. A follow-up of a client not reached yet is kept too — the alert
stays open, acknowledged, with the steps for a client who cannot be reached. Every follow-up
is a row of ``risk_follow_ups``, a step of the alert's history and an audit event (which
holds ids only, never the note).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy.orm import Session

from alliance.services import audit
from alliance.services.context import Actor
from alliance.services.errors import Conflict, Invalid
from alliance.services.monitoring.alerting import RISK_RULES, alert_for
from alliance.store.alerts import FOLLOW_UP_OUTCOMES, Alert, AlertEvent, RiskFollowUp
from alliance.store.base import utcnow

OUTCOMES: dict[str, str] = {
    "no_current_risk": "Client reached and assessed: no current risk",
    "safety_plan": "Safety plan made or reviewed with the client",
    "referred": "Referred on (crisis team, doctor, psychiatry or another service)",
    "emergency_services": "Emergency services contacted",
    "not_reached": "Not reached yet (attempts recorded; the alert stays open)",
}
"""The fixed list of outcomes, with the words the pages show."""

if tuple(OUTCOMES) != FOLLOW_UP_OUTCOMES:  # one list, in the store's check and here
    raise RuntimeError("follow-up outcomes differ between the store and the service")

RESOLVING = tuple(o for o in OUTCOMES if o != "not_reached")
MAX_ATTEMPTS = 99
MAX_NOTE = 4000
CLOCK_SKEW = dt.timedelta(minutes=5)


@dataclass(frozen=True)
class FollowUpInput:
    """What the clinician records. ``contacted_at`` is when the client was reached (None when
    they were not); ``attempts`` counts every try, the successful one included."""

    outcome: str
    note: str
    attempts: int = 1
    contacted_at: dt.datetime | None = None


def is_risk_alert(alert: Alert) -> bool:
    return alert.rule in RISK_RULES


def describe(follow_up: RiskFollowUp) -> str:
    """One line for the history and the reports: outcome, when, attempts (the note apart)."""
    outcome = OUTCOMES.get(follow_up.outcome, follow_up.outcome)
    tries = f"{follow_up.attempts} attempt{'s' if follow_up.attempts != 1 else ''}"
    when = (
        f"reached {follow_up.contacted_at:%Y-%m-%d %H:%M} UTC"
        if follow_up.contacted_at is not None
        else "not reached"
    )
    return f"{outcome} — {when}, {tries}"


def check_follow_up(given: FollowUpInput, *, now: dt.datetime) -> str:
    """Validate the record; returns the note, trimmed. Errors name the field."""
    if given.outcome not in OUTCOMES:
        raise Invalid(
            "unknown outcome",
            field="outcome",
            value=given.outcome,
            allowed=", ".join(OUTCOMES),
        )
    note = (given.note or "").strip()
    if not note:
        raise Invalid("say what was done and agreed (the follow-up note is required)", field="note")
    if len(note) > MAX_NOTE:
        raise Invalid(f"a note of at most {MAX_NOTE} characters", field="note")
    if isinstance(given.attempts, bool) or not 1 <= given.attempts <= MAX_ATTEMPTS:
        raise Invalid(
            "how many times the client was tried",
            field="attempts",
            value=given.attempts,
            allowed=f"1 … {MAX_ATTEMPTS}",
        )
    reached = given.outcome != "not_reached"
    if reached and given.contacted_at is None:
        raise Invalid(
            "when was the client reached? (choose 'not reached yet' if they were not)",
            field="contacted_at",
        )
    if not reached and given.contacted_at is not None:
        raise Invalid(
            "a client not reached has no contact time; leave it empty or choose the outcome "
            "of the contact",
            field="contacted_at",
        )
    if given.contacted_at is not None:
        if given.contacted_at.tzinfo is None:
            raise Invalid("give the contact time with its time zone", field="contacted_at")
        if given.contacted_at > now + CLOCK_SKEW:
            raise Invalid(
                "the contact time is in the future",
                field="contacted_at",
                value=given.contacted_at.isoformat(),
            )
    return note


def record_follow_up(
    db: Session, actor: Actor, alert_id: str, given: FollowUpInput, *, resolve: bool
) -> RiskFollowUp:
    """Keep a follow-up of a risk alert; with ``resolve`` also close the alert, which needs
    an outcome where the client was reached or helped. A follow-up acknowledges an open
    alert (someone is on it), which stops its escalation."""
    alert = alert_for(db, actor, alert_id)
    if not is_risk_alert(alert):
        raise Invalid(
            "a follow-up record is kept for risk alerts; use a note for other alerts",
            field="alert",
            value=alert.rule,
            allowed=", ".join(RISK_RULES),
        )
    if alert.state == "resolved":
        raise Conflict("this alert is already resolved", field="action")
    now = utcnow()
    note = check_follow_up(given, now=now)
    if resolve and given.outcome not in RESOLVING:
        raise Invalid(
            "a client who was not reached cannot close the alert: keep trying and follow "
            "the steps for a client who cannot be reached",
            field="outcome",
            value=given.outcome,
            allowed=", ".join(RESOLVING),
        )
    follow_up = RiskFollowUp(
        alert_id=alert.id,
        user_id=actor.user_id,
        contacted_at=given.contacted_at,
        attempts=given.attempts,
        outcome=given.outcome,
        note=note,
        created_at=now,
    )
    db.add(follow_up)
    db.flush()
    db.add(
        AlertEvent(
            alert_id=alert.id,
            user_id=actor.user_id,
            action="follow_up",
            note=f"{describe(follow_up)}. {note}",
            at=now,
        )
    )
    audit.record(db, actor, "follow_up", "alert", alert.id, follow_up=follow_up.id)
    if resolve:
        alert.state = "resolved"
        db.add(AlertEvent(alert_id=alert.id, user_id=actor.user_id, action="resolve", at=now))
        audit.record(db, actor, "resolve", "alert", alert.id, follow_up=follow_up.id)
    elif alert.state == "open":
        alert.state = "acknowledged"
        db.add(AlertEvent(alert_id=alert.id, user_id=actor.user_id, action="acknowledge", at=now))
        audit.record(db, actor, "acknowledge", "alert", alert.id)
    alert.updated_at = now
    return follow_up
