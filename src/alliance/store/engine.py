"""Engines and sessions for SQLite (the embedded default) and PostgreSQL."""

from __future__ import annotations

import contextlib
import hashlib
import os
import sqlite3
import threading
from typing import Any

try:
    import fcntl
except ImportError:  # pragma: no cover - Windows: writers queue per process only
    fcntl = None  # type: ignore[assignment]

from sqlalchemy import Engine, create_engine, event, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session, sessionmaker

READ_ONLY = "alliance_read_only"


def make_engine(url: str, **kwargs: Any) -> Engine:
    """An engine for ``url``.

    SQLite gets WAL (readers never wait for the writer), foreign keys, ``synchronous=FULL``
    (an acknowledged commit survives a crash of the machine, not only of the process), a
    generous busy timeout, and ``BEGIN IMMEDIATE`` transactions: every request writes at least
    an audit event, and taking the write lock up front avoids lock-upgrade deadlocks between
    processes. Writing transactions queue for that lock (:class:`_QueuedWriter`) instead of
    polling for it. A connection obtained with the execution option ``READ_ONLY`` begins a
    plain (deferred) transaction instead, which never waits for the writer.
    """
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        connect_args: dict[str, Any] = {"check_same_thread": False, "timeout": BUSY_SECONDS}
        if parsed.database and parsed.database != ":memory:" and not parsed.query.get("uri"):
            connect_args["factory"] = _QueuedWriter
        engine = create_engine(url, connect_args=connect_args, **kwargs)
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
        cursor.execute(f"PRAGMA busy_timeout={BUSY_SECONDS * 1000}")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _begin(connection: Any) -> None:
        if connection.get_execution_options().get(READ_ONLY, False):
            connection.exec_driver_sql("BEGIN")
            return
        dbapi = connection.connection.dbapi_connection
        queued = isinstance(dbapi, _QueuedWriter)
        if queued and not dbapi.take_turn():
            raise OperationalError("BEGIN IMMEDIATE", None, sqlite3.OperationalError(_NO_TURN))
        try:
            connection.exec_driver_sql("BEGIN IMMEDIATE")
        except BaseException:
            if queued:
                dbapi.end_turn()
            raise


class _QueuedWriter(sqlite3.Connection):
    """A SQLite connection whose writing transactions wait in line for the write lock.

    SQLite lets one transaction write at a time; a connection that finds the lock taken
    polls for it, sleeping up to 100 ms between tries, so under load a writer can sleep long
    after the lock is free, and some wait seconds. Here a writing transaction first takes a
    lock of its own process (one writer per process at a time, given up after the busy
    timeout, as SQLite would) and then an exclusive ``flock`` on ``<database>-writer``
    beside the database, which the kernel hands to the next process the moment it is
    released. Both are let go when the transaction commits or rolls back, or the connection
    closes (and by the kernel when a process dies). SQLite's own lock stays the safeguard.
    """

    def __init__(self, database: str, *args: Any, **kwargs: Any) -> None:
        private_file(database)
        super().__init__(database, *args, **kwargs)
        path = os.path.abspath(database)
        with _PROCESS_LOCKS_GUARD:
            self._process_lock = _PROCESS_LOCKS.setdefault(path, threading.Lock())
        self._lock_file: int | None = None
        if fcntl is not None:
            self._lock_file = os.open(f"{path}-writer", os.O_RDWR | os.O_CREAT, 0o600)
        self._writing = False

    def take_turn(self) -> bool:
        """Wait for this connection's turn to write (False after the busy timeout)."""
        if not self._process_lock.acquire(timeout=BUSY_SECONDS):
            return False
        self._writing = True
        try:
            if self._lock_file is not None:
                fcntl.flock(self._lock_file, fcntl.LOCK_EX)
        except BaseException:
            self.end_turn()
            raise
        return True

    def commit(self) -> None:
        try:
            super().commit()
        finally:
            self.end_turn()

    def rollback(self) -> None:
        try:
            super().rollback()
        finally:
            self.end_turn()

    def close(self) -> None:
        try:
            super().close()
        finally:
            self.end_turn()
            if self._lock_file is not None:
                os.close(self._lock_file)
                self._lock_file = None

    def end_turn(self) -> None:
        if not self._writing:
            return
        self._writing = False
        if self._lock_file is not None:
            fcntl.flock(self._lock_file, fcntl.LOCK_UN)
        self._process_lock.release()


def private_file(path: str | os.PathLike[str]) -> None:
    """Create ``path`` empty and readable by its owner only (0600, less under the umask) if
    it does not exist: SQLite would create a database world-readable (0644 under the usual
    umask), and it gives its -wal and -shm files the database file's mode."""
    with contextlib.suppress(OSError):  # it exists, or SQLite will say why it cannot be opened
        os.close(os.open(path, os.O_RDWR | os.O_CREAT | os.O_EXCL, 0o600))


BUSY_SECONDS = 60
_NO_TURN = f"database is locked (no turn to write within {BUSY_SECONDS} s)"
_PROCESS_LOCKS: dict[str, threading.Lock] = {}
_PROCESS_LOCKS_GUARD = threading.Lock()


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
