"""Open alerts grouped per problem: one card per rule, episode and measure; risk alerts alone."""

from __future__ import annotations

import datetime as dt

from alliance.services.monitoring.alert_groups import group_alerts, rule_title
from alliance.store.alerts import Alert

T0 = dt.datetime(2026, 9, 1, tzinfo=dt.UTC)


def alert(
    rule: str,
    session: int,
    *,
    priority: str = "high",
    episode: str = "e1",
    state: str = "open",
    instrument: str = "wai-sr",
) -> Alert:
    return Alert(
        id=f"{rule}-{episode}-{instrument}-{session}",
        rule=rule,
        priority=priority,
        state=state,
        episode_id=episode,
        session_id=f"s{session}",
        numbers={"session": session, "instrument": instrument, "scale": "total"},
        reason=f"{rule} in session {session}",
        created_at=T0 + dt.timedelta(days=session),
    )


def test_one_group_per_rule_episode_and_measure() -> None:
    alerts = [
        alert("drop_from_baseline", 8, priority="medium"),
        alert("drop_from_baseline", 11, priority="high"),
        alert("drop_from_baseline", 9, priority="medium", state="acknowledged"),
        alert("drop_from_baseline", 4, episode="e0"),  # another episode: its own card
        alert("drop_from_baseline", 7, instrument="srs"),  # another measure
        alert("drop_from_baseline", 3, state="resolved"),  # not shown as open
        alert("reported_rupture", 10),
    ]
    groups = group_alerts(alerts, {})
    drops = next(g for g in groups if g.rule == "drop_from_baseline" and len(g.alerts) > 1)
    assert drops.span() == "3 times, sessions 8–11"
    assert drops.priority == "high"  # the most urgent of the group
    assert [a.numbers["session"] for a in drops.alerts] == [11, 9, 8]  # newest first
    assert drops.latest.numbers["session"] == 11
    assert drops.open_ids == ["drop_from_baseline-e1-wai-sr-11", "drop_from_baseline-e1-wai-sr-8"]
    assert drops.state == "open" and drops.measure == "WAI-SR total"
    assert len(groups) == 4
    assert sum(len(g.alerts) for g in groups) == 6
    single = next(g for g in groups if g.rule == "reported_rupture")
    assert single.span() == "session 10" and single.title == "Rupture noticed"


def test_risk_alerts_stay_apart_and_first() -> None:
    risk = [
        Alert(
            id=f"risk-{n}",
            rule="risk_item",
            priority="urgent",
            state="open",
            episode_id="e1",
            session_id=f"s{n}",
            numbers={"item_9": 1},
            reason="risk",
            created_at=T0,
        )
        for n in (5, 6)
    ]
    groups = group_alerts([alert("drop_from_baseline", 9), *risk], {"s5": 5, "s6": 6})
    assert [g.rule for g in groups] == ["risk_item", "risk_item", "drop_from_baseline"]
    assert [g.span() for g in groups[:2]] == ["session 6", "session 5"]  # by session number
    assert all(g.is_risk and len(g.alerts) == 1 for g in groups[:2])


def test_rules_have_titles() -> None:
    assert rule_title("drop_from_baseline") == "Drop from the client's usual level"
    assert rule_title("something_new") == "Something new"
