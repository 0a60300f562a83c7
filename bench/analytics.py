"""Benchmark: every detector over a simulated clinic of 100,000 clients × 10 sessions.

Each session has a client WAI-SR rating (1,000,000 administrations), the clinician's
prediction of it with a rupture yes/no, and a PHQ-9 (so 3,000,000 administrations in all,
scored to total, risk and rupture rows of the tidy table). Prints:

- the time of one pass of all detectors (:func:`alliance.analytics.pipeline.detect_all`,
  sorting included) and its peak traced memory — targets under 10 s and under 2 GB;
- the ratio against a pandas ``groupby(["client", "episode"]).apply`` implementation of the
  same rules written here, both run on the same clients (``--baseline-clients``, default
  2,000, since the baseline takes minutes per 10,000 clients), after checking that both give
  identical signals — target at least 20× faster.

    python bench/analytics.py [--clients N] [--baseline-clients M]
"""

from __future__ import annotations

import argparse
import math
import time
import tracemalloc

import numpy as np
import pandas as pd

from alliance.analytics.expected import ExpectedTrajectory
from alliance.analytics.pipeline import default_detectors, detect_all
from alliance.analytics.ruptures import DropFromPrevious, ReliableDrop
from alliance.analytics.tidy import tidy_scores
from alliance.instruments.registry import builtin_registry
from alliance.simulate import simulate_clinic

RELIABILITY = 0.85
KEY = ["client", "episode", "session", "rule", "instrument", "scale", "perspective"]


