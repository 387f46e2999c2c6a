"""The header's search box: any id (order, order line, instance key, the merchant's instanceId,
businessId), whole or in part, in any case."""

from __future__ import annotations

from aiohttp import web

from emulator.marketplace.search import Hit, search

from .common import render, services


def target(hit: Hit) -> str:
    """The page that shows what the hit names."""
    if hit.kind == "businessId" and hit.delivery_id is not None:
        return f"/deliveries/{hit.delivery_id}"
    if hit.kind in ("instance", "instanceId") and hit.instance_key:
        return f"/instances/{hit.instance_key}"
    return f"/orders/{hit.order_id}"


async def search_page(request: web.Request) -> web.Response:
    term = request.query.get("q", "").strip()
    found = await search(services(request).store, term)
    targets = list(dict.fromkeys(target(hit) for hit in found.hits))
    if len(targets) == 1 and not found.partial:
        raise web.HTTPSeeOther(targets[0])
    return render("search.html", request, {
        "found": found, "hits": [{**vars(hit), "href": target(hit)} for hit in found.hits], "too_long": len(term) > 128,
    })


def setup(app: web.Application) -> None:
    app.router.add_get("/search", search_page)
