"""Benchmark: the clinician's caseload and before-the-session view, rendered by the app.

A clinician with 100 clients × 30 sessions (client WAI-SR, the clinician's prediction and
PHQ-9 at each session, from the simulator, stored through the use cases). The caseload page
and a client's before-the-session view are requested through the app in this process
(Starlette's test client, no network), and compared with an empty page of the same layout
(base.html, same login and middleware) measured in the same run.

    python bench/pages.py [--requests 60]

Target on this machine: p95 under 150 ms for both pages.
"""

from __future__ import annotations

import argparse
import re
import statistics
import tempfile
import time
from pathlib import Path

from fastapi import Request
from fastapi.responses import HTMLResponse
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from alliance.config import Settings
from alliance.demo import PASSWORD, seed
from alliance.instruments.registry import builtin_registry
from alliance.services import audit
from alliance.store import migrate
from alliance.store.engine import make_engine, session_factory
from alliance.store.models import Administration, Client
from alliance.store.models import Session as SessionRow
from alliance.web.app import create_app
from alliance.web.pages.common import PageDep, render


def timed(client: TestClient, path: str, n: int) -> list[float]:
    times = []
    for _ in range(n):
        start = time.perf_counter()
        response = client.get(path)
        times.append(time.perf_counter() - start)
        if response.status_code != 200:
            raise RuntimeError(f"{path}: {response.status_code}")
    return times


def p95(times: list[float]) -> float:
    ordered = sorted(times)
    return ordered[min(len(ordered) - 1, int(0.95 * len(ordered)))] * 1000


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=60)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        url = f"sqlite:///{Path(tmp) / 'pages.sqlite3'}"
        engine = make_engine(url)
        migrate.upgrade(engine)
        factory = session_factory(engine)
        audit.install(factory)
        start = time.perf_counter()
        seed(
            factory,
            builtin_registry(),
            base_url="http://testserver",
            n_clients=100,
            n_clinicians=1,
            sessions=30,
            dropout=False,  # every client has all 30 sessions
        )
        with factory() as db:
            clients = db.scalar(select(func.count()).select_from(Client))
            admins = db.scalar(select(func.count()).select_from(Administration))
            sessions = db.scalar(select(func.count()).select_from(SessionRow))
        print(
            f"one clinician, {clients} clients, {sessions} sessions, {admins} administrations "
            f"(seeded in {time.perf_counter() - start:.0f} s)"
        )

        app = create_app(
            Settings(database_url=url), engine=engine, freeze_heap=True
        )  # as ``alliance serve`` runs it

        @app.get("/bench/empty")
        def empty(request: Request, page: PageDep) -> HTMLResponse:
            return render(request, "base.html", page.context())

        with TestClient(app) as client:
            token = re.search(r'name="login_token" value="([^"]+)"', client.get("/login").text)
            assert token is not None
            client.post(
                "/login",
                data={
                    "username": "clinician1",
                    "password": PASSWORD,
                    "login_token": token.group(1),
                },
            )
            caseload = client.get("/caseload").text
            busiest = caseload.split('href="/clients/')[1].split('"')[0]
            for path in ("/bench/empty", "/caseload", f"/clients/{busiest}"):
                timed(client, path, 3)  # warm up (and fill the clinic's reference cache)
            results = {
                name: timed(client, path, args.requests)
                for name, path in (
                    ("empty page (same layout)", "/bench/empty"),
                    ("caseload", "/caseload"),
                    ("before-the-session view", f"/clients/{busiest}"),
                )
            }
        engine.dispose()
    floor = statistics.median(results["empty page (same layout)"])
    for name, times in results.items():
        ok = (
            ""
            if name.startswith("empty")
            else ("  OK" if p95(times) < 150 else "  MISSED (target p95 < 150 ms)")
        )
        print(
            f"{name:<26} median {statistics.median(times) * 1000:6.1f} ms  "
            f"p95 {p95(times):6.1f} ms  max {max(times) * 1000:6.1f} ms  "
            f"ratio to empty page {statistics.median(times) / floor:5.1f}×{ok}"
        )


if __name__ == "__main__":
    main()
