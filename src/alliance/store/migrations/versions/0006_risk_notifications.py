"""risk alerts sent out of the app: routing per organization, an outbox, escalation

An urgent risk alert is sent out of the app when raised (``alert_notifications``, an outbox
written in the raising transaction) to the clinician and the organization's duty address and
webhook (``risk_routing``), and escalated once when left unacknowledged
(``alerts.escalated_at``).

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-06
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None

UTC = sa.DateTime(timezone=True)


def upgrade() -> None:
    with op.batch_alter_table("alerts", schema=None) as batch_op:
        batch_op.add_column(sa.Column("escalated_at", UTC, nullable=True))
    op.create_table(
        "risk_routing",
        sa.Column("organization_id", sa.String(length=36), nullable=False),
        sa.Column("duty_email", sa.String(length=320), nullable=True),
        sa.Column("escalate_after_minutes", sa.Integer(), nullable=False),
        sa.Column("webhook_url", sa.String(length=2000), nullable=True),
        sa.Column("webhook_secret", sa.String(length=200), nullable=True),
        sa.Column("crisis_contacts", sa.Text(), nullable=True),
        sa.Column("updated_at", UTC, nullable=False),
        sa.CheckConstraint(
            "escalate_after_minutes >= 1",
            name=op.f("ck_risk_routing_escalate_after_positive"),
        ),
        sa.ForeignKeyConstraint(
            ["organization_id"],
            ["organizations.id"],
            name=op.f("fk_risk_routing_organization_id_organizations"),
        ),
        sa.PrimaryKeyConstraint("organization_id", name=op.f("pk_risk_routing")),
    )
    op.create_table(
        "alert_notifications",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("alert_id", sa.String(length=36), nullable=False),
        sa.Column("kind", sa.String(length=12), nullable=False),
        sa.Column("channel", sa.String(length=10), nullable=False),
        sa.Column("role", sa.String(length=12), nullable=False),
        sa.Column("recipient", sa.String(length=2000), nullable=False),
        sa.Column("state", sa.String(length=10), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("last_error", sa.String(length=200), nullable=True),
        sa.Column("next_attempt_at", UTC, nullable=False),
        sa.Column("claim", sa.String(length=32), nullable=True),
        sa.Column("claimed_until", UTC, nullable=True),
        sa.Column("sent_at", UTC, nullable=True),
        sa.Column("created_at", UTC, nullable=False),
        sa.CheckConstraint(
            "kind IN ('raised', 'escalation')", name=op.f("ck_alert_notifications_kind_allowed")
        ),
        sa.CheckConstraint(
            "channel IN ('email', 'webhook')", name=op.f("ck_alert_notifications_channel_allowed")
        ),
        sa.CheckConstraint(
            "role IN ('clinician', 'duty', 'supervisor', 'webhook')",
            name=op.f("ck_alert_notifications_role_allowed"),
        ),
        sa.CheckConstraint(
            "state IN ('pending', 'sent', 'failed')",
            name=op.f("ck_alert_notifications_state_allowed"),
        ),
        sa.ForeignKeyConstraint(
            ["alert_id"], ["alerts.id"], name=op.f("fk_alert_notifications_alert_id_alerts")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_alert_notifications")),
        sa.UniqueConstraint(
            "alert_id",
            "kind",
            "channel",
            "recipient",
            name=op.f("uq_alert_notifications_alert_id_kind_channel_recipient"),
        ),
    )
    with op.batch_alter_table("alert_notifications", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_alert_notifications_alert_id"), ["alert_id"])
        batch_op.create_index("ix_alert_notifications_due", ["state", "next_attempt_at"])


def downgrade() -> None:
    with op.batch_alter_table("alert_notifications", schema=None) as batch_op:
        batch_op.drop_index("ix_alert_notifications_due")
        batch_op.drop_index(batch_op.f("ix_alert_notifications_alert_id"))
    op.drop_table("alert_notifications")
    op.drop_table("risk_routing")
    with op.batch_alter_table("alerts", schema=None) as batch_op:
        batch_op.drop_column("escalated_at")
