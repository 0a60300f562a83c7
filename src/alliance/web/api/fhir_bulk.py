"""FHIR Bulk Data Access ``$export`` (system and patient level) under ``/api/v1/fhir``:
kick-off (``Prefer: respond-async`` → 202 and ``Content-Location``), status (202 while
running, then the manifest), NDJSON downloads and deletion, all for the person who asked
(:mod:`alliance.services.exchange.fhir_bulk`)."""

from __future__ import annotations

import hashlib
import tempfile
from pathlib import Path
from typing import Annotated

from fastapi import APIRouter, BackgroundTasks, Header, Request
from fastapi.responses import FileResponse, JSONResponse, Response

from alliance.services.errors import ServiceError
from alliance.services.exchange import fhir_bulk
from alliance.services.exchange.tables import fhir_base
from alliance.web.api.deps import ActorDep, ClinicDep, DbDep
from alliance.web.clinic import Clinic

router = APIRouter(prefix="/fhir", tags=["fhir"])


def jobs_dir(clinic: Clinic) -> Path:
    """One folder of export jobs per database, shared by the service's workers."""
    key = hashlib.sha256(clinic.settings.database_url.encode()).hexdigest()[:16]
    return Path(tempfile.gettempdir()) / f"alliance-bulk-{key}"


def _kick_off(
    request: Request,
    actor: ActorDep,
    clinic: ClinicDep,
    background: BackgroundTasks,
    prefer: str | None,
) -> Response:
    if "respond-async" not in (prefer or ""):
        raise ServiceError(
            "a bulk export is asynchronous: send Prefer: respond-async",
            field="Prefer",
            allowed="respond-async",
        )
    jobs = jobs_dir(clinic)
    params = request.query_params
    job_id = fhir_bulk.kick_off(
        jobs,
        actor,
        request_url=str(request.url),
        types=params.get("_type"),
        output_format=params.get("_outputFormat"),
        since=params.get("_since"),
    )
    background.add_task(
        fhir_bulk.run,
        jobs,
        job_id,
        clinic.sessions,
        actor,
        clinic.registry,
        base_url=clinic.settings.base_url,
    )
    status = f"{fhir_base(clinic.settings.base_url)}/$export-status/{job_id}"
    return Response(status_code=202, headers={"Content-Location": status})


@router.get("/$export", status_code=202)
def export_system(
    request: Request,
    actor: ActorDep,
    clinic: ClinicDep,
    background: BackgroundTasks,
    prefer: Annotated[str | None, Header()] = None,
) -> Response:
    """Kick off a bulk export of the clients you may see (``_type``, ``_outputFormat``)."""
    return _kick_off(request, actor, clinic, background, prefer)


@router.get("/Patient/$export", status_code=202)
def export_patients(
    request: Request,
    actor: ActorDep,
    clinic: ClinicDep,
    background: BackgroundTasks,
    prefer: Annotated[str | None, Header()] = None,
) -> Response:
    """Kick off a patient-level bulk export (the same clients: those you may see)."""
    return _kick_off(request, actor, clinic, background, prefer)


@router.get("/$export-status/{job_id}")
def export_status(job_id: str, actor: ActorDep, clinic: ClinicDep) -> Response:
    """202 while the export runs; then its manifest (one NDJSON file per type)."""
    job = fhir_bulk.job_of(jobs_dir(clinic), actor, job_id)
    if job["status"] == "in-progress":
        return Response(status_code=202, headers={"X-Progress": "in-progress", "Retry-After": "1"})
    if job["status"] != "complete":
        raise ServiceError(f"the export failed ({job.get('error', 'unknown')})", field="job")
    base = fhir_base(clinic.settings.base_url)
    manifest = {
        "transactionTime": job["transactionTime"],
        "request": job["request"],
        "requiresAccessToken": True,
        "output": [
            {
                "type": o["type"],
                "url": f"{base}/$export-file/{job_id}/{o['file']}",
                "count": o["count"],
            }
            for o in job["output"]
        ],
        "error": [],
    }
    return JSONResponse(manifest)


@router.delete("/$export-status/{job_id}", status_code=202)
def export_delete(job_id: str, actor: ActorDep, clinic: ClinicDep) -> Response:
    """Delete the export and its files."""
    fhir_bulk.delete(jobs_dir(clinic), actor, job_id)
    return Response(status_code=202)


@router.get("/$export-file/{job_id}/{name}")
def export_file(job_id: str, name: str, db: DbDep, actor: ActorDep, clinic: ClinicDep) -> Response:
    """One NDJSON file of the export (``application/fhir+ndjson``)."""
    path = fhir_bulk.file_of(db, jobs_dir(clinic), actor, job_id, name)
    db.commit()
    return FileResponse(path, media_type="application/fhir+ndjson")
