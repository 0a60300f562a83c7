"""Exports from and imports into the clinic's database: ``alliance export fhir | tables |
research``, ``alliance study add | list`` and ``alliance import``. The command line acts for
the installation on the organization it names; every export and import writes its audit
events."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from alliance.cli.clinic import DatabaseOption, database_session
from alliance.cli.common import DefinitionsOption, err, fail, load_registry, out
from alliance.config import Settings
from alliance.files import write_private
from alliance.interop import fhir
from alliance.interop.sources import SOURCE_FORMATS
from alliance.services.accounts import people
from alliance.services.context import Actor
from alliance.services.errors import ImportRejected, ServiceError
from alliance.services.exchange import exports, imports, studies
from alliance.services.monitoring.analysis import refresh_alerts
from alliance.services.records import clients
from alliance.store.models import Study
from alliance.text import counted

export_app = typer.Typer(
    add_completion=False,
    help="Exports from the clinic's database (FHIR, tables, research).",
    no_args_is_help=True,
)

OrgOption = Annotated[str, typer.Option("--org", help="The organization's name.")]
OutputOption = Annotated[Path, typer.Option("-o", "--output", dir_okay=False, help="Write here.")]
BaseUrlOption = Annotated[
    str | None,
    typer.Option(
        "--base-url",
        envvar="ALLIANCE_BASE_URL",
        help="The service's public address; FHIR canonical URLs are <base-url>/api/v1/fhir/….",
    ),
]


NO_BASE = (
    "the site's public address is not set: FHIR canonical URLs, identifier systems and "
    "resource addresses are made from it and must stay the same for good. Set "
    "ALLIANCE_BASE_URL=https://<the service's public address> (as the service has it), or "
    "pass --base-url"
)


def _base(base_url: str | None) -> str:
    return base_url or Settings().base_url


def _export_base(base_url: str | None) -> str:
    """The base a FHIR export names its resources by: required, never a guess."""
    if base_url:
        return base_url
    settings = Settings()
    if not settings.base_url_given:
        fail(NO_BASE)
    return settings.base_url


def _free(*paths: Path) -> None:
    for path in paths:
        if path.exists():
            fail(f"{path} exists; choose another name or remove it first")


def _service_failure(exc: ServiceError) -> None:
    fail(f"{exc.field + ': ' if exc.field else ''}{exc.message}")


@export_app.command("fhir")
def export_fhir(
    client: Annotated[str, typer.Option(help="The client's code.")],
    organization: OrgOption,
    output: OutputOption,
    contact: Annotated[
        bool, typer.Option(help="Add the client's name and contact details to the Patient.")
    ] = False,
    base_url: BaseUrlOption = None,
    database: DatabaseOption = None,
    definitions: DefinitionsOption = None,
) -> None:
    """Write a client's whole record as a FHIR R4 Bundle (JSON). Needs the site's public
    address (ALLIANCE_BASE_URL or --base-url): the resources are named by it."""
    base = _export_base(base_url)
    registry = load_registry(definitions)
    _free(output)
    with database_session(database) as db:
        try:
            org = people.organization_named(db, organization)
            actor = Actor.system(org.id)
            found = clients.find_client(db, actor, client)
            bundle = exports.client_bundle(
                db, actor, registry, found.id, base_url=base, contact=contact
            )
        except ServiceError as exc:
            _service_failure(exc)
        write_private(output, fhir.to_json(bundle) + "\n")
        db.commit()
    kinds = [e.resource.get_resource_type() for e in bundle.entry or [] if e.resource]
    responses = kinds.count("QuestionnaireResponse")
    out.print(
        f"Wrote the record of {client} ({responses} administrations) to {output}", soft_wrap=True
    )


@export_app.command("tables")
def export_tables(
    organization: OrgOption,
    output: Annotated[
        Path,
        typer.Option(
            "-o",
            "--output",
            dir_okay=False,
            help="The administrations table (.csv or .parquet); the scores go beside it.",
        ),
    ],
    database: DatabaseOption = None,
    definitions: DefinitionsOption = None,
) -> None:
    """Write the organization's current administrations (wide, one row each) and scores
    (tidy long, <name>.scores.csv), each with its codebook."""
    registry = load_registry(definitions)
    if output.suffix.lower() not in (".csv", ".parquet"):
        fail(f"{output}: use a .csv or .parquet file name")
    scores = output.with_name(f"{output.stem}.scores{output.suffix}")
    _free(output, scores)
    with database_session(database) as db:
        try:
            org = people.organization_named(db, organization)
            held = exports.export_holdings(db, Actor.system(org.id), registry)
        except ServiceError as exc:
            _service_failure(exc)
        written = exports.write_tables(held, output, registry)
        db.commit()
    out.print(
        f"Wrote {counted(len(held.records), 'administration')} of "
        f"{counted(held.clients, 'client')}, "
        f"{len(held.scores):,} scores and {len(held.events):,} care events: "
        f"{', '.join(p.name for p in written)}",
        soft_wrap=True,
    )


@export_app.command("research")
def export_research(
    organization: OrgOption,
    study: Annotated[str, typer.Option(help="The study (its name or id; `alliance study list`).")],
    output: Annotated[
        Path, typer.Option("-o", "--output", dir_okay=False, help="The zip file to write.")
    ],
    database: DatabaseOption = None,
    definitions: DefinitionsOption = None,
) -> None:
    """Write the de-identified research export of the organization for a study: a zip of CSV
    tables, codebooks and a summary of what was done to them."""
    registry = load_registry(definitions)
    _free(output)
    with database_session(database) as db:
        try:
            org = people.organization_named(db, organization)
            export = exports.research_export(db, Actor.system(org.id), registry, study=study)
        except ServiceError as exc:
            _service_failure(exc)
        write_private(output, exports.research_zip(export, registry))
        db.commit()
    summary = export.summary
    out.print(
        f"Wrote {counted(len(export.administrations), 'de-identified administration')} of "
        f"{counted(summary.clients, 'client')} to {output}; "
        f"{counted(len(summary.small_cells), 'small cell')} listed in research.summary.json",
        soft_wrap=True,
    )


study_app = typer.Typer(
    add_completion=False,
    help="Research studies (their exports' settings and secret).",
    no_args_is_help=True,
)


@study_app.command("add")
def study_add(
    name: Annotated[str, typer.Argument(help="The study's name.")],
    organization: OrgOption,
    date_mode: Annotated[str, typer.Option(help="shift (per-client offset) or days.")] = "shift",
    k: Annotated[int, typer.Option(help="The smallest group of clients an export describes.")] = 5,
    max_shift_days: Annotated[int, typer.Option(help="The largest date offset.")] = 182,
    database: DatabaseOption = None,
) -> None:
    """Add a study; the service makes and keeps its secret (it is never printed)."""
    with database_session(database) as db:
        try:
            org = people.organization_named(db, organization)
            made = studies.create_study(
                db,
                Actor.system(org.id),
                name,
                date_mode=date_mode,
                k=k,
                max_shift_days=max_shift_days,
            )
            db.commit()
        except ServiceError as exc:
            _service_failure(exc)
        out.print(f"Added study {made.name!r} ({made.id}): {_settings(made)}.", soft_wrap=True)


@study_app.command("list")
def study_list(organization: OrgOption, database: DatabaseOption = None) -> None:
    """List the organization's studies and their settings."""
    with database_session(database) as db:
        try:
            org = people.organization_named(db, organization)
            found = studies.list_studies(db, Actor.system(org.id))
            db.commit()
        except ServiceError as exc:
            _service_failure(exc)
        for study in found:
            out.print(f"{study.name}\t{study.id}\t{_settings(study)}", soft_wrap=True)
        if not found:
            err.print(f"no study in {organization!r}; add one with `alliance study add`")


