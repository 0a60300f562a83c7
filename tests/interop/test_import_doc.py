"""docs/import.md documents the import table: every column the reader knows is in its table,
its example file reads with no problem, and the README links it."""

from __future__ import annotations

import io
import re
from pathlib import Path

import pandas as pd

from alliance.instruments.registry import builtin_registry
from alliance.interop.wide import OPTIONAL, REQUIRED, check_wide

ROOT = Path(__file__).parents[2]
DOC = (ROOT / "docs" / "import.md").read_text(encoding="utf-8")


def test_every_column_is_documented() -> None:
    documented = re.findall(r"^\| `([a-z_]+)` \|", DOC, flags=re.MULTILINE)
    assert set(documented) == {*REQUIRED, *OPTIONAL}
    assert "| `item_1` … `item_k` |" in DOC


def test_the_example_file_reads_cleanly() -> None:
    example = DOC.split("```csv\n")[1].split("```")[0]
    frame = pd.read_csv(io.StringIO(example), dtype=str, keep_default_na=False)
    clean, problems = check_wide(frame, builtin_registry(), csv_lines=True)
    assert problems == []
    assert list(clean["instrument"]) == ["wai-sr", "srs", "phq-9"]


def test_the_readme_links_it() -> None:
    assert "(docs/import.md)" in (ROOT / "README.md").read_text(encoding="utf-8")
