"""Console pages. Presentation only: data comes from the service layer via the JSON views."""

from __future__ import annotations

from typing import Any

import aiohttp_jinja2
from aiohttp import web

from emulator.control.keys import SERVICES
from emulator.control.views import attempt_view, clock_view, delivery_view, order_view
from emulator.delivery.service import DeliveryFilter
from emulator.marketplace.errors import NotFound
from emulator.marketplace.orders import OrderFilter


@aiohttp_jinja2.template("dashboard.html")
async def dashboard(request: web.Request) -> dict[str, Any]:
    services = request.app[SERVICES]
    orders = await services.orders.list(OrderFilter(limit=20))
    deliveries = await services.deliveries.list(DeliveryFilter(limit=30))
    return {
        "clock": clock_view(services.clock),
        "orders": [order_view(o) for o in orders],
        "deliveries": [delivery_view(d) for d in deliveries],
    }


@aiohttp_jinja2.template("delivery.html")
async def delivery_detail(request: web.Request) -> dict[str, Any]:
    services = request.app[SERVICES]
    raw = request.match_info["delivery_id"]
    if not raw.isdigit():
        raise web.HTTPNotFound()
    try:
        delivery, attempts = await services.deliveries.get(int(raw))
    except NotFound:
        raise web.HTTPNotFound() from None
    return {
        "clock": clock_view(services.clock),
        "delivery": delivery_view(delivery),
        "attempts": [attempt_view(a) for a in attempts],
    }


def setup_routes(app: web.Application) -> None:
    app.router.add_get("/", dashboard, name="dashboard")
    app.router.add_get("/deliveries/{delivery_id}", delivery_detail, name="delivery")
