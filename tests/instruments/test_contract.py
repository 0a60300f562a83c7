"""One contract over every built-in definition (the awell-score and CamCOPS habit)."""

from __future__ import annotations

import pytest

from alliance.instruments.model import Instrument, OptionsFormat
from alliance.instruments.registry import BUILTIN_DIR, builtin_registry

ALL = list(builtin_registry())

EXPECTED = {
    # id: (items, perspectives, kind, licence status)
    "wai-sr": (12, ("client",), "alliance", "free_with_permission"),
    "wai-s": (12, ("client", "clinician"), "alliance", "free_with_permission"),
    "wai": (36, ("client", "clinician", "observer"), "alliance", "free_with_permission"),
    "wai-b3": (3, ("client",), "alliance", "free_with_permission"),
    "sai": (6, ("client",), "alliance", "unknown"),
    "haq-ii": (19, ("client", "clinician"), "alliance", "unknown"),
    "srs": (4, ("client",), "alliance", "licence_required"),
    "phq-9": (10, ("client",), "outcome", "public_domain"),
    "gad-7": (7, ("client",), "outcome", "public_domain"),
    "core-10": (10, ("client",), "outcome", "free_with_permission"),
    "k10": (10, ("client",), "outcome", "unknown"),
    "ors": (4, ("client",), "outcome", "licence_required"),
}


def test_the_library_holds_exactly_the_expected_instruments() -> None:
    assert {i.id for i in ALL} == set(EXPECTED)


@pytest.mark.parametrize("inst", ALL, ids=lambda i: i.id)
def test_metadata(inst: Instrument) -> None:
    items, perspectives, kind, licence = EXPECTED[inst.id]
    assert len(inst.items) == items
    assert inst.perspectives == perspectives
    assert inst.kind == kind
    assert inst.licence.status == licence
    assert (BUILTIN_DIR / f"{inst.id}.yaml").is_file()
    assert inst.citation.strip() and inst.title.strip()
    assert inst.licence.terms.strip()


@pytest.mark.parametrize("inst", ALL, ids=lambda i: i.id)
def test_every_item_is_scored_or_says_why(inst: Instrument) -> None:
    for item in inst.items:
        assert item.scales or item.unscored, item.id
    for scale in inst.scales:
        if scale.verified:
            assert inst.items_of(scale.id), scale.id


@pytest.mark.parametrize("inst", ALL, ids=lambda i: i.id)
def test_ranges_are_consistent(inst: Instrument) -> None:
    for scale in inst.scales:
        if inst.items_of(scale.id):
            assert inst.derived_range(scale.id) == scale.range, scale.id
        lo, hi = scale.range
        assert lo < hi
        for cutoff in scale.cutoffs:
            assert lo <= cutoff.value <= hi
        if scale.bands:
            assert scale.bands.bands[0].min <= lo
            assert all(lo <= b.min <= hi for b in scale.bands.bands[1:])


@pytest.mark.parametrize("inst", ALL, ids=lambda i: i.id)
def test_every_item_and_option_has_a_label(inst: Instrument) -> None:
    for item in inst.items:
        assert item.label.strip()
        fmt = inst.format_of(item)
        if isinstance(fmt, OptionsFormat):
            assert all(o.label.strip() for o in fmt.options)
        else:
            assert fmt.min_label.strip() and fmt.max_label.strip()


@pytest.mark.parametrize("inst", ALL, ids=lambda i: i.id)
def test_every_fact_cites_a_listed_source_and_unconfirmed_ones_say_why(inst: Instrument) -> None:
    for where, fact in inst._facts():
        assert fact.source in inst.sources, where
        if not fact.verified:
            assert fact.note and fact.note.strip(), where


@pytest.mark.parametrize("inst", ALL, ids=lambda i: i.id)
def test_item_labels_are_distinct(inst: Instrument) -> None:
    labels = [item.label for item in inst.items]
    assert len(set(labels)) == len(labels)


def test_risk_items_are_where_the_sources_put_them() -> None:
    risk = {i.id: [item.id for item in i.risk_items] for i in ALL if i.risk_items}
    assert risk == {"phq-9": ["item_9"], "core-10": ["item_6"]}


def test_reverse_keyed_items() -> None:
    reverse = {i.id: [item.id for item in i.items if item.reverse] for i in ALL}
    assert reverse["core-10"] == ["item_2", "item_3"]
    assert reverse["haq-ii"] == ["item_4", "item_8", "item_11", "item_16", "item_19"]
    assert all(not v for k, v in reverse.items() if k not in ("core-10", "haq-ii"))


def test_unconfirmed_keys_are_marked() -> None:
    unverified = {i.id for i in ALL if not all(s.verified for s in i.scales)}
    assert unverified == {"wai", "wai-s", "sai", "haq-ii"}
