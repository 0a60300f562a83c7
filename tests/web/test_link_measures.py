"""One link, several measures in order (issue 16, item 5): each stored when sent, a risk answer
alerting at once, progress shown, forms sent twice stored once; the API and the client page
make such links."""

from __future__ import annotations

import re

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from alliance.store.alerts import Alert
from alliance.store.models import Administration
from alliance.store.security import ClientLink
from tests.fixtures.database import Database, World
from tests.web.conftest import PageClient
from tests.web.test_client_form import form_key

SQLITE = pytest.mark.parametrize("backend", ["sqlite"])  # the pages: one backend is enough


def new_link(api: TestClient, world: World, *instruments: str) -> str:
    response = api.post(
        f"/api/v1/sessions/{world.sessions['c1']}/links",
        headers=world["c1"].headers,
        json={"instruments": list(instruments)},
    )
    assert response.status_code == 201, response.text
    return str(response.json()["token"])


def stored(database: Database) -> list[str]:
    with database.session() as db:
        query = select(Administration.instrument).order_by(Administration.entered_at)
        return list(db.scalars(query))


def link_state(database: Database) -> tuple[int, bool]:
    with database.session() as db:
        link = db.scalar(select(ClientLink))
        assert link is not None
        return link.answered, link.used_at is not None


WAI = {f"item_{i}": "4" for i in range(1, 13)}
PHQ_RISK = {f"item_{i}": "0" for i in range(1, 9)} | {"item_9": "1", "item_10": "0"}


def test_one_link_carries_measures_in_order(
    pages: TestClient, api: TestClient, world: World, database: Database
) -> None:
    token = new_link(api, world, "wai-sr", "phq-9")
    first = pages.get(f"/f/{token}").text
    assert "Questionnaire 1 of 2" in first and "Working Alliance Inventory" in first
    assert 'name="step" value="0"' in first
    assert "Send and go on to questionnaire 2" in first
    key = form_key(first)
    second = pages.post(f"/f/{token}", data={**WAI, "form_key": key, "step": "0"})
    assert second.status_code == 200
    assert "your answers to the Working Alliance Inventory" in second.text
    assert "Questionnaire 2 of 2" in second.text
    assert "<h1>Patient Health Questionnaire-9</h1>" in second.text
    assert 'name="step" value="1"' in second.text and "Send my answers" in second.text
    # the first measure is stored as soon as it is sent; the link is not used up yet
    assert stored(database) == ["wai-sr"] and link_state(database) == (1, False)
    # the first page sent again (a reload, Back): stored once, the measure due is shown
    again = pages.post(f"/f/{token}", data={**WAI, "form_key": key, "step": "0"})
    assert "Questionnaire 2 of 2" in again.text
    other = pages.post(f"/f/{token}", data={**WAI, "form_key": "another", "step": "0"})
    assert "Questionnaire 2 of 2" in other.text
    assert stored(database) == ["wai-sr"]
    done = pages.post(
        f"/f/{token}", data={**PHQ_RISK, "form_key": form_key(second.text), "step": "1"}
    )
    assert "your answers were received" in done.text
    assert "call your local emergency number" in done.text
    assert stored(database) == ["wai-sr", "phq-9"] and link_state(database) == (2, True)
    with database.session() as db:
        assert db.scalar(select(Alert.priority).where(Alert.rule == "risk_item")) == "urgent"
    assert "already been answered" in pages.get(f"/f/{token}").text


def test_a_risk_answer_in_the_first_measure_alerts_before_the_next(
    pages: TestClient, api: TestClient, world: World, database: Database
) -> None:
    token = new_link(api, world, "phq-9", "srs")
    key = form_key(pages.get(f"/f/{token}").text)
    second = pages.post(f"/f/{token}", data={**PHQ_RISK, "form_key": key, "step": "0"})
    assert "Questionnaire 2 of 2" in second.text
    banner = second.text.split('class="banner-urgent" role="alert"')[1].split("</div>")[0]
    assert "thoughts of harming yourself" in banner
    with database.session() as db:  # the alert exists while the SRS is still unanswered
        assert db.scalar(select(func.count()).select_from(Alert).where(Alert.rule == "risk_item"))
    assert link_state(database) == (1, False)


@SQLITE
def test_the_api_makes_and_fills_a_link_of_several_measures(
    api: TestClient, world: World, database: Database
) -> None:
    headers = world["c1"].headers
    path = f"/api/v1/sessions/{world.sessions['c1']}/links"
    for body in (
        {"instrument": "wai-sr", "instruments": ["phq-9"]},
        {"instruments": []},
        {"instruments": ["phq-9", "phq-9"]},
        {"instruments": ["phq-9", "nope"]},
    ):
        assert api.post(path, headers=headers, json=body).status_code == 422, body
    token = new_link(api, world, "srs", "phq-9")
    opened = api.get(f"/api/v1/links/{token}").json()
    assert (opened["instrument"], opened["step"]) == ("srs", 0)
    assert opened["measures"] == ["srs", "phq-9"]
    srs = {"answers": {f"item_{i}": 8 for i in range(1, 5)}, "idempotency_key": "k1"}
    assert api.post(f"/api/v1/links/{token}", json=srs).status_code == 201
    replay = api.post(f"/api/v1/links/{token}", json=srs)  # the same request again
    assert replay.status_code == 201 and replay.json()["created"] is False
    assert api.get(f"/api/v1/links/{token}").json()["instrument"] == "phq-9"
    early = {"answers": {"item_1": 1}, "idempotency_key": "k2", "step": 0}
    assert api.post(f"/api/v1/links/{token}", json=early).status_code == 409
    phq = {"answers": {f"item_{i}": 0 for i in range(1, 10)}, "idempotency_key": "k3"}
    assert api.post(f"/api/v1/links/{token}", json=phq).status_code == 201
    [listed] = api.get(path, headers=headers).json()
    assert (listed["measures"], listed["answered"]) == (["srs", "phq-9"], 2)
    assert listed["used_at"] is not None
    assert stored(database) == ["srs", "phq-9"]


@SQLITE
def test_the_clinician_chooses_the_measures_in_order(clinician: PageClient, world: World) -> None:
    page = clinician.get(f"/clients/{world.clients['c1']}").text
    assert '<select id="instrument_2" name="instrument_2">' in page
    made = clinician.post(
        f"/sessions/{world.sessions['c1']}/links",
        {"instrument": "srs", "instrument_2": "phq-9", "instrument_3": "", "how": "show",
         "client_id": world.clients["c1"]},
    )  # fmt: skip
    assert made.status_code == 200
    steps = made.text.split('<ol class="measures">')[1].split("</ol>")[0]
    assert re.findall(r"<li>([^<]+)</li>", steps) == [
        "Session Rating Scale (SRS v3)",
        "Patient Health Questionnaire-9",
    ]
    assert "asks 2 questionnaires" in made.text and "<svg" in made.text
