"""What an operator sees: an access line per request by route template with its request id,
log records as JSON with no client data, and Prometheus metrics behind a token."""

from __future__ import annotations

import json
import logging
import sys
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from alliance.config import Settings
from alliance.web.app import create_app
from alliance.web.observability import LogFormatter, logging_config
from tests.fixtures.database import Database, World

TOKEN = "metrics-token-for-tests-0123456789"


@pytest.fixture
def backend() -> str:
    return "sqlite"  # nothing here depends on the database


@pytest.fixture
def observed(settings: Settings, database: Database, tmp_path: Path) -> TestClient:
    token_file = tmp_path / "metrics-token"
    token_file.write_text(TOKEN + "\n", encoding="utf-8")
    app = create_app(
        settings.model_copy(update={"metrics_token_file": token_file}), engine=database.engine
    )
    return TestClient(app, follow_redirects=False)


def test_requests_are_logged_by_route_with_their_id_and_nothing_of_the_client(
    observed: TestClient, world: World, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO)
    c1 = world["c1"].headers
    client_id, session_id = world.clients["c1"], world.sessions["c1"]
    with observed as api:
        record = api.get(f"/api/v1/clients/{client_id}", headers=c1)
        link = api.post(
            f"/api/v1/sessions/{session_id}/links", json={"instrument": "wai-sr"}, headers=c1
        )
        token = link.json()["token"]
        form = api.get(f"/f/{token}?lang=en")
        missing = api.get("/nowhere/C1-01")
    assert [r.status_code for r in (record, link, form, missing)] == [200, 201, 200, 404]

    lines = [json.loads(LogFormatter("json").format(r)) for r in caplog.records]
    access = [line for line in lines if line["logger"] == "alliance.access"]
    assert [(a["method"], a["route"], a["status"]) for a in access] == [
        ("GET", "/api/v1/clients/{client_id}", 200),
        ("POST", "/api/v1/sessions/{session_id}/links", 201),
        ("GET", "/f/{token}", 200),
        ("GET", "(no route)", 404),
    ]
    ids = [r.headers["x-request-id"] for r in (record, link, form, missing)]
    assert [a["request_id"] for a in access] == ids
    assert len(set(ids)) == 4
    ours = [r for r in caplog.records if r.name.startswith("alliance")]  # not the test client's
    everything = "\n".join(LogFormatter("json").format(r) for r in ours)
    everything += "\n".join(LogFormatter("text").format(r) for r in ours)
    for secret in (client_id, session_id, token, "C1-01", world["c1"].token, "testclient"):
        assert secret not in everything


def test_an_exception_is_logged_by_type_and_frames_not_by_its_message() -> None:
    try:
        raise ValueError("client C1-01 answered 7")
    except ValueError:
        record = logging.LogRecord(
            "alliance", logging.ERROR, "x", 1, "failed", None, sys.exc_info()
        )
    line = json.loads(LogFormatter("json").format(record))
    assert line["exception"].startswith("ValueError (message withheld) at test_observability.py:")
    assert "C1-01" not in json.dumps(line)


def test_metrics_need_their_token_and_count_requests_by_route(
    observed: TestClient, settings: Settings, database: Database, world: World
) -> None:
    with observed as api:
        api.get(f"/api/v1/clients/{world.clients['c1']}", headers=world["c1"].headers)
        assert api.get("/metrics").status_code == 401
        wrong = api.get("/metrics", headers={"Authorization": "Bearer not-it"})
        assert wrong.status_code == 401
        answer = api.get("/metrics", headers={"Authorization": f"Bearer {TOKEN}"})
    assert answer.status_code == 200
    assert answer.headers["content-type"].startswith("text/plain")
    text = answer.text
    assert (
        'alliance_requests_total{method="GET",route="/api/v1/clients/{client_id}",status="200"}'
        " 1.0" in text
    )
    assert 'alliance_request_seconds_bucket{le="10.0",route="/api/v1/clients/{client_id}"}' in text
    assert "alliance_outbox_pending 0.0" in text
    assert "alliance_analysis_backlog 0.0" in text
    with TestClient(create_app(settings, engine=database.engine)) as plain:
        assert plain.get("/metrics").status_code == 404  # off unless a token is configured


def test_the_served_logging_follows_the_settings() -> None:
    config = logging_config(Settings(log_level="warning", log_format="json", access_log=False))
    assert config["root"]["level"] == "WARNING"
    assert config["formatters"]["alliance"]["style_"] == "json"
    assert config["loggers"]["alliance.access"]["level"] == "WARNING"
    assert config["loggers"]["uvicorn.access"]["propagate"] is False
