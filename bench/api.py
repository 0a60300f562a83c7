"""Benchmark: the clinic service under load, on SQLite and on PostgreSQL.

For each database the benchmark initialises a fresh database (a demo organization, a clinician
with an API token, 50 clients with one session each), starts ``alliance serve`` with
``--workers`` processes, and drives it from a load generator in another process — ``wrk``
(Debian's package: ``apt-get install wrk``), scripted in Lua — with concurrent clients
submitting administrations (each with a new idempotency key) and reading timelines.
The same load generator then drives a bare FastAPI endpoint that returns a constant, served the
same way, measured in the same run. It prints throughput, p50/p95/p99 latency, errors, and
checks that every acknowledged submission is stored. (A Python load generator could not keep
up: it topped out at a few hundred requests per second, far below the bare endpoint.)

    python bench/api.py [--seconds 10] [--concurrency 50] [--workers 2] [--skip-postgres]

Targets on a 2-core machine: submissions reach at least 40% of the bare endpoint's
throughput; p99 under 100 ms at 50 concurrent clients; no errors, nothing lost.
"""

from __future__ import annotations

import argparse
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

    from alliance.services import audit
    from alliance.services.accounts import auth, people
    from alliance.services.context import Actor
    from alliance.services.records import clients
    from alliance.services.records.care import record_session
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


# -- load generator: wrk (Debian's package) in its own process, scripted in Lua ------------

LUA = r"""
local threads = {}
function setup(thread)
  thread:set("tid", #threads)
  table.insert(threads, thread)
end
function init(args)
  kind, token = args[1], args[2]
  targets = {}
  for t in string.gmatch(args[3] or "", "[^,]+") do table.insert(targets, t) end
  counter, acks, bad = 0, 0, 0
  headers = {["Content-Type"] = "application/json"}
  if token ~= "" then headers["Authorization"] = "Bearer " .. token end
end
function request()
  counter = counter + 1
  if kind == "bare" then return wrk.format("GET", "/bare", headers) end
  local target = targets[(counter % #targets) + 1]
  if kind == "timeline" then
    return wrk.format("GET", "/api/v1/clients/" .. target .. "/timeline", headers)
  end
  local body = '{"instrument":"gad-7","answers":{"item_1":1,"item_2":2,"item_3":3,' ..
    '"item_4":0,"item_5":1,"item_6":2,"item_7":3},"idempotency_key":"wrk-' .. tid .. '-' ..
    counter .. '"}'
  return wrk.format("POST", "/api/v1/sessions/" .. target .. "/administrations", headers, body)
end
function response(status, headers, body)
  if status == 200 or status == 201 then acks = acks + 1 else bad = bad + 1 end
end
function done(summary, latency, requests)
  local a, b = 0, 0
  for _, t in ipairs(threads) do a = a + t:get("acks"); b = b + t:get("bad") end
  local e = summary.errors
  io.write(string.format(
    "RESULT %d %d %.3f %.3f %.3f %d %d\n", summary.requests, summary.duration,
    latency:percentile(50) / 1000, latency:percentile(95) / 1000,
    latency:percentile(99) / 1000, a, b + e.connect + e.read + e.write + e.timeout))
end
"""


@dataclass
class Run:
    requests: int
    seconds: float
    p50: float
    p95: float
    p99: float
    acknowledged: int
    errors: int

    @property
    def rate(self) -> float:
        return self.requests / self.seconds


def drive(kind: str, base: str, fixture: Fixture | None, concurrency: int, seconds: float) -> Run:
    targets = ""
    if fixture is not None:
        targets = ",".join(fixture.sessions if kind == "submit" else fixture.clients)
    with tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False) as script:
        script.write(LUA)
    try:
        completed = subprocess.run(
            [
                "wrk",
                "-t1",
                f"-c{concurrency}",
                f"-d{int(seconds)}s",
                "--timeout",
                "30s",
                "-s",
                script.name,
                base,
                "--",
                kind,
                fixture.token if fixture else "",
                targets,
            ],
            capture_output=True,
            text=True,
            check=True,
        )
    finally:
        os.unlink(script.name)
    line = next(line for line in completed.stdout.splitlines() if line.startswith("RESULT"))
    n, micros, p50, p95, p99, acks, errors = line.split()[1:]
    return Run(
        int(n), int(micros) / 1e6, float(p50), float(p95), float(p99), int(acks), int(errors)
    )


def summarize(name: str, run: Run) -> float:
    print(
        f"  {name:<22} {run.rate:8.0f} req/s  p50 {run.p50:6.1f} ms  p95 {run.p95:6.1f} ms  "
        f"p99 {run.p99:6.1f} ms  errors {run.errors}  ({run.requests} requests)"
    )
    return run.rate


def count_stored(database_url: str) -> int:
    """Administrations stored by the load generator (keys ``wrk-…``)."""
    from alliance.store.engine import make_engine
    from alliance.store.models import Administration

    engine = make_engine(database_url)
    with engine.connect() as connection:
        stored = connection.scalar(
            select(func.count())
            .select_from(Administration.__table__)
            .where(Administration.idempotency_key.like("wrk-%"))
        )
    engine.dispose()
    return int(stored or 0)


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
        {"ALLIANCE_DATABASE_URL": database_url},
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
    stored = count_stored(database_url)
    # a request in flight when the load stops may be stored without its answer being read
    lost = max(0, submit.acknowledged - stored)
    print(f"  acknowledged {submit.acknowledged}, stored {stored}, lost {lost}")
    ratio = submit_rate / bare_rate
    print(
        f"  submissions / bare endpoint: {ratio:.0%} (target ≥ 40%) "
        f"{'OK' if ratio >= 0.4 else 'MISSED'}; p99 {submit.p99:.1f} ms (target < 100 ms) "
        f"{'OK' if submit.p99 < 100 else 'MISSED'}; errors {submit.errors}, lost {lost} "
        f"{'OK' if not submit.errors and not lost else 'MISSED'}"
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
