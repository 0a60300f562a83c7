"""Service commands: ``init``, ``org add``, ``user add``, ``serve``, ``audit verify`` and
``audit checkpoint``."""

from __future__ import annotations

import contextlib
import os
import socket
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Annotated

import typer
from rich.markup import escape
from sqlalchemy import Engine
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session

from alliance.cli.common import err, fail, out
from alliance.config import Settings
from alliance.instruments.registry import default_registry
from alliance.services import audit
from alliance.store import migrate
from alliance.store.engine import make_engine, session_factory

audit_app = typer.Typer(add_completion=False, help="The audit trail.", no_args_is_help=True)

DatabaseOption = Annotated[
    str | None,
    typer.Option(
        "--database",
        envvar="ALLIANCE_DATABASE_URL",
        help="Database URL (default: sqlite:///alliance.sqlite3).",
    ),
]


def _settings(database: str | None) -> Settings:
    return Settings(database_url=database) if database else Settings()


def _describe(url: str) -> str:
    return make_url(url).render_as_string(hide_password=True)


@contextlib.contextmanager
def _ready_engine(database: str | None) -> Iterator[Engine]:
    """The engine of an initialised, current database; disposed of afterwards."""
    settings = _settings(database)
    engine = make_engine(settings.database_url)
    try:
        try:
            current = migrate.current_revision(engine)
        except Exception as exc:
            fail(f"cannot open the database {_describe(settings.database_url)}: {exc}")
        if current != migrate.head_revision():
            fail(
                f"the database {_describe(settings.database_url)} is not initialised or is out "
                "of date; run `alliance init` first"
            )
        yield engine
    finally:
        engine.dispose()


@contextlib.contextmanager
def _session(database: str | None) -> Iterator[Session]:
    with _ready_engine(database) as engine:
        sessions = session_factory(engine)
        audit.install(sessions)
        with sessions() as db:
            yield db


database_session = _session  # for the other service commands (export, import)


def init_command(database: DatabaseOption = None) -> None:
    """Create the database, or migrate it to the current schema; then check that its tables
    are the ones this code expects."""
    settings = _settings(database)
    where = _describe(settings.database_url)
    engine = make_engine(settings.database_url)
    try:
        try:
            before = migrate.current_revision(engine)
            if before is not None and before not in migrate.known_revisions() | set(
                migrate.RENUMBERED
            ):
                fail(
                    f"the database {where} is at schema {before}, newer than this version of "
                    f"alliance knows (its newest is {migrate.head_revision()}); nothing was "
                    "changed. Run the version of alliance that made it, or go back by restoring "
                    "the backup made before the upgrade (README: Upgrades)."
                )
            reports = migrate.upgrade(engine)
            after = migrate.current_revision(engine)
            differences = migrate.schema_differences(engine)
        except typer.Exit:
            raise
        except Exception as exc:
            fail(f"cannot initialise {where}: {exc}")
    finally:
        engine.dispose()
    if differences:
        listed = "\n".join(f"  - {d}" for d in differences)
        fail(
            f"the database {where} is at schema {after} but its tables differ from what this "
            f"version expects:\n{listed}\nDo not serve it; restore the last backup made before "
            "the upgrade, or report these lines."
        )
    state = "created" if before is None else ("up to date" if before == after else "migrated")
    out.print(f"Database {where}: {state} (schema {after}).")
    for report in reports:
        out.print(report)


def public_address(host: str, port: int) -> str:
    """The address links and QR codes carry when ALLIANCE_BASE_URL is not set: the one served
    on, with this machine's name in place of a wildcard (0.0.0.0 opens nowhere on a phone)."""
    if host in ("0.0.0.0", "::", ""):
        host = socket.getfqdn() or socket.gethostname()
    if ":" in host:
        host = f"[{host}]"
    return f"http://{host}:{port}"


LOOPBACK = ("127.0.0.1", "localhost", "::1")


def phone_hint(host: str, port: int, base_url: str) -> str | None:
    """What a phone needs when the printed links point at this machine's loopback address
    (which opens nothing on a phone): listening on every address and this machine's name."""
    if not any(f"//{name}" in base_url or f"//[{name}]" in base_url for name in LOOPBACK):
        return None
    if host not in LOOPBACK:
        return None
    return (
        f"Phones cannot reach {base_url} (it is this computer only): serve with --host 0.0.0.0 "
        f"(e.g. alliance demo --host 0.0.0.0 --port {port}); a phone on the same network then "
        f"goes to http://{lan_address()}:{port}/ (or set ALLIANCE_BASE_URL to the address "
        "phones reach)."
    )


