"""Passwords, login sessions, API tokens, one-time codes and the login rate limits.

Passwords are hashed with argon2id and must not be easy to guess: besides a minimum length,
each is scored by zxcvbn, an estimator of how many guesses a password would take that knows
common passwords, names, words, keyboard patterns, dates and repeats (NIST SP 800-63B asks
for a check against such lists instead of composition rules). Session cookies and API tokens
are random; only their SHA-256 is stored, so a copy of the database does not let anyone log
in. Failed logins are counted in the database per account and per address, so every worker
enforces one limit. Wrong one-time codes are counted apart, per account, and a right password
does not clear them: knowing the password gives a few code guesses per window, no more. A
one-time code works once.
"""

from __future__ import annotations

import datetime as dt
import functools
import hashlib
import hmac
import secrets
import time
from collections.abc import Sequence
from dataclasses import dataclass

import pyotp
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError
from sqlalchemy import delete, func, select, update
from sqlalchemy.orm import InstrumentedAttribute, Session
from zxcvbn import zxcvbn

from alliance.services import audit
from alliance.services.context import Actor
from alliance.services.errors import Invalid, NotFound, RateLimited, Unauthenticated
from alliance.store.base import utcnow
from alliance.store.models import User
from alliance.store.security import ApiToken, LoginAttempt, LoginSession

_hasher = PasswordHasher()
MIN_PASSWORD = 10
MAX_PASSWORD = 1000
# zxcvbn's own limit: its search grows steeply with length (256 random characters took 38 s
# here), and a password whose first 72 characters are hard to guess is hard to guess.
STRENGTH_CHARS = 72
MIN_STRENGTH = 3  # zxcvbn's scale 0-4; 3: "safely unguessable", about 10^10 guesses or more
STRENGTH_ALLOWED = (
    f"{MIN_PASSWORD}–{MAX_PASSWORD} characters, not a common password, word, name, date, "
    "keyboard pattern or repeat, nor your username; a few unrelated words make a strong one"
)
CODE_PROBE = "(one-time code) "
# a hash to verify against when the username is unknown, so timing does not reveal it


@functools.cache
def _dummy_hash() -> str:
    """A hash to verify against when no user matches (same work, same timing); made on first
    use, not at import (hashing takes about a second on a slow machine)."""
    return _hasher.hash("not a real password, only for timing")


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def check_password_strength(password: str, *, context: Sequence[str | None] = ()) -> None:
    """Refuse a password that is too short, too long, or easy to guess (zxcvbn score below
    ``MIN_STRENGTH``); ``context`` holds words of the account (username, name) that a guesser
    would try first."""
    if len(password) < MIN_PASSWORD or len(password) > MAX_PASSWORD:
        raise Invalid(
            f"a password needs {MIN_PASSWORD} to {MAX_PASSWORD} characters",
            field="password",
            allowed=STRENGTH_ALLOWED,
        )
    words = [w for w in context if w]
    estimate = zxcvbn(password[:STRENGTH_CHARS], user_inputs=words)
    if int(estimate["score"]) < MIN_STRENGTH:
        why = str(estimate["feedback"].get("warning") or "").strip().rstrip(".")
        raise Invalid(
            "this password is too easy to guess"
            + (f" ({why[:1].lower()}{why[1:]})" if why else ""),
            field="password",
            allowed=STRENGTH_ALLOWED,
        )


def end_sessions(db: Session, user_id: str) -> None:
    """Log the user out everywhere and revoke their API tokens (after a password reset)."""
    db.execute(delete(LoginSession).where(LoginSession.user_id == user_id))
    db.execute(
        update(ApiToken)
        .where(ApiToken.user_id == user_id, ApiToken.revoked_at.is_(None))
        .values(revoked_at=utcnow())
    )


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
    needs_code: bool = False


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
            user.password_hash if user and user.password_hash else _dummy_hash(), password
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
    needs_code = user.totp_secret is not None
    db.add(
        LoginSession(
            token_hash=token_digest(token),
            user_id=user.id,
            csrf_token=csrf,
            created_at=now,
            expires_at=expires,
            second_factor_done=not needs_code,
        )
    )
    audit.record(
        db, actor_for(user, address=address), "login", "user", user.id, second_factor=needs_code
    )
    return LoginResult(
        token=token, csrf_token=csrf, user=user, expires_at=expires, needs_code=needs_code
    )


@dataclass(frozen=True)
class SessionInfo:
    actor: Actor
    user: User
    csrf_token: str
    second_factor_done: bool = True


