"""Turn scores: similarity of each turn to the statement sets, as keyed contrasts.

Rules [DERIVED] (project synthesis after the projection of talk onto alliance constructs by
Lin et al. 2022, arXiv 2204.05522, which compares each turn with keyed statements by cosine
similarity; the statements, the max-over-statements step and the contrasts are ours):

- a turn is split into sentences; its similarity to a statement is the highest cosine over
  its sentences (statements are single sentences, and averaging a long turn into one vector
  dilutes the one sentence that matters); the turn's own vector, used for coherence, is the
  normalised mean of its sentence vectors;
- a turn is compared only with the statements of its own speaker's role;
- for a construct, ``positive`` is the turn's highest cosine similarity to the positively
  keyed statements and ``negative`` its highest to the negatively keyed ones; the turn score
  is the contrast ``positive − negative`` (a turn says at most one thing of the kind, hence
  the maximum rather than a mean over statements);
- for a rupture family (client turns only), ``similarity`` is the highest cosine to any of the
  family's marker statements and the marker score is ``similarity − engaged``, where
  ``engaged`` is the highest cosine to the set of engaged, collaborative client talk;
- ``coherence`` is the cosine between a turn and the other speaker's turn just before it.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from alliance.transcripts.embedding import Embedder, Vectors
from alliance.transcripts.statements import (
    CONSTRUCTS,
    FAMILIES,
    Construct,
    Family,
    Statement,
    StatementSets,
)
from alliance.transcripts.turns import ROLES, Turn

Floats = npt.NDArray[np.float64]
Ids = npt.NDArray[np.object_]

_SENTENCE_END = re.compile(r"(?<=[.!?])\s+")


def sentences(text: str) -> list[str]:
    """Split a turn after ``.``, ``!`` or ``?`` followed by white space."""
    parts = [p.strip() for p in _SENTENCE_END.split(text) if p.strip()]
    return parts or [text]


@dataclass(frozen=True, slots=True)
class ConstructScores:
    """Per turn: best positive and negative similarity, their contrast, and which statements."""

    positive: Floats
    negative: Floats
    contrast: Floats
    positive_statement: Ids
    negative_statement: Ids


@dataclass(frozen=True, slots=True)
class MarkerScores:
    """Per turn (NaN / None for clinician turns): similarity to the family, marker score."""

    similarity: Floats
    score: Floats
    marker: Ids
    statement: Ids


@dataclass(frozen=True, slots=True)
class TurnScores:
    vectors: Vectors
    constructs: dict[Construct, ConstructScores]
    engaged: Floats
    families: dict[Family, MarkerScores]
    coherence: Floats
    statement_text: dict[str, str]


def score_turns(turns: Sequence[Turn], sets: StatementSets, embedder: Embedder) -> TurnScores:
    """Embed the turns and the statements once and derive every per-turn score."""
    statements = list(sets)
    units: list[str] = []
    owners: list[int] = []
    for i, turn in enumerate(turns):
        parts = sentences(turn.text)
        units += parts
        owners += [i] * len(parts)
    unit_vectors = embedder.embed(units)
    statement_vectors = embedder.embed([s.text for s in statements])
    starts = np.flatnonzero(np.diff(np.array(owners), prepend=-1))
    sims = np.maximum.reduceat(unit_vectors @ statement_vectors.T, starts, axis=0).astype(
        np.float64
    )
    pooled = np.add.reduceat(unit_vectors, starts, axis=0)
    vectors = (pooled / np.maximum(np.linalg.norm(pooled, axis=1, keepdims=True), 1e-12)).astype(
        np.float32
    )
    column = {s.id: j for j, s in enumerate(statements)}
    speakers = np.array([t.speaker for t in turns])
    n = len(turns)

    def best(group: Sequence[Statement], rows: npt.NDArray[np.bool_]) -> tuple[Floats, Ids]:
        values = np.full(n, np.nan)
        ids = np.full(n, None, dtype=object)
        if rows.any():
            cols = np.array([column[s.id] for s in group], dtype=np.intp)
            block = sims[np.ix_(rows, cols)]
            arg = block.argmax(axis=1)
            values[rows] = block[np.arange(len(arg)), arg]
            ids[rows] = np.array([group[k].id for k in arg], dtype=object)
        return values, ids

    constructs: dict[Construct, ConstructScores] = {}
    for name in CONSTRUCTS:
        pos, neg = np.full(n, np.nan), np.full(n, np.nan)
        pos_id = np.full(n, None, dtype=object)
        neg_id = np.full(n, None, dtype=object)
        for role in ROLES:
            rows = speakers == role
            p, pi = best(sets.constructs[name].statements[(role, "positive")], rows)
            q, qi = best(sets.constructs[name].statements[(role, "negative")], rows)
            pos[rows], pos_id[rows] = p[rows], pi[rows]
            neg[rows], neg_id[rows] = q[rows], qi[rows]
        constructs[name] = ConstructScores(pos, neg, pos - neg, pos_id, neg_id)

    client = speakers == "client"
    engaged, _ = best(sets.engaged, client)
    families: dict[Family, MarkerScores] = {}
    for family in FAMILIES:
        groups = sets.families[family].markers
        flat = [s for group in groups.values() for s in group]
        marker_of = {s.id: marker for marker, group in groups.items() for s in group}
        similarity, ids = best(flat, client)
        markers = np.array([marker_of.get(i) if i else None for i in ids], dtype=object)
        families[family] = MarkerScores(similarity, similarity - engaged, markers, ids)

    coherence = np.full(n, np.nan)
    last: dict[str, int] = {}
    for i, turn in enumerate(turns):
        other = "clinician" if turn.speaker == "client" else "client"
        if other in last and last[other] == i - 1:
            coherence[i] = float(vectors[i] @ vectors[i - 1])
        last[turn.speaker] = i
    return TurnScores(
        vectors=vectors,
        constructs=constructs,
        engaged=engaged,
        families=families,
        coherence=coherence,
        statement_text={s.id: s.text for s in statements},
    )
