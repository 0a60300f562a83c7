"""Plain records and table shapes shared by every layer (no I/O, no database).

Two table shapes carry data between the layers and out to researchers:

**Administrations, wide** — one row per completed instrument:
``administration, client, episode, session, date, instrument, version, perspective, stance,
clinician, item_1 … item_k`` (``ADMINISTRATION_COLUMNS`` plus the item columns). ``stance`` is
``self`` for a rater's own rating and ``prediction`` for a clinician's prediction of how the
client rated (stored with ``perspective = clinician`` on the client's form).

**Scores, tidy long** — one row per administration and scale:
``client, episode, session, date, instrument, perspective, scale, score`` (``TIDY_COLUMNS``),
optionally followed by ``version, stance, clinician, administration``.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Literal

from alliance.instruments.model import Perspective

FIRST_DATE = dt.date(1900, 1, 1)
LAST_DATE = dt.date(2199, 12, 31)
DATE_TEXT = f"a date YYYY-MM-DD from {FIRST_DATE} to {LAST_DATE}"
# Session numbers within an episode: far above any course of care, and within every integer
# column and table type the layers use (PostgreSQL's integer stops at 2^31 - 1).
LAST_SESSION = 10_000


def plausible_date(value: dt.date) -> bool:
    """Whether a date of care (an episode's start or end, a session) lies in the range the
    project keeps. A date outside it is a typing error (2206 for 2026), and every table type
    the layers use (pandas' datetime64[ns] holds 1677–2262) holds the range, with room for
    the shifts of a de-identified export."""
    return FIRST_DATE <= value <= LAST_DATE


Stance = Literal["self", "prediction"]
STANCES: tuple[Stance, ...] = ("self", "prediction")

ADMINISTRATION_COLUMNS = (
    "administration",
    "client",
    "episode",
    "session",
    "date",
    "instrument",
    "version",
    "perspective",
    "stance",
    "clinician",
)
TIDY_COLUMNS = (
    "client",
    "episode",
    "session",
    "date",
    "instrument",
    "perspective",
    "scale",
    "score",
)
TIDY_OPTIONAL_COLUMNS = ("version", "stance", "clinician", "administration")


@dataclass(frozen=True, slots=True)
class Administration:
    """One completed instrument for one session from one perspective; answers as given.

    ``answers`` maps ``item_1 … item_k`` to the value given, or None when not answered.
    """

    client: str
    episode: str
    session: int
    date: dt.date
    instrument: str
    version: str
    perspective: Perspective
    answers: Mapping[str, float | None]
    stance: Stance = "self"
    clinician: str | None = None
    id: str | None = None
    extras: Mapping[str, str] = field(default_factory=dict)


GoalStatus = Literal["active", "achieved", "no_longer_wanted", "changed"]
GoalRater = Literal["client", "clinician"]


@dataclass(frozen=True, slots=True)
class GoalProgress:
    """A progress rating of a goal, 0 (none) to 10 (reached), in a session."""

    session: int
    date: dt.date
    rater: GoalRater
    value: int
    clinician: str | None = None  # the clinician's username, for a clinician's rating


@dataclass(frozen=True, slots=True)
class Goal:
    """A goal as it stands (its current version), in the client's words, with its progress.

    ``goal`` is its stable id; ``number`` its place in the episode (goal 1, 2 …);
    ``replaces`` the id of the goal it replaced, if any."""

    client: str
    episode: str
    goal: str
    number: int
    description: str
    proposed_by: str
    agreed_on: dt.date
    status: GoalStatus
    version: int = 1
    target: str | None = None
    reason: str | None = None
    replaces: str | None = None
    changed_on: dt.date | None = None  # when the current version was recorded
    progress: tuple[GoalProgress, ...] = ()
