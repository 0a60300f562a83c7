"""Errors under ``/api/v1/fhir`` as FHIR R4 OperationOutcome resources, and the FHIR media
type (``application/fhir+json``; ``_format`` and ``Accept`` asking for anything but JSON are
answered 406)."""

from __future__ import annotations

from typing import Any

from fastapi import Request
from fastapi.responses import JSONResponse

FHIR_JSON = "application/fhir+json"
FHIR_PREFIX = "/api/v1/fhir"
JSON_FORMATS = ("json", "application/json", "application/fhir+json", "application/json+fhir")
ISSUE_CODES = {
    400: "invalid",
    401: "login",
    403: "forbidden",
    404: "not-found",
    405: "not-supported",
    406: "not-supported",
    409: "conflict",
    410: "deleted",
    412: "duplicate",
    413: "too-costly",
    415: "not-supported",
    422: "invalid",
    429: "throttled",
    503: "transient",
}


def is_fhir(request: Request) -> bool:
    return request.url.path.startswith(FHIR_PREFIX)


def wants_other_format(request: Request) -> str | None:
    """The format asked for when it is not JSON (``_format`` first, then ``Accept``)."""
    asked = request.query_params.get("_format")
    if asked is not None:
        return None if asked.split(";")[0].strip() in JSON_FORMATS else asked
    accept = request.headers.get("accept", "")
    kinds = [a.split(";")[0].strip() for a in accept.split(",") if a.strip()]
    if not kinds or any(k in (*JSON_FORMATS, "*/*", "application/*") for k in kinds):
        return None
    return accept


def outcome(
    status: int, error: dict[str, Any], headers: dict[str, str] | None = None
) -> JSONResponse:
    """The API's error body (``{"code", "message", "field", "problems"…}``) as an
    OperationOutcome: one issue for the error, and one per listed problem."""
    code = ISSUE_CODES.get(status, "exception" if status >= 500 else "processing")
    issues = [
        {
            "severity": "error",
            "code": code,
            "details": {"text": str(error.get("code", ""))},
            "diagnostics": str(error.get("message", ""))
            + (f" (allowed: {error['allowed']})" if error.get("allowed") else ""),
            **({"expression": [str(error["field"])]} if error.get("field") else {}),
        }
    ]
    for problem in error.get("problems") or error.get("errors") or []:
        where = problem.get("column") or problem.get("field")
        text = str(problem.get("problem", ""))
        if problem.get("allowed") is not None:
            text += f" (allowed: {problem['allowed']})"
        issues.append(
            {
                "severity": "error",
                "code": "invalid" if status == 422 else code,
                "diagnostics": text,
                **({"expression": [str(where)]} if where else {}),
            }
        )
    return JSONResponse(
        {"resourceType": "OperationOutcome", "issue": issues},
        status_code=status,
        headers=headers,
        media_type=FHIR_JSON,
    )
