"""Dashboard: merchant health, recent failures, recent orders, the clock."""

from __future__ import annotations

from aiohttp import web

from emulator.control.views import attempt_view, delivery_view, merchant_view, order_view
from emulator.marketplace.orders import OrderFilter

from .common import render, services


async def dashboard(request: web.Request) -> web.Response:
    s = services(request)
    test = request.query.get("test", "")
    test = test if test in ("hide", "only") else ""
    counts = await s.deliveries.health(test or None)
    merchants = []
    for merchant in await s.catalogue.list_merchants():
        by_status = counts.get(merchant.id, {})
        merchants.append({
            **merchant_view(merchant),
            "succeeded": by_status.get("succeeded", 0),
            "failed": by_status.get("exhausted", 0),
            "pending": by_status.get("scheduled", 0) + by_status.get("waiting", 0),
        })
    failures = [{"attempt": attempt_view(a), "delivery": delivery_view(d)}
                for a, d in await s.deliveries.recent_failures(8)]
    orders = [order_view(o) for o in await s.orders.list(OrderFilter(limit=8))]
    return render("dashboard.html", request, {"merchants": merchants, "failures": failures, "orders": orders,
                                              "test": test})


def setup(app: web.Application) -> None:
    app.router.add_get("/", dashboard, name="dashboard")
