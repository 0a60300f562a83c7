"""Importing administrations from a file into the clinic's database: all or nothing.

The file is read into the clean wide table by :mod:`alliance.interop.sources` (every bad
cell reported there). This use case then places each row in the database and stores it
through :func:`~alliance.services.records.administrations.submit_administration`, the path every
submission takes, so answers are validated and scored, risk answers raise their urgent alert
and each administration writes its audit event exactly as if it had been entered.

Placing a row:

- the **client** by its code in the organization: an existing client must be one the
  importing person may change; a new code creates a client;
- the **episode** by its number (``E<n>`` or ``<n>``, :mod:`alliance.services.exchange.tables`):
  an existing episode, or the client's next one, which starts on its first session date. A
  client keeps at most one open episode, as in the service: an imported episode followed by
  another in the same file is closed (``other``) on its last session date, and a new episode
  cannot be imported while the client has an open one in the database;
- the **session** by its number in the episode: an existing session must have the row's
  date; a new one is recorded (numbers start at 1, not before the episode's start, not in a
  closed episode);
- new clients and episodes go to ``clinician`` (a username) when given, else to the
  clinician the row names (a user of the organization), else to the importing clinician; a
  clinician may only give clients to themselves, a supervisor to their team, as when
  registering a client.

An administration whose ``idempotency_key`` (the content key of :mod:`alliance.interop.keys`)
is stored, or whose session already holds the same instrument, perspective, stance and
answers (an export of this database coming back), is counted as already stored. A row for a
session already rated on its form by its rater (other answers) corrects that rating, as a
second submission does (:mod:`alliance.services.records.current_ratings`); two rows of one
file for the same session, form and rater are a problem (the file contradicts itself). Any
problem anywhere raises :class:`~alliance.services.errors.ImportRejected` listing every bad
row, and the caller rolls back: nothing is stored.
"""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from sqlalchemy import BindParameter, bindparam, func, select
from sqlalchemy.orm import Session

from alliance.instruments.registry import Registry
from alliance.interop.keys import KEY_COLUMN
from alliance.interop.sources import SOURCE_FORMATS, Source, SourceFormat, read_source
from alliance.services import audit
from alliance.services.accounts.access import (
    access_params,
    require_role,
    visible_clients,
    writable_clients,
)
from alliance.services.context import Actor
from alliance.services.errors import Invalid
from alliance.services.exchange.import_problems import Problems, rejected
from alliance.services.exchange.placement import ASSIGN_RULE, Placement, may_assign, place_rows
from alliance.services.exchange.results import ImportResult
from alliance.services.exchange.tables import fhir_base, stored_answer
from alliance.services.records.clients import CODE, ambiguous, split_name
from alliance.services.records.current_ratings import Slot
from alliance.services.records.identifiers import (
    clients_by_identifiers,
    is_identifier,
    split_identifier,
)
from alliance.services.records.submissions import Pending, submit_many
from alliance.store.engine import serialize
from alliance.store.models import Administration, Client, User

CHUNK = 500  # values per IN (…) list
CLINICAL = ("clinician", "supervisor")
NO_IDENTIFIER = (
    "no client of yours has this identifier (<system>|<value>); add it to the client first "
    "(POST /api/v1/clients/{client_id}/identifiers)"
)


def import_source(
    db: Session,
    actor: Actor,
    registry: Registry,
    source: Source,
    *,
    clinician: str | None = None,
    origin: str = "import",
) -> ImportResult:
    """Store every administration of ``source`` (as
    :func:`~alliance.interop.sources.read_source` reads it), or raise :class:`ImportRejected`
    with every problem; the caller commits or rolls back."""
    require_role(actor, *CLINICAL)
    if actor.organization_id is None:
        raise Invalid("no organization given", field="organization")
    if not source.ok:
        raise rejected(source)
    # Imports into one organization run one at a time: two uploads naming the same new client
    # would otherwise both create it, and one would fail on the unique code.
    serialize(db, f"import:{actor.organization_id}")
    table = source.table
    result = ImportResult(
        source=source.report.source, rows=len(table), skipped=source.report.skipped
    )
    problems = Problems(source)
    chosen = _chosen_clinician(db, actor, clinician, problems)
    placement = place_rows(
        db, actor, table, problems, chosen=chosen, clients=_clients(db, actor, table, problems)
    )
    if problems:
        raise problems.reject()
    placement.create(db, actor, result)
    _submit_rows(
        db,
        actor,
        registry,
        table,
        placement=placement,
        problems=problems,
        result=result,
        origin=origin,
    )
    if problems:
        raise problems.reject()
    audit.record(
        db,
        actor,
        "import",
        "administrations",
        format=source.format,
        rows=result.rows,
        stored=result.stored,
        already_stored=result.already_stored,
        clients=result.client_ids,
    )
    return result


