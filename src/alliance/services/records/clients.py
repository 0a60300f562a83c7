"""Registering clients, their contact details, and opening and closing episodes.

A client code is unique among the clients its clinician holds and, when registered, among
the clients the person registering can see — not in the whole organization. A person asking
about a code held by a client they cannot see gets the answer a free code gets (their own
new client, or "no client"), so nobody can learn which codes other clinicians use. Someone who
sees several clinicians' clients (a supervisor, the installation) may meet two clients with
one code; each is then named ``code@username`` (its clinician's username), and a bare code
that fits several is refused with those names instead of guessed.

Codes compare regardless of case: "c0093" is the client "C0093" (registering it is refused as
in use, looking it up finds that client, an import row under it goes to that client). A code
is stored as first typed.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Collection
from typing import Any

from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session

from alliance import languages as languages_offered
from alliance.services import audit
from alliance.services.accounts.access import (
    access_params,
    client_for,
    episode_for,
    require_role,
    visible_clients,
)
from alliance.services.context import Actor
from alliance.services.errors import Conflict, Invalid, NotFound, check_date
from alliance.store.base import utcnow
from alliance.store.models import END_REASONS, Client, ClientContact, Episode, User

CODE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")
EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
MAX_EMAIL = 320
OWNER = "@"  # code@username names one of several clients that share a code


def split_name(name: str) -> tuple[str, str | None]:
    """``C-7@j.doe`` → (``C-7``, ``j.doe``); a bare code → (code, None)."""
    code, _, owner = name.strip().partition(OWNER)
    return code, (owner.strip().lower() or None) if _ else None


def qualified(code: str, username: str) -> str:
    return f"{code}{OWNER}{username}"


def ambiguous(code: str, usernames: list[str]) -> str:
    """The message for a bare code that fits several clients the person may see."""
    names = ", ".join(qualified(code, u) for u in sorted(usernames))
    return f"{len(usernames)} clients you may see have the code {code!r}; name one: {names}"


def _clinician_for(db: Session, actor: Actor, clinician_id: str | None) -> User:
    """The clinician a new client or episode belongs to: the actor, or (for a supervisor)
    a clinician of their team."""
    if clinician_id is None or clinician_id == actor.user_id:
        user = db.get(User, actor.user_id) if actor.user_id else None
        if user is None:
            raise Invalid("say which clinician the client belongs to", field="clinician_id")
        return user
    clinician = db.scalar(
        select(User).where(
            User.id == clinician_id,
            User.organization_id == actor.organization_id,
            User.role.in_(("clinician", "supervisor")),
            User.active,
        )
    )
    if clinician is None:
        raise NotFound(f"no clinician {clinician_id}", field="clinician_id")
    if not actor.is_system and (actor.role != "supervisor" or clinician.team_id != actor.team_id):
        raise Invalid(
            "only a supervisor may assign a client to another clinician, in their team",
            field="clinician_id",
        )
    return clinician


def check_language(language: str, languages: Collection[str]) -> str:
    """``language`` in its standard form when the site offers it, else :class:`Invalid`."""
    allowed = ", ".join(languages)
    try:
        tag = languages_offered.standard_tag(language)
    except ValueError as exc:
        raise Invalid(str(exc), field="language", value=language, allowed=allowed) from None
    if tag not in languages:
        raise Invalid(
            f"{tag} is not one of the languages this site offers for clients' forms",
            field="language",
            value=tag,
            allowed=allowed,
        )
    return tag


def register_client(
    db: Session,
    actor: Actor,
    *,
    code: str,
    clinician_id: str | None = None,
    language: str = "en",
    languages: Collection[str] = languages_offered.DEFAULT,
    contact: dict[str, str | None] | None = None,
    started_on: dt.date | None = None,
) -> tuple[Client, Episode]:
    """A new client with their first episode; their forms' ``language`` is one of the
    site's ``languages``."""
    require_role(actor, "clinician", "supervisor")
    language = check_language(language, languages)
    code = code.strip()
    if not CODE.match(code):
        raise Invalid(
            "a client code is 1–64 letters, digits, '.', '_' or '-' (a pseudonym, not a name)",
            field="code",
            value=code,
        )
    if started_on is not None:
        check_date(started_on, "started_on")
    clinician = _clinician_for(db, actor, clinician_id)
    # only codes the actor can see (which include the new client's clinician's) are taken
    if db.scalar(
        select(Client.id).where(
            Client.organization_id == actor.organization_id,
            func.upper(Client.code) == code.upper(),
            or_(visible_clients(actor), Client.clinician_id == clinician.id),
        ),
        access_params(actor),
    ):
        raise Conflict(f"the client code {code!r} is in use", field="code")
    client = Client(
        organization_id=actor.organization_id,
        code=code,
        clinician_id=clinician.id,
        language=language,
    )
    db.add(client)
    db.flush()
    if contact and any(contact.values()):
        db.add(
            ClientContact(
                client_id=client.id,
                name=contact.get("name"),
                email=contact.get("email"),
                phone=contact.get("phone"),
            )
        )
    episode = Episode(
        client_id=client.id, clinician_id=clinician.id, started_on=started_on or utcnow().date()
    )
    db.add(episode)
    db.flush()
    audit.record(
        db,
        actor,
        "create",
        "client",
        client.id,
        episode=episode.id,
        contact=bool(contact and any(contact.values())),
    )
    return client, episode


