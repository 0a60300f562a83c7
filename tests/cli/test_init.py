"""``alliance init``: creates the database with the index that keeps one current rating per
session, form and rater, and says what migrating an older database did to its data."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import inspect, text
from typer.testing import CliRunner

from alliance.cli import app
from alliance.store import migrate
from alliance.store.engine import make_engine


def init(url: str) -> str:
    result = CliRunner().invoke(app, ["init"], env={"ALLIANCE_DATABASE_URL": url})
    assert result.exit_code == 0, result.stderr
    return result.stdout


def current_index(url: str) -> list[dict[str, object]]:
    engine = make_engine(url)
    try:
        return [
            i
            for i in inspect(engine).get_indexes("administrations")
            if i["name"] == "uq_administrations_current"
        ]
    finally:
        engine.dispose()


def test_init_creates_the_index_and_reports_the_duplicates_it_resolved(tmp_path: Path) -> None:
    new = f"sqlite:///{tmp_path / 'new.sqlite3'}"
    assert "created" in init(new)
    [index] = current_index(new)
    assert index["unique"]
    url = f"sqlite:///{tmp_path / 'old.sqlite3'}"
    engine = make_engine(url)
    migrate.upgrade(engine, "0013")
    rows = [
        "INSERT INTO organizations (id, name, terms, feedback_config, enabled_instruments, "
        "supervisors_see_calibration, created_at) VALUES ('o', 'O', '{}', '{}', '[]', 0, "
        "'2026-01-01')",
        "INSERT INTO users (id, organization_id, username, display_name, role, active, "
        "created_at) VALUES ('u', 'o', 'u', 'U', 'clinician', 1, '2026-01-01')",
        "INSERT INTO clients (id, organization_id, code, clinician_id, language, created_at) "
        "VALUES ('c', 'o', 'C', 'u', 'en', '2026-01-01')",
        "INSERT INTO episodes (id, client_id, clinician_id, started_on, created_at) VALUES "
        "('e', 'c', 'u', '2026-01-01', '2026-01-01')",
        "INSERT INTO sessions (id, episode_id, number, date, attended, created_at) VALUES "
        "('s', 'e', 1, '2026-01-01', 1, '2026-01-01')",
        *(
            "INSERT INTO administrations (id, organization_id, session_id, instrument, "
            "version, perspective, stance, answers, licensed_wording, source, entered_at, "
            f"idempotency_key) VALUES ('{n}', 'o', 's', 'wai-sr', '1.0', 'client', 'self', "
            f"'{{}}', 0, 'client_link', '2026-01-0{n}', 'k{n}')"
            for n in (1, 2)
        ),
    ]
    with engine.begin() as connection:
        for row in rows:
            connection.execute(text(row))
    engine.dispose()
    out = init(url)
    assert f"migrated (schema {migrate.head_revision()})" in out
    assert "0014: 1 earlier rating(s) in 1 group(s)" in out
    assert current_index(url)
