"""The application factory: ``create_app(settings)`` builds one stateless web worker."""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from sqlalchemy import Engine

from alliance.config import Settings
from alliance.services.errors import RateLimited, ServiceError
from alliance.web.api import alerts, auth, clinical, links, meta, people
from alliance.web.clinic import Clinic

API_PREFIX = "/api/v1"


def create_app(settings: Settings | None = None, *, engine: Engine | None = None) -> FastAPI:
    settings = settings or Settings()
    clinic = Clinic.from_settings(settings, engine)
    app = FastAPI(
        title="alliance",
        summary="Measure, monitor and repair the therapeutic alliance.",
        version="0.1.0",
        openapi_url=f"{API_PREFIX}/openapi.json",
        docs_url=f"{API_PREFIX}/docs",
        redoc_url=None,
    )
    app.state.clinic = clinic
    for module in (auth, people, clinical, alerts, links, meta):
        app.include_router(module.router, prefix=API_PREFIX)
    app.add_exception_handler(ServiceError, _service_error)
    app.add_exception_handler(RequestValidationError, _validation_error)
    return app


async def _service_error(request: Request, exc: Exception) -> JSONResponse:
    if not isinstance(exc, ServiceError):  # pragma: no cover - registered for ServiceError only
        raise exc
    headers = {"Retry-After": str(exc.retry_after)} if isinstance(exc, RateLimited) else None
    if exc.status == 401:
        headers = {"WWW-Authenticate": "Bearer"}
    return JSONResponse({"error": exc.as_dict()}, status_code=exc.status, headers=headers)


def _field(loc: tuple[Any, ...]) -> str:
    parts = [str(p) for p in loc if p not in ("body", "query", "path")]
    return ".".join(parts) or "body"


async def _validation_error(request: Request, exc: Exception) -> JSONResponse:
    if not isinstance(exc, RequestValidationError):  # pragma: no cover
        raise exc
    problems = []
    for error in exc.errors():
        problem: dict[str, Any] = {"field": _field(tuple(error["loc"])), "problem": error["msg"]}
        ctx = error.get("ctx") or {}
        if "expected" in ctx:
            problem["allowed"] = str(ctx["expected"])
        if error.get("type") != "missing" and not isinstance(error.get("input"), dict | list):
            problem["value"] = error.get("input")
        problems.append(problem)
    first = problems[0]
    body = {
        "code": "invalid",
        "message": f"{first['field']}: {first['problem']}",
        **first,
        "errors": problems,
    }
    return JSONResponse({"error": body}, status_code=422)
