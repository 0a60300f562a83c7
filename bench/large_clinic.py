"""Fill an empty database with a large clinic, for bench/backup.py's ``--database``.

    python bench/large_clinic.py URL [--administrations 1000000]

The database is migrated to the head, then filled in batches with SQLAlchemy Core (not the
services: they would take hours): one organization and clinician, a client per 10
administrations with one episode of 10 sessions, one PHQ-9 per session with its score, and
one audit event per administration, chained with the service's own hash so that
``alliance audit verify`` (and so a restore) checks them. Prints the rows written and the
seconds taken.
"""

from __future__ import annotations

import argparse
import datetime as dt
import time
import uuid

from sqlalchemy import insert, update

from alliance.services.audit import event_hash
from alliance.store import migrate
from alliance.store.audit import GENESIS, AuditEvent, AuditHead
from alliance.store.engine import make_engine
from alliance.store.models import (
    Administration,
    Client,
    Episode,
    Organization,
    Score,
    User,
)
from alliance.store.models import Session as SessionRow

BATCH = 10_000
PER_CLIENT = 10


def fill(url: str, administrations: int) -> dict[str, int]:
    engine = make_engine(url)
    migrate.upgrade(engine)
    now = dt.datetime(2026, 12, 1, tzinfo=dt.UTC)
    org, clinician = str(uuid.uuid4()), str(uuid.uuid4())
    with engine.begin() as connection:
        connection.execute(insert(Organization), [{"id": org, "name": "Large Clinic",
                           "terms": {}, "feedback_config": {}, "enabled_instruments": [],
                           "created_at": now}])  # fmt: skip
        connection.execute(insert(User), [{"id": clinician, "organization_id": org,
                           "username": "large.c1", "display_name": "C1", "role": "clinician",
                           "active": True, "created_at": now}])  # fmt: skip
    answers = {f"item_{i}": i % 4 for i in range(1, 10)}
    prev, seq = GENESIS, 0
    written = {"clients": 0, "episodes": 0, "sessions": 0, "administrations": 0, "audit": 0}
    for start in range(0, administrations, BATCH):
        rows: dict[str, list[dict[str, object]]] = {
            "clients": [], "episodes": [], "sessions": [], "admins": [], "scores": [],
            "events": [],
        }  # fmt: skip
        for n in range(start, min(start + BATCH, administrations)):
            if n % PER_CLIENT == 0:
                client, episode = str(uuid.uuid4()), str(uuid.uuid4())
                rows["clients"].append({"id": client, "organization_id": org,
                    "code": f"L{n // PER_CLIENT:07d}", "clinician_id": clinician,
                    "language": "en", "created_at": now})  # fmt: skip
                rows["episodes"].append({"id": episode, "client_id": client,
                    "clinician_id": clinician, "started_on": dt.date(2026, 1, 5),
                    "created_at": now})  # fmt: skip
            session, administration = str(uuid.uuid4()), str(uuid.uuid4())
            number = n % PER_CLIENT + 1
            rows["sessions"].append({"id": session, "episode_id": episode, "number": number,
                "date": dt.date(2026, 1, 5) + dt.timedelta(weeks=number), "attended": True,
                "created_at": now})  # fmt: skip
            rows["admins"].append({"id": administration, "organization_id": org,
                "session_id": session, "instrument": "phq-9", "version": "1.0",
                "perspective": "client", "stance": "self", "answers": answers,
                "language": "en", "licensed_wording": False, "source": "api",
                "entered_by": clinician, "entered_at": now, "idempotency_key": administration,
                "rater": "client"})  # fmt: skip
            rows["scores"].append({"administration_id": administration, "scale": "total",
                "value": 13.0, "band": "moderate", "answered": 9, "scoring_version": "1",
                "computed_at": now})  # fmt: skip
            seq += 1
            fields = {"chain": 0, "seq": seq, "at": now, "organization_id": org,
                "actor_kind": "token", "actor_id": clinician, "action": "create",
                "record_type": "administration", "record_id": administration, "address": None,
                "detail": {"session": session}, "prev_hash": prev}  # fmt: skip
            prev = event_hash(fields)
            rows["events"].append({**fields, "hash": prev})
        with engine.begin() as connection:
            for table, key in ((Client, "clients"), (Episode, "episodes"),
                               (SessionRow, "sessions"), (Administration, "admins"),
                               (Score, "scores"), (AuditEvent, "events")):  # fmt: skip
                if rows[key]:
                    connection.execute(insert(table), rows[key])
            connection.execute(
                update(AuditHead).where(AuditHead.id == 0).values(last_seq=seq, last_hash=prev)
            )
        written["clients"] += len(rows["clients"])
        written["episodes"] += len(rows["episodes"])
        written["sessions"] += len(rows["sessions"])
        written["administrations"] += len(rows["admins"])
        written["audit"] += len(rows["events"])
    engine.dispose()
    return written


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("url", help="an empty database")
    parser.add_argument("--administrations", type=int, default=1_000_000)
    args = parser.parse_args()
    started = time.perf_counter()
    written = fill(args.url, args.administrations)
    print(f"filled in {time.perf_counter() - started:.0f} s: {written}")


if __name__ == "__main__":
    main()
