"""Clients, episodes, sessions, administrations, ruptures, timelines and the caseload."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, BackgroundTasks, Query

from alliance.services.records import care, clients, identifiers, timeline
from alliance.services.records.administrations import Submission, submit_administration
from alliance.services.records.corrections import correct_administration
from alliance.store.models import Client, ClientContact, Episode, RuptureReport
from alliance.store.models import Session as SessionRow
from alliance.web.api.deps import ActorDep, ClinicDep, DbDep
from alliance.web.api.schemas import (
    AdministrationIn,
    AdministrationPublic,
    AlertPublic,
    CaseloadPublic,
    CaseloadRowPublic,
    ClientCreated,
    ClientIn,
    ClientPublic,
    ContactIn,
    CorrectionIn,
    EpisodeClose,
    EpisodeIn,
    EpisodePublic,
    IdentifierIn,
    RuptureIn,
    RupturePublic,
    ScorePublic,
    SessionIn,
    SessionPublic,
    SubmissionOut,
    TimelineAdministration,
    TimelineEpisode,
    TimelinePublic,
    TimelineSession,
    UserPublic,
)
from alliance.web.clinic import after_submission, analyse

router = APIRouter(tags=["clinical"])


@router.post("/clients", response_model=ClientCreated, status_code=201)
def register_client(body: ClientIn, db: DbDep, actor: ActorDep, clinic: ClinicDep) -> ClientCreated:
    """Register a client (a pseudonymous code) with a first episode; ``language`` is one of
    the site's languages (``ALLIANCE_LANGUAGES``, BCP 47 tags)."""
    client, episode = clients.register_client(
        db,
        actor,
        code=body.code,
        clinician_id=body.clinician_id,
        language=body.language,
        languages=clinic.languages,
        contact=body.contact.model_dump() if body.contact else None,
        started_on=body.started_on,
    )
    db.commit()
    return ClientCreated(
        client=ClientPublic.model_validate(client), episode=EpisodePublic.model_validate(episode)
    )


@router.get("/clients", response_model=CaseloadPublic)
def caseload(
    db: DbDep,
    actor: ActorDep,
    scope: Literal["own", "team"] = "own",
    clinician: str | None = None,
    q: Annotated[str | None, Query(max_length=100)] = None,
) -> CaseloadPublic:
    """Your caseload (or, for a supervisor, ``scope=team``), needing attention first. A
    supervisor reads one clinician of the team with ``clinician`` (their user id); ``q``
    keeps the clients whose code contains it (any case)."""
    if clinician is not None:
        scope = "team"
    rows = timeline.caseload(db, actor, scope=scope, clinician_id=clinician, search=q)
    db.commit()
    data = [
        CaseloadRowPublic(
            client_id=r.client_id,
            code=r.code,
            clinician_id=r.clinician_id,
            clinician_name=r.clinician_name,
            open_episode_id=r.open_episode_id,
            sessions=r.sessions,
            last_session=r.last_session,
            rated_sessions=r.rated_sessions,
            completion=r.completion,
            alerts=r.alerts,
        )
        for r in rows
    ]
    return CaseloadPublic(data=data, count=len(data))


@router.get("/clients/by-code/{code}", response_model=ClientPublic)
def find_client(code: str, db: DbDep, actor: ActorDep) -> Client:
    client = clients.find_client(db, actor, code)
    db.commit()
    return client


@router.get("/clients/{client_id}", response_model=ClientPublic)
def get_client(client_id: str, db: DbDep, actor: ActorDep) -> Client:
    client = clients.get_client(db, actor, client_id)
    db.commit()
    return client


@router.get("/clients/{client_id}/contact", response_model=ContactIn)
def get_contact(client_id: str, db: DbDep, actor: ActorDep) -> ContactIn:
    contact: ClientContact | None = clients.get_contact(db, actor, client_id)
    db.commit()
    if contact is None:
        return ContactIn()
    return ContactIn(name=contact.name, email=contact.email, phone=contact.phone)


@router.put("/clients/{client_id}/contact", response_model=ContactIn)
def set_contact(client_id: str, body: ContactIn, db: DbDep, actor: ActorDep) -> ContactIn:
    clients.set_contact(db, actor, client_id, **body.model_dump())
    db.commit()
    return body


@router.get("/clients/{client_id}/identifiers", response_model=list[IdentifierIn])
def list_identifiers(client_id: str, db: DbDep, actor: ActorDep) -> list[IdentifierIn]:
    """Other systems' identifiers of the client (the client's own clinicians only)."""
    rows = identifiers.identifiers_of(db, actor, client_id)
    db.commit()
    return [IdentifierIn(system=r.system, value=r.value) for r in rows]


@router.post("/clients/{client_id}/identifiers", response_model=IdentifierIn, status_code=201)
def add_identifier(client_id: str, body: IdentifierIn, db: DbDep, actor: ActorDep) -> IdentifierIn:
    """Give the client an EHR's identifier (system + value, unique in the organization), so
    imports and the FHIR interface match the EHR's patient to this client."""
    identifiers.add_identifier(db, actor, client_id, system=body.system, value=body.value)
    db.commit()
    return body


