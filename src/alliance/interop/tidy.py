"""The tidy long table of scores: computing it from administrations, and checking it.

One row per administration and scale (``TIDY_COLUMNS`` then ``TIDY_OPTIONAL_COLUMNS`` of
:mod:`alliance.records`). Scores always come from :func:`alliance.instruments.scoring.score`;
a scale whose key is not confirmed is not computed and has no rows; a scale that cannot be
scored for an administration (too many items missing) has a row with an empty score.

A tidy file can also be imported (for example totals computed by another system, such as a
total-only Session Rating Scale): :func:`check_tidy` checks every cell the way
:func:`alliance.interop.wide.check_wide` does, with the score checked against the scale's range.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pyarrow as pa

from alliance.instruments.registry import Registry
from alliance.instruments.scoring import MISSING_TEXT, score
from alliance.interop.cells import Found, check_identity, resolve_instrument
from alliance.interop.columns import Cells, Text, as_numbers
from alliance.interop.keys import (
    KEY_COLUMN,
    TEXT_FIELDS,
    duplicated_lanes,
    key_lanes,
    lanes_text,
    text_words,
)
from alliance.interop.report import Problem
from alliance.records import STANCES, TIDY_COLUMNS, TIDY_OPTIONAL_COLUMNS

SCORE_COLUMNS = (*TIDY_COLUMNS, *TIDY_OPTIONAL_COLUMNS)


def scores_long(administrations: pd.DataFrame, registry: Registry) -> pd.DataFrame:
    """Score a clean wide table and return the tidy long scores, in the table's row order
    and each instrument's scale order."""
    parts: list[pd.DataFrame] = []
    position = np.arange(len(administrations))
    frame = administrations.reset_index(drop=True)
    for (inst_id, version), group in frame.groupby(["instrument", "version"], sort=False):
        inst = registry.get(str(inst_id), str(version))
        result = score(inst, group[list(inst.item_ids)])
        for rank, (scale_id, values) in enumerate(result.scales.items()):
            part = pd.DataFrame(
                {
                    "client": group["client"],
                    "episode": group["episode"],
                    "session": group["session"],
                    "date": group["date"],
                    "instrument": group["instrument"],
                    "perspective": group["perspective"],
                    "scale": scale_id,
                    "score": values.values,
                    "version": group["version"],
                    "stance": group["stance"],
                    "clinician": group["clinician"],
                    "administration": group["administration"],
                    "_row": position[group.index],
                    "_rank": rank,
                }
            )
            parts.append(part)
    if not parts:
        empty = {c: pd.Series(dtype="str") for c in SCORE_COLUMNS}
        empty.update(session=pd.Series(dtype=np.int64), score=pd.Series(dtype=np.float64))
        empty["date"] = pd.Series(dtype="datetime64[ns]")
        return pd.DataFrame(empty)
    long = pd.concat(parts, ignore_index=True).sort_values(["_row", "_rank"], kind="stable")
    return long.drop(columns=["_row", "_rank"]).reset_index(drop=True)


def check_tidy(
    frame: pd.DataFrame | pa.Table,
    registry: Registry,
    *,
    first_row: int = 0,
    csv_lines: bool = False,
) -> tuple[pd.DataFrame, list[Problem]]:
    """Check every cell of a tidy scores table; return the clean table and every problem.

    ``version`` is required (the range of a scale belongs to one version). Each clean row
    gets an ``idempotency_key``: the administration key of :mod:`alliance.interop.keys` with
    ``<instrument>/<scale>`` as the instrument and the score as the only answer.
    """
    table = Cells(frame)
    columns = table.names
    order = {c: i for i, c in enumerate(SCORE_COLUMNS)}
    found = Found(table, order, first_row=first_row, csv_lines=csv_lines)
    required = (*TIDY_COLUMNS, "version")
    for column in columns:
        if column not in SCORE_COLUMNS and column != KEY_COLUMN:
            found.file(f"unknown column {column}", column=column, allowed=", ".join(SCORE_COLUMNS))
    absent = [c for c in required if c not in columns]
    for column in absent:
        found.file(f"missing column {column}", column=column)
    if absent:
        return table.empty(), found.sorted()

    identity = check_identity(table, found, STANCES)
    scale_text = Text.of(table["scale"])
    found.cells(np.flatnonzero(scale_text.blank()), "missing value", "scale")
    values, bad_score = as_numbers(table["score"], MISSING_TEXT)
    found.cells(np.flatnonzero(bad_score), "not a number", "score")
    for g, (inst_id, version) in enumerate(identity.pairs):
        rows = np.flatnonzero(identity.groups == g)
        inst = resolve_instrument(registry, inst_id, version, rows, found)
        if inst is None:
            continue
        identity.check_group(inst, g, found)
        in_group = identity.groups == g
        scale_ids = [s.id for s in inst.scales]
        found.cells(
            np.flatnonzero(in_group & ~scale_text.isin(scale_ids) & ~scale_text.blank()),
            f"not a scale of {inst.id}",
            "scale",
            allowed=", ".join(scale_ids),
        )
        for scale in inst.scales:
            low, high = scale.range
            with np.errstate(invalid="ignore"):
                wrong = ~np.isnan(values) & ((values < low) | (values > high))
            found.cells(
                np.flatnonzero(in_group & scale_text.isin([scale.id]) & wrong),
                "out of range",
                "score",
                allowed=f"{low:g} to {high:g}",
            )

    columns_ = identity.columns()
    clean = pd.DataFrame(
        {
            **{c: columns_[c] for c in TIDY_COLUMNS if c in columns_},
            "scale": scale_text.series(),
            "score": values,
            **{c: columns_[c] for c in TIDY_OPTIONAL_COLUMNS},
        }
    )[list(SCORE_COLUMNS)]
    problems = found.sorted()
    if problems:
        return clean, problems
    fields = [text_words(identity.text[c]) for c in TEXT_FIELDS]
    fields[0] = text_words(Text.of(clean["instrument"] + "/" + clean["scale"]))
    lanes = key_lanes(fields, clean["session"].to_numpy(), identity.days(), values.reshape(-1, 1))
    clean[KEY_COLUMN] = lanes_text(lanes)
    repeated = duplicated_lanes(lanes)
    found.cells(np.flatnonzero(repeated), "the same score row appears earlier", "scale")
    return clean, found.sorted()
