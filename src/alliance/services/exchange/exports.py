"""Exports from the clinic's database: a client's record as a FHIR Bundle, the
organization's tables (wide administrations and tidy long scores, with codebooks), and the
de-identified research export.

Who may take what (``services/accounts/access.py``):

- **clinicians and supervisors** — identified exports (FHIR, tables) of the clients they may
  see (a supervisor: the team's), and the research export of the same clients;
- **researchers** — the research export only, of the whole organization, for a study an admin
  created: pseudonyms instead of codes, shifted dates, no free text, small cells listed;
- **admins** — none: they manage users and settings, not client records;
- the **installation** (the command line) — anything of the organization it names.

Every export writes an audit event naming what left and for how many clients.
"""

from __future__ import annotations

import io
import shutil
import tempfile
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from fhir.resources.R4B.bundle import Bundle, BundleEntry
from sqlalchemy import ColumnElement, distinct, func, select
from sqlalchemy.orm import Session

from alliance.instruments.registry import Registry
from alliance.instruments.wording import Wording
from alliance.interop import fhir
from alliance.interop.deidentify import DateMode, ResearchExport, deidentify
from alliance.interop.fhir_follow_up import FollowUp, follow_up_observation
from alliance.interop.fhir_goals import goal_resources
from alliance.interop.tabular import (
    write_administrations,
    write_events,
    write_research,
    write_scores,
)
from alliance.services import audit
from alliance.services.accounts.access import (
    access_params,
    client_for,
    require_role,
    visible_clients,
)
from alliance.services.context import Actor
from alliance.services.errors import Invalid
from alliance.services.exchange.goal_records import client_goal_records
from alliance.services.exchange.studies import study_for
from alliance.services.exchange.tables import Holdings, episode_labels, fhir_base, holdings
from alliance.store.alerts import Alert, RiskFollowUp
from alliance.store.models import Administration, Client, ClientContact, Episode, Team, User
from alliance.store.models import Session as SessionRow

TableKind = Literal["csv", "parquet"]
IDENTIFIED_ROLES = ("clinician", "supervisor")
RESEARCH_ROLES = ("researcher", "clinician", "supervisor")
ZIP_TIME = (1980, 1, 1, 0, 0, 0)  # the earliest a zip can hold: no time of export leaks
SMALL_CELL = 5  # cells of fewer clients are listed in the summary even when k is smaller


def _organization(actor: Actor) -> str:
    if actor.organization_id is None:
        raise Invalid("no organization given", field="organization")
    return actor.organization_id


def client_bundle(
    db: Session,
    actor: Actor,
    registry: Registry,
    client_id: str,
    *,
    base_url: str,
    contact: bool = False,
    wordings: dict[str, Wording] | None = None,
) -> Bundle:
    """The client's whole record (current administrations with their score Observations)
    as a FHIR ``collection`` Bundle. The Patient carries only the client code unless
    ``contact`` is asked for, which only the client's own clinicians may do."""
    require_role(actor, *IDENTIFIED_ROLES)
    client = client_for(db, actor, client_id, write=contact)
    scope = Client.id == client.id
    held = holdings(db, registry, organization_id=client.organization_id, scope=scope, params={})
    identifying = _patient_contact(db.get(ClientContact, client.id)) if contact else None
    resource = fhir.bundle(
        client.code,
        held.records,
        registry,
        identifying=identifying,
        wordings=wordings,
        base_url=fhir_base(base_url),
    )
    follow_ups = _follow_ups(db, client.id, client.code, {r.id for r in held.records})
    if resource.entry is None:  # a Bundle always holds the Patient
        raise RuntimeError("a client's Bundle has no entries")
    labels = episode_labels(db, scope, {})
    for goal in goal_resources(
        client_goal_records(db, client, labels, client.code), base_url=fhir_base(base_url)
    ):
        resource.entry.append(
            BundleEntry(
                fullUrl=f"{fhir_base(base_url)}/{goal.get_resource_type()}/{goal.id}",
                resource=goal,
            )
        )
    for record in follow_ups:
        observation = follow_up_observation(record, patient=fhir.patient_id(client.code))
        resource.entry.append(
            BundleEntry(
                fullUrl=f"{fhir_base(base_url)}/Observation/{observation.id}",
                resource=observation,
            )
        )
    if contact:
        audit.record(db, actor, "read", "client_contact", client.id)
    audit.record(
        db,
        actor,
        "export",
        "client",
        client.id,
        format="fhir",
        administrations=len(held.records),
        follow_ups=len(follow_ups),
        contact=contact,
    )
    return resource


