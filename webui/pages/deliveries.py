"""Deliveries: filterable list (live) and the detail of one, attempt by attempt."""

from __future__ import annotations

from aiohttp import web
from pydantic import ValidationError

from emulator.control.views import attempt_view, delivery_view
from emulator.delivery.service import OUTCOMES, DeliveryFilter
from emulator.marketplace.errors import DomainError

from emulator.control.curl import curl_command
from emulator.protocol.kit import BIND_CHAIN, SINGLE_ORG_SYNC
from ..security import redirect
from .common import query, render, services

ACTIVITIES = ("newInstance", "queryInstance", "refreshInstance", "updateInstanceStatus", "releaseInstance",
              "upgradeInstance", "changeInstanceCheck", "expireInstance", "upgrade", *BIND_CHAIN, SINGLE_ORG_SYNC)


async def list_deliveries(request: web.Request) -> web.Response:
    outcome = query(request, "outcome")
    flt = DeliveryFilter(order_id=query(request, "order_id"), activity=query(request, "activity"),
                         outcome=outcome if outcome in OUTCOMES else None, merchant_id=query(request, "merchant_id"),
                         limit=200)
    deliveries = [delivery_view(d) for d in await services(request).deliveries.list(flt)]
    return render("deliveries.html", request, {
        "deliveries": deliveries, "filters": flt, "activities": ACTIVITIES, "outcomes": tuple(OUTCOMES),
    })


async def delivery_detail(request: web.Request) -> web.Response:
    raw = request.match_info["delivery_id"]
    s = services(request)
    try:
        delivery, attempts = await s.deliveries.get(int(raw))
    except (ValueError, DomainError, ValidationError):
        raise web.HTTPNotFound(text=f"Delivery {raw} does not exist.") from None
    views = []
    for attempt in attempts:
        view = attempt_view(attempt)
        view["curl"] = curl_command(view["request"])
        views.append(view)
    return render("delivery.html", request, {
        "delivery": delivery_view(delivery), "attempts": views,
        "restart_refusal": await s.deliveries.can_restart(delivery),
    })


async def restart(request: web.Request) -> web.Response:
    raw = request.match_info["delivery_id"]
    try:
        await services(request).deliveries.restart(int(raw))
    except (ValueError, DomainError) as exc:
        raise redirect(f"/deliveries/{raw}", getattr(exc, "message", str(exc)), "error") from None
    await services(request).settle()  # so the page shows the new attempt at once
    raise redirect(f"/deliveries/{raw}", "Restarted: one more attempt was sent now.")


def setup(app: web.Application) -> None:
    app.router.add_get("/deliveries", list_deliveries)
    app.router.add_get("/deliveries/{delivery_id:[0-9]{1,18}}", delivery_detail)
    app.router.add_post("/deliveries/{delivery_id:[0-9]{1,18}}/restart", restart)
