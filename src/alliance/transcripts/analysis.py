"""Analyse one transcript: construct indices with their evidence, rupture flags, trajectory.

Aggregation rules, version :data:`AGGREGATION_VERSION` — [DERIVED], frozen with the statement
sets before validation (docs/transcripts-model-card.md):

- **construct index** (per construct and speaker role): the mean turn contrast
  (positive − negative similarity, see :mod:`alliance.transcripts.scoring`) over that role's
  turns; role ``both`` is the mean of the client and clinician indices. Higher means the talk
  sounds more like the positively keyed statements. Indices are relative, not calibrated:
  compare sessions scored with the same embedder and statement version only.
- **evidence**: per construct and role, the ``evidence`` turns with the highest and the
  lowest contrast, with the statement each came closest to.
- **rupture index** (per family): the mean marker score over client turns; **flags** come from
  the rules in :mod:`alliance.transcripts.ruptures`.
- **trajectory**: the same indices over consecutive windows of ``window_minutes`` minutes when
  every turn has a time, else of ``window_turns`` turns, with flag counts, the client's median
  words per turn and mean sentiment per window.

Everything returned carries :data:`DISCLAIMER`.
"""

from __future__ import annotations

import itertools
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from alliance.transcripts.embedding import CachedEmbedder, Embedder, default_embedder
from alliance.transcripts.features import sentiment, sentiment_available
from alliance.transcripts.ruptures import Context, Flag, RuptureRule, default_rules
from alliance.transcripts.scoring import TurnScores, score_turns
from alliance.transcripts.statements import (
    CONSTRUCTS,
    FAMILIES,
    LATEST,
    StatementSets,
    load_statements,
)
from alliance.transcripts.turns import ROLES, Turn, check_turns, make_turns

DISCLAIMER = "research signal; not validated against client-reported alliance"
AGGREGATION_VERSION = "1"

_shared_embedder: CachedEmbedder | None = None


def shared_embedder() -> CachedEmbedder:
    """One cached default embedder per process, so statement vectors are embedded once."""
    global _shared_embedder  # noqa: PLW0603
    if _shared_embedder is None:
        _shared_embedder = CachedEmbedder(default_embedder())
    return _shared_embedder


@dataclass(frozen=True)
class TranscriptResult:
    """What :func:`analyze_transcript` finds in one session. Turn numbers count from 1.

    - ``indices``: construct, role, index, turns (one row per construct and role, plus
      role ``both``);
    - ``evidence``: construct, role, direction, turn, contrast, statement, statement_text, text;
    - ``ruptures``: per family: flags, flagged turns, client turns, index;
    - ``flags``: turn, start, family, marker, rule, score, statement, statement_text, detail,
      text;
    - ``trajectory`` (long): window, first_turn, last_turn, start, signal, role, value;
    - ``turns``: turn, speaker, start, words, sentiment, coherence, bond, task, goal,
      withdrawal, confrontation;
    - ``meta``: disclaimer, versions, embedder, configuration, notes.
    """

    indices: pd.DataFrame
    evidence: pd.DataFrame
    ruptures: pd.DataFrame
    flags: pd.DataFrame
    trajectory: pd.DataFrame
    turns: pd.DataFrame
    meta: Mapping[str, Any] = field(default_factory=dict)

    @property
    def disclaimer(self) -> str:
        return DISCLAIMER

    def index(self, construct: str, role: str = "client") -> float:
        row = self.indices[
            (self.indices["construct"] == construct) & (self.indices["role"] == role)
        ]
        if row.empty:
            raise KeyError(f"no index for construct {construct!r} and role {role!r}")
        return float(row["index"].iloc[0])


