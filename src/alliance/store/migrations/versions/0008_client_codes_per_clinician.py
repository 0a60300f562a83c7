"""client codes are unique per clinician, not per organization

A code unique in the whole organization let any clinician ask whether a code they cannot see
exists (registering it answered "in use"). A code is now unique among the clients of one
clinician; the service also refuses a code held by any client the person registering can see,
so nobody meets two clients of one code unless they see more than one clinician's clients.

Revision ID: 0008
Revises: 0006
Create Date: 2026-12-07
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # SQLite rebuilds the table (env.py turns foreign keys off around migrations there)
    with op.batch_alter_table("clients", schema=None) as batch_op:
        batch_op.drop_constraint("uq_clients_organization_id_code", type_="unique")
        batch_op.create_unique_constraint(
            "uq_clients_organization_id_clinician_id_code",
            ["organization_id", "clinician_id", "code"],
        )


def downgrade() -> None:
    shared = (
        op.get_bind()
        .execute(
            sa.text(
                "SELECT organization_id, code FROM clients GROUP BY organization_id, code "
                "HAVING COUNT(*) > 1"
            )
        )
        .first()
    )
    if shared is not None:
        raise RuntimeError(
            f"clients of several clinicians share the code {shared.code!r}; give them "
            "different codes before downgrading below 0008"
        )
    with op.batch_alter_table("clients", schema=None) as batch_op:
        batch_op.drop_constraint("uq_clients_organization_id_clinician_id_code", type_="unique")
        batch_op.create_unique_constraint(
            "uq_clients_organization_id_code", ["organization_id", "code"]
        )
