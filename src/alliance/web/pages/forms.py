"""The client's form, opened from a single-use link, a QR code or a clinic tablet (kiosk).

It works without JavaScript, shows one instrument, in the client's language when a licensed
wording pack is loaded (with a visible note when the project's own labels are shown instead),
says who sees the answers, confirms receipt, and never shows anything of another client.
"""

from __future__ import annotations

import math
import uuid
from dataclasses import dataclass, replace
from functools import partial
from typing import Any

from fastapi import APIRouter, BackgroundTasks, Request
from fastapi.responses import HTMLResponse

from alliance.instruments.model import Instrument, OptionsFormat
from alliance.instruments.wording import Wording, resolve
from alliance.services.errors import Gone, Invalid, NotFound, RateLimited, ServiceError
from alliance.services.monitoring.notifications import reach
from alliance.services.records import links
from alliance.web.api.deps import AddressDep, ClinicDep, DbDep
from alliance.web.clinic import after_submission
from alliance.web.pages.common import FormDep, Terms, render

router = APIRouter(include_in_schema=False)


@dataclass(frozen=True)
class FormItem:
    id: str
    number: int
    text: str
    kind: str  # "options" or "line"
    options: list[tuple[int, str]]
    low: float
    high: float
    step: float
    low_label: str
    high_label: str
    value: str
    error: str | None
    missing: bool = False  # left unanswered when the form was sent


def form_items(
    inst: Instrument,
    wording: Wording,
    values: dict[str, str],
    errors: dict[str, str],
    missing: set[str] | frozenset[str] = frozenset(),
) -> list[FormItem]:
    items = []
    for number, item in enumerate(inst.items, start=1):
        fmt = inst.format_of(item)
        if isinstance(fmt, OptionsFormat):
            options = list(wording.options[item.id].items())
            kind, step, ends = "options", 1.0, ("", "")
        else:
            options, kind, step = [], "line", fmt.resolution
            ends = wording.anchors[item.id]
        items.append(
            FormItem(
                item.id,
                number,
                wording.items[item.id],
                kind,
                options,
                fmt.low,
                fmt.high,
                step,
                ends[0],
                ends[1],
                values.get(item.id, ""),
                errors.get(item.id),
                item.id in missing,
            )
        )
    return items


def in_words(wording: Wording, terms: Terms) -> Wording:
    """The project's own labels in the organization's words ("Feeling liked by the nurse");
    a licensed wording is shown as it was loaded."""
    if wording.licensed:
        return wording
    return replace(
        wording,
        title=terms.text(wording.title),
        items={key: terms.text(text) for key, text in wording.items.items()},
        options={
            key: {value: terms.text(label) for value, label in labels.items()}
            for key, labels in wording.options.items()
        },
        anchors={key: (terms.text(a), terms.text(b)) for key, (a, b) in wording.anchors.items()},
    )


def parse_answers(
    inst: Instrument, form: dict[str, str]
) -> tuple[dict[str, float | None], dict[str, str]]:
    """Answers from the posted form; text that is not a number is reported per item."""
    answers: dict[str, float | None] = {}
    errors: dict[str, str] = {}
    for item in inst.items:
        raw = form.get(item.id, "").strip().replace(",", ".")
        if raw == "":
            answers[item.id] = None
            continue
        try:
            value = float(raw)
        except ValueError:
            errors[item.id] = "Please choose one of the answers."
            continue
        if not math.isfinite(value):
            errors[item.id] = "Please choose one of the answers."
            continue
        answers[item.id] = int(value) if value.is_integer() else value
    return answers, errors


def _kind_page(
    request: Request, heading: str, message: str, status: int, kiosk: bool = False
) -> HTMLResponse:
    return render(
        request,
        "form_closed.html",
        {"heading": heading, "message": message, "kiosk": kiosk},
        status_code=status,
    )


def _closed(request: Request, exc: ServiceError, kiosk: bool) -> HTMLResponse:
    if isinstance(exc, Gone) and "expired" in exc.message:
        return _kind_page(
            request,
            "This link has expired",
            "Links to the questions work for a few days only. Please ask the "
            "person who sent it for a new one. Nothing you entered before was "
            "lost.",
            410,
            kiosk,
        )
    if isinstance(exc, Gone):
        return _kind_page(
            request,
            "These questions have already been answered",
            "Thank you — your answers were received. Each link works once, so "
            "it cannot be used again.",
            410,
            kiosk,
        )
    if isinstance(exc, RateLimited):
        return _kind_page(
            request,
            "Please try again later",
            "Too many unknown links were opened from this device. Wait a few "
            "minutes, then open your link again.",
            429,
            kiosk,
        )
    return _kind_page(
        request,
        "This link is not known",
        "Please check that the whole link was copied, or ask for a new one.",
        404,
        kiosk,
    )


@router.get("/f/{token}")
def open_form(
    request: Request,
    token: str,
    db: DbDep,
    clinic: ClinicDep,
    address: AddressDep,
    lang: str | None = None,
    kiosk: bool = False,
) -> HTMLResponse:
    try:
        view = links.open_link(db, clinic.registry, token, address=address)
    except (Gone, NotFound, RateLimited) as exc:
        db.commit()
        return _closed(request, exc, kiosk)
    db.commit()
    return _form_page(
        request, clinic, view, token, lang, kiosk, values={}, errors={}, form_key=uuid.uuid4().hex
    )


