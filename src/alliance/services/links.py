"""Single-use, expiring links with which a client fills one instrument for one session.

The token is random and stored only as its SHA-256. A link works once: the submission and the
marking of the link as used happen in one transaction, and only the first of two racing
submissions can mark it. Unknown tokens are counted per address and rate-limited.
"""

from __future__ import annotations

import datetime as dt
import secrets
from collections.abc import Mapping
from dataclasses import dataclass

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from alliance.instruments.model import Instrument
from alliance.instruments.registry import Registry
from alliance.services import audit
from alliance.services.access import session_for
from alliance.services.administrations import Submission, resolve_instrument, submit_administration
from alliance.services.auth import token_digest
from alliance.services.context import Actor
from alliance.services.errors import Gone, Invalid, NotFound, RateLimited
from alliance.store.base import utcnow
from alliance.store.models import Administration, Client, Episode, Organization
from alliance.store.models import Session as SessionRow
from alliance.store.security import ClientLink, LoginAttempt

LINK_PROBE = "(client link)"
MAX_BAD_LINKS = 30
BAD_LINK_WINDOW = dt.timedelta(minutes=10)


@dataclass(frozen=True)
class NewLink:
    link: ClientLink
    token: str
    url: str


def create_link(
    db: Session,
    actor: Actor,
    registry: Registry,
    *,
    session_id: str,
    instrument: str,
    base_url: str,
    hours: float,
    version: str | None = None,
    sent_to: str | None = None,
) -> NewLink:
    session, _, client = session_for(db, actor, session_id, write=True)
    inst = resolve_instrument(registry, instrument, version)
    if "client" not in inst.perspectives:
        raise Invalid(f"{inst.id} has no client form", field="instrument")
    if not 0 < hours <= 24 * 31:
        raise Invalid("a link lasts between a moment and 31 days", field="hours", value=hours)
    token = secrets.token_urlsafe(24)
    link = ClientLink(
        token_hash=token_digest(token),
        organization_id=client.organization_id,
        session_id=session.id,
        instrument=inst.id,
        version=inst.version,
        created_by=actor.user_id,
        expires_at=utcnow() + dt.timedelta(hours=hours),
        sent_to=sent_to,
    )
    db.add(link)
    db.flush()
    audit.record(db, actor, "create", "client_link", link.id, session=session.id)
    return NewLink(link, token, f"{base_url.rstrip('/')}/f/{token}")


@dataclass(frozen=True)
class LinkView:
    """What a client's form needs: no other client's data, nothing identifying."""

    link: ClientLink
    instrument: Instrument
    organization: Organization
    session_date: dt.date
    language: str
    actor: Actor


def _link_actor(link: ClientLink, address: str | None) -> Actor:
    return Actor(kind="client_link", organization_id=link.organization_id, address=address)


def open_link(
    db: Session, registry: Registry, token: str, *, address: str, for_submission: bool = False
) -> LinkView:
    """The link's form, or :class:`Gone` (used or expired) / :class:`NotFound`."""
    since = utcnow() - BAD_LINK_WINDOW
    bad = (
        db.scalar(
            select(func.count())
            .select_from(LoginAttempt)
            .where(
                LoginAttempt.username == LINK_PROBE,
                LoginAttempt.address == address,
                LoginAttempt.at >= since,
            )
        )
        or 0
    )
    if bad >= MAX_BAD_LINKS:
        raise RateLimited(
            "too many unknown links from this address; try again later",
            retry_after=int(BAD_LINK_WINDOW.total_seconds()),
        )
    link = db.scalar(select(ClientLink).where(ClientLink.token_hash == token_digest(token)))
    if link is None:
        db.add(LoginAttempt(username=LINK_PROBE, address=address))
        audit.record(db, Actor(kind="client_link", address=address), "link_unknown", "client_link")
        raise NotFound("this link is not known")
    actor = _link_actor(link, address)
    if link.used_at is not None and not for_submission:
        audit.record(db, actor, "link_used", "client_link", link.id)
        raise Gone("this link has already been used")
    if link.expires_at <= utcnow():
        audit.record(db, actor, "link_expired", "client_link", link.id)
        raise Gone("this link has expired")
    row = db.execute(
        select(SessionRow, Client, Organization)
        .join(Episode, Episode.id == SessionRow.episode_id)
        .join(Client, Client.id == Episode.client_id)
        .join(Organization, Organization.id == Client.organization_id)
        .where(SessionRow.id == link.session_id)
    ).one()
    inst = registry.get(link.instrument, link.version)
    audit.record(db, actor, "read", "client_link", link.id)
    return LinkView(link, inst, row[2], row[0].date, row[1].language, actor)


def submit_via_link(
    db: Session,
    registry: Registry,
    token: str,
    *,
    answers: Mapping[str, object],
    idempotency_key: str,
    address: str,
    language: str | None = None,
    licensed_wording: bool = False,
) -> Submission:
    """Store the client's answers and use up the link, in one transaction."""
    view = open_link(db, registry, token, address=address, for_submission=True)
    link = view.link
    if link.used_at is not None:
        done = db.get(Administration, link.administration_id) if link.administration_id else None
        if done is not None and done.idempotency_key == f"link:{link.id}:{idempotency_key}":
            return Submission(done, [], False)  # the same form sent twice: already stored
        raise Gone("this link has already been used")
    session, episode, client = db.execute(
        select(SessionRow, Episode, Client)
        .join(Episode, Episode.id == SessionRow.episode_id)
        .join(Client, Client.id == Episode.client_id)
        .where(SessionRow.id == link.session_id)
    ).one()
    submission = submit_administration(
        db,
        view.actor,
        registry,
        session_id=session.id,
        instrument=link.instrument,
        version=link.version,
        perspective="client",
        stance="self",
        answers=answers,
        idempotency_key=f"link:{link.id}:{idempotency_key}",
        source="client_link",
        language=language,
        licensed_wording=licensed_wording,
        authorized_session=(session, episode, client),
    )
    claimed = db.execute(
        update(ClientLink)
        .where(ClientLink.id == link.id, ClientLink.used_at.is_(None))
        .values(used_at=utcnow(), administration_id=submission.administration.id)
        .execution_options(synchronize_session=False)
    )
    if claimed.rowcount != 1:  # type: ignore[attr-defined]
        db.rollback()
        raise Gone("this link has already been used")
    return submission


def links_for_session(db: Session, actor: Actor, session_id: str) -> list[ClientLink]:
    session, _, _ = session_for(db, actor, session_id)
    audit.record(db, actor, "list", "client_link", session.id)
    return list(
        db.scalars(
            select(ClientLink)
            .where(ClientLink.session_id == session.id)
            .order_by(ClientLink.created_at)
        )
    )