def import_file(
    db: Session,
    actor: Actor,
    registry: Registry,
    path: Path,
    *,
    format: str = "auto",
    mapping: Path | None = None,
    base_url: str,
    name: str | None = None,
    clinician: str | None = None,
) -> tuple[Source, ImportResult]:
    """Read ``path`` (:func:`~alliance.interop.sources.read_source`; FHIR canonical URLs
    under ``fhir_base(base_url)``) and import it with :func:`import_source`."""
    require_role(actor, *CLINICAL)
    if format not in SOURCE_FORMATS:
        raise Invalid(
            "unknown format", field="format", value=format, allowed=", ".join(SOURCE_FORMATS)
        )
    chosen: SourceFormat = next(f for f in SOURCE_FORMATS if f == format)
    try:
        source = read_source(
            path, registry, format=chosen, mapping=mapping, base_url=fhir_base(base_url), name=name
        )
    except ValueError as exc:  # a REDCap import without a mapping, or a broken mapping
        raise Invalid(str(exc), field="mapping") from None
    return source, import_source(db, actor, registry, source, clinician=clinician)


def _chosen_clinician(
    db: Session, actor: Actor, username: str | None, problems: Problems
) -> User | None:
    if not username:
        return None
    user = db.scalar(
        select(User).where(
            User.organization_id == actor.organization_id,
            User.username == username.strip().lower(),
            User.role.in_(CLINICAL),
            User.active,
        )
    )
    if user is None:
        problems.whole(
            "no active clinician or supervisor of this organization has this username",
            "clinician",
            username,
        )
        return None
    if not may_assign(actor, user):
        problems.whole(
            ASSIGN_RULE,
            "clinician",
            username,
        )
        return None
    return user


def _listed(chunk: list[str]) -> BindParameter[list[str]]:
    """A chunk for ``IN (…)`` written into the statement rather than bound: after a few runs
    psycopg prepares a statement, and PostgreSQL's generic plan for 500 bound values compared
    every row with every value (0.3 s a chunk; 24 s to re-import 20,000 rows)."""
    return bindparam("listed", value=chunk, expanding=True, literal_execute=True)


def _chunks(values: Sequence[str]) -> Iterable[list[str]]:
    for start in range(0, len(values), CHUNK):
        yield list(values[start : start + CHUNK])


def _clients(
    db: Session, actor: Actor, table: pd.DataFrame, problems: Problems
) -> dict[str, Client | None]:
    """Name → the existing client the actor may change, or None for a new code; problems for
    names of clients the actor may see but not change, for bare codes several clients the
    actor may see share, and for names that are not codes. A code held only by clients the
    actor cannot see is a new code (see :mod:`alliance.services.records.clients`)."""
    names = table["client"].astype("str").str.strip().tolist()
    matched = clients_by_identifiers(
        db, actor, {split_identifier(n, "client") for n in set(names) if is_identifier(n)}
    )
    parts = {name: split_name(name) for name in set(names) if not is_identifier(name)}
    found: dict[str, list[tuple[Client, str]]] = defaultdict(list)
    # codes match regardless of case (see alliance.services.records.clients)
    for chunk in _chunks(sorted({code.upper() for code, _ in parts.values()})):
        for client, username in db.execute(
            select(Client, User.username)
            .join(User, User.id == Client.clinician_id)
            .where(visible_clients(actor), func.upper(Client.code).in_(chunk)),
            access_params(actor),
        ):
            found[client.code.upper()].append((client, username))
    writable: set[str] = set()
    ids = [c.id for held in found.values() for c, _ in held]
    for chunk in _chunks(ids):
        writable.update(
            db.scalars(
                select(Client.id).where(Client.id.in_(chunk), writable_clients(actor)),
                access_params(actor),
            )
        )
    out: dict[str, Client | None] = {}
    for i, name in enumerate(names):
        if is_identifier(name):  # <system>|<value>: the patient another system names
            out[name] = matched.get(split_identifier(name, "client"))
            if out[name] is None:
                problems.row(i, NO_IDENTIFIER, "client", name)
            continue
        code, owner = parts[name]
        held = [(c, u) for c, u in found.get(code.upper(), []) if owner is None or u == owner]
        known = held[0][0] if len(held) == 1 else None
        if len(held) > 1:
            problems.row(i, ambiguous(code, [u for _, u in held]), "client", name)
        elif known is not None and known.id not in writable:
            problems.row(
                i, "the client code is in use by a client you may not change", "client", name
            )
        elif known is None and owner is not None:
            problems.row(i, "no client with this code and clinician", "client", name)
        elif known is None and not CODE.match(code):
            problems.row(
                i,
                "a client code is 1–64 letters, digits, '.', '_' or '-', starting with a "
                "letter or digit",
                "client",
                name,
            )
        out[name] = known
    return out


