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
        "clients.csv", "models.csv", "problems.csv", "report.html", "signals.csv",
    ]  # fmt: skip
    assert pd.read_csv(out_dir / "problems.csv").empty  # a clean file: the header only
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


def test_the_bundled_examples_fit_the_alliance_outcome_models(tmp_path: Path) -> None:
    out = tmp_path / "o"
    code, _, err = run("analyze", str(EXAMPLES / "wai-sr.csv"), "-i", "wai-sr",
                       "--outcome", str(EXAMPLES / "phq-9.csv"), "--outcome-instrument", "phq-9",
                       "-o", str(out))  # fmt: skip
    assert code == 0, err
    assert "not fitted" not in err
    models = pd.read_csv(out / "models.csv")
    assert set(models["model"]) == {"lagged", "detrended", "unlagged"}
    assert (models["n_clients"] == 6).all() and (models["n_obs"] >= 20).all()


# -- a file with bad rows is analysed whole, less those rows, which are reported ---------------


def phq9_rows() -> pd.DataFrame:
    """Three PHQ-9 clients, four sessions each, plainly dated a week apart."""
    rows = []
    for client in ("P1", "P2", "P3"):
        for session in range(1, 5):
            answers = {f"item_{j}": 1 for j in range(1, 10)} | {"item_9": 0}
            rows.append({"client": client, "episode": "1", "session": session,
                         "date": f"2024-01-{7 * session:02d}", **answers})  # fmt: skip
    return pd.DataFrame(rows)


def analyse_phq9(tmp_path: Path, frame: pd.DataFrame) -> tuple[str, Path]:
    path = tmp_path / "phq-9.csv"
    frame.to_csv(path, index=False)
    out_dir = tmp_path / "out"
    code, out, err = run("analyze", str(path), "-i", "phq-9", "-o", str(out_dir))
    assert code == 0, err
    return out, out_dir


def test_a_blank_risk_item_raises_the_same_day_signal(tmp_path: Path) -> None:
    frame = phq9_rows()
    blank = (frame["client"] == "P2") & (frame["session"] == 3)
    frame.loc[blank, [f"item_{j}" for j in range(1, 9)]] = 3
    frame.loc[blank, "item_9"] = None  # prorated total 27: severe, and no answer on risk
    out, out_dir = analyse_phq9(tmp_path, frame)
    signals = pd.read_csv(out_dir / "signals.csv", dtype={"client": str})
    empty = signals[signals["rule"] == "risk_unanswered"]
    assert list(zip(empty["client"], empty["session"], strict=True)) == [("P2", 3)]
    assert set(empty["severity"]) == {"high"}  # as the clinic service raises it
    assert (signals["rule"] == "risk_item").sum() == 0
    assert "ask today P2: The risk item of PHQ-9 was left unanswered in session 3" in out
    clients = pd.read_csv(out_dir / "clients.csv", dtype={"client": str})
    assert clients.set_index("client")["risk_unanswered"].to_dict() == {"P1": 0, "P2": 1, "P3": 0}
    page = (out_dir / "report.html").read_text(encoding="utf-8")
    assert "Risk item left unanswered: 1 administration of 1 client" in page


def test_repeated_and_contradicting_rows_are_reported_and_the_rest_analysed(
    tmp_path: Path,
) -> None:
    frame = phq9_rows()
    copy = frame.iloc[[1]]  # P1 session 2, the same answers again
    contradiction = frame.iloc[[6]].assign(item_9=2)  # P2 session 3 again: a risk answer
    frame = pd.concat([frame, copy, contradiction], ignore_index=True)
    risky = (frame["client"] == "P3") & (frame["session"] == 4)
    frame.loc[risky, "item_9"] = 1  # another client's risk answer
    frame.loc[(frame["client"] == "P3") & (frame["session"] == 2), "date"] = "2023-12-01"
    _, out_dir = analyse_phq9(tmp_path, frame)
    problems = pd.read_csv(out_dir / "problems.csv", dtype={"client": str})
    assert problems["row"].tolist() == [7, 10, 13, 14]  # data rows; the header is not one
    assert problems["file"].unique().tolist() == ["phq-9.csv"]
    by_row = problems.set_index("row")
    assert by_row.loc[13, "problem"].startswith("repeats row 2")
    assert by_row.loc[13, "action"] == "left out; row 2 is analysed"
    assert by_row.loc[7, "problem"] == (
        "rows 7, 14 claim to be the same rating (client, self) but differ in item_9"
    )
    assert by_row.loc[14, "action"].startswith("left out (none of them is analysed)")
    assert by_row.loc[10, "problem"].startswith(
        "session 2 is dated 2023-12-01, before session 1 (2024-01-07)"
    )
    signals = pd.read_csv(out_dir / "signals.csv", dtype={"client": str})
    risk = signals[signals["rule"] == "risk_item"]
    # the other client's risk answer, and the one inside the contradicting pair
    assert sorted(zip(risk["client"], risk["session"], strict=True)) == [("P2", 3), ("P3", 4)]
    clients = pd.read_csv(out_dir / "clients.csv", dtype={"client": str})
    assert clients.set_index("client")["ratings"].to_dict() == {"P1": 4, "P2": 3, "P3": 4}


def test_repeats_in_a_tidy_file_are_reported_too(clinic: Path, tmp_path: Path) -> None:
    from alliance.simulate import simulate_clinic

    tidy = simulate_clinic(seed=3, n_clients=12).tidy()
    total = tidy[(tidy["scale"] == "total") & (tidy["stance"] == "self")]
    first = total.index[0]
    tidy = pd.concat([tidy, tidy.loc[[first]].assign(score=tidy.loc[first, "score"] - 9)],
                     ignore_index=True)  # fmt: skip
    path = tmp_path / "tidy.csv"
    tidy.to_csv(path, index=False)
    code, _, err = run("analyze", str(path), "-i", "wai-sr", "-o", str(tmp_path / "o"))
    assert code == 0, err
    problems = pd.read_csv(tmp_path / "o" / "problems.csv")
    assert problems["row"].tolist() == [first + 1, len(tidy)]
    assert problems["problem"].str.contains("differ in score").all()
    assert "1 more" not in err and "2 rows reported in problems.csv" in err


def test_identical_item_marks_give_no_reliable_change(tmp_path: Path) -> None:
    # every client marks the four SRS lines alike, so alpha is 1; a dip from 40 to 37 was a
    # "high" reliable drop (reliable change 1.96 × SD₁ × √0.02 ≈ 1.2 points)
    rows = []
    for c in range(12):
        for session, total in enumerate((28 + c, 29 + c, 28 + c), start=1):
            rows.append({"client": f"S{c:02d}", "session": session,
                         **{f"item_{j}": total / 4 for j in range(1, 5)}})  # fmt: skip
    rows += [{"client": "A", "session": s, **{f"item_{j}": t / 4 for j in range(1, 5)}}
             for s, t in ((1, 40.0), (2, 37.0))]  # fmt: skip
    path = tmp_path / "srs.csv"
    pd.DataFrame(rows).to_csv(path, index=False)
    code, _, err = run("analyze", str(path), "-i", "srs", "-o", str(tmp_path / "o"))
    assert code == 0, err
    signals = pd.read_csv(tmp_path / "o" / "signals.csv", dtype={"client": str})
    assert "reliable_drop" not in set(signals["rule"])
    assert "only 0 complete rows answer the items differently" in " ".join(err.split())
