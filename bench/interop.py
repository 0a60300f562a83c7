"""Benchmark: export and re-import 1,000,000 administrations as CSV and as Parquet.

For each format it times, in this same run and on the same table:

- export: ``write_administrations`` (table + codebook, atomic) against plain pandas
  ``to_csv`` / ``to_parquet`` of the same columns (the floor);
- import: ``read_administrations`` (read, check every cell, idempotency keys) against plain
  pandas ``read_csv`` / ``read_parquet`` of the same file (the floor).

Each operation runs in a forked child process; its time is the best of ``--repeat`` runs and
its peak memory is the growth of the child's resident set (VmHWM − VmRSS at the start, Linux).
Target: every time within 3× of its floor.

    python bench/interop.py [--rows N] [--repeat R]
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pandas as pd

from alliance.instruments.registry import builtin_registry
from alliance.interop.tabular import read_administrations, write_administrations
from alliance.interop.wide import check_wide

TARGET = 3.0


def make_table(rows: int, seed: int = 1) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    answers = rng.integers(1, 6, size=(rows, 12)).astype(np.float64)
    answers[rng.random(answers.shape) < 0.01] = np.nan  # 1% unanswered items
    sessions = np.arange(rows) % 20 + 1
    frame = pd.DataFrame(
        {
            "administration": pd.Series([f"A{i:07d}" for i in range(rows)], dtype="str"),
            "client": pd.Series([f"C{i // 20:06d}" for i in range(rows)], dtype="str"),
            "episode": "E1",
            "session": sessions.astype(np.int64),
            "date": pd.Timestamp("2024-01-01") + pd.to_timedelta(sessions * 7, unit="D"),
            "instrument": "wai-sr",
            "version": "1.0",
            "perspective": "client",
            "stance": "self",
            "clinician": pd.Series([f"T{i % 97:02d}" for i in range(rows)], dtype="str"),
        }
    )
    for j in range(12):
        frame[f"item_{j + 1}"] = answers[:, j]
    clean, problems = check_wide(frame, builtin_registry())
    if problems:
        raise SystemExit(f"the generated table is not clean: {problems[0]}")
    return clean


def _status(field: str) -> int:
    with open("/proc/self/status", encoding="ascii") as handle:
        for line in handle:
            if line.startswith(field):
                return int(line.split()[1]) * 1024
    return 0


def in_child(fn: Callable[[], object]) -> tuple[float, int]:
    """Run ``fn`` in a forked child; return its time and its peak resident-set growth."""
    read_end, write_end = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child
        os.close(read_end)
        start_rss = _status("VmRSS:")
        start = time.perf_counter()
        fn()
        elapsed = time.perf_counter() - start
        peak = _status("VmHWM:") - start_rss
        os.write(write_end, f"{elapsed} {peak}".encode())
        os._exit(0)
    os.close(write_end)
    with os.fdopen(read_end) as pipe:
        text = pipe.read()
    os.waitpid(pid, 0)
    seconds, peak = text.split()
    return float(seconds), int(peak)


def _floors(
    plain: pd.DataFrame, ours: Path, floor_file: Path, suffix: str
) -> tuple[Callable[[], object], Callable[[], object]]:
    """Plain pandas writing the same table, and reading the file ``alliance`` wrote."""
    if suffix == ".csv":
        return (lambda: plain.to_csv(floor_file, index=False)), (lambda: pd.read_csv(ours))
    return (lambda: plain.to_parquet(floor_file, index=False)), (lambda: pd.read_parquet(ours))


def measure(fn: Callable[[], object], repeat: int) -> tuple[float, int]:
    runs = [in_child(fn) for _ in range(repeat)]
    return min(t for t, _ in runs), max(m for _, m in runs)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    registry = builtin_registry()
    table = make_table(args.rows)
    plain = table.drop(columns=["idempotency_key"])
    print(
        f"wai-sr, {args.rows:,} administrations × ({len(plain.columns)} columns: "
        f"10 identifying + 12 items); best of {args.repeat}, each run in a fresh child process"
    )
    folder = Path(tempfile.mkdtemp(prefix="alliance-bench-"))
    worst = 0.0
    for suffix in (".csv", ".parquet"):
        ours, floor_file = folder / f"ours{suffix}", folder / f"floor{suffix}"
        write_administrations(table, ours, registry)  # the file both imports read
        floor_write, floor_read = _floors(plain, ours, floor_file, suffix)

        def our_write(path: Path = folder / f"again{suffix}") -> None:
            write_administrations(table, path, registry)

        def our_read(path: Path = ours) -> None:
            _, report = read_administrations(path, registry)
            if not report.ok:
                raise SystemExit(report.summary())

        size = ours.stat().st_size / 2**20
        print(f"\n{suffix[1:].upper()} ({size:.1f} MiB)")
        for label, mine, base in (
            ("export", our_write, floor_write),
            ("import", our_read, floor_read),
        ):
            t_ours, m_ours = measure(mine, args.repeat)
            t_floor, m_floor = measure(base, args.repeat)
            ratio = t_ours / t_floor
            worst = max(worst, ratio)
            name = "to_csv" if suffix == ".csv" else "to_parquet"
            if label == "import":
                name = "read_csv" if suffix == ".csv" else "read_parquet"
            print(
                f"  {label}: alliance {t_ours:6.2f} s, peak +{m_ours / 2**20:7.1f} MiB | "
                f"pandas {name} {t_floor:6.2f} s, peak +{m_floor / 2**20:7.1f} MiB | "
                f"time {ratio:4.2f}× the floor ({'OK' if ratio <= TARGET else 'MISSED'}), "
                f"memory {m_ours / max(m_floor, 1):4.2f}×"
            )
    print(f"\nworst time ratio: {worst:.2f}× (target ≤ {TARGET:g}×)")


if __name__ == "__main__":
    main()
