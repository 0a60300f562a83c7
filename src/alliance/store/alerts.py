"""Alerts put in front of a person, the history of what was done with them, and the
documented follow-up that closes a risk alert."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import CheckConstraint, ForeignKey, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from alliance.store.base import Base, JSONType, UTCDateTime, new_id, utcnow

ALERT_STATES = ("open", "acknowledged", "resolved")
PRIORITIES = ("urgent", "high", "medium", "low")


class Alert(Base):
    """A signal shown to a clinician, with the reason and suggested next steps.

    ``key`` makes raising the same signal twice (e.g. after re-analysis) a no-op.
    """

    __tablename__ = "alerts"
    __table_args__ = (
        UniqueConstraint("organization_id", "key"),
        CheckConstraint(
            f"state IN ({', '.join(repr(s) for s in ALERT_STATES)})", name="state_allowed"
        ),
        CheckConstraint(
            f"priority IN ({', '.join(repr(p) for p in PRIORITIES)})", name="priority_allowed"
        ),
    )

    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    organization_id: Mapped[str] = mapped_column(ForeignKey("organizations.id"))
    client_id: Mapped[str] = mapped_column(ForeignKey("clients.id"), index=True)
    episode_id: Mapped[str | None] = mapped_column(ForeignKey("episodes.id"))
    session_id: Mapped[str | None] = mapped_column(ForeignKey("sessions.id"))
    key: Mapped[str] = mapped_column(String(200))
    rule: Mapped[str] = mapped_column(String(64))
    priority: Mapped[str] = mapped_column(String(10))
    reason: Mapped[str] = mapped_column(Text)
    next_steps: Mapped[list[str]] = mapped_column(JSONType, default=list)
    numbers: Mapped[dict[str, Any]] = mapped_column(JSONType, default=dict)
    # unbounded; SQLite keeps its first declaration (it enforces no length; migration 0002)
    provenance: Mapped[str | None] = mapped_column(Text().with_variant(String(200), "sqlite"))
    state: Mapped[str] = mapped_column(String(20), default="open")
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    # when a risk alert left unacknowledged was escalated (set once, by whoever claims it)
    escalated_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)


class AlertEvent(Base):
    """One step in an alert's history: raised, acknowledged, noted, followed up, resolved;
    and for risk alerts each message sent, failed or escalated."""

    __tablename__ = "alert_events"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    alert_id: Mapped[str] = mapped_column(ForeignKey("alerts.id"), index=True)
    user_id: Mapped[str | None] = mapped_column(ForeignKey("users.id"))
    action: Mapped[str] = mapped_column(String(20))
    note: Mapped[str | None] = mapped_column(Text)
    at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)


FOLLOW_UP_OUTCOMES = (
    "no_current_risk",
    "safety_plan",
    "referred",
    "emergency_services",
    "not_reached",
)


class RiskFollowUp(Base):
    """What was done about a risk alert: when the client was reached (or not, after how many
    attempts), the outcome from a fixed list, and a note. A risk alert is resolved only
    with one whose outcome says the client was reached or helped."""

    __tablename__ = "risk_follow_ups"
    __table_args__ = (
        CheckConstraint(
            f"outcome IN ({', '.join(repr(o) for o in FOLLOW_UP_OUTCOMES)})",
            name="outcome_allowed",
        ),
        CheckConstraint("attempts >= 1", name="attempts_positive"),
    )

    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    alert_id: Mapped[str] = mapped_column(ForeignKey("alerts.id"), index=True)
    user_id: Mapped[str | None] = mapped_column(ForeignKey("users.id"))
    contacted_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    attempts: Mapped[int] = mapped_column(Integer)
    outcome: Mapped[str] = mapped_column(String(30))
    note: Mapped[str] = mapped_column(Text)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
