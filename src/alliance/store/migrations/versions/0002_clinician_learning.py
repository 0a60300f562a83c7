"""clinician learning: private self-check results; supervisors' view of calibration

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-26
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

JSON = sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql")


def upgrade() -> None:
    with op.batch_alter_table("organizations", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column(
                "supervisors_see_calibration",
                sa.Boolean(),
                server_default=sa.false(),
                nullable=False,
            )
        )
    op.create_table(
        "quiz_results",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("user_id", sa.String(length=36), nullable=False),
        sa.Column("bank_version", sa.String(length=20), nullable=False),
        sa.Column("seed", sa.BigInteger(), nullable=False),
        sa.Column("topics", JSON, nullable=False),
        sa.Column("question_ids", JSON, nullable=False),
        sa.Column("chosen", JSON, nullable=False),
        sa.Column("asked", sa.Integer(), nullable=False),
        sa.Column("answered", sa.Integer(), nullable=False),
        sa.Column("correct", sa.Integer(), nullable=False),
        sa.Column("by_topic", JSON, nullable=False),
        sa.Column("taken_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("source", sa.String(length=10), nullable=False),
        sa.Column("idempotency_key", sa.String(length=64), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint(
            "source IN ('web', 'api', 'cli')", name=op.f("ck_quiz_results_source_allowed")
        ),
        sa.ForeignKeyConstraint(
            ["user_id"], ["users.id"], name=op.f("fk_quiz_results_user_id_users")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_quiz_results")),
        sa.UniqueConstraint(
            "user_id", "idempotency_key", name=op.f("uq_quiz_results_user_id_idempotency_key")
        ),
    )
    with op.batch_alter_table("quiz_results", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_quiz_results_user_id"), ["user_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("quiz_results", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_quiz_results_user_id"))
    op.drop_table("quiz_results")
    with op.batch_alter_table("organizations", schema=None) as batch_op:
        batch_op.drop_column("supervisors_see_calibration")
