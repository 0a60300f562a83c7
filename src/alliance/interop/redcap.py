"""REDCap: an instrument as a data dictionary, and a records export back as administrations.

A study that collects an instrument in REDCap uploads the data dictionary made here
(Project Setup → Data Dictionary), collects, then exports its records as a flat CSV of raw
values ("CSV / Microsoft Excel (raw data)"), and imports that file with a mapping file
saying which REDCap fields hold the client, session, date and so on.

The dictionary columns are REDCap's own 18 headers, in order (as REDCap writes them when a
dictionary is downloaded; checked against several open-source REDCap tools that read and
write them). Field names are lowercase letters, digits and underscores, start with a
letter and stay within the 26 characters REDCap recommends. An option item is a ``radio``
field whose choices are ``value, label | …`` (the stored value is the option value the
scorer expects); a visual-analogue line is a ``text`` field validated as a ``number``
between its ends. Item labels are the project's own unless a wording is passed.
"""

from __future__ import annotations

import csv
import dataclasses
import io
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from alliance.files import safe_cell
from alliance.instruments.model import Instrument, OptionsFormat
from alliance.instruments.registry import Registry, read_yaml
from alliance.instruments.wording import Wording, project_wording
from alliance.interop.report import ImportReport, Problem
from alliance.interop.wide import check_wide

REDCAP_COLUMNS = (
    "Variable / Field Name",
    "Form Name",
    "Section Header",
    "Field Type",
    "Field Label",
    "Choices, Calculations, OR Slider Labels",
    "Field Note",
    "Text Validation Type OR Show Slider Number",
    "Text Validation Min",
    "Text Validation Max",
    "Identifier?",
    "Branching Logic (Show field only if...)",
    "Required Field?",
    "Custom Alignment",
    "Question Number (surveys only)",
    "Matrix Group Name",
    "Matrix Ranking?",
    "Field Annotation",
)
FIELD_NAME = re.compile(r"^[a-z][a-z0-9_]*$")
RECOMMENDED_LENGTH = 26
RECORD_ID = "record_id"


def field_prefix(instrument: Instrument) -> str:
    """The instrument id as a REDCap name: ``wai-sr`` → ``wai_sr``, ``core-10`` → ``core_10``."""
    name = re.sub(r"[^a-z0-9]+", "_", instrument.id.lower()).strip("_")
    if not name or not name[0].isalpha():
        name = f"i_{name}"
    room = RECOMMENDED_LENGTH - 1 - len(str(len(instrument.items)))
    return name[:room].rstrip("_")


def session_fields(instrument: Instrument) -> dict[str, str]:
    """The session number and date fields the dictionary adds to the instrument's form
    (``wai_sr_session``, ``wai_sr_date``), so that its records export imports back."""
    prefix = field_prefix(instrument)[: RECOMMENDED_LENGTH - len("_session")].rstrip("_")
    return {"session": f"{prefix}_session", "date": f"{prefix}_date"}


def default_mapping(instrument: Instrument) -> dict[str, Any]:
    """The mapping for a records export of a project built from :func:`data_dictionary`
    (one episode; edit ``values.episode`` or map a field for more)."""
    return {
        "instrument": instrument.id,
        "version": instrument.version,
        "fields": {"client": RECORD_ID, **session_fields(instrument)},
        "values": {"episode": "1"},
    }


def item_fields(instrument: Instrument) -> dict[str, str]:
    """Item id → REDCap field name (``item_3`` → ``wai_sr_3``)."""
    prefix = field_prefix(instrument)
    return {item.id: f"{prefix}_{item.id.split('_')[1]}" for item in instrument.items}


def check_field_name(name: str) -> list[str]:
    """Why ``name`` is not a good REDCap field name (empty when it is)."""
    problems = []
    if not FIELD_NAME.match(name):
        problems.append(f"{name!r}: use lowercase letters, digits and _, starting with a letter")
    if len(name) > RECOMMENDED_LENGTH:
        problems.append(f"{name!r}: longer than the {RECOMMENDED_LENGTH} characters recommended")
    return problems


