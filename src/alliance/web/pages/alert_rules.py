"""The admin's form for the organization's alert rules: every parameter with its meaning,
allowed values, default, current value and the rule's provenance."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from fastapi import APIRouter
from fastapi.responses import Response

from alliance.feedback.config import ALWAYS_ON, describe_parameters
from alliance.services.accounts import organization
from alliance.services.accounts.access import require_role
from alliance.services.errors import ServiceError
from alliance.services.monitoring.analysis import config_of
from alliance.store.models import Organization
from alliance.web.api.deps import DbDep
from alliance.web.pages.common import FormDep, PageDep, check_csrf, redirect

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

    @property
    def field(self) -> str:
        return f"{self.rule}.{self.name}"

    @property
    def locked(self) -> bool:
        return self.rule in ALWAYS_ON


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
        )
        for p in describe_parameters()
    ]


def _value(text: str, default: Any) -> Any:
    """A posted value in the type of its default (empty means "no value" where allowed)."""
    text = text.strip()
    if isinstance(default, bool):
        return text == "true"
    if text == "":
        return None
    if isinstance(default, int):
        return int(text) if text.lstrip("-").isdigit() else text
    if isinstance(default, float) or default is None:
        try:
            return float(text)
        except ValueError:
            return text
    return text


@router.post("/admin/alert-rules")
def save_rules(page: PageDep, db: DbDep, form: FormDep) -> Response:
    check_csrf(page, form)
    require_role(page.actor, "admin")
    org = organization.organization(db, page.actor)
    rules: dict[str, dict[str, Any]] = {}
    for row in rule_rows(org):
        if row.locked:
            continue
        raw = form.get(row.field, "false" if isinstance(row.default, bool) else "")
        value = _value(raw, row.default)
        if value is None and row.default is not None:
            continue  # left empty: keep the default
        rules.setdefault(row.rule, {})[row.name] = value
    try:
        organization.set_feedback_config(db, page.actor, {"rules": rules})
    except ServiceError as exc:
        return redirect(
            "/admin#rules", notice="not_saved", detail=f"the alert rules: {exc.message}", page=page
        )
    db.commit()
    return redirect("/admin#rules", notice="saved", detail="Saved the alert rules.", page=page)
