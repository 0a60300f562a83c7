"""Backups that restore: a backup made while submissions are being stored holds every one
acknowledged before it began and restores into an empty database that proves itself (counts,
audit heads, audit trail), on SQLite and PostgreSQL; an encrypted backup opens only with its
passphrase and refuses a damaged or shortened file."""

from __future__ import annotations

import datetime as dt
import os
import threading
import uuid
from collections.abc import Callable
from pathlib import Path

import pytest
from alembic import command
from sqlalchemy import select, text
from typer.testing import CliRunner

from alliance.cli import app as cli
from alliance.instruments.registry import Registry
from alliance.services.operations import databases
from alliance.services.operations.archive import (
    CHUNK,
    MAGIC,
    TAG,
    BackupError,
    decrypt,
    encrypt,
)
from alliance.services.operations.backups import check_backup, make_backup, restore_backup
from alliance.services.records.administrations import submit_administration
from alliance.services.records.care import record_session
from alliance.store.engine import make_engine
from alliance.store.migrate import alembic_config
from alliance.store.models import Administration
from tests.fixtures.database import Database, World

WAI = {f"item_{i}": 4 for i in range(1, 13)}
PASSPHRASE = "correct pony staple battery"


@pytest.fixture
def empty_target(database: Database, tmp_path: Path) -> Callable[[], str]:
    """An empty database to restore into, of the source's kind, made when called. On
    PostgreSQL the source's own schema is dropped (the disaster) and the restore recreates
    it; the fixture drops it again afterwards (CREATE and DROP DATABASE are slow)."""

    def make() -> str:
        if database.backend == "sqlite":
            return f"sqlite:///{tmp_path / 'restored.sqlite3'}"
        database.engine.dispose()
        with database.engine.begin() as connection:
            schema = connection.execute(text("SELECT current_schema()")).scalar_one()
            connection.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        database.engine.dispose()
        return database.url

    return make


class Writer(threading.Thread):
    """Stores one WAI-SR in a new session of c1's client, again and again, and keeps the
    keys of those whose commit returned."""

    def __init__(self, database: Database, world: World, registry: Registry) -> None:
        super().__init__(daemon=True)
        self.database, self.world, self.registry = database, world, registry
        self.acknowledged: list[str] = []
        self.stop = threading.Event()
        self.more = threading.Condition()
        self.failure: BaseException | None = None

    def run(self) -> None:
        actor = self.world["c1"].actor
        day = dt.date(2026, 9, 9)
        try:
            while not self.stop.is_set():
                key = uuid.uuid4().hex
                with self.database.session() as db:
                    session = record_session(db, actor, self.world.episodes["c1"], date=day)
                    submit_administration(
                        db, actor, self.registry, session_id=session.id, instrument="wai-sr",
                        answers=WAI, idempotency_key=key,
                    )  # fmt: skip
                    db.commit()
                with self.more:
                    self.acknowledged.append(key)
                    self.more.notify_all()
        except BaseException as exc:
            self.failure = exc

    def wait_for(self, count: int) -> None:
        with self.more:
            assert self.more.wait_for(lambda: len(self.acknowledged) >= count, timeout=60)


