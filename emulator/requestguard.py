"""Who may talk to the emulator from a browser: the Host allow-list and the same-origin rule.

Two attacks matter for a tool that listens on localhost and keeps merchants' keys:

* **DNS rebinding** — a page on ``rebind.attacker.example`` whose name later resolves to
  127.0.0.1 talks to the emulator with its own ``Host``. Only configured host names are
  served (the bound address, ``localhost``, ``127.0.0.1``, ``[::1]`` and ``allowed_hosts``).
* **Neighbours on another port** — cookies are not separated by port, so a page served on
  127.0.0.1:OTHER is *same-site* with the console. State-changing requests must be
  *same-origin*: their ``Origin`` (when sent) names this very host and port, and
  ``Sec-Fetch-Site`` (when sent) is ``same-origin`` or ``none``. Scripts and curl send neither.

The signed open APIs are exempt from the Host rule: a signature covers ``Host`` and a browser
cannot produce one, and merchants reach them under whatever name their network gives.
"""

from __future__ import annotations

import socket
from typing import Awaitable, Callable, Iterable, Optional
from urllib.parse import urlsplit

from aiohttp import web

SAFE_METHODS = ("GET", "HEAD", "OPTIONS")
SIGNED_PREFIX = "/api/mkp-openapi-public/"
LOOPBACK_NAMES = ("localhost", "127.0.0.1", "::1")
WILDCARD_BINDS = ("", "0.0.0.0", "::")


def host_name(host_header: str) -> Optional[str]:
    """The host part of a ``Host`` header (lower case, brackets of IPv6 removed), or None if it
    cannot be a host name."""
    try:
        parts = urlsplit("//" + host_header)
        name = parts.hostname
        parts.port  # noqa: B018 - raises ValueError on a bad port
    except ValueError:
        return None
    return name.lower() if name else None


def own_host_names(bound_host: str, extra: Iterable[str]) -> frozenset[str]:
    """The names this emulator answers to: loopback, the bound address (or the machine's name
    when bound to every address) and the configured extra names (``*`` aside)."""
    names = {name.strip().lower().strip("[]") for name in extra if name.strip() and name.strip() != "*"}
    names.update(LOOPBACK_NAMES)
    names.add(socket.gethostname().lower() if bound_host in WILDCARD_BINDS else bound_host.lower().strip("[]"))
    return frozenset(names)


def allowed_hosts(bound_host: str, extra: Iterable[str]) -> Optional[frozenset[str]]:
    """The host names served; None means any (``*`` in the setting)."""
    extra = list(extra)
    return None if any(name.strip() == "*" for name in extra) else own_host_names(bound_host, extra)


def origin_netloc(origin: str) -> Optional[str]:
    """``host:port`` of an ``Origin`` header as the browser wrote it; None for ``null`` or junk."""
    try:
        parts = urlsplit(origin)
        parts.port  # noqa: B018
    except ValueError:
        return None
    return parts.netloc.lower() if parts.scheme in ("http", "https") and parts.netloc else None


def cross_origin_reason(request: web.Request) -> Optional[str]:
    """Why a state-changing request did not come from this emulator's own pages, or None."""
    if request.method in SAFE_METHODS:
        return None
    origin = request.headers.get("Origin")
    if origin is not None and origin_netloc(origin) != request.host.lower():
        return f"requests from {origin[:200]!r} are not accepted"
    fetch_site = request.headers.get("Sec-Fetch-Site")
    if fetch_site is not None and fetch_site not in ("same-origin", "none"):
        return f"{fetch_site} requests are not accepted"
    return None


def host_middleware(accepted: Optional[frozenset[str]],
                    refuse: Callable[[web.Request, str], web.StreamResponse]):  # type: ignore[no-untyped-def]
    """Refuse requests whose ``Host`` is not served; ``refuse`` builds the answer in the shape
    of the surface that was called."""

    @web.middleware
    async def check_host(request: web.Request,
                         handler: Callable[[web.Request], Awaitable[web.StreamResponse]]) -> web.StreamResponse:
        if accepted is None or request.path.startswith(SIGNED_PREFIX):
            return await handler(request)
        name = host_name(request.headers.get("Host", ""))
        if name not in accepted:
            shown = request.headers.get("Host", "")[:200]
            return refuse(request, f"host name {shown!r} is not served by this emulator; add it to "
                                   "KOOGALLERY_ALLOWED_HOSTS (or allowed_hosts in the config file)")
        return await handler(request)

    return check_host
