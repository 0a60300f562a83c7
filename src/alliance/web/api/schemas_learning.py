"""Request and response bodies of the clinician-learning routes (calibration, self-check)."""

from __future__ import annotations

import datetime as dt
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field


class _In(BaseModel):
    model_config = ConfigDict(extra="forbid")


class EstimatePublic(BaseModel):
    n: int
    clusters: int = Field(description="Clients the values came from.")
    mean: float | None
    low: float | None = Field(description="95% interval, clustered by client.")
    high: float | None


class ClearlyLowerPublic(BaseModel):
    sessions: int
    share: float | None
    threshold: float = Field(description="Points below the prediction.")
    min_difference: float = Field(description="The threshold as a share of the scale's range.")


class MonthPublic(BaseModel):
    period: str
    n: int
    clients: int
    bias: float | None = Field(description="Mean error (prediction − client's rating).")
    low: float | None
    high: float | None
    mean_abs_error: float | None
    correlation: float | None


class GapPublic(BaseModel):
    client_id: str | None
    client: str
    session: int
    date: str | None
    prediction: float
    rating: float
    error: float
    clearly_lower: bool


class DropSessionPublic(BaseModel):
    client_id: str | None
    client: str
    session: int
    date: str | None
    rating: float
    rules: list[str]
    reported: bool
    prediction: float | None
    previous_prediction: float | None
    prediction_fell: bool
    noticed: bool


class DropsPublic(BaseModel):
    rules: list[str]
    prediction_fall: float
    count: int
    noticed: int
    reported: int
    prediction_fell: int
    sessions: list[DropSessionPublic]


class CalibrationPublic(BaseModel):
    """One clinician's calibration; only ``sessions`` (0) and the definitions when there are
    no ratings yet."""

    user_id: str
    display_name: str
    instrument: str
    scale: str
    definitions: dict[str, str]
    sessions: int
    scale_range: list[float] | None = None
    level: float | None = None
    clients: int | None = None
    mean_error: EstimatePublic | None = None
    mean_abs_error: EstimatePublic | None = None
    direction: Literal["over", "under", "unclear"] | None = None
    correlation: float | None = None
    clearly_lower: ClearlyLowerPublic | None = None
    clearly_higher: int | None = None
    by_month: list[MonthPublic] = []
    largest_gaps: list[GapPublic] = []
    drops: DropsPublic | None = None


class LearningSettings(_In):
    supervisors_see_calibration: bool = Field(
        description="Whether supervisors may see their team members' calibration."
    )


class TopicPublic(BaseModel):
    id: str
    title: str
    questions: int


class BankPublic(BaseModel):
    bank_version: str
    title: str
    questions: int
    topics: list[TopicPublic]


class QuizIn(_In):
    questions: int = Field(default=8, ge=1, le=100)
    topics: list[str] | None = None
    seed: int | None = Field(default=None, ge=0, lt=2**63)


class OptionPublic(BaseModel):
    position: int = Field(description="The option's place as shown (0 = A): send it back.")
    letter: str = Field(description="The letter shown.")
    text: str


class QuizQuestionPublic(BaseModel):
    number: int
    id: str
    topic: str
    topic_title: str
    stem: str
    options: list[OptionPublic] = Field(description="In the order shown.")


class QuizPublic(BaseModel):
    bank_version: str
    seed: int
    questions: int
    topics: list[str]
    items: list[QuizQuestionPublic]


class AnswersIn(_In):
    bank_version: str
    seed: int = Field(ge=0, lt=2**63)
    questions: int = Field(ge=1, le=100)
    topics: list[str] | None = None
    answers: list[int | None] = Field(
        description="One answer per question in the order drawn: the chosen option's place "
        "as shown (0 = A); null if skipped."
    )
    idempotency_key: str | None = Field(default=None, min_length=1, max_length=64)


class TopicScorePublic(BaseModel):
    asked: int
    answered: int
    correct: int


class AnsweredPublic(BaseModel):
    id: str
    topic: str | None
    stem: str | None
    chosen: int | None
    correct_option: int | None
    correct: bool
    basis: str | None
    explanation: str | None
    reference: str | None


class QuizResultSummary(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: str
    bank_version: str
    taken_at: dt.datetime
    asked: int
    answered: int
    correct: int
    source: str


class QuizResultPublic(QuizResultSummary):
    seed: int
    topics: list[str]
    by_topic: dict[str, TopicScorePublic]
    questions: list[AnsweredPublic]
    created: bool | None = None
