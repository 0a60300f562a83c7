"""FHIR Bulk Data export (``$export``): the Patients, QuestionnaireResponses, Observations and
Provenances of the clients a person may see, as one NDJSON file per resource type.

A job is a folder (``<jobs>/<job id>/``, files 0600) holding ``job.json`` — who asked (only
they may see its status and files), when, what, and when it is ``complete`` — and the
NDJSON files. The kick-off writes the job as ``in-progress`` and :func:`run` fills it (the
web layer runs it after answering 202), so any worker of the service can answer the status
and the downloads. Resources are those of the FHIR interface (:mod:`.fhir_rest`), under its
access rules and audit; each download is audited too.
"""

from __future__ import annotations

import json
import os
import shutil
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

from sqlalchemy.orm import Session

from alliance.instruments.registry import Registry
from alliance.services import audit
from alliance.services.accounts.access import require_role
from alliance.services.context import Actor
from alliance.services.errors import Invalid, NotFound
from alliance.services.exchange import fhir_rest
from alliance.services.exchange.exports import IDENTIFIED_ROLES
from alliance.store.base import utcnow

TYPES = ("Patient", "QuestionnaireResponse", "Observation", "Provenance")
NDJSON = ("application/fhir+ndjson", "application/ndjson", "ndjson")
JOB_ID = 32  # hex characters of a job id


def _folder(jobs: Path, job_id: str) -> Path:
    if len(job_id) != JOB_ID or not all(c in "0123456789abcdef" for c in job_id):
        raise NotFound("no such export", field="job")
    return jobs / job_id


def _write(path: Path, text: str) -> None:
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as out:
        out.write(text)


def kick_off(
    jobs: Path,
    actor: Actor,
    *,
    request_url: str,
    types: str | None,
    output_format: str | None,
    since: str | None,
) -> str:
    """Check the request and record the job (``in-progress``); its id."""
    require_role(actor, *IDENTIFIED_ROLES)
    if output_format is not None and output_format not in NDJSON:
        raise Invalid("only NDJSON is written", field="_outputFormat", value=output_format,
                      allowed=", ".join(NDJSON))  # fmt: skip
    if since is not None:
        raise Invalid("_since is not supported: every export is the whole record", field="_since")
    chosen = [t.strip() for t in (types or ",".join(TYPES)).split(",") if t.strip()]
    unknown = [t for t in chosen if t not in TYPES]
    if unknown or not chosen:
        raise Invalid("not a type this export writes", field="_type", value=",".join(unknown),
                      allowed=", ".join(TYPES))  # fmt: skip
    job_id = uuid.uuid4().hex
    folder = jobs / job_id
    folder.mkdir(parents=True, mode=0o700)
    job = {
        "status": "in-progress",
        "user": actor.user_id,
        "organization": actor.organization_id,
        "request": request_url,
        "types": chosen,
        "transactionTime": utcnow().isoformat(),
    }
    _write(folder / "job.json", json.dumps(job))
    return job_id


def run(
    jobs: Path,
    job_id: str,
    sessions: Callable[[], Session],
    actor: Actor,
    registry: Registry,
    *,
    base_url: str,
) -> None:
    """Write the job's NDJSON files and mark it complete (or failed, with the reason)."""
    folder = jobs / job_id
    job = json.loads((folder / "job.json").read_text(encoding="utf-8"))
    with sessions() as db:
        try:
            resources = fhir_rest.clinical(db, actor, registry, base_url=base_url)
            output = []
            for kind in job["types"]:
                lines = [
                    json.dumps(r, separators=(",", ":"))
                    for r in resources
                    if r["resourceType"] == kind
                ]
                _write(folder / f"{kind}.ndjson", "".join(f"{line}\n" for line in lines))
                output.append({"type": kind, "file": f"{kind}.ndjson", "count": len(lines)})
            audit.record(db, actor, "export", "fhir_bulk", job_id,
                         counts={o["type"]: o["count"] for o in output})  # fmt: skip
            db.commit()
            job.update(status="complete", output=output)
        except Exception as exc:  # the job says it failed; the log has the rest
            job.update(status="failed", error=type(exc).__name__)
            raise
        finally:
            _write(folder / "job.json", json.dumps(job))


def job_of(jobs: Path, actor: Actor, job_id: str) -> dict[str, Any]:
    """The job, for the person who asked for it only (anyone else: not found)."""
    path = _folder(jobs, job_id) / "job.json"
    if not path.exists():
        raise NotFound("no such export", field="job")
    job: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    if (job["user"], job["organization"]) != (actor.user_id, actor.organization_id):
        raise NotFound("no such export", field="job")
    return job


def file_of(db: Session, jobs: Path, actor: Actor, job_id: str, name: str) -> Path:
    job = job_of(jobs, actor, job_id)
    files = {o["file"] for o in job.get("output", [])}
    if name not in files:
        raise NotFound("no such file in this export", field="file", value=name)
    audit.record(db, actor, "download", "fhir_bulk", job_id, file=name)
    return _folder(jobs, job_id) / name


def delete(jobs: Path, actor: Actor, job_id: str) -> None:
    job_of(jobs, actor, job_id)
    shutil.rmtree(_folder(jobs, job_id), ignore_errors=True)
