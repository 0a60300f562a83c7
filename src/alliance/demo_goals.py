"""The demo's goals: agreed with every other client in their first session, in words a client
might use (invented), rated by client and clinician as the simulator's goal truth says
(:mod:`alliance.simulate_goals`: some goals stall, some are seen differently by the
clinician, which raises goal alerts), and one stalled goal renegotiated mid-way — a repair
event on that client's alliance chart."""

from __future__ import annotations

import pandas as pd
from sqlalchemy.orm import Session

from alliance.services.context import Actor
from alliance.services.records import goals
from alliance.store.models import Session as SessionRow

GOALS = (
    ("Get back to work three days a week", "Working three days without dreading Sunday night"),
    ("Sleep through most nights", "Waking rested five mornings out of seven"),
    ("Go to the shops on my own", "Doing the weekly shop alone, even when it is busy"),
    ("Talk to my sister again", "Phoning her every week and looking forward to it"),
    ("Feel less on edge at home", "Evenings on the sofa without watching the door"),
    ("Enjoy cooking again", "Cooking a proper meal for friends"),
    ("Say no without feeling guilty", "Turning down extra shifts and sleeping fine after"),
    ("Get through a day without a panic attack", "A whole week with no attack"),
    ("Finish the college course", "Handing in the last assignment on time"),
)
PROPOSERS = ("client", "together", "clinician")


def add_goals(
    db: Session,
    actor: Actor,
    *,
    episode_id: str,
    first_day: object,
    sessions: dict[int, str],
    truth: pd.DataFrame,
    ratings: pd.DataFrame,
    n: int,
    renegotiate: bool,
) -> bool:
    """Agree the client's simulated goals and enter their progress ratings; with
    ``renegotiate``, revise a stalled goal at its fourth session. Returns whether a goal was
    renegotiated."""
    ids: dict[str, str] = {}
    for k, row in enumerate(truth.itertuples(), start=0):
        words, target = GOALS[(n + k) % len(GOALS)]
        ids[str(row.goal)] = goals.agree_goal(
            db, actor, episode_id, description=words, target=target,
            proposed_by=PROPOSERS[(n + k) % len(PROPOSERS)], agreed_on=first_day,  # type: ignore[arg-type]
        ).goal_id  # fmt: skip
    renegotiated = False
    stalled = [str(g) for g, s in zip(truth["goal"], truth["stalled"], strict=True) if s]
    for number in sorted(sessions):
        if renegotiate and not renegotiated and stalled and number == 4:
            goals.revise_goal(
                db, actor, ids[stalled[0]],
                description="Take one small step towards it each week",
                target="Three small steps done in a row",
                reason="The whole goal felt out of reach; we made it smaller together.",
                agreed_on=db.get_one(SessionRow, sessions[number]).date,
            )  # fmt: skip
            renegotiated = True
        now = ratings[ratings["session"] == number]
        for scale, perspective, score in zip(
            now["scale"], now["perspective"], now["score"].astype(int), strict=True
        ):
            goals.rate_goal(
                db, actor, sessions[number], ids[str(scale)], value=int(score),
                rater=str(perspective),
                source="client_link" if perspective == "client" else "clinician",
            )  # fmt: skip
    return renegotiated
