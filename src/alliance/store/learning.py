"""Clinician learning: self-check results, kept privately for the clinician who took them."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import BigInteger, CheckConstraint, ForeignKey, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from alliance.store.base import Base, JSONType, UTCDateTime, new_id, utcnow

QUIZ_SOURCES = ("web", "api", "cli")


class QuizResult(Base):
    """One taken self-check. Readable only by ``user_id`` (see ``services/monitoring/learning.py``).

    Options are named by their index in the bank's order (``chosen``: one index or null per
    question in ``question_ids``), so together with ``bank_version`` a result names exactly
    what was chosen however the options were shown. ``idempotency_key`` makes a resubmitted
    form store nothing new.
    """

    __tablename__ = "quiz_results"
    __table_args__ = (
        UniqueConstraint("user_id", "idempotency_key"),
        CheckConstraint(
            f"source IN ({', '.join(repr(s) for s in QUIZ_SOURCES)})", name="source_allowed"
        ),
    )

    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    user_id: Mapped[str] = mapped_column(ForeignKey("users.id"), index=True)
    bank_version: Mapped[str] = mapped_column(String(20))
    seed: Mapped[int] = mapped_column(BigInteger)
    topics: Mapped[list[str]] = mapped_column(JSONType, default=list)
    question_ids: Mapped[list[str]] = mapped_column(JSONType)
    chosen: Mapped[list[int | None]] = mapped_column(JSONType)
    asked: Mapped[int] = mapped_column(Integer)
    answered: Mapped[int] = mapped_column(Integer)
    correct: Mapped[int] = mapped_column(Integer)
    by_topic: Mapped[dict[str, Any]] = mapped_column(JSONType)
    taken_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    source: Mapped[str] = mapped_column(String(10))
    idempotency_key: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
