"""The self-check on establishing the alliance: drawing a quiz, keeping its result, and
showing a clinician their own results.

Results are private to the clinician who took them. Every read here is of the acting user's
own results; there is no use case that reads another person's, so supervisors and admins
cannot see them (a result id of someone else answers exactly like a missing one). The command
line may store a result for a named user (who took the quiz at the terminal) but cannot read
any.

A quiz is drawn from its seed (``alliance.learning.quiz.draw``); grading draws it again from
the seed, count and topics sent back with the answers, so nothing of a quiz in progress is
stored. A result names its options by their index in the bank's order.
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from alliance.learning.bank import Bank, Question, Topic
from alliance.learning.quiz import Quiz, choices_from_positions, draw, grade
from alliance.services import audit
from alliance.services.accounts.access import CLINICAL_ROLES, require_role
from alliance.services.context import Actor
from alliance.services.errors import Conflict, Invalid, NotFound
from alliance.store.learning import QUIZ_SOURCES, QuizResult
from alliance.store.models import User

MAX_KEY = 64
MAX_SEED = 2**63  # stored as a 64-bit integer


def _check_seed(seed: int | None) -> None:
    if seed is not None and (isinstance(seed, bool) or not 0 <= seed < MAX_SEED):
        raise Invalid(f"a whole number from 0 to {MAX_SEED - 1}", field="seed", value=seed)


def learner_named(db: Session, username: str) -> User:
    """A clinician or supervisor by username (for the command line)."""
    user = db.scalar(select(User).where(User.username == username))
    if user is None or user.role not in CLINICAL_ROLES or not user.active:
        raise NotFound(
            f"no active clinician or supervisor named {username!r}", field="user", value=username
        )
    return user


def topics(actor: Actor, bank: Bank) -> list[tuple[Topic, int]]:
    """The self-check's topics and how many questions each has."""
    require_role(actor, *CLINICAL_ROLES)
    return [(topic, len(bank.in_topic(topic.id))) for topic in bank.topics]


def draw_quiz(
    actor: Actor,
    bank: Bank,
    *,
    questions: int,
    topics: Sequence[str] | None = None,
    seed: int | None = None,
) -> Quiz:
    """A new self-check (or the same one again, from its seed)."""
    require_role(actor, *CLINICAL_ROLES)
    _check_seed(seed)
    try:
        return draw(bank, questions, seed=seed, topics=list(topics) if topics else None)
    except (TypeError, ValueError) as exc:
        field = str(exc).split(":", 1)[0]
        raise Invalid(str(exc), field=field if field in ("count", "topics") else None) from None


def _owner(db: Session, actor: Actor, user_id: str | None) -> str:
    """Whose result is stored: the acting clinician's own; for the command line, a named
    clinical user of the organization."""
    if not actor.is_system:
        require_role(actor, *CLINICAL_ROLES)
        if user_id not in (None, actor.user_id) or actor.user_id is None:
            raise NotFound("results are kept only for the person who took the self-check")
        return actor.user_id
    user = db.get(User, user_id) if user_id else None
    if (
        user is None
        or user.role not in CLINICAL_ROLES
        or (actor.organization_id and user.organization_id != actor.organization_id)
    ):
        raise NotFound(f"no clinician or supervisor {user_id}", field="user")
    return user.id


