"""Console pages, one module per area."""

from __future__ import annotations

from aiohttp import web

from . import (catalogue, certify, clock, dashboard, deliveries, demo_merchant, dialtests, enterprises, gateway,
               live, login_apps, merchants, openapi, orders, protocol, scenarios, search, settings, timeline)


def setup_routes(app: web.Application) -> None:
    for module in (dashboard, merchants, catalogue, orders, deliveries, openapi, login_apps, enterprises,
                   demo_merchant, gateway, dialtests, certify, scenarios, clock, protocol, settings, search, timeline, live):
        module.setup(app)