def _signature(
    *,
    session_id: str,
    instrument: str,
    version: str,
    perspective: str,
    stance: str,
    answers: dict[str, Any],
) -> str:
    given = {k: float(v) for k, v in sorted(answers.items()) if v is not None}
    return json.dumps([session_id, instrument, version, perspective, stance, given])


def _stored(
    db: Session, actor: Actor, keys: list[str], sessions: list[str]
) -> tuple[set[str], set[str]]:
    """The keys already stored in the organization, and the signatures of the
    administrations already in ``sessions``."""
    held: set[str] = set()
    for chunk in _chunks(sorted(set(keys))):
        held.update(
            db.scalars(
                select(Administration.idempotency_key).where(
                    Administration.organization_id == actor.organization_id,
                    Administration.idempotency_key.in_(_listed(chunk)),
                )
            )
        )
    signatures: set[str] = set()
    for chunk in _chunks(sessions):
        for row in db.execute(
            select(
                Administration.session_id,
                Administration.instrument,
                Administration.version,
                Administration.perspective,
                Administration.stance,
                Administration.answers,
            ).where(Administration.session_id.in_(_listed(chunk)))
        ).all():
            signatures.add(
                _signature(
                    session_id=row[0],
                    instrument=row[1],
                    version=row[2],
                    perspective=row[3],
                    stance=row[4],
                    answers=row[5],
                )
            )
    return held, signatures


def _submit_rows(
    db: Session,
    actor: Actor,
    registry: Registry,
    table: pd.DataFrame,
    *,
    placement: Placement,
    problems: Problems,
    result: ImportResult,
    origin: str,
) -> None:
    keys = table[KEY_COLUMN].astype("str").tolist()
    held, signatures = _stored(db, actor, keys, placement.existing_session_ids())
    columns = ["instrument", "version", "perspective", "stance"]
    forms = table[columns].astype("str").itertuples(index=False)
    answers_of: dict[tuple[str, str], Any] = {}
    pending: list[Pending] = []
    positions: list[int] = []
    first_of: dict[Slot, int] = {}
    for i, (instrument, version, perspective, stance) in enumerate(forms):
        inst = registry.get(instrument, version)
        if inst.key not in answers_of:
            answers_of[inst.key] = table[list(inst.item_ids)].to_numpy(dtype=np.float64)
        answers = {
            item: stored_answer(value)
            for item, value in zip(inst.item_ids, answers_of[inst.key][i], strict=True)
        }
        place = placement.session_of(i)
        row = Pending(place, inst, perspective, stance, answers, keys[i])
        slot = row.slot(actor.user_id)
        if slot in first_of:
            problems.row(
                i,
                f"the same session, form and rater as {problems.where(first_of[slot])}: a "
                "file holds one rating of each (a later file corrects it)",
                "session",
                int(table["session"].iloc[i]),
            )
            continue
        first_of[slot] = i
        signature = _signature(
            session_id=place[0].id,
            instrument=inst.id,
            version=inst.version,
            perspective=perspective,
            stance=stance,
            answers=answers,
        )
        if keys[i] in held or signature in signatures:
            result.already_stored += 1
            continue
        pending.append(row)
        positions.append(i)
    if problems:
        return
    outcome = submit_many(db, actor, pending, source=origin)
    for n, exc in sorted(outcome.problems.items()):
        column = (exc.field or "").removeprefix("answers.") or "answers"
        problems.row(positions[n], exc.message, column, exc.value, exc.allowed)
    if outcome.problems:
        return
    touched: set[str] = set()
    for p, stored in zip(pending, outcome.stored, strict=True):
        if not stored:
            result.already_stored += 1
            continue
        result.stored += 1
        client = p.place[2]
        if client.id not in touched:
            touched.add(client.id)
            result.client_ids.append(client.id)
    result.risk_alerts += outcome.risk_alerts
    result.corrected += outcome.corrected
