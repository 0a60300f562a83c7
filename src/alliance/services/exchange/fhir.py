"""The FHIR face of the service: instruments as Questionnaires, and QuestionnaireResponses
written by other systems stored as administrations.

A response names its instrument by the Questionnaire's canonical URL
(``<base_url>/api/v1/fhir/Questionnaire/<id>|<version>``, the address it can be fetched
from). It is stored for the session the caller names, in this order:

1. ``session_id`` (our session id), or the response's ``encounter`` reference
   ``Encounter/<session id>``: an existing session the caller may change; the
   administration takes the session's date;
2. otherwise the client — ``client`` (the code), ``identifier`` (``<system>|<value>`` of an
   identifier added to the client: patient matching) or the response's ``subject.identifier``
   (the client code, or another system's identifier added to the client) —
   and the session number — ``session`` or the ``session`` extension — in the episode
   ``episode`` (``E<n>``), the ``episode`` extension, or else the client's latest episode.
   A session number the episode does not have yet is recorded, dated by ``authored``, as
   :func:`alliance.services.records.care.record_session` records any session.

The answers are validated against the instrument and go through
:func:`~alliance.services.records.administrations.submit_administration` (scores, risk alert, audit
event); the idempotency key is the response's content key, so posting the same response
twice stores it once.
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Mapping
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from alliance.instruments.model import Perspective
from alliance.instruments.registry import Registry
from alliance.instruments.wording import WordingPack, resolve
from alliance.interop import fhir
from alliance.interop.fhir_import import parse_questionnaire_response
from alliance.interop.fhir_terms import identifier_system, site_urls
from alliance.interop.keys import idempotency_key
from alliance.interop.report import RejectedImportError
from alliance.records import Administration as Record
from alliance.records import Stance
from alliance.services import audit
from alliance.services.accounts.access import (
    require_role,
    session_for,
    writable_clients,
)
from alliance.services.context import Actor
from alliance.services.errors import ImportRejected, Invalid, NotFound
from alliance.services.exchange.tables import (
    EPISODE_ALLOWED,
    episode_label,
    episode_labels,
    episode_number,
    episode_order,
    fhir_base,
    stored_answer,
)
from alliance.services.records.administrations import Submission, submit_administration
from alliance.services.records.care import record_session
from alliance.services.records.clients import one_client
from alliance.services.records.identifiers import client_by_identifier, split_identifier
from alliance.store.models import ROLES, Client, Episode
from alliance.store.models import Session as SessionRow


def questionnaire_resource(
    db: Session,
    actor: Actor,
    registry: Registry,
    packs: list[WordingPack],
    instrument_id: str,
    *,
    base_url: str,
    version: str | None = None,
    language: str | None = None,
    perspective: Perspective | None = None,
) -> dict[str, Any]:
    """The instrument as a FHIR Questionnaire (JSON): the project's own labels, or with
    ``language`` the site's wording pack for it when one is loaded (licensed wording is
    shown to logged-in people only)."""
    require_role(actor, *ROLES)
    try:
        inst = registry.get(instrument_id, version)
    except KeyError as exc:
        raise NotFound(str(exc.args[0]), field="id", value=instrument_id) from None
    if perspective is not None and perspective not in inst.perspectives:
        raise Invalid(
            f"{inst.id} has no {perspective} form",
            field="perspective",
            value=perspective,
            allowed=", ".join(inst.perspectives),
        )
    words = resolve(inst, packs, language=language, perspective=perspective) if language else None
    resource = fhir.questionnaire(inst, words, base_url=fhir_base(base_url))
    audit.record(db, actor, "read", "questionnaire", f"{inst.id}|{inst.version}")
    data: dict[str, Any] = json.loads(fhir.to_json(resource, indent=None))
    return data


def receive_response(
    db: Session,
    actor: Actor,
    registry: Registry,
    resource: Mapping[str, Any],
    *,
    base_url: str,
    session_id: str | None = None,
    client: str | None = None,
    episode: str | None = None,
    session: int | None = None,
    perspective: Perspective | None = None,
    stance: Stance | None = None,
    identifier: str | None = None,
) -> Submission:
    """Validate, score and store a QuestionnaireResponse for the session it names (see the
    module docstring); :class:`ImportRejected` lists every problem of the resource."""
    require_role(actor, "clinician", "supervisor")
    base = fhir_base(base_url)
    data = dict(resource)
    named = session_id or _encounter(data)
    if named:
        row, ep, owner = session_for(db, actor, named, write=True)
        label = episode_labels(db, Client.id == owner.id, {})[ep.id]
        record = _parse(
            data,
            registry,
            base=base,
            client=owner.code,
            episode=label,
            session=row.number,
            perspective=perspective,
            stance=stance,
        )
        record = dataclasses.replace(record, date=row.date)
    else:
        owner = _owner(db, actor, data, base, client=client, identifier=identifier)
        code = owner.code
        episodes = list(
            db.scalars(
                select(Episode).where(Episode.client_id == owner.id).order_by(*episode_order())
            )
        )
        if not episodes:
            raise NotFound(f"client {code!r} has no episode", field="episode")
        if episode is None and not _has_extension(
            data, site_urls("StructureDefinition", "episode", base)
        ):
            episode = episode_label(len(episodes))
        record = _parse(
            data,
            registry,
            base=base,
            client=owner.code,
            episode=episode,
            session=session,
            perspective=perspective,
            stance=stance,
        )
        number = episode_number(record.episode)
        if number is None or number > len(episodes):
            raise NotFound(
                f"client {code!r} has no episode {record.episode!r}",
                field="episode",
                value=record.episode,
                allowed=", ".join(episode_label(n) for n in range(1, len(episodes) + 1))
                or EPISODE_ALLOWED,
            )
        ep = episodes[number - 1]
        found = db.scalar(
            select(SessionRow).where(
                SessionRow.episode_id == ep.id, SessionRow.number == record.session
            )
        )
        row = found or record_session(db, actor, ep.id, date=record.date, number=record.session)
        record = dataclasses.replace(record, episode=episode_label(number), date=row.date)
    inst = registry.get(record.instrument, record.version)
    return submit_administration(
        db,
        actor,
        registry,
        session_id=row.id,
        instrument=inst.id,
        version=inst.version,
        perspective=record.perspective,
        stance=record.stance,
        answers={k: stored_answer(v) for k, v in record.answers.items()},
        idempotency_key=idempotency_key(record, inst),
        source="api",
        authorized_session=(row, ep, owner),
    )


def _parse(
    data: dict[str, Any],
    registry: Registry,
    *,
    base: str,
    client: str,
    episode: str | None,
    session: int | None,
    perspective: Perspective | None,
    stance: Stance | None,
) -> Record:
    try:
        return parse_questionnaire_response(
            data,
            registry,
            base_url=base,
            client=client,
            episode=episode,
            session=session,
            perspective=perspective,
            stance=stance,
        )
    except RejectedImportError as exc:
        report = exc.report
        first = report.problems[0] if report.problems else None
        raise ImportRejected(
            f"the QuestionnaireResponse was not stored: {first}" if first else "not stored",
            source="QuestionnaireResponse",
            rows=1,
            problems=report.problems,
        ) from None


def _encounter(data: Mapping[str, Any]) -> str | None:
    reference = (data.get("encounter") or {}).get("reference") or ""
    if isinstance(reference, str) and reference.startswith("Encounter/"):
        return reference.removeprefix("Encounter/") or None
    return None


def _owner(
    db: Session,
    actor: Actor,
    data: Mapping[str, Any],
    base: str,
    *,
    client: str | None,
    identifier: str | None,
) -> Client:
    """The client: ``client`` (a code), ``identifier`` (``<system>|<value>``), else the
    subject's identifier — the client code (our system or none) or another system's
    identifier matched to a client (patient matching, :mod:`...records.identifiers`)."""
    if client:
        return _writable_client(db, actor, client)
    if identifier:
        return client_by_identifier(db, actor, *split_identifier(identifier))
    subject = (data.get("subject") or {}).get("identifier") or {}
    system, value = subject.get("system"), subject.get("value")
    if value and system in (None, identifier_system("client", base)):
        return _writable_client(db, actor, str(value))
    if value and system:
        return client_by_identifier(db, actor, str(system), str(value))
    raise Invalid(
        "say whose response this is: a subject identifier (the client code, or an identifier "
        "added to the client), the client or identifier parameter, or a session_id",
        field="subject",
    )


def _has_extension(data: Mapping[str, Any], urls: tuple[str, ...]) -> bool:
    return any(isinstance(e, dict) and e.get("url") in urls for e in data.get("extension") or [])


def _writable_client(db: Session, actor: Actor, code: str) -> Client:
    return one_client(db, actor, code, writable_clients(actor), field="client")
