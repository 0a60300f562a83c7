"""Alert rules against simulated truth: precision and recall per rule, and alert volume.

Runs the default rule set (``FeedbackConfig.default()``) — and, for comparison, the rule set
before the drop-from-previous rule was limited to the SRS — over simulated clinics whose
truth is known (:func:`alliance.simulate.simulate_clinic`: 200 clients × 10 sessions per
seed, client WAI-SR ratings, clinicians' predictions with a rupture yes/no, PHQ-9), and
prints for each rule how many signals it gave, their precision and their recall, and the
non-risk alerts a clinician would get per client per 10 sessions.

What counts as right (the truth behind each rule, from the simulator):

- rupture rules (``below_cutoff``, ``drop_from_previous``, ``drop_from_baseline``,
  ``reliable_drop``, ``reported_rupture``, and "any rupture rule" = their union per session):
  a signal is right when the client was in an injected rupture in that session; recall is the
  share of injected ruptures (whose first session the client rated) flagged in that session;
- ``repair``: right when the client had an injected rupture that began within one session of
  the rupture the rule followed and was repaired by the signal's session; recall is the share
  of repaired injected ruptures so marked;
- ``low_early_alliance``: right when the client's true alliance level is in the lowest
  quarter of the clinic's; recall is the share of those clients flagged at least once;
- ``off_track``: right when the client's true improvement rate is in the lowest quarter;
  recall as above;
- ``outcome_deterioration``: right when the client's noise-free PHQ-9 in that session is
  worse than at intake; recall is the share of such sessions flagged;
- ``calibration_gap``: right when the clinician's noise-free overestimate in that session
  (their bias plus the part of any rupture they did not sense) reaches the rule's threshold
  (0.15 × 48 = 7.2 points); recall is the share of such sessions flagged;
- ``discrepancy`` needs clinicians' own ratings, which the simulator does not make.

Alerts per client per 10 sessions count what the service would open
(``services/monitoring/analysis.py``): every signal of an event rule, and a state rule's
signal only once per client, rule and measure (as if its alert were left open); risk alerts
are left out (they are never suppressed and not the subject here). The denominator is the
sessions in which the client rated.

The last block, "single-rating bound", shows why precision ≥ .5 with recall ≥ .8 cannot be
reached on 2-SD drops by any rule that judges one rating at a time: it flags a rating ``c``
within-client SDs below the client's *true* expected rating (level and growth known, noise
SD known — more than any real rule can know) and reports, for the largest ``c`` that still
reaches recall .8, the precision.

    python bench/alerts.py [--seeds 3] [--clients 200]
"""

from __future__ import annotations

import argparse
from dataclasses import dataclass

import numpy as np
import pandas as pd

from alliance.analytics.pipeline import RUPTURE_RULES, detect_all
from alliance.analytics.series import order_series
from alliance.feedback.config import FeedbackConfig
from alliance.services.monitoring.analysis import STATE_RULES
from alliance.simulate import SimulatedClinic, simulate_clinic

# (within-client noise SD in WAI-SR points, injected fall in those SDs); the first three are
# the 2-SD drops of the target, the last is the simulator's (and the demo's) default clinic
SCENARIOS = ((1.5, 2.0), (2.0, 2.0), (3.0, 2.0), (2.0, 2.5))
ANY_RUPTURE = "any rupture rule"
GAP_SHARE = 0.15  # CalibrationGap's default min_difference
WAI_RANGE = 48.0


@dataclass
class Tally:
    """Counts behind one rule's figures."""

    signals: int = 0
    right: int = 0
    caught: int = 0
    truths: int = 0

    def add(self, other: Tally) -> None:
        self.signals += other.signals
        self.right += other.right
        self.caught += other.caught
        self.truths += other.truths

    def precision(self) -> float:
        return self.right / self.signals if self.signals else float("nan")

    def recall(self) -> float:
        return self.caught / self.truths if self.truths else float("nan")


