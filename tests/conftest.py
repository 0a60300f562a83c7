"""Shared fixtures. Every test gets its own temporary files; nothing is shared between tests."""

from __future__ import annotations

import os

import pytest

from alliance.instruments.registry import Registry, builtin_registry

pytest_plugins = ["tests.fixtures.database"]


def pytest_configure(config: pytest.Config) -> None:
    """pytest-xdist workers inherit a fixed COLUMNS, which the command line's consoles would keep
    for good; the command-line tests set their own width per call."""
    os.environ.pop("COLUMNS", None)


@pytest.fixture(scope="session")
def registry() -> Registry:
    return builtin_registry()
