"""Errors a use case raises; the web layer maps each to an HTTP status and a JSON body."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence

from alliance.interop.report import Problem
from alliance.records import DATE_TEXT, plausible_date


class ServiceError(Exception):
    """Base class: ``code`` is a stable machine-readable name, the message is for people."""

    status = 400
    code = "bad_request"

    def __init__(
        self,
        message: str,
        *,
        field: str | None = None,
        value: object = None,
        allowed: str | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.field = field
        self.value = value
        self.allowed = allowed

    def as_dict(self) -> dict[str, object]:
        body: dict[str, object] = {"code": self.code, "message": self.message}
        if self.field is not None:
            body["field"] = self.field
        if self.value is not None:
            body["value"] = self.value
        if self.allowed is not None:
            body["allowed"] = self.allowed
        return body


class Unauthenticated(ServiceError):
    status, code = 401, "unauthenticated"


class Forbidden(ServiceError):
    """The role may not do this at all (never used to hide whether a record exists)."""

    status, code = 403, "forbidden"


class NotFound(ServiceError):
    """No such record for this person: missing, in another organization, or not theirs."""

    status, code = 404, "not_found"


class NotAcceptable(ServiceError):
    """The answer cannot be given in the format asked for (a FHIR ``_format`` of XML)."""

    status, code = 406, "not_acceptable"


class Conflict(ServiceError):
    status, code = 409, "conflict"


class Gone(ServiceError):
    """A client link that was used or has expired."""

    status, code = 410, "gone"


class Invalid(ServiceError):
    status, code = 422, "invalid"


class Unavailable(ServiceError):
    """Something outside the service (the mail server) did not answer."""

    status, code = 503, "unavailable"


class RateLimited(ServiceError):
    status, code = 429, "rate_limited"

    def __init__(self, message: str, *, retry_after: int) -> None:
        super().__init__(message)
        self.retry_after = retry_after


class ImportRejected(Invalid):
    """An import with problems: nothing was stored. ``problems`` lists every bad row (line,
    row, column, value, allowed values) so that the file can be fixed in one pass."""

    code = "import_rejected"

    def __init__(
        self, message: str, *, source: str, rows: int, problems: Sequence[Problem]
    ) -> None:
        super().__init__(message)
        self.source = source
        self.rows = rows
        self.problems = list(problems)

    def as_dict(self) -> dict[str, object]:
        body = super().as_dict()
        body["source"] = self.source
        body["rows"] = self.rows
        body["problems"] = [
            {
                key: value
                for key, value in (
                    ("line", p.line),
                    ("row", p.row),
                    ("column", p.column),
                    ("value", p.value),
                    ("allowed", p.allowed),
                    ("problem", p.problem),
                )
                if value is not None
            }
            for p in self.problems
        ]
        return body


def check_date(value: dt.date, field: str) -> None:
    """Refuse a date of care outside the range the project keeps (:func:`plausible_date`)."""
    if not plausible_date(value):
        raise Invalid("not a date of care", field=field, value=value.isoformat(), allowed=DATE_TEXT)
