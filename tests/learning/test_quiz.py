"""Drawing a self-check (seeded, balanced, shuffled) and grading it."""

from __future__ import annotations

import datetime as dt
import json
from collections import Counter

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from alliance.learning.bank import Bank, Option, Question, Topic, builtin_bank
from alliance.learning.quiz import DrawnQuestion, Quiz, draw, grade

WHEN = dt.datetime(2026, 3, 1, 9, 30, tzinfo=dt.UTC)


def ids(quiz: Quiz) -> list[str]:
    return [d.question.id for d in quiz.questions]


def question(qid: str, topic: str, answer: int = 0, n: int = 4) -> Question:
    return Question(
        id=qid,
        topic=topic,
        basis="published",
        stem=f"Stem of {qid}",
        options=tuple(Option(text=f"{qid} option {i}", correct=i == answer) for i in range(n)),
        explanation="Because.",
        reference="Someone (2020). Journal, 1, 1–2.",
    )


def small_bank(per_topic: dict[str, int]) -> Bank:
    return Bank(
        version="9",
        title="Test bank",
        topics=tuple(Topic(id=t, title=t.upper()) for t in per_topic),
        questions=tuple(question(f"{t}-{i}", t) for t, n in per_topic.items() for i in range(n)),
    )


def test_the_same_seed_draws_the_same_quiz() -> None:
    bank = builtin_bank()
    first, again = draw(bank, 8, seed=42), draw(bank, 8, seed=42)
    assert first == again
    assert first.seed == 42 and first.bank_version == bank.version


def test_different_seeds_draw_different_quizzes() -> None:
    bank = builtin_bank()
    drawn = {tuple(ids(draw(bank, 8, seed=seed))) for seed in range(20)}
    assert len(drawn) == 20


def test_without_a_seed_one_is_chosen_and_kept() -> None:
    bank = builtin_bank()
    quiz = draw(bank, 5)
    assert draw(bank, 5, seed=quiz.seed) == quiz


def test_questions_are_not_repeated_and_come_from_the_bank() -> None:
    bank = builtin_bank()
    quiz = draw(bank, len(bank), seed=3)
    assert sorted(ids(quiz)) == sorted(q.id for q in bank)


@pytest.mark.parametrize("count", [1, 5, 8, 10, 13, 20, 37])
def test_topics_are_balanced(count: int) -> None:
    bank = builtin_bank()
    for seed in range(10):
        per_topic = Counter(d.question.topic for d in draw(bank, count, seed=seed).questions)
        counts = [per_topic.get(t, 0) for t in bank.topic_ids]
        assert sum(counts) == count
        assert max(counts) - min(counts) <= 1, (seed, per_topic)


def test_balance_continues_when_a_topic_runs_out() -> None:
    bank = small_bank({"a": 1, "b": 3, "c": 4})
    per_topic = Counter(d.question.topic for d in draw(bank, 7, seed=1).questions)
    assert per_topic == {"a": 1, "b": 3, "c": 3}


@given(
    counts=st.lists(st.integers(1, 6), min_size=1, max_size=5),
    seed=st.integers(0, 2**32 - 1),
    data=st.data(),
)
@settings(max_examples=60, deadline=None)
def test_balance_property(counts: list[int], seed: int, data: st.DataObject) -> None:
    """No topic gets two more than a topic that still had questions left."""
    bank = small_bank({f"t{i}": n for i, n in enumerate(counts)})
    count = data.draw(st.integers(1, len(bank)))
    quiz = draw(bank, count, seed=seed)
    got = Counter(d.question.topic for d in quiz.questions)
    assert len(set(ids(quiz))) == count
    for short in bank.topic_ids:
        assert got[short] <= len(bank.in_topic(short))
        if got[short] < len(bank.in_topic(short)):
            assert all(got[other] <= got[short] + 1 for other in bank.topic_ids)


def test_topic_filter() -> None:
    bank = builtin_bank()
    quiz = draw(bank, 6, seed=2, topics=["ruptures", "suicide-risk"])
    assert Counter(d.question.topic for d in quiz.questions) == {"ruptures": 3, "suicide-risk": 3}
    assert quiz.topics == ("ruptures", "suicide-risk")


def test_unknown_topic_names_the_allowed_ones() -> None:
    with pytest.raises(ValueError, match=r"topics: unknown 'rupture'; allowed: bordin, "):
        draw(builtin_bank(), 3, topics=["rupture"])


@pytest.mark.parametrize("count", [0, -1, 999])
def test_count_out_of_range(count: int) -> None:
    bank = builtin_bank()
    with pytest.raises(
        ValueError, match=rf"count: {count} questions asked for; allowed 1–{len(bank)}"
    ):
        draw(bank, count)


