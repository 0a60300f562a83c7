"""Wording packs: the text an instrument shows, per language (and optionally per perspective).

The project ships only its own short labels (in the definitions). A site that holds a licence
loads the official wording as a YAML pack::

    instrument: wai-sr
    version: "1.0"            # the definition version the pack was written for
    language: en
    perspective: client       # optional; omit when one text serves every perspective
    source: "Licensed from … (licence no. …)"
    title: …                  # optional
    instructions: …           # optional
    items: {item_1: "…", …}   # every item, no others
    options: {1: "…", …}      # every option value of the instrument's response format
    item_options:             # only for items with their own response format
      item_10: {0: "…", …}
    anchors: {min: "…", max: "…"}   # visual-analogue instruments instead of options

:func:`template` writes a blank pack to fill in; :func:`load_pack` refuses a pack with a
missing or unknown item, an option that does not exist or an empty text.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from alliance.instruments.model import Instrument, OptionsFormat, Perspective
from alliance.instruments.registry import (
    DefinitionError,
    Registry,
    describe_validation_error,
    read_yaml,
)

PROJECT_LANGUAGE = "en"


class WordingPack(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    instrument: str
    version: str
    language: str = Field(pattern=r"^[a-z]{2,3}(?:-[A-Za-z0-9]{2,8})*$")
    perspective: Perspective | None = None
    source: str = Field(description="whose wording this is, and the licence")
    title: str | None = None
    instructions: str | None = None
    items: dict[str, str]
    options: dict[int, str] = {}
    item_options: dict[str, dict[int, str]] = {}
    anchors: dict[str, str] = {}


def _empty(text: str | None) -> bool:
    return text is None or not str(text).strip()


def check_pack(pack: WordingPack, instrument: Instrument) -> list[str]:
    """Every problem of ``pack`` against ``instrument`` (empty when it fits)."""
    problems: list[str] = []
    if pack.perspective and pack.perspective not in instrument.perspectives:
        problems.append(
            f"perspective {pack.perspective!r} is not one of {list(instrument.perspectives)}"
        )
    if _empty(pack.source):
        problems.append("source: empty (say whose wording this is and under which licence)")
    item_ids = instrument.item_ids
    problems += [f"items: unknown item {key}" for key in pack.items if key not in item_ids]
    for item_id in item_ids:
        if _empty(pack.items.get(item_id)):
            problems.append(f"items.{item_id}: missing or empty")
    for name in ("title", "instructions"):
        if getattr(pack, name) is not None and _empty(getattr(pack, name)):
            problems.append(f"{name}: empty (leave it out to use the project's text)")

    fmt = instrument.response
    if isinstance(fmt, OptionsFormat):
        problems += _check_options("options", pack.options, fmt)
    else:
        if pack.options:
            problems.append("options: this instrument uses visual-analogue lines, not options")
        problems += [
            f"anchors.{k}: unknown (use min and max)"
            for k in pack.anchors
            if k not in ("min", "max")
        ]
        problems += [
            f"anchors.{k}: missing or empty" for k in ("min", "max") if _empty(pack.anchors.get(k))
        ]
    own = {item.id: item.response for item in instrument.items if item.response}
    for item_id in pack.item_options:
        if item_id not in own:
            problems.append(f"item_options.{item_id}: this item has no response format of its own")
    for item_id, item_fmt in own.items():
        if isinstance(item_fmt, OptionsFormat):
            problems += _check_options(
                f"item_options.{item_id}", pack.item_options.get(item_id, {}), item_fmt
            )
    return problems


def _check_options(where: str, given: dict[int, str], fmt: OptionsFormat) -> list[str]:
    values = [o.value for o in fmt.options]
    problems = [
        f"{where}.{v}: not an option value (values: {values})" for v in given if v not in values
    ]
    problems += [f"{where}.{v}: missing or empty" for v in values if _empty(given.get(v))]
    return problems


def load_pack(path: Path, registry: Registry) -> WordingPack:
    """Read a wording pack and validate it against its instrument definition."""
    raw = read_yaml(path)
    if not isinstance(raw, dict):
        raise DefinitionError(f"{path}: expected a mapping of fields, got {type(raw).__name__}")
    try:
        pack = WordingPack.model_validate(raw)
    except ValidationError as exc:
        raise DefinitionError(
            describe_validation_error(path, raw, exc, what="wording pack")
        ) from None
    try:
        instrument = registry.get(pack.instrument, pack.version)
    except KeyError as exc:
        raise DefinitionError(f"{path}: field instrument/version: {exc.args[0]}") from None
    problems = check_pack(pack, instrument)
    if problems:
        listed = "\n".join(f"  field {p}" for p in problems)
        raise DefinitionError(
            f"{path}: the wording pack does not fit {instrument.id} {instrument.version}:\n{listed}"
        )
    return pack


def template(instrument: Instrument, language: str = "xx") -> str:
    """A blank pack for ``instrument``, with the project's labels as comments."""
    lines = [
        f"# Wording pack for {instrument.id} {instrument.version} ({instrument.title}).",
        "# Fill in the licensed wording for every empty string, set the language, and load",
        "# it with ALLIANCE_WORDING_DIR. Comments show the project's own labels.",
        f"instrument: {instrument.id}",
        f'version: "{instrument.version}"',
        f"language: {language}",
        "# perspective: client   # optional: one of " + ", ".join(instrument.perspectives),
        'source: ""   # whose wording, and the licence that allows its use',
        "items:",
    ]
    lines += [f'  {item.id}: ""   # {item.label}' for item in instrument.items]
    fmt = instrument.response
    if isinstance(fmt, OptionsFormat):
        lines.append("options:")
        lines += [f'  {o.value}: ""   # {o.label}' for o in fmt.options]
    else:
        lines += ["anchors:", f'  min: ""   # {fmt.min_label}', f'  max: ""   # {fmt.max_label}']
    own: list[str] = []
    for item in instrument.items:
        if isinstance(item.response, OptionsFormat):
            own.append(f"  {item.id}:")
            own += [f'    {o.value}: ""   # {o.label}' for o in item.response.options]
    if own:
        lines += ["item_options:", *own]
    return "\n".join(lines) + "\n"


