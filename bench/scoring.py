"""Benchmark: score 1,000,000 wai-sr administrations with the vectorized scorer.

Prints rows per second, peak memory, and two ratios measured in this same run:
- against a straightforward per-row Python scorer written here (target: at least 50× faster);
- against a bare numpy sum over the same matrix, the floor (target: within 5×).
Peak memory is traced with tracemalloc while scoring and compared with the size of the answer
matrix (target: under 4×).

    python bench/scoring.py [--rows N] [--repeat R]
"""

from __future__ import annotations

import argparse
import math
import time
import tracemalloc
from collections.abc import Callable

import numpy as np

from alliance.instruments.model import Instrument
from alliance.instruments.registry import builtin_registry
from alliance.instruments.scoring import score


def make_answers(rows: int, seed: int = 1) -> np.ndarray:
    rng = np.random.default_rng(seed)
    answers = rng.integers(1, 6, size=(rows, 12)).astype(np.float64)
    answers[rng.random(answers.shape) < 0.01] = np.nan  # 1% unanswered items
    return answers


def per_row_scorer(inst: Instrument, answers: np.ndarray) -> dict[str, list[float]]:
    """The obvious implementation: loop over rows and items in Python."""
    scales = {
        s.id: [j for j, item in enumerate(inst.items) if s.id in item.scales] for s in inst.scales
    }
    out: dict[str, list[float]] = {scale_id: [] for scale_id in scales}
    for row in answers.tolist():
        for scale_id, columns in scales.items():
            total = 0.0
            complete = True
            for j in columns:
                value = row[j]
                if math.isnan(value):
                    complete = False
                    break
                if not 1 <= value <= 5 or value != int(value):
                    raise ValueError(f"bad value {value}")
                total += value
            out[scale_id].append(total if complete else math.nan)
    return out


def best_time(fn: Callable[[], object], repeat: int) -> float:
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return min(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()

    inst = builtin_registry().get("wai-sr")
    answers = make_answers(args.rows)
    print(
        f"wai-sr, {args.rows:,} administrations × 12 items "
        f"({answers.nbytes / 2**20:.1f} MiB answer matrix, float64)"
    )

    score(inst, answers[:1000])  # warm up
    t_vec = best_time(lambda: score(inst, answers), args.repeat)
    t_floor = best_time(lambda: answers.sum(axis=1), args.repeat)

    tracemalloc.start()
    result = score(inst, answers)
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    result_bytes = sum(s.values.nbytes + s.answered.nbytes for s in result.scales.values())

    start = time.perf_counter()
    slow = per_row_scorer(inst, answers)
    t_row = time.perf_counter() - start
    for scale_id, values in slow.items():
        np.testing.assert_array_equal(np.array(values), result.scales[scale_id].values)

    print(
        f"vectorized scorer : {t_vec * 1000:8.1f} ms  {args.rows / t_vec:14,.0f} rows/s "
        f"(best of {args.repeat})"
    )
    print(f"per-row Python    : {t_row * 1000:8.1f} ms  {args.rows / t_row:14,.0f} rows/s (1 run)")
    print(
        f"bare numpy sum    : {t_floor * 1000:8.1f} ms  {args.rows / t_floor:14,.0f} rows/s "
        f"(best of {args.repeat})"
    )
    print(
        f"peak memory while scoring: {peak / 2**20:.1f} MiB (result {result_bytes / 2**20:.1f} MiB)"
    )
    speedup = t_row / t_vec
    floor_ratio = t_vec / t_floor
    mem_ratio = peak / answers.nbytes
    print(
        f"ratio vs per-row Python : {speedup:6.1f}× faster   (target ≥ 50×)  "
        f"{'OK' if speedup >= 50 else 'MISSED'}"
    )
    print(
        f"ratio vs bare numpy sum : {floor_ratio:6.2f}× slower  (target ≤ 5×)   "
        f"{'OK' if floor_ratio <= 5 else 'MISSED'}"
    )
    print(
        f"peak memory / answer matrix: {mem_ratio:5.2f}×       (target < 4×)   "
        f"{'OK' if mem_ratio < 4 else 'MISSED'}"
    )
    print("per-row and vectorized scores agree on every row")


if __name__ == "__main__":
    main()
