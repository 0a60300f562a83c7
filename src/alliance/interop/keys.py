"""The idempotency key of an imported administration.

Re-importing the same file must not store anything twice, so every administration read by an
importer carries a key derived from its content alone (not from the file it came from, its
row number or the time of import): the same answers for the same client, episode, session,
date, instrument version, perspective, stance and clinician give the same key whether they
arrive as CSV, Parquet, a REDCap export or a FHIR QuestionnaireResponse. The service stores
the key with the administration and skips a key it already holds.

How the key is made ([DERIVED], the project's own construction; version ``KEY_VERSION``):

1. Each row becomes a sequence of 64-bit words: the first 8 bytes (little-endian) of the
   BLAKE2b digest of each text field — ``instrument, version, client, episode, perspective,
   stance, clinician`` (no clinician = empty text) — then ``session``, the date as days since
   1970-01-01, the number of items ``k``, and the answers ``item_1 … item_k`` as the bits of
   little-endian float64 (one canonical NaN for "not answered", −0 as 0).
2. Two lanes, each started from 8 bytes of the BLAKE2b digest of ``KEY_VERSION``, absorb the
   words in order: ``h = h xor w; h = h × P; h = h xor (h >> 32)`` (mod 2^64; ``P`` is
   0x9E3779B97F4A7C15 in lane 1 and 0xC2B2AE3D27D4EB4F in lane 2), and end with the
   MurmurHash3 64-bit finalizer (Appleby, public domain).
3. The key is the two lanes as 32 hexadecimal digits.

Every step is a bijection of the lane for a fixed word, so two rows that differ in a single
word never share a key; other accidental collisions are ~2^-128. The key is not a security
measure (BLAKE2b per row was measured at over 1 µs, too slow for a million-row import).
"""

from __future__ import annotations

import binascii
import hashlib
from collections.abc import Sequence

import numpy as np
import numpy.typing as npt
import pandas as pd
import pyarrow as pa

from alliance.instruments.model import Instrument
from alliance.interop.columns import Text
from alliance.records import Administration

KEY_VERSION = "alliance-administration-key-1"
KEY_COLUMN = "idempotency_key"
TEXT_FIELDS = ("instrument", "version", "client", "episode", "perspective", "stance", "clinician")
IDENTITY_COLUMNS = (*TEXT_FIELDS, "session", "date")
CHUNK_ROWS = 32_768  # blocks of 32k rows × 2 lanes stay in cache

U64 = npt.NDArray[np.uint64]
_PRIMES = (np.uint64(0x9E3779B97F4A7C15), np.uint64(0xC2B2AE3D27D4EB4F))
_SEED_BYTES = hashlib.blake2b(KEY_VERSION.encode("utf-8"), digest_size=16).digest()
_SEEDS = (
    np.uint64(int.from_bytes(_SEED_BYTES[:8], "little")),
    np.uint64(int.from_bytes(_SEED_BYTES[8:], "little")),
)


def _fmix64(h: U64) -> None:
    h ^= h >> np.uint64(33)
    h *= np.uint64(0xFF51AFD7ED558CCD)
    h ^= h >> np.uint64(33)
    h *= np.uint64(0xC4CEB9FE1A85EC53)
    h ^= h >> np.uint64(33)


def text_words(text: Text) -> U64:
    """The first word of each row's field: 8 bytes of BLAKE2b of its (trimmed) text, read
    little-endian. A field with one value gives a read-only view of that one word."""
    blake2b = hashlib.blake2b
    digests = b"".join([blake2b(v.encode("utf-8"), digest_size=8).digest() for v in text.values])
    table = np.frombuffer(digests, dtype="<u8").astype(np.uint64)
    if len(table) == 1:
        return np.broadcast_to(table, len(text.codes))
    return table[text.codes] if len(table) else np.zeros(len(text.codes), np.uint64)


def key_lanes(
    fields: Sequence[U64],
    session: npt.NDArray[np.int64],
    days: npt.NDArray[np.int64],
    answers: npt.NDArray[np.float64] | Sequence[npt.NDArray[np.float64]],
) -> U64:
    """The two 64-bit lanes of every row (n × 2, big-endian, the byte order of the key's
    text): ``fields`` are the text words in ``TEXT_FIELDS`` order, ``answers`` the n × k
    answer matrix or its k columns (NaN = not answered).

    Rows are hashed in blocks of ``CHUNK_ROWS``, each word made when its block needs it, so
    that no n × (k + 10) matrix of words is ever built. Leading text fields that are the same
    in every row (the instrument and version of a group) are absorbed once.
    """
    columns = _columns(answers)
    n, k = len(session), len(columns)
    head = [
        *(np.asarray(f, dtype=np.uint64) for f in fields),
        np.asarray(session, dtype=np.int64).view(np.uint64),
        np.asarray(days, dtype=np.int64).view(np.uint64),
    ]
    start_state = np.array(_SEEDS, dtype=np.uint64)[:, None]
    lead = 0
    while n and lead < len(fields) and bool((head[lead] == head[lead][0]).all()):
        _absorb(start_state, head[lead][:1], np.empty_like(start_state))
        lead += 1
    lanes = np.empty((n, 2), dtype=">u8")
    count = np.uint64(k)
    width = min(n, CHUNK_ROWS)
    block, spares, floats = (
        np.empty((2, width), dtype=np.uint64),
        np.empty((2, width), dtype=np.uint64),
        np.empty(width, dtype="<f8"),
    )
    for start in range(0, n, CHUNK_ROWS):
        stop = min(n, start + CHUNK_ROWS)
        h, spare, bits = block[:, : stop - start], spares[:, : stop - start], floats[: stop - start]
        h[:] = start_state  # both lanes at once: row 0 is lane 1, row 1 is lane 2
        for word in head[lead:]:
            _absorb(h, word[start:stop], spare)
        _absorb(h, count, spare)
        for column in columns:
            np.add(column[start:stop], 0.0, out=bits)  # + 0.0 turns -0.0 into 0.0
            np.copyto(bits, np.nan, where=np.isnan(bits))  # one canonical NaN
            _absorb(h, bits.view(np.uint64), spare)
        _fmix64(h)
        lanes[start:stop] = h.T
    return lanes


