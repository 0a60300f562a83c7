"""Versioned statement sets: what each construct and rupture marker sounds like in talk.

The sets are data (``statements/v<N>.yaml``), written by the project in its own words
([DERIVED]; see the file's header for the sources of the constructs and marker families).
A published version is frozen: its sha256 is pinned in :data:`FROZEN`, and loading a file
whose bytes differ raises an error, so validation figures always refer to one exact text.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from importlib import resources
from typing import Literal, cast

import yaml

from alliance.transcripts.turns import ROLES, Role

Construct = Literal["bond", "task", "goal"]
CONSTRUCTS: tuple[Construct, ...] = ("bond", "task", "goal")
Family = Literal["withdrawal", "confrontation"]
FAMILIES: tuple[Family, ...] = ("withdrawal", "confrontation")
Keying = Literal["positive", "negative"]
KEYINGS: tuple[Keying, ...] = ("positive", "negative")

#: sha256 of each frozen version's file. A new version is added here when it is frozen.
FROZEN: Mapping[str, str] = {
    "1": "5876f1fcd147fad7e7c7ad031503bbc5b2150411c604f7a2d57ed320fc370e54",
}
LATEST = "1"


class StatementSetError(ValueError):
    """A statement file that does not follow the schema; the message names the field."""


@dataclass(frozen=True, slots=True)
class Statement:
    """One statement; ``id`` is stable within a version, e.g. ``bond.client.positive.2``."""

    id: str
    text: str


@dataclass(frozen=True, slots=True)
class ConstructSet:
    construct: Construct
    meaning: str
    statements: Mapping[tuple[Role, Keying], tuple[Statement, ...]]


@dataclass(frozen=True, slots=True)
class MarkerFamily:
    family: Family
    meaning: str
    markers: Mapping[str, tuple[Statement, ...]]


@dataclass(frozen=True, slots=True)
class StatementSets:
    version: str
    frozen: str
    sha256: str
    constructs: Mapping[Construct, ConstructSet]
    engaged: tuple[Statement, ...]
    families: Mapping[Family, MarkerFamily]

    def __iter__(self) -> Iterator[Statement]:
        """Every statement once, in a fixed order."""
        for construct in self.constructs.values():
            for group in construct.statements.values():
                yield from group
        yield from self.engaged
        for family in self.families.values():
            for group in family.markers.values():
                yield from group


def load_statements(version: str = LATEST) -> StatementSets:
    """Load a frozen version of the statement sets (default: the latest)."""
    if version not in FROZEN:
        raise StatementSetError(
            f"statements version {version!r} does not exist; allowed: {', '.join(FROZEN)}"
        )
    raw = resources.files("alliance.transcripts").joinpath(f"statements/v{version}.yaml")
    data = raw.read_bytes()
    digest = hashlib.sha256(data).hexdigest()
    if digest != FROZEN[version]:
        raise StatementSetError(
            f"statements v{version} has been changed after it was frozen "
            f"(sha256 {digest}, pinned {FROZEN[version]}); write a new version instead"
        )
    return parse_statements(yaml.safe_load(data), sha256=digest)


def parse_statements(data: object, *, sha256: str = "") -> StatementSets:
    """Build statement sets from parsed YAML, checking every field."""
    top = _mapping(data, "statements")
    version = _text(top.get("version"), "version")
    constructs: dict[Construct, ConstructSet] = {}
    raw_constructs = _mapping(top.get("constructs"), "constructs")
    _exact_keys(raw_constructs, CONSTRUCTS, "constructs")
    for name in CONSTRUCTS:
        body = _mapping(raw_constructs[name], f"constructs.{name}")
        groups: dict[tuple[Role, Keying], tuple[Statement, ...]] = {}
        for role in ROLES:
            per_role = _mapping(body.get(role), f"constructs.{name}.{role}")
            _exact_keys(per_role, KEYINGS, f"constructs.{name}.{role}")
            for keying in KEYINGS:
                groups[(role, keying)] = _statements(per_role[keying], f"{name}.{role}.{keying}")
        constructs[name] = ConstructSet(
            name, _text(body.get("meaning"), f"constructs.{name}.meaning"), groups
        )
    ruptures = _mapping(top.get("ruptures"), "ruptures")
    _exact_keys(ruptures, ("engaged", *FAMILIES), "ruptures")
    engaged = _statements(ruptures["engaged"], "engaged")
    families: dict[Family, MarkerFamily] = {}
    for family in FAMILIES:
        body = _mapping(ruptures[family], f"ruptures.{family}")
        markers_raw = _mapping(body.get("markers"), f"ruptures.{family}.markers")
        if not markers_raw:
            raise StatementSetError(f"ruptures.{family}.markers: at least one marker is needed")
        markers = {
            str(marker): _statements(texts, f"{family}.{marker}")
            for marker, texts in markers_raw.items()
        }
        families[family] = MarkerFamily(
            family, _text(body.get("meaning"), f"ruptures.{family}.meaning"), markers
        )
    return StatementSets(
        version=version,
        frozen=_text(top.get("frozen"), "frozen"),
        sha256=sha256,
        constructs=constructs,
        engaged=engaged,
        families=families,
    )


def _mapping(value: object, where: str) -> Mapping[str, object]:
    if not isinstance(value, dict):
        raise StatementSetError(f"{where}: expected a mapping, found {type(value).__name__}")
    return cast(Mapping[str, object], value)


def _exact_keys(value: Mapping[str, object], keys: tuple[str, ...], where: str) -> None:
    if set(value) != set(keys):
        raise StatementSetError(
            f"{where}: expected exactly the keys {', '.join(keys)}; found {', '.join(value)}"
        )


def _text(value: object, where: str) -> str:
    if not isinstance(value, str) or not value.strip():
        raise StatementSetError(f"{where}: expected non-empty text")
    return value


def _statements(value: object, prefix: str) -> tuple[Statement, ...]:
    if not isinstance(value, list) or not value:
        raise StatementSetError(f"{prefix}: expected a non-empty list of statements")
    return tuple(
        Statement(f"{prefix}.{i + 1}", _text(text, f"{prefix}[{i + 1}]"))
        for i, text in enumerate(value)
    )
