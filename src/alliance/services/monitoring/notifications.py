"""Who is told about a risk alert outside the app, written into the outbox in the
transaction that raises (or escalates) the alert.

A risk answer raises its urgent alert at submission; in the same transaction this module
adds one ``alert_notifications`` row per recipient: an e-mail to the client's clinician and to
the organization's duty address, and a post to its webhook when one is set. An alert that is
still ``open`` (not acknowledged, no follow-up) ``escalate_after_minutes`` after it was
raised is escalated: e-mails to the supervisors of the clinician's team and the duty
address, and the webhook again. The messages carry no clinical content: "urgent alert for
client CODE, open the service". :mod:`alliance.services.monitoring.dispatch` sends them.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from alliance.store.alerts import Alert, AlertEvent
from alliance.store.base import utcnow
from alliance.store.models import Client, Episode, User
from alliance.store.notifications import ESCALATE_AFTER_MINUTES, AlertNotification, RiskRouting

NOTIFIED_RULES = ("risk_item", "risk_unanswered")
"""Alerts sent out of the app when raised: a risk answer, and a risk question left empty
(which asks for a same-day follow-up)."""
ESCALATED_RULES = ("risk_item",)
"""Alerts escalated when left unacknowledged: the urgent ones."""


@dataclass(frozen=True)
class Recipient:
    channel: str  # email, webhook
    role: str  # clinician, duty, supervisor, webhook
    address: str

    def describe(self) -> str:
        """For the alert's history: whom, never the address."""
        if self.channel == "webhook":
            return "the webhook"
        return {"clinician": "the clinician", "duty": "the duty address"}.get(
            self.role, "a supervisor"
        )


def routing_of(db: Session, organization_id: str) -> RiskRouting:
    """The organization's setting, or the defaults (nothing but the clinician's address,
    escalation after an hour) when its admin has set none."""
    found = db.get(RiskRouting, organization_id)
    if found is not None:
        return found
    return RiskRouting(
        organization_id=organization_id, escalate_after_minutes=ESCALATE_AFTER_MINUTES
    )


def _clinician(db: Session, alert: Alert) -> User | None:
    clinician_id = (
        db.scalar(select(Episode.clinician_id).where(Episode.id == alert.episode_id))
        if alert.episode_id
        else None
    ) or db.scalar(select(Client.clinician_id).where(Client.id == alert.client_id))
    return db.get(User, clinician_id) if clinician_id else None


def recipients(db: Session, alert: Alert, kind: str) -> list[Recipient]:
    """Who gets a ``raised`` or ``escalation`` message about ``alert``."""
    routing = routing_of(db, alert.organization_id)
    clinician = _clinician(db, alert)
    found: list[Recipient] = []
    if kind == "raised":
        if clinician is not None and clinician.active and clinician.email:
            found.append(Recipient("email", "clinician", clinician.email))
    elif clinician is not None and clinician.team_id is not None:
        for address in db.scalars(
            select(User.email)
            .where(
                User.team_id == clinician.team_id,
                User.role == "supervisor",
                User.active,
                User.email.is_not(None),
            )
            .order_by(User.username)
        ):
            found.append(Recipient("email", "supervisor", str(address)))
    if routing.duty_email:
        found.append(Recipient("email", "duty", routing.duty_email))
    if routing.webhook_url and routing.webhook_secret:
        found.append(Recipient("webhook", "webhook", routing.webhook_url))
    unique: dict[tuple[str, str], Recipient] = {}
    for r in found:
        unique.setdefault((r.channel, r.address.lower()), r)
    return list(unique.values())


def queue_messages(
    db: Session, alert: Alert, *, kind: str = "raised", now: dt.datetime | None = None
) -> list[Recipient]:
    """Write the messages owed about ``alert`` into the outbox (same transaction), due at
    ``now``; when there is no one to send to, say so in the alert's history."""
    if alert.rule not in NOTIFIED_RULES:
        return []
    found = recipients(db, alert, kind)
    now = now or utcnow()
    for r in found:
        db.add(
            AlertNotification(
                alert_id=alert.id,
                kind=kind,
                channel=r.channel,
                role=r.role,
                recipient=r.address,
                state="pending",
                attempts=0,
                next_attempt_at=now,
                created_at=now,
            )
        )
    if not found:
        who = (
            "no clinician's e-mail, duty address or webhook is set"
            if kind == "raised"
            else ("no supervisor's e-mail, duty address or webhook is set")
        )
        db.add(
            AlertEvent(
                alert_id=alert.id, action="not_sent", note=f"Not sent out of the app: {who}."
            )
        )
    return found


@dataclass(frozen=True)
class Reach:
    """What a client's receipt may truthfully say after a risk answer: whether an alert is
    on its way to someone outside the app, and the organization's crisis contacts."""

    told: bool
    crisis_contacts: str | None


def reach(db: Session, organization_id: str, administration_id: str, *, mail_ready: bool) -> Reach:
    """For the receipt of one administration: ``told`` when one of its risk alerts has a
    message that can leave now (an e-mail with a mail server set up, or a webhook)."""
    keys = [f"risk:{administration_id}", f"risk-empty:{administration_id}"]
    channels = list(
        db.scalars(
            select(AlertNotification.channel)
            .join(Alert, Alert.id == AlertNotification.alert_id)
            .where(
                Alert.organization_id == organization_id,
                Alert.key.in_(keys),
                AlertNotification.state != "failed",
            )
        )
    )
    told = "webhook" in channels or (mail_ready and "email" in channels)
    return Reach(told, routing_of(db, organization_id).crisis_contacts)
