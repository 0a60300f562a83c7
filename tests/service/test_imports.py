"""Imports into the database: all or nothing, a report of every bad row, idempotent on
re-import, through the submit path (scores, risk alerts, audit events)."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import yaml
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from alliance.store.alerts import Alert
from alliance.store.audit import AuditEvent
from alliance.store.models import Administration, Client, Episode, Score
from alliance.store.models import Session as SessionRow
from tests.fixtures.database import Database, World

API = "/api/v1"
EXAMPLES = Path(__file__).parents[2] / "examples"
HEADER = "client,episode,session,date,instrument,version,perspective,stance,clinician"
PHQ = "1,2,1,0,1,2,1,0,2,1"  # item 9 answered 2: a risk answer
GAD = "1,1,1,1,1,1,1"


def csv(*rows: str, items: int = 10) -> bytes:
    head = HEADER + "," + ",".join(f"item_{i}" for i in range(1, items + 1))
    return ("\n".join([head, *rows]) + "\n").encode()


def upload(
    api: TestClient, world: World, who: str, content: bytes, name: str = "f.csv", **params: Any
) -> Any:
    return api.post(
        f"{API}/imports",
        headers=world[who].headers,
        params=params,
        files={"file": (name, content)},
    )


def counts(database: Database) -> tuple[int, ...]:
    with database.session() as db:
        return tuple(
            db.scalar(select(func.count()).select_from(model)) or 0
            for model in (Client, Episode, SessionRow, Administration, Score, Alert)
        )


GOOD = csv(
    f"N-1,E1,1,2026-09-01,phq-9,1.0,client,self,,{PHQ}",
    f"N-1,E1,2,2026-09-08,gad-7,1.0,client,self,,{GAD},,,",
    f"N-1,E2,1,2026-10-05,gad-7,1.0,client,self,,{GAD},,,",
    f"C1-01,1,1,2026-09-08,gad-7,1.0,client,self,c1,{GAD},,,",
)


def test_a_good_file_imports_everything_once(
    api: TestClient, world: World, database: Database
) -> None:
    before = counts(database)
    first = upload(api, world, "c1", GOOD)
    assert first.status_code == 200, first.text
    body = first.json()
    assert {k: body[k] for k in ("rows", "stored", "already_stored", "format")} == {
        "rows": 4,
        "stored": 4,
        "already_stored": 0,
        "format": "wide",
    }
    assert (body["clients_created"], body["episodes_created"], body["sessions_created"]) == (
        1,
        2,
        3,
    )
    assert body["risk_alerts"] == 1
    after = counts(database)
    assert [b - a for a, b in zip(before, after, strict=True)] == [1, 2, 3, 4, 4, 1]
    with database.session() as db:
        client = db.scalar(select(Client).where(Client.code == "N-1"))
        assert client is not None and client.clinician_id == world["c1"].id
        alert = db.scalar(select(Alert).where(Alert.client_id == client.id))
        assert alert is not None and (alert.rule, alert.priority) == ("risk_item", "urgent")
        sources = set(db.scalars(select(Administration.source)))
        assert sources == {"import"}
        created = db.scalar(
            select(func.count())
            .select_from(AuditEvent)
            .where(AuditEvent.action == "create", AuditEvent.record_type == "administration")
        )
        assert created == 4
    again = upload(api, world, "c1", GOOD)
    assert (again.json()["stored"], again.json()["already_stored"]) == (0, 4)
    assert counts(database) == after


def test_every_bad_row_is_reported_and_nothing_is_stored(
    api: TestClient, world: World, database: Database
) -> None:
    before = counts(database)
    bad = csv(
        f"N-2,E1,1,2026-09-01,phq-9,1.0,client,self,,{PHQ}",  # fine on its own
        # c2's code, a client c1 cannot see: fine, a new client of c1's (test_client_codes)
        f"C2-01,E1,1,2026-09-08,gad-7,1.0,client,self,,{GAD},,,",
        f"N-2,first,2,2026-09-08,gad-7,1.0,client,self,,{GAD},,,",  # not an episode number
        f"N-3,E2,1,2026-09-08,gad-7,1.0,client,self,,{GAD},,,",  # a gap: no E1
        f"C1-01,E1,1,2026-09-09,gad-7,1.0,client,self,,{GAD},,,",  # the session is on the 8th
        f"N-4,E1,1,2026-09-08,gad-7,1.0,client,self,c2,{GAD},,,",  # c2's, not c1's to give
        f"N-5,E1,0,2026-09-08,gad-7,1.0,client,self,,{GAD},,,",  # sessions start at 1
        "N-6,E1,1,2026-09-08,gad-7,1.0,client,self,,,,,,,,,,,",  # nothing answered
        f"N-7,E1,1,2026-09-08,gad-7,1.0,client,self,nobody,{GAD},,,",  # no such clinician
    )
    response = upload(api, world, "c1", bad, name="visits.csv")
    assert response.status_code == 422
    error = response.json()["error"]
    assert error["code"] == "import_rejected"
    assert error["source"] == "visits.csv"
    got = [(p.get("line"), p["column"], p.get("value")) for p in error["problems"]]
    assert got == [
        (4, "episode", "first"),
        (5, "episode", "E2"),
        (6, "date", "2026-09-09"),
        (7, "clinician", "c2"),
        (8, "session", "0"),
        (10, "clinician", "nobody"),
    ]
    problems = {p["line"]: p for p in error["problems"]}
    assert problems[6]["allowed"] == "2026-09-08"
    assert problems[5]["allowed"] == "E1"
    # each problem is a whole sentence on its own (the API gives value and allowed apart)
    assert problems[6]["problem"] == (
        "session 1 of E1 is dated 2026-09-08 in the database, not the file's date"
    )
    assert problems[5]["problem"] == (
        "the client has 0 episodes before this one, so this one is E1, not the file's episode"
    )
    for p in error["problems"]:
        assert not re.search(r"(\b(than|be|on|of|to|the|a)|:)$", p["problem"]), p
    assert problems[8]["allowed"] == "1, 2, …"
    assert counts(database) == before
    # with those rows fixed or removed, the submit path checks the answers themselves
    rest = csv(
        f"N-2,E1,1,2026-09-01,phq-9,1.0,client,self,,{PHQ}",
        "N-6,E1,1,2026-09-08,gad-7,1.0,client,self,,,,,,,,,,,",
    )
    second = upload(api, world, "c1", rest).json()["error"]
    assert [(p["line"], p["column"], p["problem"]) for p in second["problems"]] == [
        (3, "answers", "no item was answered")
    ]
    assert counts(database) == before


def test_cell_problems_come_from_the_reader(api: TestClient, world: World) -> None:
    bad = csv(
        "N-8,E1,1,2026-09-31,gad-7,1.0,client,self,,1,1,4,1,1,1,often,,,",
        "N-9,E1,1,2300-01-01,gad-7,1.0,client,self,,1,1,1,1,1,1,1,,,",
    )
    error = upload(api, world, "c1", bad).json()["error"]
    dates = "a date YYYY-MM-DD from 1900-01-01 to 2199-12-31"
    assert [(p["line"], p["column"], p["value"], p.get("allowed")) for p in error["problems"]] == [
        (2, "date", "2026-09-31", dates),
        (2, "item_3", "4", "0, 1, 2, 3"),
        (2, "item_7", "often", "0, 1, 2, 3"),
        (3, "date", "2300-01-01", dates),
    ]


def test_a_supervisor_gives_clients_to_the_team(
    api: TestClient, world: World, database: Database
) -> None:
    rows = csv(f"T-1,E1,1,2026-09-08,gad-7,1.0,client,self,,{GAD},,,")
    ok = upload(api, world, "s1", rows, clinician="c2")
    assert ok.status_code == 200, ok.text
    refused = upload(
        api,
        world,
        "s1",
        csv(f"T-2,E1,1,2026-09-08,gad-7,1.0,client,self,,{GAD},,,"),
        clinician="c3",
    )
    assert refused.status_code == 422
    assert refused.json()["error"]["problems"][0]["column"] == "clinician"
    with database.session() as db:
        owner = db.scalar(select(Client.clinician_id).where(Client.code == "T-1"))
    assert owner == world["c2"].id
    assert upload(api, world, "r1", rows).status_code == 403
    assert upload(api, world, "a1", rows).status_code == 403


def test_a_redcap_export_imports_with_its_mapping(
    api: TestClient, world: World, database: Database
) -> None:
    mapping = yaml.safe_load((EXAMPLES / "redcap-mapping.yaml").read_text(encoding="utf-8"))
    content = (EXAMPLES / "redcap-wai-sr-export.csv").read_bytes()
    response = api.post(
        f"{API}/imports",
        headers=world["c1"].headers,
        params={"clinician": "c1"},
        files={
            "file": ("redcap.csv", content),
            "mapping": ("mapping.yaml", yaml.safe_dump(mapping).encode()),
        },
    )
    assert response.status_code == 200, response.text
    body = response.json()
    assert (body["format"], body["rows"], body["stored"], body["skipped"]) == ("redcap", 3, 3, 1)
    assert body["clients_created"] == 2  # records 101 and 102
    broken = content.replace(b"2026-09-10", b"2026-09-11", 1)
    broken = broken.replace(
        b"101,sessions_arm_1,wai_sr,1,2026-09-03", b"101,sessions_arm_1,wai_sr,1,2026-09-04"
    )
    again = api.post(
        f"{API}/imports",
        headers=world["c1"].headers,
        params={"clinician": "c1"},
        files={
            "file": ("redcap.csv", broken),
            "mapping": ("mapping.yaml", yaml.safe_dump(mapping).encode()),
        },
    )
    problems = again.json()["error"]["problems"]
    assert [(p["line"], p["column"]) for p in problems] == [(3, "date"), (4, "date")]


def test_a_tidy_table_is_refused_with_the_reason(api: TestClient, world: World) -> None:
    tidy = (
        b"client,episode,session,date,instrument,perspective,scale,score,version\n"
        b"N-9,E1,1,2026-09-08,gad-7,client,total,7,1.0\n"
    )
    error = upload(api, world, "c1", tidy).json()["error"]
    assert error["code"] == "import_rejected"
    assert "import the administrations (wide) table" in error["problems"][0]["problem"]
    assert upload(api, world, "c1", tidy, name="f.txt").json()["error"]["field"] == "file"


def test_a_core_10_risk_answer_raises_its_alert(
    api: TestClient, world: World, database: Database
) -> None:
    """Its sources run past 200 characters (migration 0002 on PostgreSQL)."""
    rows = csv("R-1,E1,3,2026-09-15,core-10,1.0,client,self,,1,4,0,2,2,1,1,3,2,1")
    response = upload(api, world, "c1", rows)
    assert response.status_code == 200, response.text
    assert response.json()["risk_alerts"] == 1
    with database.session() as db:
        alert = db.scalar(select(Alert).where(Alert.rule == "risk_item"))
        assert alert is not None
        assert alert.priority == "urgent"
        assert "in session 3" in alert.reason and "CORE-10 question 6" in alert.reason
        assert alert.provenance is not None and len(alert.provenance) > 200


def test_an_imported_risk_item_left_empty_raises_its_alert(
    api: TestClient, world: World, database: Database
) -> None:
    rows = csv("E-1,E1,1,2026-09-01,phq-9,1.0,client,self,,1,2,1,0,1,2,1,0,,1")
    response = upload(api, world, "c1", rows)
    assert response.status_code == 200, response.text
    assert response.json()["risk_alerts"] == 0  # no risk answer …
    with database.session() as db:
        alerts = [(a.rule, a.priority) for a in db.scalars(select(Alert))]
    assert alerts == [("risk_unanswered", "high")]  # … and no "no" either


def test_risk_answers_in_later_rows_raise_their_own_alerts(
    api: TestClient, world: World, database: Database
) -> None:
    """One PHQ-9 group scored as one matrix: each row's own risk flags raise its alert, with
    its episode, session and answers — not the first row's."""
    calm = "1,1,1,1,1,1,1,1,0,1"
    rows = csv(
        f"M-1,E1,1,2026-09-01,phq-9,1.0,client,self,,{calm}",
        "M-1,E1,2,2026-09-08,phq-9,1.0,client,self,,1,1,1,1,1,1,1,1,2,1",
        f"M-2,E1,1,2026-09-02,phq-9,1.0,client,self,,{calm}",
        "M-2,E1,2,2026-09-09,phq-9,1.0,client,self,,0,0,0,0,0,0,0,0,3,0",
        "M-3,E1,1,2026-09-03,phq-9,1.0,client,self,,1,1,1,1,1,1,1,1,,1",
        f"M-3,E1,2,2026-09-10,phq-9,1.0,client,self,,{calm}",
    )
    response = upload(api, world, "c1", rows)
    assert response.status_code == 200, response.text
    assert response.json()["risk_alerts"] == 2
    with database.session() as db:
        found = {
            (code, number): alert
            for alert, code, number in db.execute(
                select(Alert, Client.code, SessionRow.number)
                .join(Client, Client.id == Alert.client_id)
                .join(SessionRow, SessionRow.id == Alert.session_id)
            )
        }
        assert sorted(found) == [("M-1", 2), ("M-2", 2), ("M-3", 1)]
        for (code, number), alert in found.items():
            episode = db.scalar(
                select(Episode.id)
                .join(Client, Client.id == Episode.client_id)
                .where(Client.code == code)
            )
            assert alert.episode_id == episode
            admin = db.scalar(
                select(Administration).where(Administration.session_id == alert.session_id)
            )
            assert admin is not None and alert.key.endswith(admin.id)
            assert f"in session {number}" in alert.reason
        assert (found["M-1", 2].rule, found["M-1", 2].priority) == ("risk_item", "urgent")
        assert found["M-1", 2].numbers == {"item_9": 2}
        assert "answered 2" in found["M-1", 2].reason
        assert (found["M-2", 2].rule, found["M-2", 2].priority) == ("risk_item", "urgent")
        assert found["M-2", 2].numbers == {"item_9": 3}
        assert "answered 3" in found["M-2", 2].reason
        assert (found["M-3", 1].rule, found["M-3", 1].priority) == ("risk_unanswered", "high")
        assert found["M-3", 1].numbers == {"item_9": None}
