"""A small clinical record made through the API, and a snapshot of a database's current
administrations and scores read with plain SQL (independently of the export code), for the
export/import tests."""

from __future__ import annotations

from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy import select

from alliance.store.models import Administration, Client, Episode, Organization, Score
from alliance.store.models import Session as SessionRow
from tests.fixtures.database import Database, World

API = "/api/v1"
WAI = [4, 4, 5, 3, None, 3, 4, 3, 4, 4, 4, 4]


def answers(values: list[Any]) -> dict[str, Any]:
    return {f"item_{i}": v for i, v in enumerate(values, start=1)}


def submit(api: TestClient, world: World, who: str, session: str, body: dict[str, Any]) -> str:
    response = api.post(
        f"{API}/sessions/{session}/administrations", headers=world[who].headers, json=body
    )
    assert response.status_code == 201, response.text
    return str(response.json()["administration"]["id"])


def fill(api: TestClient, world: World) -> None:
    """c1's client C1-01: two episodes (the first closed), ratings of every kind — a missing
    item, a clinician's prediction, a risk answer, visual-analogue lines with decimals, a
    corrected administration; and one rating of c2's client C2-01."""
    c1 = world["c1"].headers
    s1 = world.sessions["c1"]
    submit(
        api,
        world,
        "c1",
        s1,
        {"instrument": "wai-sr", "answers": answers(WAI), "idempotency_key": "a1"},
    )
    submit(
        api,
        world,
        "c1",
        s1,
        {
            "instrument": "wai-sr",
            "perspective": "clinician",
            "stance": "prediction",
            "answers": answers([5] * 12),
            "idempotency_key": "a2",
        },
    )
    submit(
        api,
        world,
        "c1",
        s1,
        {
            "instrument": "phq-9",
            "answers": answers([1, 2, 1, 0, 1, 2, 1, 0, 1, 1]),
            "idempotency_key": "a3",
        },
    )
    submit(
        api,
        world,
        "c1",
        s1,
        {"instrument": "srs", "answers": answers([7.3, 10, 0, 9.9]), "idempotency_key": "a4"},
    )
    s2 = api.post(
        f"{API}/episodes/{world.episodes['c1']}/sessions", headers=c1, json={"date": "2026-09-15"}
    ).json()["id"]
    submit(
        api,
        world,
        "c1",
        s2,
        {"instrument": "wai-sr", "answers": answers([5] * 12), "idempotency_key": "b1"},
    )
    gad = submit(
        api,
        world,
        "c1",
        s2,
        {"instrument": "gad-7", "answers": answers([2] * 7), "idempotency_key": "b2"},
    )
    corrected = api.post(
        f"{API}/administrations/{gad}/corrections",
        headers=c1,
        json={"answers": answers([1] * 7), "reason": "typed wrongly", "idempotency_key": "b3"},
    )
    assert corrected.status_code == 201
    closed = api.post(
        f"{API}/episodes/{world.episodes['c1']}/close",
        headers=c1,
        json={"end_reason": "completed", "ended_on": "2026-09-20"},
    )
    assert closed.status_code == 200
    e2 = api.post(
        f"{API}/clients/{world.clients['c1']}/episodes",
        headers=c1,
        json={"started_on": "2026-10-01"},
    ).json()["id"]
    s3 = api.post(f"{API}/episodes/{e2}/sessions", headers=c1, json={"date": "2026-10-02"}).json()[
        "id"
    ]
    submit(
        api,
        world,
        "c1",
        s3,
        {"instrument": "wai-sr", "answers": answers([3] * 12), "idempotency_key": "c1"},
    )
    submit(
        api,
        world,
        "c1",
        s3,
        {
            "instrument": "core-10",
            "answers": answers([1, 4, 0, 2, 2, 0, 1, 3, 2, 1]),
            "idempotency_key": "c2",
        },
    )
    submit(
        api,
        world,
        "c2",
        world.sessions["c2"],
        {"instrument": "wai-sr", "answers": answers([2] * 12), "idempotency_key": "d1"},
    )


def snapshot(database: Database, organization: str = "Clinic A") -> list[tuple[Any, ...]]:
    """Every current administration of the organization with its scores, by what it means
    (client code, episode in start order, session number and date, form, answers, scores),
    without any database id."""
    with database.session() as db:
        org = db.scalar(select(Organization.id).where(Organization.name == organization))
        episodes = db.execute(
            select(Episode.id, Client.code)
            .join(Client, Client.id == Episode.client_id)
            .where(Client.organization_id == org)
            .order_by(Client.code, Episode.started_on, Episode.created_at)
        ).all()
        ordinal: dict[str, int] = {}
        count: dict[str, int] = {}
        for episode_id, code in episodes:
            count[code] = count.get(code, 0) + 1
            ordinal[episode_id] = count[code]
        superseded = {s for s in db.scalars(select(Administration.supersedes_id)) if s is not None}
        scores: dict[str, list[tuple[Any, ...]]] = {}
        for score in db.scalars(select(Score)):
            scores.setdefault(score.administration_id, []).append(
                (score.scale, score.value, score.band, score.answered, score.scoring_version)
            )
        out = []
        for code, episode_id, number, date, adm in db.execute(
            select(Client.code, Episode.id, SessionRow.number, SessionRow.date, Administration)
            .join(Episode, Episode.client_id == Client.id)
            .join(SessionRow, SessionRow.episode_id == Episode.id)
            .join(Administration, Administration.session_id == SessionRow.id)
            .where(Client.organization_id == org)
        ).all():
            if adm.id in superseded:
                continue
            given = {k: float(v) for k, v in sorted(adm.answers.items()) if v is not None}
            out.append(
                (
                    code,
                    ordinal[episode_id],
                    number,
                    date.isoformat(),
                    adm.instrument,
                    adm.version,
                    adm.perspective,
                    adm.stance,
                    tuple(given.items()),
                    tuple(sorted(scores.get(adm.id, []))),
                )
            )
        return sorted(out)
