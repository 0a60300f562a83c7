"""``alliance backup``, ``alliance backup --check`` and ``alliance restore``.

A backup is one file: a tar of ``manifest.json`` (:mod:`inventory`) and the database copy
(:mod:`databases`), sealed with a passphrase when one is given (:mod:`archive`), readable by
its owner only, and written under a temporary name that becomes the final one only when
everything is in it. A restore goes into an empty database and then proves itself: the
schema revision, every table's count and the audit chains' heads must be the manifest's,
and the audit trail must verify."""

from __future__ import annotations

import os
import tarfile
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy.engine import make_url

from alliance.services import audit
from alliance.services.operations import databases
from alliance.services.operations.archive import BackupError, decrypt, encrypt, is_encrypted
from alliance.services.operations.inventory import Manifest, now, sha256
from alliance.store import migrate
from alliance.store.engine import make_engine, session_factory

MANIFEST = "manifest.json"
DATA = {"sqlite": "data.sqlite3", "postgresql": "data.pgdump"}


@dataclass(frozen=True)
class Made:
    manifest: Manifest
    path: Path
    bytes: int
    encrypted: bool
    seconds: float


@dataclass(frozen=True)
class Checked:
    manifest: Manifest
    encrypted: bool
    verified: str  # what was verified beyond the checksum


@dataclass(frozen=True)
class Restored:
    manifest: Manifest
    audit: audit.Verification
    seconds: float
    current: bool  # the schema is this code's (else `alliance init` migrates it)


def make_backup(url: str, dest: Path, *, passphrase: str | None = None) -> Made:
    """Copy the database at ``url`` into the backup file ``dest`` (which must not exist)."""
    if dest.exists():
        raise BackupError(f"{dest} exists; backups are never overwritten: choose a new name")
    if not dest.parent.is_dir():
        raise BackupError(f"the folder {dest.parent} does not exist")
    kind = databases.backend(url)
    started = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix=".alliance-backup-", dir=dest.parent) as folder:
        work = Path(folder)
        data = work / DATA[kind]
        parsed = make_url(url)
        if kind == "sqlite":
            inventory, tool = databases.copy_sqlite(parsed, data)
        else:
            inventory, tool = databases.dump_postgresql(parsed, data)
        if inventory.schema is None:
            raise BackupError("the database is not initialised (no schema revision)")
        manifest = Manifest(
            backend=kind,
            created_at=now(),
            inventory=inventory,
            data_file=data.name,
            data_bytes=data.stat().st_size,
            data_sha256=sha256(data),
            tool=tool,
        )
        (work / MANIFEST).write_text(manifest.to_json(), encoding="utf-8")
        bundle = work / "backup.tar"
        with tarfile.open(bundle, "w") as tar:  # uncompressed: pg_dump compresses its own
            tar.add(work / MANIFEST, MANIFEST)
            tar.add(data, data.name)
        data.unlink()
        sealed = bundle
        if passphrase is not None:
            sealed = work / "backup.enc"
            encrypt(bundle, sealed, passphrase)
            bundle.unlink()
        os.chmod(sealed, 0o600)
        os.replace(sealed, dest)  # same folder: the name appears only when complete
    return Made(
        manifest, dest, dest.stat().st_size, passphrase is not None, time.perf_counter() - started
    )


@contextmanager
def _opened(src: Path, passphrase: str | None) -> Iterator[tuple[Manifest, Path, bool]]:
    """The manifest and the database copy of the backup ``src``, unpacked in a private
    temporary folder (and decrypted), with the copy's checksum checked."""
    if not src.is_file():
        raise BackupError(f"{src} is not a file")
    encrypted = is_encrypted(src)
    if encrypted and passphrase is None:
        raise BackupError(f"{src} is encrypted: give its passphrase (--passphrase-file)")
    with tempfile.TemporaryDirectory(prefix="alliance-restore-") as folder:
        work = Path(folder)
        bundle = src
        if encrypted and passphrase is not None:
            bundle = work / "backup.tar"
            decrypt(src, bundle, passphrase)
        try:
            with tarfile.open(bundle, "r") as tar:
                names = tar.getnames()
                if MANIFEST not in names or len(names) != 2:
                    raise BackupError(f"{src} is not an alliance backup (members: {names})")
                tar.extractall(work, filter="data")
        except tarfile.TarError as exc:
            raise BackupError(f"{src} is not a readable backup: {exc}") from None
        try:
            manifest = Manifest.from_json((work / MANIFEST).read_text(encoding="utf-8"))
        except (ValueError, TypeError, KeyError) as exc:
            raise BackupError(f"{src}: the manifest is damaged ({exc})") from None
        data = work / manifest.data_file
        if not data.is_file() or sha256(data) != manifest.data_sha256:
            raise BackupError(
                f"{src}: the database copy does not match the manifest's checksum (damaged)"
            )
        yield manifest, data, encrypted


def check_backup(src: Path, *, passphrase: str | None = None) -> Checked:
    """Verify a backup without restoring it: checksum; a SQLite copy is opened and its counts,
    audit heads and audit trail checked; a PostgreSQL dump's table of contents is read."""
    with _opened(src, passphrase) as (manifest, data, encrypted):
        if manifest.backend == "sqlite":
            found = databases.inventory_of(f"sqlite:///{data}")
            problems = manifest.inventory.differences(found)
            if problems:
                raise BackupError(f"{src} does not hold what its manifest says: {problems}")
            verification = _verify_audit(f"sqlite:///{data}")
            if not verification.ok:
                raise BackupError(f"{src}: {verification.describe()}")
            verified = f"counts and audit heads match; {verification.describe()}"
        else:
            entries = databases.list_dump(data)
            verified = f"pg_restore reads its table of contents ({entries} entries)"
    return Checked(manifest, encrypted, verified)


def restore_backup(src: Path, url: str, *, passphrase: str | None = None) -> Restored:
    """Restore the backup ``src`` into the empty database at ``url`` and verify it."""
    started = time.perf_counter()
    kind = databases.backend(url)
    with _opened(src, passphrase) as (manifest, data, _):
        if manifest.backend != kind:
            raise BackupError(
                f"{src} is a {manifest.backend} backup; restore it into a {manifest.backend} "
                f"database, not {kind} (to move between them, use the exports)"
            )
        if manifest.inventory.schema not in migrate.known_revisions():
            raise BackupError(
                f"{src} is at schema {manifest.inventory.schema}, newer than this version "
                "knows: restore it with the version of alliance that made it "
                f"({manifest.alliance})"
            )
        if kind == "sqlite":
            databases.restore_sqlite(data, make_url(url))
        else:
            databases.restore_postgresql(data, make_url(url))
    found = databases.inventory_of(url)
    problems = manifest.inventory.differences(found)
    if problems:
        raise BackupError("the restored database differs from the backup: " + "; ".join(problems))
    verification = _verify_audit(url)
    if not verification.ok:
        raise BackupError(f"the restored database's {verification.describe()}")
    return Restored(
        manifest,
        verification,
        time.perf_counter() - started,
        manifest.inventory.schema == migrate.head_revision(),
    )


def _verify_audit(url: str) -> audit.Verification:
    engine = make_engine(url)
    try:
        with session_factory(engine)() as db:
            return audit.verify(db)
    finally:
        engine.dispose()
