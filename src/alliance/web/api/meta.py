"""Instruments, the audit check and the health probe."""

from __future__ import annotations

from typing import Any

from alembic.runtime.migration import MigrationContext
from fastapi import APIRouter
from fastapi.responses import JSONResponse
from sqlalchemy.exc import SQLAlchemyError

from alliance.services import audit
from alliance.services.accounts.access import require_role
from alliance.services.errors import NotFound
from alliance.store import migrate
from alliance.store.engine import READ_ONLY
from alliance.web.api.deps import ActorDep, ClinicDep, DbDep

router = APIRouter(tags=["meta"])


@router.get("/health", response_model=None)
def health(clinic: ClinicDep) -> dict[str, Any] | JSONResponse:
    """Liveness, database reachability and the schema (no login needed): 200 with the schema
    revision when the database is at the one this code expects and its tables match the
    models; otherwise 503 saying what is wrong, so a load balancer stops sending requests."""
    try:
        with clinic.engine.connect().execution_options(**{READ_ONLY: True}) as connection:
            current = MigrationContext.configure(connection).get_current_revision()
    except SQLAlchemyError:
        return JSONResponse({"status": "error", "problem": "database unreachable"}, 503)
    expected = migrate.head_revision()
    if current != expected:
        problem = f"the database is at schema {current}, this code expects {expected}"
        body = {"status": "error", "schema": current, "expected": expected, "problem": problem}
        return JSONResponse(body, 503)
    differences = clinic.schema_differences
    if differences:
        problem = f"{len(differences)} difference(s) between the tables and the models"
        return JSONResponse({"status": "error", "schema": current, "problem": problem}, 503)
    return {"status": "ok", "schema": current}


@router.get("/instruments")
def list_instruments(clinic: ClinicDep) -> list[dict[str, Any]]:
    return [
        {
            "id": i.id,
            "version": i.version,
            "title": i.title,
            "kind": i.kind,
            "perspectives": list(i.perspectives),
            "items": len(i.items),
            "licence": i.licence.status,
            "scales": [{"id": s.id, "label": s.label, "computed": s.verified} for s in i.scales],
        }
        for i in clinic.registry
    ]


@router.get("/instruments/{instrument_id}")
def get_instrument(
    instrument_id: str, clinic: ClinicDep, version: str | None = None
) -> dict[str, Any]:
    """The whole definition: items (project labels), scales, rules and their sources."""
    try:
        inst = clinic.registry.get(instrument_id, version)
    except KeyError as exc:
        raise NotFound(str(exc.args[0]), field="instrument_id") from None
    return inst.model_dump(mode="json")


@router.get("/audit/verify")
def verify_audit(db: DbDep, actor: ActorDep) -> dict[str, Any]:
    """Recompute the audit trail's hash chains (admins): the counts are of the admin's
    organization, and a broken event is named only when it is one of its own; the whole
    installation is checked with `alliance audit verify`."""
    require_role(actor, "admin")
    result = audit.verify(db, organization_id=actor.organization_id)
    audit.record(db, actor, "verify", "audit_trail", ok=result.ok)
    db.commit()
    return {
        "ok": result.ok,
        "checked": result.checked,
        "first_broken": result.first_broken,
        "problem": result.problem,
        "message": result.describe(),
    }
