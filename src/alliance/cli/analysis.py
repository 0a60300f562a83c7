"""The work behind ``alliance analyze``: signals, per-client summary, models and an HTML
report from a file (imported only when the command runs)."""

from __future__ import annotations

import contextlib
import os
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
from rich import box
from rich.markup import escape
from rich.table import Table

from alliance.analytics.detector import SEVERITIES, Detector
from alliance.analytics.dropout import dropout_model, early_alliance
from alliance.analytics.models import alliance_outcome_models, session_panel
from alliance.analytics.pipeline import client_summary, detect_all
from alliance.analytics.psychometrics import change_reliability, item_statistics, reliability
from alliance.analytics.ruptures import ReliableDrop
from alliance.analytics.screening import (
    concat_problems,
    dates_out_of_order,
    repeated_ratings,
)
from alliance.analytics.series import order_series
from alliance.analytics.therapist import therapist_effects
from alliance.analytics.tidy import (
    RISK_SCALES,
    check_tidy,
    one_risk_row_per_rating,
    tidy_scores,
)
from alliance.cli.common import err, fail, load_registry, out
from alliance.feedback.alerts import alerts_from_signals
from alliance.feedback.config import ConfigError, FeedbackConfig, load_config
from alliance.files import AtomicTableWriter, TableFileError, read_chunks, read_columns
from alliance.instruments.model import ITEM_ID, Instrument
from alliance.instruments.registry import Registry
from alliance.instruments.scoring import MISSING_TEXT, AnswerError
from alliance.reports.html import ReportInput, render_report
from alliance.text import counted

OUTPUTS = ("signals.csv", "clients.csv", "models.csv", "problems.csv", "report.html")


class AnalysisError(ValueError):
    """Input that cannot be analysed; the message names the file and the problem."""


@dataclass
class Analysis:
    signals: pd.DataFrame
    clients: pd.DataFrame
    models: pd.DataFrame
    problems: pd.DataFrame
    report: str
    notes: list[str]
    config: FeedbackConfig


@dataclass
class _Input:
    """One file read for the analysis: its tidy scores, the rows analysed (wide answers or
    tidy scores as read) and the rows reported in problems.csv."""

    tidy: pd.DataFrame
    rows: pd.DataFrame
    problems: pd.DataFrame


def run(
    file: Path,
    instrument: str,
    out_dir: Path,
    outcome: Path | None,
    outcome_instrument: str | None,
    config: Path | None,
    definitions: Path | None,
) -> None:
    """Run ``alliance analyze`` (see its help)."""
    registry = load_registry(definitions)
    if outcome is not None and outcome_instrument is None:
        fail("--outcome needs --outcome-instrument (the outcome instrument's id)")
    if outcome_instrument is not None and outcome is None:
        fail("--outcome-instrument needs --outcome FILE")
    try:
        feedback = load_config(config) if config else FeedbackConfig.default()
        alliance_def = _instrument(registry, instrument)
        outcome_def = _instrument(registry, outcome_instrument) if outcome_instrument else None
        results = _analyse(file, alliance_def, outcome, outcome_def, feedback, registry)
    except (AnalysisError, ConfigError, TableFileError, AnswerError) as exc:
        fail(f"{exc}; nothing was written")
    try:
        _write(out_dir, results)
    except (OSError, TableFileError) as exc:
        fail(f"cannot write to {out_dir}: {exc}; nothing was written")
    _print(results, out_dir)


def _instrument(registry: Registry, instrument_id: str) -> Instrument:
    try:
        return registry.get(instrument_id)
    except KeyError as exc:
        raise AnalysisError(exc.args[0]) from None


