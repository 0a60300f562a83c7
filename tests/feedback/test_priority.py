"""An alert's priority grows with the size of the fall, counted in the rule's limits."""

from __future__ import annotations

import pandas as pd
import pytest

from alliance.analytics.detector import SIGNAL_COLUMNS
from alliance.feedback.alerts import alerts_from_signals
from alliance.feedback.priority import CLEAR, fall_size, graded_priority


@pytest.mark.parametrize(
    ("size", "expected"),
    [
        (0.0, "low"),
        (0.999, "low"),
        (1.0, "medium"),  # at the limit: one level below the configured severity
        (CLEAR - 0.001, "medium"),
        (CLEAR, "high"),  # a clear fall keeps the configured severity
        (7.1, "high"),
    ],
)
def test_priority_grows_with_the_size_of_the_fall(size: float, expected: str) -> None:
    assert graded_priority("high", size) == expected


@pytest.mark.parametrize(
    ("configured", "size", "expected"),
    [
        ("medium", 50.0, "medium"),  # the configured severity is a ceiling
        ("medium", 1.5, "low"),
        ("medium", 0.5, "low"),  # never below low
        ("low", 1.5, "low"),
        ("low", 3.0, "low"),
        ("high", None, "high"),  # no limit known: as configured
    ],
)
def test_the_configured_severity_is_a_ceiling(
    configured: str, size: float | None, expected: str
) -> None:
    assert graded_priority(configured, size) == expected  # type: ignore[arg-type]


def test_bad_input_is_refused() -> None:
    with pytest.raises(ValueError, match="configured severity must be one of"):
        graded_priority("severe", 2.0)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="not negative"):
        graded_priority("high", -1.0)


@pytest.mark.parametrize(
    ("change", "limit", "expected"),
    [
        (-30.0, 4.2, 30 / 4.2),
        (6.0, 6.0, 1.0),  # a deterioration counts up: the size is unsigned
        (-4.0, 0.0, None),
        (None, 4.2, None),
        (-4.0, None, None),
        (float("nan"), 4.2, None),
    ],
)
def test_fall_size(change: float | None, limit: float | None, expected: float | None) -> None:
    got = fall_size(change, limit)
    assert got == (pytest.approx(expected) if expected is not None else None)


def _signal(rule: str, value: float, reference: float, threshold: float, session: int) -> dict:
    row = dict.fromkeys(SIGNAL_COLUMNS)
    return row | {
        "client": "C1", "episode": "E1", "session": session, "instrument": "wai-sr",
        "scale": "total", "perspective": "client", "rule": rule, "severity": "high",
        "value": value, "reference": reference, "change": value - reference,
        "threshold": threshold, "spread": threshold / 2, "provenance": "derived: test",
    }  # fmt: skip


def test_a_collapse_outranks_a_dip() -> None:
    signals = pd.DataFrame(
        [
            _signal("drop_from_baseline", 55.0, 59.9, 4.2, 10),  # a 4.9-point dip
            _signal("drop_from_baseline", 30.0, 60.0, 4.2, 11),  # 60 → 30
            _signal("reported_rupture", 1.0, float("nan"), float("nan"), 12),  # not graded
        ]
    )
    dip, collapse, reported = sorted(alerts_from_signals(signals), key=lambda a: a.session)
    assert (dip.priority, collapse.priority, reported.priority) == ("medium", "high", "high")
    assert dip.size == pytest.approx(1.17) and collapse.size == pytest.approx(7.14)
    assert reported.size is None


def test_docstring_examples() -> None:
    import doctest

    from alliance.feedback import priority

    result = doctest.testmod(priority)
    assert result.attempted > 0 and result.failed == 0
