"""``alliance instruments``: list, show and template the instrument definitions."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich import box
from rich.markup import escape
from rich.table import Table
from rich.text import Text

from alliance.analytics.change import recovery_cutoff
from alliance.cli.common import DefinitionsOption, fail, load_registry, out
from alliance.instruments.model import Instrument, OptionsFormat, Scale, Sourced
from alliance.instruments.registry import DefinitionError, load_definition
from alliance.instruments.wording import load_pack, template

app = typer.Typer(
    add_completion=False,
    help="The instrument library: definitions, sources and wording packs.",
    no_args_is_help=True,
)


def _g(value: float) -> str:
    return f"{value:g}"


def _cite(fact: Sourced) -> str:
    """Where a fact comes from and whether it is confirmed, e.g. ``(source: iapt, confirmed)``."""
    status = "confirmed" if fact.verified else "[yellow]not confirmed[/]"
    return f"[dim](source: {escape(fact.source)},[/] {status}[dim])[/]"


@app.command("list")
def list_command(definitions: DefinitionsOption = None) -> None:
    """List every instrument with its version, form, scales and licence."""
    registry = load_registry(definitions)
    rows = [
        (
            inst.id + (" [dim](site)[/]" if inst.origin == "site" else ""),
            inst.version,
            inst.kind,
            str(len(inst.items)),
            ", ".join(inst.perspectives),
            ", ".join(s.id if s.verified else f"[yellow]{s.id}?[/]" for s in inst.scales),
            inst.licence.status.replace("_", " "),
            escape(inst.title),
        )
        for inst in registry
    ]
    headers = ("id", "version", "kind", "items", "rated by", "scales", "licence", "title")
    # Under 100 columns the version column goes (`instruments show` gives it). Every column
    # wraps between words only: none is narrower than its longest word, and all but the title
    # are no wider, so that the title has the rest of the line.
    shown = [i for i, h in enumerate(headers) if not (h == "version" and out.width < 100)]
    table = Table(box=box.SIMPLE_HEAD, pad_edge=False)
    for index in shown:
        cells = (headers[index], *(row[index] for row in rows))
        longest = max(len(word) for cell in cells for word in Text.from_markup(cell).plain.split())
        if index == 7:
            table.add_column(headers[index], min_width=longest, ratio=1)
        else:
            table.add_column(headers[index], min_width=longest, max_width=longest)
    for row in rows:
        table.add_row(*(row[index] for index in shown))
    out.print(table)
    out.print(
        "[yellow]?[/] scoring key not confirmed: the scale is not computed "
        "(see `alliance instruments show ID`)."
    )


@app.command("show")
def show_command(
    instrument_id: Annotated[str, typer.Argument(metavar="ID", help="Instrument id, e.g. wai-sr.")],
    version: Annotated[str | None, typer.Option(help="Version (default: newest).")] = None,
    definitions: DefinitionsOption = None,
) -> None:
    """Show an instrument's items, scales, scoring rules, cut-offs and sources."""
    registry = load_registry(definitions)
    try:
        inst = registry.get(instrument_id, version)
    except KeyError as exc:
        fail(exc.args[0])
    _show(inst)


def _show(inst: Instrument) -> None:
    p = out.print
    p(f"[bold]{escape(inst.title)}[/]  ({inst.id} {inst.version}, {inst.kind}, {inst.origin})")
    p(escape(inst.citation))
    p(
        f"Perspectives: {', '.join(inst.perspectives)}"
        + (f"; answers refer to {escape(inst.recall)}" if inst.recall else "")
    )
    p(
        f"Licence: {inst.licence.status.replace('_', ' ')} — {escape(inst.licence.terms)} "
        f"{_cite(inst.licence)}"
    )
    fmt = inst.response
    if isinstance(fmt, OptionsFormat):
        options = "; ".join(f"{o.value} = {escape(o.label)}" for o in fmt.options)
        p(f"Response: {options} {_cite(fmt)}")
    else:
        p(
            f"Response: line from {_g(fmt.min)} ({escape(fmt.min_label)}) to {_g(fmt.max)} "
            f"({escape(fmt.max_label)}), captured to {_g(fmt.resolution)} {_cite(fmt)}"
        )

    items = Table(box=box.SIMPLE_HEAD, pad_edge=False, title="Items (project labels)")
    for column in ("item", "label", "scales", "reverse", "risk"):
        items.add_column(column)
    for item in inst.items:
        risk = f"≥ {_g(item.risk.at_or_above)}" if item.risk else ""
        items.add_row(
            item.id,
            escape(item.label),
            ", ".join(item.scales) or "(unscored)",
            "yes" if item.reverse else "",
            risk,
        )
    p(items)
    for scale in inst.scales:
        _show_scale(scale)
    p("[bold]Sources[/]")
    for key, text in inst.sources.items():
        p(f"  {key}: {escape(text)}")
    if inst.partial_facts:
        p("[bold yellow]Confirmed in part[/] (applied as the project chose; see the note)")
        for fact in inst.partial_facts:
            p(f"  - {escape(fact)}")
    if inst.unverified_facts:
        p(
            "[bold yellow]Not confirmed[/] "
            "(shipped for reference; unconfirmed scales are not computed)"
        )
        for fact in inst.unverified_facts:
            p(f"  - {escape(fact)}")
    for note in inst.notes:
        p(f"Note: {escape(note)}")


