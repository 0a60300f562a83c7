"""one current rating per session, instrument, perspective, stance and rater

Adds ``administrations.rater`` (``client`` for the client's own rating, else the id of the
user whose rating it is) and ``administrations.superseded_at`` (when a correction replaced
the rating), then the partial unique index ``uq_administrations_current`` over the current
ratings.

Before the index can exist, ratings that stood side by side are resolved, deterministically
and without deleting anything: in each group of current ratings of one session, instrument,
perspective, stance and rater, the latest entered (ties broken by the larger id) stays
current; each earlier one is marked superseded at the moment the next one was entered, and
the next one, unless it already corrects another rating, is linked to it as its correction.
What was done is reported (``config.attributes["reports"]``, printed by ``alliance init``).

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-06
"""

from __future__ import annotations

import itertools

import sqlalchemy as sa
from alembic import op

revision = "0014"
down_revision = "0013"
branch_labels = None
depends_on = None

GROUP = ("session_id", "instrument", "perspective", "stance", "rater")
REASON = "a later rating of the same session and form (resolved by migration 0014)"


def upgrade() -> None:
    postgres = op.get_bind().dialect.name == "postgresql"
    with op.batch_alter_table("administrations", schema=None, recreate="never") as batch_op:
        # SQLite adds a NOT NULL column only with a default; PostgreSQL drops it below
        batch_op.add_column(
            sa.Column("rater", sa.String(length=36), nullable=False, server_default="")
        )
        batch_op.add_column(sa.Column("superseded_at", sa.DateTime(timezone=True)))
    _fill_raters()
    _mark_corrected()
    resolved, groups = _resolve_duplicates()
    if postgres:
        op.alter_column("administrations", "rater", server_default=None)
    op.create_index(
        "uq_administrations_current",
        "administrations",
        list(GROUP),
        unique=True,
        sqlite_where=sa.text("superseded_at IS NULL"),
        postgresql_where=sa.text("superseded_at IS NULL"),
    )
    if resolved:
        _report(
            f"0014: {resolved} earlier rating(s) in {groups} group(s) (session, instrument, "
            "perspective, stance, rater) marked superseded; the latest entered of each group "
            "stays current"
        )


def _fill_raters() -> None:
    execute = op.get_bind().execute
    execute(sa.text("UPDATE administrations SET rater = 'client' WHERE perspective = 'client'"))
    # an imported clinician's rating is the rating of the episode's clinician, whoever imported it
    execute(
        sa.text(
            "UPDATE administrations SET rater = (SELECT e.clinician_id FROM sessions s "
            "JOIN episodes e ON e.id = s.episode_id WHERE s.id = administrations.session_id) "
            "WHERE perspective = 'clinician' AND source = 'import'"
        )
    )
    execute(
        sa.text(
            "UPDATE administrations SET rater = COALESCE(entered_by, perspective) WHERE rater = ''"
        )
    )


def _mark_corrected() -> None:
    """Ratings a correction replaced before 0014 are superseded when it was entered."""
    op.get_bind().execute(
        sa.text(
            "UPDATE administrations SET superseded_at = (SELECT MIN(n.entered_at) FROM "
            "administrations n WHERE n.supersedes_id = administrations.id) "
            "WHERE id IN (SELECT supersedes_id FROM administrations "
            "WHERE supersedes_id IS NOT NULL)"
        )
    )


def _resolve_duplicates() -> tuple[int, int]:
    """Supersede all but the latest current rating of each group; (ratings, groups)."""
    bind = op.get_bind()
    columns = ", ".join(GROUP)
    groups = bind.execute(
        sa.text(
            f"SELECT {columns} FROM administrations WHERE superseded_at IS NULL "
            f"GROUP BY {columns} HAVING COUNT(*) > 1 ORDER BY {columns}"
        )
    ).all()
    where = " AND ".join(f"{c} = :{c}" for c in GROUP)
    superseded: list[dict[str, object]] = []
    linked: list[dict[str, object]] = []
    for group in groups:
        rows = bind.execute(
            sa.text(
                "SELECT id, entered_at, supersedes_id FROM administrations "
                f"WHERE superseded_at IS NULL AND {where} ORDER BY entered_at, id"
            ),
            dict(zip(GROUP, group, strict=True)),
        ).all()
        for earlier, later in itertools.pairwise(rows):
            superseded.append({"id": earlier.id, "at": later.entered_at})
            if later.supersedes_id is None:
                linked.append({"id": later.id, "earlier": earlier.id, "reason": REASON})
    if superseded:
        bind.execute(
            sa.text("UPDATE administrations SET superseded_at = :at WHERE id = :id"), superseded
        )
    if linked:
        bind.execute(
            sa.text(
                "UPDATE administrations SET supersedes_id = :earlier, "
                "correction_reason = COALESCE(correction_reason, :reason) WHERE id = :id"
            ),
            linked,
        )
    return len(superseded), len(groups)


def _report(message: str) -> None:
    environment = op.get_context().environment_context
    if environment is not None:
        environment.config.attributes.setdefault("reports", []).append(message)


def downgrade() -> None:
    op.drop_index("uq_administrations_current", table_name="administrations")
    # in place (SQLite 3.35+): rebuilding ``administrations`` would trip over the foreign keys
    # that point at it; the links to earlier ratings stay, nothing is deleted
    with op.batch_alter_table("administrations", schema=None, recreate="never") as batch_op:
        batch_op.drop_column("superseded_at")
        batch_op.drop_column("rater")
