"""Submitting many administrations at once (imports): the same checks, scoring, storage,
risk alerts and audit events as
:func:`~alliance.services.records.administrations.submit_administration`, done per
instrument over whole matrices instead of once per form.

Each step is the single submission's own code: :func:`check_form` for the perspective and
stance, the core scorer (:func:`alliance.instruments.scoring.score`, which
``score_answers`` runs on one row) for the answers, :func:`score_values` for the stored
scores, :func:`raise_risk_alerts` for the urgent alert (or the one for a risk item left
empty), and one ``create administration`` audit event each. Only the storing is batched:
one ``INSERT`` for up to ``CHUNK`` administrations (skipping keys already held) and one for
their scores. A row for a session that already holds a current rating of its form by its
rater corrects that rating (:mod:`.current_ratings`): the sessions are locked, the ratings
replaced are marked in one ``UPDATE``, and each correction is a ``correct`` audit event.
When the scorer refuses a group, every row of it is checked on its own with
:func:`check_answers`, so each bad row gets the message a single submission would get.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np
from sqlalchemy import insert, select
from sqlalchemy.orm import Session

from alliance.instruments.model import Instrument
from alliance.instruments.scoring import AnswerError, Scores, score
from alliance.services import audit
from alliance.services.context import Actor
from alliance.services.errors import Conflict, Invalid, ServiceError
from alliance.services.records.administrations import (
    check_answers,
    check_form,
    insert_new,
    raise_risk_alerts,
    score_values,
)
from alliance.services.records.current_ratings import (
    Slot,
    current_ratings,
    imported_rater,
    lock_sessions,
    supersede,
)
from alliance.store.base import new_id, utcnow
from alliance.store.models import Administration, Client, Episode, Score
from alliance.store.models import Session as SessionRow

CHUNK = 500
IMPORTED_AGAIN = "an imported rating of the same session and form replaced this one"


@dataclass(frozen=True)
class Pending:
    """One administration to store, in a session already authorized for the actor."""

    place: tuple[SessionRow, Episode, Client]
    instrument: Instrument
    perspective: str
    stance: str
    answers: Mapping[str, float | int | None]
    key: str

    def slot(self, user_id: str | None) -> Slot:
        """The rating this row is: session, instrument, perspective, stance, rater."""
        session, episode, _ = self.place
        rater = imported_rater(self.perspective, episode.clinician_id, user_id)
        return (session.id, self.instrument.id, self.perspective, self.stance, rater)


@dataclass
class Outcome:
    """Per pending row: stored (True), already stored (False), or refused (in ``problems``);
    ``corrected`` counts the stored rows that replaced a current rating."""

    stored: list[bool | None]
    problems: dict[int, ServiceError] = field(default_factory=dict)
    risk_alerts: int = 0
    corrected: int = 0


def submit_many(db: Session, actor: Actor, pending: Sequence[Pending], *, source: str) -> Outcome:
    """Check every row, then store those that are new; nothing is stored when any row is
    refused (the caller rolls back on ``problems``). No two rows may be the same rating
    (``Pending.slot``); the caller reports such rows first."""
    outcome = Outcome(stored=[None] * len(pending))
    scored = _check(pending, outcome)
    if outcome.problems:
        return outcome
    for start in range(0, len(pending), CHUNK):
        rows = range(start, min(start + CHUNK, len(pending)))
        _store(db, actor, pending, rows, scored=scored, outcome=outcome, source=source)
    return outcome


def _check(pending: Sequence[Pending], outcome: Outcome) -> dict[int, tuple[Scores, int]]:
    """Form and answer checks; the scores of each row (its group's result and its row)."""
    groups: dict[tuple[str, str], list[int]] = {}
    for i, p in enumerate(pending):
        try:
            check_form(p.instrument, p.perspective, p.stance)
        except Invalid as exc:
            outcome.problems[i] = exc
            continue
        groups.setdefault(p.instrument.key, []).append(i)
    scored: dict[int, tuple[Scores, int]] = {}
    for rows in groups.values():
        inst = pending[rows[0]].instrument
        matrix = np.array(
            [[_number(pending[i].answers.get(item)) for item in inst.item_ids] for i in rows],
            dtype=np.float64,
        ).reshape(len(rows), len(inst.items))
        empty = np.isnan(matrix).all(axis=1)
        try:
            if empty.any() or any(set(pending[i].answers) - set(inst.item_ids) for i in rows):
                raise AnswerError("checked one by one below")
            result = score(inst, matrix)
        except AnswerError:
            for i in rows:  # the single submission's checks name each bad row
                try:
                    scored[i] = (check_answers(inst, pending[i].answers)[1], 0)
                except Invalid as exc:
                    outcome.problems[i] = exc
            continue
        scored.update({i: (result, n) for n, i in enumerate(rows)})
    return scored


def _number(value: float | int | None) -> float:
    return np.nan if value is None else float(value)


def _store(
    db: Session,
    actor: Actor,
    pending: Sequence[Pending],
    rows: range,
    *,
    scored: dict[int, tuple[Scores, int]],
    outcome: Outcome,
    source: str,
) -> None:
    slots = {i: pending[i].slot(actor.user_id) for i in rows}
    lock_sessions(db, {slot[0] for slot in slots.values()})
    # a key stored while this transaction waited for the sessions replaces nothing
    held = _held(db, [pending[i] for i in rows])
    replaced = current_ratings(db, [slots[i] for i in rows if pending[i].key not in held])
    now = utcnow()
    values = {}
    for i in rows:
        if pending[i].key in held:
            _already(db, i, pending[i], outcome)
            continue
        p = pending[i]
        session, _, client = p.place
        old = replaced.get(slots[i])
        values[i] = {
            "id": new_id(),
            "organization_id": client.organization_id,
            "session_id": session.id,
            "instrument": p.instrument.id,
            "version": p.instrument.version,
            "perspective": p.perspective,
            "stance": p.stance,
            "answers": dict(p.answers),
            "language": None,
            "licensed_wording": False,
            "source": source,
            "entered_by": actor.user_id,
            "entered_at": now,
            "idempotency_key": p.key,
            "supersedes_id": old.id if old is not None else None,
            "correction_reason": IMPORTED_AGAIN if old is not None else None,
            "rater": slots[i][4],
            "superseded_at": None,
        }
    supersede(db, [a.id for a in replaced.values()], now)
    inserted = insert_new(db, list(values.values()))
    scores: list[dict[str, object]] = []
    for i, v in values.items():
        p = pending[i]
        session, episode, client = p.place
        if v["id"] not in inserted:
            _already(db, i, p, outcome)
            continue
        result, n = scored[i]
        scores += score_values(str(v["id"]), result, n)
        if raise_risk_alerts(
            db, Administration(**v), p.instrument, result, n, answers=dict(p.answers),
            episode=episode, client=client, session_number=session.number,
        ):  # fmt: skip
            outcome.risk_alerts += 1
        correcting = v["supersedes_id"]
        audit.record(
            db,
            actor,
            "correct" if correcting else "create",
            "administration",
            str(v["id"]),
            session=session.id,
            instrument=p.instrument.id,
            source=source,
            **({"supersedes": correcting} if correcting else {}),
        )
        outcome.stored[i] = True
        outcome.corrected += bool(correcting)
    if scores:
        db.execute(insert(Score), scores)


def _held(db: Session, rows: Sequence[Pending]) -> set[str]:
    """The keys of ``rows`` the organization already holds."""
    if not rows:
        return set()
    return set(
        db.scalars(
            select(Administration.idempotency_key).where(
                Administration.organization_id == rows[0].place[2].organization_id,
                Administration.idempotency_key.in_([p.key for p in rows]),
            )
        )
    )


def _already(db: Session, i: int, p: Pending, outcome: Outcome) -> None:
    """A key another transaction stored meanwhile: the same content is a resubmission,
    other content a conflict (as for a single submission)."""
    existing = db.scalar(
        select(Administration).where(
            Administration.organization_id == p.place[2].organization_id,
            Administration.idempotency_key == p.key,
        )
    )
    same = existing is not None and (
        existing.session_id == p.place[0].id
        and (existing.instrument, existing.version) == p.instrument.key
        and (existing.perspective, existing.stance) == (p.perspective, p.stance)
        and existing.answers == dict(p.answers)
    )
    if same:
        outcome.stored[i] = False
    else:
        outcome.problems[i] = Conflict(
            "this idempotency key was used for a different submission", field="idempotency_key"
        )
