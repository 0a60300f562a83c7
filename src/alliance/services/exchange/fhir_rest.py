"""The resources the FHIR REST interface reads and searches, under the JSON API's rules.

- Patient, QuestionnaireResponse, Observation and Provenance: the record of the clients
  the actor may see (clinicians and supervisors, as for the client's Bundle), built by the
  exporter, so every resource is the one ``GET /clients/{id}/fhir`` would hold; a Provenance
  says where a response another system sent came from. Each client whose resources a
  request reads gets an audit event (``read client``, ``via: fhir``).
- Practitioner: the organization's clinicians and supervisors (username as identifier,
  display name as ``name.text``), for anyone logged in to it.
- Questionnaire: the instruments (project labels), for anyone logged in.
- StructureDefinition and CodeSystem: the project's definitions (public, like /metadata).

Searching is done by :mod:`alliance.web.api.fhir_rest` on these plain dicts.
"""

from __future__ import annotations

import datetime as dt
import json
from collections import defaultdict
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from alliance.instruments.registry import Registry
from alliance.interop import fhir, fhir_profile
from alliance.interop.fhir_raters import practitioner_id
from alliance.interop.fhir_terms import identifier_system
from alliance.services import audit
from alliance.services.accounts.access import access_params, require_role, visible_clients
from alliance.services.context import Actor
from alliance.services.errors import Invalid
from alliance.services.exchange.exports import IDENTIFIED_ROLES
from alliance.services.exchange.tables import fhir_base, holdings
from alliance.store.models import ROLES, Administration, Client, ClientIdentifier, Episode, User
from alliance.store.models import Session as SessionRow

Resource = dict[str, Any]
CLINICAL_TYPES = ("Patient", "QuestionnaireResponse", "Observation")
"""Built from the clients' records; Provenance of imported responses is added to them."""


def _json(resource: Any) -> Resource:
    data: Resource = json.loads(fhir.to_json(resource, indent=None))
    return data


def clinical(
    db: Session,
    actor: Actor,
    registry: Registry,
    *,
    base_url: str,
    patients: set[str] | None = None,
) -> list[Resource]:
    """Patients, QuestionnaireResponses and score Observations of the clients the actor may
    see (``patients``: only those Patient ids); an audit event per client read."""
    require_role(actor, *IDENTIFIED_ROLES)
    base = fhir_base(base_url)
    params = access_params(actor)
    rows = db.scalars(
        select(Client).where(visible_clients(actor)).order_by(Client.code, Client.id), params
    ).all()
    chosen = [c for c in rows if patients is None or fhir.patient_id(c.code) in patients]
    if not chosen:
        return []
    scope = visible_clients(actor) & Client.id.in_([c.id for c in chosen])
    assert actor.organization_id is not None  # require_role: a person of an organization
    held = holdings(db, registry, organization_id=actor.organization_id, scope=scope, params=params)
    by_client: dict[str, list[Any]] = defaultdict(list)
    for record in held.records:
        by_client[record.client].append(record)
    out: list[Resource] = []
    for client in chosen:
        records = by_client.get(client.code, [])
        bundle = fhir.bundle(
            client.code, records, registry, include_questionnaires=False, base_url=base
        )
        out += [e["resource"] for e in _json(bundle)["entry"]]
        audit.record(db, actor, "read", "client", client.id, via="fhir")
    # a Practitioner is its own resource type here, not part of a client's record
    kept = [r for r in out if r["resourceType"] in CLINICAL_TYPES]
    responses = {r["id"] for r in kept if r["resourceType"] == "QuestionnaireResponse"}
    return kept + provenances(db, [c.id for c in chosen], responses)


DATA_OPERATION = "http://terminology.hl7.org/CodeSystem/v3-DataOperation"
PARTICIPANT = "http://terminology.hl7.org/CodeSystem/provenance-participant-type"
IMPORTED = {
    "api": "a QuestionnaireResponse sent to the FHIR API",
    "import": "an imported file",
}


def provenances(db: Session, client_ids: list[str], responses: set[str]) -> list[Resource]:
    """A Provenance for each current response that came from another system (the FHIR API,
    an imported file): when it was stored, by whose account, from what."""
    rows = db.execute(
        select(Administration.id, Administration.source, Administration.entered_at, User.username)
        .join(SessionRow, SessionRow.id == Administration.session_id)
        .join(Episode, Episode.id == SessionRow.episode_id)
        .outerjoin(User, User.id == Administration.entered_by)
        .where(
            Episode.client_id.in_(client_ids),
            Administration.source.in_(sorted(IMPORTED)),
            Administration.superseded_at.is_(None),
        )
        .order_by(Administration.entered_at, Administration.id)
    ).all()
    out: list[Resource] = []
    for admin_id, source, entered_at, username in rows:
        if admin_id not in responses:
            continue
        who = (
            {"reference": f"Practitioner/{practitioner_id(username)}"}
            if username
            else {"display": "an integration of the service"}
        )
        out.append(
            {
                "resourceType": "Provenance",
                "id": f"import-{admin_id}",
                "target": [{"reference": f"QuestionnaireResponse/{admin_id}"}],
                "recorded": entered_at.astimezone(dt.UTC).isoformat(),
                "activity": {"coding": [{"system": DATA_OPERATION, "code": "CREATE"}]},
                "agent": [
                    {
                        "type": {"coding": [{"system": PARTICIPANT, "code": "enterer"}]},
                        "who": who,
                    }
                ],
                "entity": [{"role": "source", "what": {"display": IMPORTED[source]}}],
            }
        )
    return out


