"""The instrument schema: an instrument is data, validated once when it is loaded.

Every published fact (a scoring key, a cut-off, a reliable-change value, a norm, a licence)
is a :class:`Sourced` object naming its source and whether that source was confirmed.
A scale whose scoring key is not confirmed (``verified: false``) is shipped so that forms
can be shown and answers stored, but the scorer refuses to compute it.
"""

from __future__ import annotations

import re
from typing import Annotated, Literal, Self

from pydantic import BaseModel, ConfigDict, Field, model_validator

LicenceStatus = Literal["public_domain", "free_with_permission", "licence_required", "unknown"]
Perspective = Literal["client", "clinician", "observer"]
OperationName = Literal["sum", "mean", "prorated_sum", "prorated_mean"]
CutoffDirection = Literal["below", "at_or_below", "at_or_above", "above"]

PERSPECTIVES: tuple[Perspective, ...] = ("client", "clinician", "observer")
ITEM_ID = re.compile(r"^item_([1-9][0-9]*)$")
_SLUG = r"^[a-z0-9]+(?:[-_][a-z0-9]+)*$"


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class Sourced(_Frozen):
    """A published fact: the key of its source in ``Instrument.sources`` and its status.

    ``verified: false`` means the fact could not be confirmed from a published source; a
    ``note`` must then say what is uncertain.
    """

    source: str
    verified: bool = True
    note: str | None = None

    @model_validator(mode="after")
    def _unverified_needs_note(self) -> Self:
        if not self.verified and not self.note:
            raise ValueError("a fact marked verified: false needs a note saying what is uncertain")
        return self


class Option(_Frozen):
    """One response option: the stored value and the project's own short anchor label."""

    value: int
    label: str = Field(min_length=1)


class OptionsFormat(Sourced):
    """Ordered response options; answers are the ``value`` of the chosen option."""

    kind: Literal["options"]
    options: tuple[Option, ...] = Field(min_length=2)

    @model_validator(mode="after")
    def _ordered(self) -> Self:
        values = [o.value for o in self.options]
        if values != sorted(set(values)):
            raise ValueError(f"option values must be distinct and ascending, got {values}")
        return self

    @property
    def low(self) -> float:
        return float(self.options[0].value)

    @property
    def high(self) -> float:
        return float(self.options[-1].value)

    @property
    def contiguous(self) -> bool:
        """True when the values are every integer from the lowest to the highest."""
        return len(self.options) == self.options[-1].value - self.options[0].value + 1

    def describe(self) -> str:
        return ", ".join(str(o.value) for o in self.options)


class VisualAnalogueFormat(Sourced):
    """A line the respondent marks; the answer is a decimal from ``min`` to ``max``."""

    kind: Literal["visual_analogue"]
    min: float
    max: float
    resolution: float = Field(gt=0, description="precision at which the form captures a mark")
    min_label: str = Field(min_length=1)
    max_label: str = Field(min_length=1)

    @model_validator(mode="after")
    def _range(self) -> Self:
        if not self.min < self.max:
            raise ValueError(f"min ({self.min}) must be below max ({self.max})")
        return self

    @property
    def low(self) -> float:
        return self.min

    @property
    def high(self) -> float:
        return self.max

    def describe(self) -> str:
        return f"a number from {_fmt(self.min)} to {_fmt(self.max)}"


ResponseFormat = Annotated[OptionsFormat | VisualAnalogueFormat, Field(discriminator="kind")]


class RiskRule(Sourced):
    """An answer at or above ``at_or_above`` on this item raises an urgent risk alert."""

    at_or_above: float
    meaning: str = Field(min_length=1)


