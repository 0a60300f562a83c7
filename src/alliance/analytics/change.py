"""Reliable and clinically significant change (Jacobson & Truax, 1991).

Formulas (Jacobson & Truax, 1991, J Consult Clin Psychol 59:12–19, with the standard error of
the difference of Christensen & Mendoza, 1986):

- standard error of measurement ``SE = SD₁·√(1 − r)``, with ``SD₁`` the spread of baseline
  (pre-treatment) scores in a reference sample and ``r`` the scale's reliability;
- standard error of the difference ``S_diff = √(2·SE²)``;
- ``RCI = (x₂ − x₁) / S_diff``; the change is reliable when ``|RCI| > z`` (z = 1.96 for 95%),
  so the smallest reliable change in scale points is just above ``z·S_diff``;
- clinical-significance cut-offs, for a scale where higher is worse:
  ``a = M_clin − 2·SD_clin``, ``b = M_func + 2·SD_func``,
  ``c = (SD_clin·M_func + SD_func·M_clin) / (SD_clin + SD_func)``; signs flip where higher is
  better.

Checked against: the worked figure in the CECPfuns documentation (SD 7.5, r = .80 → 9.30
points), hand computations with unequal clinical and functional SDs (``b`` uses the
*functional* SD, as Jacobson & Truax define it — one R package uses the clinical SD there),
and the outcome categories of the ``clinicalsignificance`` R package (improved, recovered,
unchanged, deteriorated). See ``tests/analytics/test_change.py``.

Reliable-change values stored in an instrument definition (``Scale.reliable_change``) are
the smallest change that counts (for example NHS Talking Therapies: a PHQ-9 drop of 6 or
more); only confirmed values (``verified: true``) are applied.

**Recovered** uses one convention end to end: the reliable-change value and the caseness
cut-off of the same source (:func:`recovery_cutoff`). For the PHQ-9 and the GAD-7 that is NHS
Talking Therapies (IAPT): a case at intake (PHQ-9 ≥ 10, GAD-7 ≥ 8) that improves by the
reliable change (6, 4) and ends below caseness (< 10, < 8). The GAD-7's other cut-off (≥ 10,
Spitzer et al. 2006) is a screening threshold and is not mixed in.

A reliable-change value computed from a file's own data never falls below
:func:`resolution_floor`, the error of reading each answer to its step.
"""

from __future__ import annotations

import itertools
import math
from typing import Literal

import numpy as np
import numpy.typing as npt

from alliance.instruments.model import Cutoff, CutoffDirection, Instrument, OptionsFormat, Scale

ChangeCategory = Literal["recovered", "improved", "unchanged", "deteriorated"]
CATEGORIES: tuple[ChangeCategory, ...] = ("recovered", "improved", "unchanged", "deteriorated")


def standard_error_of_difference(sd: float, reliability: float) -> float:
    """``S_diff = SD·√(2(1 − r))``."""
    _check_sd_r(sd, reliability)
    return sd * math.sqrt(2.0 * (1.0 - reliability))


def reliable_change_value(sd: float, reliability: float, *, z: float = 1.96) -> float:
    """Smallest reliable change in scale points, ``z·S_diff`` (a change must exceed it).

    >>> round(reliable_change_value(7.5, 0.80), 2)
    9.3
    """
    if not z > 0:
        raise ValueError(f"z must be positive; got {z!r}")
    return z * standard_error_of_difference(sd, reliability)


def rci(
    before: npt.ArrayLike, after: npt.ArrayLike, *, sd: float, reliability: float
) -> npt.NDArray[np.float64]:
    """Jacobson–Truax reliable change index ``(after − before) / S_diff`` per pair."""
    s_diff = standard_error_of_difference(sd, reliability)
    diff = np.asarray(after, dtype=np.float64) - np.asarray(before, dtype=np.float64)
    return np.asarray(diff / s_diff)


def clinical_cutoffs(
    *,
    clinical_mean: float,
    clinical_sd: float,
    functional_mean: float,
    functional_sd: float,
    higher_is: Literal["better", "worse"],
) -> dict[str, float]:
    """Cut-offs ``a``, ``b`` and ``c`` of Jacobson & Truax (1991).

    >>> clinical_cutoffs(clinical_mean=20, clinical_sd=5, functional_mean=5, functional_sd=3,
    ...                  higher_is="worse")
    {'a': 10.0, 'b': 11.0, 'c': 10.625}
    """
    for name, value in (("clinical_sd", clinical_sd), ("functional_sd", functional_sd)):
        if not value > 0:
            raise ValueError(f"{name} must be positive; got {value!r}")
    if higher_is not in ("better", "worse"):
        raise ValueError(f"higher_is must be 'better' or 'worse'; got {higher_is!r}")
    toward_function = -1.0 if higher_is == "worse" else 1.0
    a = clinical_mean + toward_function * 2.0 * clinical_sd
    b = functional_mean - toward_function * 2.0 * functional_sd
    c = (clinical_sd * functional_mean + functional_sd * clinical_mean) / (
        clinical_sd + functional_sd
    )
    return {"a": float(a), "b": float(b), "c": float(c)}


