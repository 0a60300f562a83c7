"""Shared fixtures. Every test gets its own temporary files; nothing is shared between tests."""

from __future__ import annotations

import importlib
import os

import pytest

from alliance.instruments.registry import Registry, builtin_registry

pytest_plugins = ["tests.fixtures.database"]


def pytest_configure(config: pytest.Config) -> None:
    """pytest-xdist workers inherit a fixed COLUMNS, which the command line's consoles would keep
    for good; the command-line tests set their own width per call. The consoles are made when
    `alliance.cli.common` is first imported, which the command line does lazily, inside the
    first command run: in a test that would be inside a CliRunner call that set COLUMNS, and the
    width would stay fixed for the rest of the session, so make them here, with none set."""
    os.environ.pop("COLUMNS", None)
    importlib.import_module("alliance.cli.common")


@pytest.fixture(scope="session")
def registry() -> Registry:
    return builtin_registry()