def _read(path: Path, inst: Instrument) -> tuple[_Input, list[str]]:
    """A file as tidy scores (scoring wide answers), the rows analysed, the rows reported as
    problems, and notes about defaults applied."""
    columns = read_columns(path)
    chunks = list(read_chunks(path, numeric=list(inst.item_ids), missing=MISSING_TEXT))
    frame = pd.concat(chunks, ignore_index=True) if chunks else pd.DataFrame(columns=columns)
    rows = np.arange(1, len(frame) + 1, dtype=np.int64)  # 1-based data rows, as in errors
    notes: list[str] = []
    if "scale" in columns and "score" in columns:
        if "instrument" not in frame.columns:
            frame["instrument"] = inst.id
        if "perspective" not in frame.columns:
            frame["perspective"] = "client"
        try:
            frame = check_tidy(frame)
        except ValueError as exc:
            raise AnalysisError(f"{path}: {exc}") from None
        key = ["client", "episode", "session", "instrument", "scale", "perspective", "stance"]
        screened = repeated_ratings(frame, key=key, rows=rows)
        # a risk row among contradicting ones still counts (the highest wins)
        risky = screened.contradicted & frame["scale"].isin(RISK_SCALES).to_numpy()
        kept = frame[screened.keep]
        tidy = one_risk_row_per_rating(pd.concat([kept, frame[risky]], ignore_index=True))
        problems = concat_problems(
            [screened.problems, dates_out_of_order(kept, rows=rows[screened.keep])]
        )
        return _Input(tidy, kept, problems), notes
    if not any(ITEM_ID.match(c) for c in columns):
        raise AnalysisError(
            f"{path}: no item columns (item_1 … item_{len(inst.items)}) and no scale/score "
            "columns; give item answers or tidy scores"
        )
    for column in ("client", "session"):
        if column not in columns:
            raise AnalysisError(f"{path}: column {column!r} is missing")
    if "episode" not in columns:
        frame["episode"] = "1"
        notes.append(f"{path.name}: no episode column; every client's rows are one episode")
    if "instrument" in frame.columns and (frame["instrument"].astype(str) != inst.id).any():
        raise AnalysisError(f"{path}: column instrument holds other instruments than {inst.id}")
    frame = frame.drop(columns=[c for c in ("instrument", "version") if c in frame.columns])
    try:
        session = pd.to_numeric(frame["session"], errors="raise")
    except (ValueError, TypeError):
        raise AnalysisError(f"{path}: column session must hold whole numbers") from None
    frame["session"] = session
    for column, default in (("perspective", "client"), ("stance", "self")):
        if column not in frame.columns:
            frame[column] = default
    screened = repeated_ratings(
        frame, key=["client", "episode", "session", "perspective", "stance"], rows=rows
    )
    kept = frame[screened.keep]
    try:
        tidy = tidy_scores(kept, inst)
        if screened.contradicted.any():
            # none of the contradicting rows is a score, but a risk answer in any of them counts
            doubtful = tidy_scores(frame[screened.contradicted], inst)
            doubtful = doubtful[doubtful["scale"].isin(RISK_SCALES)]
            tidy = one_risk_row_per_rating(pd.concat([tidy, doubtful], ignore_index=True))
        tidy = check_tidy(tidy)
    except AnswerError as exc:
        raise AnalysisError(f"{path}: {exc}") from None
    except ValueError as exc:
        raise AnalysisError(f"{path}: {exc}") from None
    problems = concat_problems(
        [screened.problems, dates_out_of_order(kept, rows=rows[screened.keep])]
    )
    return _Input(tidy, kept, problems), notes


