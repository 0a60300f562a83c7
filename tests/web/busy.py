"""A client with six sessions of ratings and six open alerts (a risk answer, a drop flagged
three times, a noticed rupture, a prediction far off), for the page and browser tests of the
before-the-session view. Ratings go through the API; the non-risk alerts are raised directly,
with the keys the analysis gives them, so whichever comes first, each is there once."""

from __future__ import annotations

import httpx

from alliance.services.monitoring.alerting import raise_alert
from tests.fixtures.database import Database, World

API = "/api/v1"
LEVELS = (5, 5, 5, 4, 3, 2)  # WAI-SR answers: totals 60, 60, 60, 48, 36, 24
SIZES = {4: 1.2, 5: 3.5, 6: 6.0}  # a fall's size in limits, as the analysis stores it


def busy_client(
    http: httpx.Client, world: World, database: Database, clinician: str = "c1"
) -> list[str]:
    """Fill the client of ``clinician`` (of organization A); returns its sessions 1–6."""
    who = world[clinician]
    sessions = [world.sessions[clinician]]
    for n in range(2, len(LEVELS) + 1):
        response = http.post(
            f"{API}/episodes/{world.episodes[clinician]}/sessions",
            headers=who.headers,
            json={"date": f"2026-09-{7 + n:02d}"},
        )
        assert response.status_code == 201, response.text
        sessions.append(str(response.json()["id"]))
    for n, (session, level) in enumerate(zip(sessions, LEVELS, strict=True), start=1):
        response = http.post(
            f"{API}/sessions/{session}/administrations",
            headers=who.headers,
            json={
                "instrument": "wai-sr",
                "idempotency_key": f"busy-{n}",
                "answers": {f"item_{i}": level for i in range(1, 13)},
            },
        )
        assert response.status_code == 201, response.text
    response = http.post(
        f"{API}/sessions/{sessions[-1]}/administrations",
        headers=who.headers,
        json={
            "instrument": "phq-9",
            "idempotency_key": "busy-risk",
            "answers": {f"item_{i}": 1 for i in range(1, 10)},
        },
    )
    assert response.status_code == 201, response.text
    episode = world.episodes[clinician]
    raised = [
        *(("drop_from_baseline", n, "high" if SIZES[n] >= 2 else "medium") for n in SIZES),
        ("reported_rupture", 5, "high"),
        ("calibration_gap", 6, "medium"),
    ]
    with database.session() as db:
        for rule, n, priority in raised:
            numbers: dict[str, object] = {"session": n, "instrument": "wai-sr", "scale": "total"}
            if rule == "drop_from_baseline":
                numbers["size"] = SIZES[n]
            raise_alert(
                db,
                organization_id=world.orgs["A"],
                client_id=world.clients[clinician],
                episode_id=episode,
                session_id=sessions[n - 1],
                key=f"{rule}:{episode}:wai-sr:total:{n}",
                rule=rule,
                priority=priority,
                reason=f"WAI-SR total fell in session {n} (test).",
                next_steps=["Invite feedback on the session."],
                numbers=numbers,
                provenance="derived: test",
            )
        db.commit()
    return sessions
