"""The validation script's loaders read the shared data as described (skipped without it).

Only counts and shapes are checked; no text or rating of the data is kept in the repository.
"""

from __future__ import annotations

import importlib.util
import math
from pathlib import Path
from types import ModuleType

import pytest

ROOT = Path(__file__).parents[2]


def load_script() -> ModuleType:
    spec = importlib.util.spec_from_file_location(
        "validate", ROOT / "bench" / "validate_transcripts.py"
    )
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


validate = load_script()
DATA = validate.data_dir(None)
needs_data = pytest.mark.skipif(
    not all((DATA / f).is_file() for f in validate.FILES), reason="shared validation data absent"
)


def test_without_data_the_script_says_so_and_stops(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("sys.argv", ["validate", "--data", str(tmp_path)])
    validate.main()
    assert "validation data not found" in capsys.readouterr().out


@needs_data
def test_esconv_loader() -> None:
    sessions = [*validate.esconv(DATA / "esconv-train.jsonl", "train"),
                *validate.esconv(DATA / "esconv-valid.jsonl", "valid")]  # fmt: skip
    assert len(sessions) == 1105
    rated = [s for s in sessions if not math.isnan(s["empathy"])]
    assert len(rated) == 974
    assert {t["speaker"] for s in sessions for t in s["turns"]} == {"client", "clinician"}
    assert all(1 <= s["empathy"] <= 5 for s in rated)


@needs_data
def test_failed_esconv_and_annomi_loaders() -> None:
    failed = list(validate.failed_esconv(DATA / "failed-esconv.json"))
    assert len(failed) == 196
    mi = list(validate.annomi(DATA / "annomi-full.csv"))
    assert len(mi) == 133
    assert sum(s["low_quality"] for s in mi) == 23
    assert all(
        s["turns"] and {t["speaker"] for t in s["turns"]} <= {"client", "clinician"} for s in mi
    )
