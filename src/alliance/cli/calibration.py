"""``alliance learn calibration --user NAME``: a clinician's calibration from the database."""

from __future__ import annotations

from typing import Annotated, Any

import typer
from rich import box
from rich.markup import escape
from rich.table import Table

from alliance.cli.clinic import DatabaseOption, _session
from alliance.cli.common import fail, out
from alliance.instruments.registry import default_registry
from alliance.services.context import Actor
from alliance.services.errors import ServiceError
from alliance.services.monitoring import learning
from alliance.text import counted

UserOption = Annotated[
    str, typer.Option("--user", help="The clinician's username (their calibration is shown).")
]


def _signed(value: object) -> str:
    return "—" if value is None else f"{float(value):+.1f}"  # type: ignore[arg-type]


def _interval(estimate: dict[str, Any], *, signed: bool = True) -> str:
    if estimate["low"] is None:
        return "too few clients for an interval"
    low, high = estimate["low"], estimate["high"]
    if signed:
        return f"95% interval {_signed(low)} to {_signed(high)}"
    return f"95% interval {low:.1f} to {high:.1f}"


DIRECTIONS = {
    "over": "overestimates: clients rated the alliance lower than predicted",
    "under": "underestimates: clients rated the alliance higher than predicted",
    "unclear": "no clear direction (the interval includes 0)",
}


def calibration_command(user: UserOption, database: DatabaseOption = None) -> None:
    """Show how close a clinician's predictions of their clients' WAI-SR ratings came."""
    # statsmodels and pandas load only when this command runs, not for every ``alliance``
    from alliance.services.monitoring import calibration  # noqa: PLC0415

    with _session(database) as db:
        try:
            person = learning.learner_named(db, user)
            actor = Actor.system(person.organization_id)
            view = calibration.calibration_for(db, actor, default_registry(), user_id=person.id)
            db.commit()
        except ServiceError as exc:
            fail(exc.message)
        record = calibration.as_record(view)
    name = f"{escape(person.display_name)} ({escape(person.username)})"
    if not record["sessions"]:
        out.print(
            f"No sessions yet in which {name} predicted the client's rating and the client "
            "rated too."
        )
        return
    _print(record, name)


def _print(r: dict[str, Any], name: str) -> None:
    out.print(
        f"[bold]Calibration of {name}[/], WAI-SR total ({r['scale_range'][0]:g}–"
        f"{r['scale_range'][1]:g}): {counted(r['sessions'], 'session')} of "
        f"{counted(r['clients'], 'client')}"
    )
    lower = r["clearly_lower"]
    figures = Table.grid(padding=(0, 3))
    figures.add_column(no_wrap=True)
    figures.add_column()
    error, size = r["mean_error"], r["mean_abs_error"]
    figures.add_row(
        "mean error (prediction − rating)",
        f"{_signed(error['mean'])} points ({_interval(error)})",
    )
    figures.add_row("direction", DIRECTIONS[r["direction"]])
    figures.add_row(
        "mean size of the error", f"{size['mean']:.1f} points ({_interval(size, signed=False)})"
    )
    figures.add_row(
        f"clearly lower (≥ {lower['threshold']:g} points below)",
        f"{lower['sessions']} of {r['sessions']} sessions ({100 * lower['share']:.0f}%)",
    )
    figures.add_row("clearly higher", f"{r['clearly_higher']} of {r['sessions']} sessions")
    figures.add_row("correlation", "—" if r["correlation"] is None else f"{r['correlation']:.2f}")
    out.print(figures)

    months = Table(box=box.SIMPLE_HEAD, pad_edge=False, title="By month", title_justify="left")
    for column in ("month", "mean error", "95% interval", "sessions", "clients"):
        months.add_column(
            column, justify="left" if column in ("month", "95% interval") else "right"
        )
    for m in r["by_month"]:
        interval = "—" if m["low"] is None else f"{_signed(m['low'])} to {_signed(m['high'])}"
        months.add_row(m["period"], _signed(m["bias"]), interval, str(m["n"]), str(m["clients"]))
    out.print(months)

    gaps = Table(box=box.SIMPLE_HEAD, pad_edge=False, title="Largest gaps", title_justify="left")
    for column in ("client", "session", "date", "predicted", "rating", "gap"):
        gaps.add_column(column, justify="left" if column in ("client", "date") else "right")
    for g in r["largest_gaps"]:
        gaps.add_row(
            escape(g["client"]), str(g["session"]), g["date"] or "—",
            f"{g['prediction']:g}", f"{g['rating']:g}", f"{g['error']:+g}",
        )  # fmt: skip
    out.print(gaps)

    drops = r["drops"]
    out.print(
        f"Drops in clients' own ratings: {drops['count']}; noticed in the same session: "
        f"{drops['noticed']} ({drops['reported']} by a rupture report, "
        f"{drops['prediction_fell']} by a prediction that fell ≥ "
        f"{drops['prediction_fall']:g} points)."
    )
    out.print("\n[bold]Definitions[/]")
    terms = Table.grid(padding=(0, 2))
    terms.add_column(no_wrap=True)
    terms.add_column()
    for term, text in r["definitions"].items():
        terms.add_row(term.replace("_", " "), escape(text))
    out.print(terms)