def _show_scale(scale: Scale) -> None:
    p = out.print
    op = scale.operation
    missing = f", up to {op.max_missing} missing" if op.max_missing else ", every item needed"
    if op.missing_rule == "project":
        missing += " (the project's rule: no missing-data rule is published)"
    rounding = f", rounded to {op.round} decimals" if op.round is not None else ""
    p(
        f"[bold]Scale {scale.id}[/] — {escape(scale.label)}: {op.name}{missing}{rounding}, "
        f"range {_g(scale.range[0])}–{_g(scale.range[1])}, higher is {scale.higher_is} "
        f"key {_cite(scale)}, operation {_cite(op)}"
    )
    if scale.bands:
        bands = scale.bands.bands
        parts = []
        for band, nxt in zip(bands, [*bands[1:], None], strict=True):
            upper = f"to below {_g(nxt.min)}" if nxt else f"to {_g(scale.range[1])}"
            parts.append(f"{escape(band.label)} {_g(band.min)} {upper}")
        p(f"  bands: {'; '.join(parts)} {_cite(scale.bands)}")
    for c in scale.cutoffs:
        status = {"confirmed": "confirmed", "partial": "[yellow]partial[/]",
                  "not confirmed": "[yellow]not confirmed[/]"}[c.status]  # fmt: skip
        p(
            f"  cut-off {c.id}: {escape(c.describe())} — {escape(c.meaning)} "
            f"[dim](source: {escape(c.source)},[/] {status}[dim])[/]"
        )
    if scale.reliable_change:
        rc = scale.reliable_change
        p(f"  reliable change: {_g(rc.value)} points {_cite(rc)}")
        caseness = recovery_cutoff(scale)
        if caseness is not None:
            p(
                f"  recovered: {escape(caseness.describe())} at the first rating, on the other "
                f"side at the last, improved by {_g(rc.value)} points or more (cut-off and "
                f"reliable change both from {escape(caseness.source)})"
            )
    if scale.session_drop:
        drop = scale.session_drop
        p(f"  flagged drop from the previous session: {_g(drop.value)} points {_cite(drop)}")
    for n in scale.norms:
        p(f"  norm ({escape(n.population)}): mean {_g(n.mean)}, SD {_g(n.sd)} {_cite(n)}")


@app.command("template")
def template_command(
    instrument_id: Annotated[str, typer.Argument(metavar="ID", help="Instrument id, e.g. wai-sr.")],
    language: Annotated[
        str, typer.Option(help="Language tag of the pack, e.g. en or de-CH.")
    ] = "en",
    output: Annotated[
        Path | None,
        typer.Option("-o", "--output", help="Write here (default: print).", dir_okay=False),
    ] = None,
    version: Annotated[str | None, typer.Option(help="Version (default: newest).")] = None,
    definitions: DefinitionsOption = None,
) -> None:
    """Write a blank wording pack to fill with an instrument's licensed wording."""
    registry = load_registry(definitions)
    try:
        inst = registry.get(instrument_id, version)
    except KeyError as exc:
        fail(exc.args[0])
    text = template(inst, language)
    if output is None:
        out.print(text, end="", markup=False)
        return
    if output.exists():
        fail(f"{output} exists; choose another name or remove it first")
    output.write_text(text, encoding="utf-8")
    out.print(f"Wrote a blank wording pack for {inst.id} {inst.version} to {output}")


@app.command("check")
def check_command(
    path: Annotated[
        Path,
        typer.Argument(help="A definition or wording pack (YAML).", exists=True, dir_okay=False),
    ],
    definitions: DefinitionsOption = None,
) -> None:
    """Validate a site's instrument definition or wording pack and report every problem."""
    registry = load_registry(definitions)
    try:
        text = path.read_text(encoding="utf-8")
        if "\nitems:\n  item_" in f"\n{text}" or "\nlanguage:" in f"\n{text}":
            pack = load_pack(path, registry)
            out.print(
                f"{path}: a valid {pack.language} wording pack for {pack.instrument} {pack.version}"
            )
        else:
            inst = load_definition(path, origin="site")
            out.print(f"{path}: a valid definition of {inst.id} {inst.version}")
            for fact in inst.unverified_facts:
                out.print(f"  not confirmed: {escape(fact)}")
    except DefinitionError as exc:
        fail(str(exc))
