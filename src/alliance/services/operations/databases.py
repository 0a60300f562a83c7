"""Each database's own way of copying itself while it serves.

SQLite: the online backup API (``sqlite3.Connection.backup``), which copies a consistent
snapshot page by page while writers go on (never a file copy of a live WAL database, which
can miss what the write-ahead log still holds). PostgreSQL: the server's own ``pg_dump`` in
its custom format, inside a repeatable-read transaction whose snapshot ``pg_dump`` shares
(``--snapshot``), so the manifest's counts are of exactly what was dumped. ``pg_dump`` must
be of the server's major version or newer (it refuses an older client's server), and
``pg_restore`` of the dump's version or newer.
"""

from __future__ import annotations

import os
import re
import shutil
import sqlite3
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from sqlalchemy import Engine, text
from sqlalchemy.engine import URL, make_url

from alliance.services.operations.archive import BackupError
from alliance.services.operations.inventory import Inventory, take
from alliance.store.engine import make_engine, private_file


def sqlite_path(url: URL) -> Path:
    if not url.database or url.database == ":memory:":
        raise BackupError("only a SQLite database in a file can be backed up or restored")
    return Path(url.database)


def copy_sqlite(url: URL, target: Path) -> tuple[Inventory, str]:
    """Copy the live database at ``url`` to ``target`` with the online backup API; the
    inventory is read from the copy, so it is of exactly what was copied."""
    source = sqlite3.connect(sqlite_path(url), timeout=60)
    private_file(target)
    copy = sqlite3.connect(target)
    try:
        source.backup(copy)  # all pages in one step: one consistent snapshot
        copy.execute("PRAGMA journal_mode=DELETE")  # the copy is one file
    finally:
        source.close()
        copy.close()
    return inventory_of(f"sqlite:///{target}"), f"sqlite3 {sqlite3.sqlite_version}"


def restore_sqlite(data: Path, url: URL) -> None:
    path = sqlite_path(url)
    if path.exists() and path.stat().st_size > 0:
        engine = make_engine(url.render_as_string(hide_password=False))
        try:
            if not is_empty(engine):
                raise BackupError(f"{path} holds tables: restore into a new, empty database")
        finally:
            engine.dispose()
    source = sqlite3.connect(data)
    private_file(path)
    target = sqlite3.connect(path)
    try:
        source.backup(target)
    finally:
        source.close()
        target.close()


def inventory_of(url: str) -> Inventory:
    engine = make_engine(url)
    try:
        with engine.connect() as connection:
            return take(connection)
    finally:
        engine.dispose()


def is_empty(engine: Engine) -> bool:
    """No tables where this engine's connections look (PostgreSQL: its search path)."""
    with engine.connect() as connection:
        if engine.dialect.name == "sqlite":
            query = "SELECT count(*) FROM sqlite_master WHERE type = 'table'"
        else:
            query = (
                "SELECT count(*) FROM information_schema.tables "
                "WHERE table_schema = ANY(current_schemas(false))"
            )
        return int(connection.execute(text(query)).scalar_one()) == 0


def _libpq(url: URL) -> tuple[str, dict[str, str]]:
    """A libpq URI for the command-line tools and their environment (the password goes in
    PGPASSWORD, never on a command line other users can see)."""
    env = dict(os.environ)
    if url.password:
        env["PGPASSWORD"] = str(url.password)
    plain = url.set(drivername="postgresql", password=None)
    return plain.render_as_string(hide_password=False), env


def _tool(name: str) -> tuple[str, int]:
    path = shutil.which(name)
    if path is None:
        raise BackupError(
            f"{name} is not installed: install the PostgreSQL client of the server's version "
            "(Debian/Ubuntu: apt install postgresql-client)"
        )
    line = subprocess.run([path, "--version"], capture_output=True, text=True, check=True).stdout
    found = re.search(r"(\d+)(?:\.\d+)?", line)
    if found is None:  # pragma: no cover - every pg_dump prints its version
        raise BackupError(f"cannot read the version of {path}: {line!r}")
    return path, int(found[1])


@contextmanager
def _snapshot(engine: Engine) -> Iterator[tuple[str, Inventory, str, int]]:
    """A repeatable-read transaction: its exported snapshot, the inventory it sees, the
    schema to dump and the server's major version, held until the block ends."""
    repeatable = engine.connect().execution_options(isolation_level="REPEATABLE READ")
    with repeatable as connection, connection.begin():
        snapshot = str(connection.execute(text("SELECT pg_export_snapshot()")).scalar_one())
        inventory = take(connection)
        schema = str(connection.execute(text("SELECT current_schema()")).scalar_one())
        server = int(connection.execute(text("SHOW server_version_num")).scalar_one())
        yield snapshot, inventory, schema, server // 10000


def dump_postgresql(url: URL, target: Path) -> tuple[Inventory, str]:
    pg_dump, client = _tool("pg_dump")
    engine = make_engine(url.render_as_string(hide_password=False))
    try:
        with _snapshot(engine) as (snapshot, inventory, schema, server):
            if client < server:
                raise BackupError(
                    f"pg_dump {client} cannot dump a PostgreSQL {server} server: install "
                    f"postgresql-client-{server} (or newer)"
                )
            uri, env = _libpq(url)
            command = [pg_dump, "--format=custom", f"--snapshot={snapshot}", f"--file={target}"]
            if schema != "public":  # a database shared with other schemas: ours only
                command.append(f"--schema={schema}")
            done = subprocess.run(
                [*command, uri], env=env, capture_output=True, text=True, check=False
            )
            if done.returncode != 0:
                raise BackupError(f"pg_dump failed: {done.stderr.strip()}")
    finally:
        engine.dispose()
    return inventory, f"pg_dump {client} (server {server})"


def restore_postgresql(data: Path, url: URL) -> None:
    pg_restore, _ = _tool("pg_restore")
    engine = make_engine(url.render_as_string(hide_password=False))
    try:
        if not is_empty(engine):
            raise BackupError("the database holds tables: restore into a new, empty database")
    finally:
        engine.dispose()
    uri, env = _libpq(url)
    command = [
        pg_restore,
        "--no-owner",
        "--no-privileges",
        "--exit-on-error",
        "--single-transaction",
        f"--dbname={uri}",
        str(data),
    ]
    done = subprocess.run(command, env=env, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise BackupError(f"pg_restore failed (nothing was restored): {done.stderr.strip()}")


def list_dump(data: Path) -> int:
    """How many entries the custom-format dump's table of contents lists (it can be read)."""
    pg_restore, _ = _tool("pg_restore")
    done = subprocess.run(
        [pg_restore, "--list", str(data)], capture_output=True, text=True, check=False
    )
    if done.returncode != 0:
        raise BackupError(f"pg_restore cannot read the dump: {done.stderr.strip()}")
    return sum(1 for line in done.stdout.splitlines() if line and not line.startswith(";"))


def backend(url: str) -> str:
    name = make_url(url).get_backend_name()
    if name not in ("sqlite", "postgresql"):
        raise BackupError(f"cannot back up a {name} database")
    return name