def _clean(text: str) -> str:
    # a "|" would split a choice list; line breaks break the dictionary's rows
    return " ".join(text.replace("|", "/").split())


def data_dictionary(
    instrument: Instrument, wording: Wording | None = None, *, record_id: bool = True
) -> pd.DataFrame:
    """The instrument as a REDCap data dictionary (one row per field, REDCap's columns).

    With ``record_id`` the first row is the ``record_id`` field REDCap requires first in a
    project; leave it out to append the instrument to a project that has one.
    """
    words = wording or project_wording(instrument)
    form = field_prefix(instrument)
    rows: list[dict[str, str]] = []

    def row(**values: str) -> dict[str, str]:
        return {column: values.get(column, "") for column in REDCAP_COLUMNS}

    if record_id:
        rows.append(
            row(
                **{
                    "Variable / Field Name": RECORD_ID,
                    "Form Name": form,
                    "Field Type": "text",
                    "Field Label": "Record ID",
                }
            )
        )
    session, date = session_fields(instrument).values()
    rows.append(
        row(
            **{
                "Variable / Field Name": session,
                "Form Name": form,
                "Section Header": _clean(words.title),
                "Field Type": "text",
                "Field Label": "Session number",
                "Text Validation Type OR Show Slider Number": "integer",
                "Text Validation Min": "0",
                "Required Field?": "y",
                "Field Annotation": f"alliance {instrument.id} {instrument.version} session",
            }
        )
    )
    rows.append(
        row(
            **{
                "Variable / Field Name": date,
                "Form Name": form,
                "Field Type": "text",
                "Field Label": "Session date",
                "Text Validation Type OR Show Slider Number": "date_ymd",
                "Required Field?": "y",
                "Field Annotation": f"alliance {instrument.id} {instrument.version} date",
            }
        )
    )
    names = item_fields(instrument)
    for n, item in enumerate(instrument.items):
        fmt = instrument.format_of(item)
        notes = []
        if item.unscored:
            notes.append("Not part of any score")
        if item.risk:
            notes.append(f"Risk item: {item.risk.at_or_above:g} or more needs same-day follow-up")
        values: dict[str, str] = {
            "Variable / Field Name": names[item.id],
            "Form Name": form,
            "Field Label": _clean(words.item(item.id)),
            "Field Annotation": f"alliance {instrument.id} {instrument.version} {item.id}",
        }
        if n == 0 and instrument.recall:
            values["Section Header"] = _clean(f"The answers refer to {instrument.recall}")
        if isinstance(fmt, OptionsFormat):
            labels = words.options[item.id]
            values["Field Type"] = "radio"
            values["Choices, Calculations, OR Slider Labels"] = " | ".join(
                f"{o.value}, {_clean(labels[o.value])}" for o in fmt.options
            )
        else:
            low, high = words.anchors[item.id]
            values["Field Type"] = "text"
            values["Text Validation Type OR Show Slider Number"] = "number"
            values["Text Validation Min"] = f"{fmt.min:g}"
            values["Text Validation Max"] = f"{fmt.max:g}"
            notes.insert(0, _clean(f"{fmt.min:g} = {low}, {fmt.max:g} = {high}"))
        values["Field Note"] = "; ".join(notes)
        rows.append(row(**values))
    return pd.DataFrame(rows, columns=list(REDCAP_COLUMNS))


def dictionary_csv(dictionary: pd.DataFrame) -> str:
    """CSV text of a data dictionary, every cell quoted as REDCap writes it, and safe to open in
    a spreadsheet (:func:`alliance.files.safe_cell`)."""
    out = io.StringIO()
    writer = csv.writer(out, quoting=csv.QUOTE_ALL, lineterminator="\n")
    writer.writerow(REDCAP_COLUMNS)
    for row in dictionary[list(REDCAP_COLUMNS)].itertuples(index=False):
        writer.writerow([safe_cell(v) if isinstance(v, str) else v for v in row])
    return out.getvalue()