def classify_change(
    before: npt.ArrayLike,
    after: npt.ArrayLike,
    *,
    min_change: float,
    higher_is: Literal["better", "worse"],
    clinical: tuple[float, CutoffDirection] | None = None,
    strict: bool = False,
) -> npt.NDArray[np.object_]:
    """Jacobson–Truax category per pair: ``recovered`` (reliably improved and moved from the
    clinical to the other side of the cut-off), ``improved``, ``unchanged``,
    ``deteriorated``; None where either score is missing.

    ``min_change`` is the smallest change that counts; with ``strict=True`` a change must
    exceed it (use this with a computed ``z·S_diff``). ``clinical`` is a cut-off and the side
    it flags as clinical, e.g. ``(10, "at_or_above")`` for PHQ-9 caseness.
    """
    if not min_change > 0:
        raise ValueError(f"min_change must be positive; got {min_change!r}")
    if higher_is not in ("better", "worse"):
        raise ValueError(f"higher_is must be 'better' or 'worse'; got {higher_is!r}")
    x1 = np.asarray(before, dtype=np.float64)
    x2 = np.asarray(after, dtype=np.float64)
    gain = (x2 - x1) * (1.0 if higher_is == "better" else -1.0)
    with np.errstate(invalid="ignore"):
        reliable = np.abs(gain) > min_change if strict else np.abs(gain) >= min_change
        improved = reliable & (gain > 0)
        worse = reliable & (gain < 0)
    out = np.full(x1.shape, "unchanged", dtype=object)
    out[improved] = "improved"
    out[worse] = "deteriorated"
    if clinical is not None:
        value, direction = clinical
        recovered = improved & flagged(x1, value, direction) & ~flagged(x2, value, direction)
        out[recovered] = "recovered"
    out[np.isnan(x1) | np.isnan(x2)] = None
    return out


def flagged(
    values: npt.NDArray[np.float64], value: float, direction: CutoffDirection
) -> npt.NDArray[np.bool_]:
    """Scores on the flagged side of a cut-off (False where missing)."""
    with np.errstate(invalid="ignore"):
        match direction:
            case "below":
                return np.asarray(values < value)
            case "at_or_below":
                return np.asarray(values <= value)
            case "at_or_above":
                return np.asarray(values >= value)
            case "above":
                return np.asarray(values > value)
    raise ValueError(f"unknown cut-off direction {direction!r}")


def confirmed_reliable_change(scale: Scale) -> float | None:
    """The scale's reliable-change value when it is confirmed (``verified: true``)."""
    rc = scale.reliable_change
    return rc.value if rc is not None and rc.verified else None


def confirmed_session_drop(scale: Scale) -> float | None:
    """The scale's published session-to-session drop rule when it is confirmed."""
    drop = scale.session_drop
    return drop.value if drop is not None and drop.verified else None


def _worse_side(scale: Scale) -> tuple[CutoffDirection, ...]:
    return ("below", "at_or_below") if scale.higher_is == "better" else ("at_or_above", "above")


def confirmed_cutoff(scale: Scale) -> Cutoff | None:
    """The first confirmed cut-off (its value confirmed; the boundary may be only partly
    so, see ``Cutoff.status``) that flags the worse side of the scale, if any."""
    for cutoff in scale.cutoffs:
        if cutoff.verified and cutoff.direction in _worse_side(scale):
            return cutoff
    return None


def confirmed_clinical_cutoff(scale: Scale) -> tuple[float, CutoffDirection] | None:
    """:func:`confirmed_cutoff` as ``(value, direction)``."""
    cutoff = confirmed_cutoff(scale)
    return None if cutoff is None else (cutoff.value, cutoff.direction)


def recovery_cutoff(scale: Scale) -> Cutoff | None:
    """The caseness cut-off that goes with the scale's confirmed reliable-change value for
    "recovered": a confirmed worse-side cut-off from the same source, so that one convention
    is used end to end (NHS Talking Therapies for the PHQ-9, < 10, and the GAD-7, < 8; the
    CORE-10's Barkham et al. 2013, < 11). None when no cut-off shares the value's source:
    then no change is called recovered."""
    rc = scale.reliable_change
    if rc is None or not rc.verified:
        return None
    for cutoff in scale.cutoffs:
        if (
            cutoff.verified
            and cutoff.source == rc.source
            and cutoff.direction in _worse_side(scale)
        ):
            return cutoff
    return None


def item_step(instrument: Instrument, item_id: str) -> float:
    """The smallest difference an item's answers can show: the smallest gap between its
    option values, or a line's resolution."""
    fmt = instrument.format_of(instrument.items[instrument.item_ids.index(item_id)])
    if isinstance(fmt, OptionsFormat):
        values = [o.value for o in fmt.options]
        return float(min(b - a for a, b in itertools.pairwise(values)))
    return float(fmt.resolution)


def resolution_floor(instrument: Instrument, scale: Scale, *, z: float = 1.96) -> float:
    """The smallest reliable change the scale's resolution allows [DERIVED].

    Each answer is read to its item's step ``h`` (one option, or a line's resolution), which
    adds reading error of variance ``h²/12`` (a uniform rounding error) that no reliability
    estimate can remove. For a sum of ``k`` items ``SEM ≥ √(Σ h²/12)`` (divided by ``k`` for
    a mean), so ``z·√2·SEM`` is the least change that can be reliable: 2.77 points on the
    WAI-SR (12 items, steps of 1), 0.16 on the SRS (4 lines read to 0.1).

    >>> from alliance.instruments.registry import builtin_registry
    >>> wai = builtin_registry().get("wai-sr")
    >>> round(resolution_floor(wai, wai.scale("total")), 2)
    2.77
    """
    members = instrument.items_of(scale.id)
    if not members:
        raise ValueError(f"scale {scale.id!r} of {instrument.id} has no items")
    sem = math.sqrt(sum(item_step(instrument, i.id) ** 2 for i in members) / 12.0)
    if scale.operation.name.endswith("mean"):
        sem /= len(members)
    return z * math.sqrt(2.0) * sem


def _check_sd_r(sd: float, reliability: float) -> None:
    if not sd > 0:
        raise ValueError(f"sd must be positive; got {sd!r}")
    if not 0 <= reliability < 1:
        raise ValueError(f"reliability must be from 0 to below 1; got {reliability!r}")
