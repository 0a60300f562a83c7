"""Retention: an organization keeps a client's records ``retention_years`` after the client's
last episode ended, then they are erased (``erasure.py``, reason ``retention``).

A client is past retention when no episode of theirs is open and the last one ended before
the day that many years ago (a client without episodes: registered before it); the records an
erasure kept de-identified (code ``erased-…``) are not listed again. Listing is a
read of client records and is audited; a purge erases each listed client, skipping (and
reporting) any whose risk alert is still open.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy import and_, func, or_, select
from sqlalchemy.orm import Session

from alliance.services import audit
from alliance.services.accounts.access import require_role
from alliance.services.accounts.organization import organization
from alliance.services.context import Actor
from alliance.services.errors import Conflict, Invalid
from alliance.services.operations.erasure import ERASED_CODE, Erasure, erase_client
from alliance.store.models import Client, Episode, User

MAX_YEARS = 100


@dataclass(frozen=True)
class Expired:
    """A client past the retention period: id, code, clinician's username and the day their
    last episode ended (None: no episode)."""

    client_id: str
    code: str
    clinician: str
    last_ended: dt.date | None


@dataclass(frozen=True)
class Purge:
    erased: list[tuple[Expired, Erasure]]
    skipped: list[tuple[Expired, str]]


def years_before(day: dt.date, years: int) -> dt.date:
    """The day ``years`` before ``day`` (28 February for a 29 February without its year)."""
    try:
        return day.replace(year=day.year - years)
    except ValueError:
        return day.replace(year=day.year - years, day=28)


def set_policy(
    db: Session, actor: Actor, *, retention_years: int | None, erasure_keeps_scores: bool
) -> None:
    """The organization's retention period (None: kept until erased) and whether an erasure
    keeps de-identified scores."""
    require_role(actor, "admin")
    if retention_years is not None and not 1 <= retention_years <= MAX_YEARS:
        raise Invalid(
            f"the retention period is 1 to {MAX_YEARS} years",
            field="retention_years",
            value=str(retention_years),
        )
    org = organization(db, actor)
    org.retention_years = retention_years
    org.erasure_keeps_scores = erasure_keeps_scores
    audit.record(
        db,
        actor,
        "update",
        "organization",
        org.id,
        changed=["retention_years", "erasure_keeps_scores"],
        retention_years=retention_years,
        erasure_keeps_scores=erasure_keeps_scores,
    )


def expired_clients(db: Session, actor: Actor, *, today: dt.date | None = None) -> list[Expired]:
    """The clients of the actor's organization past its retention period, oldest first
    (none when the organization keeps records until they are erased)."""
    require_role(actor, "admin")
    org = organization(db, actor)
    if org.retention_years is None:
        audit.record(db, actor, "list", "retention", count=0)
        return []
    cutoff = years_before(today or dt.date.today(), org.retention_years)
    episodes = (
        select(
            Episode.client_id,
            func.max(Episode.ended_on).label("last"),
            func.count(Episode.id).label("held"),
            func.count(Episode.ended_on).label("ended"),
        )
        .group_by(Episode.client_id)
        .subquery()
    )
    rows = db.execute(
        select(Client.id, Client.code, User.username, episodes.c.last, Client.created_at)
        .join(User, User.id == Client.clinician_id)
        .outerjoin(episodes, episodes.c.client_id == Client.id)
        .where(
            Client.organization_id == org.id,
            # what an erasure kept, de-identified, for statistics is not a client's record
            Client.code.not_like(f"{ERASED_CODE}%"),
            or_(
                and_(episodes.c.held == episodes.c.ended, episodes.c.last < cutoff),
                episodes.c.client_id.is_(None),  # registered before the cut-off: below
            ),
        )
    ).all()
    found = sorted(
        (
            Expired(r[0], r[1], r[2], r[3])
            for r in rows
            if r[3] is not None or _before(r[4], cutoff)
        ),
        key=lambda e: (e.last_ended or dt.date.min, e.code),
    )
    audit.record(db, actor, "list", "retention", count=len(found))
    return found


def _before(created: dt.datetime, cutoff: dt.date) -> bool:
    return created.date() < cutoff


def purge(db: Session, actor: Actor, *, today: dt.date | None = None) -> Purge:
    """Erase every client past the retention period; the caller commits."""
    erased, skipped = [], []
    for client in expired_clients(db, actor, today=today):
        try:
            erased.append((client, erase_client(db, actor, client.client_id, reason="retention")))
        except Conflict as exc:
            skipped.append((client, exc.message))
    return Purge(erased, skipped)