class TranscriptAnalyzer:
    """The whole configuration of a transcript analysis, as keyword-only arguments."""

    def __init__(
        self,
        *,
        statements: str = LATEST,
        window_turns: int = 20,
        window_minutes: float = 5.0,
        evidence: int = 3,
        rules: Sequence[RuptureRule] | None = None,
    ) -> None:
        if isinstance(window_turns, bool) or not isinstance(window_turns, int) or window_turns < 2:
            raise ValueError(
                f"window_turns: must be an integer of at least 2, got {window_turns!r}"
            )
        if isinstance(window_minutes, bool) or not isinstance(window_minutes, int | float):
            raise ValueError(f"window_minutes: must be a positive number, got {window_minutes!r}")
        if window_minutes <= 0:
            raise ValueError(f"window_minutes: must be a positive number, got {window_minutes!r}")
        if isinstance(evidence, bool) or not isinstance(evidence, int) or evidence < 1:
            raise ValueError(f"evidence: must be a positive integer, got {evidence!r}")
        self.statements = statements
        self.window_turns = window_turns
        self.window_minutes = window_minutes
        self.evidence = evidence
        self.rules = list(default_rules() if rules is None else rules)
        self._sets: StatementSets | None = None

    def params(self) -> dict[str, Any]:
        return {
            "statements": self.statements,
            "window_turns": self.window_turns,
            "window_minutes": self.window_minutes,
            "evidence": self.evidence,
            "rules": {rule.name: rule.params() for rule in self.rules},
        }

    @property
    def sets(self) -> StatementSets:
        if self._sets is None:
            self._sets = load_statements(self.statements)
        return self._sets

    def windows(self, turns: Sequence[Turn]) -> list[tuple[int, int]]:
        """Consecutive ``(first, stop)`` index ranges: by time when every turn has one."""
        if all(t.start is not None for t in turns):
            span = self.window_minutes * 60
            keys = [int((t.start or 0.0) // span) for t in turns]
        else:
            keys = [i // self.window_turns for i in range(len(turns))]
        bounds = [0] + [i for i in range(1, len(keys)) if keys[i] != keys[i - 1]] + [len(keys)]
        return list(itertools.pairwise(bounds))

    def analyze(self, turns: Sequence[Turn], *, embedder: Embedder) -> TranscriptResult:
        turns = check_turns(turns)
        sets = self.sets
        scores = score_turns(turns, sets, embedder)
        feel = sentiment([t.text for t in turns])
        windows = self.windows(turns)
        context = Context(turns, scores, windows, embedder.match_similarity)
        flags = sorted(
            (f for rule in self.rules for f in rule.flags(context)),
            key=lambda f: (f.turn, f.family, f.rule),
        )
        notes = [] if sentiment_available() else ["sentiment lexicon not installed"]
        meta = {
            "disclaimer": DISCLAIMER,
            "statements_version": sets.version,
            "statements_sha256": sets.sha256,
            "aggregation_version": AGGREGATION_VERSION,
            "embedder": embedder.id,
            "configuration": self.params(),
            "turns": len(turns),
            "client_turns": sum(t.speaker == "client" for t in turns),
            "notes": notes,
        }
        return TranscriptResult(
            indices=_indices(turns, scores),
            evidence=_evidence(turns, scores, self.evidence),
            ruptures=_rupture_summary(turns, scores, flags),
            flags=_flags_frame(turns, scores, flags),
            trajectory=_trajectory(turns, scores, flags, feel, windows),
            turns=_turns_frame(turns, scores, feel),
            meta=meta,
        )


def analyze_transcript(
    turns: Sequence[Turn] | Sequence[Mapping[str, object]] | pd.DataFrame,
    *,
    embedder: Embedder | None = None,
    analyzer: TranscriptAnalyzer | None = None,
) -> TranscriptResult:
    """Analyse one session's turns (no I/O).

    ``turns`` are :class:`Turn` records, or rows / a DataFrame with ``speaker``, ``text`` and
    optionally ``start``, in speaking order. Without ``embedder`` the pinned MiniLM model is
    used when installed, else the hashing fallback (``result.meta["embedder"]`` says which).
    """
    if isinstance(turns, pd.DataFrame):
        missing = [c for c in ("speaker", "text") if c not in turns.columns]
        if missing:
            raise ValueError(f"turns: missing column(s) {', '.join(missing)}; need speaker, text")
        records = turns.astype(object).where(turns.notna(), None).to_dict("records")
        parsed = make_turns([{str(k): v for k, v in r.items()} for r in records])
    elif turns and all(isinstance(t, Turn) for t in turns):
        parsed = check_turns([t for t in turns if isinstance(t, Turn)])
    else:
        rows = []
        for i, t in enumerate(turns):
            if not isinstance(t, Mapping):
                raise TypeError(f"turns: item {i + 1} is a {type(t).__name__}; use Turn or a dict")
            rows.append(t)
        parsed = make_turns(rows)
    return (analyzer or TranscriptAnalyzer()).analyze(
        parsed, embedder=embedder or shared_embedder()
    )


def _role_rows(turns: Sequence[Turn], role: str) -> np.ndarray:
    return np.array([t.speaker == role for t in turns])


def _indices(turns: Sequence[Turn], scores: TurnScores) -> pd.DataFrame:
    rows: list[tuple[str, str, float, int]] = []
    for construct in CONSTRUCTS:
        contrast = scores.constructs[construct].contrast
        values = {}
        for role in ROLES:
            mask = _role_rows(turns, role)
            values[role] = float(contrast[mask].mean()) if mask.any() else np.nan
            rows.append((construct, role, values[role], int(mask.sum())))
        both = float(np.nanmean(list(values.values())))
        rows.append((construct, "both", both, len(turns)))
    return pd.DataFrame(rows, columns=["construct", "role", "index", "turns"])


def _evidence(turns: Sequence[Turn], scores: TurnScores, k: int) -> pd.DataFrame:
    rows = []
    for construct in CONSTRUCTS:
        s = scores.constructs[construct]
        for role in ROLES:
            idx = np.flatnonzero(_role_rows(turns, role))
            order = idx[np.argsort(-s.contrast[idx], kind="stable")]
            for direction, picks, ids in (
                ("positive", order[:k], s.positive_statement),
                ("negative", order[::-1][:k], s.negative_statement),
            ):
                for i in picks:
                    statement = str(ids[i])
                    rows.append(
                        (
                            construct,
                            role,
                            direction,
                            int(i) + 1,
                            float(s.contrast[i]),
                            statement,
                            scores.statement_text[statement],
                            turns[i].text,
                        )
                    )
    columns = ["construct", "role", "direction", "turn", "contrast", "statement",
               "statement_text", "text"]  # fmt: skip
    return pd.DataFrame(rows, columns=columns)


def _flags_frame(turns: Sequence[Turn], scores: TurnScores, flags: list[Flag]) -> pd.DataFrame:
    rows = [
        (f.turn + 1, turns[f.turn].start, f.family, f.marker, f.rule, f.score, f.statement,
         scores.statement_text.get(f.statement or "", None), f.detail, turns[f.turn].text)
        for f in flags
    ]  # fmt: skip
    columns = ["turn", "start", "family", "marker", "rule", "score", "statement",
               "statement_text", "detail", "text"]  # fmt: skip
    return pd.DataFrame(rows, columns=columns).astype({"start": "float64", "score": "float64"})


def _rupture_summary(turns: Sequence[Turn], scores: TurnScores, flags: list[Flag]) -> pd.DataFrame:
    client = _role_rows(turns, "client")
    rows = []
    for family in FAMILIES:
        mine = [f for f in flags if f.family == family]
        index = float(np.nanmean(scores.families[family].score[client]))
        rows.append((family, len(mine), len({f.turn for f in mine}), int(client.sum()), index))
    return pd.DataFrame(rows, columns=["family", "flags", "flagged_turns", "client_turns", "index"])


def _trajectory(
    turns: Sequence[Turn],
    scores: TurnScores,
    flags: list[Flag],
    feel: np.ndarray,
    windows: list[tuple[int, int]],
) -> pd.DataFrame:
    rows: list[tuple[int, int, int, float | None, str, str, float]] = []
    words = np.array([t.words for t in turns])
    for w, (first, stop) in enumerate(windows, start=1):
        span = (w, first + 1, stop, turns[first].start)
        in_window = np.zeros(len(turns), dtype=bool)
        in_window[first:stop] = True
        for construct in CONSTRUCTS:
            contrast = scores.constructs[construct].contrast
            for role in ROLES:
                mask = in_window & _role_rows(turns, role)
                value = float(contrast[mask].mean()) if mask.any() else np.nan
                rows.append((*span, construct, role, value))
        for family in FAMILIES:
            n = sum(1 for f in flags if f.family == family and first <= f.turn < stop)
            rows.append((*span, f"{family}_flags", "client", float(n)))
        client = in_window & _role_rows(turns, "client")
        median = float(np.median(words[client])) if client.any() else np.nan
        mood = (
            float(np.nanmean(feel[client])) if client.any() and not np.isnan(feel).all() else np.nan
        )
        rows.append((*span, "words_median", "client", median))
        rows.append((*span, "sentiment_mean", "client", mood))
    columns = ["window", "first_turn", "last_turn", "start", "signal", "role", "value"]
    return pd.DataFrame(rows, columns=columns).astype({"start": "float64"})


def _turns_frame(turns: Sequence[Turn], scores: TurnScores, feel: np.ndarray) -> pd.DataFrame:
    frame = pd.DataFrame(
        {
            "turn": [t.index + 1 for t in turns],
            "speaker": [t.speaker for t in turns],
            "start": pd.array([t.start for t in turns], dtype="Float64").astype("float64"),
            "words": [t.words for t in turns],
            "sentiment": feel,
            "coherence": scores.coherence,
        }
    )
    for construct in CONSTRUCTS:
        frame[construct] = scores.constructs[construct].contrast
    for family in FAMILIES:
        frame[family] = scores.families[family].score
    return frame