def session_actor(
    db: Session, token: str, *, address: str | None, partial: bool = False
) -> SessionInfo | None:
    """The user behind a session cookie, or None if it is unknown, expired or deactivated,
    or still waits for its one-time code (unless ``partial``)."""
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
    if not session.second_factor_done and not partial:
        return None
    return SessionInfo(
        actor_for(user, address=address), user, session.csrf_token, session.second_factor_done
    )


def _totp_step(secret: str, code: str, *, after: int | None = None) -> int | None:
    """The time step (30 s) whose code ``code`` is — the current one or a neighbour, for
    clocks a little apart — or None. A step at or before ``after`` (the last one used) does
    not count, so a code works once."""
    code = "".join(ch for ch in code if ch.isdigit())
    if len(code) != 6:
        return None
    totp = pyotp.TOTP(secret)
    current = totp.timecode(dt.datetime.fromtimestamp(time.time(), dt.UTC))
    for step in (current - 1, current, current + 1):
        if after is not None and step <= after:
            continue
        if hmac.compare_digest(totp.generate_otp(step), code):
            return step
    return None


def complete_second_factor(
    db: Session,
    token: str,
    code: str,
    *,
    address: str,
    max_attempts: int,
    window_minutes: float,
) -> SessionInfo:
    """Check the one-time code of a login waiting for it. Wrong codes are counted per
    account on their own (a right password does not clear them); after ``max_attempts``
    within the window the code step is refused until the window has passed."""
    info = session_actor(db, token, address=address, partial=True)
    if info is None or info.user.totp_secret is None:
        raise Unauthenticated("log in again")
    probe = CODE_PROBE + info.user.username
    since = utcnow() - dt.timedelta(minutes=window_minutes)
    if _recent_failures(db, LoginAttempt.username, probe, since) >= max_attempts:
        audit.record(db, info.actor, "second_factor_refused", "user", info.user.id)
        raise RateLimited(
            "too many wrong codes; wait a few minutes", retry_after=int(window_minutes * 60)
        )
    step = _totp_step(info.user.totp_secret, code, after=info.user.totp_last_step)
    if step is None:
        db.add(LoginAttempt(username=probe, address=address))
        audit.record(db, info.actor, "second_factor_failed", "user", info.user.id)
        raise Unauthenticated("that code is not right; try the current one")
    info.user.totp_last_step = step
    db.execute(delete(LoginAttempt).where(LoginAttempt.username == probe))
    db.execute(
        update(LoginSession)
        .where(LoginSession.token_hash == token_digest(token))
        .values(second_factor_done=True)
    )
    audit.record(db, info.actor, "second_factor", "user", info.user.id)
    return SessionInfo(info.actor, info.user, info.csrf_token, True)


def new_totp_secret() -> str:
    return pyotp.random_base32()


def totp_uri(secret: str, username: str, issuer: str = "alliance") -> str:
    return pyotp.TOTP(secret).provisioning_uri(name=username, issuer_name=issuer)


def _password_matches(user: User, password: str) -> bool:
    try:
        return bool(user.password_hash) and _hasher.verify(str(user.password_hash), password)
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        return False


def enable_totp(
    db: Session,
    actor: Actor,
    secret: str,
    code: str,
    *,
    password: str,
    max_attempts: int,
    window_minutes: float,
) -> None:
    """Turn on one-time codes for the acting user, after they confirm their password and
    prove their app has the secret. A wrong password counts as a failed login."""
    user = db.get(User, actor.user_id) if actor.user_id else None
    if user is None:
        raise Unauthenticated("log in first")
    since = utcnow() - dt.timedelta(minutes=window_minutes)
    if _recent_failures(db, LoginAttempt.username, user.username, since) >= max_attempts:
        raise RateLimited(
            "too many wrong passwords; wait a few minutes", retry_after=int(window_minutes * 60)
        )
    if not _password_matches(user, password):
        db.add(LoginAttempt(username=user.username, address=actor.address or "unknown"))
        audit.record(db, actor, "enable_second_factor_refused", "user", user.id)
        raise Invalid("that is not your password", field="password")
    step = _totp_step(secret, code)
    if step is None:
        raise Invalid(
            "that code does not match; scan the code again and enter the current one", field="code"
        )
    user.totp_secret = secret
    user.totp_last_step = step  # the code just shown does not open a login as well
    audit.record(db, actor, "enable_second_factor", "user", user.id)


def disable_totp(db: Session, actor: Actor, code: str) -> None:
    user = db.get(User, actor.user_id) if actor.user_id else None
    if user is None or user.totp_secret is None:
        raise Invalid("one-time codes are not on", field="code")
    step = _totp_step(user.totp_secret, code, after=user.totp_last_step)
    if step is None:
        raise Invalid("that code is not right", field="code")
    user.totp_secret = None
    user.totp_last_step = None
    audit.record(db, actor, "disable_second_factor", "user", user.id)


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
