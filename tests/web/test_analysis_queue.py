"""The analysis after submissions, as a worker runs it outside tests: a burst of changes to a
client is analysed once, a little later, by the worker's background thread."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from alliance.config import Settings
from alliance.store.alerts import Alert
from alliance.web.app import create_app
from tests.fixtures.database import Database, World


def test_queued_analysis_raises_the_alert(
    settings: Settings, database: Database, world: World
) -> None:
    queued = settings.model_copy(update={"analysis_delay": 0.05})
    app = create_app(queued, engine=database.engine)
    with TestClient(app) as client:
        headers = world["c1"].headers
        session = world.sessions["c1"]
        for n in range(3):  # three changes in a burst
            response = client.post(
                f"/api/v1/sessions/{session}/ruptures",
                headers=headers,
                json={"note": f"strain {n}"},
            )
            assert response.status_code == 201
        queue = app.state.clinic.analysis_queue
        assert queue.wait_idle(timeout=60)
        assert queue.pending() == 0
    with database.session() as db:
        rules = list(db.scalars(select(Alert.rule)))
    assert rules == ["reported_rupture"]  # one alert for the burst, raised by the queue


def test_a_stopping_worker_analyses_what_it_owes(
    settings: Settings, database: Database, world: World
) -> None:
    """A change still waiting for its delay is analysed when the worker shuts down."""
    slow = settings.model_copy(update={"analysis_delay": 3600})
    app = create_app(slow, engine=database.engine)
    with TestClient(app) as client:
        response = client.post(
            f"/api/v1/sessions/{world.sessions['c1']}/ruptures",
            headers=world["c1"].headers,
            json={"note": "strain"},
        )
        assert response.status_code == 201
        assert app.state.clinic.analysis_queue.pending() == 1  # waiting for its hour
        with database.session() as db:
            assert list(db.scalars(select(Alert.rule))) == []
    # leaving the block shut the application down
    assert app.state.clinic.analysis_queue.pending() == 0
    with database.session() as db:
        assert list(db.scalars(select(Alert.rule))) == ["reported_rupture"]


@pytest.mark.usefixtures("unfrozen")
def test_a_starting_worker_catches_up_on_what_a_dead_one_owed(
    settings: Settings, database: Database, world: World
) -> None:
    """A worker dies with a client on its queue (no shutdown, so no drain); the next worker
    that starts queues the clients changed in the last hour and raises the alert."""
    slow = settings.model_copy(update={"analysis_delay": 3600})
    dead = create_app(slow, engine=database.engine)
    client = TestClient(dead)  # no `with`: the app never starts or stops, as in a crash
    response = client.post(
        f"/api/v1/sessions/{world.sessions['c1']}/ruptures",
        headers=world["c1"].headers,
        json={"note": "strain"},
    )
    assert response.status_code == 201
    assert dead.state.clinic.analysis_queue.pending() == 1  # lost with the worker
    off = create_app(
        slow.model_copy(update={"analysis_catch_up_minutes": 0}),
        engine=database.engine,
        freeze_heap=True,
    )
    with TestClient(off):
        assert "analysis_queue" not in vars(off.state.clinic)  # nothing queued
    served = create_app(slow, engine=database.engine, freeze_heap=True)
    with TestClient(served):
        assert served.state.clinic.analysis_queue.pending() == 1
    with database.session() as db:
        assert list(db.scalars(select(Alert.rule))) == ["reported_rupture"]