def _analyse(
    file: Path,
    alliance_def: Instrument,
    outcome: Path | None,
    outcome_def: Instrument | None,
    feedback: FeedbackConfig,
    registry: Registry,
) -> Analysis:
    first, notes = _read(file, alliance_def)
    tidy, raw = first.tidy, first.rows
    problems = [first.problems.assign(file=file.name)]
    if outcome is not None and outcome_def is not None:
        second, more = _read(outcome, outcome_def)
        notes += more
        tidy = pd.concat([tidy, second.tidy], ignore_index=True)
        problems.append(second.problems.assign(file=outcome.name))
    reported = pd.concat(problems, ignore_index=True)
    reported = reported[["file", *reported.columns.drop("file")]]
    if len(reported):
        notes.append(
            f"{counted(len(reported), 'row')} reported in problems.csv (repeated or contradicting "
            "ratings, session dates out of order); the rest was analysed"
        )
    if tidy.empty:
        raise AnalysisError(f"{file}: no scores to analyse")
    try:
        ordered = order_series(tidy, registry=registry)
    except ValueError as exc:
        raise AnalysisError(str(exc)) from None
    scale = (
        "total" if any(s.id == "total" for s in alliance_def.scales) else alliance_def.scales[0].id
    )
    own_items = _own_items(raw, alliance_def, scale)
    rel, items = _reliability(own_items)
    detectors = [
        _with_reliability(d, own_items, alliance_def, scale, notes) for d in feedback.detectors()
    ]
    signals = detect_all(ordered, detectors)
    clients = client_summary(ordered, signals)
    clients = clients[clients["scale"] == "total"].reset_index(drop=True)
    models = pd.DataFrame()
    extra: dict[str, pd.DataFrame] = {}
    if outcome_def is not None:
        try:
            panel = session_panel(ordered, alliance=(alliance_def.id, scale),
                                  outcome=(outcome_def.id, "total"))  # fmt: skip
            models = alliance_outcome_models(panel)
        except ValueError as exc:
            notes.append(f"alliance–outcome models not fitted: {exc}")
    with contextlib.suppress(ValueError):
        extra["therapist"] = therapist_effects(ordered, instrument=alliance_def.id, scale=scale)
    if "end_reason" in raw.columns:
        episodes = raw[["client", "episode", "end_reason"]]
        try:
            extra["dropout"] = dropout_model(
                early_alliance(ordered, instrument=alliance_def.id, scale=scale),
                episodes.drop_duplicates(["client", "episode"]),
            )
        except ValueError as exc:
            notes.append(f"dropout model not fitted: {exc}")
    shown = [m for m in (models, *_as_model_rows(extra)) if not m.empty]
    report = render_report(
        ReportInput(
            title=f"Alliance analysis: {file.name}",
            tidy=ordered.source, signals=signals, clients=clients,
            alliance=(alliance_def.id, scale),
            outcome=(outcome_def.id, "total") if outcome_def else None,
            reliability=rel, items=items,
            models=pd.concat(shown, ignore_index=True) if shown else pd.DataFrame(),
            notes=notes,
        )
    )  # fmt: skip
    return Analysis(signals, clients, models, reported, report, notes, feedback)


def _as_model_rows(extra: dict[str, pd.DataFrame]) -> list[pd.DataFrame]:
    """Therapist effects and the dropout model shaped like model rows for the report."""
    rows = []
    if "dropout" in extra:
        d = extra["dropout"]
        rows.append(pd.DataFrame({
            "model": "dropout (odds ratio)", "term": d["term"], "estimate": d["odds_ratio"],
            "std_error": d["std_error"], "ci_low": d["ci_low"], "ci_high": d["ci_high"],
            "p_value": d["p_value"], "n_obs": d["n"], "n_clients": d["n"],
            "caveat": d["note"]}))  # fmt: skip
    if "therapist" in extra:
        t = extra["therapist"]
        rows.append(pd.DataFrame({
            "model": "variance shares (ICC)", "term": t["component"], "estimate": t["share"],
            "std_error": np.nan, "ci_low": np.nan, "ci_high": np.nan, "p_value": np.nan,
            "n_obs": t["n_obs"], "n_clients": t["n_clients"], "caveat": t["note"]}))  # fmt: skip
    return rows


def _own_items(raw: pd.DataFrame, inst: Instrument, scale: str) -> pd.DataFrame | None:
    """The item answers of the scale in the clients' own ratings, or None without them."""
    columns = [item.id for item in inst.items_of(scale)]
    if not columns or not set(columns) <= set(raw.columns):
        return None
    own = raw
    if "perspective" in raw.columns:
        own = own[own["perspective"].fillna("client") == "client"]
    if "stance" in raw.columns:
        own = own[own["stance"].fillna("self") == "self"]
    items: pd.DataFrame = own[columns].apply(pd.to_numeric, errors="coerce")
    return items


def _reliability(items: pd.DataFrame | None) -> tuple[pd.DataFrame, pd.DataFrame]:
    if items is None:
        return pd.DataFrame(), pd.DataFrame()
    try:
        return reliability(items), item_statistics(items)
    except ValueError:
        return pd.DataFrame(), pd.DataFrame()


