"""``alliance backup DEST``, ``alliance backup --check SRC`` and ``alliance restore SRC``."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from alliance.cli.clinic import DatabaseOption, _describe, _settings
from alliance.cli.common import fail, out

PassphraseOption = Annotated[
    Path | None,
    typer.Option(
        "--passphrase-file",
        envvar="ALLIANCE_BACKUP_PASSPHRASE_FILE",
        help="Encrypt (or decrypt) with the passphrase on this file's first line (at least 12 "
        "characters; scrypt and AES-256-GCM). Keep a copy of it away from the backups.",
        exists=True,
        dir_okay=False,
    ),
]


def _passphrase(path: Path | None) -> str | None:
    if path is None:
        return None
    lines = path.read_text(encoding="utf-8").splitlines()
    return lines[0] if lines else ""


def _megabytes(size: int) -> str:
    return f"{size / 1e6:,.1f} MB"


def backup_command(
    path: Annotated[
        Path, typer.Argument(help="The backup file to write (or, with --check, to verify).")
    ],
    check: Annotated[
        bool, typer.Option("--check", help="Verify the backup PATH instead of making one.")
    ] = False,
    passphrase_file: PassphraseOption = None,
    database: DatabaseOption = None,
) -> None:
    """Make a consistent copy of the database while the service runs: one file holding the
    copy (SQLite's online backup, or PostgreSQL's pg_dump in custom format) and a manifest
    (schema, counts per table, audit chain heads, checksum), readable by its owner only and
    encrypted when a passphrase is given. With --check, verify a backup without restoring."""
    from alliance.services.operations.archive import BackupError  # noqa: PLC0415
    from alliance.services.operations.backups import check_backup, make_backup  # noqa: PLC0415

    passphrase = _passphrase(passphrase_file)
    try:
        if check:
            checked = check_backup(path, passphrase=passphrase)
            out.print(
                f"{path}: intact ({'encrypted, ' if checked.encrypted else ''}"
                f"{checked.manifest.describe()}); {checked.verified}.",
                soft_wrap=True,
            )
            return
        url = _settings(database).database_url
        made = make_backup(url, path, passphrase=passphrase)
    except BackupError as exc:
        fail(str(exc))
    out.print(
        f"Backed up {_describe(url)} to {path} ({_megabytes(made.bytes)}"
        f"{', encrypted' if made.encrypted else ', NOT encrypted'}) in {made.seconds:.1f} s: "
        f"{made.manifest.describe()}.",
        soft_wrap=True,
    )


def restore_command(
    path: Annotated[Path, typer.Argument(help="The backup file.")],
    passphrase_file: PassphraseOption = None,
    database: DatabaseOption = None,
) -> None:
    """Restore a backup into an empty database (ALLIANCE_DATABASE_URL or --database) and
    prove it: schema, every table's count and the audit chains' heads as the manifest says,
    and the audit trail verified."""
    from alliance.services.operations.archive import BackupError  # noqa: PLC0415
    from alliance.services.operations.backups import restore_backup  # noqa: PLC0415

    url = _settings(database).database_url
    try:
        restored = restore_backup(path, url, passphrase=_passphrase(passphrase_file))
    except BackupError as exc:
        fail(str(exc))
    then = (
        "Start the service and check GET /api/v1/health."
        if restored.current
        else "Run `alliance init` to migrate it to this version's schema, then start the service."
    )
    out.print(
        f"Restored {path} into {_describe(url)} in {restored.seconds:.1f} s: "
        f"{restored.manifest.describe()}. Verified: every table's count and the audit chains' "
        f"heads match the backup; {restored.audit.describe()}. {then}",
        soft_wrap=True,
    )
