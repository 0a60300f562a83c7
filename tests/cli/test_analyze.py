"""``alliance simulate`` and ``alliance analyze`` end to end on files."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest
from typer.testing import CliRunner

from alliance.cli import app

EXAMPLES = Path(__file__).parents[2] / "examples"


def run(*args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(app, list(args))
    return result.exit_code, result.stdout, result.stderr


@pytest.fixture(scope="module")
def clinic(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("clinic")
    code, out, err = run("simulate", "--out", str(folder), "--seed", "3", "--clients", "80")
    assert code == 0, err
    assert "Simulated 80 clients" in out
    return folder


def test_analyze_writes_all_outputs_that_match_the_truth(clinic: Path, tmp_path: Path) -> None:
    out_dir = tmp_path / "out"
    code, out, err = run(
        "analyze", str(clinic / "wai-sr.csv"), "--instrument", "wai-sr",
        "--outcome", str(clinic / "phq-9.csv"), "--outcome-instrument", "phq-9",
        "--out", str(out_dir),
    )  # fmt: skip
    assert code == 0, err
    assert sorted(p.name for p in out_dir.iterdir()) == [
        "clients.csv", "models.csv", "report.html", "signals.csv",
    ]  # fmt: skip
    signals = pd.read_csv(out_dir / "signals.csv", dtype={"client": str, "episode": str})
    truth = pd.read_csv(clinic / "ruptures.csv")
    truth = truth[truth["observed"]]
    strict = signals[(signals["rule"] == "drop_from_baseline") & (signals["scale"] == "total")]
    caught = set(zip(strict["client"], strict["session"], strict=True))
    onsets = set(zip(truth["client"], truth["session"], strict=True))
    assert len(caught & onsets) >= 0.3 * len(onsets)  # k = 2 at 2.5 SD (see the validation)
    assert len(caught & onsets) >= 0.5 * len(caught)
    risky = pd.read_csv(clinic / "phq-9.csv")
    assert (signals["rule"] == "risk_item").sum() == (risky["item_9"] > 0).sum()
    assert "urgent" in out and "risk item" in out
    models = pd.read_csv(out_dir / "models.csv")
    within = models[(models["model"] == "lagged") & (models["term"] == "alliance (within client)")]
    assert within["ci_low"].iloc[0] < -0.25 < within["ci_high"].iloc[0]
    clients = pd.read_csv(out_dir / "clients.csv")
    assert set(clients["instrument"]) == {"wai-sr", "phq-9"}
    page = (out_dir / "report.html").read_text(encoding="utf-8")
    assert page.startswith("<!doctype html>") and "<svg" in page and "Reliability" in page


def test_tidy_input_and_a_config_file(clinic: Path, tmp_path: Path) -> None:
    tidy = tmp_path / "tidy.csv"
    code, _, err = run("analyze", str(clinic / "wai-sr.csv"), "-i", "wai-sr", "-o",
                       str(tmp_path / "first"))  # fmt: skip
    assert code == 0, err
    from alliance.simulate import simulate_clinic

    simulate_clinic(seed=3, n_clients=30).tidy().to_csv(tidy, index=False)
    config = tmp_path / "clinic.yaml"
    config.write_text("rules:\n  drop_from_previous:\n    enabled: false\n", encoding="utf-8")
    code, _, err = run("analyze", str(tidy), "-i", "wai-sr", "-o", str(tmp_path / "second"),
                         "--config", str(config))  # fmt: skip
    assert code == 0, err
    signals = pd.read_csv(tmp_path / "second" / "signals.csv")
    assert "drop_from_previous" not in set(signals["rule"])
    assert (tmp_path / "second" / "models.csv").exists()


def test_refusing_the_risk_rule_off_writes_nothing(clinic: Path, tmp_path: Path) -> None:
    config = tmp_path / "bad.yaml"
    config.write_text("rules:\n  risk_item:\n    enabled: false\n", encoding="utf-8")
    out_dir = tmp_path / "out"
    code, _, err = run("analyze", str(clinic / "wai-sr.csv"), "-i", "wai-sr", "-o",
                       str(out_dir), "--config", str(config))  # fmt: skip
    assert code == 1
    assert "risk rule is always on" in err and "nothing was written" in err
    assert not out_dir.exists()


def test_bad_answers_leave_no_output(clinic: Path, tmp_path: Path) -> None:
    answers = pd.read_csv(clinic / "wai-sr.csv")
    answers.loc[5, "item_3"] = 9
    bad = tmp_path / "bad.csv"
    answers.to_csv(bad, index=False)
    out_dir = tmp_path / "out"
    out_dir.mkdir()
    code, _, err = run("analyze", str(bad), "-i", "wai-sr", "-o", str(out_dir))
    assert code == 1
    assert "row 6, column item_3: value out of range: 9" in err
    assert list(out_dir.iterdir()) == []


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--outcome", "{phq}"], "--outcome needs --outcome-instrument"),
        (["--outcome-instrument", "phq-9"], "--outcome-instrument needs --outcome FILE"),
        (["--outcome", "{phq}", "--outcome-instrument", "nope"], "unknown instrument 'nope'"),
    ],
)
def test_option_mistakes_are_named(
    clinic: Path, tmp_path: Path, args: list[str], message: str
) -> None:
    filled = [a.replace("{phq}", str(clinic / "phq-9.csv")) for a in args]
    code, _, err = run("analyze", str(clinic / "wai-sr.csv"), "-i", "wai-sr", "-o",
                       str(tmp_path / "o"), *filled)  # fmt: skip
    assert code == 1 and message in err


def test_the_bundled_example_without_episodes(tmp_path: Path) -> None:
    code, _, err = run("analyze", str(EXAMPLES / "wai-sr.csv"), "-i", "wai-sr", "-o",
                       str(tmp_path / "o"))  # fmt: skip
    assert code == 0, err
    assert "no episode column" in err
