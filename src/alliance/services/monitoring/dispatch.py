"""Sending what the outbox owes, escalating risk alerts left unacknowledged, retrying
failures — run right after a submission, every ``ALLIANCE_ALERT_CHECK_SECONDS`` by each served
worker, and by ``alliance alerts dispatch`` (cron).

Several senders may run at once (workers, cron): each claims the rows it sends with a lease
(``claim``, ``claimed_until``) in its own short transaction, so a row is sent by one of them;
an alert is escalated by whoever sets its ``escalated_at`` first. Like ``links.send_link``
this use case commits by itself: messages go out with no transaction open, so no database
lock waits on a mail server or a webhook. Every message sent, failed or given up, and every
escalation, is a step of the alert's history and an audit event (ids and channels only).
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import secrets
import smtplib
from collections import defaultdict
from dataclasses import dataclass

from sqlalchemy import func, or_, select, update
from sqlalchemy.orm import Session

from alliance.services import audit
from alliance.services.context import Actor
from alliance.services.mail import Mail, Mailer
from alliance.services.monitoring.notifications import (
    ESCALATED_RULES,
    Recipient,
    queue_messages,
    routing_of,
)
from alliance.services.webhooks import (
    EVENT_HEADER,
    SIGNATURE_HEADER,
    Webhook,
    WebhookError,
    WebhookSender,
    sign,
)
from alliance.store.alerts import Alert, AlertEvent
from alliance.store.base import utcnow
from alliance.store.models import Client
from alliance.store.notifications import AlertNotification, RiskRouting

logger = logging.getLogger(__name__)
LEASE = dt.timedelta(minutes=2)
BATCH = 500
MAX_TRIES = 8
BACKOFF_MINUTES = (1, 2, 5, 10, 20, 30, 60)


@dataclass(frozen=True)
class Outbound:
    """How messages leave: the mail server (None when none is configured: e-mails wait), the
    webhook sender, and the service's public address for the links."""

    mailer: Mailer | None
    webhooks: WebhookSender | None
    base_url: str


@dataclass
class Dispatched:
    sent: int = 0
    failed: int = 0
    given_up: int = 0
    escalated: int = 0


def retry_delay(tries: int) -> dt.timedelta:
    """1, 2, 5, 10, 20, 30, then 60 minutes after the 1st, 2nd, … failed try."""
    return dt.timedelta(minutes=BACKOFF_MINUTES[min(tries, len(BACKOFF_MINUTES)) - 1])


def dispatch(db: Session, outbound: Outbound, *, now: dt.datetime | None = None) -> Dispatched:
    """Escalate what is due, then send every message that is due. Commits; call it with a
    session that holds no pending work of its own."""
    now = now or utcnow()
    done = Dispatched()
    done.escalated = escalate_due(db, now=now)
    channels = [c for c, ready in (("email", outbound.mailer), ("webhook", outbound.webhooks))
                if ready is not None]  # fmt: skip
    while True:
        rows = _claim(db, channels, now=now)
        if not rows:
            break
        for group in _groups(rows):
            _send_group(db, outbound, group, now=now, done=done)
        if len(rows) < BATCH:
            break
    return done


def escalate_due(db: Session, *, now: dt.datetime) -> int:
    """Escalate each urgent risk alert still open past its organization's time."""
    candidates = db.execute(
        select(Alert.id, Alert.created_at, RiskRouting.escalate_after_minutes)
        .outerjoin(RiskRouting, RiskRouting.organization_id == Alert.organization_id)
        .where(
            Alert.rule.in_(ESCALATED_RULES),
            Alert.state == "open",
            Alert.escalated_at.is_(None),
        )
    ).all()
    db.rollback()
    escalated = 0
    for alert_id, created, minutes in candidates:
        after = dt.timedelta(minutes=minutes or 60)
        if created > now - after:
            continue
        claimed = db.execute(
            update(Alert)
            .where(Alert.id == alert_id, Alert.escalated_at.is_(None), Alert.state == "open")
            .values(escalated_at=now)
            .execution_options(synchronize_session=False)
        )
        if claimed.rowcount != 1:  # type: ignore[attr-defined]
            db.rollback()  # acknowledged meanwhile, or another sender escalated it
            continue
        alert = db.get(Alert, alert_id)
        if alert is None:
            db.rollback()
            continue
        found = queue_messages(db, alert, kind="escalation", now=now)
        whom = ", ".join(sorted({r.describe() for r in found})) or "nobody (no address set)"
        db.add(
            AlertEvent(
                alert_id=alert.id,
                action="escalated",
                note=f"Not acknowledged within {int(after.total_seconds() // 60)} minutes; "
                f"escalated to {whom}.",
                at=now,
            )
        )
        audit.record(
            db, Actor.system(alert.organization_id), "escalate", "alert", alert.id,
            recipients=len(found),
        )  # fmt: skip
        db.commit()
        escalated += 1
    return escalated


