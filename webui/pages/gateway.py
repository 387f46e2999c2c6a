"""Gateway: the backends of Agents and API products, and the calls forwarded to them (PROTOCOL §14)."""

from __future__ import annotations

import re
from typing import Any

import aiohttp_jinja2
from aiohttp import web

from emulator.control.gateway_routes import endpoint_of, order_gateway_view
from emulator.control.views import gateway_backend_view, gateway_call_view, product_view
from emulator.gateway.inputs import AUTH_MODES, KINDS, METHODS, BackendInput
from emulator.gateway.service import CallFilter
from emulator.marketplace.errors import DomainError

from ..forms import FormState, read_form, validate
from ..security import redirect
from .common import query, render, services

OUTCOMES = {"passed": True, "failed": False}
CHOICE_CHARS = 32  # longest product label in the form's select: fits a 390 px wide screen
ORDER_PAGE = re.compile(r"^/orders/([^/]+)(/[a-z]+)?$")


async def _page(request: web.Request, form: FormState | None = None, status: int = 200) -> web.Response:
    s = services(request)
    outcome = query(request, "outcome")
    product = query(request, "product")
    backends = await s.gateway.backends()
    product_id = next((p.id for _, p in backends if product in (p.id, p.code)), product)
    flt = CallFilter(order_id=query(request, "order_id"), product_id=product_id, passed=OUTCOMES.get(outcome or ""),
                     limit=200)
    calls = [gateway_call_view(c) for c in await s.gateway.calls(flt)]
    return render("gateway.html", request, {
        "backends": [{**gateway_backend_view(b, p), "endpoint": endpoint_of(request, p.code)} for b, p in backends],
        "calls": calls, "outcome": outcome, "product": product, "order_id": flt.order_id,
        "products": [(p["code"], _choice_label(p)) for p in
                     (product_view(p) for p in await s.catalogue.list_products())],
        "choices": {"kind": KINDS, "http_method": METHODS, "auth_mode": AUTH_MODES},
        "form": form or FormState(values={"kind": "agents", "http_method": "POST", "auth_mode": "aksk"}),
    }, status)


def _choice_label(product: dict[str, Any]) -> str:
    """``code — name``, cut short: a select is as wide as its longest option, and a long product
    name would make the page scroll sideways on a phone."""
    label = f"{product['code']} — {product['name']}"
    return label if len(label) <= CHOICE_CHARS else label[:CHOICE_CHARS - 1].rstrip() + "…"


async def journal(request: web.Request) -> web.Response:
    return await _page(request)


async def register(request: web.Request) -> web.Response:
    data, form = await read_form(request)
    product = data.pop("product", "")
    parsed = validate(BackendInput, data, form)
    if parsed is not None:
        try:
            backend, _created = await services(request).gateway.register(product, parsed)
        except DomainError as exc:
            form.from_domain(exc)
        else:
            raise redirect("/gateway", f"Backend of {product} registered (AK {backend.access_key or 'none'}).")
    return await _page(request, form, 400)


async def call_detail(request: web.Request) -> web.Response:
    try:
        call = await services(request).gateway.call(int(request.match_info["call_id"]))
    except DomainError:
        raise web.HTTPNotFound(text="No such call.") from None
    return render("gateway_call.html", request, {"call": gateway_call_view(call, full=True)})


async def order_panel(request: web.Request) -> dict[str, Any]:
    """The order page's gateway panel (endpoint, key, totals), for orders of Agents/API products."""
    match = ORDER_PAGE.match(request.path)
    if match is None or request.method != "GET":
        return {}
    try:
        key, product, backend = await services(request).gateway.key_for_order(match.group(1))
    except DomainError:
        return {"gateway": None}
    return {"gateway": await order_gateway_view(request, key.order_id, key.key, product.code, backend.kind)}


def setup(app: web.Application) -> None:
    processors = app[aiohttp_jinja2.APP_CONTEXT_PROCESSORS_KEY]
    app[aiohttp_jinja2.APP_CONTEXT_PROCESSORS_KEY] = [*processors, order_panel]
    app.router.add_get("/gateway", journal)
    app.router.add_post("/gateway", register)
    app.router.add_get("/gateway/calls/{call_id:[0-9]{1,18}}", call_detail)
