"""Request and response bodies of the JSON API (``XCreate`` in, ``XPublic`` out)."""

from __future__ import annotations

import datetime as dt
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from alliance.records import LAST_SESSION


class _In(BaseModel):
    model_config = ConfigDict(extra="forbid")


class _Out(BaseModel):
    model_config = ConfigDict(from_attributes=True)


class LoginIn(_In):
    username: str = Field(max_length=200)
    password: str = Field(max_length=1000)


class UserPublic(_Out):
    id: str
    username: str
    display_name: str
    role: str
    team_id: str | None
    active: bool


class LoginOut(BaseModel):
    user: UserPublic
    csrf_token: str
    expires_at: dt.datetime


class TokenIn(_In):
    name: str = Field(min_length=1, max_length=200)


class TokenPublic(_Out):
    id: str
    name: str
    created_at: dt.datetime


class TokenCreated(TokenPublic):
    token: str = Field(description="Shown once; only its hash is stored.")


class TeamIn(_In):
    name: str = Field(min_length=1, max_length=200)


class TeamPublic(_Out):
    id: str
    name: str


class UserIn(_In):
    username: str = Field(max_length=64)
    role: Literal["clinician", "supervisor", "researcher", "admin"]
    password: str | None = Field(default=None, max_length=1000)
    display_name: str | None = Field(default=None, max_length=200)
    email: str | None = Field(default=None, max_length=320)
    team_id: str | None = None


class UserUpdate(_In):
    role: Literal["clinician", "supervisor", "researcher", "admin"] | None = None
    team_id: str | None = None
    clear_team: bool = False
    active: bool | None = None
    display_name: str | None = Field(default=None, max_length=200)
    password: str | None = Field(default=None, max_length=1000)


class UsersPublic(BaseModel):
    data: list[UserPublic]
    count: int


class ContactIn(_In):
    name: str | None = Field(default=None, max_length=200)
    email: str | None = Field(default=None, max_length=320)
    phone: str | None = Field(default=None, max_length=40)


class IdentifierIn(_In):
    """Another system's identifier of the client (an EHR's MRN): imports match by it."""

    system: str = Field(min_length=1, max_length=255, pattern=r"^[^|]+$")
    value: str = Field(min_length=1, max_length=255, pattern=r"^[^|]+$")


class ClientIn(_In):
    code: str
    clinician_id: str | None = None
    language: str = Field(default="en", max_length=20)
    started_on: dt.date | None = None
    contact: ContactIn | None = None


class ClientPublic(_Out):
    id: str
    code: str
    clinician_id: str
    language: str
    created_at: dt.datetime


class EpisodeIn(_In):
    started_on: dt.date
    clinician_id: str | None = None


class EpisodeClose(_In):
    end_reason: str
    ended_on: dt.date


class EpisodePublic(_Out):
    id: str
    client_id: str
    clinician_id: str
    started_on: dt.date
    ended_on: dt.date | None
    end_reason: str | None


class ClientCreated(BaseModel):
    client: ClientPublic
    episode: EpisodePublic


class SessionIn(_In):
    date: dt.date
    number: int | None = Field(default=None, ge=1, le=LAST_SESSION)
    attended: bool = True


class SessionPublic(_Out):
    id: str
    episode_id: str
    number: int
    date: dt.date
    attended: bool


class AdministrationIn(_In):
    instrument: str
    version: str | None = None
    perspective: Literal["client", "clinician", "observer"] = "client"
    stance: Literal["self", "prediction"] = "self"
    answers: dict[str, Any]
    idempotency_key: str = Field(min_length=1, max_length=200)
    language: str | None = None


class CorrectionIn(_In):
    answers: dict[str, Any]
    reason: str = Field(min_length=1, max_length=2000)
    idempotency_key: str = Field(min_length=1, max_length=200)


class ScorePublic(_Out):
    scale: str
    value: float | None
    band: str | None
    answered: int
    scoring_version: str


class AdministrationPublic(_Out):
    id: str
    session_id: str
    instrument: str
    version: str
    perspective: str
    stance: str
    answers: dict[str, Any] = Field(description="The answers exactly as given.")
    source: str
    entered_at: dt.datetime
    supersedes_id: str | None


class SubmissionOut(BaseModel):
    administration: AdministrationPublic
    scores: list[ScorePublic]
    created: bool
    not_computed: dict[str, str]
    risk_items: list[str]


class RuptureIn(_In):
    note: str | None = Field(default=None, max_length=4000)


class RupturePublic(_Out):
    id: str
    session_id: str
    perspective: str
    note: str | None
    created_at: dt.datetime


class LinkIn(_In):
    instrument: str | None = Field(default=None, description="One measure (or use instruments).")
    instruments: list[str] | None = Field(
        default=None,
        min_length=1,
        max_length=5,
        description="Several measures, answered in this order on one link (ORS then SRS).",
    )
    version: str | None = Field(default=None, description="Only with a single instrument.")
    hours: float | None = None

    @model_validator(mode="after")
    def _one_way(self) -> LinkIn:
        if (self.instrument is None) == (self.instruments is None):
            raise ValueError("give instrument (one measure) or instruments (a list), not both")
        return self

    @property
    def measures(self) -> list[str]:
        return self.instruments if self.instruments is not None else [str(self.instrument)]


