"""What an operator sees of a running worker: logs, an access line per request, metrics.

Every request gets an id (``X-Request-ID`` on the answer, ``request_id`` on each log record
written while it runs). The access line names the method, the route's template
(``/api/v1/clients/{client_id}``, never the path itself, which carries record ids and link
tokens), the status and the time taken — no address, no query, no body. Log records are
formatted by :class:`LogFormatter`, as text or one JSON object per line; an exception is
written as its type and the frames it passed through, not its message, which can quote
the values a statement was given. Metrics are in Prometheus's text format at ``/metrics``,
behind a bearer token, summed over the worker processes of one ``alliance serve``.
"""

from __future__ import annotations

import contextvars
import datetime as dt
import hmac
import json
import logging
import os
import time
import traceback
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from prometheus_client import CollectorRegistry, Counter, Histogram, generate_latest
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.multiprocess import MultiProcessCollector
from prometheus_client.registry import Collector
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from alliance.config import Settings

request_id: contextvars.ContextVar[str] = contextvars.ContextVar("request_id", default="-")
access = logging.getLogger("alliance.access")
MULTIPROCESS = "PROMETHEUS_MULTIPROC_DIR"


def _stamped(make: Any) -> Any:
    """A log record factory that notes the running request's id on every record when it is
    made (``-`` outside a request), whichever logger makes it and whenever it is written."""

    def make_record(*args: Any, **kwargs: Any) -> logging.LogRecord:
        record: logging.LogRecord = make(*args, **kwargs)
        record.request_id = request_id.get()
        return record

    make_record.stamps_request_id = True  # type: ignore[attr-defined]
    return make_record


if not getattr(logging.getLogRecordFactory(), "stamps_request_id", False):
    logging.setLogRecordFactory(_stamped(logging.getLogRecordFactory()))


def _exception(record: logging.LogRecord) -> str | None:
    """The exception's type and frames, without its message (which may quote values)."""
    if not record.exc_info or record.exc_info[1] is None:
        return None
    kind, error, tb = record.exc_info
    frames = "; ".join(
        f"{Path(f.filename).name}:{f.lineno} in {f.name}" for f in traceback.extract_tb(tb)
    )
    name = kind.__name__ if kind else type(error).__name__
    return f"{name} (message withheld) at {frames}"


class LogFormatter(logging.Formatter):
    """``json``: one object per line (time, level, logger, request_id, message, exception);
    ``text``: the same fields on one line."""

    def __init__(self, style_: str = "text") -> None:
        super().__init__()
        self.json = style_ == "json"

    def format(self, record: logging.LogRecord) -> str:
        at = dt.datetime.fromtimestamp(record.created, dt.UTC).isoformat(timespec="milliseconds")
        fields: dict[str, Any] = {
            "time": at,
            "level": record.levelname,
            "logger": record.name,
            "request_id": getattr(record, "request_id", "-"),
            "message": record.getMessage(),
        }
        fields.update(getattr(record, "fields", {}))
        problem = _exception(record)
        if problem:
            fields["exception"] = problem
        if self.json:
            return json.dumps(fields, ensure_ascii=False)
        extra = " ".join(f"{k}={v}" for k, v in fields.items() if k not in _TEXT_FIXED)
        line = f"{at} {record.levelname} {record.name} [{fields['request_id']}] {fields['message']}"
        return f"{line} {extra}".rstrip()


_TEXT_FIXED = {"time", "level", "logger", "request_id", "message"}


def logging_config(settings: Settings) -> dict[str, Any]:
    """The ``logging.config.dictConfig`` of a served worker (uvicorn applies it in each)."""
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "formatters": {"alliance": {"()": LogFormatter, "style_": settings.log_format}},
        "handlers": {
            "stderr": {
                "class": "logging.StreamHandler",
                "stream": "ext://sys.stderr",
                "formatter": "alliance",
            }
        },
        "root": {"level": settings.log_level.upper(), "handlers": ["stderr"]},
        "loggers": {
            "uvicorn": {"handlers": [], "propagate": True},
            "uvicorn.error": {"handlers": [], "propagate": True},
            "uvicorn.access": {"handlers": [], "propagate": False},  # ours has no addresses
            "alliance.access": {"level": "INFO" if settings.access_log else "WARNING"},
            "alembic": {"level": "WARNING"},  # the health probe's comparison is chatty
        },
    }


