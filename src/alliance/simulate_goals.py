"""Goal-progress truth for a simulated clinic: goals that progress or stall, and clinicians who
see a goal's progress as the client does or quite differently.

:func:`simulate_goals` draws, for every client of the sessions table of
:func:`alliance.simulate.simulate_clinic`, one to three goals (20%, 30%, 50%: goal-based
outcomes agree up to three). Each goal starts at 0–3 on the 0–10 progress scale and either
**progresses** (a true gain of 0.5–1.0 points a session) or, with probability
``stall_share``, **stalls** (no true gain). The client rates it at every session they rated
the alliance (true progress plus noise ``goal_noise``, rounded and clipped to 0–10). The
clinician rates it at every session they rated: true progress plus noise, plus — for a goal
they **disagree** on (probability ``disagreement_share``) — an offset of 3–5 points, mostly
seeing more progress than the client does (80%). Its own random generator (from ``seed``)
leaves the rest of the simulated clinic unchanged.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from alliance.analytics.goal_scale import GOAL_INSTRUMENT, goal_scale

TRUTH_COLUMNS = ["client", "episode", "goal", "start", "gain", "stalled", "disagreement", "offset"]


def simulate_goals(
    sessions: pd.DataFrame,
    *,
    seed: int,
    stall_share: float = 0.25,
    disagreement_share: float = 0.15,
    goal_noise: float = 0.8,
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(truth per goal, progress ratings as tidy rows) for a simulated sessions table with
    ``client, episode, session, date, clinician, client_rated, clinician_rated``."""
    for name, value in (("stall_share", stall_share), ("disagreement_share", disagreement_share)):
        if not 0 <= value <= 1:
            raise ValueError(f"{name} must be a probability from 0 to 1; got {value!r}")
    if not goal_noise > 0:
        raise ValueError(f"goal_noise must be positive; got {goal_noise!r}")
    rng = np.random.default_rng([seed, 17])
    episodes = sessions[["client", "episode"]].drop_duplicates().sort_values(["client", "episode"])
    counts = rng.choice([1, 2, 3], size=len(episodes), p=[0.2, 0.3, 0.5])
    truth = episodes.loc[episodes.index.repeat(counts)].reset_index(drop=True)
    truth["goal"] = [goal_scale(k) for n in counts for k in range(1, n + 1)]
    n = len(truth)
    truth["start"] = rng.integers(0, 4, n).astype(np.float64)
    truth["stalled"] = rng.random(n) < stall_share
    truth["gain"] = np.where(truth["stalled"], 0.0, rng.uniform(0.5, 1.0, n))
    truth["disagreement"] = rng.random(n) < disagreement_share
    sign = np.where(rng.random(n) < 0.8, 1.0, -1.0)
    truth["offset"] = np.where(truth["disagreement"], sign * rng.uniform(3.0, 5.0, n), 0.0)

    grid = truth.merge(sessions, on=["client", "episode"])
    latent = np.minimum(grid["start"] + grid["gain"] * (grid["session"] - 1), 10.0)
    noise = rng.normal(0.0, goal_noise, (2, len(grid)))
    parts = []
    for perspective, rated, shift, k in (
        ("client", "client_rated", 0.0, 0),
        ("clinician", "clinician_rated", grid["offset"], 1),
    ):
        score = np.clip(np.rint(latent + shift + noise[k]), 0, 10)
        keep = grid[rated].to_numpy(dtype=bool)
        parts.append(
            pd.DataFrame(
                {
                    "client": grid["client"][keep],
                    "episode": grid["episode"][keep],
                    "session": grid["session"][keep],
                    "date": grid["date"][keep],
                    "instrument": GOAL_INSTRUMENT,
                    "perspective": perspective,
                    "scale": grid["goal"][keep],
                    "score": score[keep].astype(np.float64),
                    "version": "1.0",
                    "stance": "self",
                    "clinician": grid["clinician"][keep],
                    "administration": [f"goal-{perspective}-{i}" for i in np.flatnonzero(keep)],
                }
            )
        )
    ratings = pd.concat(parts, ignore_index=True)
    ratings = ratings.sort_values(["client", "session", "scale", "perspective"], ignore_index=True)
    return truth[TRUTH_COLUMNS], ratings


def recovery(
    truth: pd.DataFrame, signals: pd.DataFrame, rule: str, truth_column: str
) -> dict[str, float]:
    """Recall and precision of ``rule`` against ``truth_column`` per goal (a goal counts as
    found when the rule fired on it at any session): {"recall", "precision", "true",
    "flagged", "hits"}."""
    fired = signals[signals["rule"] == rule]
    found = set(zip(fired["client"], fired["episode"].astype(str), fired["scale"], strict=True))
    keys = list(zip(truth["client"], truth["episode"].astype(str), truth["goal"], strict=True))
    flagged = np.array([k in found for k in keys], dtype=bool)
    real = truth[truth_column].to_numpy(dtype=bool)
    hits = int((flagged & real).sum())
    return {
        "recall": hits / real.sum() if real.sum() else float("nan"),
        "precision": hits / flagged.sum() if flagged.sum() else float("nan"),
        "true": int(real.sum()),
        "flagged": int(flagged.sum()),
        "hits": hits,
    }
