"""Alembic migrations are the only source of DDL: create or upgrade with :func:`upgrade`;
:func:`schema_differences` compares a database with the models afterwards."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Engine

from alliance.store.engine import READ_ONLY

MIGRATIONS = Path(__file__).parent / "migrations"
RENUMBERED: dict[str, str] = {"0007": "0014"}
"""Revision ids main once held that now have another number, with the same migration: the
one-current-rating migration was "0007" (after 0013) for one commit (fae9978) and then 0014."""


def alembic_config(engine: Engine | None = None) -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    if engine is not None:
        config.attributes["engine"] = engine
    return config


def upgrade(engine: Engine, revision: str = "head") -> list[str]:
    """Migrate to ``revision``; returns what the migrations report having done to the data
    (e.g. 0014's duplicate ratings resolved), one line each."""
    config = alembic_config(engine)
    reports = []
    old = current_revision(engine)
    if old in RENUMBERED:
        command.stamp(config, RENUMBERED[old], purge=True)
        reports.append(f"schema {old} is the same as {RENUMBERED[old]} (renumbered); relabelled")
    command.upgrade(config, revision)
    return reports + list(config.attributes.get("reports", []))


def downgrade(engine: Engine, revision: str) -> None:
    command.downgrade(alembic_config(engine), revision)


def current_revision(engine: Engine) -> str | None:
    with engine.connect() as connection:
        return MigrationContext.configure(connection).get_current_revision()


def head_revision() -> str | None:
    return ScriptDirectory.from_config(alembic_config()).get_current_head()


def known_revisions() -> set[str]:
    """Every revision id this code has a migration for."""
    scripts = ScriptDirectory.from_config(alembic_config())
    return {script.revision for script in scripts.walk_revisions()}


def schema_differences(engine: Engine) -> list[str]:
    """How the database's tables differ from the models (Alembic's autogenerate comparison),
    one readable line per difference; empty when they agree."""
    from alliance.store import (  # noqa: F401, PLC0415 - every table registered
        alerts,
        audit,
        learning,
        models,
        notifications,
        security,
    )
    from alliance.store.base import Base  # noqa: PLC0415

    with engine.connect().execution_options(**{READ_ONLY: True}) as connection:
        context = MigrationContext.configure(connection, opts={"compare_type": True})
        differences = compare_metadata(context, Base.metadata)
    return [_describe(d) for d in differences]


def _describe(difference: Any) -> str:
    """One of compare_metadata's tuples (or a list of them, for a column's changes) in words."""
    if isinstance(difference, list):
        return "; ".join(_describe(d) for d in difference)
    kind, *rest = difference
    if kind == "add_table":
        return f"table {rest[0].name} is missing"
    if kind == "remove_table":
        return f"table {rest[0].name} is not in the models"
    if kind == "add_column":
        return f"column {rest[1]}.{rest[2].name} is missing"
    if kind == "remove_column":
        return f"column {rest[1]}.{rest[2].name} is not in the models"
    if kind in ("add_index", "remove_index", "add_constraint", "remove_constraint"):
        item = rest[0]
        table = getattr(getattr(item, "table", None), "name", "?")
        state = "is missing" if kind.startswith("add") else "is not in the models"
        return f"{kind.split('_')[1]} {item.name} on {table} {state}"
    if kind.startswith("modify_"):
        _schema, table, column, _existing, old, new = rest
        change = kind.removeprefix("modify_")
        where = f"column {table}.{column}"
        return f"{where}: {change} is {old!r} in the database, {new!r} in the models"
    return repr(difference)  # pragma: no cover - a kind Alembic may add later
