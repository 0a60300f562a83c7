"""Small hand-made tidy tables for the analytics tests."""

from __future__ import annotations

from collections.abc import Callable

import pandas as pd
import pytest


def _series(
    ratings: dict[str, list[float | None]],
    *,
    instrument: str = "wai-sr",
    scale: str = "total",
    perspective: str = "client",
    stance: str = "self",
    clinician: str | None = None,
) -> pd.DataFrame:
    """One row per client and session; None leaves the session out (a missed rating)."""
    rows = [
        {
            "client": client,
            "episode": "1",
            "session": session,
            "instrument": instrument,
            "perspective": perspective,
            "stance": stance,
            "scale": scale,
            "score": float(score),
            **({"clinician": clinician} if clinician else {}),
        }
        for client, scores in ratings.items()
        for session, score in enumerate(scores, start=1)
        if score is not None
    ]
    return pd.DataFrame(rows)


@pytest.fixture
def make_series() -> Callable[..., pd.DataFrame]:
    return _series
