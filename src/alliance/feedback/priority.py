"""How urgent a fall is: an alert's priority grows with the size of the fall, counted in
reliable changes.

A rule that flags a fall (from the previous rating, from the client's own baseline, beyond
reliable change, a reliable deterioration of an outcome) fires at its limit: the
instrument's reliable-change value, or k × the client's own spread for the baseline rule
(the within-client analogue of reliable change, Jacobson & Truax 1991; Stiles et al. 2004),
or the published drop of a feedback system (OpenFIT's one SRS point). A 4.9-point dip just
past a 4.2-point limit and a fall from 60 to 30 both cross it, but they do not call for the
same haste.

The size of a fall is ``|change| / limit``: 1 at the limit, 2 at twice it. The rule's
configured severity (the organization's setting) is the priority of a clear fall, at least
:data:`CLEAR` limits; a smaller one gets one level less, and one below the limit (possible
only where a site set a limit of its own) two levels less, never below ``low``. The
configured severity is a ceiling, so an admin who sets ``medium`` never sees ``high``; and
``urgent`` stays the risk rule's alone. The cut at twice the limit is the project's choice
[DERIVED]: a fall of two reliable changes is well beyond what measurement error explains.
"""

from __future__ import annotations

import math

from alliance.analytics.detector import SEVERITIES, Severity

GRADED_RULES = frozenset(
    {"drop_from_previous", "drop_from_baseline", "reliable_drop", "outcome_deterioration"}
)
"""Rules whose alerts are graded by the size of the fall."""

CLEAR = 2.0
"""A fall of at least this many limits keeps the rule's configured severity."""


def fall_size(change: float | None, limit: float | None) -> float | None:
    """``|change| / limit``, or None when either is missing or the limit is not positive.

    >>> fall_size(-30, 4.2) > 7
    True
    >>> fall_size(-4.9, 4.2) < 1.2
    True
    """
    if change is None or limit is None:
        return None
    change, limit = float(change), float(limit)
    if not (math.isfinite(change) and math.isfinite(limit)) or limit <= 0:
        return None
    return abs(change) / limit


def graded_priority(configured: Severity, size: float | None) -> Severity:
    """The priority of a fall of ``size`` limits under a rule configured ``configured``.

    ``size`` None (no limit known) keeps the configured severity.

    >>> graded_priority("high", 7.1), graded_priority("high", 1.2), graded_priority("high", 0.5)
    ('high', 'medium', 'low')
    """
    if configured not in SEVERITIES:
        raise ValueError(
            f"configured severity must be one of {', '.join(SEVERITIES)}; got {configured!r}"
        )
    if size is None or not math.isfinite(size):
        return configured
    if size < 0:
        raise ValueError(f"a fall's size is not negative; got {size!r}")
    down = 0 if size >= CLEAR else 1 if size >= 1 else 2
    return SEVERITIES[min(SEVERITIES.index(configured) + down, len(SEVERITIES) - 1)]
