"""Raising alerts and working them: open → acknowledged → resolved, with a kept history."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from alliance.services import audit
from alliance.services.accounts.access import access_params, visible_clients
from alliance.services.context import Actor
from alliance.services.errors import Conflict, Invalid, NotFound
from alliance.store.alerts import PRIORITIES, Alert, AlertEvent
from alliance.store.base import utcnow
from alliance.store.models import Client

TRANSITIONS = {"acknowledge": ("open",), "resolve": ("open", "acknowledged")}
RISK_RULES = ("risk_item", "risk_unanswered")
"""Rules whose alerts are resolved only with a follow-up record (``follow_up.py``)."""


def raise_alert(
    db: Session,
    *,
    organization_id: str,
    client_id: str,
    episode_id: str | None,
    session_id: str | None,
    key: str,
    rule: str,
    priority: str,
    reason: str,
    next_steps: Sequence[str],
    numbers: dict[str, Any],
    provenance: str | None,
) -> Alert | None:
    """Open an alert unless one with the same ``key`` exists (returns None then)."""
    if priority not in PRIORITIES:
        raise ValueError(f"priority must be one of {PRIORITIES}, got {priority!r}")
    existing = db.scalar(
        select(Alert.id).where(Alert.organization_id == organization_id, Alert.key == key)
    )
    if existing:
        return None
    alert = Alert(
        organization_id=organization_id,
        client_id=client_id,
        episode_id=episode_id,
        session_id=session_id,
        key=key,
        rule=rule,
        priority=priority,
        reason=reason,
        next_steps=list(next_steps),
        numbers=numbers,
        provenance=provenance,
    )
    db.add(alert)
    db.flush()
    db.add(AlertEvent(alert_id=alert.id, action="raised"))
    return alert


def alert_for(db: Session, actor: Actor, alert_id: str) -> Alert:
    alert = db.scalar(
        select(Alert)
        .join(Client, Client.id == Alert.client_id)
        .where(Alert.id == alert_id, visible_clients(actor)),
        access_params(actor),
    )
    if alert is None:
        raise NotFound(f"no alert {alert_id}")
    return alert


def act_on_alert(
    db: Session, actor: Actor, alert_id: str, action: str, note: str | None = None
) -> Alert:
    """``acknowledge``, ``resolve`` or ``note``; every step is kept in the history. A risk
    alert is not resolved here: it needs a follow-up record (``follow_up.record_follow_up``)."""
    alert = alert_for(db, actor, alert_id)
    if action == "note":
        if not note or not note.strip():
            raise Invalid("a note needs text", field="note")
    elif action in TRANSITIONS:
        if action == "resolve" and alert.rule in RISK_RULES:
            raise Invalid(
                "a risk alert is resolved with a follow-up record: when the client was "
                "reached, the outcome and a note",
                field="follow_up",
                allowed="POST /api/v1/alerts/{id}/follow-up (or the follow-up form)",
            )
        if alert.state not in TRANSITIONS[action]:
            raise Conflict(f"an alert that is {alert.state} cannot be {action}d", field="action")
        alert.state = "acknowledged" if action == "acknowledge" else "resolved"
    else:
        raise Invalid(
            "unknown action", field="action", value=action, allowed="acknowledge, resolve, note"
        )
    alert.updated_at = utcnow()
    db.add(
        AlertEvent(
            alert_id=alert.id,
            user_id=actor.user_id,
            action=action,
            note=(note or "").strip() or None,
        )
    )
    audit.record(db, actor, action, "alert", alert.id)
    return alert


MAX_GROUP = 200


def act_on_alerts(
    db: Session, actor: Actor, alert_ids: Sequence[str], action: str, note: str | None = None
) -> list[Alert]:
    """The same step on several alerts (one problem flagged at several sessions), each
    checked, kept in its history and audited as :func:`act_on_alert` does; all or none
    (the caller rolls back on an error)."""
    ids = list(dict.fromkeys(i for i in alert_ids if i))
    if not ids:
        raise Invalid("no alerts given", field="alerts")
    if len(ids) > MAX_GROUP:
        raise Invalid(f"at most {MAX_GROUP} alerts at once", field="alerts", value=str(len(ids)))
    return [act_on_alert(db, actor, alert_id, action, note) for alert_id in ids]


def alert_history(db: Session, actor: Actor, alert_id: str) -> list[AlertEvent]:
    alert = alert_for(db, actor, alert_id)
    audit.record(db, actor, "read", "alert", alert.id)
    return list(
        db.scalars(
            select(AlertEvent).where(AlertEvent.alert_id == alert.id).order_by(AlertEvent.id)
        )
    )


def open_alerts(db: Session, actor: Actor, *, client_id: str | None = None) -> list[Alert]:
    """Open and acknowledged alerts the actor may see, urgent first."""
    query = (
        select(Alert)
        .join(Client, Client.id == Alert.client_id)
        .where(visible_clients(actor), Alert.state != "resolved")
    )
    if client_id is not None:
        query = query.where(Alert.client_id == client_id)
    alerts = list(db.scalars(query, access_params(actor)))
    alerts.sort(key=lambda a: (PRIORITIES.index(a.priority), -a.created_at.timestamp()))
    audit.record(db, actor, "list", "alert", client_id, count=len(alerts))
    return alerts
