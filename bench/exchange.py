"""Benchmark: importing administrations into the clinic's database, and exporting them.

On a fresh database (a SQLite file, or a new schema of ``--postgres URL``), in this process:

- **import**: ``alliance import`` of N WAI-SR administrations (1 in 20 with PHQ-9 instead,
  some with a risk answer) from a CSV file — read and check every cell, place clients,
  episodes and sessions, validate and score every answer, raise risk alerts, write an audit
  event per record, commit — against
  - the **floor**: the same administrations and their scores inserted with two plain
    ``executemany`` statements (no checks, no scoring, no audit) into sessions made
    beforehand, and
  - the **single-submission path** (``submit_administration`` once per row, as the API does),
    timed on the first ``--single`` rows and scaled per row;
- **re-import** of the same file (everything already stored);
- **export**: ``alliance export tables`` (read the current administrations and scores, write
  the wide and tidy tables and their codebooks) against pandas ``to_csv`` of the same wide
  table (the floor).

Peak memory is the process's resident-set high-water mark at the end (Linux ``ru_maxrss``).

    python bench/exchange.py [--rows 20000] [--single 1000] [--postgres URL]
"""

from __future__ import annotations

import argparse
import resource
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from sqlalchemy import Engine, insert, select, text
from sqlalchemy.orm import Session, sessionmaker

from alliance.instruments.registry import Registry, builtin_registry
from alliance.instruments.scoring import SCORING_VERSION, score
from alliance.services import audit
from alliance.services.accounts import people
from alliance.services.context import Actor
from alliance.services.exchange.exports import export_holdings, write_tables
from alliance.services.exchange.imports import import_file
from alliance.services.records.administrations import submit_administration
from alliance.store import migrate
from alliance.store.engine import make_engine, session_factory
from alliance.store.models import Administration, Client, Episode, Score
from alliance.store.models import Session as SessionRow

BASE = "http://bench.example"


def make_file(rows: int, folder: Path, seed: int = 1) -> Path:
    """Clients with 20 weekly sessions each; WAI-SR mostly, PHQ-9 every 20th row."""
    rng = np.random.default_rng(seed)
    n = np.arange(rows)
    sessions = n % 20 + 1
    phq = n % 20 == 10
    items = np.where(phq[:, None], rng.integers(0, 4, (rows, 12)), rng.integers(1, 6, (rows, 12)))
    items = items.astype(np.float64)
    items[phq, 10:] = np.nan  # the PHQ-9 has ten items
    items[phq, 8] = np.where(rng.random(int(phq.sum())) < 0.1, 1, 0)  # a few risk answers
    frame = pd.DataFrame(
        {
            "client": [f"C{i // 20:06d}" for i in n],
            "episode": "E1",
            "session": sessions,
            "date": (pd.Timestamp("2024-01-01") + pd.to_timedelta(sessions * 7, unit="D"))
            .strftime("%Y-%m-%d")
            .to_numpy(),
            "instrument": np.where(phq, "phq-9", "wai-sr"),
            "version": "1.0",
            "perspective": "client",
        }
    )
    for j in range(12):
        frame[f"item_{j + 1}"] = items[:, j]
    path = folder / "administrations.csv"
    frame.to_csv(path, index=False)
    return path


def fresh(postgres: str | None, folder: Path, name: str) -> tuple[Engine, str | None]:
    if postgres is None:
        engine = make_engine(f"sqlite:///{folder / name}.sqlite3")
        migrate.upgrade(engine)
        return engine, None
    schema = f"bench_{uuid.uuid4().hex[:10]}"
    admin = make_engine(postgres)
    with admin.begin() as connection:
        connection.execute(text(f'CREATE SCHEMA "{schema}"'))
    admin.dispose()
    joiner = "&" if "?" in postgres else "?"
    engine = make_engine(f"{postgres}{joiner}options=-csearch_path%3D{schema}")
    migrate.upgrade(engine)
    return engine, schema