def patients_with_identifier(db: Session, actor: Actor, system: str | None, value: str) -> set[str]:
    """Patient ids of the clients the actor may see that carry the identifier: the client
    code (our system, or no system) or another system's identifier added to the client."""
    require_role(actor, *IDENTIFIED_ROLES)
    params = access_params(actor)
    found: set[str] = set()
    ours = system is None or system.endswith("/identifier/client")
    if ours:
        codes = db.scalars(select(Client.code).where(visible_clients(actor)), params).all()
        found |= {fhir.patient_id(c) for c in codes if c.upper() == value.upper()}
    statement = (
        select(Client.code)
        .join(ClientIdentifier, ClientIdentifier.client_id == Client.id)
        .where(visible_clients(actor), ClientIdentifier.value == value)
    )
    if system is not None:
        statement = statement.where(ClientIdentifier.system == system)
    found |= {fhir.patient_id(c) for c in db.scalars(statement, params).all()}
    return found


def patients_of(db: Session, actor: Actor, resource_id: str) -> set[str]:
    """The Patient id of the client whose QuestionnaireResponse (our administration id),
    score Observation (``<administration id>-<scale>``) or Provenance (``import-<id>``) this
    is, when the actor may see it."""
    plain = resource_id.removeprefix("import-")  # a Provenance names its response's id
    ids = {plain, plain[:36]}
    codes = db.scalars(
        select(Client.code)
        .join(Episode, Episode.client_id == Client.id)
        .join(SessionRow, SessionRow.episode_id == Episode.id)
        .join(Administration, Administration.session_id == SessionRow.id)
        .where(visible_clients(actor), Administration.id.in_(sorted(ids))),
        access_params(actor),
    ).all()
    return {fhir.patient_id(c) for c in codes}


def practitioners(db: Session, actor: Actor, *, base_url: str) -> list[Resource]:
    require_role(actor, *ROLES)
    users = db.scalars(
        select(User)
        .where(
            User.organization_id == actor.organization_id,
            User.role.in_(("clinician", "supervisor")),
        )
        .order_by(User.username)
    ).all()
    system = identifier_system("clinician", fhir_base(base_url))
    audit.record(db, actor, "read", "practitioner", via="fhir", count=len(users))
    out: list[Resource] = []
    for u in users:
        resource: Resource = {
            "resourceType": "Practitioner",
            "id": practitioner_id(u.username),
            "identifier": [{"system": system, "value": u.username}],
            "active": bool(u.active),
        }
        if u.display_name:
            resource["name"] = [{"text": u.display_name}]
        out.append(resource)
    return out


def questionnaires(actor: Actor, registry: Registry, *, base_url: str) -> list[Resource]:
    require_role(actor, *ROLES)
    base = fhir_base(base_url)
    return [_json(fhir.questionnaire(inst, base_url=base)) for inst in registry]


def definitions(registry: Registry) -> list[Resource]:
    """The project's StructureDefinitions and CodeSystems (no login needed)."""
    made = [*fhir_profile.structure_definitions(), *fhir_profile.code_systems(registry)]
    return [_json(r) for r in made]


def stored_response(
    db: Session, actor: Actor, registry: Registry, base_url: str, administration_id: str
) -> Resource:
    """The QuestionnaireResponse of a stored administration, as a read would give it."""
    found = [
        r
        for r in clinical(
            db,
            actor,
            registry,
            base_url=base_url,
            patients=patients_of(db, actor, administration_id),
        )
        if r["resourceType"] == "QuestionnaireResponse" and r["id"] == administration_id
    ]
    if not found:  # an administration is always exported as its response
        raise RuntimeError("the stored administration has no QuestionnaireResponse")
    return found[0]


def existing_response(
    db: Session, actor: Actor, registry: Registry, base_url: str, criteria: str
) -> Resource | None:
    """The stored response an ``If-None-Exist: identifier=<system>|<value>`` names: ours
    carry our administration id (system ``<base>/identifier/administration``), which is
    unique: one match or none."""
    name, _, value = criteria.partition("=")
    if name.strip() != "identifier" or "|" not in value:
        raise Invalid(
            "If-None-Exist takes identifier=<system>|<value>",
            field="If-None-Exist",
            value=criteria,
            allowed="identifier=<system>|<value>",
        )
    system, _, code = value.strip().partition("|")
    if system != identifier_system("administration", fhir_base(base_url)):
        return None  # we keep no other system's identifiers of responses
    matches = patients_of(db, actor, code)
    if not matches:
        return None
    return stored_response(db, actor, registry, base_url, code)
