"""Web console: aiohttp-jinja2 views over the same service layer as the control API.

Views only translate between forms and the services; templates only present.
"""

from __future__ import annotations

import secrets
from pathlib import Path
from typing import Any

import aiohttp_jinja2
import jinja2
from aiohttp import web

from emulator import __version__
from emulator.control.keys import SERVICES, SETTINGS
from emulator.control.views import clock_view

from . import nav
from .pages import setup_routes
from .security import CSRF_KEY, csrf_middleware, csrf_token, flash_middleware, take_flash

TEMPLATES = Path(__file__).parent / "templates"
STATIC = Path(__file__).parent / "static"


#: JSON surfaces, where no template is rendered: their requests skip the console's context.
_NO_TEMPLATES = ("/api/", "/sandbox/api/")


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
        "version": __version__,
    }


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
    env.filters["short_time"] = lambda iso: (iso or "").replace("T", " ").removesuffix("Z")
    app.router.add_static("/static/", STATIC, name="static")
    setup_routes(app)
