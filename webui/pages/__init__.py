"""Console pages, one module per area."""

from __future__ import annotations

from aiohttp import web

from . import catalogue, clock, dashboard, deliveries, live, merchants, orders, settings


def setup_routes(app: web.Application) -> None:
    for module in (dashboard, merchants, catalogue, orders, deliveries, clock, settings, live):
        module.setup(app)
