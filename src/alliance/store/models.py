"""The clinical record: organizations, teams, users, clients, episodes, sessions,
administrations (raw answers, never overwritten) and their derived scores."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import (
    BigInteger,
    Boolean,
    CheckConstraint,
    Date,
    Float,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
    false,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from alliance.store.base import Base, JSONType, UTCDateTime, new_id, utcnow

ROLES = ("clinician", "supervisor", "researcher", "admin")
END_REASONS = ("completed", "dropped_out", "referred", "moved", "other")
PERSPECTIVES = ("client", "clinician", "observer")
STANCES = ("self", "prediction")
SOURCES = ("clinician", "client_link", "api", "import")


def _in(column: str, values: tuple[str, ...]) -> CheckConstraint:
    listed = ", ".join(f"'{v}'" for v in values)
    return CheckConstraint(f"{column} IN ({listed})", name=f"{column}_allowed")


class Organization(Base):
    """A clinic or service: the tenant boundary. No data crosses it."""

    __tablename__ = "organizations"

    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    name: Mapped[str] = mapped_column(String(200), unique=True)
    # words the pages use: {"client": "patient", "clinician": "nurse"}
    terms: Mapped[dict[str, str]] = mapped_column(JSONType, default=dict)
    # per-organization alert rules and thresholds (plain data, see alliance.feedback)
    feedback_config: Mapped[dict[str, Any]] = mapped_column(JSONType, default=dict)
    # instrument ids offered to clinicians; empty means every instrument with a client form
    enabled_instruments: Mapped[list[str]] = mapped_column(JSONType, default=list)
    # whether supervisors may see their team members' calibration (clinician learning)
    supervisors_see_calibration: Mapped[bool] = mapped_column(
        Boolean, default=False, server_default=false()
    )
    # how many goals an episode may hold at once (goal-based outcomes agree up to three)
    max_goals: Mapped[int] = mapped_column(Integer, default=3, server_default="3")
    # records are kept this many years after a client's last episode ended; None: until erased
    retention_years: Mapped[int | None] = mapped_column(Integer)
    # whether an erasure keeps the client's answers and scores, de-identified, for statistics
    erasure_keeps_scores: Mapped[bool] = mapped_column(
        Boolean, default=False, server_default=false()
    )
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)


class Team(Base):
    """Clinicians under a supervisor."""

    __tablename__ = "teams"
    __table_args__ = (UniqueConstraint("organization_id", "name"),)

    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    organization_id: Mapped[str] = mapped_column(ForeignKey("organizations.id"), index=True)
    name: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)


class User(Base):
    """A person who logs in. A supervisor supervises the team they belong to."""

    __tablename__ = "users"
    __table_args__ = (_in("role", ROLES),)

    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    organization_id: Mapped[str] = mapped_column(ForeignKey("organizations.id"), index=True)
    username: Mapped[str] = mapped_column(String(200), unique=True)
    display_name: Mapped[str] = mapped_column(String(200))
    email: Mapped[str | None] = mapped_column(String(320))
    role: Mapped[str] = mapped_column(String(20))
    team_id: Mapped[str | None] = mapped_column(ForeignKey("teams.id"), index=True)
    password_hash: Mapped[str | None] = mapped_column(String(200))
    totp_secret: Mapped[str | None] = mapped_column(String(64))
    # the 30-second step of the last one-time code accepted: no code works twice
    totp_last_step: Mapped[int | None] = mapped_column(BigInteger)
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)


class Client(Base):
    """A person in care, known by a pseudonymous code unique among the clients of their
    clinician (and, as the service registers them, among the clients the registering person
    can see): codes held by clients someone cannot see are none of their business."""

    __tablename__ = "clients"
    __table_args__ = (UniqueConstraint("organization_id", "clinician_id", "code"),)

    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    organization_id: Mapped[str] = mapped_column(ForeignKey("organizations.id"), index=True)
    code: Mapped[str] = mapped_column(String(64))
    clinician_id: Mapped[str] = mapped_column(ForeignKey("users.id"), index=True)
    language: Mapped[str] = mapped_column(String(20), default="en")
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)

    contact: Mapped[ClientContact | None] = relationship(back_populates="client")


class ClientContact(Base):
    """Identifying contact data, optional and kept apart from the clinical record."""

    __tablename__ = "client_contacts"

    client_id: Mapped[str] = mapped_column(ForeignKey("clients.id"), primary_key=True)
    name: Mapped[str | None] = mapped_column(String(200))
    email: Mapped[str | None] = mapped_column(String(320))
    phone: Mapped[str | None] = mapped_column(String(40))
    updated_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)

    client: Mapped[Client] = relationship(back_populates="contact")


class ClientIdentifier(Base):
    """An identifier another system gives the client (an EHR's MRN: ``system`` + ``value``),
    identifying data kept apart like the contact details; imports match patients by it."""

    __tablename__ = "client_identifiers"
    __table_args__ = (UniqueConstraint("organization_id", "system", "value"),)

    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    organization_id: Mapped[str] = mapped_column(ForeignKey("organizations.id"))
    client_id: Mapped[str] = mapped_column(ForeignKey("clients.id"), index=True)
    system: Mapped[str] = mapped_column(String(255))
    value: Mapped[str] = mapped_column(String(255))
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)


class Episode(Base):
    """One course of care of a client with a clinician."""

    __tablename__ = "episodes"
    __table_args__ = (
        CheckConstraint(
            f"end_reason IS NULL OR end_reason IN ({', '.join(repr(r) for r in END_REASONS)})",
            name="end_reason_allowed",
        ),
    )

    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    client_id: Mapped[str] = mapped_column(ForeignKey("clients.id"), index=True)
    clinician_id: Mapped[str] = mapped_column(ForeignKey("users.id"), index=True)
    started_on: Mapped[dt.date] = mapped_column(Date)
    ended_on: Mapped[dt.date | None] = mapped_column(Date)
    end_reason: Mapped[str | None] = mapped_column(String(20))
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)


class Session(Base):
    """One meeting in an episode."""

    __tablename__ = "sessions"
    __table_args__ = (UniqueConstraint("episode_id", "number"),)

    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    episode_id: Mapped[str] = mapped_column(ForeignKey("episodes.id"), index=True)
    number: Mapped[int] = mapped_column(Integer)
    date: Mapped[dt.date] = mapped_column(Date)
    attended: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)


class Administration(Base):
    """One completed instrument: the answers exactly as given, never changed.

    A correction is a new administration whose ``supersedes_id`` names the one it replaces;
    the replaced one gets ``superseded_at``. A session holds at most one *current* rating
    (``superseded_at`` empty) per instrument, perspective, stance and ``rater``
    (``uq_administrations_current``, a partial unique index). ``idempotency_key`` is unique
    per organization, so a resubmission stores nothing new.
    """

    __tablename__ = "administrations"
    __table_args__ = (
        UniqueConstraint("organization_id", "idempotency_key"),
        _in("perspective", PERSPECTIVES),
        _in("stance", STANCES),
        _in("source", SOURCES),
    )

    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    organization_id: Mapped[str] = mapped_column(ForeignKey("organizations.id"))
    session_id: Mapped[str] = mapped_column(ForeignKey("sessions.id"), index=True)
    instrument: Mapped[str] = mapped_column(String(64))
    version: Mapped[str] = mapped_column(String(20))
    perspective: Mapped[str] = mapped_column(String(20))
    stance: Mapped[str] = mapped_column(String(20), default="self")
    answers: Mapped[dict[str, float | None]] = mapped_column(JSONType)
    language: Mapped[str | None] = mapped_column(String(20))
    licensed_wording: Mapped[bool] = mapped_column(Boolean, default=False)
    source: Mapped[str] = mapped_column(String(20))
    entered_by: Mapped[str | None] = mapped_column(ForeignKey("users.id"))
    entered_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    idempotency_key: Mapped[str] = mapped_column(String(200))
    supersedes_id: Mapped[str | None] = mapped_column(ForeignKey("administrations.id"), index=True)
    correction_reason: Mapped[str | None] = mapped_column(Text)
    # who rated: "client" for the client's own rating (one client per episode), else the id
    # of the user whose rating it is (``services/records/raters.py``)
    rater: Mapped[str] = mapped_column(String(36))
    # when a correction replaced it; empty while it is the current rating
    superseded_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)


class Score(Base):
    """A scale value derived from an administration by a named scoring version."""

    __tablename__ = "scores"
    __table_args__ = (UniqueConstraint("administration_id", "scale", "scoring_version"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    administration_id: Mapped[str] = mapped_column(ForeignKey("administrations.id"), index=True)
    scale: Mapped[str] = mapped_column(String(64))
    value: Mapped[float | None] = mapped_column(Float)
    band: Mapped[str | None] = mapped_column(String(64))
    answered: Mapped[int] = mapped_column(Integer)
    scoring_version: Mapped[str] = mapped_column(String(20))
    computed_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)


class RuptureReport(Base):
    """A rater's report that they noticed a rupture in a session, with an optional note."""

    __tablename__ = "rupture_reports"
    __table_args__ = (_in("perspective", PERSPECTIVES),)

    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    session_id: Mapped[str] = mapped_column(ForeignKey("sessions.id"), index=True)
    perspective: Mapped[str] = mapped_column(String(20))
    reported_by: Mapped[str | None] = mapped_column(ForeignKey("users.id"))
    note: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)


