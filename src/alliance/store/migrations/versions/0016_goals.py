"""goals agreed in an episode, their versions and progress ratings (issue 17)

``goals`` holds every version of every goal (one current per goal, ``uq_goals_current``);
``goal_ratings`` holds progress ratings 0–10 by the client or the clinician (one current per
goal, session and rater); ``organizations.max_goals`` is how many goals an episode may hold
at once (3 unless the site sets up to 5).

Revision ID: 0016
Revises: 0015
Create Date: 2026-12-06
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0016"
down_revision = "0015"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "goals",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("organization_id", sa.String(length=36), nullable=False),
        sa.Column("episode_id", sa.String(length=36), nullable=False),
        sa.Column("goal_id", sa.String(length=36), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column("target", sa.Text(), nullable=True),
        sa.Column("proposed_by", sa.String(length=20), nullable=False),
        sa.Column("agreed_on", sa.Date(), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("change", sa.String(length=20), nullable=False),
        sa.Column("reason", sa.Text(), nullable=True),
        sa.Column("replaces_goal_id", sa.String(length=36), nullable=True),
        sa.Column("recorded_by", sa.String(length=36), nullable=True),
        sa.Column("recorded_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("superseded_at", sa.DateTime(timezone=True), nullable=True),
        sa.CheckConstraint(
            "change IN ('agreed', 'revised', 'closed')", name=op.f("ck_goals_change_allowed")
        ),
        sa.CheckConstraint(
            "proposed_by IN ('client', 'clinician', 'together')",
            name=op.f("ck_goals_proposed_by_allowed"),
        ),
        sa.CheckConstraint(
            "status IN ('active', 'achieved', 'no_longer_wanted', 'changed')",
            name=op.f("ck_goals_status_allowed"),
        ),
        sa.ForeignKeyConstraint(
            ["episode_id"], ["episodes.id"], name=op.f("fk_goals_episode_id_episodes")
        ),
        sa.ForeignKeyConstraint(
            ["organization_id"],
            ["organizations.id"],
            name=op.f("fk_goals_organization_id_organizations"),
        ),
        sa.ForeignKeyConstraint(
            ["recorded_by"], ["users.id"], name=op.f("fk_goals_recorded_by_users")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_goals")),
        sa.UniqueConstraint("goal_id", "version", name=op.f("uq_goals_goal_id_version")),
    )
    with op.batch_alter_table("goals", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_goals_episode_id"), ["episode_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_goals_goal_id"), ["goal_id"], unique=False)
        batch_op.create_index(
            "uq_goals_current",
            ["goal_id"],
            unique=True,
            sqlite_where=sa.text("superseded_at IS NULL"),
            postgresql_where=sa.text("superseded_at IS NULL"),
        )

    op.create_table(
        "goal_ratings",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("organization_id", sa.String(length=36), nullable=False),
        sa.Column("goal_id", sa.String(length=36), nullable=False),
        sa.Column("session_id", sa.String(length=36), nullable=False),
        sa.Column("rater", sa.String(length=20), nullable=False),
        sa.Column("value", sa.Integer(), nullable=False),
        sa.Column("source", sa.String(length=20), nullable=False),
        sa.Column("entered_by", sa.String(length=36), nullable=True),
        sa.Column("entered_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("superseded_at", sa.DateTime(timezone=True), nullable=True),
        sa.CheckConstraint(
            "rater IN ('client', 'clinician')", name=op.f("ck_goal_ratings_rater_allowed")
        ),
        sa.CheckConstraint(
            "source IN ('clinician', 'client_link', 'api', 'import')",
            name=op.f("ck_goal_ratings_source_allowed"),
        ),
        sa.CheckConstraint("value BETWEEN 0 AND 10", name=op.f("ck_goal_ratings_value_range")),
        sa.ForeignKeyConstraint(
            ["entered_by"], ["users.id"], name=op.f("fk_goal_ratings_entered_by_users")
        ),
        sa.ForeignKeyConstraint(
            ["goal_id"], ["goals.id"], name=op.f("fk_goal_ratings_goal_id_goals")
        ),
        sa.ForeignKeyConstraint(
            ["organization_id"],
            ["organizations.id"],
            name=op.f("fk_goal_ratings_organization_id_organizations"),
        ),
        sa.ForeignKeyConstraint(
            ["session_id"], ["sessions.id"], name=op.f("fk_goal_ratings_session_id_sessions")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_goal_ratings")),
    )
    with op.batch_alter_table("goal_ratings", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_goal_ratings_goal_id"), ["goal_id"], unique=False)
        batch_op.create_index(
            batch_op.f("ix_goal_ratings_session_id"), ["session_id"], unique=False
        )
        batch_op.create_index(
            "uq_goal_ratings_current",
            ["goal_id", "session_id", "rater"],
            unique=True,
            sqlite_where=sa.text("superseded_at IS NULL"),
            postgresql_where=sa.text("superseded_at IS NULL"),
        )

    with op.batch_alter_table("organizations", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("max_goals", sa.Integer(), server_default="3", nullable=False)
        )


def downgrade() -> None:
    with op.batch_alter_table("organizations", schema=None) as batch_op:
        batch_op.drop_column("max_goals")

    with op.batch_alter_table("goal_ratings", schema=None) as batch_op:
        batch_op.drop_index(
            "uq_goal_ratings_current",
            sqlite_where=sa.text("superseded_at IS NULL"),
            postgresql_where=sa.text("superseded_at IS NULL"),
        )
        batch_op.drop_index(batch_op.f("ix_goal_ratings_session_id"))
        batch_op.drop_index(batch_op.f("ix_goal_ratings_goal_id"))

    op.drop_table("goal_ratings")
    with op.batch_alter_table("goals", schema=None) as batch_op:
        batch_op.drop_index(
            "uq_goals_current",
            sqlite_where=sa.text("superseded_at IS NULL"),
            postgresql_where=sa.text("superseded_at IS NULL"),
        )
        batch_op.drop_index(batch_op.f("ix_goals_goal_id"))
        batch_op.drop_index(batch_op.f("ix_goals_episode_id"))

    op.drop_table("goals")
