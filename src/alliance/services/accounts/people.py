"""Organizations, teams and users: managed by an organization's admin (or the command line)."""

from __future__ import annotations

import re
from dataclasses import dataclass

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from alliance.services import audit
from alliance.services.accounts.access import require_role
from alliance.services.accounts.auth import check_password_strength, end_sessions, hash_password
from alliance.services.context import Actor
from alliance.services.errors import Conflict, Invalid, NotFound
from alliance.store.models import ROLES, Organization, Team, User

USERNAME = re.compile(r"^[a-z0-9][a-z0-9._@-]{1,63}$")
MAX_NAME = 200  # display names and team names (the columns' length)
MAX_EMAIL = 320


def _display_name(value: str | None, username: str) -> str:
    name = (value or "").strip() or username
    if len(name) > MAX_NAME or any(ord(ch) < 32 for ch in name):
        raise Invalid(
            f"a display name is 1–{MAX_NAME} characters on one line",
            field="display_name",
            value=name[:40] + ("…" if len(name) > 40 else ""),
        )
    return name


def create_organization(db: Session, actor: Actor, name: str) -> Organization:
    """Only the installation itself (the command line) creates organizations."""
    if not actor.is_system:
        raise Invalid("organizations are created with `alliance org add`", field="name")
    name = name.strip()
    if not name:
        raise Invalid("an organization needs a name", field="name")
    if db.scalar(select(Organization).where(Organization.name == name)):
        raise Conflict(f"an organization named {name!r} exists", field="name")
    org = Organization(name=name, terms={}, feedback_config={}, enabled_instruments=[])
    db.add(org)
    db.flush()
    audit.record(db, Actor.system(org.id), "create", "organization", org.id)
    return org


def organization_named(db: Session, name: str) -> Organization:
    org = db.scalar(select(Organization).where(Organization.name == name))
    if org is None:
        raise NotFound(f"no organization named {name!r}", field="organization")
    return org


def _org_of(actor: Actor) -> str:
    if actor.organization_id is None:
        raise Invalid("no organization given", field="organization")
    return actor.organization_id


def create_team(db: Session, actor: Actor, name: str) -> Team:
    require_role(actor, "admin")
    org_id = _org_of(actor)
    name = name.strip()
    if not name or len(name) > MAX_NAME:
        raise Invalid(f"a team needs a name of 1–{MAX_NAME} characters", field="name")
    if db.scalar(select(Team).where(Team.organization_id == org_id, Team.name == name)):
        raise Conflict(f"a team named {name!r} exists", field="name")
    team = Team(organization_id=org_id, name=name)
    db.add(team)
    db.flush()
    audit.record(db, actor, "create", "team", team.id)
    return team


def team_for(db: Session, actor: Actor, team_id: str) -> Team:
    team = db.scalar(
        select(Team).where(Team.id == team_id, Team.organization_id == actor.organization_id)
    )
    if team is None:
        raise NotFound(f"no team {team_id}", field="team_id")
    return team


def team_named(db: Session, actor: Actor, name: str) -> Team:
    team = db.scalar(
        select(Team).where(Team.name == name, Team.organization_id == actor.organization_id)
    )
    if team is None:
        raise NotFound(f"no team named {name!r}", field="team")
    return team


def list_teams(db: Session, actor: Actor) -> list[Team]:
    require_role(actor, "admin", "supervisor", "clinician", "researcher")
    audit.record(db, actor, "list", "team")
    return list(
        db.scalars(
            select(Team).where(Team.organization_id == actor.organization_id).order_by(Team.name)
        )
    )