FIELD_TYPES = (
    "text",
    "notes",
    "dropdown",
    "radio",
    "checkbox",
    "file",
    "calc",
    "sql",
    "descriptive",
    "slider",
    "yesno",
    "truefalse",
)
_CHOICE = re.compile(r"^\s*(-?[0-9A-Za-z_.]+)\s*,\s*(.+?)\s*$")


def check_dictionary(dictionary: pd.DataFrame) -> list[str]:
    """Every way ``dictionary`` breaks REDCap's data dictionary rules (empty when none):
    the 18 columns in order, valid and unique field and form names, the record id first,
    known field types, ``code, label`` choices for radio fields, numeric limits."""
    problems = []
    if tuple(dictionary.columns) != REDCAP_COLUMNS:
        return [f"columns must be REDCap's 18 headers in order, got {list(dictionary.columns)}"]
    names = dictionary["Variable / Field Name"].tolist()
    for name in names:
        problems += check_field_name(str(name))
    repeated = sorted({n for n in names if names.count(n) > 1})
    if repeated:
        problems.append(f"field names used twice: {repeated}")
    for n, row in enumerate(dictionary.to_dict(orient="records"), start=2):
        where = f"line {n} ({row['Variable / Field Name']})"
        if not FIELD_NAME.match(str(row["Form Name"])):
            problems.append(f"{where}: form name {row['Form Name']!r} is not a valid name")
        kind = row["Field Type"]
        if kind not in FIELD_TYPES:
            problems.append(f"{where}: unknown field type {kind!r}")
        choices = str(row["Choices, Calculations, OR Slider Labels"])
        if kind in ("radio", "dropdown", "checkbox"):
            parsed = [_CHOICE.match(part) for part in choices.split("|")]
            if not choices or not all(parsed):
                problems.append(f"{where}: choices must be 'code, label | …', got {choices!r}")
            else:
                codes = [m.group(1) for m in parsed if m]
                if len(set(codes)) != len(codes):
                    problems.append(f"{where}: choice codes repeat: {codes}")
        low, high = row["Text Validation Min"], row["Text Validation Max"]
        if low != "" and high != "" and float(low) > float(high):
            problems.append(f"{where}: validation min {low} is above max {high}")
    if names and names[0] != RECORD_ID:
        problems.append(f"the first field must be the record id ({RECORD_ID}), got {names[0]!r}")
    return problems


