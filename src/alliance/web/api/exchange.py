"""Exports, imports and FHIR: a client's Bundle, the organization's tables, the research
export, file imports, Questionnaires and incoming QuestionnaireResponses."""

from __future__ import annotations

import re
import shutil
import tempfile
from pathlib import Path
from typing import Annotated, Any, Literal

from fastapi import APIRouter, BackgroundTasks, Body, File, Header, Query, UploadFile
from fastapi.responses import JSONResponse, Response
from starlette.datastructures import UploadFile as StarletteUpload

from alliance.interop import fhir
from alliance.records import LAST_SESSION
from alliance.services.errors import Invalid
from alliance.services.exchange import exports, fhir_rest, imports, studies
from alliance.services.exchange import fhir as fhir_service
from alliance.services.exchange.tables import fhir_base
from alliance.store.models import Study
from alliance.web.api.deps import ActorDep, ClinicDep, DbDep
from alliance.web.api.schemas import (
    ImportOut,
    ResearchExportIn,
    StudyIn,
    StudyPublic,
)
from alliance.web.clinic import after_submission, analyse, send_alert_messages

router = APIRouter(tags=["exchange"])
FHIR_JSON = "application/fhir+json"
UPLOAD_SUFFIXES = (".csv", ".parquet", ".pq", ".json")
COPY_CHUNK = 1024 * 1024


def _download(content: bytes, media_type: str, filename: str) -> Response:
    return Response(
        content,
        media_type=media_type,
        headers={"Content-Disposition": f'attachment; filename="{filename}"'},
    )


@router.get("/clients/{client_id}/fhir", response_class=JSONResponse)
def client_bundle(
    client_id: str, db: DbDep, actor: ActorDep, clinic: ClinicDep, contact: bool = False
) -> Response:
    """The client's whole record as a FHIR R4 Bundle (``collection``): the Patient (the client
    code; name and contact details only with ``contact=true``, for the client's own
    clinicians), the Questionnaires used, every current administration as a
    QuestionnaireResponse and its scores as Observations."""
    bundle = exports.client_bundle(
        db,
        actor,
        clinic.registry,
        client_id,
        base_url=clinic.settings.base_url,
        contact=contact,
    )
    db.commit()
    return Response(fhir.to_json(bundle, indent=None), media_type=FHIR_JSON)


@router.get("/exports/tables")
def export_tables(
    db: DbDep, actor: ActorDep, clinic: ClinicDep, format: Literal["csv", "parquet"] = "csv"
) -> Response:
    """A zip of the administrations (wide) and scores (tidy long) of the clients you may see,
    each with its codebook."""
    held = exports.export_holdings(db, actor, clinic.registry)
    content = exports.tables_zip(held, clinic.registry, kind=format)
    db.commit()
    return _download(content, "application/zip", f"alliance-tables-{format}.zip")


@router.get("/studies", response_model=list[StudyPublic])
def list_studies(db: DbDep, actor: ActorDep) -> list[Study]:
    """The organization's studies (admins, and those who take research exports)."""
    found = studies.list_studies(db, actor)
    db.commit()
    return found


@router.post("/studies", response_model=StudyPublic, status_code=201)
def create_study(body: StudyIn, db: DbDep, actor: ActorDep) -> Study:
    """A new study with a secret made and kept by the service (admins only)."""
    study = studies.create_study(db, actor, **body.model_dump())
    db.commit()
    return study


@router.post("/exports/research")
def export_research(
    body: ResearchExportIn, db: DbDep, actor: ActorDep, clinic: ClinicDep
) -> Response:
    """The de-identified research export of a study (a zip of CSV files, codebooks and a
    summary): the organization's data for a researcher, the clients you may see for a
    clinician or supervisor. The same records give the same export each time."""
    export = exports.research_export(db, actor, clinic.registry, study=body.study)
    content = exports.research_zip(export, clinic.registry)
    db.commit()
    return _download(content, "application/zip", "alliance-research.zip")


def save_upload(
    upload: StarletteUpload, target: Path, field: str, allowed: tuple[str, ...]
) -> Path:
    """Keep an uploaded file under ``target`` with its own suffix (one of ``allowed``)."""
    suffix = Path(upload.filename or "").suffix.lower()
    if suffix not in allowed:
        raise Invalid(
            "unknown file type", field=field, value=upload.filename, allowed=", ".join(allowed)
        )
    # the upload is already on disk (the request body was spooled there, within the body
    # limit): copy it in chunks, never holding it in memory
    path = target.with_suffix(suffix)
    upload.file.seek(0)
    with path.open("wb") as out:
        shutil.copyfileobj(upload.file, out, COPY_CHUNK)
    return path


