"""repair databases made on the side branch whose migration was also numbered 0002

Two migrations once carried the revision id "0002": clinician learning (``quiz_results``,
``organizations.supervisors_see_calibration``) on main, and alert provenance as text on a side
branch, which the merge renumbered to 0003. A database initialised on the side branch is
stamped "0002" without clinician learning's tables, so Alembic took it to be past clinician
learning and upgraded it without them. Here what clinician learning creates is created
where it is missing (clinician learning's own upgrade, run once); a database made on main
already has it and is left alone. Nothing to undo on downgrade: the tables belong to 0002.

Revision ID: 0013
Revises: 0010
Create Date: 2026-12-08
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from alliance.store.migrate import alembic_config

revision = "0013"
down_revision = "0010"
branch_labels = None
depends_on = None


def upgrade() -> None:
    inspector = sa.inspect(op.get_bind())
    if "quiz_results" in inspector.get_table_names():
        return
    columns = {c["name"] for c in inspector.get_columns("organizations")}
    if "supervisors_see_calibration" in columns:
        return  # half of it: not the side branch's state; `alliance init` names the rest
    from alembic.script import ScriptDirectory  # noqa: PLC0415

    clinician_learning = ScriptDirectory.from_config(alembic_config()).get_revision("0002")
    if clinician_learning is None:  # pragma: no cover - shipped beside this file
        raise RuntimeError("migration 0002 (clinician learning) is missing")
    clinician_learning.module.upgrade()


def downgrade() -> None:
    pass
