"""alert provenance as text

The sources behind an alert (``alerts.provenance``) can be longer than 200 characters — the
CORE-10 risk item's are — and PostgreSQL refused to store such an alert, so a risk answer
could not be submitted there. On PostgreSQL the column becomes unbounded text. SQLite does
not enforce a declared length, and rebuilding the table there would need foreign keys
switched off around the migration, so on SQLite the declaration stays as it is (the model
says the same, with a SQLite variant).

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-26
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    if op.get_bind().dialect.name == "sqlite":
        return
    op.alter_column(
        "alerts",
        "provenance",
        existing_type=sa.String(length=200),
        type_=sa.Text(),
        existing_nullable=True,
    )


def downgrade() -> None:
    if op.get_bind().dialect.name == "sqlite":
        return
    # the older column holds 200 characters: keep the start of a longer text
    op.execute(
        "UPDATE alerts SET provenance = substr(provenance, 1, 200) WHERE length(provenance) > 200"
    )
    op.alter_column(
        "alerts",
        "provenance",
        existing_type=sa.Text(),
        type_=sa.String(length=200),
        existing_nullable=True,
    )
