"""Benchmark: backup, check and restore times of a database (the demo's by default).

    python bench/backup.py [--database URL] [--target URL] [--passphrase-file FILE]

Without --database a demo clinic (``alliance demo``'s data) is made in a temporary SQLite
file. --target is the empty database to restore into (default: a new SQLite file beside the
backup; PostgreSQL: give a new, empty database). Each step is timed once, in this process,
with time.perf_counter; the figures printed are the wall-clock seconds and the file's size.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

from alliance.instruments.registry import default_registry
from alliance.services import audit
from alliance.services.operations.backups import check_backup, make_backup, restore_backup
from alliance.store import migrate
from alliance.store.engine import make_engine, session_factory

PASSPHRASE = "a passphrase for the benchmark only"


def demo_database(folder: Path) -> str:
    from alliance.demo import seed

    url = f"sqlite:///{folder / 'demo.sqlite3'}"
    engine = make_engine(url)
    migrate.upgrade(engine)
    sessions = session_factory(engine)
    audit.install(sessions)
    started = time.perf_counter()
    seed(sessions, default_registry(), base_url="http://127.0.0.1:8000")
    engine.dispose()
    print(f"demo database made in {time.perf_counter() - started:.1f} s", file=sys.stderr)
    return url


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database", help="the database to back up (default: a new demo)")
    parser.add_argument("--target", help="an empty database to restore into")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="alliance-bench-backup-") as name:
        folder = Path(name)
        url = args.database or demo_database(folder)
        for encrypted in (False, True):
            passphrase = PASSPHRASE if encrypted else None
            label = "encrypted" if encrypted else "plain"
            made = make_backup(url, folder / f"{label}.backup", passphrase=passphrase)
            started = time.perf_counter()
            check_backup(made.path, passphrase=passphrase)
            checked = time.perf_counter() - started
            print(
                f"{made.manifest.backend} {label}: backup {made.seconds:.2f} s, "
                f"{made.bytes / 1e6:.1f} MB; check {checked:.2f} s — "
                f"{made.manifest.describe()}"
            )
        target = args.target or f"sqlite:///{folder / 'restored.sqlite3'}"
        restored = restore_backup(made.path, target, passphrase=PASSPHRASE)
        print(
            f"{made.manifest.backend} encrypted: restore and verify {restored.seconds:.2f} s "
            f"({restored.audit.describe()})"
        )


if __name__ == "__main__":
    main()
