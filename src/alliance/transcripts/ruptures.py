"""Rupture marker flags in client talk, in the two families of Safran & Muran's work.

Withdrawal (moving away: minimal answers, deflection, denial, topic shifts, over-compliance)
and confrontation (moving against: complaints about the clinician or the therapy, rejecting
interventions, pressure) are the marker families of the Rupture Resolution Rating System
(3RS; Eubanks, Muran & Safran 2015 manual; Eubanks et al. 2019, Psychotherapy Research 29,
306–319). The 3RS is an observer coding system; these rules are **not** the 3RS and are not
validated against it. Every rule, threshold and default below is [DERIVED] (project synthesis,
set on the project's own example sentences before any validation data was looked at). A flag
is evidence for a clinician to look at, never a detection.

Each rule is a small object whose keyword-only constructor arguments are its whole
configuration (``params()`` returns them).
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from alliance.transcripts.scoring import TurnScores
from alliance.transcripts.statements import FAMILIES, Family
from alliance.transcripts.turns import Turn


@dataclass(frozen=True, slots=True)
class Flag:
    """A rupture marker at a client turn: which family, which marker, what fired it."""

    turn: int
    family: Family
    marker: str
    rule: str
    score: float
    statement: str | None
    detail: str


@dataclass(frozen=True, slots=True)
class Context:
    turns: Sequence[Turn]
    scores: TurnScores
    windows: Sequence[tuple[int, int]]
    match_similarity: float


class RuptureRule:
    """Base: stores its configuration; subclasses implement :meth:`flags`."""

    name = "rule"

    def params(self) -> dict[str, Any]:
        return dict(vars(self))

    def flags(self, context: Context) -> list[Flag]:
        raise NotImplementedError

    def __repr__(self) -> str:
        args = ", ".join(f"{k}={v!r}" for k, v in self.params().items())
        return f"{type(self).__name__}({args})"


def _positive(name: str, value: float, *, integer: bool = False) -> None:
    kind = int if integer else (int, float)
    if isinstance(value, bool) or not isinstance(value, kind) or value <= 0:
        what = "a positive integer" if integer else "a positive number"
        raise ValueError(f"{name}: must be {what}, got {value!r}")


class StatementMarkers(RuptureRule):
    """A client turn close to a marker statement and closer to it than to engaged talk.

    Fires when the family similarity is at least ``match_similarity`` (default: the
    embedder's) and the marker score (similarity − engaged) is at least ``margin``.
    """

    name = "statements"

    def __init__(self, *, match_similarity: float | None = None, margin: float = 0.05) -> None:
        if match_similarity is not None and not 0 < match_similarity < 1:
            raise ValueError(
                f"match_similarity: must lie between 0 and 1 (or None), got {match_similarity!r}"
            )
        _positive("margin", margin)
        self.match_similarity = match_similarity
        self.margin = margin

    def flags(self, context: Context) -> list[Flag]:
        floor = self.match_similarity or context.match_similarity
        out: list[Flag] = []
        for family in FAMILIES:
            fam = context.scores.families[family]
            hits = np.flatnonzero((fam.similarity >= floor) & (fam.score >= self.margin))
            out += [
                Flag(
                    turn=int(i),
                    family=family,
                    marker=str(fam.marker[i]),
                    rule=self.name,
                    score=float(fam.score[i]),
                    statement=str(fam.statement[i]),
                    detail=f"similarity {fam.similarity[i]:.2f} to a {fam.marker[i]} statement, "
                    f"{fam.score[i]:.2f} above engaged talk",
                )
                for i in hits
            ]
        return out


class MinimalResponse(RuptureRule):
    """A client answer of at most ``max_words`` words to a clinician question of at least
    ``prompt_words`` words (a question is a turn containing ``?``)."""

    name = "minimal_response"

    def __init__(self, *, max_words: int = 2, prompt_words: int = 12) -> None:
        _positive("max_words", max_words, integer=True)
        _positive("prompt_words", prompt_words, integer=True)
        self.max_words = max_words
        self.prompt_words = prompt_words

    def flags(self, context: Context) -> list[Flag]:
        out: list[Flag] = []
        turns = context.turns
        for prev, turn in itertools.pairwise(turns):
            if (
                turn.speaker == "client"
                and prev.speaker == "clinician"
                and turn.words <= self.max_words
                and prev.words >= self.prompt_words
                and "?" in prev.text
            ):
                out.append(
                    Flag(
                        turn.index,
                        "withdrawal",
                        "minimal_response",
                        self.name,
                        float(prev.words - turn.words),
                        None,
                        f"{turn.words} words after a {prev.words}-word question",
                    )
                )
        return out


class LengthDrop(RuptureRule):
    """The client's median words per turn in a window falls to ``ratio`` or less of the
    median over all earlier windows (when that baseline is at least ``min_baseline_words``).
    The flag sits on the window's first client turn."""

    name = "length_drop"

    def __init__(self, *, ratio: float = 0.5, min_baseline_words: int = 8) -> None:
        if not 0 < ratio < 1:
            raise ValueError(f"ratio: must lie between 0 and 1, got {ratio!r}")
        _positive("min_baseline_words", min_baseline_words, integer=True)
        self.ratio = ratio
        self.min_baseline_words = min_baseline_words

    def flags(self, context: Context) -> list[Flag]:
        out: list[Flag] = []
        earlier: list[int] = []
        for start, stop in context.windows:
            client = [t for t in context.turns[start:stop] if t.speaker == "client"]
            words = [t.words for t in client]
            if client and earlier:
                baseline = float(np.median(earlier))
                current = float(np.median(words))
                if baseline >= self.min_baseline_words and current <= self.ratio * baseline:
                    out.append(
                        Flag(
                            client[0].index,
                            "withdrawal",
                            "response_length_drop",
                            self.name,
                            current / baseline,
                            None,
                            f"median {current:g} words per client turn in turns "
                            f"{start + 1}–{stop}, against {baseline:g} before",
                        )
                    )
            earlier += words
        return out


class TopicShift(RuptureRule):
    """A client turn of at least ``min_words`` words whose coherence with the clinician turn
    just before it lies ``z`` standard deviations or more below the session's mean client
    coherence (needs ``min_turns`` client turns with a coherence value)."""

    name = "topic_shift"

    def __init__(self, *, z: float = 2.0, min_words: int = 8, min_turns: int = 10) -> None:
        _positive("z", z)
        _positive("min_words", min_words, integer=True)
        _positive("min_turns", min_turns, integer=True)
        self.z = z
        self.min_words = min_words
        self.min_turns = min_turns

    def flags(self, context: Context) -> list[Flag]:
        coherence = context.scores.coherence
        client = np.array([t.speaker == "client" for t in context.turns])
        usable = client & ~np.isnan(coherence)
        if usable.sum() < self.min_turns:
            return []
        mean, sd = float(coherence[usable].mean()), float(coherence[usable].std(ddof=1))
        if sd == 0:
            return []
        out: list[Flag] = []
        for i in np.flatnonzero(usable):
            zscore = (coherence[i] - mean) / sd
            if zscore <= -self.z and context.turns[int(i)].words >= self.min_words:
                out.append(
                    Flag(
                        int(i),
                        "withdrawal",
                        "abrupt_topic_shift",
                        self.name,
                        float(-zscore),
                        None,
                        f"coherence with the clinician's turn {coherence[i]:.2f}, "
                        f"{-zscore:.1f} SD below this session's client turns",
                    )
                )
        return out


def default_rules() -> list[RuptureRule]:
    return [StatementMarkers(), MinimalResponse(), LengthDrop(), TopicShift()]
