"""A clinician's history with known calibration figures, for the service, page and CLI tests.

c1 predicts three clients' WAI-SR totals (prediction → client's own rating):

=======  =========================================  ======================
client   sessions (date: prediction → rating)       errors (pred − rating)
=======  =========================================  ======================
C1-01    09-08 52→50, 09-15 52→50, 09-22 52→51,     2, 2, 1, 2, 10
         09-29 52→50, 10-06 50→40 (rupture reported)
C1-02    09-10 47→45, 09-17 46→44, 10-01 47→46      2, 2, 1
C1-03    09-11 40→40, 10-02 41→42                   0, −1
=======  =========================================  ======================

Ten pairs of three clients: mean error 21/10 = 2.1, 95% interval −2.34 to 6.54 (residual
sums per client 6.5, −1.3, −5.2; V = 3/2 · 70.98/10² = 1.065; t(2) = 4.303); one session
clearly lower (C1-01 session 5: 10 ≥ 7.2 points); one drop (C1-01 session 5, 40 against a
baseline of 50.25, more than 2 × the clinic's typical spread of 1.41 = the median of the three
clients' SDs), noticed by the rupture report (the prediction fell only 2 points).
"""

from __future__ import annotations

import datetime as dt

from alliance.instruments.registry import Registry
from alliance.services.records import clients
from alliance.services.records.administrations import submit_administration
from alliance.services.records.care import record_session, report_rupture
from tests.fixtures.database import Database, World

HISTORY = {
    "C1-01": [("2026-09-08", 52, 50), ("2026-09-15", 52, 50), ("2026-09-22", 52, 51),
              ("2026-09-29", 52, 50), ("2026-10-06", 50, 40)],
    "C1-02": [("2026-09-10", 47, 45), ("2026-09-17", 46, 44), ("2026-10-01", 47, 46)],
    "C1-03": [("2026-09-11", 40, 40), ("2026-10-02", 41, 42)],
}  # fmt: skip
REPORTED = ("C1-01", 5)
ERRORS = [2, 2, 1, 2, 10, 2, 2, 1, 0, -1]


def wai_sr(total: int) -> dict[str, object]:
    """Twelve 1–5 answers adding up to ``total``."""
    base, extra = divmod(total, 12)
    return {f"item_{i}": base + (1 if i <= extra else 0) for i in range(1, 13)}


def calibration_history(database: Database, world: World, registry: Registry) -> None:
    actor = world["c1"].actor
    with database.session() as db:
        for code, sessions in HISTORY.items():
            if code == "C1-01":
                episode_id, first = world.episodes["c1"], world.sessions["c1"]
            else:
                _, episode = clients.register_client(
                    db, actor, code=code, started_on=dt.date(2026, 9, 1)
                )
                episode_id, first = episode.id, None
            for number, (day, predicted, rated) in enumerate(sessions, start=1):
                if number == 1 and first is not None:
                    session_id = first
                else:
                    session_id = record_session(
                        db, actor, episode_id, date=dt.date.fromisoformat(day)
                    ).id
                for perspective, stance, total in (
                    ("client", "self", rated),
                    ("clinician", "prediction", predicted),
                ):
                    submit_administration(
                        db, actor, registry, session_id=session_id, instrument="wai-sr",
                        answers=wai_sr(total), idempotency_key=f"{code}-{number}-{stance}",
                        perspective=perspective, stance=stance,
                    )  # fmt: skip
                if (code, number) == REPORTED:
                    report_rupture(db, actor, session_id, note="withdrew")
        db.commit()
