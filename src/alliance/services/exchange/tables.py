"""What the service's exports and imports share: the names records get outside the database,
and reading an organization's current administrations and stored scores into the shared table
shapes of :mod:`alliance.records`.

Outside the database a record is named by what a person can read, not by our ids:

- the **client** by its code, or ``code@username`` (its clinician's) when the export holds
  several clients of that code (codes are unique per clinician: see
  :mod:`alliance.services.records.clients`);
- the **episode** by its number within the client, ``E1``, ``E2``, … in order of start date
  (then of creation). An import reads ``E<n>`` or ``<n>`` the same way, so an exported file
  names the same episodes when it comes back;
- the **session** by its number within the episode, with its date;
- the **clinician** by the username of the episode's clinician.

Only current administrations are exported: an administration that a correction superseded
stays in the database (answers are never overwritten) but its correction stands for it.
"""

from __future__ import annotations

import math
import re
from collections import Counter, defaultdict
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, cast

import numpy as np
import pandas as pd
from sqlalchemy import ColumnElement, func, select
from sqlalchemy.orm import Session

from alliance.instruments.model import Perspective
from alliance.instruments.registry import Registry
from alliance.instruments.scoring import SCORING_VERSION
from alliance.interop.tidy import SCORE_COLUMNS
from alliance.interop.wide import to_wide
from alliance.records import Administration as Record
from alliance.services.errors import Invalid
from alliance.services.exchange.goal_records import goal_events
from alliance.store.alerts import Alert, RiskFollowUp
from alliance.store.models import Administration, Client, Episode, RuptureReport, Score, User
from alliance.store.models import Session as SessionRow

FHIR_PATH = "/api/v1/fhir"
EPISODE_LABEL = re.compile(r"^[Ee]?([1-9][0-9]{0,5})$")
EPISODE_ALLOWED = "E1, E2, … (the client's first, second, … episode) or 1, 2, …"


def fhir_base(base_url: str) -> str:
    """The base of the service's FHIR canonical URLs: ``<base_url>/api/v1/fhir``, where
    ``GET …/Questionnaire/<id>`` answers, so a canonical URL is also where to fetch it."""
    return f"{base_url.rstrip('/')}{FHIR_PATH}"


def episode_label(number: int) -> str:
    return f"E{number}"


def episode_number(label: str) -> int | None:
    """``E3`` or ``3`` → 3; anything else → None."""
    match = EPISODE_LABEL.match(label.strip())
    return int(match.group(1)) if match else None


def episode_order() -> tuple[Any, ...]:
    """The order that numbers a client's episodes."""
    return (Episode.client_id, Episode.started_on, Episode.created_at, Episode.id)


def client_names(
    db: Session, scope: ColumnElement[bool], params: Mapping[str, Any]
) -> dict[str, str]:
    """Client id → the name the client has outside the database among the clients in
    ``scope``: the code, or ``code@username`` for codes several of them share."""
    rows = db.execute(
        select(Client.id, Client.code, User.username)
        .join(User, User.id == Client.clinician_id)
        .where(scope),
        dict(params),
    ).all()
    shared = Counter(code for _, code, _ in rows)
    return {
        client_id: f"{code}@{username}" if shared[code] > 1 else code
        for client_id, code, username in rows
    }


def episode_labels(
    db: Session, scope: ColumnElement[bool], params: Mapping[str, Any]
) -> dict[str, str]:
    """Episode id → ``E<n>`` for every episode of the clients in ``scope`` (a condition on
    :class:`Client`, run with ``params``)."""
    rows = db.execute(
        select(Episode.id, Episode.client_id)
        .join(Client, Client.id == Episode.client_id)
        .where(scope)
        .order_by(*episode_order()),
        dict(params),
    ).all()
    seen: dict[str, int] = defaultdict(int)
    labels = {}
    for episode_id, client_id in rows:
        seen[client_id] += 1
        labels[episode_id] = episode_label(seen[client_id])
    return labels


EVENT_COLUMNS = ("client", "episode", "session", "date", "event", "detail", "note")


@dataclass
class Holdings:
    """An organization's current administrations (wide) and their stored scores (tidy long),
    in the order: client code, episode, session number, entry."""

    administrations: pd.DataFrame
    scores: pd.DataFrame
    records: list[Record]
    client_ids: list[str]
    events: pd.DataFrame = field(default_factory=lambda: pd.DataFrame(columns=EVENT_COLUMNS))
    """Ruptures reported and episodes ended (:data:`EVENT_COLUMNS`)."""

    @property
    def clients(self) -> int:
        return len(self.client_ids)


