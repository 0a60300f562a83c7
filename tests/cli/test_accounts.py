"""``alliance user add | passwd | list | disable | enable`` and exports readable by their
owner only, on the test database (both backends)."""

from __future__ import annotations

import stat
from collections.abc import Callable
from pathlib import Path

import pytest
from alembic import command
from fastapi.testclient import TestClient
from sqlalchemy import select
from typer.testing import CliRunner

from alliance.cli import app
from alliance.store.audit import AuditEvent
from alliance.store.migrate import alembic_config
from alliance.store.models import User
from tests.fixtures.database import Database, World

NEW_PASSWORD = "violet tractor under seven moons"


@pytest.fixture
def backend() -> str:
    """The commands are the same on both databases; the services under them are tested on
    both elsewhere."""
    return "sqlite"


@pytest.fixture
def cli(database: Database, world: World) -> Callable[..., tuple[int, str]]:
    command.stamp(alembic_config(database.engine), "head")  # built with create_all

    def invoke(*args: str) -> tuple[int, str]:
        result = CliRunner().invoke(
            app, [*args, "--database", database.url], env={"COLUMNS": "200"}
        )
        return result.exit_code, " ".join((result.stdout + result.stderr).split())

    return invoke


def _terminal(monkeypatch: pytest.MonkeyPatch, *answers: str) -> None:
    monkeypatch.setattr("alliance.cli.accounts.os.isatty", lambda fd: True)
    replies = iter(answers)
    monkeypatch.setattr("alliance.cli.accounts.getpass.getpass", lambda prompt: next(replies))


def _no_terminal(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("alliance.cli.accounts.os.isatty", lambda fd: False)


def test_user_add_without_a_terminal_says_how_to_set_a_password(
    cli, database: Database, monkeypatch: pytest.MonkeyPatch
) -> None:  # type: ignore[no-untyped-def]
    _no_terminal(monkeypatch)
    code, output = cli("user", "add", "j.doe", "--org", "Clinic A", "--role", "clinician")
    assert code == 0, output
    assert "with no password: they cannot log in until one is set" in output
    assert "alliance user passwd j.doe" in output

    code, output = cli("user", "passwd", "j.doe")
    assert code == 1
    assert "give --password-file FILE" in output

    _terminal(monkeypatch, NEW_PASSWORD, NEW_PASSWORD)
    code, output = cli("user", "passwd", "j.doe")
    assert code == 0, output
    with database.session() as db:
        user = db.scalar(select(User).where(User.username == "j.doe"))
        assert user is not None and user.password_hash
        actions = db.scalars(select(AuditEvent.action).where(AuditEvent.record_id == user.id))
        assert list(actions) == ["create", "update"]


def test_user_add_at_a_terminal_asks_for_the_password_twice(
    cli, database: Database, monkeypatch: pytest.MonkeyPatch
) -> None:  # type: ignore[no-untyped-def]
    _terminal(monkeypatch, NEW_PASSWORD, "something else")
    code, output = cli("user", "add", "k.roe", "--org", "Clinic A", "--role", "admin")
    assert code == 1
    assert "the two passwords differ" in output
    _terminal(monkeypatch, NEW_PASSWORD, NEW_PASSWORD)
    code, output = cli("user", "add", "k.roe", "--org", "Clinic A", "--role", "admin")
    assert code == 0, output
    assert "no password" not in output
    with database.session() as db:
        assert db.scalar(select(User.password_hash).where(User.username == "k.roe"))


def test_passwd_and_disable_end_the_users_tokens_and_list_shows_who_can_log_in(
    cli, api: TestClient, world: World, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:  # type: ignore[no-untyped-def]
    assert api.get("/api/v1/me", headers=world["c1"].headers).status_code == 200
    secret = tmp_path / "pw"
    secret.write_text(NEW_PASSWORD + "\n", encoding="utf-8")
    code, output = cli("user", "passwd", "C1", "--password-file", str(secret))
    assert code == 0, output
    assert "their sessions and tokens have ended" in output
    assert api.get("/api/v1/me", headers=world["c1"].headers).status_code == 401

    assert api.get("/api/v1/me", headers=world["c2"].headers).status_code == 200
    code, output = cli("user", "disable", "c2")
    assert code == 0, output
    assert api.get("/api/v1/me", headers=world["c2"].headers).status_code == 401

    code, output = cli("user", "list", "--org", "Clinic A")
    assert code == 0, output
    assert "c1 clinician North c1 yes" in output
    assert "c2 clinician North c2 disabled" in output
    assert "c3 clinician South c3 no password" in output
    assert "6 users in 'Clinic A'." in output
    assert "b1" not in output  # another organization's

    code, output = cli("user", "enable", "c2")
    assert code == 0 and "can log in again" in output
    code, output = cli("user", "disable", "nobody")
    assert code == 1 and "there is no user 'nobody'" in output


def test_exports_are_readable_by_their_owner_only(cli, world: World, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    """Exports hold client records (with --contact, names and addresses): 0600, not the
    umask's 0644."""
    bundle = tmp_path / "c1.json"
    code, output = cli(
        "export", "fhir", "--client", "C1-01", "--org", "Clinic A", "-o", str(bundle), "--contact",
        "--base-url", "https://clinic.example",
    )  # fmt: skip
    assert code == 0, output
    tables = tmp_path / "clinic.csv"
    code, output = cli("export", "tables", "--org", "Clinic A", "-o", str(tables))
    assert code == 0, output
    written = [bundle, *tmp_path.glob("clinic*.csv")]
    assert len(written) == 7  # the bundle; administrations, scores, events and 3 codebooks
    assert {oct(stat.S_IMODE(p.stat().st_mode)) for p in written} == {oct(0o600)}
