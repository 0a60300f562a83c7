"""The application factory: ``create_app(settings)`` builds one stateless web worker."""

from __future__ import annotations

import gc
import logging
import math
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from fastapi.staticfiles import StaticFiles
from prometheus_client import CONTENT_TYPE_LATEST
from sqlalchemy import Engine
from sqlalchemy.exc import IntegrityError
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException
from starlette.types import ASGIApp
from uvicorn.middleware.proxy_headers import ProxyHeadersMiddleware

from alliance.config import Settings
from alliance.services.errors import Conflict, RateLimited, ServiceError
from alliance.services.monitoring.dispatch import owed
from alliance.store.engine import READ_ONLY
from alliance.web import api_docs
from alliance.web.api import (
    alerts,
    auth,
    clinical,
    exchange,
    fhir_bulk,
    fhir_rest,
    goals,
    learning,
    links,
    meta,
    people,
)
from alliance.web.api.fhir_outcome import is_fhir, outcome
from alliance.web.clinic import Clinic, catch_up
from alliance.web.inputs import InputCheck
from alliance.web.limits import BodyLimit
from alliance.web.observability import Metrics, Observe
from alliance.web.pages import admin as page_admin
from alliance.web.pages import alert_rules as page_alert_rules
from alliance.web.pages import alerts as page_alerts
from alliance.web.pages import auth as page_auth
from alliance.web.pages import clinic as page_clinic
from alliance.web.pages import contact as page_contact
from alliance.web.pages import corrections as page_corrections
from alliance.web.pages import exchange as page_exchange
from alliance.web.pages import forms as page_forms
from alliance.web.pages import goals as page_goals
from alliance.web.pages import learn as page_learn
from alliance.web.pages import reports as page_reports
from alliance.web.pages import research as page_research
from alliance.web.pages import risk_routing as page_risk_routing
from alliance.web.pages import team as page_team
from alliance.web.pages.common import LoginRequired, login_redirect, render
from alliance.web.security import SecurityHeaders

API_PREFIX = "/api/v1"
STATIC = Path(__file__).parent / "static"
SHUTDOWN_DRAIN_SECONDS = 60  # a stopping worker analyses the clients it still owes


class GuardedApp(FastAPI):
    """A FastAPI app with layers outside all of Starlette's own, even outside the handler
    that answers 500: so every answer, a server error included, carries the security
    headers, and a body over its limit is refused before any of the app runs. From the
    outside in: trusted proxies (when configured), security headers, body limits, input
    checks."""

    outer: list[tuple[type[Any], dict[str, Any]]]

    def build_middleware_stack(self) -> ASGIApp:
        app = super().build_middleware_stack()
        for layer, options in reversed(getattr(self, "outer", [])):
            app = layer(app, **options)
        return app