class Item(_Frozen):
    """One item. ``scales`` lists the scales it counts towards; ``reverse`` flips its value
    (lowest + highest option - answer) before it is added up."""

    id: str
    label: str = Field(min_length=1, description="the project's own short label")
    scales: tuple[str, ...] = ()
    reverse: bool = False
    unscored: str | None = Field(
        default=None, description="why an item that belongs to no scale is asked at all"
    )
    risk: RiskRule | None = None
    response: ResponseFormat | None = Field(
        default=None, description="overrides the instrument's response format for this item"
    )

    @model_validator(mode="after")
    def _scored_or_marked(self) -> Self:
        if not ITEM_ID.match(self.id):
            raise ValueError(f"item id {self.id!r} must look like item_1, item_2, …")
        if not self.scales and not self.unscored:
            raise ValueError(f"{self.id} belongs to no scale; add it to one or say why (unscored)")
        if self.scales and self.unscored:
            raise ValueError(f"{self.id} belongs to scales {list(self.scales)} but is unscored")
        return self


class ScoringOperation(Sourced):
    """How a scale is computed and how many missing items it tolerates.

    ``sum`` and ``mean`` need every item. ``prorated_sum`` is ``sum × n_items / n_answered`` and
    ``prorated_mean`` the mean of the answered items, both allowed while at most
    ``max_missing`` items are missing. ``round`` rounds half away from zero to that many
    decimals when the published rule says so.
    """

    name: OperationName
    max_missing: int = Field(default=0, ge=0)
    round: int | None = Field(default=None, ge=0)
    missing_rule: Literal["published", "project"] = Field(
        default="published",
        description="whose the missing-data limit is: a published rule (the source), or the "
        "project's own choice where none is published",
    )

    @model_validator(mode="after")
    def _missing_needs_proration(self) -> Self:
        if self.name in ("sum", "mean") and self.max_missing:
            raise ValueError(
                f"operation {self.name!r} needs every item; use prorated_{self.name} "
                f"to allow {self.max_missing} missing"
            )
        return self


class Band(_Frozen):
    """A score band: applies from ``min`` (inclusive) up to the next band's ``min``."""

    id: str = Field(pattern=_SLUG)
    min: float
    label: str = Field(min_length=1)


class Bands(Sourced):
    bands: tuple[Band, ...] = Field(min_length=2)

    @model_validator(mode="after")
    def _ascending(self) -> Self:
        mins = [b.min for b in self.bands]
        if mins != sorted(set(mins)):
            raise ValueError(f"band minimums must be distinct and ascending, got {mins}")
        ids = [b.id for b in self.bands]
        if len(set(ids)) != len(ids):
            raise ValueError(f"band ids must be unique, got {ids}")
        return self


class Cutoff(Sourced):
    """A published threshold; ``direction`` says which side of ``value`` is flagged.

    ``verified`` is about the value. ``boundary_verified`` is false when sources agree on the
    value but not on whether the value itself is flagged (the SRS's 36: "below" in one, "at or
    below" in another); the project's choice of ``direction`` is then shown as such.
    """

    id: str = Field(pattern=_SLUG)
    value: float
    direction: CutoffDirection
    meaning: str = Field(min_length=1)
    population: str | None = None
    boundary_verified: bool = True

    @property
    def status(self) -> str:
        """``confirmed``, ``partial`` (value confirmed, boundary not) or ``not confirmed``."""
        if not self.verified:
            return "not confirmed"
        return "confirmed" if self.boundary_verified else "partial"

    def describe(self) -> str:
        """E.g. ``below 36 (value confirmed, boundary partial: the project's choice)``."""
        text = f"{self.direction.replace('_', ' ')} {self.value:g}"
        if self.population:
            text += f" for {self.population}"
        match self.status:
            case "partial":
                return text + " (value confirmed, boundary partial: the project's choice)"
            case "not confirmed":
                return text + " (not confirmed: not applied)"
        return text


class ReliableChange(Sourced):
    """The smallest change in scale points that counts as reliable."""

    value: float = Field(gt=0)
    confidence: float | None = Field(default=None, gt=0, lt=1)


class SessionDrop(Sourced):
    """A fall from the previous session that a published feedback system flags, in scale
    points (OpenFIT: an SRS 1 point or more below the last session)."""

    value: float = Field(gt=0)


