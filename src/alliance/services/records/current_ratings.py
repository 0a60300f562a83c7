"""One current rating per session, instrument, perspective, stance and rater.

The rule every path follows (a form entered by hand, the API, a client's link, the
clinician's session form, an import, a FHIR response): a second rating of a session that
already holds a current one of the same instrument, perspective, stance and rater is a
**correction** — stored as a new administration that supersedes the current one, which is
kept, marked ``superseded_at``, and stays in the history; the audit trail records a
``correct`` event. The database holds the rule too: the partial unique index
``uq_administrations_current`` allows one row with an empty ``superseded_at`` per group.

Writers of one session's ratings take turns: :func:`lock_sessions` locks the session rows
(``SELECT … FOR UPDATE`` on PostgreSQL; SQLite's writing transactions already run one at a
time), so of two racing submissions the second sees the first and corrects it, and of two
racing corrections of one rating the second finds it already replaced (409).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Sequence

from sqlalchemy import select, tuple_, update
from sqlalchemy.orm import Session

from alliance.store.models import CURRENT_RATING, Administration
from alliance.store.models import Session as SessionRow

CLIENT_RATER = "client"
SECOND_RATING = "a second rating of the same session and form replaced this one"
LOCK_CHUNK = 500


def rater_of(perspective: str, user_id: str | None) -> str:
    """Whose rating it is: the client's own (one client per episode), else the user who
    rated — for a clinician or observer form, the person entering it (an import names the
    episode's clinician instead, see :func:`imported_rater`)."""
    if perspective == "client":
        return CLIENT_RATER
    return user_id or perspective


def imported_rater(perspective: str, episode_clinician: str, user_id: str | None) -> str:
    """The rater of an imported row: a clinician's rating is the episode's clinician's,
    whoever imports the file; an observer's is the importing user's."""
    if perspective == "clinician":
        return episode_clinician
    return rater_of(perspective, user_id)


def lock_sessions(db: Session, session_ids: Iterable[str]) -> None:
    """Hold the rows of these sessions until the transaction ends (PostgreSQL), in one order
    so that two writers of several sessions cannot deadlock."""
    if db.get_bind().dialect.name != "postgresql":
        return  # SQLite: BEGIN IMMEDIATE already lets one writer in at a time
    ids = sorted(set(session_ids))
    for start in range(0, len(ids), LOCK_CHUNK):
        db.execute(
            select(SessionRow.id)
            .where(SessionRow.id.in_(ids[start : start + LOCK_CHUNK]))
            .order_by(SessionRow.id)
            .with_for_update()
        ).all()


def current_rating(
    db: Session, *, session_id: str, instrument: str, perspective: str, stance: str, rater: str
) -> Administration | None:
    """The session's current rating of this form by this rater, read afresh."""
    return db.scalar(
        select(Administration)
        .where(
            Administration.session_id == session_id,
            Administration.instrument == instrument,
            Administration.perspective == perspective,
            Administration.stance == stance,
            Administration.rater == rater,
            Administration.superseded_at.is_(None),
        )
        .execution_options(populate_existing=True)
    )


Slot = tuple[str, str, str, str, str]
"""(session id, instrument, perspective, stance, rater)."""


def current_ratings(db: Session, slots: Sequence[Slot]) -> dict[Slot, Administration]:
    """The current rating of each of ``slots`` that has one."""
    found: dict[Slot, Administration] = {}
    unique = sorted(set(slots))
    for start in range(0, len(unique), LOCK_CHUNK):
        chunk = unique[start : start + LOCK_CHUNK]
        for row in db.scalars(
            select(Administration).where(
                Administration.session_id.in_(sorted({s[0] for s in chunk})),
                Administration.superseded_at.is_(None),
                tuple_(*CURRENT_RATING).in_(chunk),
            )
        ):
            found[(row.session_id, row.instrument, row.perspective, row.stance, row.rater)] = row
    return found


def supersede(db: Session, ids: Sequence[str], at: dt.datetime) -> int:
    """Mark current ratings as replaced at ``at``; returns how many were still current."""
    marked = 0
    for start in range(0, len(ids), LOCK_CHUNK):
        result = db.execute(
            update(Administration)
            .where(
                Administration.id.in_(list(ids[start : start + LOCK_CHUNK])),
                Administration.superseded_at.is_(None),
            )
            .values(superseded_at=at)
            .execution_options(synchronize_session=False)
        )
        marked += result.rowcount  # type: ignore[attr-defined]
    return marked


def ratings_by(db: Session, session_id: str, rater: str) -> list[Administration]:
    """The current ratings ``rater`` holds for a session (to open a form with them)."""
    return list(
        db.scalars(
            select(Administration)
            .where(
                Administration.session_id == session_id,
                Administration.rater == rater,
                Administration.superseded_at.is_(None),
            )
            .order_by(Administration.entered_at)
        )
    )
