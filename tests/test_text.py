"""Counts in words agree with their number: never "1 clients" or "client(s)"."""

from __future__ import annotations

from alliance.services.exchange.results import ImportResult
from alliance.text import counted


def test_a_count_agrees_with_its_noun() -> None:
    assert counted(1, "client") == "1 client"
    assert counted(0, "client") == "0 clients"
    assert counted(2, "session") == "2 sessions"
    assert counted(1200, "row") == "1,200 rows"
    assert counted(3, "new episode") == "3 new episodes"
    assert counted(1, "new episode") == "1 new episode"
    assert counted(2, "analysis") == "2 analyses"
    assert counted(2, "person", "people") == "2 people"


def test_an_import_summary_counts_in_words() -> None:
    one = ImportResult(source="f.csv", rows=1, stored=1, clients_created=1, episodes_created=1,
                       sessions_created=1, risk_alerts=1, skipped=1)  # fmt: skip
    assert one.summary() == (
        "f.csv: 1 of 1 administration stored; 1 new client, 1 new episode, 1 new session; "
        "1 urgent risk alert raised; 1 empty row skipped"
    )
    two = ImportResult(source="f.csv", rows=2, stored=2, clients_created=2, sessions_created=2)
    assert two.summary() == "f.csv: 2 of 2 administrations stored; 2 new clients, 2 new sessions"
