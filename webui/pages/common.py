"""Small helpers shared by the page modules."""

from __future__ import annotations

from typing import Any

import aiohttp_jinja2
from aiohttp import web

from emulator.control.keys import SERVICES
from emulator.services import Services


def services(request: web.Request) -> Services:
    return request.app[SERVICES]


def render(template: str, request: web.Request, context: dict[str, Any], status: int = 200) -> web.Response:
    return aiohttp_jinja2.render_template(template, request, context, status=status)


def query(request: web.Request, name: str) -> str | None:
    """A query parameter, trimmed; without NUL characters, which no id holds and PostgreSQL refuses."""
    value = request.query.get(name, "").replace("\x00", "").strip()
    return value or None
