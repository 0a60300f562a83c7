"""Read a transcript file: CSV, JSON or plain text with speaker roles.

Formats (chosen by the file's suffix):

- **CSV** (``.csv``): a header with ``speaker`` and ``text`` columns, optionally ``start``
  (seconds or ``HH:MM:SS``); ``role``/``interlocutor``, ``utterance``/``content`` and
  ``timestamp``/``time`` are accepted as the same columns. One row per turn, in speaking order.
- **JSON** (``.json``): a list of turn objects with the same keys, or an object whose
  ``turns`` key holds that list.
- **Plain text** (``.txt``): one turn per line as ``Role: what was said``, optionally led by a
  time in brackets, ``[00:12:05] Client: …``. A line without a role continues the turn before.

Every problem raises :class:`~alliance.transcripts.turns.TranscriptError` naming the file, the
line or turn and the field.
"""

from __future__ import annotations

import csv
import io
import json
import re
from collections.abc import Mapping
from pathlib import Path

from alliance.transcripts.turns import ROLE_SYNONYMS, TranscriptError, Turn, make_turns

COLUMN_SYNONYMS: Mapping[str, tuple[str, ...]] = {
    "speaker": ("speaker", "role", "interlocutor"),
    "text": ("text", "utterance", "utterance_text", "content"),
    "start": ("start", "timestamp", "time"),
}
SUFFIXES = (".csv", ".json", ".txt")
_LINE = re.compile(r"^\s*(?:\[(?P<time>[0-9:.]+)\]\s*)?(?P<role>[A-Za-z]+)\s*:\s*(?P<text>.*)$")


def read_transcript(path: Path) -> list[Turn]:
    """Read and validate the turns of a transcript file."""
    suffix = path.suffix.lower()
    if suffix not in SUFFIXES:
        raise TranscriptError(
            f"{path}: unknown transcript type {suffix or '(none)'!r}; use {', '.join(SUFFIXES)}"
        )
    try:
        text = path.read_text(encoding="utf-8-sig")
    except UnicodeDecodeError as exc:
        raise TranscriptError(f"{path}: not UTF-8 text (byte {exc.start})") from None
    except OSError as exc:
        raise TranscriptError(f"{path}: cannot be read ({exc.strerror})") from None
    if not text.strip():
        raise TranscriptError(f"{path}: the file is empty")
    if suffix == ".csv":
        rows = _csv_rows(text, path)
    elif suffix == ".json":
        rows = _json_rows(text, path)
    else:
        rows = _text_rows(text, path)
    return make_turns(rows, source=str(path))


def _csv_rows(text: str, path: Path) -> list[dict[str, object]]:
    reader = csv.reader(io.StringIO(text, newline=""))
    try:
        header = [h.strip().lower() for h in next(reader)]
        body = [(reader.line_num, cells) for cells in reader]
    except csv.Error as exc:
        raise TranscriptError(
            f"{path}: not a well-formed CSV file (line {reader.line_num}: {exc})"
        ) from None
    columns = _columns(header, path)
    rows: list[dict[str, object]] = []
    for line_no, cells in body:
        if not any(c.strip() for c in cells):
            continue
        if len(cells) != len(header):
            raise TranscriptError(
                f"{path}: line {line_no} has {len(cells)} cells, the header has {len(header)}"
            )
        rows.append({key: cells[i] for key, i in columns.items()})
    return rows


def _columns(header: list[str], path: Path) -> dict[str, int]:
    columns: dict[str, int] = {}
    for key, names in COLUMN_SYNONYMS.items():
        found = [i for i, h in enumerate(header) if h in names]
        if len(found) > 1:
            raise TranscriptError(
                f"{path}: more than one column means {key!r} "
                f"({', '.join(header[i] for i in found)}); keep one"
            )
        if found:
            columns[key] = found[0]
        elif key != "start":
            raise TranscriptError(
                f"{path}: no {key!r} column; the header needs {key!r} "
                f"(or one of: {', '.join(names[1:])}), found: {', '.join(header)}"
            )
    return columns


def _json_rows(text: str, path: Path) -> list[dict[str, object]]:
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise TranscriptError(
            f"{path}: not valid JSON (line {exc.lineno}, column {exc.colno}: {exc.msg})"
        ) from None
    if isinstance(data, dict):
        if "turns" not in data:
            raise TranscriptError(f"{path}: a JSON object needs a 'turns' list")
        data = data["turns"]
    if not isinstance(data, list):
        raise TranscriptError(f"{path}: expected a list of turns, found {type(data).__name__}")
    rows: list[dict[str, object]] = []
    for i, item in enumerate(data):
        if not isinstance(item, dict):
            raise TranscriptError(f"{path}: turn {i + 1} is a {type(item).__name__}, not an object")
        row: dict[str, object] = {}
        for key, names in COLUMN_SYNONYMS.items():
            present = [n for n in names if n in item]
            if len(present) > 1:
                raise TranscriptError(
                    f"{path}: turn {i + 1} has more than one key meaning {key!r} "
                    f"({', '.join(present)})"
                )
            if present:
                row[key] = item[present[0]]
        rows.append(row)
    return rows


def _text_rows(text: str, path: Path) -> list[dict[str, object]]:
    rows: list[dict[str, object]] = []
    for line_no, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        match = _LINE.match(line)
        if match and match["role"].lower() in ROLE_SYNONYMS:
            rows.append({"speaker": match["role"], "text": match["text"], "start": match["time"]})
        elif rows:
            rows[-1]["text"] = f"{rows[-1]['text']} {line.strip()}"
        else:
            raise TranscriptError(
                f"{path}: line {line_no}: a transcript line starts with a speaker role, "
                "as in 'Client: …' or 'Clinician: …' (optionally led by [HH:MM:SS])"
            )
    return rows
