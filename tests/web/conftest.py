"""Fixtures for page and browser tests: the service tests' world, logged-in page clients, a
live server and Debian's Chromium driven by Playwright (never a downloaded browser)."""

from __future__ import annotations

import gc
import html
import os
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import update

from alliance.config import Settings
from alliance.store.models import Organization, User
from alliance.web.app import create_app
from tests.fixtures.database import (
    PASSWORD,
    Database,
    World,
    build_world,
    create_schema,
    fresh_database,
    password_hash,
)
from tests.service.live import Server, live_server

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


def csrf_of(html: str) -> str:
    match = re.search(r'name="csrf_token" value="([^"]+)"', html)
    if not match:
        raise AssertionError("the page has no CSRF field")
    return match.group(1)


class PageClient:
    """A browser-like client: cookies, and the CSRF token of the last page it read."""

    def __init__(self, client: TestClient) -> None:
        self.client = client
        self.csrf = ""

    def get(self, path: str, **kwargs: object):  # type: ignore[no-untyped-def]
        response = self.client.get(path, **kwargs)  # type: ignore[arg-type]
        if "csrf_token" in response.text:
            self.csrf = csrf_of(response.text)
        return response

    def post(
        self, path: str, data: dict[str, str] | None = None, *, csrf: bool = True, **kwargs: object
    ):  # type: ignore[no-untyped-def]
        form = dict(data or {})
        if csrf and "csrf_token" not in form:
            if not self.csrf:
                self.get("/account")
            form["csrf_token"] = self.csrf
        return self.client.post(path, data=form, **kwargs)  # type: ignore[arg-type]

    def notice(self, response: Any) -> str:
        """The notice the page a form redirected to shows ("" when none)."""
        assert response.status_code == 303, response.status_code
        page = self.get(response.headers["location"]).text
        shown = re.search(r'<p class="notice" role="status">(.*?)</p>', page, re.S)
        return html.unescape(shown.group(1)) if shown else ""


def make_app(settings: Settings, database: Database):  # type: ignore[no-untyped-def]
    return create_app(settings, engine=database.engine)


@pytest.fixture
def pages(settings: Settings, database: Database) -> Iterator[TestClient]:
    """An anonymous browser on the app (no redirects followed)."""
    with TestClient(make_app(settings, database), follow_redirects=False) as client:
        yield client


def post_login(client: TestClient, **data: str) -> Any:
    """Log in as a browser does: open the login page (its form token and cookie), post it."""
    form = client.get("/login")
    token = re.search(r'name="login_token" value="([^"]+)"', form.text)
    assert token, form.text
    return client.post("/login", data={"next": "/", **data, "login_token": token.group(1)})


def login(client: TestClient, username: str, password: str = PASSWORD) -> PageClient:
    response = post_login(client, username=username, password=password)
    assert response.status_code == 303, response.text
    page = PageClient(client)
    page.get("/account")
    return page


def offer(database: Database, world: World, *instruments: str, org: str = "A") -> None:
    """The organization offers exactly these instruments (as its admin would choose)."""
    with database.session() as db:
        found = db.get(Organization, world.orgs[org])
        assert found is not None
        found.enabled_instruments = sorted(instruments)
        db.commit()


@pytest.fixture
def clinician(settings: Settings, database: Database, world: World) -> Iterator[PageClient]:
    """c1 (it has a password in the world), logged in."""
    with TestClient(make_app(settings, database), follow_redirects=False) as client:
        yield login(client, "c1")


@pytest.fixture
def admin(settings: Settings, database: Database, world: World) -> Iterator[PageClient]:
    with TestClient(make_app(settings, database), follow_redirects=False) as client:
        yield login(client, "a1")


@pytest.fixture(scope="session")
def chromium():  # type: ignore[no-untyped-def]
    if not CHROMIUM.exists():
        if os.environ.get("CI"):
            pytest.fail("Chromium is missing: .ci/run installs Debian's chromium package")
        pytest.skip("Debian's chromium is not installed (apt-get install chromium)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        yield browser
        browser.close()


@dataclass
class Site:
    """One live server on one SQLite database, shared by the browser tests of a run: each
    test works on records of its own (a clinician's client) so that none sees another's."""

    server: Server
    database: Database
    world: World

    @property
    def url(self) -> str:
        return self.server.url


@pytest.fixture(scope="session")
def shared_site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Site]:
    """Starting a server takes seconds (it imports the whole app), so browser tests share
    one; everyone in its world has the test password."""
    url, engine, _ = fresh_database("sqlite", tmp_path_factory.mktemp("site"))
    create_schema(engine)
    database = Database(url, engine, "sqlite")
    with database.session() as db:
        world = build_world(db)
        db.execute(update(User).values(password_hash=password_hash()))
        db.commit()
    with live_server(database) as server:
        yield Site(server, database, world)
    engine.dispose()


@pytest.fixture
def unfrozen() -> Iterator[None]:
    """For apps built as served workers (``freeze_heap``): the test process gets its cycle
    collector back afterwards."""
    gc.unfreeze()
    yield
    gc.unfreeze()
