"""Organizations and user accounts: ``org add | retention``, ``user add | passwd | list | disable |
enable``. The operator at the command line acts as the system within the account's
organization; every change is audited like an admin's."""

from __future__ import annotations

import getpass
import os
from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table
from sqlalchemy import select
from sqlalchemy.orm import Session

from alliance.cli.clinic import DatabaseOption, database_session
from alliance.cli.common import fail, out
from alliance.services.accounts import people
from alliance.services.context import Actor
from alliance.services.errors import ServiceError
from alliance.store.models import User

org_app = typer.Typer(
    add_completion=False, help="Organizations (clinics or services).", no_args_is_help=True
)
user_app = typer.Typer(add_completion=False, help="User accounts.", no_args_is_help=True)

PasswordFileOption = Annotated[
    Path | None,
    typer.Option(
        help="Read the password from the first line of this file (else prompt at a terminal).",
        exists=True,
        dir_okay=False,
    ),
]


def _failure(exc: ServiceError) -> None:
    fail(f"{exc.field + ': ' if exc.field else ''}{exc.message}")


@org_app.command("add")
def org_add(
    name: Annotated[str, typer.Argument(help="The organization's name.")],
    database: DatabaseOption = None,
) -> None:
    """Add an organization."""
    with database_session(database) as db:
        try:
            org = people.create_organization(db, Actor.system(), name)
            db.commit()
        except ServiceError as exc:
            _failure(exc)
    out.print(f"Added organization {name!r} ({org.id}).")


@org_app.command("retention")
def org_retention(
    organization: Annotated[str, typer.Argument(help="The organization's name.")],
    years: Annotated[
        int | None, typer.Option(help="Keep records this many years after the last episode.")
    ] = None,
    forever: Annotated[
        bool, typer.Option("--forever", help="Keep records until someone erases them.")
    ] = False,
    keep_scores: Annotated[
        bool,
        typer.Option(
            "--keep-scores/--delete-scores",
            help="Whether an erasure keeps answers and scores, de-identified, for statistics.",
        ),
    ] = False,
    database: DatabaseOption = None,
) -> None:
    """Set how long an organization keeps records, and what an erasure keeps."""
    if (years is None) == (not forever):
        fail("give either --years N or --forever")
    from alliance.services.operations import retention  # noqa: PLC0415 - loaded when run

    with database_session(database) as db:
        try:
            actor = Actor.system(people.organization_named(db, organization).id)
            retention.set_policy(db, actor, retention_years=years, erasure_keeps_scores=keep_scores)
            db.commit()
        except ServiceError as exc:
            fail(exc.message)
    span = f"{years} year{'s' if years != 1 else ''}"
    kept = f"{span} after a client's last episode ended" if years else "until erased"
    scores = (
        "keeps answers and scores, de-identified" if keep_scores else "deletes answers and scores"
    )
    out.print(f"{organization!r} keeps records {kept}; an erasure {scores}.", soft_wrap=True)


def _read_password(password_file: Path | None, *, optional: bool) -> str | None:
    """The password from the file's first line, or asked twice at a terminal; None when
    there is no terminal (or, where ``optional``, when the answer is empty)."""
    if password_file is not None:
        text = password_file.read_text(encoding="utf-8").splitlines()
        return text[0] if text else ""
    if not os.isatty(0):
        return None
    prompt = "Password (leave empty for none): " if optional else "New password: "
    first = getpass.getpass(prompt)
    if not first and optional:
        return None
    if getpass.getpass("Again: ") != first:
        fail("the two passwords differ")
    return first


def _how_to_set(username: str) -> str:
    return (
        f"set one with `alliance user passwd {username}` at a terminal, or "
        f"`alliance user passwd {username} --password-file FILE` (first line; then delete FILE)"
    )


