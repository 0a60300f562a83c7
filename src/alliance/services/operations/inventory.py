"""What a backup holds, written beside it as ``manifest.json``: the schema revision, every
table's row count, the audit chains' heads and the database copy's checksum — and what a
restored database is compared with."""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from dataclasses import asdict, dataclass, field
from importlib import metadata
from pathlib import Path
from typing import Any

from alembic.runtime.migration import MigrationContext
from sqlalchemy import Connection, inspect, select, text

from alliance.store.audit import AuditHead

FORMAT = "alliance-backup 1"


@dataclass
class Inventory:
    """The part of a manifest read from the database itself."""

    schema: str | None
    tables: dict[str, int]
    audit_heads: list[list[Any]]  # [chain, last_seq, last_hash]

    def differences(self, other: Inventory) -> list[str]:
        """How ``other`` (a restored database) differs from this (the manifest), in words."""
        found = []
        if other.schema != self.schema:
            found.append(f"schema {other.schema}, the backup says {self.schema}")
        for name in sorted(set(self.tables) | set(other.tables)):
            ours, theirs = self.tables.get(name), other.tables.get(name)
            if ours != theirs:
                found.append(f"table {name}: {theirs} rows, the backup says {ours}")
        if other.audit_heads != self.audit_heads:
            found.append("the audit chains' heads differ from the backup's")
        return found


@dataclass
class Manifest:
    backend: str
    created_at: str
    inventory: Inventory
    data_file: str
    data_bytes: int
    data_sha256: str
    alliance: str = field(default_factory=lambda: _version())  # noqa: PLW0108 - defined below
    tool: str = ""  # the program that made the copy (pg_dump's version line, or sqlite3)
    format: str = FORMAT

    def to_json(self) -> str:
        return json.dumps(asdict(self), indent=2, sort_keys=True) + "\n"

    @classmethod
    def from_json(cls, text_: str) -> Manifest:
        raw = json.loads(text_)
        if raw.get("format") != FORMAT:
            raise ValueError(f"not an {FORMAT} manifest: format {raw.get('format')!r}")
        raw["inventory"] = Inventory(**raw["inventory"])
        return cls(**raw)

    def describe(self) -> str:
        rows = sum(self.inventory.tables.values())
        events = sum(head[1] for head in self.inventory.audit_heads)
        return (
            f"schema {self.inventory.schema}, {len(self.inventory.tables)} tables, "
            f"{rows:,} rows, {events:,} audit events, made {self.created_at} by alliance "
            f"{self.alliance} from {self.backend}"
        )


def _version() -> str:
    try:
        return metadata.version("alliance")
    except metadata.PackageNotFoundError:  # pragma: no cover - run from a source tree
        return "unknown"


def now() -> str:
    return dt.datetime.now(dt.UTC).isoformat(timespec="seconds")


def take(connection: Connection) -> Inventory:
    """The inventory as ``connection``'s transaction sees it (one snapshot: on PostgreSQL
    the caller holds a repeatable-read transaction)."""
    names = sorted(inspect(connection).get_table_names())
    tables = {
        name: int(connection.execute(text(f'SELECT count(*) FROM "{name}"')).scalar_one())
        for name in names
        if name != "alembic_version"
    }
    heads = connection.execute(
        select(AuditHead.id, AuditHead.last_seq, AuditHead.last_hash).order_by(AuditHead.id)
    ).all()
    schema = MigrationContext.configure(connection).get_current_revision()
    return Inventory(schema, tables, [list(h) for h in heads])


def sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        while block := handle.read(1 << 20):
            digest.update(block)
    return digest.hexdigest()
