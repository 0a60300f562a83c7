"""Mutation testing of named modules against named tests, with a score per module.

    python scripts/mutation.py src/alliance/instruments/scoring.py \\
        --tests tests/instruments --show-survivors

Runs mutmut (3.x; ``pip install mutmut``) in a scratch copy of ``src/``, ``tests/``,
``examples/``, ``docs/`` and ``pyproject.toml``, with the ``[tool.mutmut]`` table replaced by the
modules and tests given here, so the worktree gets no ``mutants/`` folder and any module can
be checked against any tests without editing the configuration. ``[tool.mutmut]`` in
pyproject.toml holds the project's default (the scorer and the rupture detectors) for a plain
``mutmut run``.

``--function NAME`` (repeatable; ``Class.method`` for a method) limits the run and the score
to the mutants of those functions, for a concern that is part of a larger module (the risk
alerts of ``services/records/administrations.py``, say).

The score of a module is ``killed / (all − skipped)``: a mutant counts as killed when a test
failed, timed out or the type checker caught it; a mutant that survived or that no test
reached counts against the score. ``--min-score`` makes the script exit with 1 when a module
scores lower (not used by CI: a run takes minutes of CPU).

Mutation runs are CPU-heavy: give only the test files that exercise the module, and
``--jobs 1`` when others share the machine.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
from collections import Counter
from fnmatch import fnmatch
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DATA_DIRS = ("examples", "docs")  # copied beside src/ and tests/: some tests read them

# mutmut's exit-code table (mutmut.stats.status_by_exit_code), reduced to what counts
KILLED_CODES = {1, 3, 24, -24, 36, 37, 152, 255}  # test failed, pytest error, timeout, type check
SURVIVED_CODES = {0}
NO_TESTS_CODES = {5, 33}
SKIPPED_CODES = {34}


def _toml_value(value: object) -> str:
    return json.dumps(value)  # lists of strings and numbers are the same in JSON and TOML


def _config(modules: list[str], tests: list[str], pytest_args: list[str]) -> str:
    """pyproject.toml with its ``[tool.mutmut]`` table replaced by this run's."""
    text = (ROOT / "pyproject.toml").read_text(encoding="utf-8")
    text = re.sub(r"(?ms)^\[tool\.mutmut\]\n.*?(?=^\[|\Z)", "", text)
    table = {
        "source_paths": ["src"],
        "only_mutate": modules,
        "pytest_add_cli_args_test_selection": tests,
        "pytest_add_cli_args": ["-p", "no:cacheprovider", "-q", *pytest_args],
        "also_copy": list(DATA_DIRS),  # files the tests read (the examples' mapping, say)
    }
    lines = [f"{key} = {_toml_value(value)}" for key, value in table.items()]
    return text.rstrip() + "\n\n[tool.mutmut]\n" + "\n".join(lines) + "\n"


def _check_paths(modules: list[str], tests: list[str]) -> None:
    for module in modules:
        if not module.startswith("src/") or not module.endswith(".py"):
            raise SystemExit(f"module {module!r}: give a path like src/alliance/x/y.py")
        if not (ROOT / module).is_file():
            raise SystemExit(f"module {module!r}: no such file under {ROOT}")
    for test in tests:
        if not test.startswith("tests"):
            raise SystemExit(f"tests {test!r}: give paths under tests/ (files or folders)")
        if not (ROOT / test.split("::")[0]).exists():
            raise SystemExit(f"tests {test!r}: no such file or folder under {ROOT}")


def _prepare(work: Path, modules: list[str], tests: list[str], pytest_args: list[str]) -> None:
    for name in ("src", "tests", *DATA_DIRS):
        if not (ROOT / name).is_dir():
            continue
        shutil.rmtree(work / name, ignore_errors=True)
        shutil.copytree(
            ROOT / name, work / name, ignore=shutil.ignore_patterns("__pycache__", "*.pyc")
        )
    (work / "pyproject.toml").write_text(_config(modules, tests, pytest_args), encoding="utf-8")
    readme = ROOT / "README.md"
    if readme.exists():
        shutil.copy2(readme, work / "README.md")


def mutant_patterns(functions: list[str]) -> list[str]:
    """mutmut's names for the mutants of ``functions`` (``name`` or ``Class.method``), as
    shell-style patterns: ``*.x_name__mutmut_*`` and ``*.xǁClassǁmethod__mutmut_*``."""
    patterns = []
    for function in functions:
        owner, _, name = function.rpartition(".")
        if not name.isidentifier() or (owner and not owner.isidentifier()):
            raise SystemExit(f"function {function!r}: give a name or Class.method")
        mangled = f"xǁ{owner}ǁ{name}" if owner else f"x_{name}"
        patterns.append(f"*.{mangled}__mutmut_*")
    return patterns


