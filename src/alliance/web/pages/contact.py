"""The client's contact details after registration: name, e-mail and phone, added or changed
by the client's own clinicians on the client's page (audited: which fields changed, never
their values)."""

from __future__ import annotations

from fastapi import APIRouter
from fastapi.responses import Response

from alliance.services.errors import Forbidden, NotFound, ServiceError
from alliance.services.records import clients
from alliance.web.api.deps import DbDep
from alliance.web.pages.common import FormDep, PageDep, check_csrf, redirect

router = APIRouter(include_in_schema=False)
FIELDS = (("name", "name"), ("email", "e-mail address"), ("phone", "phone number"))


@router.post("/clients/{client_id}/contact")
def save_contact(client_id: str, page: PageDep, db: DbDep, form: FormDep) -> Response:
    check_csrf(page, form)
    back = f"/clients/{client_id}"
    try:
        before = clients.get_contact(db, page.actor, client_id)
        old = {f: getattr(before, f) if before else None for f, _ in FIELDS}
        saved = clients.set_contact(
            db, page.actor, client_id,
            name=form.get("name"), email=form.get("email"), phone=form.get("phone"),
        )  # fmt: skip
    except ServiceError as exc:
        if isinstance(exc, Forbidden | NotFound):
            raise  # another's client answers as the API does
        db.rollback()
        shown = f" {exc.value!r}" if exc.value else ""
        said = f"Contact details not saved: {exc.message}{shown}."
        return redirect(back, notice="refused", detail=said, page=page)
    changes = []
    for field, label in FIELDS:
        new = getattr(saved, field)
        if new != old[field]:
            done = "added" if old[field] is None else "removed" if new is None else "changed"
            changes.append(f"{label} {done}")
    db.commit()
    said = ", ".join(changes) if changes else "nothing changed"
    return redirect(back, notice="saved", detail=f"Saved the contact details: {said}.", page=page)
