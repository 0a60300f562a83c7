"""SQLite database files are created readable by their owner only: the database, its -wal
and -shm files and the writers' lock file, under the usual umask 022 that would otherwise
make them world-readable (0644); so is a database restored from a backup."""

from __future__ import annotations

import os
import sqlite3
import stat
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import text
from sqlalchemy.engine import make_url

from alliance.services.operations.databases import restore_sqlite
from alliance.store.engine import make_engine


@pytest.fixture(autouse=True)
def usual_umask() -> Iterator[None]:
    before = os.umask(0o022)
    yield
    os.umask(before)


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_a_new_database_and_its_companions_are_the_owners_only(tmp_path: Path) -> None:
    path = tmp_path / "clinic.sqlite3"
    engine = make_engine(f"sqlite:///{path}")
    try:
        with engine.begin() as connection:
            connection.execute(text("CREATE TABLE t (x INTEGER)"))
            connection.execute(text("INSERT INTO t VALUES (1)"))
        files = [path, *(Path(f"{path}{end}") for end in ("-wal", "-shm", "-writer"))]
        assert all(f.exists() for f in files)
        assert {f.name: _mode(f) for f in files} == {f.name: 0o600 for f in files}
    finally:
        engine.dispose()


def test_an_existing_database_keeps_the_mode_its_operator_gave_it(tmp_path: Path) -> None:
    path = tmp_path / "shared.sqlite3"
    sqlite3.connect(path).close()
    path.chmod(0o640)  # e.g. readable by a backup group
    engine = make_engine(f"sqlite:///{path}")
    try:
        with engine.begin() as connection:
            connection.execute(text("SELECT 1"))
    finally:
        engine.dispose()
    assert _mode(path) == 0o640


def test_a_restored_database_is_the_owners_only(tmp_path: Path) -> None:
    data = tmp_path / "copy.sqlite3"
    with sqlite3.connect(data) as connection:
        connection.execute("CREATE TABLE t (x INTEGER)")
    target = tmp_path / "restored.sqlite3"
    restore_sqlite(data, make_url(f"sqlite:///{target}"))
    assert _mode(target) == 0o600
