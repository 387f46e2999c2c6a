"""Redirect-URI rules and redirect building (PROTOCOL §13.2, §13.7)."""

from __future__ import annotations

from typing import Optional
from urllib.parse import urlencode, urlsplit


UNSAFE = set("\\ \t\r\n\x00\x7f")


def _origin(url: str) -> Optional[tuple[str, str, int]]:
    """(scheme, host, port) of a plain http(s) URL; None for anything a browser might read
    differently from this parser (backslashes, blanks, control characters, user info)."""
    if UNSAFE.intersection(url) or any(ord(ch) < 32 for ch in url):
        return None
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:
        return None
    if parts.scheme not in ("http", "https") or not parts.hostname or "@" in parts.netloc:
        return None
    return parts.scheme, parts.hostname.lower(), port or (443 if parts.scheme == "https" else 80)


def allowed(candidate: str, registered: str, rule: str = "same_origin") -> bool:
    """Is ``candidate`` acceptable for an application registered with ``registered``?"""
    if "#" in candidate or _origin(candidate) is None:
        return False
    if candidate == registered:
        return True
    if rule == "exact":
        return False
    mine, theirs = _origin(candidate), _origin(registered)
    if mine is None or theirs is None:
        return False
    if rule == "same_domain":
        return mine[0] == theirs[0] and mine[2] == theirs[2] and (
            mine[1] == theirs[1] or mine[1].endswith("." + theirs[1]))
    return mine == theirs


def with_params(url: str, **params: Optional[str]) -> str:
    """``url`` with the given parameters appended (``&`` when it already has a query); None skipped."""
    query = urlencode({k: v for k, v in params.items() if v is not None})
    if not query:
        return url
    return url + ("&" if "?" in url else "?") + query
