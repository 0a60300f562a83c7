"""The notices a page shows after a form was sent: only from the fixed set of keys below.

A redirect carries ``?notice=<key>``; the page shows that key's message, and an unknown key
shows nothing, so a link from outside cannot make a page say what it likes ("your account is
suspended, call …"). Where a message has a ``{detail}`` (a client code, what was saved, why a
form was refused), the detail travels beside the key with a signature made from the login's
CSRF token: a detail not signed for this very login is not shown, and neither is its message.
``{n}`` takes a whole number only (a session's number).
"""

from __future__ import annotations

import hashlib
import hmac
import re
from collections.abc import Mapping
from urllib.parse import quote, urlencode

NOTICES: dict[str, str] = {
    # the caseload and the client's page
    "registered": "Registered {detail}.",
    "not_registered": "Not registered: {detail}",
    "session_recorded": "Session {n} recorded. Add your rating below.",
    "session_not_recorded": "Session not recorded: {detail}",
    "ratings_saved": "Saved {detail} for session {n}.",
    "corrected": "Corrected the {detail} rating of session {n}; the original stays in the history.",
    "link_not_made": "No link made: {detail}",
    "link_mailed": "The link was sent to the client's e-mail address.",
    # alerts
    "follow_up_saved": "Follow-up saved.",
    "follow_up_resolved": "Follow-up saved; alert resolved.",
    "follow_up_not_saved": "Not saved{detail}",  # " (note): a note is required …"
    "not_done": "Not done: {detail}",
    "done": "{detail}",
    # the account, learning and administration
    "codes_on": "One-time codes are on: you will be asked for one at every login.",
    "codes_off": "One-time codes are off.",
    "account_not_saved": "Not saved: {detail}",
    "no_self_check": "No self-check drawn: {detail}",
    "self_check_unreadable": "That self-check could not be read; please start again.",
    "self_check_not_saved": "Not saved: {detail}",
    "saved": "{detail}",
    "refused": "{detail}",  # what was refused, and why ("Goal not recorded: …")
    "not_saved": "Not saved — {detail}",
}
_WHOLE = re.compile(r"\d{1,6}")


def signature(key: str, detail: str, secret: str) -> str:
    """The detail's signature for one login (``secret`` is its CSRF token)."""
    message = f"{key}\x00{detail}".encode()
    return hmac.new(secret.encode(), message, hashlib.sha256).hexdigest()[:32]


def query(key: str, *, detail: str | None = None, n: int | None = None, secret: str = "") -> str:
    """The query string of a redirect that shows notice ``key``."""
    message = NOTICES[key]  # a key not in the set is a programming error
    params: dict[str, str] = {"notice": key}
    if "{n}" in message:
        if n is None:
            raise ValueError(f"notice {key!r} needs n")
        params["n"] = str(int(n))
    if "{detail}" in message:
        if detail is None or not secret:
            raise ValueError(f"notice {key!r} needs a detail and the login's CSRF token")
        params["sig"] = signature(key, detail, secret)
        params["detail"] = detail  # last, and spaces as %20: the address reads as the message
    return urlencode(params, quote_via=quote)


def text(params: Mapping[str, str], secret: str | None) -> str | None:
    """The message a page shows for its query ``params``: None for an unknown key, a number
    that is not a whole number, or a detail not signed for this login."""
    key = params.get("notice")
    message = NOTICES.get(key or "")
    if key is None or message is None:
        return None
    values = {"n": "", "detail": ""}
    if "{n}" in message:
        n = params.get("n", "")
        if not _WHOLE.fullmatch(n):
            return None
        values["n"] = n
    if "{detail}" in message:
        detail, sig = params.get("detail", ""), params.get("sig", "")
        if not secret or not detail or not hmac.compare_digest(sig, signature(key, detail, secret)):
            return None
        values["detail"] = detail
    return message.format(**values)