def create_app(
    settings: Settings | None = None, *, engine: Engine | None = None, freeze_heap: bool = False
) -> FastAPI:
    """One web worker. ``freeze_heap`` is for a process that serves this app and nothing else
    (``worker_app``): at startup, what exists then is moved out of the cycle collector's sight."""
    settings = settings or Settings()
    clinic = Clinic.from_settings(settings, engine)
    if not settings.base_url_given:
        logging.getLogger("alliance.web").warning(
            "ALLIANCE_BASE_URL is not set: FHIR resources, canonical URLs and identifier systems "
            "are named by %s and change when the address does; set ALLIANCE_BASE_URL to the "
            "service's public address",
            settings.base_url,
        )

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        if freeze_heap and settings.analysis_delay > 0:
            await run_in_threadpool(catch_up, clinic)  # what a worker that died still owed
        if freeze_heap:
            clinic.alert_ticker.start()  # retries and escalations, in served workers
        if freeze_heap:
            # What exists once the worker has started (modules, instrument registry,
            # templates) lives as long as the worker: out of the collector's sight, a full
            # collection scans only what requests made, and the request that happens to
            # trigger one waits milliseconds, not a quarter of a second.
            gc.collect()
            gc.freeze()
        yield
        if "alert_ticker" in vars(clinic):
            await run_in_threadpool(clinic.alert_ticker.stop)
        if "analysis_queue" in vars(clinic):  # only a worker that queued anything
            await run_in_threadpool(clinic.analysis_queue.drain, SHUTDOWN_DRAIN_SECONDS)

    app = GuardedApp(
        lifespan=lifespan,
        title="alliance",
        summary="Measure, monitor and repair the therapeutic alliance.",
        version="0.1.0",
        openapi_url=f"{API_PREFIX}/openapi.json",
        docs_url=None,  # served by api_docs from local files, under the site's CSP
        redoc_url=None,
    )
    app.state.clinic = clinic
    api_routers = (
        *(auth, people, clinical, goals, alerts, links, learning, meta, exchange, api_docs),
        *(fhir_bulk, fhir_rest),  # $export before the read of Patient/<id>
    )
    for module in api_routers:
        app.include_router(module.router, prefix=API_PREFIX)
    for page_module in (
        page_auth,
        page_clinic,
        page_corrections,
        page_goals,
        page_alerts,
        page_forms,
        page_admin,
        page_risk_routing,
        page_alert_rules,
        page_team,
        page_reports,
        page_learn,
        page_research,
        page_exchange,
        page_contact,
    ):
        app.include_router(page_module.router)
    api_docs.mount_assets(app)
    app.mount("/static", StaticFiles(directory=STATIC), name="static")
    app.add_exception_handler(ServiceError, _service_error)
    app.add_exception_handler(IntegrityError, _integrity_error)
    app.add_exception_handler(RequestValidationError, _validation_error)
    app.add_exception_handler(LoginRequired, _login_required)
    app.add_exception_handler(HTTPException, _http_error)
    metrics = Metrics()
    app.state.metrics = metrics
    app.add_api_route("/metrics", _metrics_route(clinic, metrics), include_in_schema=False)
    app.outer = [
        (Observe, {"metrics": metrics}),
        (SecurityHeaders, {"https": settings.cookies_secure}),
        (BodyLimit, {"upload_bytes": settings.max_upload_mb * 2**20}),
        (InputCheck, {}),
    ]
    if settings.proxies:
        # before anything reads the client's address (Observe never does)
        app.outer.insert(1, (ProxyHeadersMiddleware, {"trusted_hosts": settings.proxies}))
    return app


def _metrics_route(clinic: Clinic, metrics: Metrics) -> Any:
    def metrics_endpoint(request: Request) -> Response:
        """Prometheus's text format, for the bearer token in ALLIANCE_METRICS_TOKEN_FILE."""
        if clinic.settings.metrics_token_file is None:
            message = "metrics are off (set ALLIANCE_METRICS_TOKEN_FILE)"
            return JSONResponse({"error": {"code": "not_found", "message": message}}, 404)
        if not metrics.authorized(clinic.settings, request.headers.get("authorization")):
            message = "send the metrics token as Authorization: Bearer …"
            return JSONResponse(
                {"error": {"code": "unauthenticated", "message": message}},
                401,
                headers={"WWW-Authenticate": "Bearer"},
            )
        with clinic.sessions() as db:
            db.connection(execution_options={READ_ONLY: True})
            outbox = owed(db)
        backlog = clinic.analysis_queue.pending() if "analysis_queue" in vars(clinic) else 0
        return Response(
            metrics.exposition(outbox=outbox, backlog=backlog), media_type=CONTENT_TYPE_LATEST
        )

    return metrics_endpoint


def worker_app() -> FastAPI:
    """The app a served worker runs (``alliance serve``, ``alliance demo``): settings from the
    environment, heap frozen at startup."""
    return create_app(freeze_heap=True)


def _is_api(request: Request) -> bool:
    return request.url.path.startswith(API_PREFIX)


async def _login_required(request: Request, exc: Exception) -> Response:
    if not isinstance(exc, LoginRequired):  # pragma: no cover
        raise exc
    return login_redirect(exc)


_HEADINGS = {
    400: "Please check what you sent",
    401: "Please log in",
    403: "Not allowed",
    404: "Not found",
    405: "Not possible here",
    409: "Not possible now",
    410: "No longer available",
    413: "Too large",
    415: "Please check what you sent",
    422: "Please check what you entered",
    429: "Please wait a moment",
    503: "Not available right now",
}
_HTTP_CODES = {
    400: "bad_request",
    404: "not_found",
    405: "method_not_allowed",
    413: "too_large",
    415: "unsupported_media_type",
}


