"""Shared fixtures. Every test gets its own temporary files; nothing is shared between tests."""

from __future__ import annotations

import pytest

from alliance.instruments.registry import Registry, builtin_registry

pytest_plugins = ["tests.fixtures.database"]


@pytest.fixture(scope="session")
def registry() -> Registry:
    return builtin_registry()
