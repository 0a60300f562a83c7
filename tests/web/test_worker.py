"""The app as ``alliance serve`` runs it: settings from the environment, heap frozen at start."""

from __future__ import annotations

import gc
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from alliance.config import Settings
from alliance.web.app import create_app, worker_app


@pytest.mark.usefixtures("unfrozen")
def test_a_served_worker_freezes_what_exists_at_startup(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("ALLIANCE_DATABASE_URL", f"sqlite:///{tmp_path / 'worker.sqlite3'}")
    app = worker_app()
    assert app.state.clinic.settings.database_url.endswith("worker.sqlite3")
    assert gc.get_freeze_count() == 0
    with TestClient(app):
        assert gc.get_freeze_count() > 0


@pytest.mark.usefixtures("unfrozen")
def test_an_app_built_for_tests_leaves_the_collector_alone(tmp_path: Path) -> None:
    settings = Settings(database_url=f"sqlite:///{tmp_path / 'app.sqlite3'}")
    with TestClient(create_app(settings)):
        assert gc.get_freeze_count() == 0