def test_count_for_a_topic_is_limited_to_its_questions() -> None:
    bank = builtin_bank()
    n = len(bank.in_topic("bordin"))
    with pytest.raises(ValueError, match=rf"allowed 1–{n} for these topics"):
        draw(bank, n + 1, topics=["bordin"])


def test_count_must_be_a_whole_number() -> None:
    with pytest.raises(TypeError, match="count: expected a whole number"):
        draw(builtin_bank(), 2.5)  # type: ignore[arg-type]


def test_options_are_shuffled_and_keep_their_answer() -> None:
    bank = builtin_bank()
    positions = Counter()
    for seed in range(30):
        for drawn in draw(bank, 8, seed=seed).questions:
            q = drawn.question
            assert sorted(drawn.order) == list(range(len(q.options)))
            assert drawn.options[drawn.correct_position].correct
            assert set(drawn.options) == set(q.options)
            positions[drawn.correct_position] += 1
    # the bank mostly lists the right answer first; shown, it lands in every position
    assert set(positions) == {0, 1, 2, 3}
    assert min(positions.values()) > 30


def test_letters_map_to_bank_options() -> None:
    drawn = DrawnQuestion(question("q", "a", answer=2), order=(3, 2, 0, 1))
    assert drawn.letters == "ABCD"
    assert drawn.correct_position == 1
    assert drawn.position(" b ") == 1
    assert drawn.choice(drawn.position("B")) == 2
    with pytest.raises(ValueError, match="answer: 'E' is not one of A, B, C, D"):
        drawn.position("E")
    with pytest.raises(ValueError, match="answer: 'ab' is not one of"):
        drawn.position("ab")
    with pytest.raises(ValueError, match="position: 4 is outside 0–3"):
        drawn.choice(4)


def test_order_must_be_a_permutation() -> None:
    with pytest.raises(ValueError, match="order: must be a permutation of 0–3"):
        DrawnQuestion(question("q", "a"), order=(0, 0, 1, 2))


def test_grading_all_right_all_wrong_and_unanswered() -> None:
    bank = builtin_bank()
    quiz = draw(bank, 8, seed=11)
    right = [d.question.answer for d in quiz.questions]
    wrong = [(d.question.answer + 1) % len(d.question.options) for d in quiz.questions]
    assert grade(quiz, right, taken_at=WHEN).correct == 8
    assert grade(quiz, wrong, taken_at=WHEN).correct == 0
    half = [*right[:4], *([None] * 4)]
    result = grade(quiz, half, taken_at=WHEN)
    assert (result.asked, result.answered, result.correct, result.complete) == (8, 4, 4, False)


def test_result_record() -> None:
    bank = small_bank({"a": 2, "b": 2})
    quiz = draw(bank, 4, seed=5)
    # right on topic a, wrong on topic b
    chosen = [0 if d.question.topic == "a" else 1 for d in quiz.questions]
    result = grade(quiz, chosen, taken_at=WHEN)
    assert result.question_ids == tuple(ids(quiz))
    assert result.chosen == tuple(chosen)
    assert result.correct == 2
    assert {t: (s.asked, s.answered, s.correct) for t, s in result.by_topic.items()} == {
        "a": (2, 2, 2),
        "b": (2, 2, 0),
    }
    record = result.as_record()
    assert json.loads(json.dumps(record)) == record
    assert record["bank_version"] == "9"
    assert record["taken_at"] == "2026-03-01T09:30:00+00:00"
    assert record["question_ids"] == ids(quiz)
    assert record["by_topic"] == {
        "a": {"asked": 2, "answered": 2, "correct": 2},
        "b": {"asked": 2, "answered": 2, "correct": 0},
    }


def test_taken_at_defaults_to_now_in_utc() -> None:
    quiz = draw(small_bank({"a": 3}), 2, seed=1)
    before = dt.datetime.now(dt.UTC)
    result = grade(quiz, [None, None])
    assert result.taken_at.tzinfo is not None
    assert before <= result.taken_at <= dt.datetime.now(dt.UTC)


def test_grading_errors_name_the_parameter() -> None:
    quiz = draw(small_bank({"a": 3}), 2, seed=1)
    with pytest.raises(ValueError, match=r"choices: expected 2 \(one per question"):
        grade(quiz, [0])
    with pytest.raises(ValueError, match=r"choices\[1\]: 4 for question a-\d; allowed: an option"):
        grade(quiz, [0, 4])
    with pytest.raises(ValueError, match=r"choices\[0\]: True"):
        grade(quiz, [True, 0])
    with pytest.raises(ValueError, match="taken_at: must carry a time zone"):
        grade(quiz, [0, 0], taken_at=dt.datetime(2026, 3, 1, 9, 30))
