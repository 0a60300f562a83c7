"""Research studies: an admin creates one; its de-identified export is then the same for
everyone who takes it, each time.

A study holds the settings of its research export (dates shifted or counted in days, the
largest date offset, ``k`` — the smallest group of clients a combination of quasi-identifiers
may describe) and a secret of 32 random bytes made by the service. Pseudonyms and date offsets
are derived from that secret, which never leaves the service: not in the API, not on a page,
not in the export. Whoever holds an export — the researcher included — cannot recompute a
pseudonym from a guessed client code (security review 11). Admins create and list studies;
those who take research exports (researchers, clinicians, supervisors) list them to choose
one. Every creation and listing is audited.
"""

from __future__ import annotations

import secrets

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from alliance.services import audit
from alliance.services.accounts.access import require_role
from alliance.services.context import Actor
from alliance.services.errors import Conflict, Invalid, NotFound
from alliance.store.models import DATE_MODES, Study

MAX_NAME = 200
MAX_SHIFT_DAYS = 3650
MAX_K = 1000
READERS = ("admin", "researcher", "clinician", "supervisor")


def _organization(actor: Actor) -> str:
    if actor.organization_id is None:
        raise Invalid("no organization given", field="organization")
    return actor.organization_id


def create_study(
    db: Session,
    actor: Actor,
    name: str,
    *,
    date_mode: str = "shift",
    k: int = 5,
    max_shift_days: int = 182,
) -> Study:
    """A new study of the actor's organization, with a fresh secret."""
    require_role(actor, "admin")
    organization_id = _organization(actor)
    name = name.strip()
    if not name or len(name) > MAX_NAME:
        raise Invalid(f"a study needs a name of 1–{MAX_NAME} characters", field="name")
    if date_mode not in DATE_MODES:
        raise Invalid(
            "unknown date mode", field="date_mode", value=date_mode, allowed=", ".join(DATE_MODES)
        )
    if not 1 <= k <= MAX_K:
        raise Invalid(
            "k is the smallest group of clients an export may describe (1: no protection)",
            field="k",
            value=k,
            allowed=f"1–{MAX_K}",
        )
    if not 1 <= max_shift_days <= MAX_SHIFT_DAYS:
        raise Invalid(
            "the largest date offset in days",
            field="max_shift_days",
            value=max_shift_days,
            allowed=f"1–{MAX_SHIFT_DAYS}",
        )
    if db.scalar(
        select(Study.id).where(Study.organization_id == organization_id, Study.name == name)
    ):
        raise Conflict(f"a study named {name!r} exists", field="name")
    study = Study(
        organization_id=organization_id,
        name=name,
        secret=secrets.token_hex(32),
        date_mode=date_mode,
        k=k,
        max_shift_days=max_shift_days,
        created_by=actor.user_id,
    )
    db.add(study)
    db.flush()
    audit.record(db, actor, "create", "study", study.id, date_mode=date_mode, k=k)
    return study


def list_studies(db: Session, actor: Actor) -> list[Study]:
    require_role(actor, *READERS)
    organization_id = _organization(actor)
    audit.record(db, actor, "list", "study")
    return list(
        db.scalars(
            select(Study).where(Study.organization_id == organization_id).order_by(Study.name)
        )
    )


def study_for(db: Session, actor: Actor, study: str) -> Study:
    """The organization's study with this id or name (NotFound otherwise)."""
    organization_id = _organization(actor)
    found = db.scalar(
        select(Study).where(
            Study.organization_id == organization_id,
            or_(Study.id == study.strip(), Study.name == study.strip()),
        )
    )
    if found is None:
        raise NotFound(f"no study {study!r}", field="study")
    return found