def _claim(db: Session, channels: list[str], *, now: dt.datetime) -> list[AlertNotification]:
    if not channels:
        return []
    free = or_(AlertNotification.claimed_until.is_(None), AlertNotification.claimed_until < now)
    due = list(
        db.scalars(
            select(AlertNotification.id)
            .where(
                AlertNotification.state == "pending",
                AlertNotification.next_attempt_at <= now,
                AlertNotification.channel.in_(channels),
                free,
            )
            .order_by(AlertNotification.id)
            .limit(BATCH)
        )
    )
    if not due:
        db.rollback()
        return []
    token = secrets.token_hex(16)
    db.execute(
        update(AlertNotification)
        .where(AlertNotification.id.in_(due), AlertNotification.state == "pending", free)
        .values(claim=token, claimed_until=now + LEASE)
        .execution_options(synchronize_session=False)
    )
    db.commit()
    return list(db.scalars(select(AlertNotification).where(AlertNotification.claim == token)))


@dataclass(frozen=True)
class _Group:
    """Messages of one kind to one recipient, sent as one e-mail or one post."""

    channel: str
    address: str
    kind: str
    role: str
    ids: tuple[int, ...]

    @property
    def what(self) -> str:
        medium = "e-mail" if self.channel == "email" else "post"
        escalation = "escalation " if self.kind == "escalation" else ""
        who = Recipient(self.channel, self.role, self.address).describe()
        text = f"{escalation}{medium} to {who}"
        return text[:1].upper() + text[1:]


def _groups(rows: list[AlertNotification]) -> list[_Group]:
    grouped: dict[tuple[str, str, str], list[AlertNotification]] = defaultdict(list)
    for row in rows:
        grouped[(row.channel, row.recipient, row.kind)].append(row)
    return [
        _Group(channel, address, kind, members[0].role, tuple(m.id for m in members))
        for (channel, address, kind), members in grouped.items()
    ]


def _send_group(
    db: Session, outbound: Outbound, group: _Group, *, now: dt.datetime, done: Dispatched
) -> None:
    alert_ids = list(
        db.scalars(select(AlertNotification.alert_id).where(AlertNotification.id.in_(group.ids)))
    )
    items = [
        (alert, str(code))
        for alert, code in db.execute(
            select(Alert, Client.code)
            .join(Client, Client.id == Alert.client_id)
            .where(Alert.id.in_(alert_ids))
            .order_by(Alert.created_at)
        ).all()
    ]
    secret = ""
    if items and group.channel == "webhook":
        secret = routing_of(db, items[0][0].organization_id).webhook_secret or ""
    organizations = {a.id: a.organization_id for a, _ in items}
    db.commit()  # nothing is held while the message goes out
    error = _deliver(outbound, group, items, secret, now=now) if items else None
    for notification_id in group.ids:
        row = db.get(AlertNotification, notification_id)
        if row is None:
            continue
        row.claim = None
        row.claimed_until = None
        if error is None:
            row.state, row.sent_at, row.last_error = "sent", utcnow(), None
            action, note = "notified", f"{group.what} sent."
            done.sent += 1
        else:
            row.attempts += 1
            row.last_error = error[:200]
            action = "send_failed"
            if row.attempts >= MAX_TRIES:
                row.state = "failed"
                note = f"{group.what} failed ({error}); given up after {row.attempts} tries."
                done.given_up += 1
            else:
                row.next_attempt_at = now + retry_delay(row.attempts)
                note = (
                    f"{group.what} failed ({error}); trying again at "
                    f"{row.next_attempt_at:%Y-%m-%d %H:%M} UTC."
                )
                done.failed += 1
        db.add(AlertEvent(alert_id=row.alert_id, action=action, note=note))
        audit.record(
            db, Actor.system(organizations.get(row.alert_id)),
            "notify" if error is None else "notify_failed", "alert", row.alert_id,
            channel=group.channel, role=group.role, kind=group.kind,
        )  # fmt: skip
    db.commit()


