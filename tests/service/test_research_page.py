"""The researcher's page: what the export holds, and its download with a form."""

from __future__ import annotations

import io
import re
import zipfile

import pandas as pd
from fastapi.testclient import TestClient
from sqlalchemy import select

from alliance.store.models import User
from tests.fixtures.database import PASSWORD, Database, World, password_hash
from tests.service.records import fill

LOGIN = "/api/v1/auth/login"


def log_in(api: TestClient, database: Database, username: str) -> str:
    with database.session() as db:
        user = db.scalar(select(User).where(User.username == username))
        assert user is not None
        user.password_hash = password_hash()
        db.commit()
    response = api.post(LOGIN, json={"username": username, "password": PASSWORD})
    assert response.status_code == 200
    return str(response.json()["csrf_token"])


def test_the_page_shows_counts_and_small_cells_only(
    api: TestClient, world: World, database: Database
) -> None:
    fill(api, world)
    log_in(api, database, "r1")
    page = api.get("/research")
    assert page.status_code == 200
    html = page.text
    assert '<a href="/research" aria-current="page">Research export</a>' in html
    assert "Working Alliance Inventory" in html
    wai = re.search(
        r"\(wai-sr\)</span></th>\s*<td class=\"num\">(\d+)</td>\s*<td class=\"num\">(\d+)", html
    )
    assert wai is not None and wai.groups() == (
        "5",
        "2",
    )  # 4 of C1-01 (one a prediction), 1 of C2-01
    gad = re.search(r"\(gad-7\)</span></th>\s*<td class=\"num\">(\d+)</td>", html)
    assert gad is not None and gad.group(1) == "1"  # the corrected one only
    assert html.count("small cell") >= 5  # two clients: every instrument is a small cell
    for secret in ("C1-01", "C2-01", "2026-09-08"):
        assert secret not in html
    assert "<script>" not in html and "style=" not in html  # the CSP allows neither


def test_the_form_downloads_the_export_of_a_study(
    api: TestClient, world: World, database: Database
) -> None:
    fill(api, world)
    csrf = log_in(api, database, "r1")
    assert "No study has been set up yet" in api.get("/research").text
    study = api.post(
        "/api/v1/studies",
        headers=world["a1"].headers,
        json={"name": "Days study", "date_mode": "days", "k": 1},
    ).json()["id"]
    page = api.get("/research").text
    assert f'<option value="{study}" selected>Days study' in page and "k = 1" in page
    response = api.post("/research/export", data={"csrf_token": csrf, "study": study})
    assert response.status_code == 200
    assert response.headers["content-disposition"] == (
        'attachment; filename="alliance-research.zip"'
    )
    with zipfile.ZipFile(io.BytesIO(response.content)) as archive:
        table = pd.read_csv(io.BytesIO(archive.read("research.csv")), dtype=str)
    assert "date" not in table.columns and "day" in table.columns
    unknown = api.post("/research/export", data={"csrf_token": csrf, "study": "nope"})
    assert unknown.status_code == 422
    assert "Choose one of the studies listed" in unknown.text
    assert 'href="#study"' in unknown.text
    forged = api.post("/research/export", data={"csrf_token": "nope", "study": study})
    assert forged.status_code == 403


def test_an_admin_may_not_open_it(api: TestClient, world: World, database: Database) -> None:
    log_in(api, database, "a1")
    page = api.get("/research")
    assert page.status_code == 403
    assert "Not allowed" in page.text