def create_user(
    db: Session,
    actor: Actor,
    *,
    username: str,
    role: str,
    password: str | None,
    display_name: str | None = None,
    email: str | None = None,
    team_id: str | None = None,
) -> User:
    require_role(actor, "admin")
    org_id = _org_of(actor)
    username = username.strip().lower()
    if not USERNAME.match(username):
        raise Invalid(
            "a username is 2–64 lowercase letters, digits or . _ @ -, starting with a letter "
            "or digit",
            field="username",
            value=username,
        )
    if role not in ROLES:
        raise _unknown_role(role)
    if team_id is not None:
        team_for(db, actor, team_id)
    if role == "supervisor" and team_id is None:
        raise Invalid("a supervisor needs the team they supervise", field="team_id")
    name = _display_name(display_name, username)
    if email is not None and len(email) > MAX_EMAIL:
        raise Invalid(f"an e-mail address has at most {MAX_EMAIL} characters", field="email")
    if password is not None:
        check_password_strength(password, context=(username, name))
    user = User(
        organization_id=org_id,
        username=username,
        display_name=name,
        email=email,
        role=role,
        team_id=team_id,
        password_hash=hash_password(password) if password else None,
    )
    if db.scalar(select(User.id).where(User.username == username)):
        raise Conflict(f"the username {username!r} is taken", field="username")
    try:
        with db.begin_nested():
            db.add(user)
    except IntegrityError:
        raise Conflict(f"the username {username!r} is taken", field="username") from None
    audit.record(db, actor, "create", "user", user.id, role=role)
    return user


def _unknown_role(role: str) -> Invalid:
    allowed = ", ".join(ROLES)
    return Invalid(f"unknown role {role!r}; the roles are {allowed}", field="role", value=role,
                   allowed=allowed)  # fmt: skip


def user_for(db: Session, actor: Actor, user_id: str) -> User:
    user = db.scalar(
        select(User).where(User.id == user_id, User.organization_id == actor.organization_id)
    )
    if user is None:
        raise NotFound(f"no user {user_id}")
    return user


def update_user(
    db: Session,
    actor: Actor,
    user_id: str,
    *,
    role: str | None = None,
    team_id: str | None = None,
    clear_team: bool = False,
    active: bool | None = None,
    display_name: str | None = None,
    password: str | None = None,
) -> User:
    require_role(actor, "admin")
    user = user_for(db, actor, user_id)
    changed: list[str] = []
    if role is not None:
        if role not in ROLES:
            raise _unknown_role(role)
        user.role = role
        changed.append("role")
    if team_id is not None:
        team_for(db, actor, team_id)
        user.team_id = team_id
        changed.append("team")
    elif clear_team:
        user.team_id = None
        changed.append("team")
    if user.role == "supervisor" and user.team_id is None:
        raise Invalid("a supervisor needs the team they supervise", field="team_id")
    if active is not None:
        if not active and user.id == actor.user_id:
            raise Invalid("you cannot deactivate your own account", field="active")
        user.active = active
        if not active:
            end_sessions(db, user.id)  # a disabled account's open sessions and tokens end too
        changed.append("active")
    if display_name is not None:
        user.display_name = _display_name(display_name, user.username)
        changed.append("display_name")
    if password is not None:
        check_password_strength(password, context=(user.username, user.display_name))
        user.password_hash = hash_password(password)
        end_sessions(db, user.id)  # whoever held a session or token with the old one is out
        changed.append("password")
    audit.record(db, actor, "update", "user", user.id, changed=changed)
    return user


@dataclass(frozen=True)
class UserList:
    users: list[User]
    count: int


def list_users(db: Session, actor: Actor) -> UserList:
    require_role(actor, "admin", "supervisor")
    query = select(User).where(User.organization_id == actor.organization_id)
    if actor.role == "supervisor":
        query = query.where(User.team_id == actor.team_id)
    users = list(db.scalars(query.order_by(User.username)))
    audit.record(db, actor, "list", "user", count=len(users))
    return UserList(users, len(users))


def count_users(db: Session, organization_id: str) -> int:
    return int(
        db.scalar(
            select(func.count()).select_from(User).where(User.organization_id == organization_id)
        )
        or 0
    )
