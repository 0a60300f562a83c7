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

from sqlalchemy import BindParameter, ColumnElement, and_, bindparam, false, or_, select
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


# The rules are built once, with bound parameters for the actor, so that every statement using
# them is compiled once and cached; execute such statements with ``access_params(actor)``.
_ORG: BindParameter[str] = bindparam("access_org")
_USER: BindParameter[str] = bindparam("access_user")
_TEAM: BindParameter[str] = bindparam("access_team")
_OtherEpisode = aliased(Episode, name="access_episode")  # not swallowed by joins on Episode
_OWN = or_(
    Client.clinician_id == _USER,
    select(_OtherEpisode.id)
    .where(_OtherEpisode.client_id == Client.id, _OtherEpisode.clinician_id == _USER)
    .exists(),
)
_IN_TEAM = Client.clinician_id.in_(
    select(User.id).where(User.team_id == _TEAM, User.organization_id == _ORG)
)
_SAME_ORG = Client.organization_id == _ORG
_RULES: dict[str, ColumnElement[bool]] = {
    "system": _SAME_ORG,
    "own": and_(_SAME_ORG, _OWN),
    "team": and_(_SAME_ORG, or_(_OWN, _IN_TEAM)),
    "none": false(),
}


def access_params(actor: Actor) -> dict[str, str | None]:
    """The values of the access rules' parameters for ``actor``."""
    return {
        "access_org": actor.organization_id,
        "access_user": actor.user_id,
        "access_team": actor.team_id,
    }


def _rule(actor: Actor, *, write: bool) -> str:
    if actor.organization_id is None:
        return "none"
    if actor.is_system:
        return "system"
    if actor.role == "clinician" or (write and actor.role == "supervisor"):
        return "own"
    if actor.role == "supervisor":
        return "team" if actor.team_id else "own"
    return "none"


def visible_clients(actor: Actor) -> ColumnElement[bool]:
    """A condition on :class:`Client`, true for the clients ``actor`` may read.
    Run the statement with ``access_params(actor)``."""
    return _RULES[_rule(actor, write=False)]


def writable_clients(actor: Actor) -> ColumnElement[bool]:
    """A condition on :class:`Client`, true for the clients ``actor`` may change.
    Run the statement with ``access_params(actor)``."""
    return _RULES[_rule(actor, write=True)]


_CLIENT = {
    k: select(Client).where(Client.id == bindparam("record"), rule) for k, rule in _RULES.items()
}
_EPISODE = {
    k: select(Episode)
    .join(Client, Client.id == Episode.client_id)
    .where(Episode.id == bindparam("record"), rule)
    for k, rule in _RULES.items()
}
_SESSION = {
    k: select(SessionRow, Episode, Client)
    .join(Episode, Episode.id == SessionRow.episode_id)
    .join(Client, Client.id == Episode.client_id)
    .where(SessionRow.id == bindparam("record"), rule)
    for k, rule in _RULES.items()
}


def client_for(db: Session, actor: Actor, client_id: str, *, write: bool = False) -> Client:
    """The client, if ``actor`` may read it (or change it, with ``write``); else NotFound."""
    client = db.scalar(
        _CLIENT[_rule(actor, write=write)], {**access_params(actor), "record": client_id}
    )
    if client is None:
        raise NotFound(f"no client {client_id}")
    return client


def episode_for(db: Session, actor: Actor, episode_id: str, *, write: bool = False) -> Episode:
    episode = db.scalar(
        _EPISODE[_rule(actor, write=write)], {**access_params(actor), "record": episode_id}
    )
    if episode is None:
        raise NotFound(f"no episode {episode_id}")
    return episode


def session_for(
    db: Session, actor: Actor, session_id: str, *, write: bool = False
) -> tuple[SessionRow, Episode, Client]:
    row = db.execute(
        _SESSION[_rule(actor, write=write)], {**access_params(actor), "record": session_id}
    ).one_or_none()
    if row is None:
        raise NotFound(f"no session {session_id}")
    return row[0], row[1], row[2]
