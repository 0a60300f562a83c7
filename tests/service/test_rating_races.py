"""Racing writers of one rating, with real threads on the real database (PostgreSQL when
ALLIANCE_TEST_DATABASE_URL is set): whatever the interleaving, exactly one version stays
current, and every loser gets a clean answer (a correction, or a conflict) — never an error
of the database."""

from __future__ import annotations

import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor

from sqlalchemy import select

from alliance.instruments.registry import builtin_registry
from alliance.services.errors import Conflict
from alliance.services.records.administrations import submit_administration
from alliance.services.records.corrections import correct_administration
from alliance.store.models import Administration
from tests.fixtures.database import Database, World

RACERS = 12


def wai(level: int) -> dict[str, int]:
    return {f"item_{i}": level for i in range(1, 13)}


def race(database: Database, attempt: Callable[[object, int], str]) -> list[str]:
    """Run ``attempt(db, n)`` for n = 0 … RACERS-1 in threads released at once, each in its
    own session, committing; returns each outcome (``stored:<id>`` or the error's class)."""
    start = threading.Barrier(RACERS)

    def run(n: int) -> str:
        with database.session() as db:
            start.wait()
            try:
                result = attempt(db, n)
                db.commit()
                return result
            except Conflict:
                db.rollback()
                return "conflict"
            except Exception as exc:  # anything else is what the test looks for
                db.rollback()
                return f"{type(exc).__name__}: {exc}"

    with ThreadPoolExecutor(max_workers=RACERS) as pool:
        return list(pool.map(run, range(RACERS)))


def current_ids(database: Database, session_id: str) -> list[str]:
    with database.session() as db:
        replaced = select(Administration.supersedes_id).where(
            Administration.supersedes_id.is_not(None)
        )
        return list(
            db.scalars(
                select(Administration.id).where(
                    Administration.session_id == session_id, Administration.id.not_in(replaced)
                )
            )
        )


def test_racing_corrections_of_one_rating_leave_one_current(
    world: World, database: Database
) -> None:
    registry = builtin_registry()
    session = world.sessions["c1"]
    actor = world["c1"].actor
    with database.session() as db:
        original = submit_administration(
            db, actor, registry, session_id=session, instrument="wai-sr", answers=wai(2),
            idempotency_key="original",
        ).administration.id  # fmt: skip
        db.commit()

    def correct(db: object, n: int) -> str:
        result = correct_administration(
            db,  # type: ignore[arg-type]
            actor,
            registry,
            original,
            answers=wai(3 + n % 3),
            reason=f"fix {n}",
            idempotency_key=f"fix-{n}",
        )
        return f"stored:{result.administration.id}"

    outcomes = race(database, correct)
    stored = [o for o in outcomes if o.startswith("stored:")]
    assert len(stored) == 1, outcomes
    assert sorted(o for o in outcomes if not o.startswith("stored:")) == ["conflict"] * (RACERS - 1)
    assert current_ids(database, session) == [stored[0].removeprefix("stored:")]


def test_racing_submissions_for_one_session_leave_one_current(
    world: World, database: Database
) -> None:
    registry = builtin_registry()
    session = world.sessions["c1"]
    actor = world["c1"].actor

    def submit(db: object, n: int) -> str:
        result = submit_administration(
            db,  # type: ignore[arg-type]
            actor,
            registry,
            session_id=session,
            instrument="wai-sr",
            answers=wai(1 + n % 5) | {"item_12": 1 + n // 5},  # no two alike
            idempotency_key=f"form-{n}",
        )
        return f"stored:{result.administration.id}"

    outcomes = race(database, submit)
    assert all(o.startswith("stored:") for o in outcomes), outcomes
    [kept] = current_ids(database, session)
    with database.session() as db:
        rows = list(db.scalars(select(Administration).where(Administration.session_id == session)))
    assert len(rows) == RACERS  # every submission is kept in the history
    # each replaced the one before it: one chain from the first to the current one
    by_predecessor = {a.supersedes_id: a.id for a in rows}
    assert len(by_predecessor) == RACERS
    chain, link = [], by_predecessor[None]
    while link is not None:
        chain.append(link)
        link = by_predecessor.get(link)
    assert len(chain) == RACERS and chain[-1] == kept
