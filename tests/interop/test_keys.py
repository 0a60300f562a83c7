"""Idempotency keys: pinned values, and the vectorized hash against the documented construction."""

from __future__ import annotations

import dataclasses
import datetime as dt
import hashlib
import math
import struct

import numpy as np
import pandas as pd
import pytest

from alliance.instruments.registry import Registry
from alliance.interop import keys
from alliance.interop.keys import KEY_COLUMN, KEY_VERSION, idempotency_key, key_lanes, lanes_text
from alliance.interop.wide import check_wide, to_wide
from alliance.records import Administration

# Keys of the sample administrations (conftest), as the first release of the key
# (KEY_VERSION alliance-administration-key-1) gave them. A stored key must never change.
PINNED = [
    "971a2a0abb8b648c3611b93e846799c1",
    "352cbcb1c04a911b5d4b52147e069d6f",
    "6b9e8d6d17016494d61fdc4ebf8701c0",
    "f362a5c77172f9569502b267c4b39a71",
    "6f4b62b648857a83b7b7194150279a74",
    "1682ef9a73a3ad00fad5767190f81087",
]
MASK = 2**64 - 1


def reference_key(texts: list[str], session: int, days: int, answers: list[float | None]) -> str:
    """The key of one row, one word at a time, as the keys module's docstring describes it."""

    def blake(text: str, size: int) -> bytes:
        return hashlib.blake2b(text.encode("utf-8"), digest_size=size).digest()

    words = [int.from_bytes(blake(t, 8), "little") for t in texts]
    words += [session & MASK, days & MASK, len(answers)]
    for a in answers:
        x = math.nan if a is None or math.isnan(a) else a + 0.0
        words.append(struct.unpack("<Q", struct.pack("<d", x))[0])
    seed = blake(KEY_VERSION, 16)
    lanes = []
    for start, prime in ((seed[:8], 0x9E3779B97F4A7C15), (seed[8:], 0xC2B2AE3D27D4EB4F)):
        h = int.from_bytes(start, "little")
        for w in words:
            h ^= w
            h = (h * prime) & MASK
            h ^= h >> 32
        h ^= h >> 33
        h = (h * 0xFF51AFD7ED558CCD) & MASK
        h ^= h >> 33
        h = (h * 0xC4CEB9FE1A85EC53) & MASK
        h ^= h >> 33
        lanes.append(h)
    return f"{lanes[0]:016x}{lanes[1]:016x}"


def test_keys_are_pinned(registry: Registry, administrations: list) -> None:
    clean, problems = check_wide(to_wide(administrations), registry)
    assert problems == []
    assert clean[KEY_COLUMN].tolist() == PINNED
    assert [idempotency_key(a, registry.get(a.instrument, a.version)) for a in administrations] == (
        PINNED
    )


def test_the_pinned_keys_follow_the_documented_construction(
    registry: Registry, administrations: list
) -> None:
    for a, key in zip(administrations, PINNED, strict=True):
        inst = registry.get(a.instrument, a.version)
        texts = [a.instrument, a.version, a.client, a.episode, a.perspective, a.stance]
        days = (a.date - dt.date(1970, 1, 1)).days
        answers = [a.answers.get(i) for i in inst.item_ids]
        assert reference_key([*texts, a.clinician or ""], a.session, days, answers) == key


@pytest.mark.parametrize("block", [3, 1000])
def test_blocks_and_shared_fields_do_not_change_keys(
    monkeypatch: pytest.MonkeyPatch, block: int
) -> None:
    """Rows hashed in several blocks, with leading fields the same in every row (absorbed
    once) or not, give the keys of the construction row by row."""
    monkeypatch.setattr(keys, "CHUNK_ROWS", block)
    rng = np.random.default_rng(3)
    n = 11
    texts = [
        ["wai-sr"] * n,
        ["1.0"] * n,
        [f"C{i % 4}" for i in range(n)],
        ["É1"] * n,  # not ASCII
        ["client"] * n,
        ["self"] * n,
        ["" if i % 3 else "T1" for i in range(n)],
    ]
    session = rng.integers(0, 30, n)
    days = rng.integers(-800, 30_000, n)  # dates before 1970 too
    answers = rng.integers(1, 6, (n, 4)).astype(float)
    answers[1, 2], answers[2, 0], answers[3, 3] = np.nan, -0.0, 2.5
    answers[4, 1] = np.float64("nan") * -1  # a NaN with its sign bit set
    for first_varies in (False, True):
        if first_varies:
            texts[0] = [f"inst-{i % 2}" for i in range(n)]
        words = [keys.text_words(keys.Text.of(pd.Series(t, dtype="str"))) for t in texts]
        got = lanes_text(key_lanes(words, session, days, answers)).tolist()
        as_columns = key_lanes(words, session, days, [answers[:, j] for j in range(4)])
        assert lanes_text(as_columns).tolist() == got
        expected = [
            reference_key([t[i] for t in texts], int(session[i]), int(days[i]), answers[i].tolist())
            for i in range(n)
        ]
        assert got == expected


def test_keys_of_rows_in_several_groups_match_single_records(registry: Registry) -> None:
    base = Administration(
        client="C1",
        episode="E1",
        session=1,
        date=dt.date(1969, 12, 30),
        instrument="srs",
        version="1.0",
        perspective="client",
        answers={"item_1": 1.5, "item_2": None, "item_3": 0.0, "item_4": 10.0},
    )
    records = [
        base,
        Administration(
            client="C2",
            episode="E1",
            session=3,
            date=dt.date(2026, 1, 2),
            instrument="wai-sr",
            version="1.0",
            perspective="client",
            answers={f"item_{i}": 1 + i % 5 for i in range(1, 13)},
        ),
        dataclasses.replace(base, client="C3", session=2),
    ]
    clean, problems = check_wide(to_wide(records), registry)
    assert problems == []
    for a, key in zip(records, clean[KEY_COLUMN], strict=True):
        assert idempotency_key(a, registry.get(a.instrument, a.version)) == key
    assert clean[KEY_COLUMN].is_unique