def test_a_backup_made_while_writing_restores_every_acknowledged_submission(  # noqa: PLR0917
    database: Database,
    world: World,
    registry: Registry,
    empty_target: Callable[[], str],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    command.stamp(alembic_config(database.engine), "head")  # built with create_all
    writer = Writer(database, world, registry)
    writer.start()
    writer.wait_for(3)
    real_take = databases.take

    def take_while_writing(connection):  # type: ignore[no-untyped-def]
        # inside the backup (PostgreSQL: with its snapshot open, before pg_dump runs): let
        # three more submissions commit, which the copy must then leave out consistently
        writer.wait_for(len(writer.acknowledged) + 3)
        return real_take(connection)

    monkeypatch.setattr(databases, "take", take_while_writing)
    before = list(writer.acknowledged)
    made = make_backup(database.url, tmp_path / "clinic.backup")
    monkeypatch.setattr(databases, "take", real_take)
    during = len(writer.acknowledged)
    writer.stop.set()
    writer.join(timeout=60)
    assert writer.failure is None
    assert during >= len(before) + 3

    target = empty_target()
    restored = restore_backup(made.path, target)

    engine = make_engine(target)
    with engine.connect() as connection:
        keys = set(connection.execute(select(Administration.idempotency_key)).scalars())
    engine.dispose()
    assert set(before) <= keys
    assert keys <= set(writer.acknowledged)  # the world itself holds no administration
    assert len(keys) < len(writer.acknowledged)  # some were stored after the copy's snapshot
    assert restored.audit.ok and restored.audit.checked > 0
    assert made.manifest.inventory.tables["administrations"] == len(keys)


@pytest.mark.parametrize("backend", ["sqlite"], indirect=True)
def test_an_encrypted_backup_opens_only_with_its_passphrase_and_refuses_damage(
    database: Database, world: World, tmp_path: Path
) -> None:
    command.stamp(alembic_config(database.engine), "head")
    secret = tmp_path / "passphrase"
    secret.write_text(PASSPHRASE + "\n", encoding="utf-8")
    runner = CliRunner()
    backup = tmp_path / "clinic.backup"
    made = runner.invoke(
        cli, ["backup", str(backup), "--passphrase-file", str(secret), "--database", database.url]
    )
    assert made.exit_code == 0, made.stderr
    assert ", encrypted) in" in made.stdout
    assert oct(backup.stat().st_mode & 0o777) == oct(0o600)
    assert b"C1-01" not in backup.read_bytes()  # the clients' codes are sealed

    with pytest.raises(BackupError, match="is encrypted: give its passphrase"):
        check_backup(backup)
    with pytest.raises(BackupError, match="wrong passphrase"):
        check_backup(backup, passphrase="not the passphrase at all")
    checked = check_backup(backup, passphrase=PASSPHRASE)
    assert checked.encrypted and "audit trail intact" in checked.verified

    data = bytearray(backup.read_bytes())
    damaged = tmp_path / "damaged.backup"
    data[len(data) // 2] ^= 1
    damaged.write_bytes(bytes(data))
    with pytest.raises(BackupError, match="damaged"):
        check_backup(damaged, passphrase=PASSPHRASE)
    short = tmp_path / "short.backup"
    short.write_bytes(backup.read_bytes()[:-100])
    with pytest.raises(BackupError, match="damaged"):
        check_backup(short, passphrase=PASSPHRASE)

    target = f"sqlite:///{tmp_path / 'restored.sqlite3'}"
    args = ["restore", str(backup), "--passphrase-file", str(secret), "--database", target]
    restored = runner.invoke(cli, args, env={"COLUMNS": "300"})
    assert restored.exit_code == 0, restored.stderr
    assert "audit trail intact" in restored.stdout and "Verified" in restored.stdout
    again = runner.invoke(cli, args, env={"COLUMNS": "300"})
    assert again.exit_code == 1
    assert "restore into a new, empty database" in again.stderr
    exists = runner.invoke(cli, ["backup", str(backup), "--database", database.url])
    assert exists.exit_code == 1 and "never overwritten" in exists.stderr


def test_the_stream_refuses_a_dropped_last_chunk_or_chunks_swapped(tmp_path: Path) -> None:
    plain = tmp_path / "plain"
    plain.write_bytes(os.urandom(CHUNK * 2 + 1000))  # three chunks
    sealed, opened = tmp_path / "sealed", tmp_path / "opened"
    encrypt(plain, sealed, PASSPHRASE)
    decrypt(sealed, opened, PASSPHRASE)
    assert opened.read_bytes() == plain.read_bytes()
    raw = sealed.read_bytes()
    head = raw.index(b"\n", len(MAGIC)) + 1
    size = CHUNK + TAG
    chunks = [raw[head + i * size : head + (i + 1) * size] for i in range(3)]
    for name, body, problem in (
        # ends on a whole chunk, which was not sealed as the last one
        ("dropped", chunks[0] + chunks[1], "cut short or altered at chunk 1"),
        ("swapped", chunks[0] + chunks[2] + chunks[1], "cut short or altered at chunk 1"),
        ("first moved", chunks[1] + chunks[0] + chunks[2], "wrong passphrase, or the file is"),
    ):
        (tmp_path / name).write_bytes(raw[:head] + body)
        with pytest.raises(BackupError, match=problem):
            decrypt(tmp_path / name, opened, PASSPHRASE)
    with pytest.raises(BackupError, match="at least 12 characters"):
        encrypt(plain, sealed, "short")
