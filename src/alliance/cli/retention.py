"""Retention and erasure: ``retention list | purge`` and ``client erase`` (``org retention``,
the organization's setting, is in ``accounts.py``).

Erasing and purging change nothing without ``--confirm``: they run, print what they would
remove, and roll back (the listing is still audited). The operator acts as the system in the
organization named by ``--org``."""

from __future__ import annotations

from typing import Annotated

import typer
from rich.table import Table
from sqlalchemy.orm import Session

from alliance.cli.clinic import DatabaseOption, database_session
from alliance.cli.common import fail, out
from alliance.services import audit
from alliance.services.accounts import people
from alliance.services.context import Actor
from alliance.services.errors import ServiceError
from alliance.services.operations import erasure, retention

retention_app = typer.Typer(
    help="Records past the retention period: list, purge.", no_args_is_help=True
)
client_app = typer.Typer(help="Clients: erasure on request.", no_args_is_help=True)

OrgOption = Annotated[str, typer.Option("--org", help="Organization name.")]
ConfirmOption = Annotated[
    bool,
    typer.Option("--confirm", help="Do it (without: show what would be removed, change nothing)."),
]


def actor_in(db: Session, organization: str) -> Actor:
    try:
        return Actor.system(people.organization_named(db, organization).id)
    except ServiceError as exc:
        fail(exc.message)


def _expired_table(rows: list[retention.Expired]) -> Table:
    table = Table("client", "clinician", "last episode ended", box=None, pad_edge=False)
    for row in rows:
        table.add_row(row.code, row.clinician, str(row.last_ended or "(no episode)"))
    return table


@retention_app.command("list")
def retention_list(organization: OrgOption, database: DatabaseOption = None) -> None:
    """List the clients whose records have passed the organization's retention period."""
    with database_session(database) as db:
        actor = actor_in(db, organization)
        rows = retention.expired_clients(db, actor)
        db.commit()  # the listing is audited
    if rows:
        out.print(_expired_table(rows))
    out.print(f"{len(rows)} client{'s' if len(rows) != 1 else ''} past retention.")


@retention_app.command("purge")
def retention_purge(
    organization: OrgOption, confirm: ConfirmOption = False, database: DatabaseOption = None
) -> None:
    """Erase every client past the retention period (a dry run without --confirm)."""
    with database_session(database) as db:
        actor = actor_in(db, organization)
        done = retention.purge(db, actor)
        if confirm:
            db.commit()
        else:
            db.rollback()
            retention.expired_clients(db, actor)  # what the dry run showed, audited
            db.commit()
    for client, why in done.skipped:
        out.print(f"skipped {client.code}: {why}", soft_wrap=True)
    if done.erased:
        out.print(_expired_table([client for client, _ in done.erased]))
    n = len(done.erased)
    clients = f"{n} client{'s' if n != 1 else ''}"
    if confirm:
        out.print(f"Erased {clients} past retention.")
    else:
        out.print(f"Would erase {clients} past retention; nothing changed (add --confirm).")


@client_app.command("erase")
def client_erase(
    name: Annotated[str, typer.Argument(help="The client's code (CODE@clinician if shared).")],
    organization: OrgOption,
    confirm: ConfirmOption = False,
    database: DatabaseOption = None,
) -> None:
    """Erase one client's identifiable data on request (GDPR Art. 17): contact details,
    links, alerts and notes go; answers and scores go too unless the organization keeps them
    de-identified (`alliance org retention`). The audit trail records the erasure and still
    verifies. A dry run without --confirm."""
    with database_session(database) as db:
        actor = actor_in(db, organization)
        try:
            client = erasure.client_to_erase(db, actor, name)
            done = erasure.erase_client(db, actor, client.id)
        except ServiceError as exc:
            fail(exc.message)
        if confirm:
            db.commit()
        else:
            db.rollback()
            audit.record(db, actor, "erase_dry_run", "client", client.id)
            db.commit()
    removed = ", ".join(f"{n} {table}" for table, n in sorted(done.removed.items()) if n)
    kept = "answers and scores kept de-identified" if done.kept_scores else "nothing kept"
    summary = f"{removed or 'no rows'}; {kept}; {done.redacted_events} audit events redacted"
    if confirm:
        out.print(f"Erased {name}: {summary}.", soft_wrap=True)
    else:
        out.print(
            f"Would erase {name}: {summary}. Nothing changed (add --confirm).", soft_wrap=True
        )