def holdings(
    db: Session,
    registry: Registry,
    *,
    organization_id: str,
    scope: ColumnElement[bool],
    params: Mapping[str, Any],
) -> Holdings:
    """Current administrations and stored scores of the clients in ``scope``."""
    labels = episode_labels(db, scope, params)
    names = client_names(db, scope, params)
    rows = db.execute(
        select(
            Client.id,
            Episode.id,
            SessionRow.number,
            SessionRow.date,
            Administration.id,
            Administration.instrument,
            Administration.version,
            Administration.perspective,
            Administration.stance,
            Administration.answers,
            User.username,
        )
        .join(Episode, Episode.client_id == Client.id)
        .join(SessionRow, SessionRow.episode_id == Episode.id)
        .join(Administration, Administration.session_id == SessionRow.id)
        .join(User, User.id == Episode.clinician_id)
        .where(
            scope,
            Client.organization_id == organization_id,
            Administration.superseded_at.is_(None),
        )
        .order_by(
            Client.code,
            Client.id,
            Episode.started_on,
            Episode.created_at,
            Episode.id,
            SessionRow.number,
            Administration.entered_at,
            Administration.id,
        ),
        dict(params),
    ).all()
    records: list[Record] = []
    client_ids: list[str] = []
    for (
        client_id,
        episode_id,
        number,
        date,
        adm_id,
        instrument,
        version,
        perspective,
        stance,
        answers,
        username,
    ) in rows:
        if not client_ids or client_ids[-1] != client_id:
            client_ids.append(client_id)
        try:
            inst = registry.get(instrument, version)
        except KeyError as exc:
            raise Invalid(
                f"administration {adm_id} is of an instrument this installation does not "
                f"define: {exc.args[0]}",
                field="instrument",
                value=f"{instrument} {version}",
            ) from None
        records.append(
            Record(
                client=names[client_id],
                episode=labels[episode_id],
                session=number,
                date=date,
                instrument=inst.id,
                version=inst.version,
                perspective=cast(Perspective, perspective),
                answers={i: _number(answers.get(i)) for i in inst.item_ids},
                stance="prediction" if stance == "prediction" else "self",
                clinician=username,
                id=adm_id,
            )
        )
    wide = to_wide(records)
    scores = _stored_scores(
        db, wide, registry, organization_id=organization_id, scope=scope, params=params
    )
    events = care_events(
        db, labels, names, organization_id=organization_id, scope=scope, params=params
    )
    return Holdings(wide, scores, records, client_ids, events)


def care_events(
    db: Session,
    labels: Mapping[str, str],
    names: Mapping[str, str],
    *,
    organization_id: str,
    scope: ColumnElement[bool],
    params: Mapping[str, Any],
) -> pd.DataFrame:
    """What the ratings do not hold: each rupture a rater reported (``rupture_reported``,
    detail = who reported it, note = their words), each episode that ended
    (``episode_ended``, detail = the end reason, session = its last session) and each
    follow-up of a risk alert (``risk_follow_up``, session = the one whose answer raised the
    alert, date = the day the client was reached or, if not reached, the day of the record,
    detail = the outcome, note = attempts, time reached and the clinician's note), and the
    goals agreed, revised and closed and their progress ratings
    (:mod:`~alliance.services.exchange.goal_records`)."""
    ruptures = db.execute(
        select(
            Client.id,
            Episode.id,
            SessionRow.number,
            SessionRow.date,
            RuptureReport.perspective,
            RuptureReport.note,
        )
        .join(Episode, Episode.client_id == Client.id)
        .join(SessionRow, SessionRow.episode_id == Episode.id)
        .join(RuptureReport, RuptureReport.session_id == SessionRow.id)
        .where(scope, Client.organization_id == organization_id)
        .order_by(Client.code, SessionRow.number, RuptureReport.created_at),
        dict(params),
    ).all()
    last = (
        select(func.max(SessionRow.number))
        .where(SessionRow.episode_id == Episode.id)
        .scalar_subquery()
    )
    ended = db.execute(
        select(Client.id, Episode.id, last, Episode.ended_on, Episode.end_reason)
        .join(Episode, Episode.client_id == Client.id)
        .where(scope, Client.organization_id == organization_id, Episode.ended_on.is_not(None))
        .order_by(Client.code, Episode.ended_on),
        dict(params),
    ).all()
    follow_ups = db.execute(
        select(Client.id, Episode.id, SessionRow.number, RiskFollowUp)
        .join(Alert, Alert.id == RiskFollowUp.alert_id)
        .join(Client, Client.id == Alert.client_id)
        .join(SessionRow, SessionRow.id == Alert.session_id)
        .join(Episode, Episode.id == SessionRow.episode_id)
        .where(scope, Client.organization_id == organization_id)
        .order_by(Client.code, RiskFollowUp.created_at),
        dict(params),
    ).all()
    rows = (
        [
            (names[client], labels[ep], number, date, "rupture_reported", who, note)
            for client, ep, number, date, who, note in ruptures
        ]
        + [
            (names[client], labels[ep], number, date, "episode_ended", reason, None)
            for client, ep, number, date, reason in ended
        ]
        + [
            (
                names[client],
                labels[ep],
                number,
                (f.contacted_at or f.created_at).date(),
                "risk_follow_up",
                f.outcome,
                _follow_up_note(f),
            )
            for client, ep, number, f in follow_ups
        ]
        + goal_events(
            db, labels, names, organization_id=organization_id, scope=scope, params=params
        )
    )
    frame = pd.DataFrame(rows, columns=list(EVENT_COLUMNS))
    frame["session"] = frame["session"].astype("Int64")
    frame["date"] = pd.to_datetime(frame["date"]).astype("datetime64[ns]")
    return frame.sort_values(["client", "episode", "date"], kind="stable").reset_index(drop=True)


