"""The client's form, opened from a single-use link (no account), over HTTP."""

from __future__ import annotations

import datetime as dt
import re

from fastapi.testclient import TestClient
from sqlalchemy import select, update

from alliance.store.alerts import Alert
from alliance.store.models import Administration
from alliance.store.security import ClientLink
from tests.fixtures.database import Database, World
from tests.web.conftest import PageClient


def new_link(api: TestClient, world: World, instrument: str = "wai-sr") -> str:
    response = api.post(
        f"/api/v1/sessions/{world.sessions['c1']}/links",
        headers=world["c1"].headers,
        json={"instrument": instrument},
    )
    assert response.status_code == 201
    return str(response.json()["token"])


def form_key(html: str) -> str:
    match = re.search(r'name="form_key" value="([^"]+)"', html)
    assert match
    return match.group(1)


def test_form_shows_one_instrument_and_who_sees_the_answers(
    pages: TestClient, api: TestClient, world: World
) -> None:
    token = new_link(api, world)
    page = pages.get(f"/f/{token}")
    assert page.status_code == 200
    text = page.text
    assert "Working Alliance Inventory" in text
    assert "Question 1 of 12" in text and "Question 12 of 12" in text
    assert "Your answers go to c1 at Clinic A" in text
    assert "not the questionnaire's official wording" in text  # no licensed pack loaded
    assert text.count('type="radio"') == 12 * 5
    assert "C1-01" not in text  # nothing identifying the client, nor any other client
    assert "csrf_token" not in text


def test_answers_are_received_once(
    pages: TestClient, api: TestClient, world: World, database: Database
) -> None:
    token = new_link(api, world)
    key = form_key(pages.get(f"/f/{token}").text)
    answers = {f"item_{i}": "4" for i in range(1, 13)}
    done = pages.post(f"/f/{token}", data={**answers, "form_key": key})
    assert done.status_code == 200
    assert "your answers were received" in done.text
    with database.session() as db:
        stored = db.scalar(select(Administration))
        assert stored is not None
        assert stored.source == "client_link"
        assert stored.answers == {f"item_{i}": 4 for i in range(1, 13)}
    again = pages.get(f"/f/{token}")
    assert again.status_code == 410
    assert "already been answered" in again.text
    resent = pages.post(f"/f/{token}", data={**answers, "form_key": key})  # a double tap
    assert resent.status_code == 200
    other = pages.post(f"/f/{token}", data={**answers, "form_key": "another"})
    assert other.status_code == 410
    with database.session() as db:
        assert len(list(db.scalars(select(Administration)))) == 1


def test_unanswered_questions_are_pointed_out_once(
    pages: TestClient, api: TestClient, world: World, database: Database
) -> None:
    token = new_link(api, world)
    key = form_key(pages.get(f"/f/{token}").text)
    partial = {f"item_{i}": "3" for i in range(1, 11)}
    first = pages.post(f"/f/{token}", data={**partial, "form_key": key})
    assert first.status_code == 200
    # a summary at the top, where focus goes, links to each question left empty
    summary = first.text.split('id="problems"')[1].split("</div>")[0]
    assert 'role="alert"' in first.text.split('id="problems"')[0][-80:]
    assert "autofocus" in summary and "2 questions not answered yet" in summary
    assert re.findall(r'href="#(item_\d+)-first"', summary) == ["item_11", "item_12"]
    assert "Question 11: Shared understanding of helpful changes" in summary
    flagged = re.findall(r'<fieldset id="(item_\d+)" class="unanswered"', first.text)
    assert flagged == ["item_11", "item_12"]
    assert first.text.count('aria-invalid="true"') == 2 * 5  # their five choices each
    assert "Send without answering questions 11, 12" in first.text
    assert 'value="3" checked' in first.text  # the answers given are kept
    with database.session() as db:
        assert db.scalar(select(Administration)) is None
    sent = pages.post(f"/f/{token}", data={**partial, "form_key": key, "send_anyway": "1"})
    assert "your answers were received" in sent.text


