"""client identifiers: the identifiers other systems give a client (an EHR's MRN)

Imports and the FHIR interface match patients by the EHR's identifier (system + value).

Revision ID: 0019
Revises: 0018
Create Date: 2026-12-07
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0019"
down_revision = "0018"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "client_identifiers",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("organization_id", sa.String(length=36), nullable=False),
        sa.Column("client_id", sa.String(length=36), nullable=False),
        sa.Column("system", sa.String(length=255), nullable=False),
        sa.Column("value", sa.String(length=255), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["client_id"], ["clients.id"], name=op.f("fk_client_identifiers_client_id_clients")
        ),
        sa.ForeignKeyConstraint(
            ["organization_id"],
            ["organizations.id"],
            name=op.f("fk_client_identifiers_organization_id_organizations"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_client_identifiers")),
        sa.UniqueConstraint(
            "organization_id",
            "system",
            "value",
            name=op.f("uq_client_identifiers_organization_id_system_value"),
        ),
    )
    with op.batch_alter_table("client_identifiers", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_client_identifiers_client_id"), ["client_id"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("client_identifiers", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_client_identifiers_client_id"))
    op.drop_table("client_identifiers")
