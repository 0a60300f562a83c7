"""drop site_secrets: the generated signing key no code used

``site_secrets`` held one row, a "secret_key" generated at the first request when
ALLIANCE_SECRET_KEY was unset. Nothing ever signed with it — login sessions, API tokens, form
tokens and client links are random values stored hashed — yet every dump of the database
carried it. The table goes, and the setting with it.

Revision ID: 0015
Revises: 0014
Create Date: 2026-12-08
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0015"
down_revision = "0014"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.drop_table("site_secrets")


def downgrade() -> None:
    # empty: the key was never used, so an older version may generate a new one
    op.create_table(
        "site_secrets",
        sa.Column("name", sa.String(length=64), nullable=False),
        sa.Column("value", sa.String(length=200), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("name", name=op.f("pk_site_secrets")),
    )
