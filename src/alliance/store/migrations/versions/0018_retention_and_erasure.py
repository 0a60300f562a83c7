"""retention and erasure: an organization's retention period and erasure policy, and the mark
an erasure leaves on the audit events it redacted

``organizations.retention_years``: records are kept this many years after a client's last
episode ended (empty: kept until someone erases them). ``organizations.erasure_keeps_scores``:
whether an erasure may keep a client's answers and scores, de-identified, for statistics.
``audit_events.redacted_by``: where an event's client references were redacted, the
``chain/seq`` of the erasure event that lists the event and its redacted content's digest
(``services/redaction.py``). Nothing is rewritten: every existing row keeps its values.

Revision ID: 0018
Revises: 0017
Create Date: 2026-12-07
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0018"
down_revision = "0017"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("organizations") as batch:
        batch.add_column(sa.Column("retention_years", sa.Integer(), nullable=True))
        batch.add_column(
            sa.Column(
                "erasure_keeps_scores", sa.Boolean(), server_default=sa.false(), nullable=False
            )
        )
    with op.batch_alter_table("audit_events") as batch:
        batch.add_column(sa.Column("redacted_by", sa.String(length=32), nullable=True))


def downgrade() -> None:
    # a redacted event cannot get its content back; an older version's verify would report it
    # as edited, so the downgrade keeps nothing that says otherwise
    with op.batch_alter_table("audit_events") as batch:
        batch.drop_column("redacted_by")
    with op.batch_alter_table("organizations") as batch:
        batch.drop_column("erasure_keeps_scores")
        batch.drop_column("retention_years")
