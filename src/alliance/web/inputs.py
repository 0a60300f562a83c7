"""Input no part of the service can store, refused at the door with a 422 naming the field.

A pure ASGI middleware, inside the body limit (so what it reads is bounded), that checks
what every route receives before any route sees it:

- text (path, query, form fields, JSON strings and keys) holding NUL, which PostgreSQL text
  cannot store, or a lone UTF-16 surrogate (``"\\ud800"`` in JSON), which is not a character
  and cannot be encoded as UTF-8 for any database;
- JSON numbers that are not finite: ``NaN``, ``Infinity`` (Python's parser accepts both)
  and anything beyond ±1.8e308, which parses as infinity;
- JSON integers outside the signed 64-bit range, which no database column holds (a route
  bounds its own integers more tightly where its column is smaller);
- a JSON body that is not JSON.

JSON bodies are parsed here once more; the bodies are small (``limits.DEFAULT``) and a
parse costs microseconds beside a request's transaction.
"""

from __future__ import annotations

import json
import math
from typing import Any
from urllib.parse import parse_qsl

from starlette.types import ASGIApp, Message, Receive, Scope, Send

INT64 = 2**63


class InputError(ValueError):
    def __init__(self, field: str, problem: str, allowed: str) -> None:
        super().__init__(f"{field}: {problem}")
        self.field = field
        self.problem = problem
        self.allowed = allowed


TEXT_ALLOWED = "text without NUL characters or unpaired surrogates (valid UTF-8)"
NUMBER_ALLOWED = "a finite number between -1.7e308 and 1.7e308"
INTEGER_ALLOWED = f"a whole number between {-INT64} and {INT64 - 1}"


def check_text(value: str, field: str) -> None:
    if "\x00" in value:
        raise InputError(field, "holds a NUL character", TEXT_ALLOWED)
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        raise InputError(
            field, "holds an unpaired surrogate (not a character)", TEXT_ALLOWED
        ) from None


class _Constant(str):
    """``NaN``, ``Infinity`` or ``-Infinity`` as parsed, to be refused where it stands."""


def parse_json(body: bytes) -> Any:
    """The body as JSON; ``NaN`` and ``Infinity`` are kept as :class:`_Constant` markers for
    :func:`check_value` to refuse with their place."""
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise InputError("body", f"not UTF-8 text (byte {exc.start})", "a JSON document") from None
    try:
        return json.loads(text, parse_constant=_Constant)
    except ValueError as exc:
        raise InputError("body", f"not valid JSON ({exc})", "a JSON document") from None


def check_value(value: Any, field: str = "") -> None:
    """Walk a parsed JSON value; raise :class:`InputError` naming the first bad place."""
    if isinstance(value, _Constant):
        raise InputError(field or "body", f"{value} is not a number JSON allows", NUMBER_ALLOWED)
    if isinstance(value, str):
        check_text(value, field or "body")
    elif isinstance(value, bool) or value is None:
        return
    elif isinstance(value, float):
        if not math.isfinite(value):
            raise InputError(field or "body", "is beyond the largest number", NUMBER_ALLOWED)
    elif isinstance(value, int):
        if not -INT64 <= value < INT64:
            raise InputError(field or "body", "is too large a whole number", INTEGER_ALLOWED)
    elif isinstance(value, dict):
        for key, item in value.items():
            place = f"{field}.{key}" if field else str(key)
            check_text(str(key), f"{place} (the name)")
            check_value(item, place)
    elif isinstance(value, list):
        for i, item in enumerate(value):
            check_value(item, f"{field}.{i}" if field else str(i))


def _is_json(content_type: str) -> bool:
    media = content_type.split(";", 1)[0].strip().lower()
    return media == "application/json" or media.endswith("+json")


def _header(scope: Scope, name: bytes) -> str:
    for key, value in scope.get("headers", []):
        if key == name:
            return bytes(value).decode("latin-1")
    return ""


class InputCheck:
    """Refuse unstorable text and numbers (see the module) with a 422 before any route runs."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        try:
            check_text(str(scope.get("path", "")), "path")
            query = bytes(scope.get("query_string", b"")).decode("latin-1")
            for key, value in parse_qsl(query, keep_blank_values=True, errors="surrogateescape"):
                check_text(key, f"{key!r} (a query parameter's name)")
                check_text(value, key)
        except InputError as bad:
            await _refuse(scope, send, bad)
            return
        content_type = _header(scope, b"content-type")
        media = content_type.split(";", 1)[0].strip().lower()
        if scope["method"] in ("GET", "HEAD", "OPTIONS", "DELETE") or not (
            _is_json(content_type) or media == "application/x-www-form-urlencoded"
        ):
            await self.app(scope, receive, send)
            return
        body, more = await _read(receive)
        try:
            if body.strip():
                if _is_json(content_type):
                    check_value(parse_json(body))
                else:
                    text = body.decode("latin-1")
                    for key, value in parse_qsl(
                        text, keep_blank_values=True, errors="surrogateescape"
                    ):
                        check_text(key, f"{key!r} (a form field's name)")
                        check_text(value, key)
        except InputError as bad:
            await _refuse(scope, send, bad)
            return
        await self.app(scope, _replay(body, more, receive), send)


async def _read(receive: Receive) -> tuple[bytes, bool]:
    """The whole body (bounded by the body limit outside), and whether the client went away."""
    chunks: list[bytes] = []
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            return b"".join(chunks), True
        chunks.append(message.get("body", b""))
        if not message.get("more_body", False):
            return b"".join(chunks), False


def _replay(body: bytes, disconnected: bool, receive: Receive) -> Receive:
    sent = False

    async def replay() -> Message:
        nonlocal sent
        if not sent:
            sent = True
            if disconnected:
                return {"type": "http.disconnect"}
            return {"type": "http.request", "body": body, "more_body": False}
        return await receive()  # after the body: wait for the client to go away

    return replay


async def _refuse(scope: Scope, send: Send, bad: InputError) -> None:
    message = f"{bad.field}: {bad.problem}"
    if str(scope.get("path", "")).startswith("/api/"):
        payload = {
            "error": {
                "code": "invalid",
                "message": message,
                "field": bad.field,
                "allowed": bad.allowed,
            }
        }
        body = json.dumps(payload, ensure_ascii=True).encode()
        media = b"application/json"
    else:
        body = (
            "<!doctype html><title>Please check what you entered</title>"
            "<h1>Please check what you entered</h1>"
            f"<p>{_escape(message)}; allowed: {_escape(bad.allowed)}.</p>"
        ).encode("utf-8", "backslashreplace")
        media = b"text/html; charset=utf-8"
    await send(
        {
            "type": "http.response.start",
            "status": 422,
            "headers": [(b"content-type", media), (b"content-length", str(len(body)).encode())],
        }
    )
    await send({"type": "http.response.body", "body": body})


def _escape(text: str) -> str:
    safe = text.encode("utf-8", "backslashreplace").decode("utf-8")
    return safe.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
