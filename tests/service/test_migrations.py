"""Alembic is the only source of DDL: upgrade from empty to head, back down, and no drift
between the migrations and the models."""

from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import inspect, select

from alliance.store import migrate
from alliance.store.audit import CHAINS, GENESIS, AuditHead
from alliance.store.base import Base
from tests.fixtures.database import Database

TABLES = {
    "organizations",
    "teams",
    "users",
    "clients",
    "client_contacts",
    "episodes",
    "sessions",
    "administrations",
    "scores",
    "rupture_reports",
    "alerts",
    "alert_events",
    "audit_events",
    "audit_head",
    "login_sessions",
    "api_tokens",
    "login_attempts",
    "client_links",
    "site_secrets",
}


def test_upgrade_to_head_and_back_down(empty_database: Database) -> None:
    engine = empty_database.engine
    assert migrate.current_revision(engine) is None
    migrate.upgrade(engine)
    assert migrate.current_revision(engine) == migrate.head_revision()
    assert set(inspect(engine).get_table_names()) >= TABLES
    with engine.connect() as connection:
        heads = connection.execute(select(AuditHead.__table__).order_by("id")).all()
    assert [(h.id, h.last_seq, h.last_hash) for h in heads] == [
        (chain, 0, GENESIS) for chain in range(CHAINS)
    ]

    migrate.downgrade(engine, "base")
    assert migrate.current_revision(engine) is None
    assert not TABLES & set(inspect(engine).get_table_names())

    migrate.upgrade(engine)  # and up again
    assert migrate.current_revision(engine) == migrate.head_revision()


def test_models_and_migrations_agree(empty_database: Database) -> None:
    engine = empty_database.engine
    migrate.upgrade(engine)
    with engine.connect() as connection:
        context = MigrationContext.configure(connection, opts={"compare_type": True})
        differences = compare_metadata(context, Base.metadata)
    assert differences == []
