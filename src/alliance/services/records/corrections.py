"""Corrections: a rating replaced by a corrected version, the original kept and marked
superseded (the rule and its locking are in :mod:`.current_ratings`)."""

from __future__ import annotations

from collections.abc import Mapping

from sqlalchemy import select
from sqlalchemy.orm import Session

from alliance.instruments.registry import Registry
from alliance.services import audit
from alliance.services.accounts.access import access_params, visible_clients, writable_clients
from alliance.services.context import Actor
from alliance.services.errors import Invalid, NotFound
from alliance.services.records.administrations import Submission, submit_administration
from alliance.store.models import Administration, Client, Episode
from alliance.store.models import Session as SessionRow


def administration_for(
    db: Session, actor: Actor, administration_id: str
) -> tuple[Administration, SessionRow, Client]:
    """An administration of a client ``actor`` may change (to correct it), with its session
    and client; else NotFound."""
    row = db.execute(
        select(Administration, SessionRow, Client)
        .join(SessionRow, SessionRow.id == Administration.session_id)
        .join(Episode, Episode.id == SessionRow.episode_id)
        .join(Client, Client.id == Episode.client_id)
        .where(Administration.id == administration_id, writable_clients(actor)),
        access_params(actor),
    ).one_or_none()
    if row is None:
        raise NotFound(f"no administration {administration_id}")
    audit.record(db, actor, "read", "administration", row[0].id)
    return row[0], row[1], row[2]


def correct_administration(
    db: Session,
    actor: Actor,
    registry: Registry,
    administration_id: str,
    *,
    answers: Mapping[str, object],
    reason: str,
    idempotency_key: str,
) -> Submission:
    """A corrected version of an administration; the original stays, marked superseded."""
    old = db.scalar(
        select(Administration)
        .join(SessionRow, SessionRow.id == Administration.session_id)
        .join(Episode, Episode.id == SessionRow.episode_id)
        .join(Client, Client.id == Episode.client_id)
        .where(Administration.id == administration_id, visible_clients(actor)),
        access_params(actor),
    )
    if old is None:
        raise NotFound(f"no administration {administration_id}")
    if not reason or not reason.strip():
        raise Invalid("say why the answers are corrected", field="reason")
    # whether ``old`` is still current is settled once this session's writers have taken
    # turns (``submit_administration``): of racing corrections one wins, the others get 409
    return submit_administration(
        db,
        actor,
        registry,
        session_id=old.session_id,
        instrument=old.instrument,
        version=old.version,
        perspective=old.perspective,
        stance=old.stance,
        answers=answers,
        idempotency_key=idempotency_key,
        source=old.source if old.source != "client_link" else "clinician",
        supersedes=old,
        correction_reason=reason.strip(),
    )