async def _http_error(request: Request, exc: Exception) -> Response:
    """Starlette's own errors (no such route, wrong method, a body over its limit) in the
    usual error body."""
    if not isinstance(exc, HTTPException):  # pragma: no cover
        raise exc
    code = _HTTP_CODES.get(exc.status_code, "http_error")
    message = str(exc.detail)
    if exc.status_code == 404 and message == "Not Found":
        message = f"there is nothing at {request.url.path}"
    if exc.status_code == 405:
        message = f"{request.method} is not possible at {request.url.path}"
    headers = dict(exc.headers or {})
    if is_fhir(request):
        return outcome(exc.status_code, {"code": code, "message": message}, headers)
    if _is_api(request):
        return JSONResponse(
            {"error": {"code": code, "message": message}},
            status_code=exc.status_code,
            headers=headers,
        )
    response = render(
        request,
        "error.html",
        {
            "heading": _HEADINGS.get(exc.status_code, "Something went wrong"),
            "message": message,
            "back": "/",
        },
        status_code=exc.status_code,
    )
    response.headers.update(headers)
    return response


async def _service_error(request: Request, exc: Exception) -> Response:
    if not isinstance(exc, ServiceError):  # pragma: no cover - registered for ServiceError only
        raise exc
    headers = {"Retry-After": str(exc.retry_after)} if isinstance(exc, RateLimited) else None
    if exc.status == 401:
        headers = {"WWW-Authenticate": "Bearer"}
    if is_fhir(request):
        return outcome(exc.status, exc.as_dict(), headers)
    if _is_api(request):
        return JSONResponse({"error": exc.as_dict()}, status_code=exc.status, headers=headers)
    return render(
        request,
        "error.html",
        {
            "heading": _HEADINGS.get(exc.status, "Something went wrong"),
            "message": exc.message,
            "back": "/",
        },
        status_code=exc.status,
    )


async def _integrity_error(request: Request, exc: Exception) -> Response:
    """Two requests created the same record at once (a client code, say) and the database
    kept one: the other is a conflict to retry, not a server error. Other integrity errors
    are faults and stay server errors."""
    if not isinstance(exc, IntegrityError) or not _unique_violation(exc):
        raise exc
    conflict = Conflict(
        "the same record was changed by another request at the same moment; try again"
    )
    return await _service_error(request, conflict)


def _unique_violation(exc: IntegrityError) -> bool:
    sqlstate = getattr(exc.orig, "sqlstate", None)  # PostgreSQL (psycopg)
    if sqlstate is not None:
        return bool(sqlstate == "23505")
    return "UNIQUE constraint failed" in str(exc.orig)  # SQLite


def _field(loc: tuple[Any, ...]) -> str:
    parts = [str(p) for p in loc if p not in ("body", "query", "path")]
    return ".".join(parts) or "body"


SHOWN = 200  # characters of a bad value echoed back


def _shown(value: Any) -> Any:
    """A bad value as the error body may echo it: JSON-safe, valid UTF-8 and short."""
    if isinstance(value, bool) or value is None or isinstance(value, int):
        return value
    if isinstance(value, float):
        return value if math.isfinite(value) else str(value)
    if isinstance(value, bytes):
        value = value[:SHOWN].decode("utf-8", "replace")
    text = str(value).encode("utf-8", "backslashreplace").decode("utf-8")
    return text if len(text) <= SHOWN else text[:SHOWN] + "…"


async def _validation_error(request: Request, exc: Exception) -> JSONResponse:
    if not isinstance(exc, RequestValidationError):  # pragma: no cover
        raise exc
    problems = []
    for error in exc.errors():
        problem: dict[str, Any] = {"field": _field(tuple(error["loc"])), "problem": error["msg"]}
        ctx = error.get("ctx") or {}
        if "expected" in ctx:
            problem["allowed"] = _shown(ctx["expected"])
        given = error.get("input")
        if isinstance(given, bytes) and error["loc"][:1] == ("body",):
            problem["problem"] = "the body must be JSON, sent as Content-Type: application/json"
            problem["allowed"] = "a JSON document"
        elif error.get("type") != "missing" and not isinstance(given, dict | list):
            problem["value"] = _shown(given)
        problems.append(problem)
    first = problems[0]
    body = {
        "code": "invalid",
        "message": f"{first['field']}: {first['problem']}",
        **first,
        "errors": problems,
    }
    if is_fhir(request):
        return outcome(422, body)
    return JSONResponse({"error": body}, status_code=422)
