"""Erasing one client: on request (GDPR Art. 17, or its equivalent) or when the
organization's retention period has passed (``retention.py``).

What goes, always: the contact details, the client's links (tokens, how they were sent), the
alerts with their history, follow-up notes and messages, the notes of rupture reports, the
reasons given for corrections, and the code (so nothing that names or describes the client
stays). What happens to the measurements follows the organization's policy
(``Organization.erasure_keeps_scores``):

- **not kept** (the default): the client's episodes, sessions, answers, scores, goals and
  goal ratings are deleted with the client;
- **kept** for de-identified statistics: answers and scores stay, under a new client record
  with a new random id and a code ``erased-…`` that derives from nothing; an open episode is
  closed; rupture reports stay without their notes, goals without their words (description,
  target and reason become ``(erased)``/empty) but with their progress ratings; keys a
  sending system chose are replaced.

The audit trail keeps every event, with the erased ids redacted (``redaction.py``), and one
more event that records the erasure — its reason, the policy and counts, never the client.

A client with an open risk alert is not erased: a risk answer must be followed up first.
"""

from __future__ import annotations

import secrets
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Literal

from sqlalchemy import delete, func, or_, select, update
from sqlalchemy.orm import Session

from alliance.services.accounts.access import require_role
from alliance.services.context import Actor
from alliance.services.errors import Conflict, NotFound
from alliance.services.monitoring.alerting import RISK_RULES
from alliance.services.operations.redaction import redact_and_record
from alliance.services.records.clients import one_client
from alliance.store.alerts import Alert, AlertEvent, RiskFollowUp
from alliance.store.base import new_id, utcnow
from alliance.store.models import (
    Administration,
    Client,
    ClientContact,
    ClientIdentifier,
    Episode,
    Goal,
    GoalRating,
    Organization,
    RuptureReport,
    Score,
)
from alliance.store.models import Session as SessionRow
from alliance.store.notifications import AlertNotification
from alliance.store.security import ClientLink

Reason = Literal["request", "retention"]
REASONS: tuple[Reason, ...] = ("request", "retention")
ERASED_CODE = "erased-"
ERASED_TEXT = "(erased)"


@dataclass(frozen=True)
class Erasure:
    """What one erasure did: rows removed per table, whether scores were kept, how many
    audit events were redacted and where the erasure's own event is."""

    removed: dict[str, int]
    kept_scores: bool
    redacted_events: int
    audit_event: str


def client_to_erase(db: Session, actor: Actor, name: str) -> Client:
    """The client of the actor's organization under ``name`` (``code`` or ``code@username``);
    erasing is an admin's task (or the operator's), who sees no client records otherwise."""
    require_role(actor, "admin")
    return one_client(db, actor, name, Client.organization_id == actor.organization_id)


def erase_client(
    db: Session, actor: Actor, client_id: str, *, reason: Reason = "request"
) -> Erasure:
    """Erase the client (see the module's text); the caller commits."""
    require_role(actor, "admin")
    if reason not in REASONS:
        raise ValueError(f"reason must be one of {', '.join(REASONS)}, not {reason!r}")
    client = db.scalar(
        select(Client).where(
            Client.id == client_id, Client.organization_id == actor.organization_id
        )
    )
    if client is None:
        raise NotFound(f"no client {client_id}")
    open_risk = db.scalar(
        select(func.count())
        .select_from(Alert)
        .where(Alert.client_id == client.id, Alert.rule.in_(RISK_RULES), Alert.state != "resolved")
    )
    if open_risk:
        raise Conflict(
            "this client has a risk alert not yet resolved; record its follow-up first, then erase"
        )
    org = db.get(Organization, client.organization_id)
    keep = bool(org and org.erasure_keeps_scores)
    ids = _ids(db, client.id)
    removed = _remove_identifying(db, ids)
    if keep:
        removed.update(_deidentify(db, client, ids))
    else:
        removed.update(_remove_measurements(db, client, ids))
    named = {client.id, *ids["episodes"], *ids["sessions"], *ids["administrations"]}
    named |= {*ids["alerts"], *ids["links"], *ids["ruptures"], *ids["follow_ups"]}
    named |= {*ids["goals"], *ids["goal_ratings"]}
    where, redacted = redact_and_record(
        db,
        actor,
        named,
        action="erase",
        record_type="client",
        reason=reason,
        kept_scores=keep,
        removed={k: v for k, v in removed.items() if v},
    )
    return Erasure(removed, keep, redacted, where)