class RecordsMapping(BaseModel):
    """Which REDCap fields hold what (``fields``), constants for what the export does not
    hold (``values``), and optionally the item fields (default: as the dictionary names them).

    ``client``, ``session`` and ``date`` need a field; ``episode`` a field or a value;
    ``perspective`` defaults to the instrument's only perspective, ``stance`` to ``self``.
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    instrument: str
    version: str | None = None
    fields: dict[str, str] = Field(default_factory=dict)
    values: dict[str, str] = Field(default_factory=dict)
    items: dict[str, str] = Field(default_factory=dict)

    @model_validator(mode="after")
    def _complete(self) -> RecordsMapping:
        allowed = ("client", "episode", "session", "date", "perspective", "stance", "clinician")
        for where, keys in (("fields", self.fields), ("values", self.values)):
            unknown = [k for k in keys if k not in allowed]
            if unknown:
                raise ValueError(f"{where}: unknown {unknown}; allowed: {', '.join(allowed)}")
        both = sorted(set(self.fields) & set(self.values))
        if both:
            raise ValueError(f"{both} given both as a field and as a value; choose one")
        for name in ("client", "session", "date"):
            if name not in self.fields:
                raise ValueError(f"fields.{name} is required (the REDCap field that holds it)")
        if "episode" not in self.fields and "episode" not in self.values:
            raise ValueError("episode: give a field (fields.episode) or a value (values.episode)")
        return self


def load_mapping(source: Path | Mapping[str, Any]) -> RecordsMapping:
    """A mapping from a YAML file or a dict; the error names the file and every problem."""
    raw = read_yaml(source) if isinstance(source, Path) else dict(source)
    try:
        return RecordsMapping.model_validate(raw)
    except ValidationError as exc:
        where = str(source) if isinstance(source, Path) else "mapping"
        lines = [f"{where}: not a valid REDCap mapping"]
        lines += [
            f"  {'.'.join(map(str, e['loc'])) or '(top level)'}: {e['msg']}" for e in exc.errors()
        ]
        raise ValueError("\n".join(lines)) from None


def read_records(
    source: Path | pd.DataFrame,
    mapping: RecordsMapping | Path | Mapping[str, Any],
    registry: Registry,
) -> tuple[pd.DataFrame, ImportReport]:
    """A REDCap flat records export (raw values) as a clean wide table of administrations.

    Rows where every item field is empty (other instruments or events of the project) are
    skipped and counted. Problems name the REDCap field and the line of the file; any problem
    means nothing is imported. The clean table's index is the 0-based data row of the export
    each record came from (its CSV line is the index + 2).
    """
    plan = mapping if isinstance(mapping, RecordsMapping) else load_mapping(mapping)
    name = str(source) if isinstance(source, Path) else "data frame"
    report = ImportReport(source=name)
    try:
        inst = registry.get(plan.instrument, plan.version)
    except KeyError as exc:
        report.problems.append(Problem(f"mapping: {exc.args[0]}", column="instrument"))
        return pd.DataFrame(), report
    if isinstance(source, Path):
        try:
            records = pd.read_csv(source, dtype=str, keep_default_na=False, encoding="utf-8-sig")
        except (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError) as exc:
            report.problems.append(Problem(f"not a readable REDCap CSV export ({exc})"))
            return pd.DataFrame(), report
    else:
        records = source.astype(str).where(source.notna(), "")
    items = {**item_fields(inst), **plan.items}
    absent = [f for f in [*plan.fields.values(), *items.values()] if f not in records.columns]
    for field in dict.fromkeys(absent):
        report.problems.append(Problem(f"the export has no field {field}", column=field))
    report.rows = len(records)
    if report.problems:
        return pd.DataFrame(), report

    answered = (records[list(items.values())].apply(lambda c: c.str.strip()) != "").any(axis=1)
    kept = np.flatnonzero(answered.to_numpy())
    report.skipped = len(records) - len(kept)
    rows = records.iloc[kept].reset_index(drop=True)
    frame = pd.DataFrame({key: rows[field] for key, field in plan.fields.items()})
    for key, value in plan.values.items():
        frame[key] = value
    if "perspective" not in frame.columns and len(inst.perspectives) == 1:
        frame["perspective"] = inst.perspectives[0]
    ids = _source_ids(rows, plan.fields["client"])
    if ids.is_unique:
        frame["administration"] = ids
    else:
        report.notes.append(
            "record, event and instance do not single out a row; administrations have no id"
        )
    frame["instrument"], frame["version"] = inst.id, inst.version
    for item_id, field in items.items():
        frame[item_id] = rows[field]
    clean, problems = check_wide(frame, registry, csv_lines=True, source_rows=kept)
    back = {**plan.fields, **items}
    report.problems = [_renamed(p, back) for p in problems]
    if report.problems:
        return clean.iloc[0:0], report
    report.imported = len(clean)
    clean.index = pd.Index(kept, dtype=np.int64)  # the export's data row of each record
    return clean, report


def _source_ids(rows: pd.DataFrame, record_field: str) -> pd.Series:
    """``redcap:<record>[:<event>][:<repeat instrument>:<instance>]`` for each row."""
    ids = "redcap:" + rows[record_field].str.strip()
    for column in ("redcap_event_name", "redcap_repeat_instrument", "redcap_repeat_instance"):
        if column in rows.columns:
            part = rows[column].str.strip()
            ids = ids.where(part == "", ids + ":" + part)
    return ids


def _renamed(problem: Problem, back: Mapping[str, str]) -> Problem:
    """The problem with the REDCap field name instead of ours."""
    column = back.get(problem.column or "", problem.column)
    return dataclasses.replace(problem, column=column)
