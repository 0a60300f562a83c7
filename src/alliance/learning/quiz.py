"""Draw a short self-check from the bank, grade the answers, and keep a plain result record.

A quiz is drawn with a seed: the same seed on the same bank version gives the same questions
in the same order with the same option order. Questions are spread evenly across the chosen
topics (round-robin over the topics in random order, so topic counts differ by at most one
while every topic still has questions left), and each question's options are shuffled.

Graded answers are option indices **in the bank's order** (``DrawnQuestion.choice`` turns a
shown place into one; :func:`choices_from_positions` a whole quiz's), so a stored result does
not depend on how the options were shown.
Nothing here reads or writes anything but the bank; storing results is the service's job.
"""

from __future__ import annotations

import datetime as dt
import random
from collections.abc import Sequence
from dataclasses import dataclass

from alliance.learning.bank import LETTERS, Bank, Option, Question

DEFAULT_QUESTIONS = 8


@dataclass(frozen=True, slots=True)
class DrawnQuestion:
    """A question as shown: ``order[k]`` is the bank index of the option shown at position k."""

    question: Question
    order: tuple[int, ...]

    def __post_init__(self) -> None:
        if sorted(self.order) != list(range(len(self.question.options))):
            raise ValueError(
                f"order: must be a permutation of 0–{len(self.question.options) - 1} "
                f"for question {self.question.id}, got {self.order}"
            )

    @property
    def options(self) -> tuple[Option, ...]:
        """The options in the order shown."""
        return tuple(self.question.options[i] for i in self.order)

    @property
    def letters(self) -> str:
        return LETTERS[: len(self.order)]

    @property
    def correct_position(self) -> int:
        return self.order.index(self.question.answer)

    def position(self, letter: str) -> int:
        """The shown position of an answer letter (case and spaces ignored)."""
        key = letter.strip().upper()
        if len(key) != 1 or key not in self.letters:
            raise ValueError(f"answer: {letter.strip()!r} is not one of {', '.join(self.letters)}")
        return self.letters.index(key)

    def choice(self, position: int) -> int:
        """The bank index of the option shown at ``position``."""
        if not 0 <= position < len(self.order):
            raise ValueError(f"position: {position} is outside 0–{len(self.order) - 1}")
        return self.order[position]


@dataclass(frozen=True, slots=True)
class Quiz:
    """The drawn questions, with what is needed to draw the same quiz again."""

    bank_version: str
    seed: int
    topics: tuple[str, ...]
    questions: tuple[DrawnQuestion, ...]


def draw(
    bank: Bank,
    count: int = DEFAULT_QUESTIONS,
    *,
    seed: int | None = None,
    topics: Sequence[str] | None = None,
) -> Quiz:
    """Draw ``count`` questions spread evenly across ``topics`` (default: every topic).

    ``seed`` makes the draw reproducible; without one a seed is chosen at random and kept on
    the quiz so that the same set can be drawn again.
    """
    chosen = list(dict.fromkeys(topics)) if topics else list(bank.topic_ids)
    unknown = [t for t in chosen if t not in bank.topic_ids]
    if unknown:
        raise ValueError(
            f"topics: unknown {', '.join(map(repr, unknown))}; allowed: {', '.join(bank.topic_ids)}"
        )
    available = sum(len(bank.in_topic(t)) for t in chosen)
    if isinstance(count, bool) or not isinstance(count, int):
        raise TypeError(f"count: expected a whole number of questions, got {count!r}")
    if not 1 <= count <= available:
        raise ValueError(
            f"count: {count} questions asked for; allowed 1–{available} "
            f"for {'these topics' if topics else 'the whole bank'}"
        )
    if seed is None:
        seed = random.SystemRandom().randrange(2**32)
    rng = random.Random(seed)

    pools = {t: rng.sample(bank.in_topic(t), len(bank.in_topic(t))) for t in chosen}
    rounds = rng.sample(chosen, len(chosen))
    picked: list[Question] = []
    while len(picked) < count:
        for topic in rounds:
            if pools[topic] and len(picked) < count:
                picked.append(pools[topic].pop())
    rng.shuffle(picked)
    drawn = tuple(
        DrawnQuestion(q, tuple(rng.sample(range(len(q.options)), len(q.options)))) for q in picked
    )
    return Quiz(bank_version=bank.version, seed=seed, topics=tuple(chosen), questions=drawn)


@dataclass(frozen=True, slots=True)
class Answer:
    """One question of a taken quiz; ``chosen`` is None when it was not answered."""

    question_id: str
    topic: str
    chosen: int | None
    correct_option: int

    @property
    def answered(self) -> bool:
        return self.chosen is not None

    @property
    def is_correct(self) -> bool:
        return self.chosen == self.correct_option