class LinkCreated(BaseModel):
    id: str
    url: str
    token: str
    expires_at: dt.datetime


class LinkPublic(_Out):
    id: str
    instrument: str  # the first measure
    version: str
    measures: list[str] = Field(validation_alias="measure_ids")  # every measure, in order
    answered: int  # how many of them were sent
    created_at: dt.datetime
    expires_at: dt.datetime
    used_at: dt.datetime | None


class LinkSubmitIn(_In):
    answers: dict[str, Any]
    idempotency_key: str = Field(min_length=1, max_length=200)
    language: str | None = None
    step: int | None = Field(
        default=None,
        ge=0,
        description="The measure these answers are for (0 = the first); by default the one due.",
    )


class AlertPublic(_Out):
    id: str
    client_id: str
    episode_id: str | None
    session_id: str | None
    rule: str
    priority: str
    reason: str
    next_steps: list[str]
    numbers: dict[str, Any]
    provenance: str | None
    state: str
    created_at: dt.datetime


class AlertAction(_In):
    note: str | None = Field(default=None, max_length=4000)


class FollowUpCreate(_In):
    """A risk alert's follow-up; ``resolve`` closes the alert with it (not when the outcome is
    ``not_reached``)."""

    outcome: str = Field(
        description="no_current_risk, safety_plan, referred, emergency_services or not_reached"
    )
    note: str = Field(max_length=4000, description="what was done and agreed")
    attempts: int = Field(default=1, description="tries to reach the client, the last included")
    contacted_at: dt.datetime | None = Field(
        default=None, description="when the client was reached, with a time zone; empty when not"
    )
    resolve: bool = False


class FollowUpPublic(_Out):
    id: str
    alert_id: str
    user_id: str | None
    contacted_at: dt.datetime | None
    attempts: int
    outcome: str
    note: str
    created_at: dt.datetime


class RiskRoutingPublic(_Out):
    """Who is told about risk alerts outside the app (the webhook secret is never shown)."""

    duty_email: str | None
    escalate_after_minutes: int
    webhook_url: str | None
    webhook_secret_set: bool
    crisis_contacts: str | None
    pending: int
    failed: int


class RiskRoutingUpdate(_In):
    duty_email: str | None = None
    escalate_after_minutes: int = 60
    webhook_url: str | None = None
    webhook_secret: str | None = Field(
        default=None, description="a new secret; omit to keep the stored one, '' to remove it"
    )
    crisis_contacts: str | None = Field(default=None, max_length=2000)


class AlertEventPublic(_Out):
    action: str
    user_id: str | None
    note: str | None
    at: dt.datetime


class CaseloadRowPublic(BaseModel):
    client_id: str
    code: str
    clinician_id: str
    clinician_name: str
    open_episode_id: str | None
    sessions: int
    last_session: dt.date | None
    rated_sessions: int
    completion: float | None
    alerts: dict[str, int]


class CaseloadPublic(BaseModel):
    data: list[CaseloadRowPublic]
    count: int


class TimelineAdministration(BaseModel):
    administration: AdministrationPublic
    scores: list[ScorePublic]
    current: bool
    superseded_by: str | None


class TimelineSession(BaseModel):
    session: SessionPublic
    administrations: list[TimelineAdministration]
    ruptures: list[RupturePublic]


class TimelineEpisode(BaseModel):
    episode: EpisodePublic
    sessions: list[TimelineSession]


class TimelinePublic(BaseModel):
    client: ClientPublic
    clinician: UserPublic
    episodes: list[TimelineEpisode]
    alerts: list[AlertPublic]


class ResearchExportIn(_In):
    study: str = Field(
        min_length=1,
        max_length=200,
        description="The study (its id or name; see GET /studies). Its secret, kept by the "
        "service, gives the pseudonyms and date offsets, and its settings the dates and k.",
    )


class StudyIn(_In):
    name: str = Field(min_length=1, max_length=200)
    date_mode: Literal["shift", "days"] = Field(
        default="shift",
        description="shift: each client's dates move by a secret offset; days: days since the "
        "episode's start replace dates.",
    )
    k: int = Field(
        default=5,
        ge=1,
        le=1000,
        description="Every combination of quasi-identifiers in the export describes at least "
        "k clients (generalised, else suppressed). 1 turns the protection off: only for data "
        "an agreement already covers.",
    )
    max_shift_days: int = Field(default=182, ge=1, le=3650)


class StudyPublic(_Out):
    """A study (its secret is never shown)."""

    id: str
    name: str
    date_mode: str
    k: int
    max_shift_days: int
    created_at: dt.datetime


class ImportOut(BaseModel):
    source: str
    format: str
    rows: int
    stored: int
    corrected: int = Field(
        description="Of the rows stored, those that corrected a rating the session already "
        "held (same instrument, perspective, stance and rater); the earlier one is kept as "
        "superseded."
    )
    already_stored: int
    clients_created: int
    episodes_created: int
    sessions_created: int
    risk_alerts: int
    skipped: int
    summary: str
