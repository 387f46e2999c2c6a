"""Deliveries: filterable list (live) and the detail of one, attempt by attempt."""

from __future__ import annotations

from dataclasses import replace

from aiohttp import web
from pydantic import ValidationError

from emulator.control.views import attempt_view, delivery_view
from emulator.delivery.service import OUTCOMES, DeliveryFilter
from emulator.marketplace.errors import DomainError

from emulator.control.curl import curl_command
from emulator.protocol.kit import BIND_CHAIN, SINGLE_ORG_SYNC
from ..listing import EXPORT_BATCH, ListFilters, download, every_row, paging, read_filters
from ..security import redirect
from .common import query, render, services

ACTIVITIES = ("newInstance", "queryInstance", "refreshInstance", "updateInstanceStatus", "releaseInstance",
              "upgradeInstance", "changeInstanceCheck", "expireInstance", "upgrade",
              "getLicense", "getLicenseAsync", "refreshLicense", "expireLicense", "changeLicenseStatus",
              "releaseLicense", "upgradeLicense", *BIND_CHAIN, SINGLE_ORG_SYNC)
#: The outcomes offered in the filter, named as the status badges name them.
SHOWN_OUTCOMES = ("pending", "succeeded", "exhausted", "cancelled")
EXPORT_COLUMNS = ("id", "created_at", "merchant_id", "activity", "order_id", "instance", "status", "attempts",
                  "slots_total", "next_attempt_at", "finished_at", "last_verdict", "test_flag", "family")


async def _filter(request: web.Request) -> tuple[DeliveryFilter, ListFilters]:
    common = await read_filters(request, services(request))
    outcome, activity = query(request, "outcome"), query(request, "activity")
    found = common.found
    flt = DeliveryFilter(
        order_id=query(request, "order_id"), merchant_id=common.merchant_id or None,
        activity=activity if activity in ACTIVITIES else None, outcome=outcome if outcome in OUTCOMES else None,
        test_traffic=common.test or None, since=common.since, until=common.until,
        any_of=None if found is None else (frozenset(found.order_ids), frozenset(found.instance_keys),
                                           frozenset(found.delivery_ids)))
    return flt, common


async def list_deliveries(request: web.Request) -> web.Response:
    s = services(request)
    flt, common = await _filter(request)
    page = paging(request, await s.deliveries.count(flt))
    flt = replace(flt, offset=page.offset, limit=page.size)
    deliveries = [delivery_view(d) for d in await s.deliveries.list(flt)]
    return render("deliveries.html", request, {
        "deliveries": deliveries, "filters": flt, "common": common, "page": page, "activities": ACTIVITIES,
        "outcomes": SHOWN_OUTCOMES, "merchants": [m.id for m in await s.catalogue.list_merchants()],
    })


async def export(request: web.Request) -> web.StreamResponse:
    flt, _common = await _filter(request)
    kind = request.match_info["kind"]
    name = f"deliveries-{services(request).clock.now():%Y%m%dT%H%M%S}"
    deliveries = services(request).deliveries
    rows = every_row(lambda before: deliveries.list(replace(flt, before_id=before, limit=EXPORT_BATCH)),
                     lambda d: d.id)
    return await download(request, name, kind, EXPORT_COLUMNS, rows, delivery_view)


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


async def fresh_curl(request: web.Request) -> web.Response:
    """The attempt's request signed again now, as a curl command (text)."""
    try:
        signed = await services(request).deliveries.signed_again(int(request.match_info["delivery_id"]),
                                                                 int(request.match_info["number"]))
    except DomainError as exc:
        return web.Response(status=404, text=exc.message)
    return web.Response(text=curl_command({"method": signed.method, "url": signed.url, "headers": signed.headers,
                                           "body": signed.body.decode("utf-8")}))


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
    app.router.add_get("/deliveries/export.{kind:csv|json}", export)
    app.router.add_get("/deliveries/{delivery_id:[0-9]{1,18}}", delivery_detail)
    app.router.add_post("/deliveries/{delivery_id:[0-9]{1,18}}/restart", restart)
    app.router.add_post("/deliveries/{delivery_id:[0-9]{1,18}}/attempts/{number:[0-9]{1,9}}/curl", fresh_curl)