@dataclass(frozen=True)
class Wording:
    """The text to show for one instrument, language and perspective.

    ``licensed`` is False when the project's own labels are shown (no pack was found);
    the form must then say so.
    """

    instrument: Instrument
    language: str
    licensed: bool
    source: str
    title: str
    instructions: str | None
    items: dict[str, str]
    options: dict[str, dict[int, str]]
    anchors: dict[str, tuple[str, str]]

    def item(self, item_id: str) -> str:
        return self.items[item_id]


def resolve(
    instrument: Instrument,
    packs: list[WordingPack],
    *,
    language: str,
    perspective: Perspective | None = None,
) -> Wording:
    """Pick the pack for ``language`` (exact, then base language) and ``perspective``,
    falling back to the project's labels."""
    base = language.split("-", maxsplit=1)[0]

    def rank(pack: WordingPack) -> tuple[int, int] | None:
        if pack.instrument != instrument.id or pack.version != instrument.version:
            return None
        if pack.perspective not in (None, perspective):
            return None
        lang = (
            0 if pack.language == language else 1 if pack.language.split("-")[0] == base else None
        )
        if lang is None:
            return None
        return (lang, 0 if pack.perspective == perspective else 1)

    ranked = sorted(((r, p) for p in packs if (r := rank(p)) is not None), key=lambda pair: pair[0])
    if ranked:
        return _from_pack(instrument, ranked[0][1])
    return project_wording(instrument)


def project_wording(instrument: Instrument) -> Wording:
    options: dict[str, dict[int, str]] = {}
    anchors: dict[str, tuple[str, str]] = {}
    for item in instrument.items:
        fmt = instrument.format_of(item)
        if isinstance(fmt, OptionsFormat):
            options[item.id] = {o.value: o.label for o in fmt.options}
        else:
            anchors[item.id] = (fmt.min_label, fmt.max_label)
    return Wording(
        instrument=instrument,
        language=PROJECT_LANGUAGE,
        licensed=False,
        source="Project labels (not the instrument's official wording)",
        title=instrument.title,
        instructions=None,
        items={item.id: item.label for item in instrument.items},
        options=options,
        anchors=anchors,
    )


def _from_pack(instrument: Instrument, pack: WordingPack) -> Wording:
    options: dict[str, dict[int, str]] = {}
    anchors: dict[str, tuple[str, str]] = {}
    for item in instrument.items:
        fmt = instrument.format_of(item)
        if isinstance(fmt, OptionsFormat):
            options[item.id] = dict(pack.item_options.get(item.id) or pack.options)
        else:
            anchors[item.id] = (pack.anchors["min"], pack.anchors["max"])
    return Wording(
        instrument=instrument,
        language=pack.language,
        licensed=True,
        source=pack.source,
        title=pack.title or instrument.title,
        instructions=pack.instructions,
        items=dict(pack.items),
        options=options,
        anchors=anchors,
    )


def load_pack_directory(directory: Path, registry: Registry) -> list[WordingPack]:
    return [load_pack(path, registry) for path in sorted(directory.glob("*.yaml"))]