class Metrics:
    """Request counts and latencies of this app, and the queues read when scraped."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        self.requests = Counter(
            "alliance_requests",
            "Requests answered, by method, route template and status.",
            ["method", "route", "status"],
            registry=self.registry,
        )
        self.latency = Histogram(
            "alliance_request_seconds",
            "Time to answer a request, by route template.",
            ["route"],
            buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10),
            registry=self.registry,
        )

    def exposition(self, *, outbox: int, backlog: int) -> bytes:
        """The text format: the request metrics (of every worker of this ``alliance serve``
        when it runs several) and the queues as read now."""
        directory = os.environ.get(MULTIPROCESS)
        requests = self.registry
        if directory:
            requests = CollectorRegistry()
            MultiProcessCollector(requests, path=directory)  # type: ignore[no-untyped-call]
        queues = CollectorRegistry()
        queues.register(_Queues(outbox, backlog))
        return generate_latest(requests) + generate_latest(queues)

    def authorized(self, settings: Settings, header: str | None) -> bool:
        if settings.metrics_token_file is None or not header:
            return False
        expected = settings.metrics_token_file.read_text(encoding="utf-8").strip()
        scheme, _, token = header.partition(" ")
        return (
            bool(expected)
            and scheme.lower() == "bearer"
            and hmac.compare_digest(token.strip().encode(), expected.encode())
        )


def _template(scope: Scope) -> str:
    """The matched route's template with its router's prefix (``/api/v1`` + the route's
    ``/clients/{client_id}``), built from the request's path with the route's own part cut
    off, so no value from the path is kept."""
    route = scope.get("route")
    template = getattr(route, "path", None)
    if not template:
        return "(no route)"
    try:
        filled = route.path_format.format(**scope.get("path_params", {}))  # type: ignore[union-attr]
    except (KeyError, IndexError, ValueError):
        return str(template)
    path = scope.get("path", "")
    prefix = path[: -len(filled)] if filled and path.endswith(filled) else ""
    return f"{prefix}{template}"


class _Queues(Collector):
    def __init__(self, outbox: int, backlog: int) -> None:
        self.outbox, self.backlog = outbox, backlog

    def collect(self) -> Iterator[GaugeMetricFamily]:
        yield GaugeMetricFamily(
            "alliance_outbox_pending",
            "Risk-alert messages waiting to be sent or retried (the whole installation).",
            value=self.outbox,
        )
        yield GaugeMetricFamily(
            "alliance_analysis_backlog",
            "Clients whose new ratings the scraped worker has yet to analyse.",
            value=self.backlog,
        )


class Observe:
    """Outermost layer: request id, access line, request metrics."""

    def __init__(self, app: ASGIApp, metrics: Metrics) -> None:
        self.app = app
        self.metrics = metrics

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        rid = uuid.uuid4().hex[:16]
        token = request_id.set(rid)
        started = time.perf_counter()
        status = 500

        async def send_with_id(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                message.setdefault("headers", [])
                message["headers"] = [*message["headers"], (b"x-request-id", rid.encode())]
            await send(message)

        try:
            await self.app(scope, receive, send_with_id)
        finally:
            seconds = time.perf_counter() - started
            route = _template(scope)
            method = scope.get("method", "?")
            self.metrics.requests.labels(method, route, str(status)).inc()
            self.metrics.latency.labels(route).observe(seconds)
            access.info(
                "%s %s %s %.1f ms",
                method,
                route,
                status,
                seconds * 1000,
                extra={"fields": {"method": method, "route": route, "status": status,
                                  "ms": round(seconds * 1000, 1)}},
            )  # fmt: skip
            request_id.reset(token)
