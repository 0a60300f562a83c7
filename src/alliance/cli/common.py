"""What every command shares: the consoles, error exits and the instrument registry."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, NoReturn

import typer
from rich.console import Console
from rich.markup import escape

from alliance.instruments.registry import SITE_DIR_ENV, DefinitionError, Registry, default_registry

out = Console(highlight=False)
err = Console(stderr=True, highlight=False)

DefinitionsOption = Annotated[
    Path | None,
    typer.Option(
        "--definitions",
        envvar=SITE_DIR_ENV,
        help="A folder of the site's own instrument definitions (added to the built-in ones).",
        file_okay=False,
        exists=True,
    ),
]


def fail(message: str, *, code: int = 1) -> NoReturn:
    err.print(f"[bold red]error:[/] {escape(message)}", markup=True, soft_wrap=True)
    raise typer.Exit(code)


def warn(message: str) -> None:
    err.print(f"[yellow]warning:[/] {escape(message)}", markup=True, soft_wrap=True)


def load_registry(definitions: Path | None) -> Registry:
    try:
        return default_registry(definitions)
    except DefinitionError as exc:
        fail(str(exc))