def _follow_up_note(f: RiskFollowUp) -> str:
    reached = (
        f"reached {f.contacted_at:%Y-%m-%d %H:%M} UTC"
        if f.contacted_at is not None
        else "not reached"
    )
    return f"{f.attempts} attempt{'s' if f.attempts != 1 else ''}; {reached}. {f.note}"


def stored_answer(value: float | None) -> float | int | None:
    """An answer as the service stores it: whole numbers as integers, as a form sends them."""
    if value is None or math.isnan(value):  # not answered
        return None
    return int(value) if float(value).is_integer() else float(value)


def _number(value: object) -> float | None:
    if value is None:
        return None
    return float(value)  # type: ignore[arg-type]


def _stored_scores(
    db: Session,
    wide: pd.DataFrame,
    registry: Registry,
    *,
    organization_id: str,
    scope: ColumnElement[bool],
    params: Mapping[str, Any],
) -> pd.DataFrame:
    """The stored scores (this scoring version) of the administrations in ``wide``, one row
    per administration and scale in the instrument's scale order; a scale stored without a
    value (too many items missing) has an empty score."""
    stored: dict[str, dict[str, float | None]] = defaultdict(dict)
    for adm_id, scale_id, value in db.execute(
        select(Score.administration_id, Score.scale, Score.value)
        .join(Administration, Administration.id == Score.administration_id)
        .join(SessionRow, SessionRow.id == Administration.session_id)
        .join(Episode, Episode.id == SessionRow.episode_id)
        .join(Client, Client.id == Episode.client_id)
        .where(
            scope,
            Client.organization_id == organization_id,
            Score.scoring_version == SCORING_VERSION,
        ),
        dict(params),
    ).all():
        stored[adm_id][scale_id] = value
    columns: dict[str, list[Any]] = {c: [] for c in SCORE_COLUMNS}
    shared = [c for c in SCORE_COLUMNS if c not in ("scale", "score")]
    for row in wide[shared].itertuples(index=False):
        values = dict(zip(shared, row, strict=True))
        mine = stored.get(str(values["administration"]), {})
        for scale in registry.get(str(values["instrument"]), str(values["version"])).scales:
            if scale.id not in mine:
                continue
            for column in shared:
                columns[column].append(values[column])
            columns["scale"].append(scale.id)
            value = mine[scale.id]
            columns["score"].append(np.nan if value is None else float(value))
    frame = pd.DataFrame(columns)
    frame["session"] = frame["session"].astype(np.int64)
    frame["date"] = pd.to_datetime(frame["date"]).astype("datetime64[ns]")
    frame["score"] = frame["score"].astype(np.float64)
    for column in SCORE_COLUMNS:
        if column not in ("session", "date", "score"):
            frame[column] = frame[column].astype("str")
    frame["clinician"] = frame["clinician"].where(frame["clinician"].notna())
    return frame[list(SCORE_COLUMNS)]
