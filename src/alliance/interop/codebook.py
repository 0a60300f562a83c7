"""Codebooks: what every column of an exported table means, and which values it may hold.

A codebook is a table with the columns ``column, meaning, type, allowed_values, instrument,
version``. Columns shared by every row (client, session, …) have one line each; item and
score columns have one line per instrument version present in the table, since ``item_3``
of the WAI-SR is not ``item_3`` of the PHQ-9. Labels are the project's own short labels.
"""

from __future__ import annotations

import pandas as pd

from alliance.instruments.model import Instrument, OptionsFormat, VisualAnalogueFormat
from alliance.instruments.registry import Registry
from alliance.instruments.scoring import SCORING_VERSION
from alliance.records import STANCES

CODEBOOK_COLUMNS = ("column", "meaning", "type", "allowed_values", "instrument", "version")

_SHARED = {
    "administration": ("the administration's id in the exporting system; empty if none", "text"),
    "client": ("the client's pseudonymous code", "text"),
    "episode": ("the episode (course of care) of the client", "text"),
    "session": ("the session number within the episode", "integer"),
    "date": ("the date of the session", "date (YYYY-MM-DD)"),
    "instrument": ("the instrument's id", "text"),
    "version": ("the instrument definition's version", "text"),
    "perspective": ("who rated", "text"),
    "stance": (
        "self: the rater's own rating; prediction: the clinician's prediction of the client's",
        "text",
    ),
    "clinician": ("the clinician's code; empty if not recorded", "text"),
}


def _instruments(frame: pd.DataFrame, registry: Registry) -> list[Instrument]:
    if frame.empty:
        return []
    pairs = frame[["instrument", "version"]].drop_duplicates()
    return [registry.get(str(i), str(v)) for i, v in pairs.itertuples(index=False)]


def _shared_rows(columns: list[str], instruments: list[Instrument]) -> list[dict[str, str]]:
    allowed = {
        "session": "0, 1, 2, …",
        "instrument": ", ".join(sorted({i.id for i in instruments})),
        "version": ", ".join(sorted({f"{i.id} {i.version}" for i in instruments})),
        "perspective": ", ".join(sorted({p for i in instruments for p in i.perspectives})),
        "stance": ", ".join(STANCES),
    }
    return [
        {
            "column": column,
            "meaning": _SHARED[column][0],
            "type": _SHARED[column][1],
            "allowed_values": allowed.get(column, ""),
            "instrument": "",
            "version": "",
        }
        for column in columns
        if column in _SHARED
    ]


def _allowed(fmt: OptionsFormat | VisualAnalogueFormat) -> tuple[str, str]:
    if isinstance(fmt, OptionsFormat):
        values = "; ".join(f"{o.value} = {o.label}" for o in fmt.options)
        return "integer", f"{values}; empty = not answered"
    labels = f"{fmt.min:g} = {fmt.min_label}, {fmt.max:g} = {fmt.max_label}"
    return "number", f"{fmt.min:g} to {fmt.max:g} ({labels}); empty = not answered"


def administrations_codebook(frame: pd.DataFrame, registry: Registry) -> pd.DataFrame:
    """The codebook of a wide table of administrations."""
    instruments = _instruments(frame, registry)
    rows = _shared_rows([str(c) for c in frame.columns], instruments)
    for inst in instruments:
        for item in inst.items:
            kind, allowed = _allowed(inst.format_of(item))
            scales = ", ".join(item.scales) if item.scales else "none (unscored)"
            meaning = f"{item.label} (scales: {scales}{'; reverse-keyed' if item.reverse else ''})"
            if item.risk:
                meaning += f"; risk item: {item.risk.at_or_above:g} or more raises an alert"
            rows.append(
                {
                    "column": item.id,
                    "meaning": meaning,
                    "type": kind,
                    "allowed_values": allowed,
                    "instrument": inst.id,
                    "version": inst.version,
                }
            )
    return pd.DataFrame(rows, columns=list(CODEBOOK_COLUMNS))


def scores_codebook(frame: pd.DataFrame, registry: Registry) -> pd.DataFrame:
    """The codebook of a tidy long table of scores."""
    instruments = _instruments(frame, registry)
    rows = _shared_rows([str(c) for c in frame.columns], instruments)
    for inst in instruments:
        scales = [s for s in inst.scales if s.verified]
        rows.append(
            {
                "column": "scale",
                "meaning": "the scale the score belongs to",
                "type": "text",
                "allowed_values": ", ".join(s.id for s in scales),
                "instrument": inst.id,
                "version": inst.version,
            }
        )
        for scale in scales:
            op = scale.operation
            rows.append(
                {
                    "column": "score",
                    "meaning": (
                        f"scale {scale.id}: {scale.label}; {op.name} of its items, at most "
                        f"{op.max_missing} missing; higher is {scale.higher_is}; "
                        f"scoring version {SCORING_VERSION}"
                    ),
                    "type": "number",
                    "allowed_values": (
                        f"{scale.range[0]:g} to {scale.range[1]:g}; empty = not scorable"
                    ),
                    "instrument": inst.id,
                    "version": inst.version,
                }
            )
    return pd.DataFrame(rows, columns=list(CODEBOOK_COLUMNS))


_EVENTS = {
    "event": (
        "what happened: rupture_reported (a rater reported a rupture in the session), "
        "episode_ended (the episode of care ended), risk_follow_up (what was done about "
        "a risk answer given in the session), goal_agreed, goal_revised, goal_closed (a "
        "goal agreed with the client, renegotiated, or closed) or goal_progress (a rating "
        "of progress towards a goal, 0–10)",
        "text",
    ),
    "detail": (
        "rupture_reported: who reported it (client, clinician, observer); episode_ended: "
        "the end reason; risk_follow_up: the outcome (no_current_risk, safety_plan, referred, "
        "emergency_services, not_reached); goal_agreed: goal <n>; proposed by <client, "
        "clinician or together> (; replaces goal <m>); goal_revised: goal <n>; version <v>; "
        "goal_closed: goal <n>; <achieved, no_longer_wanted or changed>; goal_progress: "
        "goal <n>; <client or clinician>; <0–10>",
        "text",
    ),
    "note": (
        "the rater's note on the rupture, as written; for risk_follow_up the attempts, when "
        "the client was reached and the clinician's note; for goal events the goal in the "
        "client's words, what 10 would look like and the reason for a change (identified "
        "exports only)",
        "text",
    ),
}


def events_codebook(frame: pd.DataFrame) -> pd.DataFrame:
    """The codebook of a care events table (ruptures reported, episodes ended)."""
    rows = []
    for column in frame.columns:
        if column in _EVENTS:
            meaning, kind = _EVENTS[column]
        elif column == "date":
            meaning, kind = (
                "the session's date; for episode_ended, the day it ended; for risk_follow_up, "
                "the day the client was reached (or of the record, if not reached)",
                "date",
            )
        elif column in _SHARED:
            meaning, kind = _SHARED[column]
        else:
            continue
        allowed = ""
        if column in ("event", "detail"):
            allowed = ", ".join(sorted({str(v) for v in frame[column].dropna().unique()}))
        rows.append(
            {"column": column, "meaning": meaning, "type": kind, "allowed_values": allowed,
             "instrument": "", "version": ""}
        )  # fmt: skip
    return pd.DataFrame(rows, columns=list(CODEBOOK_COLUMNS))