@dataclass(frozen=True, slots=True)
class TopicScore:
    asked: int
    answered: int
    correct: int


@dataclass(frozen=True, slots=True)
class QuizResult:
    """What the service keeps privately for the clinician who took the quiz.

    Option indices are in the bank's order; together with ``bank_version`` they identify
    exactly which option was chosen.
    """

    bank_version: str
    seed: int
    taken_at: dt.datetime
    answers: tuple[Answer, ...]

    @property
    def question_ids(self) -> tuple[str, ...]:
        return tuple(a.question_id for a in self.answers)

    @property
    def chosen(self) -> tuple[int | None, ...]:
        return tuple(a.chosen for a in self.answers)

    @property
    def asked(self) -> int:
        return len(self.answers)

    @property
    def answered(self) -> int:
        return sum(a.answered for a in self.answers)

    @property
    def correct(self) -> int:
        return sum(a.is_correct for a in self.answers)

    @property
    def complete(self) -> bool:
        return self.answered == self.asked

    @property
    def by_topic(self) -> dict[str, TopicScore]:
        """Per-topic counts, topics in the order they first appear in the quiz."""
        topics = dict.fromkeys(a.topic for a in self.answers)
        return {
            topic: TopicScore(
                asked=sum(a.topic == topic for a in self.answers),
                answered=sum(a.topic == topic and a.answered for a in self.answers),
                correct=sum(a.topic == topic and a.is_correct for a in self.answers),
            )
            for topic in topics
        }

    def as_record(self) -> dict[str, object]:
        """A JSON-ready mapping of the result (timestamp as ISO 8601 with its offset)."""
        return {
            "bank_version": self.bank_version,
            "seed": self.seed,
            "taken_at": self.taken_at.isoformat(),
            "question_ids": list(self.question_ids),
            "chosen": list(self.chosen),
            "asked": self.asked,
            "answered": self.answered,
            "correct": self.correct,
            "by_topic": {
                topic: {"asked": s.asked, "answered": s.answered, "correct": s.correct}
                for topic, s in self.by_topic.items()
            },
        }


def choices_from_positions(quiz: Quiz, positions: Sequence[int | None]) -> list[int | None]:
    """Bank option indices for answers given as the places the options were shown in
    (0 = the first shown, letter A; None if not answered). Pages and the API take answers
    this way, so that nothing sent with the questions tells which option is right."""
    if len(positions) != len(quiz.questions):
        raise ValueError(
            f"answers: expected {len(quiz.questions)} (one per question, None if not "
            f"answered), got {len(positions)}"
        )
    choices: list[int | None] = []
    for number, (drawn, position) in enumerate(zip(quiz.questions, positions, strict=True)):
        n = len(drawn.order)
        if position is not None and (
            isinstance(position, bool) or not isinstance(position, int) or not 0 <= position < n
        ):
            raise ValueError(
                f"answers[{number}]: {position!r} for question {drawn.question.id}; "
                f"allowed: a place as shown 0–{n - 1} ({drawn.letters[0]}–{drawn.letters[-1]}) "
                "or None"
            )
        choices.append(None if position is None else drawn.choice(position))
    return choices


def grade(
    quiz: Quiz, choices: Sequence[int | None], *, taken_at: dt.datetime | None = None
) -> QuizResult:
    """Grade one answer per drawn question (bank option index, or None if not answered)."""
    if len(choices) != len(quiz.questions):
        raise ValueError(
            f"choices: expected {len(quiz.questions)} (one per question, None if not "
            f"answered), got {len(choices)}"
        )
    if taken_at is None:
        taken_at = dt.datetime.now(dt.UTC)
    elif taken_at.tzinfo is None or taken_at.utcoffset() is None:
        raise ValueError("taken_at: must carry a time zone (for example datetime.UTC)")
    answers = []
    for number, (drawn, chosen) in enumerate(zip(quiz.questions, choices, strict=True), 1):
        n = len(drawn.question.options)
        if chosen is not None and (
            isinstance(chosen, bool) or not isinstance(chosen, int) or not 0 <= chosen < n
        ):
            raise ValueError(
                f"choices[{number - 1}]: {chosen!r} for question {drawn.question.id}; "
                f"allowed: an option index 0–{n - 1} or None"
            )
        answers.append(
            Answer(
                question_id=drawn.question.id,
                topic=drawn.question.topic,
                chosen=chosen,
                correct_option=drawn.question.answer,
            )
        )
    return QuizResult(
        bank_version=quiz.bank_version, seed=quiz.seed, taken_at=taken_at, answers=tuple(answers)
    )