def _form_page(
    request: Request,
    clinic: Any,
    view: links.LinkView,
    token: str,
    lang: str | None,
    kiosk: bool,
    *,
    values: dict[str, str],
    errors: dict[str, str],
    form_key: str,
    summary: str | None = None,
    missing: set[str] | None = None,
    receipt: dict[str, Any] | None = None,
    status: int = 200,
) -> HTMLResponse:
    terms = Terms.of(view.organization)
    wording = _wording(clinic, view.instrument, lang or view.language, terms)
    items = form_items(view.instrument, wording, values, errors, missing or set())
    return render(
        request,
        "form.html",
        {
            "token": token,
            "kiosk": kiosk,
            "lang": wording.language,
            "wording": wording,
            "instrument": view.instrument,
            "items": items,
            "form_key": form_key,
            "organization": view.organization,
            "clinician_name": view.clinician_name,
            "term": terms,
            "recall": terms.text(view.instrument.recall or "your care"),
            "errors": errors,
            "summary": summary,
            "unanswered": [item for item in items if item.missing],
            "session_date": view.session_date,
            "step": view.step,
            "measures": view.measures,
            "receipt": receipt,
        },
        status_code=status,
    )


def _wording(clinic: Any, inst: Instrument, language: str, terms: Terms) -> Wording:
    return in_words(
        resolve(inst, clinic.wording_packs, language=language, perspective="client"), terms
    )


def _posted_step(form: dict[str, str], view: links.LinkView) -> int:
    raw = form.get("step", "")
    return int(raw) if raw.isdigit() and int(raw) < len(view.measures) else view.step


@router.post("/f/{token}")
def submit_form(
    request: Request,
    token: str,
    db: DbDep,
    clinic: ClinicDep,
    address: AddressDep,
    form: FormDep,
    background: BackgroundTasks,
) -> HTMLResponse:
    """One measure of the link sent: stored at once (with its risk alerts), then the next
    measure's form, or the receipt after the last."""
    kiosk = form.get("kiosk") == "1"
    lang = form.get("lang") or None
    form_key = form.get("form_key") or uuid.uuid4().hex
    try:
        view = links.open_link(db, clinic.registry, token, address=address, for_submission=True)
    except (Gone, NotFound, RateLimited) as exc:
        db.commit()
        return _closed(request, exc, kiosk)
    step = _posted_step(form, view)
    page = partial(_form_page, request, clinic, view, token, lang, kiosk)
    if view.link.used_at is None and step != view.step:
        db.rollback()  # a page of an earlier measure, sent again: the one due is shown
        return page(values={}, errors={}, form_key=uuid.uuid4().hex)
    inst = view.measures[step]
    answers, errors = parse_answers(inst, form)
    values = {item.id: form.get(item.id, "") for item in inst.items}
    if errors:
        db.rollback()
        return page(
            values=values,
            errors=errors,
            form_key=form_key,
            status=422,
            summary="Some answers could not be read.",
        )
    missing = {item.id for item in inst.items if answers[item.id] is None and item.scales}
    if missing and form.get("send_anyway") != "1" and len(missing) < len(inst.items):
        db.rollback()
        return page(values=values, errors={}, form_key=form_key, missing=missing)
    terms = Terms.of(view.organization)
    wording = _wording(clinic, inst, lang or view.language, terms)
    try:
        result = links.submit_via_link(
            db,
            clinic.registry,
            token,
            answers=answers,
            idempotency_key=form_key,
            address=address,
            language=wording.language,
            licensed_wording=wording.licensed,
            step=step,
        )
    except Invalid as exc:
        db.rollback()
        item_id = (exc.field or "").removeprefix("answers.")
        message = (
            "Please answer at least one question."
            if exc.field == "answers"
            else "This answer is not one of the choices."
        )
        return page(
            values=values,
            errors={item_id: message} if item_id in values else {},
            form_key=form_key,
            summary=message,
            status=422,
        )
    except (Gone, NotFound, RateLimited) as exc:
        db.rollback()
        return _closed(request, exc, kiosk)
    db.commit()
    if result.created:
        background.add_task(after_submission, clinic, result.client_id)
    risk = bool(result.risk_items)
    told = reach(
        db,
        view.organization.id,
        result.administration.id,
        mail_ready=clinic.mailer is not None,
    )
    db.commit()
    receipt = {
        "risk": risk,
        # a risk question left empty
        "risk_skipped": not risk and any(answers.get(i.id) is None for i in inst.risk_items),
        "told": told.told,
        "crisis_contacts": told.crisis_contacts,
        "answered": terms.text(wording.title),
    }
    if step + 1 < len(view.measures):  # the next measure, on the same link
        following = replace(view, instrument=view.measures[step + 1], step=step + 1)
        return _form_page(
            request,
            clinic,
            following,
            token,
            lang,
            kiosk,
            values={},
            errors={},
            form_key=uuid.uuid4().hex,
            receipt=receipt,
        )
    return render(
        request,
        "form_done.html",
        {
            "kiosk": kiosk,
            "organization": view.organization,
            "term": terms,
            "clinician_name": view.clinician_name,
            "lang": wording.language,
            **receipt,
        },
    )
