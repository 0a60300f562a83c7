"""Request body limits: a small pure ASGI middleware that counts the body as it streams in.

Each route has a limit — a few kilobytes for a login, a megabyte for JSON and forms, the
upload limit for file imports — and a request over it is answered 413 at once: when its
``Content-Length`` says so, before a byte of the body is read; otherwise (chunked bodies, or
a length that lies) as soon as the bytes received pass the limit, whatever the application
has read so far. Nothing bigger than the limit is ever held or parsed, so an anonymous
200 MB login body costs the worker nothing.
"""

from __future__ import annotations

import json
from collections.abc import Callable

from starlette.exceptions import HTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

KIB = 1024
MIB = 1024 * KIB
SMALL = 16 * KIB  # logins and one-time codes: a username, a password, a token
FORM = 64 * KIB  # a client's form from a link: a few dozen answers
DEFAULT = 1 * MIB  # any other JSON body or page form


def route_limit(method: str, path: str, *, upload_bytes: int) -> int:
    """The largest body accepted for ``method path`` in bytes."""
    if path in ("/api/v1/auth/login", "/login", "/login/code"):
        return SMALL
    if path.startswith(("/f/", "/api/v1/links/")):
        return FORM
    if method == "POST" and path == "/api/v1/imports":
        return upload_bytes
    return DEFAULT


class BodyTooLarge(HTTPException):
    """Raised into the application when the streamed body passes its limit; an HTTP error, so
    that no body parser turns it into anything else."""

    def __init__(self, limit: int) -> None:
        super().__init__(413, f"the request body is larger than {_size(limit)}")
        self.limit = limit


def _size(limit: int) -> str:
    return f"{limit // MIB} MB" if limit >= MIB else f"{limit // KIB} kB"


class BodyLimit:
    """Answer 413 to a request whose body passes :func:`route_limit` (or ``limit_of``)."""

    def __init__(
        self,
        app: ASGIApp,
        *,
        upload_bytes: int,
        limit_of: Callable[[str, str], int] | None = None,
    ) -> None:
        self.app = app
        self.limit_of = limit_of or (
            lambda method, path: route_limit(method, path, upload_bytes=upload_bytes)
        )

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        limit = self.limit_of(scope["method"], scope["path"])
        declared = _content_length(scope)
        if declared is not None and declared > limit:
            await _refuse(scope, send, limit)
            return
        received = 0
        started = False

        async def counted() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > limit:
                    raise BodyTooLarge(limit)
            return message

        async def watched(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        try:
            await self.app(scope, counted, watched)
        except BodyTooLarge:
            # the application let it through (a route that reads the stream itself): answer
            # here, unless it had begun its answer already
            if started:
                raise
            await _refuse(scope, send, limit)


def _content_length(scope: Scope) -> int | None:
    for name, value in scope.get("headers", []):
        if name == b"content-length":
            try:
                return int(value)
            except ValueError:
                return None
    return None


async def _refuse(scope: Scope, send: Send, limit: int) -> None:
    """413 with the usual error body; the connection closes, so the rest is never read."""
    message = f"the request body is larger than {_size(limit)}"
    if str(scope.get("path", "")).startswith("/api/"):
        body = json.dumps(
            {"error": {"code": "too_large", "message": message, "allowed": f"≤ {limit} bytes"}}
        ).encode()
        media = b"application/json"
    else:
        body = (
            "<!doctype html><title>Too large</title><h1>Too large</h1>"
            f"<p>{message.capitalize()}.</p>"
        ).encode()
        media = b"text/html; charset=utf-8"
    await send(
        {
            "type": "http.response.start",
            "status": 413,
            "headers": [
                (b"content-type", media),
                (b"content-length", str(len(body)).encode()),
                (b"connection", b"close"),
            ],
        }
    )
    await send({"type": "http.response.body", "body": body})