@router.get("/clients/{client_id}/timeline", response_model=TimelinePublic)
def client_timeline(client_id: str, db: DbDep, actor: ActorDep) -> TimelinePublic:
    """Everything recorded for a client: episodes, sessions, answers, scores, alerts."""
    t = timeline.timeline(db, actor, client_id)
    db.commit()
    return TimelinePublic(
        client=ClientPublic.model_validate(t.client),
        clinician=UserPublic.model_validate(t.clinician),
        episodes=[
            TimelineEpisode(
                episode=EpisodePublic.model_validate(ev.episode),
                sessions=[
                    TimelineSession(
                        session=SessionPublic.model_validate(sv.session),
                        administrations=[
                            TimelineAdministration(
                                administration=AdministrationPublic.model_validate(
                                    av.administration
                                ),
                                scores=[ScorePublic.model_validate(s) for s in av.scores],
                                current=av.current,
                                superseded_by=av.superseded_by,
                            )
                            for av in sv.administrations
                        ],
                        ruptures=[RupturePublic.model_validate(r) for r in sv.ruptures],
                    )
                    for sv in ev.sessions
                ],
            )
            for ev in t.episodes
        ],
        alerts=[AlertPublic.model_validate(a) for a in t.alerts],
    )


@router.post("/clients/{client_id}/episodes", response_model=EpisodePublic, status_code=201)
def open_episode(client_id: str, body: EpisodeIn, db: DbDep, actor: ActorDep) -> Episode:
    episode = clients.open_episode(
        db, actor, client_id, started_on=body.started_on, clinician_id=body.clinician_id
    )
    db.commit()
    return episode


@router.post("/episodes/{episode_id}/close", response_model=EpisodePublic)
def close_episode(episode_id: str, body: EpisodeClose, db: DbDep, actor: ActorDep) -> Episode:
    episode = clients.close_episode(
        db, actor, episode_id, end_reason=body.end_reason, ended_on=body.ended_on
    )
    db.commit()
    return episode


@router.post("/episodes/{episode_id}/sessions", response_model=SessionPublic, status_code=201)
def record_session(episode_id: str, body: SessionIn, db: DbDep, actor: ActorDep) -> SessionRow:
    session = care.record_session(
        db, actor, episode_id, date=body.date, number=body.number, attended=body.attended
    )
    db.commit()
    return session


def _submission_out(result: Submission) -> SubmissionOut:
    return SubmissionOut(
        administration=AdministrationPublic.model_validate(result.administration),
        scores=[ScorePublic.model_validate(s) for s in result.scores],
        created=result.created,
        not_computed=result.refused,
        risk_items=result.risk_items,
    )


@router.post(
    "/sessions/{session_id}/administrations", response_model=SubmissionOut, status_code=201
)
def submit(
    session_id: str,
    body: AdministrationIn,
    db: DbDep,
    actor: ActorDep,
    clinic: ClinicDep,
    background: BackgroundTasks,
) -> SubmissionOut:
    """Submit answers; they are validated, scored and stored once per ``idempotency_key``
    (a resubmission returns the stored administration with ``created: false``)."""
    result = submit_administration(
        db,
        actor,
        clinic.registry,
        session_id=session_id,
        instrument=body.instrument,
        version=body.version,
        perspective=body.perspective,
        stance=body.stance,
        answers=body.answers,
        idempotency_key=body.idempotency_key,
        source="api" if actor.kind == "token" else "clinician",
        language=body.language,
    )
    db.commit()
    if result.created:
        background.add_task(after_submission, clinic, result.client_id)
    return _submission_out(result)


@router.post(
    "/administrations/{administration_id}/corrections",
    response_model=SubmissionOut,
    status_code=201,
)
def correct(
    administration_id: str,
    body: CorrectionIn,
    db: DbDep,
    actor: ActorDep,
    clinic: ClinicDep,
    background: BackgroundTasks,
) -> SubmissionOut:
    """A corrected version; the original is kept and marked as superseded."""
    result = correct_administration(
        db,
        actor,
        clinic.registry,
        administration_id,
        answers=body.answers,
        reason=body.reason,
        idempotency_key=body.idempotency_key,
    )
    db.commit()
    if result.created:
        background.add_task(after_submission, clinic, result.client_id)
    return _submission_out(result)


@router.post("/sessions/{session_id}/ruptures", response_model=RupturePublic, status_code=201)
def report_rupture(
    session_id: str,
    body: RuptureIn,
    db: DbDep,
    actor: ActorDep,
    clinic: ClinicDep,
    background: BackgroundTasks,
) -> RuptureReport:
    """The clinician noticed a rupture in this session."""
    report, client_id = care.report_rupture(db, actor, session_id, note=body.note)
    db.commit()
    background.add_task(analyse, clinic, client_id)
    return report
