"""Every page route that shows or changes one client's records × every role × own / other
team / other organization, through a logged-in browser session (the API's matrix is in
tests/service/test_role_matrix.py). A record that is not visible answers like one that does not
exist (404); a role that may not use a page at all gets 403."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import update

from alliance.config import Settings
from alliance.store.models import User
from tests.fixtures.database import Database, World, password_hash
from tests.web.conftest import PageClient, login, make_app

EVERYONE = ("c2", "c3", "s1", "r1", "a1", "b1", "ba", "c1")


@pytest.fixture
def browsers(
    settings: Settings, database: Database, world: World
) -> Iterator[dict[str, PageClient]]:
    """A logged-in browser per person of the world."""
    with database.session() as db:
        db.execute(update(User).values(password_hash=password_hash()))
        db.commit()
    app = make_app(settings, database)
    clients = [TestClient(app, follow_redirects=False) for _ in EVERYONE]
    for client in clients:
        client.__enter__()
    try:
        yield {who: login(client, who) for who, client in zip(EVERYONE, clients, strict=True)}
    finally:
        for client in clients:
            client.__exit__(None, None, None)


def risk_alert(api: TestClient, world: World) -> str:
    response = api.post(
        f"/api/v1/sessions/{world.sessions['c1']}/administrations",
        headers=world["c1"].headers,
        json={
            "instrument": "phq-9",
            "idempotency_key": "matrix",
            "answers": {f"item_{i}": 0 for i in range(1, 10)} | {"item_9": 1},
        },
    )
    assert response.status_code == 201
    return str(api.get("/api/v1/alerts", headers=world["c1"].headers).json()[0]["id"])


def seen_by(*who: str, code: int = 200) -> dict[str, int | str]:
    """``code`` for ``who``, 404 for everyone else: a page of a record one may not see
    answers like a missing one, whatever the role."""
    return {name: (code if name in who else 404) for name in EVERYONE}


PAGES: list[tuple[str, str, Callable[[World, str], str], dict[str, int | str]]] = [
    ("client view", "GET", lambda w, a: f"/clients/{w.clients['c1']}", seen_by("c1", "s1")),
    (
        "client report",
        "GET",
        lambda w, a: f"/clients/{w.clients['c1']}/report.pdf",
        seen_by("c1", "s1"),
    ),
    (
        "a team member's caseload",
        "GET",
        lambda w, a: f"/team/{w['c1'].id}",
        # only the team's supervisor; anyone else may not use the page at all
        dict.fromkeys(EVERYONE, 403) | {"s1": 200},
    ),
    # rating a session is for the clinician who holds the episode
    ("session form", "GET", lambda w, a: f"/sessions/{w.sessions['c1']}/rate", seen_by("c1")),
    (
        "calibration of c1",
        "GET",
        lambda w, a: f"/learn/calibration/{w['c1'].id}",
        # the supervisor only when the organization opens it (it has not); other roles 403
        seen_by("c1") | {"s1": 403, "r1": 403, "a1": 403, "ba": 403},
    ),
    (
        "acknowledge an alert",
        "POST",
        lambda w, a: f"/alerts/{a}/acknowledge",
        # the team's supervisor acts first; the owner then finds it acknowledged already
        dict.fromkeys(EVERYONE, "refused") | {"s1": "done"},
    ),
    (
        "acknowledge a group of alerts",
        "POST",
        lambda w, a: "/alert-groups/acknowledge",  # the alert's id goes in the form
        dict.fromkeys(EVERYONE, "refused") | {"s1": "done"},
    ),
]


@pytest.mark.parametrize("page", PAGES, ids=[p[0] for p in PAGES])
def test_page_by_role(
    browsers: dict[str, PageClient],
    api: TestClient,
    world: World,
    page: tuple[str, str, Callable[[World, str], str], dict[str, int | str]],
) -> None:
    _, method, path, expected = page
    alert = risk_alert(api, world)
    got: dict[str, Any] = {}
    for who in EVERYONE:
        browser = browsers[who]
        target = path(world, alert)
        if method == "GET":
            got[who] = browser.get(target).status_code
        else:  # a form posts back to the page: refused or done, said in the notice
            form = {"back": "/caseload", "alerts": alert}
            location = browser.post(target, form).headers["location"]
            got[who] = "refused" if "notice=not_done" in location else "done"
    assert got == expected
