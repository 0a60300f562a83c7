"""Validate transcript signals against seeker ratings (ESConv) and MI quality (AnnoMI).

Pre-registered (written and committed with statement sets v1 and aggregation version 1
frozen, before any of these files was scored; nothing below is tuned on them):

Data (read at run time from ``--data``, default ``../shared/data/transcripts`` beside the
repository or ``$ALLIANCE_TRANSCRIPTS_DATA``; never copied into the repository; the script
prints a note and exits 0 when the folder is absent). Seeker turns are ``client``, supporter
and counsellor turns ``clinician``. The ESConv test split is not used.

A. ESConv train + valid, conversations with a seeker empathy rating (1–5):
   A1  Spearman ρ(bond index, client role; empathy)                       [primary]
   A2  ρ(task index, client; relevance)   A3  ρ(goal index, client; relevance)
   A4  AUROC for empathy ≤ 3 of the negated client bond index             [primary]
   A5  secondary: the same for roles ``clinician`` and ``both``; the rupture indices
       (withdrawal, confrontation: ρ with empathy, AUROC for empathy ≤ 3 with the index as
       the score) and flagged client turns per client turn.
   A6  discriminant: ρ of the client bond index with the number of turns and with the
       client's mean words per turn ("words"); partial ρ(bond, empathy | turns, words);
       ρ of those two length measures with empathy itself, for comparison.
B. FailedESConv against kept ESConv (train + valid): AUROC of the negated client bond index
   for "failed" — reported apart, because the failed conversations were selected partly on
   low ratings (partly circular).
C. AnnoMI (one row per utterance; the first annotator's copy of the 7 multiply-annotated
   transcripts): AUROC for low MI quality of each negated clinician construct index
   (bond primary, task, goal) and of the client indices; partial ρ of the clinician bond
   index with high quality given the number of turns and the client's mean words per turn.

Every estimate carries a 95% percentile bootstrap interval over sessions (2,000 resamples,
seed 20261126). Direction is fixed in advance: higher construct indices and lower rupture
indices are expected with better ratings, so every AUROC is oriented for that direction;
an AUROC below 0.5 means the opposite of what was expected.

    python bench/validate_transcripts.py [--data DIR] [--resamples N] [--limit N]
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import sys
import time
from collections.abc import Callable, Iterable
from pathlib import Path

import numpy as np
import pandas as pd

from alliance.transcripts import (
    DISCLAIMER,
    CachedEmbedder,
    MiniLMEmbedder,
    TranscriptAnalyzer,
    analyze_transcript,
    model_installed,
)
from alliance.transcripts.evaluation import Estimate, auroc, bootstrap, partial_spearman, spearman

ROOT = Path(__file__).resolve().parents[1]
FILES = ("esconv-train.jsonl", "esconv-valid.jsonl", "failed-esconv.json", "annomi-full.csv")


def data_dir(arg: str | None) -> Path:
    if arg:
        return Path(arg)
    if os.environ.get("ALLIANCE_TRANSCRIPTS_DATA"):
        return Path(os.environ["ALLIANCE_TRANSCRIPTS_DATA"])
    return ROOT.parent / "shared" / "data" / "transcripts"


def _rating(value: object) -> float:
    try:
        return float(value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return float("nan")


def esconv(path: Path, kind: str) -> Iterable[dict[str, object]]:
    lines = path.read_text(encoding="utf-8").splitlines()
    items = [json.loads(line) for line in lines if line.strip()]
    for i, item in enumerate(items):
        seeker = item["survey_score"]["seeker"]
        speakers = {
            "usr": "client",
            "seeker": "client",
            "sys": "clinician",
            "supporter": "clinician",
        }
        turns = [
            {"speaker": speakers[t["speaker"]], "text": t.get("text") or t.get("content") or ""}
            for t in item["dialog"]
        ]
        turns = [t for t in turns if str(t["text"]).strip()]
        yield {
            "id": f"{kind}-{i}",
            "kind": kind,
            "turns": turns,
            "empathy": _rating(seeker.get("empathy")),
            "relevance": _rating(seeker.get("relevance")),
        }


def failed_esconv(path: Path) -> Iterable[dict[str, object]]:
    items = json.loads(path.read_text(encoding="utf-8"))
    speakers = {"speaker": "client", "listener": "clinician"}
    for i, item in enumerate(items):
        turns = [{"speaker": speakers[t["speaker"]], "text": t["content"]} for t in item["dialog"]]
        turns = [t for t in turns if str(t["text"]).strip()]
        seeker = item["survey_score"]["seeker"]
        yield {"id": f"failed-{i}", "kind": "failed", "turns": turns,
               "empathy": _rating(seeker.get("empathy")),
               "relevance": _rating(seeker.get("relevance"))}  # fmt: skip


def annomi(path: Path) -> Iterable[dict[str, object]]:
    with path.open(encoding="utf-8", newline="") as handle:
        rows = list(csv.DictReader(handle))
    seen: set[tuple[str, str]] = set()
    sessions: dict[str, dict[str, object]] = {}
    for row in rows:
        key = (row["transcript_id"], row["utterance_id"])
        if key in seen:
            continue
        seen.add(key)
        session = sessions.setdefault(
            row["transcript_id"],
            {"id": f"annomi-{row['transcript_id']}", "kind": "annomi", "turns": [],
             "low_quality": float(row["mi_quality"] == "low"), "order": []},
        )  # fmt: skip
        role = "clinician" if row["interlocutor"] == "therapist" else "client"
        session["order"].append((int(row["utterance_id"]), role, row["utterance_text"]))  # type: ignore[attr-defined]
    for session in sessions.values():
        order = sorted(session.pop("order"))  # type: ignore[call-overload]
        session["turns"] = [{"speaker": r, "text": t} for _, r, t in order if t.strip()]
        yield session


def measure(
    sessions: list[dict[str, object]], embedder: CachedEmbedder, label: str
) -> pd.DataFrame:
    analyzer = TranscriptAnalyzer()
    rows = []
    start = time.perf_counter()
    for k, session in enumerate(sessions, start=1):
        turns = session["turns"]
        result = analyze_transcript(turns, embedder=embedder, analyzer=analyzer)  # type: ignore[arg-type]
        row = {key: value for key, value in session.items() if key != "turns"}
        for r in result.indices.to_dict("records"):
            row[f"{r['construct']}_{r['role']}"] = r["index"]
        for r in result.ruptures.to_dict("records"):
            row[f"{r['family']}_index"] = r["index"]
            row[f"{r['family']}_flag_rate"] = r["flagged_turns"] / max(r["client_turns"], 1)
        client = result.turns[result.turns["speaker"] == "client"]
        row["n_turns"] = len(result.turns)
        row["client_words"] = float(client["words"].mean())
        rows.append(row)
        if k % 200 == 0:
            print(f"  {label}: {k}/{len(sessions)} sessions, {time.perf_counter() - start:.0f} s",
                  file=sys.stderr, flush=True)  # fmt: skip
    return pd.DataFrame(rows)


def line(name: str, est: Estimate) -> None:
    dropped = f"  ({est.dropped} resamples undefined)" if est.dropped else ""
    print(f"  {name:<58} {est}  n={est.n}{dropped}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data")
    parser.add_argument("--resamples", type=int, default=2000)
    parser.add_argument("--limit", type=int, default=0, help="at most N sessions per file (smoke)")
    args = parser.parse_args()
    folder = data_dir(args.data)
    if not all((folder / f).is_file() for f in FILES):
        print(
            f"validation data not found in {folder}; skipped (see docs/transcripts-model-card.md)"
        )
        return
    if not model_installed():
        print("the model is not installed: pip install 'alliance[transcripts]'; skipped")
        return
    embedder = CachedEmbedder(MiniLMEmbedder(), max_items=400_000)
    print(f"{DISCLAIMER}\nembedder {embedder.id}; data {folder}")

    def cap(items: Iterable[dict[str, object]]) -> list[dict[str, object]]:
        out = list(items)
        return out[: args.limit] if args.limit else out

    es = cap([*esconv(folder / "esconv-train.jsonl", "train"),
              *esconv(folder / "esconv-valid.jsonl", "valid")])  # fmt: skip
    es = [s for s in es if not np.isnan(s["empathy"])]  # type: ignore[call-overload]
    failed = cap(failed_esconv(folder / "failed-esconv.json"))
    mi = cap(annomi(folder / "annomi-full.csv"))
    started = time.perf_counter()
    es_frame = measure(es, embedder, "ESConv")
    failed_frame = measure(failed, embedder, "FailedESConv")
    mi_frame = measure(mi, embedder, "AnnoMI")
    print(f"scored {len(es_frame) + len(failed_frame) + len(mi_frame)} sessions in "
          f"{time.perf_counter() - started:.0f} s")  # fmt: skip

    b = lambda f, *c: bootstrap(f, *c, resamples=args.resamples)  # noqa: E731
    neg: Callable[[pd.Series], np.ndarray] = lambda s: -s.to_numpy(dtype=float)  # noqa: E731
    e = es_frame
    low_emp = (e["empathy"] <= 3).astype(float)
    print(f"\nA. ESConv train+valid: {len(e)} conversations with an empathy rating; "
          f"{int(low_emp.sum())} rated empathy ≤ 3")  # fmt: skip
    line(
        "A1 ρ bond[client] ~ empathy            [primary]",
        b(spearman, e["bond_client"], e["empathy"]),
    )
    line("A2 ρ task[client] ~ relevance", b(spearman, e["task_client"], e["relevance"]))
    line("A3 ρ goal[client] ~ relevance", b(spearman, e["goal_client"], e["relevance"]))
    line(
        "A4 AUROC empathy ≤ 3, −bond[client]     [primary]",
        b(auroc, neg(e["bond_client"]), low_emp),
    )
    for role in ("clinician", "both"):
        line(f"A5 ρ bond[{role}] ~ empathy", b(spearman, e[f"bond_{role}"], e["empathy"]))
        line(f"A5 AUROC empathy ≤ 3, −bond[{role}]", b(auroc, neg(e[f"bond_{role}"]), low_emp))
        line(f"A5 ρ task[{role}] ~ relevance", b(spearman, e[f"task_{role}"], e["relevance"]))
        line(f"A5 ρ goal[{role}] ~ relevance", b(spearman, e[f"goal_{role}"], e["relevance"]))
    for family in ("withdrawal", "confrontation"):
        line(f"A5 ρ {family} index ~ empathy", b(spearman, e[f"{family}_index"], e["empathy"]))
        line(f"A5 AUROC empathy ≤ 3, {family} index", b(auroc, e[f"{family}_index"], low_emp))
        line(
            f"A5 AUROC empathy ≤ 3, {family} flag rate", b(auroc, e[f"{family}_flag_rate"], low_emp)
        )
    line("A6 ρ bond[client] ~ number of turns", b(spearman, e["bond_client"], e["n_turns"]))
    line(
        "A6 ρ bond[client] ~ client words per turn",
        b(spearman, e["bond_client"], e["client_words"]),
    )
    partial = lambda x, y, t, w: partial_spearman(x, y, [t, w])  # noqa: E731
    line("A6 partial ρ bond[client] ~ empathy | turns, words",
         b(partial, e["bond_client"], e["empathy"], e["n_turns"], e["client_words"]))  # fmt: skip
    line("A6 ρ number of turns ~ empathy", b(spearman, e["n_turns"], e["empathy"]))
    line("A6 ρ client words per turn ~ empathy", b(spearman, e["client_words"], e["empathy"]))

    both = pd.concat([e.assign(failed=0.0), failed_frame.assign(failed=1.0)], ignore_index=True)
    print(f"\nB. FailedESConv ({len(failed_frame)}) vs kept ESConv ({len(e)}) — partly circular")
    line("B  AUROC failed, −bond[client]", b(auroc, neg(both["bond_client"]), both["failed"]))

    m = mi_frame
    print(f"\nC. AnnoMI: {len(m)} transcripts, {int(m['low_quality'].sum())} low-quality MI")
    for construct in ("bond", "task", "goal"):
        for role in ("clinician", "client"):
            tag = "   [primary]" if (construct, role) == ("bond", "clinician") else ""
            line(f"C  AUROC low quality, −{construct}[{role}]{tag}",
                 b(auroc, neg(m[f"{construct}_{role}"]), m["low_quality"]))  # fmt: skip
    high = 1 - m["low_quality"]
    line(
        "C  partial ρ bond[clinician] ~ high quality | turns, words",
        b(partial, m["bond_clinician"], high, m["n_turns"], m["client_words"]),
    )
    line(
        "C  AUROC low quality, number of turns",
        b(auroc, m["n_turns"].astype(float), m["low_quality"]),
    )


if __name__ == "__main__":
    main()
