"""Simple per-turn features beside the similarity scores: length and sentiment.

Sentiment is VADER's compound score (Hutto & Gilbert 2014, ICWSM; the lexicon and rules ship
in the PyPI package ``vaderSentiment``, MIT licence), from −1 (most negative) to +1. Lexicons
read therapy talk poorly (Tanana et al. 2021, Behav Res Methods: LIWC κ = .25 against human
sentiment ratings of psychotherapy utterances), so sentiment is a weak, exploratory feature.
Without the optional package the sentiment column is empty and the sentiment rules are off.
"""

from __future__ import annotations

import importlib.util
from collections.abc import Sequence
from typing import Any

import numpy as np
import numpy.typing as npt

Floats = npt.NDArray[np.float64]

_analyzer: Any = None


def sentiment_available() -> bool:
    return importlib.util.find_spec("vaderSentiment") is not None


def sentiment(texts: Sequence[str]) -> Floats:
    """VADER compound score per text; all NaN when the lexicon is not installed."""
    global _analyzer  # noqa: PLW0603 - one lexicon load per process
    if not sentiment_available():
        return np.full(len(texts), np.nan)
    if _analyzer is None:
        from vaderSentiment.vaderSentiment import (  # noqa: PLC0415 - optional dependency
            SentimentIntensityAnalyzer,
        )

        _analyzer = SentimentIntensityAnalyzer()
    return np.array([_analyzer.polarity_scores(t)["compound"] for t in texts], dtype=np.float64)


def word_counts(texts: Sequence[str]) -> npt.NDArray[np.int64]:
    return np.array([len(t.split()) for t in texts], dtype=np.int64)
