"""Passwords, login sessions, API tokens and the login rate limit.

Passwords are hashed with argon2id. Session cookies and API tokens are random; only their
SHA-256 is stored, so a copy of the database does not let anyone log in. Failed logins are
counted in the database per account and per address, so every worker enforces one limit.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import secrets
from dataclasses import dataclass

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError
from sqlalchemy import delete, func, select
from sqlalchemy.orm import InstrumentedAttribute, Session

from alliance.services import audit
from alliance.services.context import Actor
from alliance.services.errors import Invalid, NotFound, RateLimited, Unauthenticated
from alliance.store.base import utcnow
from alliance.store.models import User
from alliance.store.security import ApiToken, LoginAttempt, LoginSession

_hasher = PasswordHasher()
MIN_PASSWORD = 10
# a hash to verify against when the username is unknown, so timing does not reveal it
_DUMMY_HASH = _hasher.hash("not a real password, only for timing")


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def check_password_strength(password: str) -> None:
    if len(password) < MIN_PASSWORD:
        raise Invalid(f"a password needs at least {MIN_PASSWORD} characters", field="password")


def token_digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def actor_for(user: User, *, kind: str = "user", address: str | None = None) -> Actor:
    return Actor(
        kind="token" if kind == "token" else "user",
        user_id=user.id,
        organization_id=user.organization_id,
        role=user.role,  # type: ignore[arg-type]
        team_id=user.team_id,
        address=address,
    )


@dataclass(frozen=True)
class LoginResult:
    token: str
    csrf_token: str
    user: User
    expires_at: dt.datetime


def _recent_failures(
    db: Session, column: InstrumentedAttribute[str], value: str, since: dt.datetime
) -> int:
    query = (
        select(func.count())
        .select_from(LoginAttempt)
        .where(column == value, LoginAttempt.at >= since)
    )
    return int(db.scalar(query) or 0)


def login(
    db: Session,
    username: str,
    password: str,
    *,
    address: str,
    session_hours: float,
    max_attempts: int,
    window_minutes: float,
) -> LoginResult:
    """Check the password and open a session, refusing after too many recent failures."""
    username = username.strip().lower()
    now = utcnow()
    since = now - dt.timedelta(minutes=window_minutes)
    by_account = _recent_failures(db, LoginAttempt.username, username, since)
    by_address = _recent_failures(db, LoginAttempt.address, address, since)
    if by_account >= max_attempts or by_address >= max_attempts * 4:
        audit.record(
            db, Actor(kind="user", address=address), "login_refused", "user", reason="rate_limited"
        )
        raise RateLimited(
            "too many failed logins; wait a few minutes and try again",
            retry_after=int(window_minutes * 60),
        )
    user = db.scalar(select(User).where(User.username == username))
    ok = False
    try:
        ok = _hasher.verify(
            user.password_hash if user and user.password_hash else _DUMMY_HASH, password
        )
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        ok = False
    if not ok or user is None or not user.active or not user.password_hash:
        db.add(LoginAttempt(username=username, address=address, at=now))
        audit.record(
            db,
            Actor(
                kind="user",
                organization_id=user.organization_id if user else None,
                user_id=user.id if user else None,
                address=address,
            ),
            "login_failed",
            "user",
            user.id if user else None,
        )
        raise Unauthenticated("wrong username or password")
    if _hasher.check_needs_rehash(user.password_hash):
        user.password_hash = hash_password(password)
    db.execute(delete(LoginAttempt).where(LoginAttempt.username == username))
    token = secrets.token_urlsafe(32)
    csrf = secrets.token_urlsafe(24)
    expires = now + dt.timedelta(hours=session_hours)
    db.add(
        LoginSession(
            token_hash=token_digest(token),
            user_id=user.id,
            csrf_token=csrf,
            created_at=now,
            expires_at=expires,
        )
    )
    audit.record(db, actor_for(user, address=address), "login", "user", user.id)
    return LoginResult(token=token, csrf_token=csrf, user=user, expires_at=expires)


@dataclass(frozen=True)
class SessionInfo:
    actor: Actor
    user: User
    csrf_token: str


def session_actor(db: Session, token: str, *, address: str | None) -> SessionInfo | None:
    """The user behind a session cookie, or None if it is unknown, expired or deactivated."""
    row = db.execute(
        select(LoginSession, User)
        .join(User, User.id == LoginSession.user_id)
        .where(LoginSession.token_hash == token_digest(token))
    ).one_or_none()
    if row is None:
        return None
    session, user = row
    if session.expires_at <= utcnow() or not user.active:
        return None
    return SessionInfo(actor_for(user, address=address), user, session.csrf_token)


def logout(db: Session, token: str, actor: Actor) -> None:
    db.execute(delete(LoginSession).where(LoginSession.token_hash == token_digest(token)))
    audit.record(db, actor, "logout", "user", actor.user_id)


def create_api_token(db: Session, actor: Actor, name: str) -> tuple[ApiToken, str]:
    """A new token acting as ``actor``'s user; the raw token is returned once, never stored."""
    if actor.user_id is None or actor.kind != "user":
        raise Invalid("API tokens are created by a logged-in user", field="name")
    name = name.strip()
    if not name:
        raise Invalid("give the token a name (what uses it)", field="name")
    raw = "alt_" + secrets.token_urlsafe(32)
    token = ApiToken(user_id=actor.user_id, name=name, token_hash=token_digest(raw))
    db.add(token)
    db.flush()
    audit.record(db, actor, "create", "api_token", token.id)
    return token, raw


def list_api_tokens(db: Session, actor: Actor) -> list[ApiToken]:
    return list(
        db.scalars(
            select(ApiToken).where(ApiToken.user_id == actor.user_id, ApiToken.revoked_at.is_(None))
        )
    )


def revoke_api_token(db: Session, actor: Actor, token_id: str) -> None:
    token = db.scalar(
        select(ApiToken).where(ApiToken.id == token_id, ApiToken.user_id == actor.user_id)
    )
    if token is None:
        raise NotFound(f"no API token {token_id}")
    token.revoked_at = utcnow()
    audit.record(db, actor, "revoke", "api_token", token.id)


def token_actor(db: Session, raw: str, *, address: str | None) -> Actor | None:
    row = db.execute(
        select(ApiToken, User)
        .join(User, User.id == ApiToken.user_id)
        .where(ApiToken.token_hash == token_digest(raw))
    ).one_or_none()
    if row is None:
        return None
    token, user = row
    if token.revoked_at is not None or not user.active:
        return None
    return actor_for(user, kind="token", address=address)