_PRIME_COLUMN = np.array(_PRIMES, dtype=np.uint64)[:, None]
_SHIFT = np.uint64(32)


def _absorb(h: U64, word: U64 | np.uint64, spare: U64) -> None:
    """``h = h xor w; h = h × P; h = h xor (h >> 32)`` in place, for both lanes."""
    h ^= word
    h *= _PRIME_COLUMN
    np.right_shift(h, _SHIFT, out=spare)
    h ^= spare


def _columns(
    answers: npt.NDArray[np.float64] | Sequence[npt.NDArray[np.float64]],
) -> list[npt.NDArray[np.float64]]:
    if isinstance(answers, np.ndarray):
        return [answers[:, j] for j in range(answers.shape[1])]
    return list(answers)


def table_keys(
    texts: Sequence[Text],
    session: npt.NDArray[np.int64],
    days: npt.NDArray[np.int64],
    answers: Sequence[npt.NDArray[np.float64]],
    *,
    groups: npt.NDArray[np.intp],
    items: Sequence[int | None],
) -> tuple[U64, pd.Series, npt.NDArray[np.bool_]]:
    """The keys of a checked table whose rows fall in instrument groups: its lanes, its keys
    as text and the rows whose key appeared earlier.

    ``texts`` are the ``TEXT_FIELDS`` columns, ``answers`` the item columns, ``groups`` the
    group of each row and ``items[g]`` the number of items of group ``g``'s instrument (None:
    the rows of that group get no key).
    """
    fields = [text_words(t) for t in texts]
    lanes = np.zeros((len(session), 2), dtype=">u8")
    for g, k in enumerate(items):
        if k is None:
            continue
        if len(items) == 1:
            lanes = key_lanes(fields, session, days, answers[:k])
            continue
        rows = np.flatnonzero(groups == g)
        lanes[rows] = key_lanes(
            [f[rows] for f in fields], session[rows], days[rows], [a[rows] for a in answers[:k]]
        )
    return lanes, lanes_text(lanes), duplicated_lanes(lanes)


def lanes_text(lanes: U64, index: pd.Index | None = None) -> pd.Series:
    """Keys as 32 hexadecimal digits (``str`` dtype)."""
    n = len(lanes)
    hexed = binascii.hexlify(np.ascontiguousarray(lanes, dtype=">u8").data)
    offsets = np.arange(0, 32 * n + 1, 32, dtype=np.int64)
    text = pa.Array.from_buffers(
        pa.large_string(), n, [None, pa.py_buffer(offsets), pa.py_buffer(hexed)]
    )
    return pd.Series(text, dtype="str", index=index)


def duplicated_lanes(lanes: U64) -> npt.NDArray[np.bool_]:
    """Rows whose key appeared in an earlier row."""
    out = np.zeros(len(lanes), dtype=bool)
    ordered = lanes[:, 0].astype(np.uint64)
    ordered.sort()
    if not bool((ordered[1:] == ordered[:-1]).any()):  # the common case: no repeats
        return out
    first = lanes[:, 0].astype(np.uint64)
    candidates = np.flatnonzero(pd.Series(first).duplicated(keep=False).to_numpy())
    pairs = pd.DataFrame({"a": first[candidates], "b": lanes[candidates, 1].astype(np.uint64)})
    out[candidates] = pairs.duplicated(keep="first").to_numpy()
    return out


def idempotency_keys(ids: pd.DataFrame, answers: npt.NDArray[np.float64]) -> pd.Series:
    """Keys for rows of one instrument.

    ``ids`` holds ``IDENTITY_COLUMNS`` already checked (``session`` integers, ``date``
    datetime64, ``clinician`` text or missing); ``answers`` is the n × k matrix of that
    instrument's items, NaN where not answered.
    """
    if len(ids) != len(answers):
        raise ValueError(f"ids has {len(ids)} rows but answers has {len(answers)}")
    days = ids["date"].to_numpy(dtype="datetime64[ns]").astype("datetime64[D]").astype(np.int64)
    lanes = key_lanes(
        [text_words(Text.of(ids[c])) for c in TEXT_FIELDS],
        ids["session"].to_numpy(dtype=np.int64),
        days,
        np.asarray(answers, dtype=np.float64).reshape(len(ids), -1),
    )
    return lanes_text(lanes, ids.index)


def idempotency_key(administration: Administration, instrument: Instrument) -> str:
    """The key of one administration (the same as the importers give its row)."""
    if (administration.instrument, administration.version) != instrument.key:
        raise ValueError(
            f"administration is {administration.instrument} {administration.version}, "
            f"not {instrument.id} {instrument.version}"
        )
    ids = pd.DataFrame(
        {
            "instrument": [administration.instrument],
            "version": [administration.version],
            "client": [administration.client],
            "episode": [administration.episode],
            "perspective": [administration.perspective],
            "stance": [administration.stance],
            "clinician": pd.Series([administration.clinician], dtype="str"),
            "session": [administration.session],
            "date": pd.to_datetime([administration.date]),
        }
    )
    row = [administration.answers.get(item_id) for item_id in instrument.item_ids]
    answers = np.array([[np.nan if v is None else float(v) for v in row]], dtype=np.float64)
    return str(idempotency_keys(ids, answers).iloc[0])
