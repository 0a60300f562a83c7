"""Who hears about a risk alert outside the app, and each message owed or sent.

``risk_routing`` is one organization's setting (duty address, escalation time, optional
signed webhook, the crisis contacts a client's receipt shows). ``alert_notifications`` is an
outbox: a row per alert, message kind and recipient is written in the transaction that
raises or escalates the alert, and a sender claims due rows, sends them with no
transaction open and records the result, retrying failures.
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import CheckConstraint, ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from alliance.store.base import Base, UTCDateTime, utcnow

KINDS = ("raised", "escalation")
CHANNELS = ("email", "webhook")
ROLES = ("clinician", "duty", "supervisor", "webhook")
STATES = ("pending", "sent", "failed")
ESCALATE_AFTER_MINUTES = 60


def _in(column: str, values: tuple[str, ...]) -> CheckConstraint:
    return CheckConstraint(
        f"{column} IN ({', '.join(repr(v) for v in values)})", f"{column}_allowed"
    )


class RiskRouting(Base):
    """An organization's answer to "who is told about a risk answer, and when"."""

    __tablename__ = "risk_routing"
    __table_args__ = (
        CheckConstraint("escalate_after_minutes >= 1", name="escalate_after_positive"),
    )

    organization_id: Mapped[str] = mapped_column(ForeignKey("organizations.id"), primary_key=True)
    duty_email: Mapped[str | None] = mapped_column(String(320))
    escalate_after_minutes: Mapped[int] = mapped_column(Integer, default=ESCALATE_AFTER_MINUTES)
    webhook_url: Mapped[str | None] = mapped_column(String(2000))
    webhook_secret: Mapped[str | None] = mapped_column(String(200))
    crisis_contacts: Mapped[str | None] = mapped_column(Text)
    updated_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)


class AlertNotification(Base):
    """One message about one alert to one recipient: owed (``pending``), ``sent``, or given
    up after repeated failures (``failed``)."""

    __tablename__ = "alert_notifications"
    __table_args__ = (
        UniqueConstraint("alert_id", "kind", "channel", "recipient"),
        _in("kind", KINDS),
        _in("channel", CHANNELS),
        _in("role", ROLES),
        _in("state", STATES),
        Index("ix_alert_notifications_due", "state", "next_attempt_at"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    alert_id: Mapped[str] = mapped_column(ForeignKey("alerts.id"), index=True)
    kind: Mapped[str] = mapped_column(String(12))
    channel: Mapped[str] = mapped_column(String(10))
    role: Mapped[str] = mapped_column(String(12))
    recipient: Mapped[str] = mapped_column(String(2000))
    state: Mapped[str] = mapped_column(String(10), default="pending")
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    last_error: Mapped[str | None] = mapped_column(String(200))
    next_attempt_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    # a sender's lease: rows it claimed are not taken by another until the lease ends
    claim: Mapped[str | None] = mapped_column(String(32))
    claimed_until: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    sent_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
