"""Submitting an administration: validate, score with the core, store, raise alerts.

Answers are stored exactly as given and never changed; a correction is a new administration
that supersedes the old one. A second rating of a session already rated on the same form by
the same rater is such a correction (:mod:`.current_ratings`). A submission carries a
client-supplied idempotency key: sending the same submission again returns the stored one
instead of storing it twice, even when two copies race each other.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session

from alliance.instruments.model import Instrument
from alliance.instruments.registry import Registry
from alliance.instruments.scoring import (
    SCORING_VERSION,
    AnswerError,
    ScaleScores,
    Scores,
    score_answers,
)
from alliance.services import audit
from alliance.services.accounts.access import session_for
from alliance.services.context import Actor
from alliance.services.errors import Conflict, Invalid
from alliance.services.monitoring.alerting import raise_alert
from alliance.services.monitoring.notifications import queue_messages
from alliance.services.monitoring.risk import risk_alert_text, unanswered_risk_text
from alliance.services.records.current_ratings import (
    SECOND_RATING,
    current_rating,
    lock_sessions,
    rater_of,
    supersede,
)
from alliance.store.base import new_id, utcnow
from alliance.store.models import STANCES, Administration, Client, Episode, Score
from alliance.store.models import Session as SessionRow

MAX_KEY = 200


@dataclass(frozen=True)
class Submission:
    administration: Administration
    scores: list[Score]
    created: bool
    client_id: str = ""
    refused: dict[str, str] = field(default_factory=dict)
    risk_items: list[str] = field(default_factory=list)


def resolve_instrument(registry: Registry, instrument: str, version: str | None) -> Instrument:
    try:
        return registry.get(instrument, version)
    except KeyError as exc:
        field_name = "version" if version and instrument in registry else "instrument"
        raise Invalid(
            str(exc.args[0]),
            field=field_name,
            value=version if field_name == "version" else instrument,
            allowed=", ".join(
                registry.versions(instrument) if field_name == "version" else registry.ids()
            ),
        ) from None


def check_answers(
    inst: Instrument, answers: Mapping[str, object]
) -> tuple[dict[str, float | None], Scores]:
    """Validate answers with the core scorer; errors name ``answers.item_k``."""
    if not isinstance(answers, Mapping):
        raise Invalid("answers must map item ids to numbers", field="answers")
    clean: dict[str, float | None] = {}
    for key, value in answers.items():
        if value is None:
            clean[key] = None
        elif isinstance(value, bool) or not isinstance(value, int | float):
            fmt = (
                inst.format_of(inst.items[inst.item_ids.index(key)])
                if key in inst.item_ids
                else None
            )
            raise Invalid(
                "not a number",
                field=f"answers.{key}",
                value=value,
                allowed=fmt.describe() if fmt else None,
            )
        elif isinstance(value, float) and not math.isfinite(value):
            raise Invalid("not a finite number", field=f"answers.{key}", value=str(value))
        else:
            clean[key] = value
    if not any(v is not None for v in clean.values()):
        raise Invalid(
            "no item was answered", field="answers", allowed=f"item_1 … item_{len(inst.items)}"
        )
    try:
        scores = score_answers(inst, clean)
    except AnswerError as exc:
        problem = str(exc).split(": ", 1)[-1].split(";")[0]
        raise Invalid(
            problem,
            field=f"answers.{exc.column}" if exc.column else "answers",
            value=exc.value if exc.value is None else _plain(exc.value),
            allowed=exc.allowed,
        ) from None
    return clean, scores


def _plain(value: object) -> object:
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return value.item() if hasattr(value, "item") else value  # numpy scalars


def check_form(inst: Instrument, perspective: str, stance: str) -> None:
    """The perspective and stance a form of ``inst`` may be filled from."""
    if stance not in STANCES:
        raise Invalid("unknown stance", field="stance", value=stance, allowed=", ".join(STANCES))
    if stance == "prediction":
        if perspective != "clinician":
            raise Invalid(
                "a prediction is made by the clinician",
                field="perspective",
                value=perspective,
                allowed="clinician",
            )
        if "client" not in inst.perspectives:
            raise Invalid(f"{inst.id} has no client form to predict", field="instrument")
    elif perspective not in inst.perspectives:
        raise Invalid(
            f"{inst.id} has no {perspective} form",
            field="perspective",
            value=perspective,
            allowed=", ".join(inst.perspectives),
        )


def submit_administration(
    db: Session,
    actor: Actor,
    registry: Registry,
    *,
    session_id: str,
    instrument: str,
    answers: Mapping[str, object],
    idempotency_key: str,
    perspective: str = "client",
    stance: str = "self",
    version: str | None = None,
    source: str = "clinician",
    language: str | None = None,
    licensed_wording: bool = False,
    authorized_session: tuple[SessionRow, Episode, Client] | None = None,
    supersedes: Administration | None = None,
    correction_reason: str | None = None,
) -> Submission:
    """Store one administration with its scores. ``authorized_session`` is given by callers
    that authorized the session another way (a client's single-use link).

    When the session already holds a current rating of this form by this rater, the new one
    supersedes it (a correction, with ``correction_reason`` or a reason saying so); with
    ``supersedes``, that rating must still be the current one, else :class:`Conflict`. A new
    key with the same answers is a correction too (stored under its key, so that a retry of
    it finds it whatever happened to the rating since)."""
    key = (idempotency_key or "").strip()
    if not key or len(key) > MAX_KEY:
        raise Invalid(
            f"an idempotency key of 1–{MAX_KEY} characters is required", field="idempotency_key"
        )
    session, episode, client = authorized_session or session_for(db, actor, session_id, write=True)
    inst = resolve_instrument(registry, instrument, version)
    check_form(inst, perspective, stance)
    clean, scores = check_answers(inst, answers)

    lock_sessions(db, [session.id])  # writers of this session's ratings take turns
    existing = db.scalar(
        select(Administration).where(
            Administration.organization_id == client.organization_id,
            Administration.idempotency_key == key,
        )
    )
    if existing is not None:
        return _replay(
            db,
            actor,
            existing,
            session_id=session.id,
            inst=inst,
            perspective=perspective,
            stance=stance,
            answers=clean,
        )

    rater = supersedes.rater if supersedes is not None else rater_of(perspective, actor.user_id)
    now = utcnow()
    current = current_rating(
        db, session_id=session.id, instrument=inst.id, perspective=perspective, stance=stance,
        rater=rater,
    )  # fmt: skip
    if supersedes is not None and (current is None or current.id != supersedes.id):
        raise Conflict(
            f"administration {supersedes.id} was already corrected"
            + (f" by {current.id}" if current is not None else "")
            + "; correct the latest version",
            field="administration_id",
            value=supersedes.id,
            allowed=current.id if current is not None else None,
        )
    if current is not None:
        supersede(db, [current.id], now)
        correction_reason = correction_reason or SECOND_RATING
    values = {
        "id": new_id(),
        "organization_id": client.organization_id,
        "session_id": session.id,
        "instrument": inst.id,
        "version": inst.version,
        "perspective": perspective,
        "stance": stance,
        "answers": clean,
        "language": language,
        "licensed_wording": licensed_wording,
        "source": source,
        "entered_by": actor.user_id,
        "entered_at": now,
        "idempotency_key": key,
        "supersedes_id": current.id if current is not None else None,
        "correction_reason": correction_reason if current is not None else None,
        "rater": rater,
        "superseded_at": None,
    }
    if not _insert_once(db, values):
        # the same key won a race in another transaction (for another session, since this
        # session's writers take turns): a conflict, unless it is the very same submission
        winner = db.scalar(
            select(Administration).where(
                Administration.organization_id == client.organization_id,
                Administration.idempotency_key == key,
            )
        )
        if winner is None:
            raise RuntimeError("an administration conflicted on its key but cannot be found")
        return _replay(
            db,
            actor,
            winner,
            session_id=session.id,
            inst=inst,
            perspective=perspective,
            stance=stance,
            answers=clean,
        )
    row = Administration(**values)  # as stored; for the answer and the alerts

    stored = [Score(**v) for v in score_values(row.id, scores, 0)]
    db.add_all(stored)
    risk_items = risk_items_of(inst, scores, 0)
    raise_risk_alerts(
        db, row, inst, scores, 0, answers=clean, episode=episode, client=client,
        session_number=session.number,
    )  # fmt: skip
    db.flush()
    audit.record(
        db,
        actor,
        "create" if current is None else "correct",
        "administration",
        row.id,
        session=session.id,
        instrument=inst.id,
        source=source,
        **({"supersedes": current.id} if current is not None else {}),
    )
    return Submission(row, stored, True, client.id, dict(scores.refused), risk_items)


def score_values(administration_id: str, scores: Scores, row: int) -> list[dict[str, Any]]:
    """The stored scores of row ``row`` of ``scores`` (every computed scale; an empty one
    with no value)."""
    return [
        {
            "administration_id": administration_id,
            "scale": scale_id,
            "value": None if math.isnan(s.values[row]) else float(s.values[row]),
            "band": _band(s, row),
            "answered": int(s.answered[row]),
            "scoring_version": SCORING_VERSION,
        }
        for scale_id, s in scores.scales.items()
    ]


def _band(scale: ScaleScores, row: int) -> str | None:
    """The band id of one row (as ``ScaleScores.band_ids()`` gives it, without building the
    whole column for every row of a batch)."""
    if scale.band is None or scale.scale.bands is None or scale.band[row] < 0:
        return None
    return scale.scale.bands.bands[int(scale.band[row])].id


def risk_items_of(inst: Instrument, scores: Scores, row: int) -> list[str]:
    """The risk items answered at or above their threshold in row ``row``."""
    if scores.risk is None:
        return []
    return [item.id for item, hit in zip(inst.risk_items, scores.risk[row], strict=True) if hit]


def unanswered_risk_items_of(inst: Instrument, scores: Scores, row: int) -> list[str]:
    """The risk items left empty in row ``row``."""
    if scores.risk_unanswered is None:
        return []
    flags = scores.risk_unanswered[row]
    return [item.id for item, empty in zip(inst.risk_items, flags, strict=True) if empty]


def insert_new(db: Session, rows: Sequence[Mapping[str, object]]) -> set[str]:
    """Insert the administrations whose idempotency key the organization does not hold yet
    (one statement, no savepoint); return the ids inserted."""
    if not rows:
        return set()
    insert = pg_insert if db.get_bind().dialect.name == "postgresql" else sqlite_insert
    statement = (
        insert(Administration)
        .on_conflict_do_nothing(index_elements=["organization_id", "idempotency_key"])
        .returning(Administration.id)
    )
    return set(db.scalars(statement, list(rows)))  # one cached statement, batched


def _insert_once(db: Session, values: Mapping[str, object]) -> bool:
    """Insert unless the idempotency key exists."""
    return bool(insert_new(db, [values]))


def _replay(
    db: Session,
    actor: Actor,
    existing: Administration,
    *,
    session_id: str,
    inst: Instrument,
    perspective: str,
    stance: str,
    answers: dict[str, float | None],
) -> Submission:
    same = (
        existing.session_id == session_id
        and existing.instrument == inst.id
        and existing.version == inst.version
        and existing.perspective == perspective
        and existing.stance == stance
        and existing.answers == answers
    )
    if not same:
        raise Conflict(
            "this idempotency key was used for a different submission", field="idempotency_key"
        )
    stored = list(db.scalars(select(Score).where(Score.administration_id == existing.id)))
    audit.record(db, actor, "resubmit", "administration", existing.id)
    return Submission(existing, stored, False)


def raise_risk_alerts(
    db: Session,
    row: Administration,
    inst: Instrument,
    scores: Scores,
    n: int,
    *,
    answers: Mapping[str, float | None],
    episode: Episode,
    client: Client,
    session_number: int,
) -> bool:
    """An urgent alert for risk items answered at or above their threshold (row ``n`` of
    ``scores``); failing that, a high one for risk items left empty, since an empty answer is
    not a no. Either is written into the outbox to be sent out of the app
    (``monitoring/notifications.py``). Returns whether the urgent one was raised."""
    hits = risk_items_of(inst, scores, n)
    if hits:
        reason, steps, provenance = risk_alert_text(
            inst, dict(answers), hits, session_number=session_number
        )
        rule, priority, key, numbers = "risk_item", "urgent", f"risk:{row.id}", hits
    else:
        empty = unanswered_risk_items_of(inst, scores, n)
        if not empty:
            return False
        reason, steps, provenance = unanswered_risk_text(inst, empty, session_number=session_number)
        rule, priority, key, numbers = "risk_unanswered", "high", f"risk-empty:{row.id}", empty
    alert = raise_alert(
        db,
        organization_id=client.organization_id,
        client_id=client.id,
        episode_id=episode.id,
        session_id=row.session_id,
        key=key,
        rule=rule,
        priority=priority,
        reason=reason,
        next_steps=steps,
        numbers={item: answers.get(item) for item in numbers},
        provenance=provenance,
    )
    if alert is not None:  # sent out of the app once the submission commits
        queue_messages(db, alert)
    return bool(hits)
