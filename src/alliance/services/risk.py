"""The text of an urgent risk alert. A risk answer always raises one; nothing suppresses it."""

from __future__ import annotations

from alliance.instruments.model import Instrument


def risk_alert_text(
    inst: Instrument, answers: dict[str, float | None], risk_items: list[str]
) -> tuple[str, list[str], str]:
    parts, sources = [], set()
    for item in inst.risk_items:
        if item.id not in risk_items or item.risk is None:
            continue
        parts.append(
            f"{inst.id} {item.id} ({item.label}) answered {answers.get(item.id):g}, at or above "
            f"{item.risk.at_or_above:g}: {item.risk.meaning}"
        )
        sources.add(inst.sources[item.risk.source])
    reason = "Risk item answered: " + "; ".join(parts)
    steps = [
        "Follow your service's risk protocol today: contact the client and assess their "
        "safety; do not wait for the next session.",
        "Talk about the answer openly with the client and agree a safety plan together.",
        "Record the assessment and tell your supervisor or the duty clinician.",
    ]
    return reason, steps, "; ".join(sorted(sources))
