"""Alembic environment: runs migrations on the engine handed over by alliance.store.migrate."""

from __future__ import annotations

from alembic import context

from alliance.store import alerts, audit, learning, models, notifications, security  # noqa: F401
from alliance.store.base import Base

config = context.config
engine = config.attributes["engine"]

with engine.connect() as connection:
    context.configure(
        connection=connection,
        target_metadata=Base.metadata,
        render_as_batch=engine.dialect.name == "sqlite",
        compare_type=True,
    )
    with context.begin_transaction():
        context.run_migrations()
    connection.commit()
