"""Turns of a transcript: who spoke, in what order, when, and what was said.

A transcript is a sequence of :class:`Turn` records in speaking order. Speaker roles are the
project's perspectives on a session: ``client`` and ``clinician``. Common synonyms found in
transcript exports (``therapist``, ``counsellor``, ``patient`` …) are accepted and mapped to the
two roles; anything else is an error that names the allowed values.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Literal

Role = Literal["client", "clinician"]
ROLES: tuple[Role, ...] = ("client", "clinician")

ROLE_SYNONYMS: Mapping[str, Role] = {
    "client": "client",
    "patient": "client",
    "seeker": "client",
    "c": "client",
    "clinician": "clinician",
    "therapist": "clinician",
    "counsellor": "clinician",
    "counselor": "clinician",
    "supporter": "clinician",
    "nurse": "clinician",
    "physiotherapist": "clinician",
    "t": "clinician",
}


class TranscriptError(ValueError):
    """A transcript that cannot be analysed; the message names the turn and the field."""


@dataclass(frozen=True, slots=True)
class Turn:
    """One turn of talk.

    ``index`` is the 0-based position in speaking order; ``start`` is an optional time offset
    from the start of the session in seconds.
    """

    index: int
    speaker: Role
    text: str
    start: float | None = None

    @property
    def words(self) -> int:
        return len(self.text.split())


def parse_role(value: object, *, where: str = "speaker") -> Role:
    """Map a speaker label to ``client`` or ``clinician`` (case-insensitive)."""
    if not isinstance(value, str) or not value.strip():
        raise TranscriptError(f"{where}: a speaker role is required; allowed: {_allowed_roles()}")
    role = ROLE_SYNONYMS.get(value.strip().lower())
    if role is None:
        raise TranscriptError(
            f"{where}: unknown speaker role {value!r}; allowed: {_allowed_roles()}"
        )
    return role


def _allowed_roles() -> str:
    synonyms = sorted(k for k in ROLE_SYNONYMS if len(k) > 1 and k not in ROLES)
    return f"client, clinician (or {', '.join(synonyms)})"


def parse_time(value: object, *, where: str = "start") -> float | None:
    """Seconds from a number, ``SS``, ``MM:SS`` or ``HH:MM:SS``; None for an empty value."""
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    if isinstance(value, bool):
        raise TranscriptError(f"{where}: not a time: {value!r}; use seconds or HH:MM:SS")
    if isinstance(value, int | float):
        seconds = float(value)
    elif isinstance(value, str):
        parts = value.strip().split(":")
        try:
            numbers = [float(p) for p in parts]
        except ValueError:
            raise TranscriptError(
                f"{where}: not a time: {value!r}; use seconds or HH:MM:SS"
            ) from None
        if len(numbers) > 3 or any(n < 0 for n in numbers):
            raise TranscriptError(f"{where}: not a time: {value!r}; use seconds or HH:MM:SS")
        seconds = 0.0
        for n in numbers:
            seconds = seconds * 60 + n
    else:
        raise TranscriptError(f"{where}: not a time: {value!r}; use seconds or HH:MM:SS")
    if not math.isfinite(seconds) or seconds < 0:
        raise TranscriptError(f"{where}: not a time: {value!r}; use seconds or HH:MM:SS")
    return seconds


def make_turns(rows: Iterable[Mapping[str, object]], *, source: str = "transcript") -> list[Turn]:
    """Validate raw rows (``speaker``, ``text``, optional ``start``) into turns.

    Rows are taken in the order given. Empty text is an error (a turn with nothing said is
    not a turn); times, when given, must not go backwards.
    """
    turns: list[Turn] = []
    last_time: float | None = None
    for i, row in enumerate(rows):
        where = f"{source}: turn {i + 1}"
        speaker = parse_role(row.get("speaker"), where=f"{where}, speaker")
        text = row.get("text")
        if not isinstance(text, str) or not text.strip():
            raise TranscriptError(f"{where}, text: the turn has no text")
        start = parse_time(row.get("start"), where=f"{where}, start")
        if start is not None and last_time is not None and start < last_time:
            raise TranscriptError(
                f"{where}, start: time goes backwards ({start:g} s after {last_time:g} s); "
                "turns must be in speaking order"
            )
        if start is not None:
            last_time = start
        turns.append(Turn(index=i, speaker=speaker, text=" ".join(text.split()), start=start))
    return check_turns(turns, source=source)


def check_turns(turns: Sequence[Turn], *, source: str = "transcript") -> list[Turn]:
    """Check turns built in code: consecutive indices from 0, known roles, some client talk."""
    if not turns:
        raise TranscriptError(f"{source}: no turns")
    for i, turn in enumerate(turns):
        if not isinstance(turn, Turn):
            raise TypeError(f"{source}: turn {i + 1} is a {type(turn).__name__}, not a Turn")
        if turn.index != i:
            raise TranscriptError(
                f"{source}: turn {i + 1} has index {turn.index}; indices must run 0, 1, 2 …"
            )
        if turn.speaker not in ROLES:
            raise TranscriptError(
                f"{source}: turn {i + 1}, speaker: {turn.speaker!r}; allowed: client, clinician"
            )
        if not turn.text.strip():
            raise TranscriptError(f"{source}: turn {i + 1}, text: the turn has no text")
    if not any(t.speaker == "client" for t in turns):
        raise TranscriptError(f"{source}: no client turns; the signals are read from client talk")
    return list(turns)
