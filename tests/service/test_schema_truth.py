"""Schema truth: revision ids are never reused, a database made on the side branch whose
migration was also numbered 0002 is repaired, ``alliance init`` refuses a database newer than
the code or whose tables differ from the models, and the health probe says which schema it
found."""

from __future__ import annotations

import re

from alembic import command
from fastapi.testclient import TestClient
from sqlalchemy import inspect, text
from typer.testing import CliRunner

from alliance.cli import app as cli
from alliance.config import Settings
from alliance.store import migrate
from alliance.store.migrate import MIGRATIONS, alembic_config
from alliance.web.app import create_app
from tests.fixtures.database import Database


def init(database: Database) -> tuple[int, str]:
    result = CliRunner().invoke(cli, ["init", "--database", database.url], env={"COLUMNS": "300"})
    return result.exit_code, " ".join((result.stdout + result.stderr).split())


def test_every_revision_id_is_its_file_number_and_used_once() -> None:
    """A landed revision id is never renumbered or reused: the side branch's "0002" made
    databases that Alembic took to hold a migration they did not."""
    ids = []
    for path in sorted((MIGRATIONS / "versions").glob("*.py")):
        found = re.search(r'^revision = "(\d{4})"$', path.read_text(encoding="utf-8"), re.M)
        assert found, path.name
        assert path.name.startswith(f"{found[1]}_"), path.name
        ids.append(found[1])
    assert len(ids) == len(set(ids)) == len(migrate.known_revisions())
    assert migrate.head_revision() == max(ids)


def test_init_repairs_a_database_made_on_the_side_branch_0002(empty_database: Database) -> None:
    """On the side branch, "0002" made alerts.provenance text on PostgreSQL (nothing on
    SQLite) and nothing else; before 0013 `alliance init` called that database migrated
    while quiz_results and organizations.supervisors_see_calibration were missing."""
    engine = empty_database.engine
    migrate.upgrade(engine, "0001")
    with engine.begin() as connection:
        if empty_database.backend == "postgresql":
            connection.execute(text("ALTER TABLE alerts ALTER COLUMN provenance TYPE TEXT"))
        connection.execute(
            text(
                "INSERT INTO organizations (id, name, terms, feedback_config, "
                "enabled_instruments, created_at) VALUES ('o', 'Side', '{}', '{}', '[]', "
                "'2026-01-01')"
            )
        )
    command.stamp(alembic_config(engine), "0002")  # what the side branch's 0002 recorded

    code, output = init(empty_database)

    assert code == 0, output
    assert f"migrated (schema {migrate.head_revision()})" in output
    assert "quiz_results" in inspect(engine).get_table_names()
    with engine.connect() as connection:
        flag = connection.execute(
            text("SELECT supervisors_see_calibration FROM organizations WHERE id = 'o'")
        ).scalar_one()
    assert not flag  # existing organizations keep calibration private
    assert migrate.schema_differences(engine) == []


def test_init_refuses_tables_that_differ_from_the_models_and_lists_them(
    empty_database: Database,
) -> None:
    engine = empty_database.engine
    migrate.upgrade(engine)
    with engine.begin() as connection:
        connection.execute(text("DROP TABLE quiz_results"))
        connection.execute(text("ALTER TABLE users DROP COLUMN totp_last_step"))

    code, output = init(empty_database)

    assert code == 1
    assert "tables differ from what this version expects" in output
    assert "- table quiz_results is missing" in output
    assert "- column users.totp_last_step is missing" in output
    assert "Do not serve it" in output


def test_init_refuses_a_database_newer_than_the_code(empty_database: Database) -> None:
    engine = empty_database.engine
    migrate.upgrade(engine)
    with engine.begin() as connection:
        connection.execute(text("UPDATE alembic_version SET version_num = '0999'"))

    code, output = init(empty_database)

    assert code == 1
    assert "is at schema 0999, newer than this version of alliance knows" in output
    assert "nothing was changed" in output and "restoring the backup" in output
    assert migrate.current_revision(engine) == "0999"


def test_health_reports_the_schema_and_fails_when_it_does_not_match(database: Database) -> None:
    command.stamp(alembic_config(database.engine), "head")  # built with create_all
    settings = Settings(database_url=database.url)
    with TestClient(create_app(settings, engine=database.engine)) as api:
        answer = api.get("/api/v1/health")
        assert answer.status_code == 200
        assert answer.json() == {"status": "ok", "schema": migrate.head_revision()}
        with database.engine.begin() as connection:
            connection.execute(text("UPDATE alembic_version SET version_num = '0006'"))
        answer = api.get("/api/v1/health")
        assert answer.status_code == 503
        assert answer.json()["schema"] == "0006"
        assert "this code expects" in answer.json()["problem"]
    command.stamp(alembic_config(database.engine), "head")
    with database.engine.begin() as connection:
        connection.execute(text("DROP TABLE quiz_results"))
    with TestClient(create_app(settings, engine=database.engine)) as api:
        answer = api.get("/api/v1/health")
    assert answer.status_code == 503
    missing = migrate.schema_differences(database.engine)  # the table and its index
    assert "table quiz_results is missing" in missing
    assert answer.json()["problem"] == (
        f"{len(missing)} difference(s) between the tables and the models"
    )