def _follow_ups(
    db: Session, client_id: str, code: str, in_bundle: set[str | None]
) -> list[FollowUp]:
    """The follow-ups of the client's risk alerts, oldest first, each pointing to the
    response whose answer raised its alert when that response is in the Bundle."""
    rows = db.execute(
        select(RiskFollowUp, Alert.key)
        .join(Alert, Alert.id == RiskFollowUp.alert_id)
        .where(Alert.client_id == client_id)
        .order_by(RiskFollowUp.created_at, RiskFollowUp.id)
    ).all()
    out = []
    for row, key in rows:
        administration = key.split(":", 1)[1] if ":" in key else None
        out.append(
            FollowUp(
                id=row.id,
                client=code,
                outcome=row.outcome,
                attempts=row.attempts,
                note=row.note,
                recorded_at=row.created_at,
                contacted_at=row.contacted_at,
                response_id=administration if administration in in_bundle else None,
            )
        )
    return out


def _patient_contact(contact: ClientContact | None) -> dict[str, Any] | None:
    if contact is None:
        return None
    elements: dict[str, Any] = {}
    if contact.name:
        elements["name"] = [{"text": contact.name}]
    telecom = [
        {"system": system, "value": value}
        for system, value in (("email", contact.email), ("phone", contact.phone))
        if value
    ]
    if telecom:
        elements["telecom"] = telecom
    return elements or None


def _scope(actor: Actor, *, research: bool) -> tuple[ColumnElement[bool], dict[str, Any]]:
    """The clients an export covers: the organization for a researcher's research export,
    otherwise the clients the actor may see."""
    if research and actor.role == "researcher":
        return Client.organization_id == _organization(actor), {}
    return visible_clients(actor), access_params(actor)


def export_holdings(db: Session, actor: Actor, registry: Registry) -> Holdings:
    """The identified tables: current administrations (wide) and stored scores (tidy) of
    every client the actor may see."""
    require_role(actor, *IDENTIFIED_ROLES)
    scope, params = _scope(actor, research=False)
    held = holdings(db, registry, organization_id=_organization(actor), scope=scope, params=params)
    audit.record(
        db,
        actor,
        "export",
        "administrations",
        format="tables",
        administrations=len(held.records),
        clients=held.client_ids,
    )
    return held


def write_tables(held: Holdings, path: Path, registry: Registry) -> list[Path]:
    """Write the administrations at ``path`` (.csv or .parquet) and the scores at
    ``<name>.scores<suffix>``, each with its codebook; return every file written."""
    scores = path.with_name(f"{path.stem}.scores{path.suffix}")
    events = path.with_name(f"{path.stem}.events{path.suffix}")
    books = [
        write_administrations(held.administrations, path, registry),
        write_scores(held.scores, scores, registry),
        write_events(held.events, events),
    ]
    return [path, books[0], scores, books[1], events, books[2]]


def tables_zip(held: Holdings, registry: Registry, *, kind: TableKind = "csv") -> bytes:
    """The identified tables as a zip: ``administrations.<kind>``, ``administrations.scores.<kind>``
    and their codebooks."""
    if kind not in ("csv", "parquet"):
        raise Invalid("unknown table format", field="format", value=kind, allowed="csv, parquet")
    with tempfile.TemporaryDirectory(prefix="alliance-export-") as folder:
        files = write_tables(held, Path(folder) / f"administrations.{kind}", registry)
        return _zip(files)


