"""Alembic environment: runs migrations on the engine handed over by alliance.store.migrate."""

from __future__ import annotations

from alembic import context

from alliance.store import alerts, audit, learning, models, notifications, security  # noqa: F401
from alliance.store.base import Base

config = context.config
engine = config.attributes["engine"]

sqlite = engine.dialect.name == "sqlite"

with engine.connect() as connection:
    if sqlite:
        # A migration that rebuilds a table (batch mode) drops the old one, which SQLite
        # refuses while other tables' foreign keys point at its rows; the pragma only takes
        # effect outside a transaction, so it is set on the driver's connection before ours
        # begins, and the keys are checked before the migrations commit.
        connection.connection.dbapi_connection.execute("PRAGMA foreign_keys=OFF")
    try:
        context.configure(
            connection=connection,
            target_metadata=Base.metadata,
            render_as_batch=sqlite,
            compare_type=True,
        )
        with context.begin_transaction():
            context.run_migrations()
            if sqlite:
                broken = connection.exec_driver_sql("PRAGMA foreign_key_check").first()
                if broken is not None:
                    raise RuntimeError(f"a migration broke a foreign key: {tuple(broken)}")
        connection.commit()
    finally:
        if sqlite:
            connection.connection.dbapi_connection.execute("PRAGMA foreign_keys=ON")
