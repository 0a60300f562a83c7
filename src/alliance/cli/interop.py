"""File-to-file interoperability commands: ``alliance fhir …``, ``alliance redcap …`` and
``alliance deidentify``. They read and write files only; exports from and imports into the
clinic's database are the service's ``alliance export`` / ``alliance import``."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Annotated

import typer
import yaml

from alliance.cli.common import DefinitionsOption, err, fail, load_registry
from alliance.files import TableFileError, table_format, write_private
from alliance.instruments.model import Instrument
from alliance.instruments.registry import DefinitionError, Registry
from alliance.instruments.wording import Wording, load_pack, resolve
from alliance.interop import fhir
from alliance.interop.deidentify import deidentify
from alliance.interop.fhir_import import parse_questionnaire_response, read_bundle
from alliance.interop.redcap import (
    data_dictionary,
    default_mapping,
    dictionary_csv,
    read_records,
)
from alliance.interop.report import ImportReport, RejectedImportError
from alliance.interop.tabular import (
    read_administrations,
    write_administrations,
    write_research,
)
from alliance.interop.tidy import scores_long
from alliance.interop.wide import check_wide, from_wide, to_wide
from alliance.text import counted

fhir_app = typer.Typer(
    add_completion=False,
    help="FHIR R4 resources: Questionnaires, Bundles, imports.",
    no_args_is_help=True,
)
redcap_app = typer.Typer(
    add_completion=False, help="REDCap data dictionaries and records imports.", no_args_is_help=True
)

InstrumentArg = Annotated[str, typer.Argument(metavar="ID", help="Instrument id, e.g. wai-sr.")]
VersionOption = Annotated[str | None, typer.Option(help="Version (default: newest).")]
OutputOption = Annotated[
    Path | None, typer.Option("-o", "--output", dir_okay=False, help="Write here (default: print).")
]
BaseUrlOption = Annotated[
    str, typer.Option("--base-url", help="Base of the canonical URLs and code systems.")
]


def _instrument(registry: Registry, instrument_id: str, version: str | None) -> Instrument:
    try:
        return registry.get(instrument_id, version)
    except KeyError as exc:
        fail(exc.args[0])


def _emit(text: str, output: Path | None, what: str) -> None:
    if output is None:
        sys.stdout.write(text if text.endswith("\n") else text + "\n")
        return
    if output.exists():
        fail(f"{output} exists; choose another name or remove it first")
    write_private(output, text)
    err.print(f"Wrote {what} to {output}")


def _fail_report(report: ImportReport) -> None:
    fail(report.summary(limit=50))


@fhir_app.command("questionnaire")
def questionnaire_command(
    instrument_id: InstrumentArg,
    version: VersionOption = None,
    wording: Annotated[
        Path | None,
        typer.Option(
            help="A wording pack (YAML) to take item texts and language from.",
            exists=True,
            dir_okay=False,
        ),
    ] = None,
    base_url: BaseUrlOption = fhir.DEFAULT_BASE_URL,
    output: OutputOption = None,
    definitions: DefinitionsOption = None,
) -> None:
    """Write an instrument as a FHIR R4 Questionnaire (JSON), with the project's labels
    unless a wording pack is given."""
    registry = load_registry(definitions)
    inst = _instrument(registry, instrument_id, version)
    words: Wording | None = None
    if wording is not None:
        try:
            pack = load_pack(wording, registry)
        except DefinitionError as exc:
            fail(str(exc))
        words = resolve(inst, [pack], language=pack.language, perspective=pack.perspective)
    resource = fhir.questionnaire(inst, words, base_url=base_url)
    _emit(fhir.to_json(resource) + "\n", output, f"the {inst.id} {inst.version} Questionnaire")


@fhir_app.command("bundle")
def bundle_command(
    file: Annotated[
        Path,
        typer.Argument(
            help="Administrations table (.csv or .parquet).", exists=True, dir_okay=False
        ),
    ],
    client: Annotated[str, typer.Option(help="The client whose record to bundle.")],
    base_url: BaseUrlOption = fhir.DEFAULT_BASE_URL,
    output: OutputOption = None,
    definitions: DefinitionsOption = None,
) -> None:
    """Write one client's administrations and scores from a table as a FHIR Bundle."""
    registry = load_registry(definitions)
    table, report = read_administrations(file, registry)
    if not report.ok:
        _fail_report(report)
    mine = table[table["client"] == client]
    if mine.empty:
        fail(f"{file} has no administrations of client {client!r}")
    bundle = fhir.bundle(client, from_wide(mine, registry), registry, base_url=base_url)
    _emit(fhir.to_json(bundle) + "\n", output, f"a Bundle of {len(mine)} administrations")


