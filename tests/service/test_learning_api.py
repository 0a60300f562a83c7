"""Clinician learning over the API: calibration figures on a known history, who may see a
clinician's calibration, and self-check results that only their taker can read."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from alliance.instruments.registry import Registry
from alliance.learning.bank import builtin_bank
from alliance.learning.quiz import choices_from_positions, draw
from alliance.services.errors import NotFound
from alliance.services.monitoring import learning
from alliance.store.learning import QuizResult
from tests.fixtures.database import Database, World
from tests.service.learning_data import ERRORS, calibration_history

API = "/api/v1"


def test_calibration_figures_of_a_known_history(
    api: TestClient, world: World, database: Database, registry: Registry
) -> None:
    calibration_history(database, world, registry)
    body = api.get(f"{API}/learning/calibration", headers=world["c1"].headers).json()
    assert body["user_id"] == world["c1"].id
    assert (body["sessions"], body["clients"]) == (10, 3)
    error = body["mean_error"]
    assert error["mean"] == pytest.approx(sum(ERRORS) / 10)
    assert error["low"] < error["mean"] < error["high"]
    assert body["mean_abs_error"]["mean"] == pytest.approx(sum(map(abs, ERRORS)) / 10)
    assert body["clearly_lower"] == {
        "sessions": 1, "share": 0.1, "threshold": pytest.approx(7.2), "min_difference": 0.15,
    }  # fmt: skip
    assert [(m["period"], m["n"], m["clients"]) for m in body["by_month"]] == [
        ("2026-09", 7, 3),
        ("2026-10", 3, 3),
    ]
    assert body["by_month"][1]["bias"] == pytest.approx((10 + 1 - 1) / 3)
    top = body["largest_gaps"][0]
    assert (top["client"], top["session"], top["error"], top["clearly_lower"]) == (
        "C1-01", 5, 10.0, True,
    )  # fmt: skip
    assert top["client_id"] == world.clients["c1"]
    drops = body["drops"]
    assert (drops["count"], drops["noticed"], drops["reported"], drops["prediction_fell"]) == (
        1, 1, 1, 0,
    )  # fmt: skip
    [drop] = drops["sessions"]
    assert (drop["client"], drop["session"], drop["rules"]) == (
        "C1-01", 5, ["drop_from_baseline"],
    )  # fmt: skip
    assert (drop["previous_prediction"], drop["prediction"]) == (52.0, 50.0)
    assert "7.2 points" in body["definitions"]["clearly_lower"]
    assert "4.8 points" in body["definitions"]["noticed"]


def test_a_clinician_without_predictions_gets_an_empty_calibration(
    api: TestClient, world: World
) -> None:
    body = api.get(f"{API}/learning/calibration", headers=world["c2"].headers).json()
    assert body["sessions"] == 0
    assert body["mean_error"] is None


def test_supervisors_see_their_team_only_when_the_organization_allows_it(
    api: TestClient, world: World, database: Database, registry: Registry
) -> None:
    calibration_history(database, world, registry)
    c1_path = f"{API}/learning/calibration/{world['c1'].id}"
    s1 = world["s1"].headers
    off = api.get(c1_path, headers=s1)
    assert off.status_code == 403
    assert "private" in off.json()["error"]["message"]
    assert api.get(f"{API}/organization/learning", headers=s1).json() == {
        "supervisors_see_calibration": False
    }
    refused = api.put(
        f"{API}/organization/learning", headers=s1, json={"supervisors_see_calibration": True}
    )
    assert refused.status_code == 403
    switched = api.put(
        f"{API}/organization/learning",
        headers=world["a1"].headers,
        json={"supervisors_see_calibration": True},
    )
    assert switched.json() == {"supervisors_see_calibration": True}

    seen = api.get(c1_path, headers=s1)
    assert seen.status_code == 200
    assert seen.json()["sessions"] == 10
    # not beyond the team, the organization, or the supervisor role
    assert api.get(f"{API}/learning/calibration/{world['c3'].id}", headers=s1).status_code == 404
    assert api.get(c1_path, headers=world["c2"].headers).status_code == 404
    assert api.get(c1_path, headers=world["b1"].headers).status_code == 404
    assert api.get(c1_path, headers=world["a1"].headers).status_code == 403
    assert api.get(c1_path, headers=world["r1"].headers).status_code == 403
    # organization B's switch is its own
    other = api.get(f"{API}/organization/learning", headers=world["ba"].headers).json()
    assert other == {"supervisors_see_calibration": False}


def answers_for(seed: int, count: int, *, wrong: set[int] = frozenset()) -> list[int | None]:
    """Answers as the places the options were shown in: right except for the question
    numbers (0-based) in ``wrong``."""
    quiz = draw(builtin_bank(), count, seed=seed)
    return [
        (d.correct_position + 1) % len(d.order) if i in wrong else d.correct_position
        for i, d in enumerate(quiz.questions)
    ]


def test_a_quiz_drawn_answered_and_kept(api: TestClient, world: World, database: Database) -> None:
    c1 = world["c1"].headers
    bank = builtin_bank()
    drawn = api.post(f"{API}/learning/quiz", headers=c1, json={"questions": 4, "seed": 11})
    assert drawn.status_code == 200
    quiz = drawn.json()
    assert (quiz["seed"], quiz["questions"], quiz["bank_version"]) == (11, 4, bank.version)
    expected = draw(bank, 4, seed=11)
    assert [q["id"] for q in quiz["items"]] == [d.question.id for d in expected.questions]
    first = quiz["items"][0]
    shown = expected.questions[0]
    assert [(o["position"], o["letter"], o["text"]) for o in first["options"]] == [
        (k, shown.letters[k], option.text) for k, option in enumerate(shown.options)
    ]
    assert "correct" not in str(quiz)  # no answers before they are sent
    assert all("index" not in o for q in quiz["items"] for o in q["options"])  # nor bank order

    choices = answers_for(11, 4, wrong={1})
    choices[3] = None
    body = {"bank_version": bank.version, "seed": 11, "questions": 4, "answers": choices,
            "idempotency_key": "k-1"}  # fmt: skip
    sent = api.post(f"{API}/learning/quiz/results", headers=c1, json=body)
    assert sent.status_code == 201
    result = sent.json()
    assert (result["asked"], result["answered"], result["correct"]) == (4, 3, 2)
    assert [q["correct"] for q in result["questions"]] == [True, False, True, False]
    assert result["questions"][1]["explanation"] == expected.questions[1].question.explanation
    assert result["questions"][1]["correct_option"] == expected.questions[1].question.answer

    with database.session() as db:
        row = db.scalars(select(QuizResult)).one()
    assert row.user_id == world["c1"].id
    assert (row.seed, row.bank_version, row.source) == (11, bank.version, "api")
    assert row.question_ids == [d.question.id for d in expected.questions]
    assert row.chosen == choices_from_positions(expected, choices)  # kept in bank order
    assert sum(t["correct"] for t in row.by_topic.values()) == row.correct == 2

    again = api.post(f"{API}/learning/quiz/results", headers=c1, json=body)
    assert again.status_code == 200  # the same form sent twice is kept once
    assert again.json()["id"] == result["id"]
    changed = api.post(
        f"{API}/learning/quiz/results", headers=c1, json=body | {"answers": [0, 0, 0, 0]}
    )
    assert changed.status_code == 409
    listed = api.get(f"{API}/learning/quiz/results", headers=c1).json()
    assert [r["id"] for r in listed] == [result["id"]]


def test_quiz_answers_are_checked(api: TestClient, world: World) -> None:
    c1 = world["c1"].headers
    body = {"bank_version": builtin_bank().version, "seed": 3, "questions": 2}
    stale = api.post(
        f"{API}/learning/quiz/results",
        headers=c1,
        json=body | {"bank_version": "0.9", "answers": [None, None]},
    )
    assert stale.status_code == 409
    assert stale.json()["error"]["field"] == "bank_version"
    short = api.post(f"{API}/learning/quiz/results", headers=c1, json=body | {"answers": [0]})
    assert short.status_code == 422
    assert short.json()["error"]["field"] == "answers"
    outside = api.post(f"{API}/learning/quiz/results", headers=c1, json=body | {"answers": [0, 9]})
    assert outside.status_code == 422
    huge = api.post(
        f"{API}/learning/quiz/results", headers=c1, json=body | {"seed": 2**64, "answers": [0, 0]}
    )
    assert huge.status_code == 422
    assert huge.json()["error"]["field"] == "seed"
    unknown = api.post(f"{API}/learning/quiz", headers=c1, json={"topics": ["astrology"]})
    assert unknown.status_code == 422
    assert unknown.json()["error"]["field"] == "topics"


def test_quiz_results_are_private_to_whoever_took_them(
    api: TestClient, world: World, database: Database
) -> None:
    version = builtin_bank().version
    body = {"bank_version": version, "seed": 5, "questions": 3, "answers": answers_for(5, 3)}
    mine = api.post(f"{API}/learning/quiz/results", headers=world["c1"].headers, json=body)
    result_id = mine.json()["id"]
    api.put(
        f"{API}/organization/learning",
        headers=world["a1"].headers,
        json={"supervisors_see_calibration": True},  # does not open quiz results
    )
    path = f"{API}/learning/quiz/results/{result_id}"
    assert api.get(path, headers=world["c1"].headers).status_code == 200
    for who in ("c2", "c3", "s1", "b1"):
        response = api.get(path, headers=world[who].headers)
        assert response.status_code == 404, who
        assert api.get(f"{API}/learning/quiz/results", headers=world[who].headers).json() == []
    for who in ("a1", "r1", "ba"):
        assert api.get(path, headers=world[who].headers).status_code == 403, who
        listed = api.get(f"{API}/learning/quiz/results", headers=world[who].headers)
        assert listed.status_code == 403, who
    with database.session() as db:  # the service has no way to read someone else's
        with pytest.raises(NotFound):
            learning.my_result(db, world["s1"].actor, result_id)
        assert learning.my_results(db, world["s1"].actor) == []


def test_answers_are_places_as_shown_so_the_bank_order_gives_nothing_away(
    api: TestClient, world: World
) -> None:
    """Always answering the first option shown scores what chance gives, not the bank's
    first options (which are often the right ones)."""
    bank = builtin_bank()
    quiz = draw(bank, 12, seed=21)
    firsts = sum(d.correct_position == 0 for d in quiz.questions)
    bank_firsts = sum(d.question.answer == 0 for d in quiz.questions)
    assert firsts < bank_firsts  # the seed shuffles the right answers away from A
    body = {"bank_version": bank.version, "seed": 21, "questions": 12, "answers": [0] * 12}
    sent = api.post(f"{API}/learning/quiz/results", headers=world["c1"].headers, json=body)
    assert sent.status_code == 201
    assert sent.json()["correct"] == firsts