def previous_default() -> FeedbackConfig:
    """The default rules as they were: drop from previous (1 point) on every measure."""
    config = FeedbackConfig.default()
    config.params["drop_from_previous"] = {"min_drop": 1.0}
    return config


def signals_of(clinic: SimulatedClinic, config: FeedbackConfig) -> pd.DataFrame:
    ordered = order_series(clinic.tidy())
    return detect_all(ordered, config.detectors())


def evaluate(clinic: SimulatedClinic, signals: pd.DataFrame) -> dict[str, Tally]:
    """Precision and recall counts per rule (see the module docstring for the truth)."""
    sessions = clinic.sessions
    key = list(zip(sessions["client"], sessions["session"], strict=True))
    in_rupture = dict(zip(key, sessions["in_rupture"], strict=True))
    ruptures = clinic.ruptures
    onsets = set(
        zip(
            ruptures.loc[ruptures["observed"], "client"],
            ruptures.loc[ruptures["observed"], "session"],
            strict=True,
        )
    )
    out: dict[str, Tally] = {}
    rupture_sessions: set[tuple[str, int]] = set()
    for rule in RUPTURE_RULES:
        part = signals[signals["rule"] == rule]
        if rule != "reported_rupture":  # a rupture shows in the client's own rating
            part = part[(part["perspective"] == "client") & (part["scale"] == "total")]
            part = part[part["instrument"] == "wai-sr"]
        flagged = set(zip(part["client"], part["session"].astype(int), strict=True))
        rupture_sessions |= flagged
        out[rule] = _sessions_tally(flagged, onsets, in_rupture)
    out[ANY_RUPTURE] = _sessions_tally(rupture_sessions, onsets, in_rupture)
    out["repair"] = _repair(signals[signals["rule"] == "repair"], ruptures)
    out["low_early_alliance"] = _per_client(
        signals[signals["rule"] == "low_early_alliance"], clinic.clients, "alliance_level"
    )
    out["off_track"] = _per_client(
        signals[signals["rule"] == "off_track"], clinic.clients, "improvement"
    )
    out["outcome_deterioration"] = _deterioration(
        signals[signals["rule"] == "outcome_deterioration"], clinic
    )
    out["calibration_gap"] = _calibration(signals[signals["rule"] == "calibration_gap"], clinic)
    return out


def _sessions_tally(
    flagged: set[tuple[str, int]],
    onsets: set[tuple[str, int]],
    in_rupture: dict[tuple[str, int], bool],
) -> Tally:
    return Tally(
        signals=len(flagged),
        right=sum(bool(in_rupture.get(k, False)) for k in flagged),
        caught=len(onsets & flagged),
        truths=len(onsets),
    )


def _repair(found: pd.DataFrame, ruptures: pd.DataFrame) -> Tally:
    repaired = ruptures[ruptures["repaired"] & ruptures["observed"]]
    tally = Tally(signals=len(found), truths=len(repaired))
    by_client: dict[str, list[tuple[int, float]]] = {}
    for r in repaired.itertuples():
        by_client.setdefault(str(r.client), []).append((int(r.session), float(r.repair_session)))

    def matches(client: str, since: int, session: int) -> bool:
        return any(
            abs(onset - since) <= 1 and repair <= session
            for onset, repair in by_client.get(client, [])
        )

    marked = list(zip(found["client"], found["since_session"], found["session"], strict=True))
    tally.right = sum(matches(str(c), int(since), int(s)) for c, since, s in marked)
    tally.caught = sum(
        any(str(c) == client and abs(onset - int(since)) <= 1 for c, since, _ in marked)
        for client, items in by_client.items()
        for onset, _ in items
    )
    return tally


def _per_client(found: pd.DataFrame, clients: pd.DataFrame, column: str) -> Tally:
    """Truth: the client's true ``column`` in the lowest quarter of the clinic's."""
    low = clients[column] <= clients[column].quantile(0.25)
    truly = set(clients.loc[low, "client"])
    flagged = set(found["client"])
    return Tally(
        signals=len(found),
        right=int(found["client"].isin(truly).sum()),
        caught=len(truly & flagged),
        truths=len(truly),
    )