@fhir_app.command("import")
def fhir_import_command(
    file: Annotated[
        Path,
        typer.Argument(
            help="A Bundle or QuestionnaireResponse (JSON).", exists=True, dir_okay=False
        ),
    ],
    output: Annotated[
        Path, typer.Option("-o", "--output", dir_okay=False, help=".csv or .parquet")
    ],
    episode: Annotated[str | None, typer.Option(help="Episode, for responses without one.")] = None,
    session: Annotated[
        int | None, typer.Option(help="Session, for a response without one.")
    ] = None,
    client: Annotated[
        str | None,
        typer.Option(
            help="The client's code: of every response, or with --identifier of the responses "
            "whose patient has that identifier."
        ),
    ] = None,
    identifier: Annotated[
        str | None,
        typer.Option(
            help="<system>|<value>: the patient's identifier in the sending system (an EHR's "
            "MRN), matched to --client."
        ),
    ] = None,
    base_url: BaseUrlOption = fhir.DEFAULT_BASE_URL,
    definitions: DefinitionsOption = None,
) -> None:
    """Read the QuestionnaireResponses of a FHIR file into an administrations table.
    --episode and --session apply to every response, of a Bundle too."""
    registry = load_registry(definitions)
    matched: dict[str, str] = {}
    if identifier is not None:
        system, sep, value = identifier.partition("|")
        if not (sep and system.strip() and value.strip()) or not client:
            fail("--identifier is <system>|<value>, given with --client <code>")
        matched = {f"{system.strip()}|{value.strip()}": str(client)}
    every = None if matched else client
    text = file.read_bytes()
    try:
        kind = json.loads(text).get("resourceType")
    except (json.JSONDecodeError, UnicodeDecodeError, AttributeError):
        fail(f"{file}: not a FHIR JSON resource")
    if kind == "Bundle":
        records, report = read_bundle(
            text,
            registry,
            base_url=base_url,
            client=every,
            episode=episode,
            session=session,
            identifiers=matched,
        )
        if not report.ok:
            _fail_report(report)
    else:
        try:
            records = [
                parse_questionnaire_response(
                    text,
                    registry,
                    base_url=base_url,
                    client=every,
                    episode=episode,
                    session=session,
                    identifiers=matched,
                )
            ]
        except RejectedImportError as exc:
            _fail_report(exc.report)
    _write_table(to_wide(records), output, registry)


def _write_table(table: object, output: Path, registry: Registry) -> None:
    clean, problems = check_wide(table, registry)
    if problems:
        fail("\n".join(str(p) for p in problems[:50]))
    if output.exists():
        fail(f"{output} exists; choose another name or remove it first")
    try:
        table_format(output)
        book = write_administrations(clean, output, registry)
    except TableFileError as exc:
        fail(str(exc))
    err.print(f"Wrote {len(clean):,} administrations to {output} (codebook: {book.name})")