def make_tidy(clients: int, seed: int = 1) -> tuple[pd.DataFrame, int]:
    clinic = simulate_clinic(
        seed=seed, n_clients=clients, n_clinicians=max(8, clients // 50),
        dropout_base=1e-9, dropout_per_sd=0.0, missing_rate=0.0,
    )  # fmt: skip
    registry = builtin_registry()
    parts = [
        tidy_scores(frame, registry.get(name), scales=["total"])
        for name, frame in clinic.administrations.items()
    ]
    n_admin = sum(len(frame) for frame in clinic.administrations.values())
    return pd.concat(parts, ignore_index=True), n_admin


def detectors() -> list:
    """The defaults, with the WAI-SR rules that need a value set: reliable drop from
    ``RELIABILITY`` and OpenFIT's one-point drop (published for the SRS) tried on it."""
    swap = {
        ReliableDrop: ReliableDrop(reliability=RELIABILITY),
        DropFromPrevious: DropFromPrevious(min_drop=1),
    }
    return [swap.get(type(d), d) for d in default_detectors()]


# --- the baseline: the same rules, one client episode at a time --------------------------


def baseline(tidy: pd.DataFrame) -> pd.DataFrame:
    """Every rule with pandas, per client episode via ``groupby().apply``."""
    wai = tidy[(tidy["instrument"] == "wai-sr") & (tidy["scale"] == "total")]
    own = wai[(wai["perspective"] == "client") & (wai["stance"] == "self")]
    sd_by_client = own.groupby(["client", "episode"])["score"].std().dropna()
    counts = own.groupby(["client", "episode"])["score"].size()
    typical = float(sd_by_client[counts[sd_by_client.index] >= 3].median())
    firsts = own.sort_values("session").groupby(["client", "episode"])["score"].first()
    rc = 1.96 * float(firsts.std(ddof=1)) * math.sqrt(2 * (1 - RELIABILITY))
    early = own[own["session"] <= 3]["score"]
    low_threshold = float(np.percentile(early, 25))
    curve = ExpectedTrajectory.fit(tidy, instrument="phq-9")
    context = {"typical": typical, "rc": rc, "low": low_threshold, "curve": curve}
    rows = tidy.groupby(["client", "episode"], sort=True).apply(
        lambda g: _per_client(g, context), include_groups=False
    )
    return pd.DataFrame([r for group in rows for r in group], columns=[*KEY, "value"])


def _per_client(g: pd.DataFrame, ctx: dict) -> list[list]:
    client, episode = g.name
    out: list[list] = []

    def add(session: int, rule: str, instrument: str, scale: str, *rest: object) -> None:
        perspective, value = rest
        out.append([client, episode, int(session), rule, instrument, scale, perspective, value])

    wai = g[(g["instrument"] == "wai-sr") & (g["scale"] == "total")]
    own = wai[(wai["perspective"] == "client") & (wai["stance"] == "self")].sort_values("session")
    x, s = own["score"].to_numpy(), own["session"].to_numpy()
    for i in range(len(x)):
        if i >= 1 and x[i - 1] - x[i] >= 1:
            add(s[i], "drop_from_previous", "wai-sr", "total", "client", x[i])
        if i >= 1 and x[i - 1] - x[i] > ctx["rc"]:
            add(s[i], "reliable_drop", "wai-sr", "total", "client", x[i])
        if s[i] <= 3 and x[i] < ctx["low"]:
            add(s[i], "low_early_alliance", "wai-sr", "total", "client", x[i])
    ruptures = []
    for i in range(3, len(x)):
        prior = x[:i]
        spread = max(np.std(prior, ddof=1), ctx["typical"])
        if spread > 0 and prior.mean() - x[i] >= 2 * spread:
            add(s[i], "drop_from_baseline", "wai-sr", "total", "client", x[i])
            ruptures.append(i)
    open_until = -1
    for i in ruptures:  # repair: back near the pre-rupture level within 3 sessions
        if i < open_until:
            continue
        prior = x[:i]
        spread = max(np.std(prior, ddof=1), ctx["typical"])
        bound = prior.mean() - 0.5 * spread
        later = [j for j in range(i + 1, len(x)) if s[j] <= s[i] + 3]
        back = [j for j in later if x[j] >= bound]
        if back:
            add(s[back[0]], "repair", "wai-sr", "total", "client", x[back[0]])
            open_until = back[0]
        else:
            open_until = max(later, default=i) + 1
    predicted = wai[wai["stance"] == "prediction"].set_index("session")["score"]
    mine = own.set_index("session")["score"]
    both = predicted.index.intersection(mine.index)
    for session in both:
        if predicted[session] - mine[session] >= 0.15 * 48:
            add(session, "calibration_gap", "wai-sr", "total", "clinician", predicted[session])
    reported = g[(g["scale"] == "rupture_reported") & (g["score"] >= 1)]
    for session in reported["session"]:
        add(session, "reported_rupture", "wai-sr", "rupture_reported", "clinician", 1.0)
    phq = g[(g["instrument"] == "phq-9") & (g["scale"] == "total")].sort_values("session")
    y, t = phq["score"].to_numpy(), phq["session"].to_numpy()
    if len(y):
        for i in range(1, len(y)):
            if y[i] - y[0] >= 6:
                add(t[i], "outcome_deterioration", "phq-9", "total", "client", y[i])
        _, _, upper, _ = ctx["curve"].lookup("phq-9", "total", np.full(len(y), y[0]), t)
        for i in range(len(y)):
            if 2 <= t[i] <= 20 and y[i] > upper[i]:
                add(t[i], "off_track", "phq-9", "total", "client", y[i])
    risk = g[(g["scale"] == "risk") & (g["score"] >= 1)]
    for session in risk["session"]:
        add(session, "risk_item", "phq-9", "risk", "client", 1.0)
    return out


def _keys(frame: pd.DataFrame) -> pd.DataFrame:
    text = {c: str for c in KEY if c != "session"}
    out = frame[[*KEY, "value"]].astype({**text, "session": int})
    return out.sort_values(KEY, ignore_index=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clients", type=int, default=100_000)
    parser.add_argument("--baseline-clients", type=int, default=2_000)
    args = parser.parse_args()

    start = time.perf_counter()
    tidy, n_admin = make_tidy(args.clients)
    print(
        f"{args.clients:,} clients × 10 sessions: {n_admin:,} administrations "
        f"({((tidy['instrument'] == 'wai-sr') & (tidy['stance'] == 'self')).sum():,} client "
        f"WAI-SR ratings), "
        f"{len(tidy):,} tidy rows (simulated and scored in {time.perf_counter() - start:.1f} s)"
    )
    detect_all(tidy.head(5000), detectors())  # warm up

    start = time.perf_counter()
    signals = detect_all(tidy, detectors())
    elapsed = time.perf_counter() - start
    tracemalloc.start()
    detect_all(tidy, detectors())
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    print(f"all detectors, one pass : {elapsed:6.2f} s   {len(signals):,} signals "
          f"(target < 10 s: {'OK' if elapsed < 10 else 'MISSED'})")  # fmt: skip
    print(f"peak traced memory      : {peak / 2**30:6.2f} GB "
          f"(target < 2 GB: {'OK' if peak < 2 * 2**30 else 'MISSED'})")  # fmt: skip
    counts = signals["rule"].value_counts()
    print("signals per rule        : " + ", ".join(f"{r} {n:,}" for r, n in counts.items()))

    chosen = tidy["client"].drop_duplicates().iloc[: args.baseline_clients]
    sample = tidy[tidy["client"].isin(set(chosen))].reset_index(drop=True)
    start = time.perf_counter()
    ours = detect_all(sample, detectors())
    t_ours = time.perf_counter() - start
    start = time.perf_counter()
    theirs = baseline(sample)
    t_theirs = time.perf_counter() - start
    a, b = _keys(ours), _keys(theirs)
    if not a[KEY].equals(b[KEY]) or not np.allclose(a["value"], b["value"]):
        raise SystemExit("the vectorized and groupby-apply signals differ")
    ratio = t_theirs / t_ours
    print(f"on {len(chosen):,} clients ({len(sample):,} tidy rows): vectorized {t_ours:.2f} s, "
          f"groupby-apply {t_theirs:.2f} s; identical signals ({len(a):,})")  # fmt: skip
    print(f"ratio vs groupby-apply  : {ratio:6.1f}× faster (target ≥ 20×: "
          f"{'OK' if ratio >= 20 else 'MISSED'})")  # fmt: skip


if __name__ == "__main__":
    main()