def test_bad_and_empty_answers(pages: TestClient, api: TestClient, world: World) -> None:
    token = new_link(api, world)
    key = form_key(pages.get(f"/f/{token}").text)
    bad = pages.post(f"/f/{token}", data={"item_1": "9", "form_key": key, "send_anyway": "1"})
    assert bad.status_code == 422
    assert "This answer is not one of the choices" in bad.text
    assert 'href="#item_1-first"' in bad.text
    empty = pages.post(f"/f/{token}", data={"form_key": key})
    assert empty.status_code == 422
    assert "Please answer at least one question" in empty.text


def test_visual_analogue_lines_work_without_javascript(
    pages: TestClient, api: TestClient, world: World, database: Database
) -> None:
    token = new_link(api, world, "srs")
    page = pages.get(f"/f/{token}")
    assert page.text.count('type="number"') == 4
    assert page.text.count('type="range"') == 4
    key = form_key(page.text)
    done = pages.post(
        f"/f/{token}",
        data={"item_1": "9.5", "item_2": "8,7", "item_3": "10", "item_4": "7", "form_key": key},
    )
    assert "your answers were received" in done.text
    with database.session() as db:
        stored = db.scalar(select(Administration))
        assert stored is not None
        assert stored.answers == {"item_1": 9.5, "item_2": 8.7, "item_3": 10, "item_4": 7}


def test_risk_answer_gets_safety_words_and_an_urgent_alert(
    pages: TestClient, api: TestClient, world: World, database: Database
) -> None:
    token = new_link(api, world, "phq-9")
    key = form_key(pages.get(f"/f/{token}").text)
    answers = {f"item_{i}": "0" for i in range(1, 10)} | {"item_9": "1", "item_10": "0"}
    done = pages.post(f"/f/{token}", data={**answers, "form_key": key})
    assert "call your local emergency number" in done.text
    with database.session() as db:
        alert = db.scalar(select(Alert))
        assert alert is not None
        assert (alert.priority, alert.rule) == ("urgent", "risk_item")


def test_expired_and_unknown_links_get_kind_pages(
    pages: TestClient, api: TestClient, world: World, database: Database
) -> None:
    token = new_link(api, world)
    with database.session() as db:
        db.execute(
            update(ClientLink).values(expires_at=dt.datetime.now(dt.UTC) - dt.timedelta(minutes=1))
        )
        db.commit()
    expired = pages.get(f"/f/{token}")
    assert expired.status_code == 410
    assert "This link has expired" in expired.text
    assert "Traceback" not in expired.text
    unknown = pages.get("/f/not-a-real-token")
    assert unknown.status_code == 404
    assert "This link is not known" in unknown.text


def test_kiosk_receipt_asks_to_hand_the_tablet_back(
    pages: TestClient, api: TestClient, world: World
) -> None:
    token = new_link(api, world)
    page = pages.get(f"/f/{token}?kiosk=true")
    assert 'name="kiosk" value="1"' in page.text
    done = pages.post(
        f"/f/{token}",
        data={f"item_{i}": "4" for i in range(1, 13)}
        | {"form_key": form_key(page.text), "kiosk": "1"},
    )
    assert "Please hand the tablet back" in done.text


def test_links_only_for_instruments_the_organization_offers(
    admin: PageClient, api: TestClient, world: World
) -> None:
    chosen = admin.client.post(
        "/admin/instruments", data={"csrf_token": admin.csrf, "instrument": ["wai-sr", "phq-9"]}
    )
    assert chosen.status_code == 303
    refused = api.post(
        f"/api/v1/sessions/{world.sessions['c1']}/links",
        headers=world["c1"].headers,
        json={"instrument": "srs"},
    )
    assert refused.status_code == 422
    error = refused.json()["error"]
    assert (error["field"], error["value"], error["allowed"]) == (
        "instrument",
        "srs",
        "phq-9, wai-sr",
    )
    assert new_link(api, world, "phq-9")
