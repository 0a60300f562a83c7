"""An organization's risk routing, set by its admin: the duty address told about every risk
alert, the minutes after which an unacknowledged urgent alert is escalated, an optional
signed webhook (a pager or chat system), and the crisis contacts a client's receipt shows.
"""

from __future__ import annotations

import re
import secrets
from dataclasses import dataclass
from urllib.parse import urlsplit

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from alliance.services import audit
from alliance.services.accounts.access import require_role
from alliance.services.context import Actor
from alliance.services.errors import Invalid
from alliance.services.monitoring.notifications import routing_of
from alliance.store.alerts import Alert
from alliance.store.base import utcnow
from alliance.store.notifications import AlertNotification, RiskRouting

EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
MINUTES = (5, 1440)
MIN_SECRET = 16
MAX_CONTACTS = 2000
KEEP = object()


@dataclass(frozen=True)
class RoutingView:
    """What the admin page and the API show: the secret never, only whether one is set."""

    duty_email: str | None
    escalate_after_minutes: int
    webhook_url: str | None
    webhook_secret_set: bool
    crisis_contacts: str | None
    pending: int
    failed: int


def routing_view(db: Session, actor: Actor) -> RoutingView:
    require_role(actor, "admin")
    org = actor.organization_id or ""
    routing = routing_of(db, org)
    counts = dict(
        db.execute(
            select(AlertNotification.state, func.count())
            .join(Alert, Alert.id == AlertNotification.alert_id)
            .where(Alert.organization_id == org, AlertNotification.state != "sent")
            .group_by(AlertNotification.state)
        ).all()
    )
    return RoutingView(
        routing.duty_email,
        routing.escalate_after_minutes,
        routing.webhook_url,
        bool(routing.webhook_secret),
        routing.crisis_contacts,
        int(counts.get("pending", 0)),
        int(counts.get("failed", 0)),
    )


def _email(value: str | None) -> str | None:
    text = (value or "").strip()
    if not text:
        return None
    if len(text) > 320 or not EMAIL.match(text):
        raise Invalid("not an e-mail address", field="duty_email", value=text,
                      allowed="name@example.org, or empty")  # fmt: skip
    return text


def _url(value: str | None) -> str | None:
    text = (value or "").strip()
    if not text:
        return None
    parts = urlsplit(text)
    if parts.scheme not in ("https", "http") or not parts.netloc or len(text) > 2000:
        raise Invalid("not a web address", field="webhook_url", value=text,
                      allowed="https://… (or http://… on a trusted network), or empty")  # fmt: skip
    return text


def set_routing(
    db: Session,
    actor: Actor,
    *,
    duty_email: str | None,
    escalate_after_minutes: int,
    webhook_url: str | None,
    webhook_secret: object = KEEP,
    crisis_contacts: str | None,
) -> RiskRouting:
    """Save the setting; ``webhook_secret`` left as :data:`KEEP` keeps the stored one, an
    empty one removes it."""
    require_role(actor, "admin")
    low, high = MINUTES
    if isinstance(escalate_after_minutes, bool) or not low <= escalate_after_minutes <= high:
        raise Invalid("minutes before an unacknowledged urgent alert is escalated",
                      field="escalate_after_minutes", value=escalate_after_minutes,
                      allowed=f"{low} … {high}")  # fmt: skip
    contacts = (crisis_contacts or "").strip() or None
    if contacts is not None and len(contacts) > MAX_CONTACTS:
        raise Invalid(f"at most {MAX_CONTACTS} characters", field="crisis_contacts")
    org = actor.organization_id or ""
    routing = db.get(RiskRouting, org) or RiskRouting(organization_id=org)
    routing.duty_email = _email(duty_email)
    routing.escalate_after_minutes = escalate_after_minutes
    routing.webhook_url = _url(webhook_url)
    if webhook_secret is not KEEP:
        secret = str(webhook_secret or "").strip()
        routing.webhook_secret = secret or None
    if routing.webhook_secret is not None and len(routing.webhook_secret) < MIN_SECRET:
        raise Invalid(f"a webhook secret of at least {MIN_SECRET} characters",
                      field="webhook_secret")  # fmt: skip
    if routing.webhook_url and not routing.webhook_secret:
        raise Invalid("a webhook needs a secret to sign its messages (or generate one)",
                      field="webhook_secret")  # fmt: skip
    routing.crisis_contacts = contacts
    routing.updated_at = utcnow()
    db.add(routing)
    audit.record(db, actor, "update", "organization", org, changed=["risk_routing"])
    return routing


def new_secret() -> str:
    """A webhook secret for an admin who has none at hand."""
    return secrets.token_urlsafe(32)
