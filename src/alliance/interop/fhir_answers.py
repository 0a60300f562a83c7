"""The answers of a QuestionnaireResponse as an instrument's item values.

An answered item is found by our linkId (``item_3``) or, for an instrument with a LOINC form
(:mod:`fhir_loinc`), by the LOINC question code as the linkId (``44259-0``, or the path style
``/44249-1/44259-0``), at any depth of groups. An option is given as ``valueCoding`` — the
project's ``answer-value`` code (the option value), the option value with no system, or the
LOINC answer code (``LA6570-1``) of that question — or as ``valueInteger``/``valueDecimal``.
The LOINC form's calculated total is skipped (the score is recomputed from the answers).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

from fhir.resources.R4B.questionnaireresponse import (
    QuestionnaireResponse,
    QuestionnaireResponseItem,
)

from alliance.instruments.model import Instrument, OptionsFormat
from alliance.interop.fhir_loinc import form
from alliance.interop.fhir_terms import LOINC, code_system, site_urls

Bad = Callable[..., None]


def _flat(items: list[QuestionnaireResponseItem] | None, path: str) -> Iterator[tuple[str, Any]]:
    for n, item in enumerate(items or []):
        here = f"{path}[{n}]"
        yield here, item
        yield from _flat(item.item, f"{here}.item")
        for m, answer in enumerate(item.answer or []):
            yield from _flat(answer.item, f"{here}.answer[{m}].item")


def read_answers(
    response: QuestionnaireResponse, inst: Instrument, base_url: str, bad: Bad
) -> dict[str, float | None]:
    """Every item's value (``None`` when unanswered); each problem is reported to ``bad``."""
    loinc = form(inst.id)
    answers: dict[str, float | None] = dict.fromkeys(inst.item_ids)
    seen: set[str] = set()
    for path, item in _flat(response.item, "item"):
        link = str(item.linkId)
        if not item.answer:
            continue  # a group, or a question left unanswered
        item_id = link if link in inst.item_ids else (loinc.item_of(link) if loinc else None)
        if item_id is None:
            if loinc is not None and loinc.is_score(link):
                continue  # the form's own total: we score the answers ourselves
            allowed = f"item_1 … item_{len(inst.items)}"
            if loinc is not None:
                allowed += " or the LOINC question codes of " + inst.id
            bad(f"not an item of {inst.id}", f"{path}.linkId", link, allowed)
            continue
        if item_id in seen:
            bad("the item is answered twice", f"{path}.linkId", link)
            continue
        seen.add(item_id)
        if len(item.answer) > 1:
            bad("one answer per item", f"{path}.answer", len(item.answer))
            continue
        fmt = inst.format_of(inst.items[inst.item_ids.index(item_id)])
        answer = item.answer[0]
        value: float | None = None
        where = f"{path}.answer[0]"
        if answer.valueCoding is not None:
            coding = answer.valueCoding
            if coding.system == LOINC and loinc is not None:
                found = loinc.value_of(item_id, str(coding.code))
                if found is None:
                    allowed = ", ".join(loinc.answers.get(item_id) or ()) or "none"
                    bad("not a LOINC answer of this question", f"{where}.valueCoding.code",
                        coding.code, allowed)  # fmt: skip
                    continue
                value = float(found)
            elif coding.system not in (None, *site_urls("CodeSystem", "answer-value", base_url)):
                allowed = code_system("answer-value")
                if loinc is not None:
                    allowed += f" or {LOINC}"
                bad("unknown answer code system", f"{where}.valueCoding.system", coding.system,
                    allowed)  # fmt: skip
                continue
            else:
                try:
                    value = float(str(coding.code))
                except ValueError:
                    bad("not an option value", f"{where}.valueCoding.code", coding.code,
                        fmt.describe())  # fmt: skip
                    continue
        elif answer.valueInteger is not None:
            value = float(answer.valueInteger)
        elif answer.valueDecimal is not None:
            value = float(answer.valueDecimal)
        else:
            bad("answer must be valueCoding, valueInteger or valueDecimal", where)
            continue
        if isinstance(fmt, OptionsFormat):
            if value not in [o.value for o in fmt.options]:
                bad("not an allowed value", where, f"{value:g}", fmt.describe())
                continue
        elif not fmt.min <= value <= fmt.max:
            bad("out of range", where, f"{value:g}", fmt.describe())
            continue
        answers[item_id] = value
    return answers