def _settings(study: Study) -> str:
    dates = (
        f"dates shifted by up to {study.max_shift_days} days"
        if study.date_mode == "shift"
        else "days since the episode's start"
    )
    return f"{dates}, k = {study.k}"


def import_command(
    file: Annotated[
        Path,
        typer.Argument(
            help="CSV, Parquet, REDCap export or FHIR JSON.", exists=True, dir_okay=False
        ),
    ],
    organization: OrgOption,
    format: Annotated[str, typer.Option("--format", help=" | ".join(SOURCE_FORMATS))] = "auto",
    mapping: Annotated[
        Path | None,
        typer.Option(help="REDCap mapping file (YAML).", exists=True, dir_okay=False),
    ] = None,
    clinician: Annotated[
        str | None,
        typer.Option(
            help="Username of the clinician new clients and episodes go to (default: the "
            "clinician each row names)."
        ),
    ] = None,
    base_url: BaseUrlOption = None,
    database: DatabaseOption = None,
    definitions: DefinitionsOption = None,
) -> None:
    """Import administrations into the organization, all or nothing: a file with any bad row
    stores nothing and every problem is listed. Clients, episodes and sessions are created
    as needed; answers are scored and risk answers alerted as for any submission; importing
    the same file again stores nothing twice."""
    registry = load_registry(definitions)
    with database_session(database) as db:
        try:
            org = people.organization_named(db, organization)
            _, result = imports.import_file(
                db,
                Actor.system(org.id),
                registry,
                file,
                format=format,
                mapping=mapping,
                base_url=_base(base_url),
                name=file.name,
                clinician=clinician,
            )
        except ImportRejected as exc:
            db.rollback()
            lines = [exc.message, *(f"  {p}" for p in exc.problems[:100])]
            if len(exc.problems) > 100:
                lines.append(f"  … {len(exc.problems) - 100:,} more")
            fail("\n".join(lines))
        except ServiceError as exc:
            db.rollback()
            _service_failure(exc)
        db.commit()
        opened = 0
        for client_id in result.client_ids:
            opened += refresh_alerts(db, registry, client_id)
            db.commit()
    err.print(result.summary(), soft_wrap=True)
    if opened:
        err.print(f"{counted(opened, 'alert')} opened by the analysis of the imported ratings")
