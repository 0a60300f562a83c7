"""Alerts: list, acknowledge, add a note, resolve; a risk alert's follow-up; the history is
kept."""

from __future__ import annotations

from typing import Literal

from fastapi import APIRouter

from alliance.services.accounts import risk_routing
from alliance.services.monitoring import alerting, follow_up
from alliance.store.alerts import Alert, AlertEvent, RiskFollowUp
from alliance.web.api.deps import ActorDep, DbDep
from alliance.web.api.schemas import (
    AlertAction,
    AlertEventPublic,
    AlertPublic,
    FollowUpCreate,
    FollowUpPublic,
    RiskRoutingPublic,
    RiskRoutingUpdate,
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


@router.get("/organization/risk-routing", response_model=RiskRoutingPublic)
def get_risk_routing(db: DbDep, actor: ActorDep) -> risk_routing.RoutingView:
    """Who is told about risk alerts outside the app, and the messages waiting or failed
    (admins)."""
    view = risk_routing.routing_view(db, actor)
    db.commit()
    return view


@router.put("/organization/risk-routing", response_model=RiskRoutingPublic)
def put_risk_routing(
    body: RiskRoutingUpdate, db: DbDep, actor: ActorDep
) -> risk_routing.RoutingView:
    """Set the duty address, the escalation time, the webhook and the crisis contacts."""
    risk_routing.set_routing(
        db,
        actor,
        duty_email=body.duty_email,
        escalate_after_minutes=body.escalate_after_minutes,
        webhook_url=body.webhook_url,
        webhook_secret=(
            body.webhook_secret if "webhook_secret" in body.model_fields_set else risk_routing.KEEP
        ),
        crisis_contacts=body.crisis_contacts,
    )
    db.flush()
    view = risk_routing.routing_view(db, actor)
    db.commit()
    return view