def lan_address() -> str:
    """This machine's address on its network: the source address of a route towards a
    documentation-only address (RFC 5737; a UDP connect sends nothing), else its name."""
    try:
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
            probe.connect(("192.0.2.1", 9))
            address = str(probe.getsockname()[0])
    except OSError:
        address = ""
    if address and not address.startswith("127."):
        return address
    return socket.getfqdn() or socket.gethostname()


def serve_command(
    host: Annotated[str, typer.Option(help="Address to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port to listen on.")] = 8000,
    workers: Annotated[int, typer.Option(help="Worker processes (they share no state).")] = 1,
    database: DatabaseOption = None,
) -> None:
    """Serve the web app and API."""
    with _ready_engine(database):
        pass
    if database:
        os.environ["ALLIANCE_DATABASE_URL"] = database
    if not os.environ.get("ALLIANCE_BASE_URL"):
        err.print(
            f"WARNING: ALLIANCE_BASE_URL is not set, so this service names its FHIR resources, "
            f"canonical URLs and identifier systems (and the links sent to clients) by "
            f"{public_address(host, port)}; they change when the address does. Set "
            "ALLIANCE_BASE_URL=https://<the public address> before serving.",
            soft_wrap=True,
        )
    os.environ.setdefault("ALLIANCE_BASE_URL", public_address(host, port))
    err.print(
        f"alliance on http://{host}:{port}/ (API: /api/v1/docs), "
        f"database {_describe(_settings(database).database_url)}, {workers} worker(s)"
    )
    hint = phone_hint(host, port, os.environ["ALLIANCE_BASE_URL"])
    if hint:
        err.print(hint, soft_wrap=True)
    run_workers(host, port, workers)


def run_workers(host: str, port: int, workers: int) -> None:
    """uvicorn with the settings' logging in every worker, our access line instead of
    uvicorn's (which has addresses and paths), and the workers' metrics summed in a private
    folder that lives as long as this command."""
    import tempfile  # noqa: PLC0415

    import uvicorn  # noqa: PLC0415 - loaded only when serving

    settings = Settings()
    with tempfile.TemporaryDirectory(prefix="alliance-metrics-") as metrics:
        # prometheus_client reads this when first imported: before the app's modules are
        os.environ["PROMETHEUS_MULTIPROC_DIR"] = metrics
        from alliance.web.observability import logging_config  # noqa: PLC0415

        uvicorn.run(
            "alliance.web.app:worker_app",
            factory=True,
            host=host,
            port=port,
            workers=workers,
            log_config=logging_config(settings),
            log_level=settings.log_level,
            access_log=False,
            proxy_headers=False,  # the app believes only ALLIANCE_TRUSTED_PROXIES
        )


AUDIT_KEY = "ALLIANCE_AUDIT_KEY"
KeyFileOption = Annotated[
    Path | None,
    typer.Option(
        "--key-file",
        envvar="ALLIANCE_AUDIT_KEY_FILE",
        help="A file holding the checkpoint key (or set ALLIANCE_AUDIT_KEY); keep it off the "
        "database's machine and out of its backups.",
        exists=True,
        dir_okay=False,
    ),
]


def _audit_key(key_file: Path | None) -> bytes | None:
    """The checkpoint key from ``--key-file`` / ALLIANCE_AUDIT_KEY_FILE or ALLIANCE_AUDIT_KEY."""
    text = key_file.read_text(encoding="utf-8") if key_file else os.environ.get(AUDIT_KEY, "")
    key = text.strip().encode()
    if key_file is None and not key:
        return None
    if len(key) < 16:
        fail("the audit checkpoint key must have at least 16 characters")
    return key


@audit_app.command("verify")
def audit_verify(
    against: Annotated[
        Path | None,
        typer.Option(
            "--against",
            help="A file of checkpoints (one per line, as `alliance audit checkpoint` prints "
            "them): the trail must still hold every event each of them saw.",
            exists=True,
            dir_okay=False,
        ),
    ] = None,
    key_file: KeyFileOption = None,
    database: DatabaseOption = None,
) -> None:
    """Check the audit trail's hash chain; name the first broken event. With --against, also
    detect events deleted from the end (with the heads rolled back) since each checkpoint."""
    points: list[audit.Checkpoint] = []
    if against is not None:
        lines = against.read_text(encoding="utf-8").splitlines()
        for number, line in enumerate(lines, start=1):
            if line.strip():
                try:
                    points.append(audit.Checkpoint.parse(line.strip()))
                except ValueError as exc:
                    fail(f"{against}, line {number}: {exc}")
        if not points:
            fail(f"{against} holds no checkpoint")
    key = _audit_key(key_file)
    with _session(database) as db:
        result = audit.verify(db, checkpoints=points, key=key)
    if result.ok:
        out.print(result.describe())
        if any(p.signature is None for p in points):
            err.print("note: unsigned checkpoints are only as safe as the place they were kept")
        return
    fail(result.describe())