def get_client(db: Session, actor: Actor, client_id: str) -> Client:
    client = client_for(db, actor, client_id)
    audit.record(db, actor, "read", "client", client.id)
    return client


def find_client(db: Session, actor: Actor, name: str) -> Client:
    """The client the actor may see under ``name`` (a code, or ``code@username``)."""
    client = one_client(db, actor, name, visible_clients(actor))
    audit.record(db, actor, "read", "client", client.id)
    return client


def one_client(db: Session, actor: Actor, name: str, rule: Any, *, field: str = "code") -> Client:
    """The one client under ``name`` that satisfies ``rule`` (a condition from
    :mod:`~alliance.services.accounts.access`); NotFound when none, Conflict naming each
    when several do."""
    code, owner = split_name(name)
    statement = (
        select(Client, User.username)
        .join(User, User.id == Client.clinician_id)
        .where(func.upper(Client.code) == code.upper(), rule)
        .limit(20)
    )
    if owner is not None:
        statement = statement.where(User.username == owner)
    found = db.execute(statement, access_params(actor)).all()
    if not found:
        raise NotFound(f"no client with code {name!r}", field=field)
    if len(found) > 1:
        raise Conflict(ambiguous(code, [u for _, u in found]), field=field)
    client: Client = found[0][0]
    return client


def get_contact(db: Session, actor: Actor, client_id: str) -> ClientContact | None:
    """Identifying contact data: only the client's own clinicians (never a researcher)."""
    client = client_for(db, actor, client_id, write=True)
    audit.record(db, actor, "read", "client_contact", client.id)
    return db.get(ClientContact, client.id)


def set_contact(
    db: Session,
    actor: Actor,
    client_id: str,
    *,
    name: str | None,
    email: str | None,
    phone: str | None,
) -> ClientContact:
    """Replace the client's contact details (the client's own clinicians); the audit event
    names the fields that changed, never their values."""
    client = client_for(db, actor, client_id, write=True)
    name, email, phone = (_blank_none(v) for v in (name, email, phone))
    if email is not None and (len(email) > MAX_EMAIL or not EMAIL.match(email)):
        raise Invalid("not an e-mail address", field="email", value=email,
                      allowed="name@example.org, or empty")  # fmt: skip
    contact = db.get(ClientContact, client.id) or ClientContact(client_id=client.id)
    changed = [
        field
        for field, old, new in (
            ("name", contact.name, name),
            ("email", contact.email, email),
            ("phone", contact.phone, phone),
        )
        if old != new
    ]
    contact.name, contact.email, contact.phone = name, email, phone
    contact.updated_at = utcnow()
    db.add(contact)
    audit.record(db, actor, "update", "client_contact", client.id, changed=changed)
    return contact


def _blank_none(value: str | None) -> str | None:
    text = (value or "").strip()
    return text or None


def open_episode(
    db: Session,
    actor: Actor,
    client_id: str,
    *,
    started_on: dt.date,
    clinician_id: str | None = None,
) -> Episode:
    client = client_for(db, actor, client_id, write=True)
    check_date(started_on, "started_on")
    current = db.scalar(
        select(Episode).where(Episode.client_id == client.id, Episode.ended_on.is_(None))
    )
    if current is not None:
        raise Conflict("the client has an open episode; close it first", field="client_id")
    clinician = _clinician_for(db, actor, clinician_id)
    episode = Episode(client_id=client.id, clinician_id=clinician.id, started_on=started_on)
    db.add(episode)
    db.flush()
    audit.record(db, actor, "create", "episode", episode.id, client=client.id)
    return episode


def close_episode(
    db: Session, actor: Actor, episode_id: str, *, end_reason: str, ended_on: dt.date
) -> Episode:
    episode = episode_for(db, actor, episode_id, write=True)
    if end_reason not in END_REASONS:
        raise Invalid(
            "unknown end reason",
            field="end_reason",
            value=end_reason,
            allowed=", ".join(END_REASONS),
        )
    if episode.ended_on is not None:
        raise Conflict("the episode is already closed", field="episode_id")
    check_date(ended_on, "ended_on")
    if ended_on < episode.started_on:
        raise Invalid(
            "an episode cannot end before it started", field="ended_on", value=ended_on.isoformat()
        )
    episode.ended_on, episode.end_reason = ended_on, end_reason
    audit.record(db, actor, "close", "episode", episode.id, end_reason=end_reason)
    return episode
