"""Time a FHIR bulk export ($export) of the demo organization and validate every resource.

Usage (after ``alliance demo --no-serve`` with ALLIANCE_DATABASE_URL set):
``PYTHONPATH=src:. python bench/fhir_bulk.py`` — for each supervisor (together they see every
client of the demo organization): the seconds the export took, the resources per type, and
the number checked against the official R4 JSON Schema and fhir.resources.
"""

from __future__ import annotations

import json
import tempfile
import time
from collections import Counter
from pathlib import Path

from sqlalchemy import select
from tests.fixtures.fhir_schema import problems

from alliance.config import Settings
from alliance.instruments.registry import builtin_registry
from alliance.services.accounts.auth import actor_for
from alliance.services.exchange import fhir_bulk
from alliance.store.engine import make_engine, session_factory
from alliance.store.models import User


def main() -> None:
    settings = Settings()
    engine = make_engine(settings.database_url)
    sessions = session_factory(engine)
    registry = builtin_registry()
    seen: set[str] = set()
    checked = 0
    with sessions() as db:
        supervisors = db.scalars(select(User).where(User.role == "supervisor")).all()
        actors = [(u.username, actor_for(u)) for u in supervisors]
    with tempfile.TemporaryDirectory() as folder:
        jobs = Path(folder)
        for name, actor in actors:
            start = time.perf_counter()
            job = fhir_bulk.kick_off(jobs, actor, request_url="bench", types=None,
                                     output_format=None, since=None)  # fmt: skip
            fhir_bulk.run(jobs, job, sessions, actor, registry, base_url="https://clinic.example")
            took = time.perf_counter() - start
            counts: Counter[str] = Counter()
            for path in sorted((jobs / job).glob("*.ndjson")):
                for line in path.read_text(encoding="utf-8").splitlines():
                    resource = json.loads(line)
                    counts[resource["resourceType"]] += 1
                    key = f"{resource['resourceType']}/{resource['id']}"
                    if key not in seen:
                        seen.add(key)
                        found = problems(resource)
                        assert not found, (key, found[:3])
                        checked += 1
            print(f"{name}: {took:.2f} s, {sum(counts.values())} resources {dict(counts)}")
    print(f"{checked} distinct resources valid (R4 JSON Schema and fhir.resources)")


if __name__ == "__main__":
    main()