Index(
    "ix_administrations_org_instrument", Administration.organization_id, Administration.instrument
)
CURRENT_RATING = (
    Administration.session_id,
    Administration.instrument,
    Administration.perspective,
    Administration.stance,
    Administration.rater,
)
"""What a session holds one current rating of."""
Index(
    "uq_administrations_current",
    *CURRENT_RATING,
    unique=True,
    sqlite_where=Administration.superseded_at.is_(None),
    postgresql_where=Administration.superseded_at.is_(None),
)


GOAL_PROPOSERS = ("client", "clinician", "together")
GOAL_STATES = ("active", "achieved", "no_longer_wanted", "changed")
GOAL_CHANGES = ("agreed", "revised", "closed")
GOAL_RATERS = ("client", "clinician")


class Goal(Base):
    """One version of a goal agreed in an episode, in the client's own words.

    A goal is never overwritten: a revision or a closure adds a version with the same
    ``goal_id`` (the id of its first version) and the next ``version``, and marks the one
    before ``superseded_at``; one version per goal is current (``uq_goals_current``). A goal
    that replaces another names it in ``replaces_goal_id`` (the other is closed ``changed``).
    """

    __tablename__ = "goals"
    __table_args__ = (
        UniqueConstraint("goal_id", "version"),
        _in("proposed_by", GOAL_PROPOSERS),
        _in("status", GOAL_STATES),
        _in("change", GOAL_CHANGES),
    )

    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    organization_id: Mapped[str] = mapped_column(ForeignKey("organizations.id"))
    episode_id: Mapped[str] = mapped_column(ForeignKey("episodes.id"), index=True)
    goal_id: Mapped[str] = mapped_column(String(36), index=True)  # the first version's id
    version: Mapped[int] = mapped_column(Integer)
    description: Mapped[str] = mapped_column(Text)  # the client's words: free text
    target: Mapped[str | None] = mapped_column(Text)  # what 10 would look like
    proposed_by: Mapped[str] = mapped_column(String(20))
    agreed_on: Mapped[dt.date] = mapped_column(Date)
    status: Mapped[str] = mapped_column(String(20), default="active")
    change: Mapped[str] = mapped_column(String(20))  # what this version did
    reason: Mapped[str | None] = mapped_column(Text)  # why it was revised or closed
    replaces_goal_id: Mapped[str | None] = mapped_column(String(36))
    recorded_by: Mapped[str | None] = mapped_column(ForeignKey("users.id"))
    recorded_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    superseded_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)