def _tally(work: Path, module: str, patterns: list[str] | None = None) -> Counter[str]:
    """Counts per outcome from mutmut's record of one module (``mutants/<path>.meta``),
    only of the mutants matching ``patterns`` when given."""
    meta = work / "mutants" / (module + ".meta")
    if not meta.exists():
        raise SystemExit(f"mutmut wrote no results for {module} ({meta} is missing)")
    codes = json.loads(meta.read_text(encoding="utf-8"))["exit_code_by_key"]
    if patterns:
        codes = {k: v for k, v in codes.items() if any(fnmatch(k, p) for p in patterns)}
    counts: Counter[str] = Counter()
    for name, code in codes.items():
        if code in KILLED_CODES:
            counts["killed"] += 1
        elif code in SURVIVED_CODES:
            counts["survived"] += 1
            counts[f"survivor:{name}"] = 1
        elif code in NO_TESTS_CODES:
            counts["no tests"] += 1
            counts[f"survivor:{name}"] = 1
        elif code in SKIPPED_CODES:
            counts["skipped"] += 1
        else:
            counts["other"] += 1  # not checked, interrupted, suspicious, segfault
            counts[f"survivor:{name}"] = 1
    return counts


def _mutmut(work: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONDONTWRITEBYTECODE": "1"}
    env.pop("PYTHONPATH", None)  # the tests must import the mutated copy, not the worktree
    command = [sys.executable, "-m", "mutmut", *args]
    return subprocess.run(command, cwd=work, env=env, text=True, capture_output=True, check=False)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("modules", nargs="+", help="source files to mutate, e.g. src/alliance/x.py")
    parser.add_argument(
        "--tests", action="append", required=True,
        help="test file or folder to run against the mutants (repeat for several)",
    )  # fmt: skip
    parser.add_argument("--jobs", type=int, default=2, help="parallel mutants (default 2)")
    parser.add_argument("--work", type=Path, help="scratch folder to keep (default: temporary)")
    parser.add_argument("--show-survivors", action="store_true", help="print each survivor's diff")
    parser.add_argument("--min-score", type=float, help="exit 1 when a module scores lower (%%)")
    parser.add_argument(
        "--pytest-arg", action="append", default=[], help="extra argument for pytest"
    )
    parser.add_argument(
        "--function", action="append", default=[],
        help="mutate and score only this function (Class.method for a method; repeatable)",
    )  # fmt: skip
    args = parser.parse_args(argv)
    _check_paths(args.modules, args.tests)

    scratch = args.work or Path(tempfile.mkdtemp(prefix="alliance-mutation-"))
    scratch.mkdir(parents=True, exist_ok=True)
    try:
        _prepare(scratch, args.modules, args.tests, args.pytest_arg)
        patterns = mutant_patterns(args.function)
        run = _mutmut(scratch, "run", "--max-children", str(args.jobs), *patterns)
        if run.returncode != 0:
            sys.stdout.write(run.stdout[-4000:])
            sys.stderr.write(run.stderr[-4000:])
            print(f"mutmut run failed with exit code {run.returncode}", file=sys.stderr)
            return 2
        low = False
        for module in args.modules:
            counts = _tally(scratch, module, patterns)
            total = sum(v for k, v in counts.items() if not k.startswith("survivor:"))
            scored = total - counts["skipped"]
            score = 100.0 * counts["killed"] / scored if scored else 100.0
            print(
                f"{module}: {score:.1f}% ({counts['killed']} killed of {scored}; "
                f"{counts['survived']} survived, {counts['no tests']} reached by no test, "
                f"{counts['other']} other, {counts['skipped']} skipped)"
            )
            survivors = sorted(k.split(":", 1)[1] for k in counts if k.startswith("survivor:"))
            for name in survivors:
                print(f"  survivor {name}")
                if args.show_survivors:
                    shown = _mutmut(scratch, "show", name)
                    print("    " + shown.stdout.strip().replace("\n", "\n    "))
            if args.min_score is not None and score < args.min_score:
                low = True
        return 1 if low else 0
    finally:
        if args.work is None:
            shutil.rmtree(scratch, ignore_errors=True)


if __name__ == "__main__":
    raise SystemExit(main())