class Norm(Sourced):
    """Mean and spread of a scale in a named population (for clinical significance)."""

    population: str = Field(min_length=1)
    mean: float
    sd: float = Field(gt=0)
    n: int | None = Field(default=None, gt=0)


class Scale(Sourced):
    """A scale (subscale or total). Its ``source`` and ``verified`` speak for the scoring key:
    which items belong to it and which are reverse-keyed."""

    id: str = Field(pattern=_SLUG)
    label: str = Field(min_length=1)
    operation: ScoringOperation
    range: tuple[float, float]
    higher_is: Literal["better", "worse"]
    bands: Bands | None = None
    cutoffs: tuple[Cutoff, ...] = ()
    reliable_change: ReliableChange | None = None
    session_drop: SessionDrop | None = None
    norms: tuple[Norm, ...] = ()


class Licence(Sourced):
    status: LicenceStatus
    holder: str | None = None
    terms: str = Field(min_length=1)


class Instrument(_Frozen):
    """A versioned instrument definition."""

    id: str = Field(pattern=_SLUG)
    version: str = Field(pattern=r"^[0-9]+(?:\.[0-9]+){0,2}$")
    title: str = Field(min_length=1)
    kind: Literal["alliance", "outcome"]
    citation: str = Field(min_length=1)
    licence: Licence
    perspectives: tuple[Perspective, ...] = Field(min_length=1)
    recall: str | None = Field(default=None, description="the period the answers refer to")
    sources: dict[str, str] = Field(min_length=1)
    response: ResponseFormat
    items: tuple[Item, ...] = Field(min_length=1)
    scales: tuple[Scale, ...] = Field(min_length=1)
    notes: tuple[str, ...] = ()
    origin: Literal["builtin", "site"] = "builtin"

    @model_validator(mode="after")
    def _consistent(self) -> Self:
        expected = [f"item_{i}" for i in range(1, len(self.items) + 1)]
        got = [item.id for item in self.items]
        if got != expected:
            raise ValueError(f"items must be item_1 … item_{len(self.items)} in order, got {got}")
        if len(set(self.perspectives)) != len(self.perspectives):
            raise ValueError(f"perspectives repeat: {list(self.perspectives)}")
        scale_ids = [s.id for s in self.scales]
        if len(set(scale_ids)) != len(scale_ids):
            raise ValueError(f"scale ids must be unique, got {scale_ids}")
        for item in self.items:
            unknown = [s for s in item.scales if s not in scale_ids]
            if unknown:
                raise ValueError(f"{item.id} names unknown scales {unknown}; scales: {scale_ids}")
            fmt = self.format_of(item)
            if item.risk and not fmt.low <= item.risk.at_or_above <= fmt.high:
                raise ValueError(f"{item.id} risk threshold is outside its response range")
        for scale in self.scales:
            self._check_scale(scale)
        for where, fact in self._facts():
            if fact.source not in self.sources:
                raise ValueError(
                    f"{where} cites source {fact.source!r}, which is not in sources "
                    f"({sorted(self.sources)})"
                )
        return self

    def _check_scale(self, scale: Scale) -> None:
        members = self.items_of(scale.id)
        if not members:
            if scale.verified:
                raise ValueError(f"scale {scale.id!r} has no items")
            return  # an unconfirmed key: the scale is listed but cannot be computed
        if scale.operation.max_missing >= len(members):
            raise ValueError(
                f"scale {scale.id!r} allows {scale.operation.max_missing} missing "
                f"of only {len(members)} items"
            )
        low, high = self.derived_range(scale.id)
        if (low, high) != (scale.range[0], scale.range[1]):
            raise ValueError(
                f"scale {scale.id!r} declares range {_fmt(scale.range[0])}–{_fmt(scale.range[1])} "
                f"but its items and operation give {_fmt(low)}–{_fmt(high)}"
            )
        if scale.bands:
            first, last = scale.bands.bands[0].min, scale.bands.bands[-1].min
            if first > low or last > high:
                raise ValueError(
                    f"scale {scale.id!r} bands must start at or below {_fmt(low)} "
                    f"and lie within {_fmt(low)}–{_fmt(high)}"
                )
        for cutoff in scale.cutoffs:
            if not low <= cutoff.value <= high:
                raise ValueError(f"scale {scale.id!r} cut-off {cutoff.id!r} is outside its range")

    def _facts(self) -> list[tuple[str, Sourced]]:
        facts: list[tuple[str, Sourced]] = [("licence", self.licence), ("response", self.response)]
        for item in self.items:
            if item.risk:
                facts.append((f"{item.id}.risk", item.risk))
            if item.response:
                facts.append((f"{item.id}.response", item.response))
        for s in self.scales:
            facts += [(f"scale {s.id}", s), (f"scale {s.id}.operation", s.operation)]
            if s.bands:
                facts.append((f"scale {s.id}.bands", s.bands))
            facts += [(f"scale {s.id}.cutoffs.{c.id}", c) for c in s.cutoffs]
            if s.reliable_change:
                facts.append((f"scale {s.id}.reliable_change", s.reliable_change))
            if s.session_drop:
                facts.append((f"scale {s.id}.session_drop", s.session_drop))
            facts += [(f"scale {s.id}.norms", n) for n in s.norms]
        return facts

    # -- derived views -------------------------------------------------------------------

    @property
    def key(self) -> tuple[str, str]:
        return (self.id, self.version)

    @property
    def scored(self) -> bool:
        """Whether any of its scales has a confirmed scoring key (else answers are kept but
        not scored)."""
        return any(scale.verified for scale in self.scales)

    @property
    def item_ids(self) -> tuple[str, ...]:
        return tuple(item.id for item in self.items)

    def format_of(self, item: Item) -> OptionsFormat | VisualAnalogueFormat:
        return item.response or self.response

    def items_of(self, scale_id: str) -> tuple[Item, ...]:
        return tuple(item for item in self.items if scale_id in item.scales)

    def scale(self, scale_id: str) -> Scale:
        for scale in self.scales:
            if scale.id == scale_id:
                return scale
        raise KeyError(
            f"{self.id} has no scale {scale_id!r}; scales: {[s.id for s in self.scales]}"
        )

    def derived_range(self, scale_id: str) -> tuple[float, float]:
        """The lowest and highest possible score, from the items and the operation."""
        members = self.items_of(scale_id)
        low = sum(self.format_of(i).low for i in members)
        high = sum(self.format_of(i).high for i in members)
        if self.scale(scale_id).operation.name.endswith("mean"):
            return (low / len(members), high / len(members))
        return (low, high)

    @property
    def risk_items(self) -> tuple[Item, ...]:
        return tuple(item for item in self.items if item.risk)

    def question_name(self, item_id: str) -> str:
        """A question as a person names it: ``PHQ-9 question 9 (thoughts of death or
        self-harm)`` — its place on the form and the project's own short label, never the
        instrument's wording."""
        for number, item in enumerate(self.items, start=1):
            if item.id == item_id:
                label = item.label
                if label[:1].isupper() and label[1:2].islower():  # keep acronyms
                    label = label[0].lower() + label[1:]
                return f"{self.id.upper()} question {number} ({label})"
        raise KeyError(f"{self.id} has no item {item_id!r}")

    @property
    def partial_facts(self) -> list[str]:
        """Facts confirmed only in part: cut-offs whose value is confirmed but whose boundary
        (is the value itself flagged?) is not."""
        return [
            f"scale {s.id}.cutoffs.{c.id}: {c.describe()}" + (f" — {c.note}" if c.note else "")
            for s in self.scales
            for c in s.cutoffs
            if c.status == "partial"
        ]

    @property
    def unverified_facts(self) -> list[str]:
        """Where this definition relies on something not confirmed from a published source."""
        return [f"{where}: {fact.note}" for where, fact in self._facts() if not fact.verified]


def _fmt(value: float) -> str:
    return f"{value:g}"
