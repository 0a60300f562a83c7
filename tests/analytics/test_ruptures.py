from __future__ import annotations

from collections.abc import Callable

import pandas as pd
import pytest

from alliance.analytics.ruptures import (
    BelowCutoff,
    DropFromBaseline,
    DropFromPrevious,
    ReliableDrop,
    ReportedRupture,
)
from alliance.analytics.tidy import REPORTED_RUPTURE_SCALE

Make = Callable[..., pd.DataFrame]


def _hits(signals: pd.DataFrame) -> list[tuple[str, int]]:
    return list(zip(signals["client"], signals["session"].astype(int), strict=True))


def test_below_cutoff_uses_the_published_srs_rule(make_series: Make) -> None:
    data = make_series({"A": [37.0, 36.0, 35.9, 39.0]}, instrument="srs")
    got = BelowCutoff().detect(data)
    assert _hits(got) == [("A", 3)]
    assert got["threshold"].iloc[0] == 36.0
    assert got["provenance"].iloc[0] == (  # the boundary is confirmed only in part
        "published: SRS total below 36 (value confirmed, boundary partial: the project's "
        "choice) — OpenFIT knowledge base KA-01028 (PCOMS software): session ratings below 36 "
        "signal a concern with the session."
    )


def test_below_cutoff_skips_instruments_without_a_cutoff_unless_set(make_series: Make) -> None:
    data = make_series({"A": [40.0, 30.0]})
    assert BelowCutoff().detect(data).empty
    got = BelowCutoff(instrument="wai-sr", cutoff=35).detect(data)
    assert _hits(got) == [("A", 2)]
    assert got["provenance"].iloc[0].startswith("site setting")
    with pytest.raises(ValueError, match="parameter cutoff needs parameter instrument"):
        BelowCutoff(cutoff=35).detect(data)


def test_drop_from_previous_counts_from_the_last_rating(make_series: Make) -> None:
    data = make_series({"A": [50, 49, None, 45, 45.5], "B": [30, 31, 32, 33]})
    got = DropFromPrevious(min_drop=1).detect(data)
    assert _hits(got) == [("A", 2), ("A", 4)]
    assert got["reference"].tolist() == [50.0, 49.0]
    assert got["since_session"].tolist() == [1.0, 2.0]
    assert got["provenance"].iloc[0].startswith("site setting")
    assert _hits(DropFromPrevious(min_drop=2).detect(data)) == [("A", 4)]


def test_drop_from_previous_applies_only_where_it_is_published(make_series: Make) -> None:
    # OpenFIT published the one-point rule for the SRS; the WAI-SR has no such rule, so the
    # default leaves it alone (a one-point fall on 12–60 is mostly noise)
    wai = make_series({"A": [50, 49, 45]})
    rule = DropFromPrevious()
    assert rule.detect(wai).empty
    assert "no published drop-from-previous rule" in rule.skipped_["wai-sr total"]
    srs = make_series({"A": [38.0, 37.0, 36.5, 37.5, 35.0]}, instrument="srs")
    got = DropFromPrevious().detect(srs)
    assert _hits(got) == [("A", 2), ("A", 5)]  # a fall of 0.5 is not flagged
    assert got["threshold"].tolist() == [1.0, 1.0]
    assert got["provenance"].iloc[0].startswith("published: OpenFIT")


def test_drop_from_previous_follows_the_scale_direction(make_series: Make) -> None:
    data = make_series({"A": [10, 14, 9]}, instrument="phq-9")  # higher is worse
    assert _hits(DropFromPrevious(instrument="phq-9", min_drop=1).detect(data)) == [("A", 2)]


def test_drop_from_baseline_uses_k_spreads_with_a_floor(make_series: Make) -> None:
    data = make_series({"A": [50, 52, 51, 53, 47], "B": [40, 40, 40, 40, 39]})
    # A: baseline 51.5, SD 1.29; drop 4.5 ≥ 2 × 1.29. B: SD 0 but floor (median SD) applies
    got = DropFromBaseline(k=2).detect(data)
    assert _hits(got) == [("A", 5)]
    assert got["reference"].iloc[0] == pytest.approx(51.5)
    assert got["spread"].iloc[0] >= 1.29
    assert _hits(DropFromBaseline(k=2, floor=0.3).detect(data)) == [("A", 5), ("B", 5)]
    assert _hits(DropFromBaseline(k=3.5, floor=0.25).detect(data)) == [("B", 5)]


def test_drop_from_baseline_waits_for_enough_earlier_ratings(make_series: Make) -> None:
    data = make_series({"A": [50, 51, 40, 50, 51]})
    assert 3 not in DropFromBaseline(k=1, floor=1).detect(data)["session"].tolist()
    assert 3 in DropFromBaseline(k=1, floor=1, min_baseline=2).detect(data)["session"].tolist()


def test_reliable_drop_sources_its_value(make_series: Make) -> None:
    data = make_series({f"C{i}": [40 + i, 40 + i, 30 + i] for i in range(12)})
    rule = ReliableDrop()
    assert rule.detect(data).empty
    assert "no confirmed reliable-change value" in rule.skipped_["wai-sr total"]
    assert len(ReliableDrop(reliable_change=9).detect(data)) == 12
    computed = ReliableDrop(reliability=0.9).detect(data)
    # SD of first ratings 3.61 → 1.96 × 3.61 × √0.2 = 3.17 < 10-point drops
    assert len(computed) == 12
    assert computed["threshold"].iloc[0] == pytest.approx(1.96 * 3.6056 * 0.2**0.5, abs=0.01)


def test_reported_rupture_reads_the_yes_no_rows(make_series: Make) -> None:
    data = make_series({"A": [0, 1, 0]}, scale=REPORTED_RUPTURE_SCALE, perspective="clinician",
                       stance="prediction")  # fmt: skip
    assert _hits(ReportedRupture().detect(data)) == [("A", 2)]
    assert ReportedRupture(perspective="client").detect(data).empty
