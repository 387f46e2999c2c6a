"""The only URLs the gateway requests: a product's registered backend URL plus the path the buyer
called under it. Nothing from the caller can name a host, a scheme or a path above the base."""

from __future__ import annotations

from typing import Optional
from urllib.parse import quote, unquote, urlsplit

from ..marketplace.targets import OwnAddress

BUILTIN_DEMO = "builtin:demo-agents"  # the emulator's own demo backend, wherever it is bound
DEMO_PATH = "/api/demo-agents"


class BadPath(ValueError):
    """The path the buyer called cannot be appended to a backend URL; ``str`` says why."""


def backend_url_reason(url: str, own: Optional[OwnAddress]) -> Optional[str]:
    """Why ``url`` cannot be registered as a backend URL, or None."""
    try:
        parts = urlsplit(url)
        port = parts.port or (443 if parts.scheme == "https" else 80)
    except ValueError as exc:
        return f"is not a valid URL ({exc})"
    if parts.scheme not in ("http", "https") or not parts.hostname:
        return "must be an absolute http:// or https:// URL with a host"
    if parts.username or parts.password:
        return "must not carry a user name or password"
    if parts.query or parts.fragment:
        return "must not have a query or a fragment (the buyer's query is passed on)"
    if own is not None and port == own.port and parts.hostname.lower() in own.hosts \
            and not (parts.path + "/").startswith(DEMO_PATH + "/"):
        return (f"points at this emulator itself ({parts.hostname}:{port}{parts.path or '/'}); only its demo "
                f"backend ({DEMO_PATH}) may be a backend here")
    return None


def resolve_base(url: str, own_base: str) -> str:
    """The backend URL to request: the built-in demo backend lives on this emulator."""
    return own_base.rstrip("/") + DEMO_PATH if url == BUILTIN_DEMO else url


def target_url(base: str, raw_tail: str, query: str) -> str:
    """``base`` + ``/`` + the buyer's path (still percent-encoded) + the buyer's query.

    Refused: dot segments (also encoded), backslashes, empty segments (``//``), control
    characters; each segment is re-encoded so that it stays one segment under ``base``."""
    segments = []
    for raw in raw_tail.split("/") if raw_tail else []:
        text = unquote(raw)
        if raw == "" or text in (".", "..") or "\\" in text or "/" in text:
            raise BadPath(f"the path segment {raw!r} is not allowed (no '.', '..', '//', '\\\\' or encoded '/')")
        if any(ord(ch) < 32 or ord(ch) == 127 for ch in text):
            raise BadPath("the path has control characters")
        segments.append(quote(text, safe="!$&'()*+,;=:@-._~"))
    url = base.rstrip("/") + ("/" + "/".join(segments) if segments else "")
    if query:
        if any(ord(ch) < 33 or ord(ch) == 127 for ch in query):
            raise BadPath("the query has spaces or control characters")
        url += "?" + query
    return url
