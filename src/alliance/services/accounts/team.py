"""A supervisor's view of their team: per clinician, the clients needing attention, rating
completion, and the alliance with its uncertainty — never a ranking of raw means."""

from __future__ import annotations

import math
from collections import defaultdict
from dataclasses import dataclass

from scipy import stats
from sqlalchemy import select
from sqlalchemy.orm import Session

from alliance.services import audit
from alliance.services.accounts.access import require_role
from alliance.services.context import Actor
from alliance.services.records.timeline import CaseloadRow, caseload
from alliance.store.models import Administration, Episode, Score, User
from alliance.store.models import Session as SessionRow

ALLIANCE = ("wai-sr", "total")


@dataclass(frozen=True)
class Estimate:
    """A mean of client-level values with a 95% t-interval (None below two clients)."""

    n: int
    mean: float | None
    low: float | None
    high: float | None

    @classmethod
    def of(cls, values: list[float]) -> Estimate:
        n = len(values)
        if n == 0:
            return cls(0, None, None, None)
        mean = sum(values) / n
        if n < 2:
            return cls(n, mean, None, None)
        sd = math.sqrt(sum((v - mean) ** 2 for v in values) / (n - 1))
        half = float(stats.t.ppf(0.975, n - 1)) * sd / math.sqrt(n)
        return cls(n, mean, mean - half, mean + half)


@dataclass(frozen=True)
class ClinicianRow:
    clinician_id: str
    name: str
    clients: list[CaseloadRow]
    alliance: Estimate

    @property
    def needing_attention(self) -> list[CaseloadRow]:
        return [c for c in self.clients if c.alerts]

    @property
    def completion(self) -> float | None:
        sessions = sum(c.sessions for c in self.clients)
        rated = sum(c.rated_sessions for c in self.clients)
        return rated / sessions if sessions else None


@dataclass(frozen=True)
class TeamView:
    clinicians: list[ClinicianRow]
    team_alliance: Estimate


def _latest_alliance(db: Session, client_ids: list[str]) -> dict[str, float]:
    """Each client's latest current client-rated WAI-SR total."""
    rows = db.execute(
        select(Episode.client_id, SessionRow.number, Score.value)
        .join(SessionRow, SessionRow.episode_id == Episode.id)
        .join(Administration, Administration.session_id == SessionRow.id)
        .join(Score, Score.administration_id == Administration.id)
        .where(
            Episode.client_id.in_(client_ids),
            Administration.instrument == ALLIANCE[0],
            Administration.perspective == "client",
            Administration.stance == "self",
            Score.scale == ALLIANCE[1],
            Score.value.is_not(None),
            Administration.superseded_at.is_(None),
        )
        .order_by(Episode.started_on, SessionRow.number)
    ).all()
    latest: dict[str, float] = {}
    for client_id, _, value in rows:
        if value is not None:
            latest[client_id] = float(value)
    return latest


def team_view(db: Session, actor: Actor) -> TeamView:
    require_role(actor, "supervisor")
    rows = caseload(db, actor, scope="team")
    by_clinician: dict[str, list[CaseloadRow]] = defaultdict(list)
    for row in rows:
        by_clinician[row.clinician_id].append(row)
    members = list(
        db.scalars(
            select(User)
            .where(
                User.team_id == actor.team_id,
                User.organization_id == actor.organization_id,
                User.role.in_(("clinician", "supervisor")),
                User.active,
            )
            .order_by(User.display_name)
        )
    )
    latest = _latest_alliance(db, [r.client_id for r in rows]) if rows else {}
    clinicians = [
        ClinicianRow(
            u.id,
            u.display_name,
            by_clinician.get(u.id, []),
            Estimate.of(
                [latest[c.client_id] for c in by_clinician.get(u.id, []) if c.client_id in latest]
            ),
        )
        for u in members
        # clinicians, and a supervisor only when they see clients of their own
        if u.role == "clinician" or by_clinician.get(u.id)
    ]
    audit.record(db, actor, "read", "team_view", actor.team_id, clients=len(rows))
    return TeamView(clinicians, Estimate.of(list(latest.values())))
