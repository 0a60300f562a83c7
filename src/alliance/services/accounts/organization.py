"""An organization's settings, changed by its admin: the words its pages use, the instruments
offered to clinicians, and (see ``alliance.feedback``) its alert rules and thresholds."""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session

from alliance.feedback.config import ConfigError, FeedbackConfig
from alliance.instruments.registry import Registry
from alliance.services import audit
from alliance.services.accounts.access import require_role
from alliance.services.context import Actor
from alliance.services.errors import Invalid, NotFound
from alliance.store.models import Organization

CLIENT_WORDS = ("client", "patient")
CLINICIAN_WORDS = ("therapist", "counsellor", "nurse", "physiotherapist", "clinician")


def organization(db: Session, actor: Actor) -> Organization:
    org = db.get(Organization, actor.organization_id) if actor.organization_id else None
    if org is None:
        raise NotFound("no organization")
    return org


def set_terms(db: Session, actor: Actor, *, client: str, clinician: str) -> Organization:
    require_role(actor, "admin")
    if client not in CLIENT_WORDS:
        raise Invalid(
            "unknown word for a person in care",
            field="client",
            value=client,
            allowed=", ".join(CLIENT_WORDS),
        )
    if clinician not in CLINICIAN_WORDS:
        raise Invalid(
            "unknown word for the person giving care",
            field="clinician",
            value=clinician,
            allowed=", ".join(CLINICIAN_WORDS),
        )
    org = organization(db, actor)
    org.terms = {"client": client, "clinician": clinician}
    audit.record(db, actor, "update", "organization", org.id, changed=["terms"])
    return org


def set_enabled_instruments(
    db: Session, actor: Actor, registry: Registry, instrument_ids: list[str]
) -> tuple[list[str], list[str]]:
    """Offer exactly ``instrument_ids``; returns the ids turned on and those turned off."""
    require_role(actor, "admin")
    unknown = [i for i in instrument_ids if i not in registry]
    if unknown:
        raise Invalid(
            f"unknown instrument {unknown[0]!r}",
            field="instruments",
            value=unknown[0],
            allowed=", ".join(registry.ids()),
        )
    if not instrument_ids:
        raise Invalid(
            "choose at least one instrument: with none, nothing could be sent or rated",
            field="instruments",
        )
    org = organization(db, actor)
    before = set(enabled_instruments(org, registry))
    org.enabled_instruments = sorted(set(instrument_ids))
    audit.record(db, actor, "update", "organization", org.id, changed=["instruments"])
    after = set(org.enabled_instruments)
    return sorted(after - before), sorted(before - after)


def enabled_instruments(org: Organization, registry: Registry) -> list[str]:
    """The instruments the organization uses: those its admin chose or, until one chooses,
    every instrument whose scoring key is confirmed. One whose key is not confirmed is off
    until an admin turns it on: its answers would be kept but never scored."""
    chosen = [i for i in (org.enabled_instruments or []) if i in registry]
    return chosen or sorted(i.id for i in registry if i.scored)


def offered_instruments(org: Organization, registry: Registry) -> list[str]:
    """Instrument ids clinicians may send to clients: the enabled ones with a client form."""
    enabled = enabled_instruments(org, registry)
    return [i for i in enabled if "client" in registry.get(i).perspectives]


def clinician_instruments(org: Organization, registry: Registry) -> list[str]:
    """Instrument ids a clinician may rate a session on themselves: the enabled ones with a
    clinician form (none, unless the admin turned one on: every clinician form shipped has an
    unconfirmed key)."""
    enabled = enabled_instruments(org, registry)
    return [i for i in enabled if "clinician" in registry.get(i).perspectives]


def set_feedback_config(db: Session, actor: Actor, data: dict[str, Any]) -> Organization:
    """Store the organization's alert rules after validating them (the risk rule cannot be
    turned off or weakened)."""
    require_role(actor, "admin")
    try:
        config = FeedbackConfig.from_dict(data)
    except ConfigError as exc:
        raise Invalid(str(exc), field="rules") from None
    org = organization(db, actor)
    org.feedback_config = config.to_dict()
    audit.record(db, actor, "update", "organization", org.id, changed=["alert_rules"])
    return org