Index(
    "uq_goals_current",
    Goal.goal_id,
    unique=True,
    sqlite_where=Goal.superseded_at.is_(None),
    postgresql_where=Goal.superseded_at.is_(None),
)


class GoalRating(Base):
    """Progress towards a goal in a session, 0–10, by the client or the clinician. A new
    rating of the same goal, session and rater supersedes the one before (kept)."""

    __tablename__ = "goal_ratings"
    __table_args__ = (
        _in("rater", GOAL_RATERS),
        _in("source", SOURCES),
        CheckConstraint("value BETWEEN 0 AND 10", name="value_range"),
    )

    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    organization_id: Mapped[str] = mapped_column(ForeignKey("organizations.id"))
    goal_id: Mapped[str] = mapped_column(ForeignKey("goals.id"), index=True)
    session_id: Mapped[str] = mapped_column(ForeignKey("sessions.id"), index=True)
    rater: Mapped[str] = mapped_column(String(20))
    value: Mapped[int] = mapped_column(Integer)
    source: Mapped[str] = mapped_column(String(20))
    entered_by: Mapped[str | None] = mapped_column(ForeignKey("users.id"))
    entered_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    superseded_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)


Index(
    "uq_goal_ratings_current",
    GoalRating.goal_id,
    GoalRating.session_id,
    GoalRating.rater,
    unique=True,
    sqlite_where=GoalRating.superseded_at.is_(None),
    postgresql_where=GoalRating.superseded_at.is_(None),
)


DATE_MODES = ("shift", "days")


class Study(Base):
    """A research study of the organization: the settings of its de-identified export and
    the secret its pseudonyms and date offsets are derived from. The secret never leaves
    the service, so nobody who only holds the export can recompute a pseudonym from a code."""

    __tablename__ = "studies"
    __table_args__ = (UniqueConstraint("organization_id", "name"), _in("date_mode", DATE_MODES))

    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    organization_id: Mapped[str] = mapped_column(ForeignKey("organizations.id"), index=True)
    name: Mapped[str] = mapped_column(String(200))
    secret: Mapped[str] = mapped_column(String(64))  # 32 random bytes, hex
    date_mode: Mapped[str] = mapped_column(String(10), default="shift")
    k: Mapped[int] = mapped_column(Integer, default=5)  # the smallest group of clients
    max_shift_days: Mapped[int] = mapped_column(Integer, default=182)
    created_by: Mapped[str | None] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
