"""Benchmark: the clinic service under load, on SQLite and on PostgreSQL.

For each database the benchmark initialises a fresh database (a demo organization, a clinician
with an API token, 50 clients with one session each), starts ``alliance serve`` with
``--workers`` processes, and drives it from a load generator in another process: concurrent
clients submitting administrations (each with a new idempotency key) and reading timelines.
The same load generator then drives a bare FastAPI endpoint that returns a constant, served the
same way, measured in the same run. It prints throughput, p50/p95/p99 latency, errors, and
checks that every acknowledged submission is stored exactly once.

    python bench/api.py [--seconds 10] [--concurrency 50] [--workers 2] [--skip-postgres]

Targets on a 2-core machine: submissions reach at least 40% of the bare endpoint's
throughput; p99 under 100 ms at 50 concurrent clients; no errors, nothing lost.
"""

from __future__ import annotations

import argparse
import asyncio
import multiprocessing as mp
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from dataclasses import dataclass
from pathlib import Path

import httpx
from sqlalchemy import func, select, text

PG_URL = os.environ.get(
    "ALLIANCE_BENCH_POSTGRES", "postgresql+psycopg://postgres@127.0.0.1:5432/test"
)
GAD = {f"item_{i}": (i % 4) for i in range(1, 8)}


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class Fixture:
    url: str
    token: str
    sessions: list[str]
    clients: list[str]


def prepare(database_url: str) -> Fixture:
    """A fresh schema with one organization, clinician, token, and 50 clients."""
    import datetime as dt

    from alliance.services import audit, auth, clients, people
    from alliance.services.care import record_session
    from alliance.services.context import Actor
    from alliance.store import migrate
    from alliance.store.engine import make_engine, session_factory

    engine = make_engine(database_url)
    migrate.upgrade(engine)
    factory = session_factory(engine)
    audit.install(factory)
    with factory() as db:
        org = people.create_organization(db, Actor.system(), f"Bench {uuid.uuid4().hex[:6]}")
        system = Actor.system(org.id)
        team = people.create_team(db, system, "Bench team")
        user = people.create_user(
            db,
            system,
            username=f"bench-{uuid.uuid4().hex[:8]}",
            role="clinician",
            password=None,
            team_id=team.id,
        )
        actor = auth.actor_for(user)
        _, token = auth.create_api_token(db, actor, "bench")
        sessions, client_ids = [], []
        for i in range(50):
            client, episode = clients.register_client(
                db, actor, code=f"B{i:03d}", started_on=dt.date(2026, 1, 1)
            )
            sessions.append(record_session(db, actor, episode.id, date=dt.date(2026, 1, 8)).id)
            client_ids.append(client.id)
        db.commit()
    engine.dispose()
    return Fixture(database_url, token, sessions, client_ids)