def research_export(db: Session, actor: Actor, registry: Registry, *, study: str) -> ResearchExport:
    """The de-identified research export for ``study`` (its id or name; see
    :mod:`alliance.interop.deidentify` and :mod:`alliance.services.exchange.studies`): study
    pseudonyms and date offsets from the study's secret, only known non-identifying columns,
    and the study's settings — the same export each time for the same records."""
    require_role(actor, *RESEARCH_ROLES)
    chosen = study_for(db, actor, study)
    scope, params = _scope(actor, research=True)
    held = holdings(db, registry, organization_id=_organization(actor), scope=scope, params=params)
    mode: DateMode = "days" if chosen.date_mode == "days" else "shift"
    export = deidentify(
        held.administrations,
        held.scores,
        study_key=bytes.fromhex(chosen.secret),
        date_mode=mode,
        max_shift_days=chosen.max_shift_days,
        min_cell=max(chosen.k, SMALL_CELL),
        k=chosen.k,
        teams=_teams(db, _organization(actor)),
        events=held.events,
    )
    export.summary.study, export.summary.keyed = chosen.name, "study"
    audit.record(
        db,
        actor,
        "export",
        "administrations",
        format="research",
        study=chosen.id,
        administrations=len(held.records),
        clients=len(held.client_ids),
    )
    return export


def _teams(db: Session, organization_id: str) -> dict[str, str]:
    """Username → team name of the organization's clinicians in a team (the team level of
    the research export's k-anonymity)."""
    rows = db.execute(
        select(User.username, Team.name)
        .join(Team, Team.id == User.team_id)
        .where(User.organization_id == organization_id)
    ).all()
    return {str(username): str(team) for username, team in rows}


def research_zip(export: ResearchExport, registry: Registry) -> bytes:
    """The research export as a zip: ``research.csv`` (administrations), ``research.scores.csv``,
    their codebooks and ``research.summary.json`` (dropped columns, small cells)."""
    with tempfile.TemporaryDirectory(prefix="alliance-research-") as folder:
        return _zip(write_research(export, Path(folder) / "research.csv", registry))


def _zip(files: list[Path]) -> bytes:
    """The files as a zip that depends on their names and contents only (no timestamps), so
    the same export gives the same bytes."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for path in files:
            entry = zipfile.ZipInfo(path.name, date_time=ZIP_TIME)
            entry.compress_type = zipfile.ZIP_DEFLATED
            entry.external_attr = 0o644 << 16
            with path.open("rb") as source, archive.open(entry, "w") as target:
                shutil.copyfileobj(source, target, 1024 * 1024)
    return buffer.getvalue()


@dataclass(frozen=True)
class Holding:
    """How many current administrations and clients an instrument has in a research export
    (counts only; a count below ``min_cell`` is a small cell)."""

    instrument: str
    title: str
    administrations: int
    clients: int


def research_overview(db: Session, actor: Actor, registry: Registry) -> list[Holding]:
    """What a research export would hold, by instrument (counts only, counted in the
    database)."""
    require_role(actor, *RESEARCH_ROLES)
    organization_id = _organization(actor)
    scope, params = _scope(actor, research=True)
    rows = db.execute(
        select(
            Administration.instrument,
            func.count(Administration.id),
            func.count(distinct(Client.id)),
        )
        .join(SessionRow, SessionRow.id == Administration.session_id)
        .join(Episode, Episode.id == SessionRow.episode_id)
        .join(Client, Client.id == Episode.client_id)
        .where(
            scope,
            Client.organization_id == organization_id,
            Administration.superseded_at.is_(None),
        )
        .group_by(Administration.instrument)
        .order_by(Administration.instrument),
        params,
    ).all()
    out = [
        Holding(
            instrument,
            registry.get(instrument).title if instrument in registry else "",
            int(n),
            int(clients),
        )
        for instrument, n, clients in rows
    ]
    audit.record(
        db,
        actor,
        "list",
        "administrations",
        format="research overview",
        count=sum(h.administrations for h in out),
    )
    return out
