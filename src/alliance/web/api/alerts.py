"""Alerts: list, acknowledge, add a note, resolve; a risk alert's follow-up; the history is
kept."""

from __future__ import annotations

from typing import Literal

from fastapi import APIRouter

from alliance.services.monitoring import alerting, follow_up
from alliance.store.alerts import Alert, AlertEvent, RiskFollowUp
from alliance.web.api.deps import ActorDep, DbDep
from alliance.web.api.schemas import (
    AlertAction,
    AlertEventPublic,
    AlertPublic,
    FollowUpCreate,
    FollowUpPublic,
)

router = APIRouter(tags=["alerts"])


@router.get("/alerts", response_model=list[AlertPublic])
def list_alerts(db: DbDep, actor: ActorDep, client_id: str | None = None) -> list[Alert]:
    """Open and acknowledged alerts you may see, urgent first."""
    alerts = alerting.open_alerts(db, actor, client_id=client_id)
    db.commit()
    return alerts


@router.post("/alerts/{alert_id}/follow-up", response_model=FollowUpPublic, status_code=201)
def record_follow_up(
    alert_id: str, body: FollowUpCreate, db: DbDep, actor: ActorDep
) -> RiskFollowUp:
    """Record what was done about a risk alert; with ``resolve`` it also closes the alert
    (a risk alert is closed no other way)."""
    given = follow_up.FollowUpInput(
        outcome=body.outcome,
        note=body.note,
        attempts=body.attempts,
        contacted_at=body.contacted_at,
    )
    row = follow_up.record_follow_up(db, actor, alert_id, given, resolve=body.resolve)
    db.commit()
    return row


@router.post("/alerts/{alert_id}/{action}", response_model=AlertPublic)
def act(
    alert_id: str,
    action: Literal["acknowledge", "resolve", "note"],
    body: AlertAction,
    db: DbDep,
    actor: ActorDep,
) -> Alert:
    alert = alerting.act_on_alert(db, actor, alert_id, action, body.note)
    db.commit()
    return alert


@router.get("/alerts/{alert_id}/history", response_model=list[AlertEventPublic])
def history(alert_id: str, db: DbDep, actor: ActorDep) -> list[AlertEvent]:
    events = alerting.alert_history(db, actor, alert_id)
    db.commit()
    return events
