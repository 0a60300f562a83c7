"""Synthetic clinics with known ruptures, repairs, dropouts and alliance→outcome effect.

:func:`simulate_clinic` returns item-level answers of real instruments (client ``wai-sr``
self-ratings, clinicians' predictions of the client's ``wai-sr`` with a rupture yes/no beside
each, and client ``phq-9`` answers) as wide administration tables (``alliance.records``), and
beside them the truth that generated them. Everything is deterministic given ``seed``.

How the data are generated (shapes from the literature; every number is a parameter):

- **Alliance** (WAI-SR total, 12–60): a client's level (between-client SD ``alliance_sd``)
  plus a small clinician effect, early growth ``g·log(session)`` (mean g ``alliance_growth``),
  and within-client noise (``within_noise``); rounded and **clipped at the ceiling** of 60, as
  alliance ratings are ceiling-bound (over half of ratings in the top category in some
  samples).
- **Ruptures**: from session ``rupture_from`` on, a client not in a rupture starts one with
  probability ``rupture_rate`` per session: the rating falls by ``rupture_depth`` × the
  within-client SD. With probability ``repair_rate`` it is repaired one or two sessions later
  (a V shape: back to the client's own level, the most frequent crisis shape in Gumz et al.
  2012); otherwise 80% of the fall persists to the end of the episode.
- **Outcome** (PHQ-9 total, 0–27): intake severity, improvement ``γ·log(session)`` (the
  log-session shape of expected recovery curves, Finch et al. 2001), and
  ``within_effect`` × the client's previous-session alliance rating relative to the client's
  own level — the true within-client alliance→next-outcome effect, in PHQ-9 points per WAI-SR
  point — plus noise. Risk-prone clients (``risk_share``) sometimes answer item 9 above 0.
- **Dropout**: after each session, a client leaves with a probability that rises as their
  early alliance (mean of the first three ratings) falls below average (alliance predicts
  dropout, d ≈ .55, Sharf et al. 2010) and while a rupture is unrepaired.
- **Goals** (:mod:`alliance.simulate_goals`): one to three per client, progressing or
  stalled, rated by the client and the clinician, some with the clinician seeing quite
  different progress; their truth is in ``goals``, the ratings in ``goal_ratings``
  (``tidy(goals=True)``), from a generator of their own.
- **Clinicians** predict the client's rating: the client's expected level, part of any
  rupture (their ``sensitivity``), plus their own ``prediction_bias`` (overestimation) and
  noise; they report a rupture at its first session with probability ``notice_rate`` and
  otherwise raise a false alarm with probability ``false_alarm_rate``.

Item answers are spread over the items so that they add up exactly to the generated total,
so scoring the answers gives back the generated totals.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import numpy.typing as npt
import pandas as pd

from alliance.analytics.tidy import tidy_scores
from alliance.instruments.registry import builtin_registry
from alliance.simulate_goals import simulate_goals

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]

WAI_SR_ITEMS = 12
PHQ9_ITEMS = 10  # nine scored items and the unscored difficulty question


@dataclass(frozen=True)
class SimulatedClinic:
    """Wide administrations per instrument, and the truth behind them."""

    administrations: dict[str, pd.DataFrame]
    teams: pd.DataFrame
    clinicians: pd.DataFrame
    clients: pd.DataFrame
    episodes: pd.DataFrame
    sessions: pd.DataFrame
    ruptures: pd.DataFrame
    parameters: dict[str, Any] = field(default_factory=dict)
    goals: pd.DataFrame = field(default_factory=pd.DataFrame)  # truth per goal
    goal_ratings: pd.DataFrame = field(default_factory=pd.DataFrame)  # progress, tidy rows

    def tidy(self, *, goals: bool = False) -> pd.DataFrame:
        """Every administration scored, as one tidy long table; with ``goals``, the goal
        progress ratings too (``instrument = goals``, :mod:`alliance.simulate_goals`)."""
        registry = builtin_registry()
        parts = [
            tidy_scores(frame, registry.get(instrument_id))
            for instrument_id, frame in self.administrations.items()
        ]
        if goals and len(self.goal_ratings):
            parts.append(self.goal_ratings)
        return pd.concat(parts, ignore_index=True)


def simulate_clinic(
    *,
    seed: int,
    n_clinicians: int = 8,
    n_clients: int = 100,
    n_teams: int | None = None,
    sessions: int = 10,
    start: dt.date = dt.date(2026, 1, 5),
    alliance_mean: float = 46.0,
    alliance_sd: float = 6.0,
    alliance_growth: float = 1.0,
    within_noise: float = 2.0,
    rupture_rate: float = 0.05,
    rupture_depth: float = 2.5,
    rupture_from: int = 4,
    repair_rate: float = 0.7,
    within_effect: float = -0.25,
    dropout_base: float = 0.03,
    dropout_per_sd: float = 0.8,
    missing_rate: float = 0.04,
    risk_share: float = 0.08,
    prediction_bias: float = 4.0,
    notice_rate: float = 0.5,
    false_alarm_rate: float = 0.03,
) -> SimulatedClinic:
    """Simulate a clinic (see the module docstring for the model).

    Raises
    ------
    ValueError
        Naming a parameter outside its allowed range.
    """
    _check(n_clinicians=n_clinicians, n_clients=n_clients, sessions=sessions)
    for name, value in (
        ("rupture_rate", rupture_rate),
        ("repair_rate", repair_rate),
        ("dropout_base", dropout_base),
        ("missing_rate", missing_rate),
        ("risk_share", risk_share),
        ("notice_rate", notice_rate),
        ("false_alarm_rate", false_alarm_rate),
    ):
        if not 0 <= value <= 1:
            raise ValueError(f"{name} must be a probability from 0 to 1; got {value!r}")
    if not within_noise > 0:
        raise ValueError(f"within_noise must be positive; got {within_noise!r}")
    if rupture_from < 2:
        raise ValueError(f"rupture_from must be 2 or more; got {rupture_from!r}")
    rng = np.random.default_rng(seed)
    n_teams = n_teams or max(1, round(n_clinicians / 4))
    n, c = n_clients, n_clinicians

    clin_ids = np.array([f"T{j + 1:02d}" for j in range(c)], dtype=object)
    team_of = np.array([f"team-{j % n_teams + 1}" for j in range(c)], dtype=object)
    clin_alliance = rng.normal(0.0, 1.5, c)
    bias = rng.normal(prediction_bias, max(prediction_bias / 2, 0.5), c)
    sensitivity = rng.uniform(0.2, 0.8, c)
    notice = np.clip(rng.normal(notice_rate, 0.15, c), 0, 1)

    client_ids = np.array([f"C{i + 1:04d}" for i in range(n)], dtype=object)
    clin = rng.integers(0, c, n)
    level = rng.normal(alliance_mean, alliance_sd, n) + clin_alliance[clin]
    growth = rng.normal(alliance_growth, alliance_growth / 3, n)
    intake = np.clip(rng.normal(16.0, 4.0, n), 5, 27)
    improve = np.clip(rng.normal(2.5, 1.0, n), 0, None)
    risk_prone = rng.random(n) < risk_share
    first_day = rng.integers(0, 180, n)

    depth = rupture_depth * within_noise
    active = np.ones(n, dtype=bool)
    rupture_left = np.zeros(n, dtype=np.int64)  # sessions until repair (>0 = in a repaired one)
    persisting = np.zeros(n, dtype=bool)
    cooldown = np.zeros(n, dtype=np.int64)
    prev_alliance = np.full(n, np.nan)
    early_sum = np.zeros(n)
    early_n = np.zeros(n)
    day = first_day.astype(np.int64)
    end_reason = np.full(n, "completed", dtype=object)
    last_session = np.zeros(n, dtype=np.int64)
    rows: list[dict[str, npt.NDArray[Any]]] = []
    ruptures: list[dict[str, Any]] = []

    for t in range(1, sessions + 1):
        idx = np.flatnonzero(active)
        if not len(idx):
            break
        if t > 1:
            day[idx] += 7 + 7 * (rng.random(len(idx)) < 0.1)
        onset = np.zeros(n, dtype=bool)
        eligible = active & (t >= rupture_from) & (rupture_left == 0) & ~persisting
        eligible &= cooldown == 0
        onset[eligible] = rng.random(int(eligible.sum())) < rupture_rate
        for i in np.flatnonzero(onset):
            repaired = bool(rng.random() < repair_rate)
            lag = int(rng.integers(1, 3))
            if repaired:
                rupture_left[i] = lag
            else:
                persisting[i] = True
            ruptures.append(
                {
                    "client": client_ids[i],
                    "episode": "1",
                    "session": t,
                    "depth": depth,
                    "repaired": repaired,
                    "repair_session": t + lag if repaired else np.nan,
                }
            )
        in_repaired = rupture_left > 0
        fall = np.where(in_repaired, depth, 0.0) + np.where(persisting & ~onset, 0.8 * depth, 0.0)
        fall = np.where(onset & persisting, depth, fall)
        expected = level + growth * np.log(t)
        latent = expected + rng.normal(0.0, within_noise, n) - fall
        alliance = np.clip(np.rint(latent), 12, 60)
        pred_latent = expected - sensitivity[clin] * fall + bias[clin] + rng.normal(0, 2.5, n)
        prediction = np.clip(np.rint(pred_latent), 12, 60)
        carry = within_effect * (prev_alliance - level) if t > 1 else np.zeros(n)
        outcome_latent = intake - improve * np.log(t) + np.nan_to_num(carry) + rng.normal(0, 2, n)
        outcome = np.clip(np.rint(outcome_latent), 0, 27)
        client_rated = rng.random(n) >= missing_rate
        clinician_rated = rng.random(n) >= missing_rate
        reported = np.where(onset, rng.random(n) < notice[clin], rng.random(n) < false_alarm_rate)
        item9 = np.where(risk_prone & (rng.random(n) < 0.4), rng.choice([1, 1, 1, 2, 3], size=n), 0)
        rows.append(
            {
                "client": client_ids[idx],
                "session": np.full(len(idx), t),
                "day": day[idx].copy(),
                "clinician": clin_ids[clin[idx]],
                "alliance": alliance[idx],
                "alliance_latent": latent[idx],
                "client_rated": client_rated[idx],
                "prediction": prediction[idx],
                "clinician_rated": clinician_rated[idx],
                "rupture_reported": reported[idx],
                "rupture_onset": onset[idx],
                "in_rupture": fall[idx] > 0,
                # the eight other items carry 0–24 points beside item 9
                "outcome": np.clip(outcome[idx], item9[idx], 24 + item9[idx]),
                "item_9": item9[idx],
            }
        )
        prev_alliance = np.where(active, alliance, prev_alliance)
        if t <= 3:
            early_sum[idx] += alliance[idx]
            early_n[idx] += 1
        last_session[idx] = t
        cooldown = np.where(onset, 0, np.maximum(cooldown - 1, 0))
        ending = in_repaired & (rupture_left == 1)
        cooldown[ending] = 2
        rupture_left = np.maximum(rupture_left - 1, 0)
        if t < sessions:
            deficit = (alliance_mean - early_sum / np.maximum(early_n, 1)) / alliance_sd
            logit = np.log(dropout_base / (1 - dropout_base)) + dropout_per_sd * deficit
            logit = logit + np.where(persisting, 1.0, 0.0)
            leave = active & (rng.random(n) < 1 / (1 + np.exp(-logit)))
            end_reason[leave] = "dropped_out"
            active &= ~leave

    truth = pd.concat([pd.DataFrame(r) for r in rows], ignore_index=True)
    truth = truth.sort_values(["client", "session"], ignore_index=True)
    truth["episode"] = "1"
    days = {int(d): start + dt.timedelta(days=int(d)) for d in np.unique(truth["day"])}
    truth["date"] = truth["day"].map(days)
    truth["risk"] = truth["item_9"] >= 1
    admins = _administrations(rng, truth)
    truth = truth.drop(columns=["day", "item_9"])

    episodes = pd.DataFrame(
        {
            "client": client_ids,
            "episode": "1",
            "clinician": clin_ids[clin],
            "team": team_of[clin],
            "sessions": last_session,
            "end_reason": end_reason,
        }
    )
    dates = truth.groupby("client")["date"].agg(["min", "max"])
    episodes["start"] = episodes["client"].map(dates["min"])
    episodes["end"] = episodes["client"].map(dates["max"])
    rupture_table = pd.DataFrame(
        ruptures, columns=["client", "episode", "session", "depth", "repaired", "repair_session"]
    )
    rated = truth.set_index(["client", "session"])["client_rated"]
    rupture_table["observed"] = [
        bool(rated.get((r.client, r.session), False)) for r in rupture_table.itertuples()
    ]
    goals, goal_ratings = simulate_goals(truth, seed=seed)
    return SimulatedClinic(
        administrations=admins,
        teams=pd.DataFrame({"team": sorted(set(team_of))}),
        clinicians=pd.DataFrame(
            {
                "clinician": clin_ids,
                "team": team_of,
                "prediction_bias": bias,
                "sensitivity": sensitivity,
                "notice_rate": notice,
            }
        ),
        clients=pd.DataFrame(
            {
                "client": client_ids,
                "clinician": clin_ids[clin],
                "team": team_of[clin],
                "alliance_level": level,
                "alliance_growth": growth,
                "intake": intake,
                "improvement": improve,
                "risk_prone": risk_prone,
            }
        ),
        episodes=episodes,
        sessions=truth[
            [
                "client",
                "episode",
                "session",
                "date",
                "clinician",
                "alliance",
                "alliance_latent",
                "client_rated",
                "prediction",
                "clinician_rated",
                "rupture_onset",
                "in_rupture",
                "rupture_reported",
                "outcome",
                "risk",
            ]
        ],
        ruptures=rupture_table,
        goals=goals,
        goal_ratings=goal_ratings,
        parameters={
            "seed": seed,
            "within_effect": within_effect,
            "within_noise": within_noise,
            "rupture_depth_points": depth,
            "rupture_rate": rupture_rate,
            "repair_rate": repair_rate,
            "alliance_mean": alliance_mean,
            "alliance_sd": alliance_sd,
        },
    )


def _check(**counts: int) -> None:
    for name, value in counts.items():
        if isinstance(value, bool) or not isinstance(value, int) or value < 1:
            raise ValueError(f"{name} must be a whole number of 1 or more; got {value!r}")


def _administrations(rng: np.random.Generator, truth: pd.DataFrame) -> dict[str, pd.DataFrame]:
    base = truth[["client", "episode", "session", "date", "clinician"]]
    own = truth["client_rated"].to_numpy()
    predicted = truth["clinician_rated"].to_numpy()

    client_wai = base[own].assign(perspective="client", stance="self")
    client_items = spread_items(rng, truth["alliance"].to_numpy()[own], WAI_SR_ITEMS, 1, 5)
    pred_wai = base[predicted].assign(perspective="clinician", stance="prediction")
    pred_items = spread_items(rng, truth["prediction"].to_numpy()[predicted], WAI_SR_ITEMS, 1, 5)
    wai = pd.concat(
        [
            _with_items(client_wai, client_items, reported=None),
            _with_items(pred_wai, pred_items, reported=truth["rupture_reported"][predicted]),
        ],
        ignore_index=True,
    ).sort_values(["client", "session", "perspective"], ignore_index=True)
    wai.insert(0, "administration", [f"wai-sr-{i + 1}" for i in range(len(wai))])
    wai.insert(5, "instrument", "wai-sr")
    wai.insert(6, "version", "1.0")

    phq = base[own].assign(perspective="client", stance="self")
    total = truth["outcome"].to_numpy()[own]
    item9 = truth["item_9"].to_numpy()[own]
    rest = spread_items(rng, total - item9, 8, 0, 3)
    difficulty = np.clip(np.rint(total / 9 + rng.normal(0, 0.5, len(total))), 0, 3)
    items = np.column_stack([rest, item9, difficulty]).astype(np.int64)
    phq = _with_items(phq, items, reported=None)
    phq.insert(0, "administration", [f"phq-9-{i + 1}" for i in range(len(phq))])
    phq.insert(5, "instrument", "phq-9")
    phq.insert(6, "version", "1.0")
    return {"wai-sr": wai, "phq-9": phq}


def _with_items(
    meta: pd.DataFrame, items: npt.NDArray[np.int64], *, reported: pd.Series | None
) -> pd.DataFrame:
    frame = meta.reset_index(drop=True)
    columns = frame.columns.tolist()
    ordered = ["client", "episode", "session", "date", "perspective", "stance", "clinician"]
    frame = frame[[c for c in ordered if c in columns]]
    for j in range(items.shape[1]):
        frame[f"item_{j + 1}"] = items[:, j]
    if reported is not None:
        frame["rupture_reported"] = pd.array(reported.to_numpy(), dtype="boolean")
    else:
        frame["rupture_reported"] = pd.array([None] * len(frame), dtype="boolean")
    return frame


def spread_items(
    rng: np.random.Generator, totals: npt.ArrayLike, k: int, low: int, high: int
) -> npt.NDArray[np.int64]:
    """Item answers (n × k, each from ``low`` to ``high``) that add up exactly to ``totals``.

    Items start near the mean item value with some noise, then single points are moved to or
    from randomly chosen items until every row adds up.
    """
    target = np.clip(np.rint(np.asarray(totals, dtype=np.float64)), k * low, k * high)
    target = target.astype(np.int64)
    n = len(target)
    mean = target / k
    x = np.clip(np.rint(mean[:, None] + rng.normal(0.0, 0.6, (n, k))), low, high)
    x = x.astype(np.int64)
    diff = target - x.sum(axis=1)
    while True:
        todo = np.flatnonzero(diff)
        if not len(todo):
            return x
        sub = x[todo]
        step = np.sign(diff[todo])
        can = np.where(step[:, None] > 0, sub < high, sub > low)
        pick = np.where(can, rng.random(sub.shape), -1.0).argmax(axis=1)
        x[todo, pick] += step
        diff[todo] -= step
