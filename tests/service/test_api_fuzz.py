"""Schema-driven fuzzing of the JSON API: schemathesis draws requests from the app's own
OpenAPI document — values that fit the schema and values that do not — for every operation,
with the tokens of a clinician and an admin and with real record ids as well as made-up ones.
No answer may be a server error, and every answer carries the security headers.

The number of examples per operation and mode is bounded (``FUZZ_EXAMPLES``, 12 by default)
so that the whole test stays within seconds per backend; ``ALLIANCE_FUZZ_EXAMPLES`` raises it
for a longer hunt. Hypothesis keeps no example database, so a run depends on nothing left
by another.
"""

from __future__ import annotations

import os
from typing import Any

import pytest
import schemathesis
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from schemathesis import GenerationMode

from alliance.config import Settings
from alliance.web.app import create_app
from alliance.web.security import CSP
from tests.fixtures.database import Database, World

FUZZ_EXAMPLES = int(os.environ.get("ALLIANCE_FUZZ_EXAMPLES", "12"))
OPENAPI = "/api/v1/openapi.json"
SKIPPED = {
    # answers with the whole installation's state only to the health probe's caller; nothing
    # to fuzz, and nothing sent
    ("GET", "/api/v1/health"),
}


def _real_ids(api: TestClient, world: World) -> dict[str, str]:
    """Record ids a request may name, so that some requests reach past the 404."""
    c1 = world["c1"].headers
    link = api.post(
        f"/api/v1/sessions/{world.sessions['c1']}/links",
        json={"instrument": "wai-sr"},
        headers=c1,
    ).json()
    return {
        "client_id": world.clients["c1"],
        "episode_id": world.episodes["c1"],
        "session_id": world.sessions["c1"],
        "user_id": world["c2"].id,
        "team_id": world.teams["North"],
        "token": link["token"],
        "instrument_id": "wai-sr",
    }


def test_no_request_drawn_from_the_openapi_document_gets_a_server_error(
    settings: Settings, database: Database, world: World
) -> None:
    app = create_app(settings, engine=database.engine)
    with TestClient(app, raise_server_exceptions=False) as api:
        real = _real_ids(api, world)
        schema = schemathesis.openapi.from_asgi(OPENAPI, app)
        people = [world["c1"].headers, world["a1"].headers]
        failures: list[str] = []
        operations = 0
        for result in schema.get_all_operations():
            operation = result.ok()
            if (operation.method.upper(), operation.path) in SKIPPED:
                continue
            operations += 1
            names = {p.name for p in operation.path_parameters}
            known = {k: v for k, v in real.items() if k in names}
            strategies = []
            for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE):
                strategies.append(operation.as_strategy(generation_mode=mode))
                if known:
                    strategies.append(operation.as_strategy(mode, path_parameters=known))
            _fuzz(api, st.one_of(strategies), people, failures)
        assert operations > 40  # the whole API was fuzzed, not a part of it
        assert not failures, "\n".join(sorted(failures, key=lambda f: "→ 5" not in f)[:30])


def _fuzz(
    api: TestClient,
    cases: st.SearchStrategy[Any],
    people: list[dict[str, str]],
    failures: list[str],
) -> None:
    @settings(
        max_examples=FUZZ_EXAMPLES,
        deadline=None,
        database=None,
        derandomize=True,
        suppress_health_check=list(HealthCheck),
    )
    @given(case=cases, who=st.sampled_from(people))
    def run(case: Any, who: dict[str, str]) -> None:
        kwargs = case.as_transport_kwargs(base_url="http://testserver", headers=who)
        kwargs.pop("base_url", None)
        method, url = kwargs.pop("method"), kwargs.pop("url")
        data = kwargs.pop("data", None)
        if isinstance(data, bytes | str):
            kwargs["content"] = data
        elif data is not None:
            kwargs["data"] = data
        cookies = kwargs.pop("cookies", None)
        if cookies:
            kwargs["headers"] = {
                **kwargs.get("headers", {}),
                "cookie": "; ".join(f"{k}={v}" for k, v in cookies.items()),
            }
        response = api.request(method, url.removeprefix("http://testserver"), **kwargs)
        where = f"{method} {url} {kwargs.get('params') or ''}"
        if response.status_code >= 500:
            failures.append(f"{where} → {response.status_code}: {response.text[:200]}")
        elif response.headers.get("content-security-policy") != CSP:
            failures.append(f"{where} → {response.status_code} without the security headers")
        elif response.status_code >= 400 and "application/json" in response.headers.get(
            "content-type", ""
        ):
            error = response.json().get("error")
            if not isinstance(error, dict) or not {"code", "message"} <= error.keys():
                failures.append(f"{where} → {response.status_code} without the error body")

    run()


@pytest.mark.parametrize("status", [500])
def test_a_server_error_carries_the_security_headers(
    settings: Settings, database: Database, status: int
) -> None:
    app = create_app(settings, engine=database.engine)

    @app.get("/api/v1/_boom")
    def boom() -> None:
        raise RuntimeError("a fault")

    with TestClient(app, raise_server_exceptions=False) as api:
        response = api.get("/api/v1/_boom")
    assert response.status_code == status
    assert response.headers["content-security-policy"] == CSP
    assert response.headers["x-content-type-options"] == "nosniff"
