"""Login sessions, API tokens, login attempts and client links.

Everything a stateless web worker must share with the others lives here, in the database:
no worker keeps sessions, rate limits or link use in memory. Tokens are stored hashed.
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import Boolean, ForeignKey, Index, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from alliance.store.base import Base, JSONType, UTCDateTime, new_id, utcnow


class LoginSession(Base):
    """A browser login. The cookie holds the token; only its SHA-256 is stored."""

    __tablename__ = "login_sessions"

    token_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    user_id: Mapped[str] = mapped_column(ForeignKey("users.id"), index=True)
    csrf_token: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    expires_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    second_factor_done: Mapped[bool] = mapped_column(Boolean, default=True)


class ApiToken(Base):
    """A token for an integration, acting as its user. Only its SHA-256 is stored."""

    __tablename__ = "api_tokens"

    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    user_id: Mapped[str] = mapped_column(ForeignKey("users.id"), index=True)
    name: Mapped[str] = mapped_column(String(200))
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    revoked_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)


class LoginAttempt(Base):
    """A failed login, counted per account and per address to rate-limit guessing."""

    __tablename__ = "login_attempts"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    username: Mapped[str] = mapped_column(String(200))
    address: Mapped[str] = mapped_column(String(64))
    at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)


Index("ix_login_attempts_username_at", LoginAttempt.username, LoginAttempt.at)
Index("ix_login_attempts_address_at", LoginAttempt.address, LoginAttempt.at)


class ClientLink(Base):
    """A single-use, expiring link for a client to fill one or more measures, in order, for
    one session. ``measures`` lists them (``[instrument, version]``; empty on links made
    before: their one ``instrument``); ``answered`` counts those sent so far, each stored when
    sent; ``used_at`` is set when the last is sent, ``administration_id`` is the latest."""

    __tablename__ = "client_links"

    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    organization_id: Mapped[str] = mapped_column(ForeignKey("organizations.id"))
    session_id: Mapped[str] = mapped_column(ForeignKey("sessions.id"), index=True)
    instrument: Mapped[str] = mapped_column(String(64))
    version: Mapped[str] = mapped_column(String(20))
    created_by: Mapped[str] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    expires_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    used_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    administration_id: Mapped[str | None] = mapped_column(ForeignKey("administrations.id"))
    sent_to: Mapped[str | None] = mapped_column(String(20))  # "email", "qr", "kiosk"
    reminded_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    measures: Mapped[list[list[str]] | None] = mapped_column(JSONType)
    answered: Mapped[int] = mapped_column(Integer, default=0, server_default="0")

    @property
    def steps(self) -> list[tuple[str, str]]:
        """The link's measures in order, as (instrument, version)."""
        if not self.measures:
            return [(self.instrument, self.version)]
        return [(m[0], m[1]) for m in self.measures]

    @property
    def measure_ids(self) -> list[str]:
        return [instrument for instrument, _ in self.steps]
