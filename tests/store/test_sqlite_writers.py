"""SQLite writers wait in line: a writing transaction holds its turn until it commits, rolls
back or closes, the next writer (in this process or another) gets it then, and readers never
wait."""

from __future__ import annotations

import sqlite3
import subprocess
import sys
import threading
from pathlib import Path

import pytest
from sqlalchemy import Engine, event, text
from sqlalchemy.exc import OperationalError

from alliance.store.engine import READ_ONLY, make_engine


@pytest.fixture
def engine(tmp_path: Path) -> Engine:
    engine = make_engine(f"sqlite:///{tmp_path / 'w.sqlite3'}")
    with engine.begin() as connection:
        connection.exec_driver_sql("CREATE TABLE t (n INTEGER)")
    yield engine
    engine.dispose()


def start_writer(engine: Engine, n: int) -> tuple[threading.Thread, threading.Event]:
    done = threading.Event()

    def write() -> None:
        with engine.begin() as connection:
            connection.execute(text("INSERT INTO t VALUES (:n)"), {"n": n})
        done.set()

    thread = threading.Thread(target=write)
    thread.start()
    return thread, done


def rows(engine: Engine) -> list[int]:
    with engine.connect().execution_options(**{READ_ONLY: True}) as connection:
        return [r[0] for r in connection.exec_driver_sql("SELECT n FROM t ORDER BY n")]


@pytest.mark.parametrize("end", ["commit", "rollback", "close"])
def test_the_next_writer_waits_for_the_end_of_the_transaction(engine: Engine, end: str) -> None:
    first = engine.connect()
    first.begin()
    first.execute(text("INSERT INTO t VALUES (1)"))
    thread, done = start_writer(engine, 2)
    assert not done.wait(0.5)  # its turn has not come
    assert rows(engine) == []  # a reader does not wait, and sees nothing uncommitted
    if end == "commit":
        first.commit()
    elif end == "rollback":
        first.rollback()
    first.close()
    assert done.wait(30)
    thread.join()
    assert rows(engine) == ([1, 2] if end == "commit" else [2])


def test_a_writer_in_another_process_waits_its_turn(engine: Engine, tmp_path: Path) -> None:
    holder = engine.connect()
    holder.begin()
    holder.execute(text("INSERT INTO t VALUES (1)"))
    script = (
        "import sys; from sqlalchemy import text;"
        "from alliance.store.engine import make_engine;"
        "e = make_engine(sys.argv[1]);"
        "c = e.connect(); c.begin(); print('began', flush=True);"
        "c.execute(text('INSERT INTO t VALUES (2)')); c.commit()"
    )
    other = subprocess.Popen(
        [sys.executable, "-c", script, str(engine.url)], stdout=subprocess.PIPE, text=True
    )
    with pytest.raises(subprocess.TimeoutExpired):
        other.wait(timeout=1)  # waiting for the lock file, not failing
    holder.commit()
    holder.close()
    out, _ = other.communicate(timeout=30)
    assert (other.returncode, out.strip()) == (0, "began")
    assert rows(engine) == [1, 2]
    assert (tmp_path / "w.sqlite3-writer").exists()


def test_a_failed_begin_gives_the_turn_back(engine: Engine, tmp_path: Path) -> None:
    """A writer that cannot start (SQLite's own lock held by a connection outside the
    queue) leaves the line free for the next one."""
    outsider = sqlite3.connect(tmp_path / "w.sqlite3", isolation_level=None)
    outsider.execute("BEGIN IMMEDIATE")
    stalled = make_engine(str(engine.url))
    event.listen(stalled, "connect", lambda dbapi, _: dbapi.execute("PRAGMA busy_timeout=200"))
    with stalled.connect() as connection, pytest.raises(OperationalError, match="locked"):
        connection.begin()
    outsider.rollback()
    outsider.close()
    thread, done = start_writer(engine, 3)
    assert done.wait(30)
    thread.join()
    assert rows(engine) == [3]
    stalled.dispose()