def _with_reliability(
    detector: Detector, items: pd.DataFrame | None, inst: Instrument, scale: str,
    notes: list[str],
) -> Detector:  # fmt: skip
    """Give the reliable-drop rule a reliability from this data's items when the instrument
    has no confirmed reliable-change value and none is configured (Jacobson & Truax, with
    :func:`~alliance.analytics.psychometrics.change_reliability`: alpha's lower bound over
    rows that answer the items differently, from 30 such rows)."""
    if not isinstance(detector, ReliableDrop) or items is None:
        return detector
    rc = inst.scale(scale).reliable_change
    if (
        detector.reliable_change is not None
        or detector.reliability is not None
        or (rc is not None and rc.verified)
    ):
        return detector
    try:
        found = change_reliability(items)
    except ValueError as exc:
        found = str(exc)
    if isinstance(found, str):
        notes.append(
            f"{inst.id} has no confirmed reliable-change value and this data's items give no "
            f"reliability for one ({found}): the reliable-drop rule is not applied"
        )
        return detector
    r, n = found
    notes.append(
        f"{inst.id} has no confirmed reliable-change value: the reliable-drop rule uses this "
        f"data's alpha at its lower bound ({r:.2f}, one-sided 95%, {n} rows answering the "
        "items differently) and first-rating SD (Jacobson & Truax), never less than the "
        "items' resolution allows"
    )
    return ReliableDrop(**{**detector.get_params(), "reliability": round(r, 3)})


@contextlib.contextmanager
def _atomic_text(path: Path) -> Iterator[Path]:
    fd, name = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".partial", dir=path.parent)
    os.close(fd)
    tmp = Path(name)
    try:
        yield tmp
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    else:
        os.replace(tmp, path)  # mkstemp's 0600: the report names clients


def _write(out_dir: Path, results: Analysis) -> None:
    created = not out_dir.exists()
    out_dir.mkdir(parents=True, exist_ok=True)
    try:
        with contextlib.ExitStack() as stack:
            for name, frame in (
                ("signals", results.signals),
                ("clients", results.clients),
                ("models", results.models),
                ("problems", results.problems),
            ):
                writer = stack.enter_context(AtomicTableWriter(out_dir / f"{name}.csv"))
                writer.write(_for_csv(frame))
            tmp = stack.enter_context(_atomic_text(out_dir / "report.html"))
            tmp.write_text(results.report, encoding="utf-8")
    except BaseException:
        if created:
            with contextlib.suppress(OSError):
                out_dir.rmdir()
        raise


def _for_csv(frame: pd.DataFrame) -> pd.DataFrame:
    out = frame.copy()
    for column in out.columns:
        if out[column].dtype == object:
            out[column] = out[column].map(lambda v: None if v is None else str(v))
    return out


def _print(results: Analysis, out_dir: Path) -> None:
    signals = results.signals
    for note in results.notes:
        err.print(f"[dim]note:[/] {escape(str(note))}")
    table = Table(box=box.SIMPLE_HEAD, pad_edge=False, title="Signals")
    for column in ("rule", "severity", "signals", "clients", "provenance"):
        table.add_column(column, justify="right" if column in ("signals", "clients") else "left")
    if len(signals):
        rank: dict[str, int] = {s: i for i, s in enumerate(SEVERITIES)}
        grouped = sorted(
            signals.groupby(["rule", "severity"], sort=False),
            key=lambda item: (rank.get(str(item[0][1]), 9), -len(item[1])),
        )
        for (rule, severity), part in grouped:
            kind = str(part["provenance"].iloc[0]).split(":", 1)[0]
            table.add_row(
                str(rule), str(severity), str(len(part)), str(part["client"].nunique()), kind
            )
    out.print(table)
    urgent: dict[tuple[str, str], list[int]] = {}
    reasons: dict[tuple[str, str], str] = {}
    for alert in alerts_from_signals(signals, config=results.config):
        if alert.priority == "urgent" or alert.rule == "risk_unanswered":
            urgent.setdefault((alert.client, alert.rule), []).append(alert.session)
            reasons.setdefault((alert.client, alert.rule), alert.reason.split(" in session")[0])
    for (client, rule), sessions in urgent.items():
        label = "urgent" if rule != "risk_unanswered" else "ask today"
        out.print(
            f"[bold red]{label}[/] {escape(client)}: {escape(reasons[(client, rule)])} in "
            f"session{'s' if len(sessions) > 1 else ''} {', '.join(map(str, sessions))}"
        )
    out.print(f"Wrote {', '.join(str(out_dir / name) for name in OUTPUTS)}")
