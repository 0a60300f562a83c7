"""The admin's section for the organization's alert rules: every parameter with its meaning,
a control of its kind (a switch, a choice, a number with its unit and range), its default and
the rule's provenance. A save says which values changed; a refused one names every value
refused and why, and stores none."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response

from alliance.feedback.config import ALWAYS_ON, describe_parameters
from alliance.services.accounts import organization
from alliance.services.accounts.access import require_role
from alliance.services.errors import ServiceError
from alliance.services.monitoring.analysis import config_of
from alliance.store.models import Organization
from alliance.web.api.deps import ClinicDep, DbDep
from alliance.web.pages.admin import refusal, show_section
from alliance.web.pages.common import FormDep, Page, PageDep, check_csrf, redirect

router = APIRouter(include_in_schema=False)


@dataclass(frozen=True)
class RuleParameter:
    rule: str
    name: str
    meaning: str
    allowed: str
    default: Any
    current: Any
    provenance: str
    control: dict[str, Any]

    @property
    def field(self) -> str:
        return f"{self.rule}.{self.name}"

    @property
    def id(self) -> str:
        return f"rule-{self.rule}-{self.name}"

    @property
    def locked(self) -> bool:
        return self.rule in ALWAYS_ON

    @property
    def title(self) -> str:
        return self.rule.replace("_", " ")

    @property
    def kind(self) -> str:
        return str(self.control["kind"])

    @property
    def step(self) -> str:
        return "1" if self.kind == "integer" else "any"


def rule_rows(org: Organization) -> list[RuleParameter]:
    current = config_of(org).to_dict()["rules"]
    return [
        RuleParameter(
            p["rule"],
            p["parameter"],
            p["meaning"],
            p["allowed"],
            p["default"],
            current.get(p["rule"], {}).get(p["parameter"], p["default"]),
            p["provenance"],
            p["control"],
        )
        for p in describe_parameters()
    ]


def _read(row: RuleParameter, raw: str, instruments: list[str]) -> Any:
    """A posted value in the parameter's type; ValueError says why it is refused."""
    text = raw.strip()
    control = row.control
    if row.kind == "boolean":
        if text not in ("true", "false"):
            raise ValueError(f"{text!r} is not on or off")
        return text == "true"
    if text == "":
        if control["optional"]:
            return None
        raise ValueError("a value is needed")
    if row.kind in ("number", "integer"):
        try:
            number = float(text)
        except ValueError:
            raise ValueError(f"{text!r} is not a number") from None
        if not math.isfinite(number):
            raise ValueError(f"{text!r} is not a number")
        if row.kind == "integer":
            if number != int(number):
                raise ValueError(f"{text!r} is not a whole number")
            number = int(number)
        low, high = control["low"], control["high"]
        if (low is not None and number < low) or (high is not None and number > high):
            raise ValueError(f"{text} is out of range")
        return number
    if row.kind == "choice" and text not in control["choices"]:
        raise ValueError(f"{text!r} is not one of the choices")
    if row.name == "instrument" and text not in instruments:
        raise ValueError(f"{text!r} is not an instrument of this site")
    return text


def _shown(value: Any) -> str:
    if value is None:
        return "empty"
    if isinstance(value, bool):
        return "on" if value else "off"
    return f"{value:g}" if isinstance(value, float) else str(value)


def _rules_page(
    request: Request,
    page: Page,
    db: DbDep,
    clinic: Any,
    *,
    errors: dict[str, str] | None = None,
    posted: dict[str, str] | None = None,
    notice: str | None = None,
) -> HTMLResponse:
    if errors:
        db.rollback()
    rows = rule_rows(organization.organization(db, page.actor))
    rules: dict[str, list[RuleParameter]] = {}
    for row in rows:
        rules.setdefault(row.rule, []).append(row)
    return show_section(
        request, page, db, clinic, "alert-rules",
        errors=errors, notice=notice, status_code=422 if errors else 200,
        rules=rules, posted=posted or {}, instrument_ids=clinic.registry.ids(),
    )  # fmt: skip


@router.get("/admin/alert-rules")
def rules_page(request: Request, page: PageDep, db: DbDep, clinic: ClinicDep) -> HTMLResponse:
    require_role(page.actor, "admin")
    return _rules_page(request, page, db, clinic)


@router.post("/admin/alert-rules")
def save_rules(
    request: Request, page: PageDep, db: DbDep, clinic: ClinicDep, form: FormDep
) -> Response:
    check_csrf(page, form)
    require_role(page.actor, "admin")
    org = organization.organization(db, page.actor)
    rows = [row for row in rule_rows(org) if not row.locked]
    instruments = clinic.registry.ids()
    rules: dict[str, dict[str, Any]] = {}
    errors: dict[str, str] = {}
    changes: list[str] = []
    for row in rows:
        if row.field not in form:
            continue  # not on the form that was sent: kept as it is
        try:
            value = _read(row, form[row.field], instruments)
        except ValueError as exc:
            errors[row.id] = f"{row.title} · {row.name}: {exc}; allowed: {row.allowed}."
            continue
        rules.setdefault(row.rule, {})[row.name] = value
        if value != row.current:
            changes.append(f"{row.title} {row.name} {_shown(row.current)} → {_shown(value)}")
    if not errors:
        current = config_of(org).to_dict()["rules"]
        merged = {rule: current[rule] | settings for rule, settings in rules.items()}
        try:
            organization.set_feedback_config(db, page.actor, {"rules": merged})
        except ServiceError as exc:
            errors["rules"] = f"Alert rules not saved — {refusal(exc)}"
    if errors:
        return _rules_page(request, page, db, clinic, errors=errors, posted=form)
    db.commit()
    said = "; ".join(changes) if changes else "no value changed"
    return redirect(
        "/admin/alert-rules", notice="saved", detail=f"Saved the alert rules: {said}.", page=page
    )