def start(argv: list[str], env: dict[str, str], health: str) -> subprocess.Popen[bytes]:
    process = subprocess.Popen(
        argv,
        env={**os.environ, **env},
        start_new_session=True,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            if httpx.get(health, timeout=1).status_code == 200:
                return process
        except httpx.HTTPError:
            time.sleep(0.1)
    stop(process)
    raise RuntimeError(f"server did not start: {argv}")


def stop(process: subprocess.Popen[bytes]) -> None:
    if process.poll() is None:
        os.killpg(process.pid, signal.SIGTERM)
        process.wait(timeout=30)


# -- load generator (runs in its own process) -----------------------------------------------


async def _drive(  # noqa: PLR0917 - called through multiprocessing with positional args
    kind: str,
    base: str,
    token: str,
    sessions: list[str],
    clients: list[str],
    concurrency: int,
    seconds: float,
) -> dict[str, object]:
    latencies: list[float] = []
    errors = 0
    acknowledged: list[str] = []
    limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    async with httpx.AsyncClient(
        base_url=base, headers=headers, limits=limits, timeout=30
    ) as client:
        deadline = time.perf_counter() + seconds

        async def worker(n: int) -> None:
            nonlocal errors
            i = 0
            while time.perf_counter() < deadline:
                i += 1
                start = time.perf_counter()
                try:
                    if kind == "submit":
                        key = f"{n}-{i}-{uuid.uuid4().hex[:8]}"
                        r = await client.post(
                            f"/api/v1/sessions/{sessions[n % len(sessions)]}/administrations",
                            json={"instrument": "gad-7", "answers": GAD, "idempotency_key": key},
                        )
                        ok = r.status_code == 201
                        if ok:
                            acknowledged.append(key)
                    elif kind == "timeline":
                        r = await client.get(
                            f"/api/v1/clients/{clients[n % len(clients)]}/timeline"
                        )
                        ok = r.status_code == 200
                    else:
                        r = await client.get("/bare")
                        ok = r.status_code == 200
                except httpx.HTTPError:
                    ok = False
                latencies.append(time.perf_counter() - start)
                if not ok:
                    errors += 1

        started = time.perf_counter()
        await asyncio.gather(*(worker(n) for n in range(concurrency)))
        elapsed = time.perf_counter() - started
    return {
        "latencies": latencies,
        "errors": errors,
        "elapsed": elapsed,
        "acknowledged": acknowledged,
    }


def _drive_process(queue: mp.Queue, *args: object) -> None:  # type: ignore[type-arg]
    queue.put(asyncio.run(_drive(*args)))  # type: ignore[arg-type]


def drive(
    kind: str, base: str, fixture: Fixture | None, concurrency: int, seconds: float
) -> dict[str, object]:
    queue: mp.Queue = mp.get_context("spawn").Queue()  # type: ignore[type-arg]
    process = mp.get_context("spawn").Process(
        target=_drive_process,
        args=(
            queue,
            kind,
            base,
            fixture.token if fixture else "",
            fixture.sessions if fixture else [],
            fixture.clients if fixture else [],
            concurrency,
            seconds,
        ),
    )
    process.start()
    result: dict[str, object] = queue.get(timeout=seconds + 120)
    process.join()
    return result


def summarize(name: str, result: dict[str, object]) -> float:
    latencies = sorted(result["latencies"])  # type: ignore[arg-type]
    n = len(latencies)
    rate = n / float(result["elapsed"])  # type: ignore[arg-type]

    def pct(p: float) -> float:
        return latencies[min(n - 1, int(p * n))] * 1000 if n else float("nan")

    print(
        f"  {name:<22} {rate:8.0f} req/s  p50 {pct(0.50):6.1f} ms  p95 {pct(0.95):6.1f} ms  "
        f"p99 {pct(0.99):6.1f} ms  errors {result['errors']}  ({n} requests)"
    )
    return rate


def count_stored(database_url: str, keys: list[str]) -> tuple[int, int]:
    from alliance.store.engine import make_engine
    from alliance.store.models import Administration

    engine = make_engine(database_url)
    with engine.connect() as connection:
        stored = set(connection.scalars(select(Administration.idempotency_key)))
        total = connection.scalar(select(func.count()).select_from(Administration.__table__))
    engine.dispose()
    return len([k for k in keys if k in stored]), int(total or 0)


def bench_database(
    label: str, database_url: str, args: argparse.Namespace, bare_rate: float
) -> None:
    fixture = prepare(database_url)
    port = free_port()
    server = start(
        [
            sys.executable,
            "-m",
            "alliance",
            "serve",
            "--port",
            str(port),
            "--workers",
            str(args.workers),
        ],
        {"ALLIANCE_DATABASE_URL": database_url, "ALLIANCE_SECRET_KEY": "bench"},
        f"http://127.0.0.1:{port}/api/v1/health",
    )
    base = f"http://127.0.0.1:{port}"
    try:
        print(f"{label}:")
        submit = drive("submit", base, fixture, args.concurrency, args.seconds)
        submit_rate = summarize("submissions", submit)
        timeline = drive("timeline", base, fixture, args.concurrency, args.seconds)
        summarize("timeline reads", timeline)
    finally:
        stop(server)
    keys: list[str] = submit["acknowledged"]  # type: ignore[assignment]
    found, total = count_stored(database_url, keys)
    lost = len(keys) - found
    print(f"  acknowledged {len(keys)}, stored {found} of them ({total} rows), lost {lost}")
    ratio = submit_rate / bare_rate
    latencies = sorted(submit["latencies"])  # type: ignore[arg-type]
    p99 = latencies[int(0.99 * len(latencies))] * 1000
    print(
        f"  submissions / bare endpoint: {ratio:.0%} (target ≥ 40%) "
        f"{'OK' if ratio >= 0.4 else 'MISSED'}; p99 {p99:.1f} ms (target < 100 ms) "
        f"{'OK' if p99 < 100 else 'MISSED'}; errors {submit['errors']}, lost {lost} "
        f"{'OK' if not submit['errors'] and not lost else 'MISSED'}"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=10)
    parser.add_argument("--concurrency", type=int, default=50)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--skip-postgres", action="store_true")
    args = parser.parse_args()

    print(
        f"{args.concurrency} concurrent clients, {args.seconds:g} s per run, "
        f"{args.workers} server workers, {os.cpu_count()} CPUs"
    )
    port = free_port()
    bare = start(
        [
            sys.executable,
            "-m",
            "uvicorn",
            "bare_app:app",
            "--app-dir",
            str(Path(__file__).parent),
            "--port",
            str(port),
            "--workers",
            str(args.workers),
            "--log-level",
            "warning",
            "--no-access-log",
        ],
        {},
        f"http://127.0.0.1:{port}/bare",
    )
    try:
        print("bare FastAPI endpoint (returns a constant):")
        bare_rate = summarize(
            "GET /bare",
            drive("bare", f"http://127.0.0.1:{port}", None, args.concurrency, args.seconds),
        )
    finally:
        stop(bare)

    with tempfile.TemporaryDirectory() as tmp:
        bench_database("SQLite", f"sqlite:///{Path(tmp) / 'bench.sqlite3'}", args, bare_rate)
    if not args.skip_postgres:
        schema = f"bench_{uuid.uuid4().hex[:8]}"
        from alliance.store.engine import make_engine

        admin = make_engine(PG_URL)
        with admin.begin() as connection:
            connection.execute(text(f'CREATE SCHEMA "{schema}"'))
        try:
            bench_database(
                "PostgreSQL", f"{PG_URL}?options=-csearch_path%3D{schema}", args, bare_rate
            )
        finally:
            with admin.begin() as connection:
                connection.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
            admin.dispose()


if __name__ == "__main__":
    main()
