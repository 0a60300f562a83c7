"""Benchmark: embed and score a 50-minute session (~400 turns) on this machine's CPU.

Prints the time and turns per second of ``analyze_transcript`` on a synthetic 400-turn session
(our own sentences, every one different, a turn every 7.5 s), against the floor: the raw
embedding time of the same 400 turns with the same model, measured in the same run.
Targets: a session in under 15 s, within 1.5× of the floor.

Two pipeline figures are printed: *warm* (the statement vectors already cached, as in a
running service or a batch of sessions) and *cold* (the statements embedded too, as for the
first session a process analyses). The model load is timed apart.

    python bench/transcripts.py [--turns N] [--repeat R]
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Callable

import numpy as np

from alliance.transcripts import (
    CachedEmbedder,
    MiniLMEmbedder,
    Turn,
    analyze_transcript,
    load_statements,
    model_installed,
)
from alliance.transcripts.scoring import sentences

OPENINGS = [
    "I keep thinking about what happened at work on Monday",
    "My sister called again and we ended up arguing about our mother",
    "I managed to go for a walk three times this week",
    "The nights are still the hardest part for me",
    "It felt like everyone in the meeting was looking at me",
    "I tried writing things down like we said",
    "So what I'm hearing is that the weekends feel empty",
    "Can you tell me more about what went through your mind then",
    "That sounds like it took a lot of courage",
    "What would you like to be different by next month",
]
ENDINGS = [
    "and I don't really know why.",
    "but it was better than last time.",
    "and then I just went quiet for the rest of the day.",
    "which surprised me a little.",
    "although I'm not sure it helped.",
    "and I noticed my chest getting tight.",
    "so I left early and went home.",
    "and that's when I started to worry again.",
]
DETAILS = ["on Monday", "on Friday", "at home", "at the office", "with my partner",
           "with my boss", "after lunch", "in the car", "on the phone", "at the shop"]  # fmt: skip
SHORT = ["Yeah.", "Mm-hmm.", "I guess so.", "Not really.", "Okay.", "I don't know."]


def make_session(turns: int, seed: int = 7) -> list[Turn]:
    """Every sentence is different (no help from the vector cache) except the short answers."""
    rng = np.random.default_rng(seed)
    used: set[str] = set()
    out = []
    for i in range(turns):
        speaker = "clinician" if i % 2 == 0 else "client"
        if speaker == "client" and rng.random() < 0.2:
            text = str(rng.choice(SHORT))
        else:
            sentences = []
            while len(sentences) < (1 if rng.random() < 0.7 else 2):
                sentence = (
                    f"{rng.choice(OPENINGS)} {rng.choice(DETAILS)}, {rng.choice(DETAILS)}, "
                    f"{rng.choice(ENDINGS)}"
                )
                if sentence not in used:
                    used.add(sentence)
                    sentences.append(sentence)
            text = " ".join(sentences)
        out.append(Turn(i, speaker, text, start=7.5 * i))  # type: ignore[arg-type]
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--turns", type=int, default=400)
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    if not model_installed():
        print("the model is not installed: pip install 'alliance[transcripts]'")
        return
    session = make_session(args.turns)
    texts = [t.text for t in session]
    words = sum(t.words for t in session)
    print(f"synthetic session: {len(session)} turns, {words:,} words, 50 minutes at 7.5 s a turn")

    model = MiniLMEmbedder()
    start = time.perf_counter()
    model.embed(["warm up"])
    load = time.perf_counter() - start
    statements = [s.text for s in load_statements()]

    units = [u for text in texts for u in sentences(text)]

    def timed(fn: Callable[[], object]) -> float:
        began = time.perf_counter()
        fn()
        return time.perf_counter() - began

    def warm() -> float:
        cached = CachedEmbedder(model)
        cached.embed(statements)
        return timed(lambda: analyze_transcript(session, embedder=cached))

    # interleaved, best of R each: the machine may be shared, so no figure gets a quiet moment
    # the others did not
    runs: dict[str, list[float]] = {"floor": [], "units": [], "warm": [], "cold": []}
    for _ in range(args.repeat):
        runs["floor"].append(timed(lambda: model.embed(texts)))
        runs["units"].append(timed(lambda: model.embed(units)))
        runs["warm"].append(warm())
        runs["cold"].append(
            timed(lambda: analyze_transcript(session, embedder=CachedEmbedder(model)))
        )
    floor, t_units, t_warm, t_cold = (min(runs[k]) for k in ("floor", "units", "warm", "cold"))
    n = len(session)
    print(f"model load (once per process): {load:6.2f} s")
    print(f"raw embedding of the turns (floor): {floor:6.2f} s  {n / floor:7.1f} turns/s "
          f"(best of {args.repeat})")  # fmt: skip
    print(f"raw embedding of their sentences:   {t_units:6.2f} s  ({len(units)} sentences; "
          f"the pipeline embeds sentences)")  # fmt: skip
    print(f"analyze_transcript, warm:           {t_warm:6.2f} s  {n / t_warm:7.1f} turns/s "
          f"(statement vectors cached; best of {args.repeat})")  # fmt: skip
    print(f"analyze_transcript, cold:           {t_cold:6.2f} s  {n / t_cold:7.1f} turns/s "
          f"({len(statements)} statements embedded too; best of {args.repeat})")  # fmt: skip
    for label, t in (("warm", t_warm), ("cold", t_cold)):
        ratio = t / floor
        print(f"{label}: {t:5.2f} s per session (target < 15 s) "
              f"{'OK' if t < 15 else 'MISSED'}; {ratio:4.2f}× the floor (target ≤ 1.5×) "
              f"{'OK' if ratio <= 1.5 else 'MISSED'}")  # fmt: skip


if __name__ == "__main__":
    main()