@user_app.command("add")
def user_add(
    username: Annotated[str, typer.Argument(help="Login name (lowercase).")],
    organization: Annotated[str, typer.Option("--org", help="Organization name.")],
    role: Annotated[str, typer.Option(help="clinician, supervisor, researcher or admin.")],
    team: Annotated[str | None, typer.Option(help="Team name (created if new).")] = None,
    display_name: Annotated[str | None, typer.Option(help="Name shown in pages.")] = None,
    email: Annotated[str | None, typer.Option(help="For links and reminders.")] = None,
    password_file: PasswordFileOption = None,
    database: DatabaseOption = None,
) -> None:
    """Add a user to an organization. At a terminal the password is asked for (twice);
    otherwise give --password-file, or set it later with `alliance user passwd`."""
    password = _read_password(password_file, optional=True)
    with database_session(database) as db:
        try:
            org = people.organization_named(db, organization)
            actor = Actor.system(org.id)
            team_id = None
            if team:
                try:
                    team_id = people.team_named(db, actor, team).id
                except ServiceError:
                    team_id = people.create_team(db, actor, team).id
            user = people.create_user(
                db,
                actor,
                username=username,
                role=role,
                password=password,
                display_name=display_name,
                email=email,
                team_id=team_id,
            )
            db.commit()
        except ServiceError as exc:
            _failure(exc)
    note = (
        ""
        if password
        else " with no password: they cannot log in until one is set; "
        + (_how_to_set(user.username))
    )
    out.print(f"Added {role} {user.username!r} to {organization!r}{note}.", soft_wrap=True)


def _account(db: Session, username: str) -> tuple[User, Actor]:
    """The account named ``username`` (usernames are unique in the installation) and the
    system acting in its organization."""
    user = db.scalar(select(User).where(User.username == username.strip().lower()))
    if user is None:
        fail(f"there is no user {username!r} (`alliance user list --org NAME` lists them)")
    return user, Actor.system(user.organization_id)


@user_app.command("passwd")
def user_passwd(
    username: Annotated[str, typer.Argument(help="The user's login name.")],
    password_file: PasswordFileOption = None,
    database: DatabaseOption = None,
) -> None:
    """Set a user's password (asked twice at a terminal, or the first line of
    --password-file). Their login sessions and API tokens end."""
    password = _read_password(password_file, optional=False)
    if password is None:
        fail("no terminal to ask for the password at: give --password-file FILE (first line)")
    with database_session(database) as db:
        user, actor = _account(db, username)
        try:
            people.update_user(db, actor, user.id, password=password)
            db.commit()
        except ServiceError as exc:
            _failure(exc)
    out.print(f"Set the password of {user.username!r}; their sessions and tokens have ended.")


def _set_active(username: str, database: str | None, *, active: bool) -> None:
    with database_session(database) as db:
        user, actor = _account(db, username)
        try:
            people.update_user(db, actor, user.id, active=active)
            db.commit()
        except ServiceError as exc:
            _failure(exc)
    if active:
        out.print(f"Enabled {user.username!r}: they can log in again.")
    else:
        out.print(
            f"Disabled {user.username!r}: they cannot log in, their sessions and tokens have "
            "ended, and their records stay (`alliance user enable` undoes it)."
        )


@user_app.command("disable")
def user_disable(
    username: Annotated[str, typer.Argument(help="The user's login name.")],
    database: DatabaseOption = None,
) -> None:
    """Stop a user from logging in (their records and audit trail stay)."""
    _set_active(username, database, active=False)


@user_app.command("enable")
def user_enable(
    username: Annotated[str, typer.Argument(help="The user's login name.")],
    database: DatabaseOption = None,
) -> None:
    """Let a disabled user log in again."""
    _set_active(username, database, active=True)


@user_app.command("list")
def user_list(
    organization: Annotated[str, typer.Option("--org", help="Organization name.")],
    database: DatabaseOption = None,
) -> None:
    """List an organization's users: username, role, team, whether they can log in."""
    with database_session(database) as db:
        try:
            org = people.organization_named(db, organization)
            actor = Actor.system(org.id)
            listed = people.list_users(db, actor)
            teams = {t.id: t.name for t in people.list_teams(db, actor)}
            db.commit()  # the listing is audited
        except ServiceError as exc:
            _failure(exc)
    table = Table("username", "role", "team", "name", "login", box=None, pad_edge=False)
    for user in listed.users:
        login = "disabled" if not user.active else ("yes" if user.password_hash else "no password")
        table.add_row(
            user.username, user.role, teams.get(user.team_id or "", ""), user.display_name, login
        )
    out.print(table)
    out.print(f"{listed.count} user{'s' if listed.count != 1 else ''} in {organization!r}.")
