"""scripts/mutation.py builds the mutmut configuration of a run from its arguments."""

from __future__ import annotations

import importlib.util
import json
import tomllib
from pathlib import Path
from types import ModuleType

import pytest

ROOT = Path(__file__).parents[1]


@pytest.fixture(scope="module")
def mutation() -> ModuleType:
    spec = importlib.util.spec_from_file_location("mutation", ROOT / "scripts" / "mutation.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_a_run_replaces_the_default_table_and_keeps_the_rest(mutation: ModuleType) -> None:
    default = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    assert default["tool"]["mutmut"]["only_mutate"] == [
        "src/alliance/instruments/scoring.py", "src/alliance/analytics/ruptures.py",
    ]  # fmt: skip
    text = mutation._config(["src/alliance/feedback/alerts.py"], ["tests/feedback"], ["-x"])
    run = tomllib.loads(text)
    assert run["tool"]["mutmut"] == {
        "source_paths": ["src"],
        "only_mutate": ["src/alliance/feedback/alerts.py"],
        "pytest_add_cli_args_test_selection": ["tests/feedback"],
        "pytest_add_cli_args": ["-p", "no:cacheprovider", "-q", "-x"],
        "also_copy": ["examples", "docs"],
    }
    assert run["tool"]["pytest"] == default["tool"]["pytest"]  # warnings as errors etc.
    assert run["project"] == default["project"]


def test_paths_are_checked_before_anything_runs(mutation: ModuleType) -> None:
    with pytest.raises(SystemExit, match="give a path like src/"):
        mutation._check_paths(["alliance/x.py"], ["tests"])
    with pytest.raises(SystemExit, match="no such file"):
        mutation._check_paths(["src/alliance/nothing.py"], ["tests"])
    with pytest.raises(SystemExit, match="under tests/"):
        mutation._check_paths(["src/alliance/records.py"], ["src"])
    mutation._check_paths(["src/alliance/records.py"], ["tests/test_layers.py::test_x"])


def test_outcomes_are_counted_from_mutmuts_record(mutation: ModuleType, tmp_path: Path) -> None:
    meta = tmp_path / "mutants" / "src" / "m.py.meta"
    meta.parent.mkdir(parents=True)
    codes = {"a__mutmut_1": 1, "a__mutmut_2": 0, "a__mutmut_3": 36, "a__mutmut_4": 33,
             "a__mutmut_5": 34, "a__mutmut_6": None}  # fmt: skip
    meta.write_text(json.dumps({"exit_code_by_key": codes}), encoding="utf-8")
    counts = mutation._tally(tmp_path, "src/m.py")
    assert (counts["killed"], counts["survived"], counts["no tests"]) == (2, 1, 1)
    assert (counts["skipped"], counts["other"]) == (1, 1)
    survivors = sorted(k for k in counts if k.startswith("survivor:"))
    assert survivors == ["survivor:a__mutmut_2", "survivor:a__mutmut_4", "survivor:a__mutmut_6"]


def test_a_run_can_be_limited_to_named_functions(mutation: ModuleType, tmp_path: Path) -> None:
    patterns = mutation.mutant_patterns(["raise_risk_alerts", "RiskItem._detect"])
    assert patterns == ["*.x_raise_risk_alerts__mutmut_*", "*.xǁRiskItemǁ_detect__mutmut_*"]
    with pytest.raises(SystemExit, match=r"Class\.method"):
        mutation.mutant_patterns(["a.b.c"])
    meta = tmp_path / "mutants" / "src" / "m.py.meta"
    meta.parent.mkdir(parents=True)
    codes = {"m.x_raise_risk_alerts__mutmut_1": 1, "m.x_raise_risk_alerts__mutmut_2": 0,
             "m.x_submit__mutmut_1": None, "m.xǁRiskItemǁ_detect__mutmut_1": 1}  # fmt: skip
    meta.write_text(json.dumps({"exit_code_by_key": codes}), encoding="utf-8")
    counts = mutation._tally(tmp_path, "src/m.py", patterns)
    assert (counts["killed"], counts["survived"], counts["other"]) == (2, 1, 0)
