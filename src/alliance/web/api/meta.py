"""Instruments, the audit check and the health probe."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter
from sqlalchemy import text

from alliance.services import audit
from alliance.services.accounts.access import require_role
from alliance.services.errors import NotFound
from alliance.web.api.deps import ActorDep, ClinicDep, DbDep

router = APIRouter(tags=["meta"])


@router.get("/health")
def health(db: DbDep) -> dict[str, str]:
    """Liveness and database reachability (no login needed)."""
    db.execute(text("SELECT 1"))
    return {"status": "ok"}


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
