"""``alliance learn calibration`` and ``alliance learn quiz --user`` against a database."""

from __future__ import annotations

from alembic import command
from sqlalchemy import select
from typer.testing import CliRunner

from alliance.cli import app
from alliance.instruments.registry import Registry
from alliance.learning.bank import builtin_bank
from alliance.learning.quiz import draw
from alliance.store.learning import QuizResult
from alliance.store.migrate import alembic_config
from tests.fixtures.database import Database, World
from tests.service.learning_data import calibration_history


def run(database: Database, *args: str, stdin: str = "") -> tuple[int, str, str]:
    command.stamp(alembic_config(database.engine), "head")  # built with create_all
    result = CliRunner().invoke(
        app, [*args, "--database", database.url], input=stdin, env={"COLUMNS": "200"}
    )
    return result.exit_code, " ".join(result.stdout.split()), " ".join(result.stderr.split())


def test_calibration_prints_the_figures(
    database: Database, world: World, registry: Registry
) -> None:
    calibration_history(database, world, registry)
    code, out, _ = run(database, "learn", "calibration", "--user", "c1")
    assert code == 0
    assert "Calibration of c1 (c1), WAI-SR total (12–60): 10 sessions of 3 clients" in out
    assert "mean error (prediction − rating) +2.1 points (95% interval -2.3 to +6.5)" in out
    assert "no clear direction" in out
    assert "clearly lower (≥ 7.2 points below) 1 of 10 sessions (10%)" in out
    assert "2026-09 +1.6" in out and "2026-10 +3.3" in out
    assert "C1-01 5 2026-10-06 50 40 +10" in out
    assert "Drops in clients' own ratings: 1; noticed in the same session: 1 (1 by a rupture " \
        "report, 0 by a prediction that fell ≥ 4.8 points)." in out  # fmt: skip


def test_calibration_of_someone_without_ratings_or_unknown(
    database: Database, world: World
) -> None:
    code, out, _ = run(database, "learn", "calibration", "--user", "c2")
    assert code == 0
    assert "No sessions yet in which c2 (c2) predicted" in out
    code, _, err = run(database, "learn", "calibration", "--user", "a1")
    assert code == 1
    assert "no active clinician or supervisor named 'a1'" in err


def test_quiz_with_a_user_is_kept_privately(database: Database, world: World) -> None:
    quiz = draw(builtin_bank(), 3, seed=21)
    letters = [d.letters[d.correct_position] for d in quiz.questions]
    code, out, _ = run(
        database, "learn", "quiz", "-n", "3", "--seed", "21", "--user", "c1",
        stdin="\n".join(letters) + "\n",
    )  # fmt: skip
    assert code == 0
    assert "3 of 3 right" in out
    assert "Saved privately for c1: only they can read it, on their Learning page." in out
    with database.session() as db:
        row = db.scalars(select(QuizResult)).one()
    assert (row.user_id, row.source, row.seed, row.correct) == (world["c1"].id, "cli", 21, 3)
    assert row.question_ids == [d.question.id for d in quiz.questions]


def test_quiz_refuses_an_unknown_user_before_asking(database: Database, world: World) -> None:
    code, out, err = run(database, "learn", "quiz", "-n", "2", "--user", "nobody", stdin="a\nb\n")
    assert code == 1
    assert "no active clinician or supervisor named 'nobody'" in err
    assert "Question 1" not in out
    with database.session() as db:
        assert db.scalars(select(QuizResult)).all() == []


def test_quiz_stopped_before_any_answer_saves_nothing(database: Database, world: World) -> None:
    code, out, _ = run(database, "learn", "quiz", "-n", "2", "--user", "c1", stdin="q\n")
    assert code == 0
    assert "Nothing was saved." in out
    with database.session() as db:
        assert db.scalars(select(QuizResult)).all() == []
