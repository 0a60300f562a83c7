"""risk follow-up records

A risk alert is resolved only with a documented follow-up (``risk_follow_ups``): when the
client was reached or how many attempts failed, the outcome, and a note.

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-06
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None

UTC = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "risk_follow_ups",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("alert_id", sa.String(length=36), nullable=False),
        sa.Column("user_id", sa.String(length=36), nullable=True),
        sa.Column("contacted_at", UTC, nullable=True),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("outcome", sa.String(length=30), nullable=False),
        sa.Column("note", sa.Text(), nullable=False),
        sa.Column("created_at", UTC, nullable=False),
        sa.CheckConstraint(
            "outcome IN ('no_current_risk', 'safety_plan', 'referred', "
            "'emergency_services', 'not_reached')",
            name=op.f("ck_risk_follow_ups_outcome_allowed"),
        ),
        sa.CheckConstraint("attempts >= 1", name=op.f("ck_risk_follow_ups_attempts_positive")),
        sa.ForeignKeyConstraint(
            ["alert_id"], ["alerts.id"], name=op.f("fk_risk_follow_ups_alert_id_alerts")
        ),
        sa.ForeignKeyConstraint(
            ["user_id"], ["users.id"], name=op.f("fk_risk_follow_ups_user_id_users")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_risk_follow_ups")),
    )
    with op.batch_alter_table("risk_follow_ups", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_risk_follow_ups_alert_id"), ["alert_id"])


def downgrade() -> None:
    with op.batch_alter_table("risk_follow_ups", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_risk_follow_ups_alert_id"))
    op.drop_table("risk_follow_ups")
