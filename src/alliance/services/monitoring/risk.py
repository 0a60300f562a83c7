"""The text of an urgent risk alert. A risk answer always raises one at submission, before and
apart from any other analysis; nothing suppresses it."""

from __future__ import annotations

from alliance.feedback.guidance import GUIDANCE
from alliance.instruments.model import Instrument, Item, OptionsFormat


def answer_text(inst: Instrument, item: Item, value: float) -> str:
    """The answer as the form showed it: ``2 (On most days)``, or the number for a line."""
    fmt = inst.format_of(item)
    number = f"{value:g}"
    if isinstance(fmt, OptionsFormat):
        for option in fmt.options:
            if option.value == value:
                return f"{number} ({option.label})"
    return number


def risk_alert_text(
    inst: Instrument,
    answers: dict[str, float | None],
    risk_items: list[str],
    *,
    session_number: int | None = None,
) -> tuple[str, list[str], str]:
    """The reason (with the answers), the next steps and the basis: the same-day urgent rule,
    which is the project's (derived), and the instrument's source for the risk item."""
    parts, sources = [], set()
    for item in inst.risk_items:
        if item.id not in risk_items or item.risk is None:
            continue
        value = answers.get(item.id)
        shown = "?" if value is None else answer_text(inst, item, value)
        parts.append(
            f"{inst.question_name(item.id)} answered {shown}, at or above "
            f"{item.risk.at_or_above:g}: {item.risk.meaning}"
        )
        sources.add(inst.sources[item.risk.source])
    where = f" in session {session_number}" if session_number is not None else ""
    reason = f"Risk item answered{where}: " + "; ".join(parts)
    steps = [step.text for step in GUIDANCE["risk_item"]]
    provenance = (
        "derived: the project's rule, an urgent alert followed up the same day for any answer "
        "at or above the risk item's threshold; the risk item itself is published: "
        + "; ".join(sorted(sources))
    )
    return reason, steps, provenance


def unanswered_risk_text(
    inst: Instrument, unanswered: list[str], *, session_number: int | None = None
) -> tuple[str, list[str], str]:
    """The reason, next steps and basis of the alert for a risk item left empty."""
    labels = [inst.question_name(i.id) for i in inst.risk_items if i.id in unanswered]
    where = f" in session {session_number}" if session_number is not None else ""
    reason = (
        f"Risk item left unanswered{where}: " + "; ".join(labels) + ". The form cannot tell "
        "whether there is risk."
    )
    steps = [step.text for step in GUIDANCE["risk_unanswered"]]
    return reason, steps, "derived: the project's rule (an unanswered risk item is not a no)"
