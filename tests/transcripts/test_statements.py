from __future__ import annotations

import copy
from typing import Any

import pytest
import yaml

from alliance.transcripts import statements as st
from alliance.transcripts.statements import (
    CONSTRUCTS,
    FAMILIES,
    StatementSetError,
    load_statements,
    parse_statements,
)


def test_version_1_loads_with_every_set_filled() -> None:
    sets = load_statements("1")
    assert sets.version == "1"
    assert sets.sha256 == st.FROZEN["1"]
    assert tuple(sets.constructs) == CONSTRUCTS
    assert tuple(sets.families) == FAMILIES
    for construct in sets.constructs.values():
        assert len(construct.statements) == 4
        assert all(len(group) >= 5 for group in construct.statements.values())
    ids = [s.id for s in sets]
    assert len(ids) == len(set(ids))
    assert "bond.client.positive.1" in ids
    assert "withdrawal.deflection.1" in ids


def test_a_changed_frozen_file_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(st.FROZEN, "1", "0" * 64)  # type: ignore[index]
    with pytest.raises(StatementSetError, match="changed after it was frozen"):
        load_statements("1")


def test_unknown_version() -> None:
    with pytest.raises(StatementSetError, match=r"version '9' does not exist; allowed: 1"):
        load_statements("9")


def _raw() -> dict[str, Any]:
    from importlib import resources

    text = resources.files("alliance.transcripts").joinpath("statements/v1.yaml").read_text()
    data: dict[str, Any] = yaml.safe_load(text)
    return data


@pytest.mark.parametrize(
    ("path", "value", "message"),
    [
        (
            ("constructs", "bond", "client", "positive"),
            [],
            r"bond.client.positive: expected a non-empty list",
        ),
        (
            ("constructs", "bond", "client"),
            {"positive": ["a"]},
            "expected exactly the keys positive, negative",
        ),
        (("ruptures", "withdrawal", "markers"), {}, "at least one marker"),
        (("version",), "", "version: expected non-empty text"),
    ],
)
def test_schema_errors_name_the_field(path: tuple[str, ...], value: object, message: str) -> None:
    data = copy.deepcopy(_raw())
    node = data
    for key in path[:-1]:
        node = node[key]
    node[path[-1]] = value
    with pytest.raises(StatementSetError, match=message):
        parse_statements(data)
