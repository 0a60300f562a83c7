"""Sample administrations covering every kind of item: options, reverse-keyed, a risk item,
an item with its own format, visual-analogue lines with decimals, unanswered items, a
clinician's prediction, ids present and absent."""

from __future__ import annotations

import datetime as dt

import pytest

from alliance.records import Administration


def wai_sr(client: str, session: int, day: int, values: list[float | None]) -> Administration:
    return Administration(
        client=client,
        episode="E1",
        session=session,
        date=dt.date(2026, 9, day),
        instrument="wai-sr",
        version="1.0",
        perspective="client",
        answers={f"item_{i}": v for i, v in enumerate(values, start=1)},
    )


@pytest.fixture
def administrations() -> list[Administration]:
    return [
        wai_sr("C001", 1, 3, [4, 4, 4, 4, 4, 4, 5, 4, 4, 4, 4, 4]),
        wai_sr("C001", 2, 10, [5, 4, 5, 3, None, 3, 4, 3, 4, 4, 4, 4]),
        Administration(
            client="C001",
            episode="E1",
            session=2,
            date=dt.date(2026, 9, 10),
            instrument="srs",
            version="1.0",
            perspective="client",
            answers={"item_1": 7.3, "item_2": 10.0, "item_3": 0.0, "item_4": 9.9},
            clinician="T01",
            id="adm-17",
        ),
        Administration(
            client="C002",
            episode="E2",
            session=0,
            date=dt.date(2026, 8, 30),
            instrument="phq-9",
            version="1.0",
            perspective="client",
            answers={f"item_{i}": v for i, v in enumerate([3, 2, 2, 1, 0, 1, 2, None, 1, 2], 1)},
        ),
        Administration(
            client="C002",
            episode="E2",
            session=1,
            date=dt.date(2026, 9, 6),
            instrument="core-10",
            version="1.0",
            perspective="client",
            answers={f"item_{i}": v for i, v in enumerate([1, 4, 0, 2, 2, 0, 1, 3, 2, 1], 1)},
            id="adm-18",
        ),
        Administration(
            client="C002",
            episode="E2",
            session=1,
            date=dt.date(2026, 9, 6),
            instrument="wai-s",
            version="1.0",
            perspective="clinician",
            stance="prediction",
            answers={f"item_{i}": 5 for i in range(1, 13)},
            clinician="T02",
        ),
    ]