def record_result(
    db: Session,
    actor: Actor,
    bank: Bank,
    *,
    bank_version: str,
    seed: int,
    questions: int,
    topics: Sequence[str] | None,
    positions: Sequence[int | None],
    source: str,
    idempotency_key: str | None = None,
    user_id: str | None = None,
    taken_at: dt.datetime | None = None,
) -> tuple[QuizResult, bool]:
    """Grade a taken self-check and keep the result; ``(row, created)``. ``positions`` are
    the answers as the places the options were shown in (0 = A; None if skipped). A resubmission
    with the same key and answers returns the stored row; other answers under the same key
    are a conflict."""
    owner = _owner(db, actor, user_id)
    _check_seed(seed)
    if source not in QUIZ_SOURCES:
        raise Invalid(
            "unknown source", field="source", value=source, allowed=", ".join(QUIZ_SOURCES)
        )
    if bank_version != bank.version:
        raise Conflict(
            f"the question bank changed since this self-check was drawn (bank {bank_version}, "
            f"now {bank.version}); start a new one",
            field="bank_version",
        )
    key = idempotency_key or uuid.uuid4().hex
    if not 1 <= len(key) <= MAX_KEY:
        raise Invalid(f"1 to {MAX_KEY} characters", field="idempotency_key")
    try:
        quiz = draw(bank, questions, seed=seed, topics=list(topics) if topics else None)
        result = grade(quiz, choices_from_positions(quiz, positions), taken_at=taken_at)
    except (TypeError, ValueError) as exc:
        raise Invalid(str(exc), field=str(exc).split(":", 1)[0]) from None
    record = result.as_record()
    existing = _by_key(db, owner, key)
    if existing is not None:
        return _same_or_conflict(existing, record), False
    row = QuizResult(
        user_id=owner,
        bank_version=result.bank_version,
        seed=result.seed,
        topics=list(quiz.topics),
        question_ids=list(result.question_ids),
        chosen=list(result.chosen),
        asked=result.asked,
        answered=result.answered,
        correct=result.correct,
        by_topic=record["by_topic"],
        taken_at=result.taken_at,
        source=source,
        idempotency_key=key,
    )
    try:
        with db.begin_nested():
            db.add(row)
    except IntegrityError:  # the same form sent twice at once: the other one won
        existing = _by_key(db, owner, key)
        if existing is None:
            raise
        return _same_or_conflict(existing, record), False
    audit.record(db, actor, "create", "quiz_result", row.id, source=source)
    return row, True


def _by_key(db: Session, user_id: str, key: str) -> QuizResult | None:
    return db.scalar(
        select(QuizResult).where(QuizResult.user_id == user_id, QuizResult.idempotency_key == key)
    )


def _same_or_conflict(row: QuizResult, record: dict[str, object]) -> QuizResult:
    if row.question_ids == record["question_ids"] and row.chosen == record["chosen"]:
        return row
    raise Conflict(
        "these answers were sent before with different choices under the same key",
        field="idempotency_key",
    )


def my_results(db: Session, actor: Actor) -> list[QuizResult]:
    """The acting clinician's own results, newest first."""
    require_role(actor, *CLINICAL_ROLES)
    rows = list(
        db.scalars(
            select(QuizResult)
            .where(QuizResult.user_id == actor.user_id)
            .order_by(QuizResult.taken_at.desc(), QuizResult.created_at.desc())
        )
    )
    audit.record(db, actor, "read", "quiz_results", actor.user_id, results=len(rows))
    return rows


def my_result(db: Session, actor: Actor, result_id: str) -> QuizResult:
    """One of the acting clinician's own results; anyone else's is not found."""
    require_role(actor, *CLINICAL_ROLES)
    row = db.scalar(
        select(QuizResult).where(QuizResult.id == result_id, QuizResult.user_id == actor.user_id)
    )
    if row is None:
        raise NotFound(f"no self-check result {result_id}")
    audit.record(db, actor, "read", "quiz_result", row.id)
    return row


@dataclass(frozen=True)
class AnsweredQuestion:
    """A stored answer with its question (None when the bank version is no longer served)."""

    question_id: str
    question: Question | None
    chosen: int | None

    @property
    def correct(self) -> bool:
        return self.question is not None and self.chosen == self.question.answer


def answered_questions(row: QuizResult, bank: Bank) -> list[AnsweredQuestion]:
    """The result's questions from the bank it was drawn from, in the order asked."""
    same = row.bank_version == bank.version
    out = []
    for question_id, chosen in zip(row.question_ids, row.chosen, strict=True):
        question = None
        if same:
            try:
                question = bank.get(question_id)
            except KeyError:
                question = None
        out.append(AnsweredQuestion(question_id, question, chosen))
    return out
