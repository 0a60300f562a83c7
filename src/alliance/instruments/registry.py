"""Load instrument definitions from YAML and look them up by id and version.

The built-in definitions live in ``definitions/``. A site may add its own directory of
definitions (for example one that supplies a licensed, confirmed scoring key); a site file
with the same id and version as a built-in one replaces it.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Iterator
from functools import cache
from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError

from alliance.instruments.model import Instrument

BUILTIN_DIR = Path(__file__).parent / "definitions"
SITE_DIR_ENV = "ALLIANCE_INSTRUMENTS_DIR"


class DefinitionError(ValueError):
    """A definition file that cannot be used; the message names the file, field and problem."""


def read_yaml(path: Path) -> Any:
    """Parse a YAML file, turning parser errors into a message that names the file and line."""
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise DefinitionError(f"{path}: cannot read the file ({exc.strerror})") from exc
    try:
        return yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        problem = getattr(exc, "problem", None) or str(exc)
        raise DefinitionError(f"{path}:{where}: not valid YAML ({problem})") from exc


def describe_validation_error(
    path: Path, raw: Any, exc: ValidationError, *, what: str = "definition"
) -> str:
    """One line per problem: ``file: field a.b[item_3].c: message (got value)``."""
    lines = [f"{path}: {exc.error_count()} problem(s) in the {what}"]
    for error in exc.errors():
        field = _readable_location(raw, error["loc"])
        got = error.get("input")
        shown = "" if isinstance(got, dict | list) or got is None else f" (got {got!r})"
        lines.append(f"  field {field or '(top level)'}: {error['msg']}{shown}")
    return "\n".join(lines)


def _readable_location(raw: Any, loc: tuple[int | str, ...]) -> str:
    parts: list[str] = []
    node = raw
    for key in loc:
        if isinstance(key, int):
            label = str(key)
            if isinstance(node, list) and key < len(node):
                node = node[key]
                if isinstance(node, dict) and "id" in node:
                    label = f"{key}:{node['id']}"
            else:
                node = None
            parts[-1:] = [f"{parts[-1] if parts else ''}[{label}]"]
        else:
            # pydantic names union members (e.g. "options"); they are not fields of the file
            if isinstance(node, dict) and key not in node and key in ("options", "visual_analogue"):
                continue
            node = node.get(key) if isinstance(node, dict) else None
            parts.append(str(key))
    return ".".join(parts)


def load_definition(path: Path, *, origin: str = "builtin") -> Instrument:
    """Read and validate one definition file."""
    raw = read_yaml(path)
    if not isinstance(raw, dict):
        raise DefinitionError(f"{path}: expected a mapping of fields, got {type(raw).__name__}")
    if "origin" in raw:
        raise DefinitionError(f"{path}: field origin: set by the loader, not by the file")
    try:
        instrument = Instrument.model_validate({**raw, "origin": origin})
    except ValidationError as exc:
        raise DefinitionError(describe_validation_error(path, raw, exc)) from None
    if path.stem != instrument.id:
        raise DefinitionError(
            f"{path}: field id: {instrument.id!r} does not match the file name "
            f"(expected {path.stem}.yaml)"
        )
    return instrument


def load_directory(directory: Path, *, origin: str = "builtin") -> list[Instrument]:
    if not directory.is_dir():
        raise DefinitionError(f"{directory}: not a directory of instrument definitions")
    return [load_definition(path, origin=origin) for path in sorted(directory.glob("*.yaml"))]


def _version_key(version: str) -> tuple[int, ...]:
    return tuple(int(part) for part in version.split("."))


class Registry:
    """Instruments keyed by (id, version); ``get(id)`` returns the newest version."""

    def __init__(self, instruments: Iterable[Instrument] = ()) -> None:
        self._by_key: dict[tuple[str, str], Instrument] = {}
        for instrument in instruments:
            self._by_key[instrument.key] = instrument

    def __iter__(self) -> Iterator[Instrument]:
        return iter(sorted(self._by_key.values(), key=lambda i: (i.id, _version_key(i.version))))

    def __len__(self) -> int:
        return len(self._by_key)

    def __contains__(self, instrument_id: object) -> bool:
        return any(key[0] == instrument_id for key in self._by_key)

    def ids(self) -> list[str]:
        return sorted({key[0] for key in self._by_key})

    def versions(self, instrument_id: str) -> list[str]:
        return sorted((v for i, v in self._by_key if i == instrument_id), key=_version_key)

    def get(self, instrument_id: str, version: str | None = None) -> Instrument:
        versions = self.versions(instrument_id)
        if not versions:
            raise KeyError(
                f"unknown instrument {instrument_id!r}; known instruments: {', '.join(self.ids())}"
            )
        if version is None:
            version = versions[-1]
        try:
            return self._by_key[(instrument_id, version)]
        except KeyError:
            raise KeyError(
                f"{instrument_id} has no version {version!r}; versions: {', '.join(versions)}"
            ) from None

    def with_site(self, directory: Path) -> Registry:
        """A new registry with a site's definitions added (replacing same id and version)."""
        return Registry([*self._by_key.values(), *load_directory(directory, origin="site")])


@cache
def builtin_registry() -> Registry:
    return Registry(load_directory(BUILTIN_DIR))


def default_registry(site_dir: Path | None = None) -> Registry:
    """Built-in definitions plus the site's (``site_dir`` or ``$ALLIANCE_INSTRUMENTS_DIR``)."""
    registry = builtin_registry()
    site = site_dir or (Path(os.environ[SITE_DIR_ENV]) if os.environ.get(SITE_DIR_ENV) else None)
    return registry.with_site(site) if site else registry
