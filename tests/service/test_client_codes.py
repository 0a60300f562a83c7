"""Client codes are unique among the clients a person may see, so nobody can ask whether a
code they cannot see exists (security review 5: registering another clinician's code answered
409 "in use" while looking it up answered 404, which confirmed 100 of 100 demo codes)."""

from __future__ import annotations

import io
import zipfile
from typing import Any

import pandas as pd
from fastapi.testclient import TestClient
from sqlalchemy import select

from alliance.store.models import Client
from tests.fixtures.database import Database, World

API = "/api/v1"
GAD = "1,1,1,1,1,1,1"
HEADER = "client,episode,session,date,instrument,version,perspective,stance,clinician," + ",".join(
    f"item_{i}" for i in range(1, 8)
)


def register(api: TestClient, world: World, who: str, code: str) -> Any:
    return api.post(f"{API}/clients", headers=world[who].headers, json={"code": code})


def test_a_code_you_cannot_see_is_answered_like_a_free_one(api: TestClient, world: World) -> None:
    """c3 (team South) cannot see c1's client C1-01: registering that code and a free one get
    the same answer, and c3's own client is what c3 finds under it afterwards."""
    taken = register(api, world, "c3", "C1-01")
    free = register(api, world, "c3", "C3-02")
    assert taken.status_code == free.status_code == 201, taken.text
    assert taken.json().keys() == free.json().keys()
    mine = api.get(f"{API}/clients/by-code/C1-01", headers=world["c3"].headers)
    assert mine.status_code == 200
    assert mine.json()["id"] == taken.json()["client"]["id"] != world.clients["c1"]
    theirs = api.get(f"{API}/clients/by-code/C1-01", headers=world["c1"].headers)
    assert theirs.json()["id"] == world.clients["c1"]
    # a code you can see is still in use: c1's own, and for s1 (North's supervisor) c1's
    assert register(api, world, "c1", "C1-01").status_code == 409
    assert register(api, world, "s1", "C1-01").status_code == 409


def test_an_import_naming_a_code_you_cannot_see_makes_your_own_client(
    api: TestClient, world: World, database: Database
) -> None:
    content = f"{HEADER}\nC1-01,E1,1,2026-09-08,gad-7,1.0,client,self,,{GAD}\n".encode()
    answer = api.post(
        f"{API}/imports", headers=world["c3"].headers, files={"file": ("f.csv", content)}
    )
    assert answer.status_code == 200, answer.text
    assert answer.json()["clients_created"] == 1
    with database.session() as db:
        owners = sorted(
            db.execute(select(Client.clinician_id).where(Client.code == "C1-01")).scalars()
        )
    assert owners == sorted([world["c1"].id, world["c3"].id])


def test_a_supervisor_who_sees_two_clients_with_one_code_names_them_apart(
    api: TestClient, world: World
) -> None:
    """c1 and c2 (both North) cannot see each other's clients, so both may use C-SAME; their
    supervisor sees both, is asked which one, and names each as code@clinician — in look-ups,
    in the tables export (so their rows are not merged, nor in a research export their
    pseudonyms) and in imports, where a bare C-SAME asks which one."""
    gad = {f"item_{i}": 1 for i in range(1, 8)}
    made = {}
    for who in ("c1", "c2"):
        headers = world[who].headers
        created = api.post(
            f"{API}/clients", headers=headers, json={"code": "C-SAME", "started_on": "2026-09-01"}
        ).json()
        made[who] = created["client"]["id"]
        episode = created["episode"]["id"]
        session = api.post(
            f"{API}/episodes/{episode}/sessions", headers=headers, json={"date": "2026-09-10"}
        ).json()["id"]
        stored = api.post(
            f"{API}/sessions/{session}/administrations",
            headers=headers,
            json={"instrument": "gad-7", "answers": gad, "idempotency_key": f"same-{who}"},
        )
        assert stored.status_code == 201, stored.text
    s1 = world["s1"].headers
    ambiguous = api.get(f"{API}/clients/by-code/C-SAME", headers=s1)
    assert ambiguous.status_code == 409
    assert "C-SAME@c1" in ambiguous.text and "C-SAME@c2" in ambiguous.text
    for who in ("c1", "c2"):
        named = api.get(f"{API}/clients/by-code/C-SAME@{who}", headers=s1)
        assert named.status_code == 200 and named.json()["id"] == made[who]
    # c3 (South) sees neither: a qualified name tells nothing either
    hidden = api.get(f"{API}/clients/by-code/C-SAME@c1", headers=world["c3"].headers)
    unknown = api.get(f"{API}/clients/by-code/C-NONE@c1", headers=world["c3"].headers)
    assert hidden.status_code == unknown.status_code == 404
    assert hidden.json()["error"].keys() == unknown.json()["error"].keys()
    archive = zipfile.ZipFile(io.BytesIO(api.get(f"{API}/exports/tables", headers=s1).content))
    table = pd.read_csv(archive.open("administrations.csv"), dtype=str)
    assert {"C-SAME@c1", "C-SAME@c2"} <= set(table["client"])
    assert "C-SAME" not in set(table["client"])
    content = f"{HEADER}\nC-SAME,E1,1,2026-09-10,gad-7,1.0,client,self,,{GAD}\n".encode()
    refused = api.post(f"{API}/imports", headers=s1, files={"file": ("f.csv", content)})
    assert refused.status_code == 422
    assert "C-SAME@c1, C-SAME@c2" in refused.text


def test_codes_are_the_same_regardless_of_case(api: TestClient, world: World) -> None:
    """Issue 16: "c1-01" registered beside c1's "C1-01"; now it is refused as in use and a
    look-up under it finds C1-01."""
    again = register(api, world, "c1", "c1-01")
    assert again.status_code == 409, again.text
    found = api.get(f"{API}/clients/by-code/c1-01", headers=world["c1"].headers)
    assert found.status_code == 200 and found.json()["id"] == world.clients["c1"]
