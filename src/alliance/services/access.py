"""Who may see and change which clients — the access rules, in one place.

- a **clinician** sees and writes their own clients (the client's clinician, or the clinician
  of one of the client's episodes);
- a **supervisor** sees their team's clients and writes their own;
- a **researcher** sees no client records, only de-identified exports;
- an **admin** manages the users and settings of their organization, not client records;
- nobody sees anything of another organization; a record that exists but is not visible is
  reported exactly like one that does not exist.
"""

from __future__ import annotations

from sqlalchemy import ColumnElement, and_, false, or_, select
from sqlalchemy.orm import Session, aliased

from alliance.services.context import Actor
from alliance.services.errors import Forbidden, NotFound
from alliance.store.models import Client, Episode, User
from alliance.store.models import Session as SessionRow

CLINICAL_ROLES = ("clinician", "supervisor")


def require_role(actor: Actor, *roles: str) -> None:
    if actor.is_system:
        return
    if actor.role not in roles:
        raise Forbidden(
            f"a {actor.role or 'visitor'} may not do this; it needs the role {' or '.join(roles)}"
        )


def _own(actor: Actor) -> ColumnElement[bool]:
    other = aliased(Episode)  # so that queries already joining Episode do not swallow it
    return or_(
        Client.clinician_id == actor.user_id,
        select(other.id)
        .where(other.client_id == Client.id, other.clinician_id == actor.user_id)
        .exists(),
    )


def visible_clients(actor: Actor) -> ColumnElement[bool]:
    """A condition on :class:`Client` that is true for the clients ``actor`` may read."""
    if actor.organization_id is None:
        return false()
    same_org = Client.organization_id == actor.organization_id
    if actor.is_system:
        return same_org
    if actor.role == "clinician":
        return and_(same_org, _own(actor))
    if actor.role == "supervisor":
        team = select(User.id).where(
            User.team_id == actor.team_id, User.organization_id == actor.organization_id
        )
        in_team = Client.clinician_id.in_(team) if actor.team_id else false()
        return and_(same_org, or_(_own(actor), in_team))
    return false()


def writable_clients(actor: Actor) -> ColumnElement[bool]:
    """A condition on :class:`Client` that is true for the clients ``actor`` may change."""
    if actor.organization_id is None:
        return false()
    same_org = Client.organization_id == actor.organization_id
    if actor.is_system:
        return same_org
    if actor.role in CLINICAL_ROLES:
        return and_(same_org, _own(actor))
    return false()


def client_for(db: Session, actor: Actor, client_id: str, *, write: bool = False) -> Client:
    """The client, if ``actor`` may read it (or change it, with ``write``); else NotFound."""
    rule = writable_clients(actor) if write else visible_clients(actor)
    client = db.scalar(select(Client).where(Client.id == client_id, rule))
    if client is None:
        raise NotFound(f"no client {client_id}")
    return client


def episode_for(db: Session, actor: Actor, episode_id: str, *, write: bool = False) -> Episode:
    rule = writable_clients(actor) if write else visible_clients(actor)
    episode = db.scalar(
        select(Episode)
        .join(Client, Client.id == Episode.client_id)
        .where(Episode.id == episode_id, rule)
    )
    if episode is None:
        raise NotFound(f"no episode {episode_id}")
    return episode


def session_for(
    db: Session, actor: Actor, session_id: str, *, write: bool = False
) -> tuple[SessionRow, Episode, Client]:
    rule = writable_clients(actor) if write else visible_clients(actor)
    row = db.execute(
        select(SessionRow, Episode, Client)
        .join(Episode, Episode.id == SessionRow.episode_id)
        .join(Client, Client.id == Episode.client_id)
        .where(SessionRow.id == session_id, rule)
    ).one_or_none()
    if row is None:
        raise NotFound(f"no session {session_id}")
    return row[0], row[1], row[2]
