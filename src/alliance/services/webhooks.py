"""Posting to a webhook (a pager or chat system): a small interface, an HTTP implementation
and an in-memory one for tests, beside :mod:`alliance.services.mail`.

Every body is signed: ``X-Alliance-Signature: sha256=<hex>`` is HMAC-SHA256 of the exact
body bytes under the secret the organization's admin set, so the receiver can check that the
message came from this service and was not changed (compare with ``hmac.compare_digest``).
"""

from __future__ import annotations

import hashlib
import hmac
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from typing import Protocol

SIGNATURE_HEADER = "X-Alliance-Signature"
EVENT_HEADER = "X-Alliance-Event"


class WebhookError(Exception):
    """The receiver could not be reached or did not accept the message."""


def sign(secret: str, body: bytes) -> str:
    """The signature header's value for ``body``: ``sha256=`` and the hex HMAC-SHA256."""
    digest = hmac.new(secret.encode("utf-8"), body, hashlib.sha256).hexdigest()
    return f"sha256={digest}"


@dataclass(frozen=True)
class Webhook:
    url: str
    body: bytes
    headers: dict[str, str]


class WebhookSender(Protocol):
    def post(self, hook: Webhook) -> None: ...


class _NoRedirects(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args: object, **kwargs: object) -> None:
        return None  # a redirected alert is a failed one, never re-sent elsewhere


@dataclass
class HttpWebhookSender:
    """POSTs JSON with urllib; any answer but 2xx, or no answer in ``timeout`` seconds, is a
    :class:`WebhookError`."""

    timeout: float = 10.0

    def post(self, hook: Webhook) -> None:
        request = urllib.request.Request(  # the admin sets an http(s) address
            hook.url,
            data=hook.body,
            method="POST",
            headers={"Content-Type": "application/json", **hook.headers},
        )
        opener = urllib.request.build_opener(_NoRedirects)
        try:
            with opener.open(request, timeout=self.timeout) as response:
                status = int(response.status)
        except urllib.error.HTTPError as exc:
            raise WebhookError(f"HTTP {exc.code}") from None
        except (urllib.error.URLError, OSError) as exc:
            raise WebhookError(exc.__class__.__name__) from None
        if not 200 <= status < 300:
            raise WebhookError(f"HTTP {status}")


@dataclass
class MemoryWebhookSender:
    """Keeps posts in a list instead of sending them."""

    sent: list[Webhook] = field(default_factory=list)

    def post(self, hook: Webhook) -> None:
        self.sent.append(hook)