def _deliver(
    outbound: Outbound,
    group: _Group,
    items: list[tuple[Alert, str]],
    secret: str,
    *,
    now: dt.datetime,
) -> str | None:
    """Send; None when it went out, else what went wrong (the error's kind, no content)."""
    try:
        if group.channel == "email" and outbound.mailer is not None:
            outbound.mailer.send(_mail(group.address, group.kind, items, outbound.base_url))
        elif group.channel == "webhook" and outbound.webhooks is not None:
            hook = _webhook(group.address, secret, group.kind, items, outbound.base_url, now)
            outbound.webhooks.post(hook)
        else:  # claimed only when a sender for the channel is set
            return "no sender for this channel"
    except WebhookError as exc:
        problem = str(exc)
    except (OSError, smtplib.SMTPException) as exc:
        problem = exc.__class__.__name__
    else:
        return None
    # the channel, the role and the error's kind: no address, no client code
    logger.warning(
        "risk-alert %s (%s, %s) not sent: %s", group.kind, group.channel, group.role, problem
    )
    return problem


def _subject(kind: str, items: list[tuple[Alert, str]]) -> str:
    codes = ", ".join(code for _, code in items[:5]) + (" …" if len(items) > 5 else "")
    urgent = any(a.priority == "urgent" for a, _ in items)
    what = "Urgent alert" if urgent else "Risk question left unanswered"
    if len(items) > 1:
        what += "s"
    prefix = "Not yet acknowledged: " if kind == "escalation" else ""
    return f"{prefix}{what} for client{'s' if len(items) > 1 else ''} {codes}"


def _line(alert: Alert, code: str, base_url: str) -> str:
    what = "urgent alert" if alert.priority == "urgent" else "risk question left unanswered"
    return (
        f"- {what} for client {code}, raised {alert.created_at:%Y-%m-%d %H:%M} UTC: "
        f"{base_url.rstrip('/')}/clients/{alert.client_id}"
    )


def _mail(address: str, kind: str, items: list[tuple[Alert, str]], base_url: str) -> Mail:
    lines = [_line(a, code, base_url) for a, code in items]
    head = (
        "These alerts have not been acknowledged in the time your organization set:"
        if kind == "escalation"
        else "Open the service to see:"
    )
    text = (
        f"{head}\n\n" + "\n".join(lines) + "\n\nThis message holds no clinical details; "
        "they are in the service. Acknowledge the alert there, and record the follow-up.\n"
    )
    return Mail(to=address, subject=_subject(kind, items), text=text)


def _webhook(  # noqa: PLR0917 - one message's parts
    url: str,
    secret: str,
    kind: str,
    items: list[tuple[Alert, str]],
    base_url: str,
    now: dt.datetime,
) -> Webhook:
    event = "alert.escalated" if kind == "escalation" else "alert.raised"
    body = json.dumps(
        {
            "event": event,
            "sent_at": now.isoformat(),
            "text": _subject(kind, items) + ": open the service.",
            "alerts": [
                {
                    "id": a.id,
                    "client": code,
                    "priority": a.priority,
                    "raised_at": a.created_at.isoformat(),
                    "url": f"{base_url.rstrip('/')}/clients/{a.client_id}",
                }
                for a, code in items
            ],
        },
        separators=(",", ":"),
    ).encode("utf-8")
    return Webhook(url, body, {SIGNATURE_HEADER: sign(secret, body), EVENT_HEADER: event})


def owed(db: Session) -> int:
    """How many risk-alert messages are waiting to be sent or retried (for the metrics)."""
    statement = select(func.count()).select_from(AlertNotification)
    return int(db.scalar(statement.where(AlertNotification.state == "pending")) or 0)
