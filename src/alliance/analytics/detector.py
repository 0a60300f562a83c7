"""The common base of every detector, and the shape of the signals they return.

A detector is a small object whose keyword-only constructor arguments are its whole
configuration (the scikit-learn convention): ``__init__`` only stores them; they are checked
against the class's declared :class:`Param` list when the detector is used, and the same list
describes them to an administrator (name, meaning, allowed values, default).

``detect(tidy)`` returns one row per signal with :data:`SIGNAL_COLUMNS`:

- where: ``client, episode, session, date, instrument, scale, perspective, clinician``;
- what: ``rule``, ``severity`` (``urgent`` > ``high`` > ``medium`` > ``low``);
- the numbers behind it: ``value`` (the rating), ``reference`` (what it was compared with: the
  previous rating, the baseline mean, a cut-off, the expected score…), ``change``
  (``value − reference``), ``threshold`` (the limit that was crossed), ``spread`` (the SD used,
  when one was), ``since_session`` (where an episode began, for repairs and deterioration);
- ``provenance``: where the rule comes from — ``published`` (a named source), ``open-source``
  (a named implementation), or ``derived`` (the project's own synthesis, never presented as
  a published rule).
"""

from __future__ import annotations

import inspect
import math
from abc import ABC, abstractmethod
from dataclasses import dataclass
from typing import Any, ClassVar, Literal

import numpy as np
import pandas as pd

from alliance.analytics.series import IntArray, Ordered, order_series

Severity = Literal["urgent", "high", "medium", "low"]
SEVERITIES: tuple[Severity, ...] = ("urgent", "high", "medium", "low")

SIGNAL_COLUMNS = (
    "client",
    "episode",
    "session",
    "date",
    "instrument",
    "scale",
    "perspective",
    "clinician",
    "rule",
    "severity",
    "value",
    "reference",
    "change",
    "threshold",
    "spread",
    "since_session",
    "provenance",
)


@dataclass(frozen=True)
class Param:
    """One configuration parameter: its meaning and what values it allows."""

    name: str
    meaning: str
    kind: Literal["number", "integer", "choice", "text", "detector", "data"]
    low: float | None = None
    high: float | None = None
    choices: tuple[str, ...] = ()
    optional: bool = False  # None is allowed (and means what ``meaning`` says)
    of: type | None = None  # for kind "data": the class a value must be
    unit: str = ""  # what a number counts ("scale points", "sessions"), shown with its range

    def allowed(self) -> str:
        match self.kind:
            case "number" | "integer":
                what = "a whole number" if self.kind == "integer" else "a number"
                text = f"{what} from {self.low:g} to {self.high:g}"
                if self.unit:
                    text += f" {self.unit}"
            case "choice":
                text = "one of " + ", ".join(self.choices)
            case "text":
                text = "text"
            case "detector":
                text = "a rupture detector"
            case "data":
                text = f"a {self.of.__name__ if self.of else 'value'}"
        return f"{text}, or empty" if self.optional else text

    def _number_ok(self, value: object) -> bool:
        if isinstance(value, bool) or not isinstance(value, int | float):
            return False
        x = float(value)
        if not math.isfinite(x) or (self.kind == "integer" and x != int(x)):
            return False
        return (self.low is None or x >= self.low) and (self.high is None or x <= self.high)

    def check(self, owner: str, value: object) -> None:
        if value is None and self.optional:
            return
        ok = False
        match self.kind:
            case "number" | "integer":
                ok = self._number_ok(value)
            case "choice":
                ok = value in self.choices
            case "text":
                ok = isinstance(value, str) and bool(value)
            case "detector":
                ok = isinstance(value, Detector)
            case "data":
                ok = self.of is not None and isinstance(value, self.of)
        if not ok:
            raise ValueError(
                f"{owner}: parameter {self.name} must be {self.allowed()}; got {value!r}"
            )


SEVERITY_PARAM = Param(
    "severity", "how urgent the signal is (becomes the alert's priority)", "choice",
    choices=SEVERITIES[1:],
)  # fmt: skip
INSTRUMENT_PARAM = Param(
    "instrument", "the instrument to watch; empty means every instrument of this kind", "text",
    optional=True,
)  # fmt: skip
SCALE_PARAM = Param("scale", "the scale to watch (usually total)", "text")
PERSPECTIVE_PARAM = Param(
    "perspective", "whose ratings to watch", "choice", choices=("client", "clinician", "observer")
)


