"""One current rating per session on the pages: the session form opens with the clinician's
earlier rating and prediction and saving it again replaces them; a session the client has
rated offers a correction of that rating, not a second link. Pages run on SQLite; the
rule itself is tested on both databases in tests/service/test_one_rating.py."""

from __future__ import annotations

import re

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from alliance.store.models import Administration
from tests.fixtures.database import Database, World
from tests.web.conftest import PageClient, offer


def form_key(html: str) -> str:
    found = re.search(r'name="form_key" value="([^"]+)"', html)
    assert found
    return found.group(1)


def current(database: Database) -> list[Administration]:
    with database.session() as db:
        return list(
            db.scalars(
                select(Administration)
                .where(Administration.superseded_at.is_(None))
                .order_by(Administration.entered_at)
            )
        )


@pytest.mark.parametrize("backend", ["sqlite"])
def test_the_session_form_opens_with_the_earlier_rating_and_replaces_it(
    clinician: PageClient, world: World, database: Database
) -> None:
    offer(database, world, "wai-sr", "wai-s")  # a clinician form, turned on by the admin
    session = world.sessions["c1"]
    first = clinician.get(f"/sessions/{session}/rate")
    data = (
        {f"item_{i}": "4" for i in range(1, 13)}
        | {f"own_item_{i}": "6" for i in range(1, 13)}
        | {"own_instrument": "wai-s", "form_key": form_key(first.text)}
    )
    assert clinician.post(f"/sessions/{session}/rate", data).status_code == 303
    again = clinician.get(f"/sessions/{session}/rate")
    assert 'name="item_1" value="4" checked' in again.text
    assert 'name="own_item_12" value="6" checked' in again.text
    assert "already saved for this session" in again.text
    changed = data | {"item_1": "2", "form_key": form_key(again.text)}
    saved = clinician.post(f"/sessions/{session}/rate", changed)
    assert saved.status_code == 303
    notice = clinician.notice(saved)
    assert "Saved your prediction (replacing the earlier one)" in notice
    assert "your own rating unchanged" in notice
    kept = current(database)
    assert [(a.instrument, a.stance, a.answers["item_1"]) for a in kept] == [
        ("wai-s", "self", 6),
        ("wai-sr", "prediction", 2),
    ]
    assert kept[1].supersedes_id is not None
    with database.session() as db:
        assert len(list(db.scalars(select(Administration.id)))) == 3  # nothing deleted


@pytest.mark.parametrize("backend", ["sqlite"])
def test_a_rated_session_offers_a_correction_not_a_second_link(
    clinician: PageClient, api: TestClient, world: World, database: Database
) -> None:
    session = world.sessions["c1"]
    rated = api.post(
        f"/api/v1/sessions/{session}/administrations",
        headers=world["c1"].headers,
        json={
            "instrument": "wai-sr",
            "answers": {f"item_{i}": 2 for i in range(1, 13)},
            "idempotency_key": "paper",
        },
    ).json()["administration"]["id"]
    page = clinician.get(f"/clients/{world.clients['c1']}").text
    ask = page.split("Ask the client about session 1", 1)[1].split("</form>", 1)[0]
    assert 'value="wai-sr"' not in ask  # not offered again for this session
    assert f'href="/administrations/{rated}/correct"' in page
    refused = clinician.post(
        f"/sessions/{session}/links",
        {"instrument": "wai-sr", "how": "show", "client_id": world.clients["c1"]},
    )
    assert refused.status_code == 303
    assert "already rated session 1" in clinician.notice(refused)
    form = clinician.get(f"/administrations/{rated}/correct")
    assert form.status_code == 200
    assert 'name="item_1" value="2" checked' in form.text
    answers = {f"item_{i}": "2" for i in range(1, 13)} | {"item_1": "5"}
    missing = clinician.post(f"/administrations/{rated}/correct", answers | {"reason": " "})
    assert missing.status_code == 422 and "say why" in missing.text
    done = clinician.post(
        f"/administrations/{rated}/correct", answers | {"reason": "entered from paper wrongly"}
    )
    assert done.status_code == 303
    [kept] = [a for a in current(database) if a.instrument == "wai-sr"]
    assert (kept.supersedes_id, kept.answers["item_1"]) == (rated, 5)
    assert kept.correction_reason == "entered from paper wrongly"