def drop(postgres: str | None, engines: list[Engine], schemas: list[str | None]) -> None:
    for engine in engines:
        engine.dispose()
    if postgres is None:
        return
    admin = make_engine(postgres)
    with admin.begin() as connection:
        for schema in schemas:
            if schema:
                connection.execute(text(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'))
    admin.dispose()


def organization(factory: sessionmaker[Session]) -> str:
    with factory() as db:
        org = people.create_organization(db, Actor.system(), "Bench")
        people.create_user(
            db, Actor.system(org.id), username="alice", role="clinician", password=None
        )
        db.commit()
        return org.id


def timed_import(
    factory: sessionmaker[Session], org: str, path: Path, reg: Registry
) -> tuple[float, str]:
    start = time.perf_counter()
    with factory() as db:
        _, result = import_file(db, Actor.system(org), reg, path, base_url=BASE, clinician="alice")
        db.commit()
    return time.perf_counter() - start, result.summary()


def floor(factory: sessionmaker[Session], org: str, path: Path, reg: Registry) -> float:
    """The same rows and scores with two executemany inserts into ready sessions (the rows
    are built before the clock starts)."""
    table = pd.read_csv(path, dtype={"client": str})
    with factory() as db:
        clinician = db.scalar(text("SELECT id FROM users WHERE username = 'alice'"))
        sessions: dict[tuple[str, int], str] = {}
        for code, group in table.groupby("client"):
            client = Client(organization_id=org, code=str(code), clinician_id=clinician)
            db.add(client)
            db.flush()
            episode = Episode(
                client_id=client.id,
                clinician_id=clinician,
                started_on=pd.Timestamp("2024-01-01").date(),
            )
            db.add(episode)
            db.flush()
            for number, date in (
                group[["session", "date"]].drop_duplicates().itertuples(index=False)
            ):
                row = SessionRow(
                    episode_id=episode.id, number=int(number), date=pd.Timestamp(date).date()
                )
                db.add(row)
                db.flush()
                sessions[(str(code), int(number))] = row.id
        db.commit()
        scored = {}
        for key, group in table.groupby("instrument"):
            inst = reg.get(str(key))
            scored[key] = (group.index, score(inst, group[list(inst.item_ids)]))
        admins: list[dict[str, Any]] = []
        scores: list[dict[str, Any]] = []
        for key, (index, result) in scored.items():
            inst = reg.get(str(key))
            values = table.loc[index, list(inst.item_ids)].to_numpy()
            for n, i in enumerate(index):
                adm_id = str(uuid.uuid4())
                row = table.loc[i]
                admins.append(
                    {
                        "id": adm_id,
                        "organization_id": org,
                        "session_id": sessions[(str(row["client"]), int(row["session"]))],
                        "instrument": inst.id,
                        "version": inst.version,
                        "perspective": "client",
                        "stance": "self",
                        "answers": {
                            item: (None if np.isnan(v) else float(v))
                            for item, v in zip(inst.item_ids, values[n], strict=True)
                        },
                        "source": "import",
                        "idempotency_key": adm_id,
                        "rater": "client",
                    }
                )
                for scale, s in result.scales.items():
                    value = float(s.values[n])
                    scores.append(
                        {
                            "administration_id": adm_id,
                            "scale": scale,
                            "value": None if np.isnan(value) else value,
                            "answered": int(s.answered[n]),
                            "scoring_version": SCORING_VERSION,
                        }
                    )
        start = time.perf_counter()  # only the statements: the rows are ready
        db.execute(insert(Administration), admins)
        db.execute(insert(Score), scores)
        db.commit()
        return time.perf_counter() - start


def single(factory: sessionmaker[Session], org: str, path: Path, reg: Registry, rows: int) -> float:
    """Seconds per row through submit_administration, on the first ``rows`` rows, into the
    sessions the import made (fresh keys, so every row is stored)."""
    table = pd.read_csv(path, dtype={"client": str}).head(rows)
    with factory() as db:
        found = {
            (code, number): (session, episode, client)
            for session, episode, client, code, number in db.execute(
                select(SessionRow, Episode, Client, Client.code, SessionRow.number)
                .join(Episode, Episode.id == SessionRow.episode_id)
                .join(Client, Client.id == Episode.client_id)
            ).all()
        }
        start = time.perf_counter()
        for i, row in enumerate(table.to_dict(orient="records")):
            inst = reg.get(str(row["instrument"]))
            place = found[(str(row["client"]), int(row["session"]))]
            submit_administration(
                db,
                Actor.system(org),
                reg,
                session_id=place[0].id,
                instrument=inst.id,
                answers={k: (None if pd.isna(row[k]) else int(row[k])) for k in inst.item_ids},
                idempotency_key=f"single-{i}",
                source="import",
                authorized_session=place,
            )
        db.commit()
        return (time.perf_counter() - start) / len(table)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rows", type=int, default=20_000)
    parser.add_argument("--single", type=int, default=1_000)
    parser.add_argument("--postgres", help="a PostgreSQL URL (a new schema is used)")
    options = parser.parse_args()
    reg = builtin_registry()
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        path = make_file(options.rows, folder)
        engine, schema = fresh(options.postgres, folder, "import")
        factory = session_factory(engine)
        audit.install(factory)
        org = organization(factory)
        seconds, summary = timed_import(factory, org, path, reg)
        again, summary_again = timed_import(factory, org, path, reg)
        per_single = single(factory, org, path, reg, options.single)

        floor_engine, floor_schema = fresh(options.postgres, folder, "floor")
        floor_factory = session_factory(floor_engine)
        floor_org = organization(floor_factory)
        floor_seconds = floor(floor_factory, floor_org, path, reg)

        start = time.perf_counter()
        with factory() as db:
            held = export_holdings(db, Actor.system(org), reg)
            write_tables(held, folder / "export.csv", reg)
            db.commit()
        export_seconds = time.perf_counter() - start
        start = time.perf_counter()
        held.administrations.to_csv(folder / "plain.csv", index=False)
        plain_seconds = time.perf_counter() - start
        backend = "PostgreSQL" if options.postgres else "SQLite"
        drop(options.postgres, [engine, floor_engine], [schema, floor_schema])

    rows = options.rows
    print(f"{backend}, {rows:,} administrations")
    print(f"  {summary}")
    print(
        f"import        {seconds:7.2f} s  {seconds / rows * 1e3:6.3f} ms/row  "
        f"{seconds / floor_seconds:5.1f}× the plain-insert floor ({floor_seconds:.2f} s)"
    )
    print(
        f"single path   {per_single * rows:7.2f} s  {per_single * 1e3:6.3f} ms/row  "
        f"(scaled from {options.single:,} rows): the import is "
        f"{per_single * rows / seconds:.1f}× faster"
    )
    print(f"re-import     {again:7.2f} s  ({summary_again.split('; ', 1)[1]})")
    print(
        f"export tables {export_seconds:7.2f} s  {export_seconds / plain_seconds:5.1f}× pandas "
        f"to_csv of the same table ({plain_seconds:.2f} s; it neither queries nor writes "
        "scores and codebooks)"
    )
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"peak memory   {peak:7.0f} MB (resident, whole run)")


if __name__ == "__main__":
    main()
