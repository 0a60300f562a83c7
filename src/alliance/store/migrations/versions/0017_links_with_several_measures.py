"""links with several measures

A client link may carry several measures in order (ORS at the start and SRS at the end; WAI-SR
and PHQ-9): ``client_links.measures`` lists them as ``[instrument, version]`` pairs, and
``client_links.answered`` counts those answered so far. Each measure is stored when it is sent;
the link is used up (``used_at``) when the last one is. Links made before have one measure
(``measures`` empty: their ``instrument`` and ``version``) and nothing answered, or are used.

Revision ID: 0017
Revises: 0016
Create Date: 2026-12-07
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0017"
down_revision = "0016"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("client_links", schema=None, recreate="never") as batch_op:
        batch_op.add_column(
            sa.Column(
                "measures",
                sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
                nullable=True,
            )
        )
        batch_op.add_column(sa.Column("answered", sa.Integer(), nullable=False, server_default="0"))
    # a used link of before answered its one measure
    op.get_bind().execute(sa.text("UPDATE client_links SET answered = 1 WHERE used_at IS NOT NULL"))


def downgrade() -> None:
    # a link part-way through its measures is used up: its first measure is answered already
    op.get_bind().execute(
        sa.text(
            "UPDATE client_links SET used_at = CURRENT_TIMESTAMP "
            "WHERE answered > 0 AND used_at IS NULL"
        )
    )
    with op.batch_alter_table("client_links", schema=None) as batch_op:
        batch_op.drop_column("answered")
        batch_op.drop_column("measures")
