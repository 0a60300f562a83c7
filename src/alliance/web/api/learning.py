"""Clinician learning: one's calibration (and a team member's, where allowed) and the
self-check on establishing the alliance, whose results only their taker can read."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Response

from alliance.learning.bank import LETTERS, Bank, builtin_bank
from alliance.learning.quiz import Quiz
from alliance.services.accounts.organization import organization
from alliance.services.monitoring import calibration, learning
from alliance.store.learning import QuizResult
from alliance.web.api.deps import ActorDep, ClinicDep, DbDep
from alliance.web.api.schemas_learning import (
    AnswersIn,
    BankPublic,
    CalibrationPublic,
    LearningSettings,
    QuizIn,
    QuizPublic,
    QuizResultPublic,
    QuizResultSummary,
    TopicPublic,
)

router = APIRouter(tags=["learning"])


def get_bank() -> Bank:
    return builtin_bank()


BankDep = Annotated[Bank, Depends(get_bank)]


@router.get("/learning/calibration", response_model=CalibrationPublic)
def my_calibration(db: DbDep, actor: ActorDep, clinic: ClinicDep) -> dict[str, Any]:
    """How close your predictions of your clients' WAI-SR ratings have been."""
    view = calibration.calibration_for(db, actor, clinic.registry)
    db.commit()
    return calibration.as_record(view)


@router.get("/learning/calibration/{user_id}", response_model=CalibrationPublic)
def member_calibration(
    user_id: str, db: DbDep, actor: ActorDep, clinic: ClinicDep
) -> dict[str, Any]:
    """A team member's calibration, for their supervisor when the organization allows it."""
    view = calibration.calibration_for(db, actor, clinic.registry, user_id=user_id)
    db.commit()
    return calibration.as_record(view)


@router.get("/organization/learning", response_model=LearningSettings)
def learning_settings(db: DbDep, actor: ActorDep) -> LearningSettings:
    """Who may see a clinician's calibration besides the clinician."""
    org = organization(db, actor)
    db.commit()
    return LearningSettings(supervisors_see_calibration=org.supervisors_see_calibration)


@router.put("/organization/learning", response_model=LearningSettings)
def change_learning_settings(
    body: LearningSettings, db: DbDep, actor: ActorDep
) -> LearningSettings:
    """Let supervisors see their team's calibration, or stop it (admins)."""
    org = calibration.set_supervisors_see_calibration(db, actor, body.supervisors_see_calibration)
    db.commit()
    return LearningSettings(supervisors_see_calibration=org.supervisors_see_calibration)


@router.get("/learning/quiz/topics", response_model=BankPublic)
def topics(bank: BankDep, actor: ActorDep) -> BankPublic:
    return BankPublic(
        bank_version=bank.version,
        title=bank.title,
        questions=len(bank),
        topics=[
            TopicPublic(id=topic.id, title=topic.title, questions=count)
            for topic, count in learning.topics(actor, bank)
        ],
    )


def quiz_body(quiz: Quiz, bank: Bank) -> dict[str, Any]:
    return {
        "bank_version": quiz.bank_version,
        "seed": quiz.seed,
        "questions": len(quiz.questions),
        "topics": list(quiz.topics),
        "items": [
            {
                "number": number,
                "id": drawn.question.id,
                "topic": drawn.question.topic,
                "topic_title": bank.topic(drawn.question.topic).title,
                "stem": drawn.question.stem,
                "options": [
                    {"position": position, "letter": LETTERS[position], "text": option.text}
                    for position, option in enumerate(drawn.options)
                ],
            }
            for number, drawn in enumerate(quiz.questions, start=1)
        ],
    }


@router.post("/learning/quiz", response_model=QuizPublic)
def new_quiz(body: QuizIn, bank: BankDep, actor: ActorDep) -> dict[str, Any]:
    """Draw a self-check (the same one again with its seed). Nothing is stored until the
    answers are sent; the correct options are given only then."""
    quiz = learning.draw_quiz(
        actor, bank, questions=body.questions, topics=body.topics, seed=body.seed
    )
    return quiz_body(quiz, bank)


def result_body(row: QuizResult, bank: Bank, created: bool | None = None) -> dict[str, Any]:
    questions = []
    for answered in learning.answered_questions(row, bank):
        q = answered.question
        questions.append(
            {
                "id": answered.question_id,
                "topic": q.topic if q else None,
                "stem": q.stem if q else None,
                "chosen": answered.chosen,
                "correct_option": q.answer if q else None,
                "correct": answered.correct,
                "basis": q.basis if q else None,
                "explanation": q.explanation if q else None,
                "reference": q.reference if q else None,
            }
        )
    return {
        "id": row.id,
        "bank_version": row.bank_version,
        "taken_at": row.taken_at,
        "asked": row.asked,
        "answered": row.answered,
        "correct": row.correct,
        "source": row.source,
        "seed": row.seed,
        "topics": row.topics,
        "by_topic": row.by_topic,
        "questions": questions,
        "created": created,
    }


@router.post("/learning/quiz/results", response_model=QuizResultPublic, status_code=201)
def send_answers(
    body: AnswersIn, bank: BankDep, db: DbDep, actor: ActorDep, response: Response
) -> dict[str, Any]:
    """Grade your answers and keep the result, privately for you; the answer shows the
    correct options, explanations and sources. A resubmission with the same
    ``idempotency_key`` returns the stored result (200)."""
    row, created = learning.record_result(
        db,
        actor,
        bank,
        bank_version=body.bank_version,
        seed=body.seed,
        questions=body.questions,
        topics=body.topics,
        positions=body.answers,
        source="api",
        idempotency_key=body.idempotency_key,
    )
    db.commit()
    if not created:
        response.status_code = 200
    return result_body(row, bank, created)


@router.get("/learning/quiz/results", response_model=list[QuizResultSummary])
def list_results(db: DbDep, actor: ActorDep) -> list[QuizResult]:
    """Your own self-check results, newest first (nobody else can read them)."""
    rows = learning.my_results(db, actor)
    db.commit()
    return rows


@router.get("/learning/quiz/results/{result_id}", response_model=QuizResultPublic)
def get_result(result_id: str, bank: BankDep, db: DbDep, actor: ActorDep) -> dict[str, Any]:
    row = learning.my_result(db, actor, result_id)
    db.commit()
    return result_body(row, bank)