@router.post("/imports", response_model=ImportOut)
def import_file(
    file: Annotated[UploadFile, File(description="CSV, Parquet or FHIR JSON.")],
    db: DbDep,
    actor: ActorDep,
    clinic: ClinicDep,
    background: BackgroundTasks,
    mapping: Annotated[UploadFile | None, File(description="REDCap mapping (YAML).")] = None,
    format: Literal["auto", "wide", "tidy", "redcap", "fhir"] = "auto",
    clinician: str | None = None,
) -> ImportOut:
    """Import administrations from a file, all or nothing: a file with any bad row stores
    nothing and the answer (422, ``import_rejected``) lists every problem with its line,
    column, value and allowed values. Re-importing a file stores nothing twice."""
    shown = re.sub(r"[^\w.\- ]", "_", Path(file.filename or "upload").name)[:200]
    with tempfile.TemporaryDirectory(prefix="alliance-import-") as folder:
        path = save_upload(file, Path(folder) / "upload", "file", UPLOAD_SUFFIXES)
        rules = (
            save_upload(mapping, Path(folder) / "mapping", "mapping", (".yaml", ".yml"))
            if mapping is not None
            else None
        )
        source, result = imports.import_file(
            db,
            actor,
            clinic.registry,
            path,
            format=format,
            mapping=rules,
            base_url=clinic.settings.base_url,
            name=shown,
            clinician=clinician,
        )
    db.commit()
    background.add_task(send_alert_messages, clinic)
    for client_id in result.client_ids:
        background.add_task(analyse, clinic, client_id)
    return ImportOut(
        source=result.source,
        format=source.format,
        rows=result.rows,
        stored=result.stored,
        corrected=result.corrected,
        already_stored=result.already_stored,
        clients_created=result.clients_created,
        episodes_created=result.episodes_created,
        sessions_created=result.sessions_created,
        risk_alerts=result.risk_alerts,
        skipped=result.skipped,
        summary=result.summary(),
    )


@router.get("/fhir/Questionnaire/{instrument_id}", response_class=JSONResponse)
def questionnaire(
    instrument_id: str,
    db: DbDep,
    actor: ActorDep,
    clinic: ClinicDep,
    version: str | None = None,
    language: str | None = None,
    perspective: Literal["client", "clinician", "observer"] | None = None,
) -> Response:
    """An instrument as a FHIR R4 Questionnaire: the project's own short labels, or with
    ``language`` the site's wording pack for that language when one is loaded."""
    resource = fhir_service.questionnaire_resource(
        db,
        actor,
        clinic.registry,
        clinic.wording_packs,
        instrument_id,
        base_url=clinic.settings.base_url,
        version=version,
        language=language,
        perspective=perspective,
    )
    db.commit()
    return JSONResponse(resource, media_type=FHIR_JSON)


@router.post("/fhir/QuestionnaireResponse", status_code=201, response_class=JSONResponse)
def questionnaire_response(
    resource: Annotated[dict[str, Any], Body(description="A FHIR R4 QuestionnaireResponse.")],
    db: DbDep,
    actor: ActorDep,
    clinic: ClinicDep,
    background: BackgroundTasks,
    session_id: str | None = None,
    client: str | None = None,
    episode: str | None = None,
    session: Annotated[int | None, Query(ge=0, le=LAST_SESSION)] = None,
    perspective: Literal["client", "clinician", "observer"] | None = None,
    stance: Literal["self", "prediction"] | None = None,
    identifier: Annotated[
        str | None, Query(description="<system>|<value>: an EHR identifier of the client.")
    ] = None,
    if_none_exist: Annotated[str | None, Header(alias="If-None-Exist")] = None,
) -> Response:
    """FHIR create: store a QuestionnaireResponse written by another system, matched to the
    instrument by its canonical URL or LOINC form, validated, scored and stored for the
    session named by ``session_id`` (or an ``Encounter/<session id>`` reference), or by the
    client (``client``, ``identifier`` — an EHR's identifier added to the client — or the
    subject's identifier) and ``session`` number (docs/fhir.md). Answers 201 with the stored
    resource, ``Location`` and ``ETag``; the same response again, or one matching
    ``If-None-Exist: identifier=<system>|<value>``, answers 200 with the stored one."""
    base = fhir_base(clinic.settings.base_url)
    if if_none_exist:
        found = fhir_rest.existing_response(
            db, actor, clinic.registry, clinic.settings.base_url, if_none_exist
        )
        if found is not None:
            db.commit()
            return _created(found, base, status=200)
    result = fhir_service.receive_response(
        db,
        actor,
        clinic.registry,
        resource,
        base_url=clinic.settings.base_url,
        session_id=session_id,
        client=client,
        episode=episode,
        session=session,
        perspective=perspective,
        stance=stance,
        identifier=identifier,
    )
    stored = fhir_rest.stored_response(
        db, actor, clinic.registry, clinic.settings.base_url, result.administration.id
    )
    db.commit()
    if result.created:
        background.add_task(after_submission, clinic, result.client_id)
    return _created(stored, base, status=201 if result.created else 200)


def _created(resource: dict[str, Any], base: str, *, status: int) -> Response:
    headers = {"ETag": 'W/"1"'}
    if status == 201:
        headers["Location"] = f"{base}/QuestionnaireResponse/{resource['id']}/_history/1"
    return JSONResponse(resource, status_code=status, headers=headers, media_type=FHIR_JSON)