def _deterioration(found: pd.DataFrame, clinic: SimulatedClinic) -> Tally:
    effect = float(clinic.parameters["within_effect"])
    s = clinic.sessions.merge(clinic.clients, on="client", suffixes=("", "_client"))
    s = s.sort_values(["client", "session"])
    previous = s.groupby("client")["alliance"].shift(1)
    carry = (effect * (previous - s["alliance_level"])).fillna(0.0)
    expected = s["intake"] - s["improvement"] * np.log(s["session"]) + carry
    worse = s.loc[(expected > s["intake"]) & s["client_rated"], ["client", "session"]]
    truly = set(zip(worse["client"], worse["session"], strict=True))
    flagged = set(zip(found["client"], found["session"].astype(int), strict=True))
    return Tally(
        signals=len(flagged), right=len(truly & flagged), caught=len(truly & flagged),
        truths=len(truly),
    )  # fmt: skip


def _calibration(found: pd.DataFrame, clinic: SimulatedClinic) -> Tally:
    depth = float(clinic.parameters["rupture_depth_points"])
    s = clinic.sessions.merge(clinic.clinicians, on="clinician")
    s = s[s["client_rated"] & s["clinician_rated"]]
    fall = _fall(clinic).reindex(list(zip(s["client"], s["session"], strict=True))).to_numpy()
    gap = s["prediction_bias"].to_numpy() + (1 - s["sensitivity"].to_numpy()) * fall * depth
    truly_rows = s[gap >= GAP_SHARE * WAI_RANGE]
    truly = set(zip(truly_rows["client"], truly_rows["session"], strict=True))
    flagged = set(zip(found["client"], found["session"].astype(int), strict=True))
    return Tally(
        signals=len(flagged), right=len(truly & flagged), caught=len(truly & flagged),
        truths=len(truly),
    )  # fmt: skip


def _fall(clinic: SimulatedClinic) -> pd.Series:
    """Injected fall per (client, session) in units of the rupture depth (0, 0.8 or 1)."""
    fall: dict[tuple[str, int], float] = {}
    last = clinic.sessions.groupby("client")["session"].max()
    for r in clinic.ruptures.itertuples():
        client, onset = str(r.client), int(r.session)
        if r.repaired:
            for t in range(onset, int(r.repair_session)):
                fall[(client, t)] = 1.0
        else:
            fall[(client, onset)] = 1.0
            for t in range(onset + 1, int(last[client]) + 1):
                fall[(client, t)] = 0.8
    keys = zip(clinic.sessions["client"], clinic.sessions["session"], strict=True)
    index = pd.MultiIndex.from_tuples(list(keys))
    return pd.Series([fall.get(k, 0.0) for k in index], index=index)


def alerts_per_ten_sessions(clinic: SimulatedClinic, signals: pd.DataFrame) -> dict[str, float]:
    """Non-risk alerts the service would open, per client per 10 rated sessions, per rule
    and in all (key ``"all"``)."""
    nonrisk = signals[signals["rule"] != "risk_item"]
    events = nonrisk[~nonrisk["rule"].isin(STATE_RULES)]
    states = nonrisk[nonrisk["rule"].isin(STATE_RULES)].drop_duplicates(
        ["client", "episode", "rule", "instrument", "scale"]
    )
    opened = pd.concat([events, states])
    per_rated = 10.0 / int(clinic.sessions["client_rated"].sum())
    out = {str(rule): n * per_rated for rule, n in opened["rule"].value_counts().items()}
    out["all"] = len(opened) * per_rated
    return out