@audit_app.command("checkpoint")
def audit_checkpoint(key_file: KeyFileOption = None, database: DatabaseOption = None) -> None:
    """Print a checkpoint of the audit trail (one line): every chain's length and a digest of
    its last event, signed with HMAC-SHA256 under the key when one is given. Keep it outside
    the database (another machine, a mail to a second address); `alliance audit verify
    --against FILE` then notices events deleted from the end since."""
    key = _audit_key(key_file)
    with _session(database) as db:
        point = audit.checkpoint(db, key=key)
    sys.stdout.write(point.text() + "\n")
    if key is None:
        err.print(
            "unsigned: keep this line where nobody who can write to the database can change it"
        )


DEMO_FILE = "alliance-demo.sqlite3"


def demo_command(
    host: Annotated[str, typer.Option(help="Address to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port to listen on.")] = 8000,
    serve: Annotated[bool, typer.Option(help="Serve after creating the demo.")] = True,
) -> None:
    """Create a demo clinic (synthetic clients, ratings, ruptures and risk answers), print the
    address and logins, and serve it. Uses ALLIANCE_DATABASE_URL when set (adding the demo
    organization once), otherwise a fresh demo file in this folder."""
    from rich.progress import Progress  # noqa: PLC0415 - only the demo needs it

    from alliance.demo import PASSWORD, seed  # noqa: PLC0415 - pulls in the simulator

    url = os.environ.get("ALLIANCE_DATABASE_URL")
    from_env = bool(url)
    if not url:
        Path(DEMO_FILE).unlink(missing_ok=True)
        for suffix in ("-wal", "-shm", "-writer"):
            Path(DEMO_FILE + suffix).unlink(missing_ok=True)
        url = f"sqlite:///{DEMO_FILE}"
    base_url = os.environ.get("ALLIANCE_BASE_URL") or public_address(host, port)
    engine = make_engine(url)
    try:
        migrate.upgrade(engine)
        sessions = session_factory(engine)
        audit.install(sessions)
        with Progress(console=err, transient=True) as progress:
            task = progress.add_task("creating the demo clinic", total=None)
            logins = seed(
                sessions,
                default_registry(),
                base_url=base_url,
                progress=lambda n, total: progress.update(task, completed=n, total=total),
            )
    except Exception as exc:  # the driver's or simulator's own error says why
        fail(f"cannot create the demo in {_describe(url)}: {exc}")
    finally:
        engine.dispose()
    if serve:
        heading = f"open [link={base_url}/]{base_url}/[/link]"
    else:
        command = "alliance serve" if from_env else f"alliance serve --database {escape(url)}"
        heading = f"created, not served (serve it with: {command})"
    out.print(
        f"\n[bold]alliance demo[/] — {heading} (database {_describe(url)})\n",
        soft_wrap=True,  # addresses stay whole when the output is not a terminal
    )
    out.print(f"Every demo login has the password [bold]{PASSWORD}[/]:", soft_wrap=True)
    for username, name, alerts in logins.clinicians:
        out.print(f"  {username:<14} clinician ({name}; {alerts})", soft_wrap=True)
    for username in logins.supervisors:
        out.print(f"  {username:<14} supervisor", soft_wrap=True)
    out.print(f"  {logins.admin:<14} admin", soft_wrap=True)
    out.print(f"  {logins.researcher:<14} researcher (de-identified exports only)", soft_wrap=True)
    if logins.form_link:
        out.print(
            f"\nA client's form, as a phone would open it: {logins.form_link}", soft_wrap=True
        )
    hint = phone_hint(host, port, base_url)
    if hint:
        out.print(hint, soft_wrap=True)
    if not serve:
        return
    os.environ["ALLIANCE_DATABASE_URL"] = url
    os.environ.setdefault("ALLIANCE_BASE_URL", base_url)
    run_workers(host, port, 1)


def remind_command(database: DatabaseOption = None) -> None:
    """Mail one reminder for each e-mailed client link still unused after
    ALLIANCE_REMINDER_HOURS (run it from cron, e.g. hourly)."""
    from alliance.services.mail import SmtpMailer  # noqa: PLC0415
    from alliance.services.records.links import send_reminders  # noqa: PLC0415

    settings = _settings(database)
    mailer = SmtpMailer.from_settings(settings)
    if mailer is None:
        fail("no mail server is configured (ALLIANCE_SMTP_HOST)")
    with _session(database) as db:
        sent = send_reminders(
            db,
            default_registry(settings.instruments_dir),
            mailer,
            base_url=settings.base_url,
            after_hours=settings.reminder_hours,
            link_hours=settings.link_hours,
        )
        db.commit()
    out.print(f"Sent {sent} reminder{'s' if sent != 1 else ''}.")