class Detector(ABC):
    """Base of every detector: parameters, their check, and ``detect``."""

    rule: ClassVar[str]
    provenance: ClassVar[str]
    params: ClassVar[tuple[Param, ...]]
    severity: Severity

    def get_params(self) -> dict[str, Any]:
        return {p.name: getattr(self, p.name) for p in self.params}

    @classmethod
    def defaults(cls) -> dict[str, Any]:
        signature = inspect.signature(cls.__init__)
        return {p.name: signature.parameters[p.name].default for p in cls.params}

    def check_params(self) -> None:
        for p in self.params:
            p.check(type(self).__name__, getattr(self, p.name))

    def detect(self, data: pd.DataFrame | Ordered) -> pd.DataFrame:
        """Signals found in a tidy score table (or one already ordered by
        :func:`~alliance.analytics.series.order_series`); columns :data:`SIGNAL_COLUMNS`."""
        ordered = data if isinstance(data, Ordered) else order_series(data)
        return self.signals(ordered).reset_index(drop=True)

    def signals(self, ordered: Ordered) -> pd.DataFrame:
        """Like :meth:`detect` on ordered data, but each signal's index is the position of
        its rating in series order (for rules that build on other rules' signals)."""
        self.check_params()
        return self._detect(ordered)

    @abstractmethod
    def _detect(self, ordered: Ordered) -> pd.DataFrame: ...

    def _signals(
        self,
        ordered: Ordered,
        rows: IntArray,
        *,
        value: Any,
        provenance: str | None = None,
        severity: Severity | None = None,
        **numbers: Any,
    ) -> pd.DataFrame:
        """This rule's signals for ``rows`` (:func:`signals_frame`), with its own severity
        and provenance unless the finding calls for others."""
        return signals_frame(
            ordered,
            rows,
            rule=self.rule,
            severity=severity or self.severity,
            provenance=provenance or self.provenance,
            value=value,
            **numbers,
        )

    def __repr__(self) -> str:
        args = ", ".join(f"{k}={v!r}" for k, v in self.get_params().items())
        return f"{type(self).__name__}({args})"


def signals_frame(
    ordered: Ordered,
    rows: IntArray,
    *,
    rule: str,
    severity: str,
    provenance: str,
    value: Any,
    reference: Any = np.nan,
    threshold: Any = np.nan,
    spread: Any = np.nan,
    since_session: Any = np.nan,
) -> pd.DataFrame:
    """Build the signals for ``rows`` (positions in series order); array arguments are
    per row, scalars are broadcast. The frame is built in one go: adding columns one by one
    costs more than the detection itself for a single client."""
    n = len(rows)
    if n == 0:
        return empty_signals()
    columns: dict[str, Any] = dict(ordered.meta_columns(rows))

    def column(v: Any) -> Any:
        return np.broadcast_to(np.asarray(v, dtype=np.float64), (n,)).copy()

    values, references = column(value), column(reference)
    columns.update(
        rule=np.full(n, rule, dtype=object),
        severity=np.full(n, severity, dtype=object),
        value=values,
        reference=references,
        change=values - references,
        threshold=column(threshold),
        spread=column(spread),
        since_session=column(since_session),
        provenance=np.full(n, provenance, dtype=object),
    )
    data = {
        name: columns[name] if name in columns else np.full(n, None, dtype=object)
        for name in SIGNAL_COLUMNS
    }
    data["session"] = np.asarray(data["session"], dtype=np.int64)
    return pd.DataFrame(data, index=pd.Index(rows), copy=False)


_EMPTY = pd.DataFrame({c: pd.Series(dtype=object) for c in SIGNAL_COLUMNS})


def empty_signals() -> pd.DataFrame:
    return _EMPTY.copy()


def concat_signals(parts: list[pd.DataFrame]) -> pd.DataFrame:
    """Signals of several parts, keeping each signal's index (its rating's position)."""
    parts = [p for p in parts if len(p)]
    return pd.concat(parts) if parts else empty_signals()
