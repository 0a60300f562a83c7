"""Engines and sessions for SQLite (the embedded default) and PostgreSQL."""

from __future__ import annotations

import hashlib
from typing import Any

from sqlalchemy import Engine, create_engine, event, text
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session, sessionmaker

READ_ONLY = "alliance_read_only"


def make_engine(url: str, **kwargs: Any) -> Engine:
    """An engine for ``url``.

    SQLite gets WAL (readers never wait for the writer), foreign keys, ``synchronous=FULL``
    (an acknowledged commit survives a crash of the machine, not only of the process), a
    generous busy timeout, and ``BEGIN IMMEDIATE`` transactions: every request writes at least
    an audit event, and taking the write lock up front avoids lock-upgrade deadlocks between
    processes. A connection obtained with the execution option ``READ_ONLY`` begins a plain
    (deferred) transaction instead, which never waits for the writer.
    """
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        engine = create_engine(
            url, connect_args={"check_same_thread": False, "timeout": 60}, **kwargs
        )
        _sqlite_setup(engine)
        return engine
    options: dict[str, Any] = {"pool_pre_ping": True, "pool_size": 10, "max_overflow": 20}
    options.update(kwargs)
    return create_engine(url, **options)


def _sqlite_setup(engine: Engine) -> None:
    @event.listens_for(engine, "connect")
    def _connect(dbapi_connection: Any, _record: Any) -> None:
        dbapi_connection.isolation_level = None  # we issue BEGIN ourselves
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA synchronous=FULL")
        cursor.execute("PRAGMA busy_timeout=60000")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _begin(connection: Any) -> None:
        read_only = connection.get_execution_options().get(READ_ONLY, False)
        connection.exec_driver_sql("BEGIN" if read_only else "BEGIN IMMEDIATE")


def session_factory(engine: Engine) -> sessionmaker[Session]:
    return sessionmaker(engine, expire_on_commit=False)


def is_sqlite(engine: Engine) -> bool:
    return engine.dialect.name == "sqlite"


def serialize(db: Session, name: str) -> None:
    """Wait until no other transaction holds the lock ``name``, and hold it until this one
    ends. PostgreSQL: a transaction-level advisory lock keyed by a hash of the name; SQLite
    needs none, as its writing transactions (``BEGIN IMMEDIATE``) already run one at a time."""
    if db.get_bind().dialect.name != "postgresql":
        return
    digest = hashlib.blake2b(name.encode(), digest_size=8, person=b"alliance").digest()
    db.execute(
        text("SELECT pg_advisory_xact_lock(:key)"),
        {"key": int.from_bytes(digest, "big", signed=True)},
    )
