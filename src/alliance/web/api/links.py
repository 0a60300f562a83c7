"""Client links: created by a clinician; opened and submitted with only the link's token."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, BackgroundTasks

from alliance.instruments.wording import resolve
from alliance.services.records import links
from alliance.store.security import ClientLink
from alliance.web.api.clinical import _submission_out
from alliance.web.api.deps import ActorDep, AddressDep, ClinicDep, DbDep
from alliance.web.api.schemas import LinkCreated, LinkIn, LinkPublic, LinkSubmitIn, SubmissionOut
from alliance.web.clinic import after_submission

router = APIRouter(tags=["links"])


@router.post("/sessions/{session_id}/links", response_model=LinkCreated, status_code=201)
def create_link(
    session_id: str, body: LinkIn, db: DbDep, actor: ActorDep, clinic: ClinicDep
) -> LinkCreated:
    """A single-use link for the client to fill ``instrument``, or several ``instruments``
    in order (ORS at the start, SRS at the end), for this session."""
    new = links.create_link(
        db,
        actor,
        clinic.registry,
        session_id=session_id,
        instruments=body.measures,
        version=body.version,
        base_url=clinic.settings.base_url,
        hours=body.hours or clinic.settings.link_hours,
    )
    db.commit()
    return LinkCreated(id=new.link.id, url=new.url, token=new.token, expires_at=new.link.expires_at)


@router.get("/sessions/{session_id}/links", response_model=list[LinkPublic])
def list_links(session_id: str, db: DbDep, actor: ActorDep) -> list[ClientLink]:
    result = links.links_for_session(db, actor, session_id)
    db.commit()
    return result


@router.get("/links/{token}")
def open_link(
    token: str, db: DbDep, clinic: ClinicDep, address: AddressDep, language: str | None = None
) -> dict[str, Any]:
    """The form behind a link (no account needed): the measure due (``step`` of
    ``measures``), its items and options in the client's language, and whether licensed
    wording is loaded."""
    try:
        view = links.open_link(db, clinic.registry, token, address=address)
    finally:
        db.commit()  # keep the audit event and any rate-limit count
    wording = resolve(
        view.instrument,
        clinic.wording_packs,
        language=language or view.language,
        perspective="client",
    )
    inst = view.instrument
    return {
        "instrument": inst.id,
        "version": inst.version,
        "step": view.step,
        "measures": [m.id for m in view.measures],
        "title": wording.title,
        "recall": inst.recall,
        "licensed_wording": wording.licensed,
        "language": wording.language,
        "organization": view.organization.name,
        "session_date": view.session_date.isoformat(),
        "expires_at": view.link.expires_at.isoformat(),
        "items": [
            {
                "id": item.id,
                "text": wording.items[item.id],
                "options": [
                    {"value": v, "label": label}
                    for v, label in wording.options.get(item.id, {}).items()
                ],
                "line": (
                    {
                        "min": inst.format_of(item).low,
                        "max": inst.format_of(item).high,
                        "labels": wording.anchors[item.id],
                    }
                    if item.id in wording.anchors
                    else None
                ),
            }
            for item in inst.items
        ],
    }


@router.post("/links/{token}", response_model=SubmissionOut, status_code=201)
def submit_link(
    token: str,
    body: LinkSubmitIn,
    db: DbDep,
    clinic: ClinicDep,
    address: AddressDep,
    background: BackgroundTasks,
) -> SubmissionOut:
    """Submit the client's answers to the measure due (or ``step``); each is stored when
    sent, and the link stops working after its last measure."""
    result = links.submit_via_link(
        db,
        clinic.registry,
        token,
        answers=body.answers,
        idempotency_key=body.idempotency_key,
        address=address,
        language=body.language,
        step=body.step,
    )
    db.commit()
    if result.created:
        background.add_task(after_submission, clinic, result.client_id)
    return _submission_out(result)
