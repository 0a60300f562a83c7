"""Sessions and clinician-reported ruptures."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from alliance.records import LAST_SESSION
from alliance.services import audit
from alliance.services.accounts.access import episode_for, session_for
from alliance.services.context import Actor
from alliance.services.errors import Conflict, Invalid, check_date
from alliance.store.models import RuptureReport
from alliance.store.models import Session as SessionRow


def record_session(
    db: Session,
    actor: Actor,
    episode_id: str,
    *,
    date: dt.date,
    number: int | None = None,
    attended: bool = True,
) -> SessionRow:
    """Record a session; without ``number`` it is the next in the episode."""
    episode = episode_for(db, actor, episode_id, write=True)
    if episode.ended_on is not None:
        raise Conflict(
            "the episode is closed; open a new one to record sessions", field="episode_id"
        )
    check_date(date, "date")
    if date < episode.started_on:
        raise Invalid(
            "a session cannot be before its episode started", field="date", value=date.isoformat()
        )
    last = db.scalar(select(func.max(SessionRow.number)).where(SessionRow.episode_id == episode.id))
    if number is None:
        number = (last or 0) + 1
    elif not 1 <= number <= LAST_SESSION:
        raise Invalid(
            "not a session number", field="number", value=number, allowed=f"1 to {LAST_SESSION}"
        )
    elif db.scalar(
        select(SessionRow.id).where(
            SessionRow.episode_id == episode.id, SessionRow.number == number
        )
    ):
        raise Conflict(f"session {number} of this episode exists", field="number", value=number)
    row = SessionRow(episode_id=episode.id, number=number, date=date, attended=attended)
    db.add(row)
    db.flush()
    audit.record(db, actor, "create", "session", row.id, episode=episode.id)
    return row


def report_rupture(
    db: Session, actor: Actor, session_id: str, *, note: str | None, perspective: str = "clinician"
) -> tuple[RuptureReport, str]:
    """A rater noticed a rupture in this session (the clinician's "I noticed a rupture").
    Returns the report and the client's id."""
    session, _, client = session_for(db, actor, session_id, write=True)
    report = RuptureReport(
        session_id=session.id,
        perspective=perspective,
        reported_by=actor.user_id,
        note=(note or "").strip() or None,
    )
    db.add(report)
    db.flush()
    audit.record(db, actor, "create", "rupture_report", report.id, session=session.id)
    return report, client.id
