"""Many clients at once against a real server: every acknowledged submission is stored exactly
once, and a server killed mid-load loses none of them."""

from __future__ import annotations

import threading
import uuid
from concurrent.futures import ThreadPoolExecutor

import httpx
from sqlalchemy import select

from alliance.store.models import Administration, Client
from tests.fixtures.database import Database, World
from tests.service.live import live_server

GAD = {f"item_{i}": 1 for i in range(1, 8)}
GAD_ROW = ",".join("1" * 7)


def post(client: httpx.Client, url: str, key: str) -> int:
    try:
        return client.post(
            url, json={"instrument": "gad-7", "answers": GAD, "idempotency_key": key}, timeout=30
        ).status_code
    except httpx.HTTPError:
        return 0


def stored_keys(database: Database) -> list[str]:
    with database.session() as db:
        return list(db.scalars(select(Administration.idempotency_key)))


def test_concurrent_submissions_are_stored_once(world: World, database: Database) -> None:
    keys = [f"k{i}" for i in range(120)]
    attempts = keys + keys[:40]  # a third of the keys are sent twice, racing each other
    with live_server(database, workers=2) as server:
        url = f"{server.url}/api/v1/sessions/{world.sessions['c1']}/administrations"
        with (
            httpx.Client(headers=world["c1"].headers) as client,
            ThreadPoolExecutor(max_workers=16) as pool,
        ):
            statuses = list(pool.map(lambda k: post(client, url, k), attempts))
    assert set(statuses) <= {200, 201}, statuses
    stored = stored_keys(database)
    assert sorted(stored) == sorted(keys)


def test_killed_server_loses_no_acknowledged_submission(world: World, database: Database) -> None:
    acknowledged: list[str] = []
    lock = threading.Lock()
    stop = threading.Event()

    with live_server(database, workers=2) as server:
        url = f"{server.url}/api/v1/sessions/{world.sessions['c1']}/administrations"

        def load() -> None:
            with httpx.Client(headers=world["c1"].headers) as client:
                while not stop.is_set():
                    key = uuid.uuid4().hex
                    if post(client, url, key) == 201:
                        with lock:
                            acknowledged.append(key)

        threads = [threading.Thread(target=load) for _ in range(8)]
        for thread in threads:
            thread.start()
        while True:
            with lock:
                if len(acknowledged) >= 60:
                    break
            stop.wait(0.01)
        server.kill()  # mid-load: requests are in flight
        stop.set()
        for thread in threads:
            thread.join(timeout=60)

    with live_server(database) as server:
        assert httpx.get(f"{server.url}/api/v1/health").status_code == 200
    stored = set(stored_keys(database))
    missing = [k for k in acknowledged if k not in stored]
    assert missing == []
    assert len(acknowledged) >= 60


def test_concurrent_imports_of_new_clients_store_each_once(
    world: World, database: Database
) -> None:
    """The same file uploaded several times at once, its clients new to the clinic: every
    upload succeeds, and the clients and administrations exist once."""
    header = "client,episode,session,date,instrument,version,perspective,stance,clinician"
    items = ",".join(f"item_{i}" for i in range(1, 8))
    rows = [f"R-{n:02d},E1,1,2026-09-08,gad-7,1.0,client,self,c1,{GAD_ROW}" for n in range(30)]
    content = "\n".join([f"{header},{items}", *rows]).encode() + b"\n"

    def upload(client: httpx.Client, url: str) -> int:
        try:
            return client.post(url, files={"file": ("f.csv", content)}, timeout=60).status_code
        except httpx.HTTPError:
            return 0

    with live_server(database, workers=2) as server:
        url = f"{server.url}/api/v1/imports"
        with (
            httpx.Client(headers=world["c1"].headers) as client,
            ThreadPoolExecutor(max_workers=6) as pool,
        ):
            statuses = list(pool.map(lambda _: upload(client, url), range(6)))
    assert statuses == [200] * 6
    with database.session() as db:
        codes = list(db.scalars(select(Client.code).where(Client.code.like("R-%"))))
        keys = list(db.scalars(select(Administration.idempotency_key)))
    assert sorted(codes) == [f"R-{n:02d}" for n in range(30)]
    assert len(keys) == len(set(keys)) == 30


def test_racing_registrations_of_one_code_conflict_and_never_fail(
    world: World, database: Database
) -> None:
    """One client code registered by several requests at once: one wins, the others are told
    of the conflict (409), none fails with a server error."""

    def register(client: httpx.Client, url: str) -> int:
        try:
            return client.post(url, json={"code": "RACE-1"}, timeout=60).status_code
        except httpx.HTTPError:
            return 0

    with live_server(database, workers=2) as server:
        url = f"{server.url}/api/v1/clients"
        with (
            httpx.Client(headers=world["c1"].headers) as client,
            ThreadPoolExecutor(max_workers=8) as pool,
        ):
            statuses = sorted(pool.map(lambda _: register(client, url), range(8)))
    assert statuses == [201] + [409] * 7
    with database.session() as db:
        assert list(db.scalars(select(Client.code).where(Client.code == "RACE-1"))) == ["RACE-1"]