@redcap_app.command("dictionary")
def dictionary_command(
    instrument_id: InstrumentArg,
    version: VersionOption = None,
    no_record_id: Annotated[
        bool, typer.Option("--no-record-id", help="Leave out record_id (to add to a project).")
    ] = False,
    output: OutputOption = None,
    mapping_out: Annotated[
        Path | None,
        typer.Option(
            "--mapping-out",
            dir_okay=False,
            help="Also write the mapping (YAML) that imports this project's records export.",
        ),
    ] = None,
    definitions: DefinitionsOption = None,
) -> None:
    """Write an instrument as a REDCap data dictionary (CSV) to upload in Project Setup; its
    form holds the session number and date beside the items, so the project's records
    export imports back (``--mapping-out`` writes the mapping for that)."""
    inst = _instrument(load_registry(definitions), instrument_id, version)
    text = dictionary_csv(data_dictionary(inst, record_id=not no_record_id))
    if mapping_out is not None:
        mapping_out.write_text(
            "# The fields of a records export of a project built from the alliance data\n"
            "# dictionary (alliance redcap import --mapping this-file).\n"
            + yaml.safe_dump(default_mapping(inst), sort_keys=False),
            encoding="utf-8",
        )
        err.print(f"Wrote the mapping for its records export to {mapping_out}")
    _emit(text, output, f"the {inst.id} {inst.version} REDCap data dictionary")


@redcap_app.command("import")
def redcap_import_command(
    file: Annotated[
        Path,
        typer.Argument(help="REDCap records export (CSV, raw data).", exists=True, dir_okay=False),
    ],
    mapping: Annotated[
        Path,
        typer.Option(
            help="Mapping file (YAML): which fields hold what.", exists=True, dir_okay=False
        ),
    ],
    output: Annotated[
        Path, typer.Option("-o", "--output", dir_okay=False, help=".csv or .parquet")
    ],
    definitions: DefinitionsOption = None,
) -> None:
    """Read a REDCap records export into an administrations table with its codebook."""
    registry = load_registry(definitions)
    try:
        table, report = read_records(file, mapping, registry)
    except ValueError as exc:
        fail(str(exc))
    if not report.ok:
        _fail_report(report)
    err.print(report.summary())
    _write_table(table, output, registry)


def deidentify_command(
    file: Annotated[
        Path,
        typer.Argument(
            help="Administrations table (.csv or .parquet).", exists=True, dir_okay=False
        ),
    ],
    output: Annotated[
        Path, typer.Option("-o", "--output", dir_okay=False, help=".csv or .parquet")
    ],
    study_key_file: Annotated[
        Path | None,
        typer.Option(
            help="A file holding the study's secret key, to link exports.",
            exists=True,
            dir_okay=False,
        ),
    ] = None,
    date_mode: Annotated[str, typer.Option(help="shift (per-client offset) or days.")] = "shift",
    k: Annotated[
        int,
        typer.Option(
            min=1,
            help="Every combination of quasi-identifiers describes at least k clients "
            "(generalised, else suppressed); smaller cells are listed. 1: no protection.",
        ),
    ] = 5,
    definitions: DefinitionsOption = None,
) -> None:
    """Write the de-identified research version of an administrations table and its scores
    (<name>.scores.csv), with codebooks and a summary (<name>.summary.json) that lists the
    dropped columns and the small cells. Columns other than the administrations table's
    (names, e-mail addresses, dates of birth, notes) are dropped and named."""
    registry = load_registry(definitions)
    table, report = read_administrations(file, registry, drop_unknown=True)
    if not report.ok:
        fail(report.summary(limit=50, refused="nothing written"))
    if output.exists():
        fail(f"{output} exists; choose another name or remove it first")
    key = study_key_file.read_text(encoding="utf-8").strip() if study_key_file else None
    try:
        export = deidentify(
            table,
            scores_long(table, registry),
            study_key=key,
            date_mode=date_mode,  # type: ignore[arg-type]
            min_cell=k,
            k=k,
            dropped=report.dropped,
        )
        table_format(output)
    except (ValueError, TableFileError) as exc:
        fail(str(exc))
    written = write_research(export, output, registry)
    dropped = report.dropped
    err.print(
        f"Wrote {counted(len(export.administrations), 'de-identified administration')} of "
        f"{counted(export.summary.clients, 'client')} to {output}; "
        + (
            f"dropped {counted(len(dropped), 'column')} of the file: {', '.join(dropped)}; "
            if dropped
            else ""
        )
        + f"k = {k}: {counted(export.summary.protection.get('clients_suppressed', 0), 'client')} "
        f"suppressed; {counted(len(export.summary.small_cells), 'small cell')} listed in "
        f"{written[-1].name}"
    )
