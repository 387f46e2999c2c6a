"""Web console: aiohttp-jinja2 views over the same service layer as the control API.

Views only translate between forms and the services; templates only present.
"""

from __future__ import annotations

import secrets
from pathlib import Path
from typing import Any, Awaitable, Callable

import aiohttp_jinja2
import jinja2
from aiohttp import web

from emulator import __version__
from emulator.control.keys import SERVICES, SETTINGS
from emulator.control.views import clock_view

from . import nav
from .pages import setup_routes
from .security import CSRF_KEY, csrf_middleware, csrf_token, flash_middleware, is_console, take_flash

TEMPLATES = Path(__file__).parent / "templates"
STATIC = Path(__file__).parent / "static"


#: JSON surfaces, where no template is rendered: their requests skip the console's context.
_NO_TEMPLATES = ("/api/", "/sandbox/api/")


def _has_page(app: web.Application, path: str) -> bool:
    """Whether a GET of ``path`` has a route (without making a request of it)."""
    for resource in app.router.resources():
        info = resource.get_info()
        pattern = info.get("pattern")
        matches = info.get("path") == path or (pattern is not None and pattern.fullmatch(path))
        if matches and any(route.method in ("GET", "*") for route in resource):
            return True
    return False


def page_url(request: web.Request) -> str:
    """The address of the page a request shows. A form posted with an error is answered with its
    page (and the error); the page then takes this address back, so a reload or a live refresh
    asks for the page, never the form's POST address (see console.js)."""
    if request.method in ("GET", "HEAD"):
        return request.path_qs
    path = request.path.rstrip("/")
    while path and not _has_page(request.app, path):
        path = path.rpartition("/")[0]
    return path or "/"


async def _context(request: web.Request) -> dict[str, Any]:
    if request.path.startswith(_NO_TEMPLATES):
        return {}
    return {
        "nav": nav.NAV,
        "current": nav.current(request.path),
        "csrf": csrf_token(request),
        "flash": take_flash(request),
        "clock": clock_view(request.app[SERVICES].clock),
        "path": request.path_qs,
        "page_url": page_url(request),
        "version": __version__,
    }


TITLES = {400: "Bad request", 403: "Forbidden", 404: "Page not found", 405: "Not allowed here",
          413: "Too large"}


@web.middleware
async def error_pages(request: web.Request,
                      handler: Callable[[web.Request], Awaitable[web.StreamResponse]]) -> web.StreamResponse:
    """A console address that fails gets a page with the navigation, not bare text."""
    try:
        return await handler(request)
    except web.HTTPException as exc:
        if exc.status < 400 or not is_console(request.path) or request.path == "/events":
            raise
        default = f"{exc.status}: {exc.reason}"
        message = exc.text if exc.text and exc.text != default else (
            f"Nothing lives at {request.path}." if exc.status == 404 else exc.reason)
        return aiohttp_jinja2.render_template("error.html", request, {
            "title": TITLES.get(exc.status, exc.reason), "message": message}, status=exc.status)


async def favicon(_request: web.Request) -> web.FileResponse:
    return web.FileResponse(STATIC / "favicon.svg", headers={"Content-Type": "image/svg+xml",
                                                               "Cache-Control": "max-age=86400"})


def setup(app: web.Application) -> None:
    secret = app[SETTINGS].console_secret
    app[CSRF_KEY] = secret.encode() if secret else secrets.token_bytes(32)
    # Before aiohttp-jinja2's own middleware, which runs the context processors.
    app.middlewares.append(csrf_middleware)
    app.middlewares.append(flash_middleware)
    env = aiohttp_jinja2.setup(
        app,
        loader=jinja2.FileSystemLoader(str(TEMPLATES)),
        autoescape=jinja2.select_autoescape(default=True, default_for_string=True),
        context_processors=[_context],
        undefined=jinja2.StrictUndefined,
    )
    app.middlewares.append(error_pages)  # innermost: the page's context is ready when it renders
    env.filters["short_time"] = lambda iso: (iso or "").replace("T", " ").removesuffix("Z")
    app.router.add_static("/static/", STATIC, name="static")
    app.router.add_get("/favicon.ico", favicon)
    setup_routes(app)