def single_rating_bound(clinic: SimulatedClinic) -> pd.DataFrame:
    """Per rated session from the second: z = (true expected − rating) / noise SD, with
    whether it is a rupture onset and whether the client is in a rupture."""
    noise = float(clinic.parameters["within_noise"])
    s = clinic.sessions[clinic.sessions["client_rated"] & (clinic.sessions["session"] >= 2)]
    s = s.merge(clinic.clients[["client", "alliance_level", "alliance_growth"]], on="client")
    expected = s["alliance_level"] + s["alliance_growth"] * np.log(s["session"])
    onsets = clinic.ruptures[clinic.ruptures["observed"]]
    onset_keys = set(zip(onsets["client"], onsets["session"], strict=True))
    return pd.DataFrame(
        {
            "z": (expected - s["alliance"]) / noise,
            "onset": [k in onset_keys for k in zip(s["client"], s["session"], strict=True)],
            "in_rupture": s["in_rupture"].to_numpy(),
        }
    )


def bound_at_recall(table: pd.DataFrame, recall: float = 0.8) -> tuple[float, float, float]:
    """The largest threshold c (step 0.05) that reaches ``recall`` on onsets: (c, recall,
    precision)."""
    best = (float("nan"), float("nan"), float("nan"))
    for c in np.arange(0.0, 4.0, 0.05):
        hit = table["z"] >= c
        got = float(table.loc[hit, "onset"].sum() / table["onset"].sum())
        if got < recall:
            break
        best = (float(c), got, float(table.loc[hit, "in_rupture"].mean()))
    return best


def run(seeds: int, clients: int) -> None:
    configs = {"default": FeedbackConfig.default(), "before": previous_default()}
    print(
        f"{seeds} seeds x {clients} clients x 10 sessions per scenario; noise = within-client "
        "SD of the WAI-SR total (points), depth = injected fall in those SDs; alerts = "
        "non-risk alerts per client per 10 sessions"
    )
    for noise, depth in SCENARIOS:
        tallies: dict[str, dict[str, Tally]] = {name: {} for name in configs}
        volume: dict[str, dict[str, float]] = {name: {} for name in configs}
        bounds = []
        for seed in range(101, 101 + seeds):
            clinic = simulate_clinic(
                seed=seed, n_clients=clients, within_noise=noise, rupture_depth=depth
            )
            for name, config in configs.items():
                signals = signals_of(clinic, config)
                for rule, rate in alerts_per_ten_sessions(clinic, signals).items():
                    volume[name][rule] = volume[name].get(rule, 0.0) + rate / seeds
                for rule, tally in evaluate(clinic, signals).items():
                    tallies[name].setdefault(rule, Tally()).add(tally)
            bounds.append(single_rating_bound(clinic))
        print(f"\nnoise {noise:g}, depth {depth:g} SD")
        print(
            f"  {'rule set':8s}  {'rule':22s}  {'signals':>7s}  {'precision':>9s}  "
            f"{'recall':>6s}  {'alerts':>6s}"
        )
        silent = [r for r, t in tallies["default"].items() if t.signals == 0]
        for name in configs:
            for rule, t in tallies[name].items():
                if name == "before" and rule not in ("drop_from_previous", ANY_RUPTURE):
                    continue  # the other rules did not change
                if name == "default" and rule in silent:
                    continue
                rate = volume[name].get(rule)
                print(
                    f"  {name:8s}  {rule:22s}  {t.signals:7d}  {_f(t.precision()):>9s}  "
                    f"{_f(t.recall()):>6s}  {'' if rate is None else f'{rate:.2f}':>6s}"
                )
            print(f"  {name:8s}  {'all non-risk alerts':22s}  {volume[name]['all']:>36.2f}")
        print(f"  no signals on the WAI-SR (no published value for it): {', '.join(silent)}")
        c, recall, precision = bound_at_recall(pd.concat(bounds, ignore_index=True))
        print(
            f"  single-rating bound: a rating {c:.2f} SD below the client's true expected "
            f"rating gives recall {recall:.2f} at precision {precision:.2f}"
        )


def _f(x: float) -> str:
    return "-" if np.isnan(x) else f"{x:.2f}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=3)
    parser.add_argument("--clients", type=int, default=200)
    args = parser.parse_args()
    run(args.seeds, args.clients)


if __name__ == "__main__":
    main()