def _ids(db: Session, client_id: str) -> dict[str, list[str]]:
    episodes = list(db.scalars(select(Episode.id).where(Episode.client_id == client_id)))
    sessions = list(db.scalars(select(SessionRow.id).where(SessionRow.episode_id.in_(episodes))))
    alerts = list(db.scalars(select(Alert.id).where(Alert.client_id == client_id)))
    goals = list(db.scalars(select(Goal.id).where(Goal.episode_id.in_(episodes))))
    return {
        "episodes": episodes,
        "sessions": sessions,
        "administrations": list(
            db.scalars(select(Administration.id).where(Administration.session_id.in_(sessions)))
        ),
        "alerts": alerts,
        "links": list(db.scalars(select(ClientLink.id).where(ClientLink.session_id.in_(sessions)))),
        "ruptures": list(
            db.scalars(select(RuptureReport.id).where(RuptureReport.session_id.in_(sessions)))
        ),
        "follow_ups": list(
            db.scalars(select(RiskFollowUp.id).where(RiskFollowUp.alert_id.in_(alerts)))
        ),
        "goals": goals,
        "goal_ratings": list(
            db.scalars(
                select(GoalRating.id).where(
                    or_(GoalRating.goal_id.in_(goals), GoalRating.session_id.in_(sessions))
                )
            )
        ),
    }


def _count(db: Session, statement: Any) -> int:
    return int(db.execute(statement).rowcount or 0)  # type: ignore[attr-defined]


def _remove_identifying(db: Session, ids: dict[str, list[str]]) -> dict[str, int]:
    alerts: Sequence[str] = ids["alerts"]
    return {
        "client_links": _count(db, delete(ClientLink).where(ClientLink.id.in_(ids["links"]))),
        "alert_notifications": _count(
            db, delete(AlertNotification).where(AlertNotification.alert_id.in_(alerts))
        ),
        "risk_follow_ups": _count(
            db, delete(RiskFollowUp).where(RiskFollowUp.alert_id.in_(alerts))
        ),
        "alert_events": _count(db, delete(AlertEvent).where(AlertEvent.alert_id.in_(alerts))),
        "alerts": _count(db, delete(Alert).where(Alert.id.in_(alerts))),
    }


def _contact(db: Session, client_id: str) -> int:
    """The contact details and other systems' identifiers (an EHR's MRN): identifying data
    kept apart, counted together."""
    identifiers = _count(
        db, delete(ClientIdentifier).where(ClientIdentifier.client_id == client_id)
    )
    return identifiers + _count(
        db, delete(ClientContact).where(ClientContact.client_id == client_id)
    )


def _remove_measurements(db: Session, client: Client, ids: dict[str, list[str]]) -> dict[str, int]:
    administrations = ids["administrations"]
    db.execute(  # corrections name what they replaced: unlink before deleting
        update(Administration)
        .where(Administration.id.in_(administrations))
        .values(supersedes_id=None)
    )
    removed = {
        "goal_ratings": _count(
            db, delete(GoalRating).where(GoalRating.id.in_(ids["goal_ratings"]))
        ),
        "goals": _count(db, delete(Goal).where(Goal.id.in_(ids["goals"]))),
        "rupture_reports": _count(
            db, delete(RuptureReport).where(RuptureReport.id.in_(ids["ruptures"]))
        ),
        "scores": _count(db, delete(Score).where(Score.administration_id.in_(administrations))),
        "administrations": _count(
            db, delete(Administration).where(Administration.id.in_(administrations))
        ),
        "sessions": _count(db, delete(SessionRow).where(SessionRow.id.in_(ids["sessions"]))),
        "episodes": _count(db, delete(Episode).where(Episode.id.in_(ids["episodes"]))),
        "client_contacts": _contact(db, client.id),
    }
    db.expunge(client)
    removed["clients"] = _count(db, delete(Client).where(Client.id == client.id))
    return removed


def _deidentify(db: Session, client: Client, ids: dict[str, list[str]]) -> dict[str, int]:
    """Keep the measurements under a new client record that derives from nothing erased."""
    replacement = Client(
        id=new_id(),
        organization_id=client.organization_id,
        code=ERASED_CODE + secrets.token_hex(6),
        clinician_id=client.clinician_id,
        language=client.language,
        created_at=client.created_at,
    )
    db.add(replacement)
    db.flush()
    today = utcnow().date()
    db.execute(
        update(Episode)
        .where(Episode.client_id == client.id, Episode.ended_on.is_(None))
        .values(ended_on=today, end_reason="other")
    )
    db.execute(
        update(Episode).where(Episode.client_id == client.id).values(client_id=replacement.id)
    )
    for administration_id in ids["administrations"]:  # keys a sending system chose may name
        db.execute(
            update(Administration)
            .where(Administration.id == administration_id)
            .values(idempotency_key=f"erased-{uuid.uuid4().hex}", correction_reason=None)
        )
    notes = _count(
        db,
        update(RuptureReport)
        .where(RuptureReport.id.in_(ids["ruptures"]), RuptureReport.note.is_not(None))
        .values(note=None),
    )
    goals = _count(  # the client's words go; the progress ratings stay, as scores do
        db,
        update(Goal)
        .where(Goal.id.in_(ids["goals"]))
        .values(description=ERASED_TEXT, target=None, reason=None),
    )
    removed = {
        "client_contacts": _contact(db, client.id),
        "rupture_notes": notes,
        "goal_texts": goals,
    }
    db.expunge(client)
    removed["clients"] = _count(db, delete(Client).where(Client.id == client.id))
    return removed
