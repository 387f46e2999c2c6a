"""Orders: place one, list them, and act on an order's instance (state-gated actions)."""

from __future__ import annotations

from dataclasses import replace
from typing import Any, Awaitable, Callable

from aiohttp import web
from pydantic import BaseModel

from emulator.control.views import delivery_view, instance_view, order_view, product_view, usage_view
from emulator.delivery.service import DeliveryFilter
from emulator.kit.service import KIT_FAMILIES
from emulator.marketplace.errors import DomainError
from emulator.marketplace.inputs import ConvertInput, OrderInput, RenewInput, UpgradeInput
from emulator.marketplace.orders import OrderFilter

from ..forms import FormState, read_form, submit, validate
from ..listing import EXPORT_BATCH, ListFilters, download, every_row, paging, read_filters
from ..security import redirect
from .common import query, render, services

ORDER_TYPES = ("NEW", "TRIAL", "TRIAL_TO_FORMAL", "RENEWAL", "CHANGE", "UNSUBSCRIBE")
STATUSES = ("paid", "delivered", "undelivered", "failed", "unsubscribed")


async def _products(request: web.Request) -> list[dict[str, Any]]:
    return [product_view(p) for p in await services(request).catalogue.list_products()]


EXPORT_COLUMNS = ("order_id", "created_at", "merchant_id", "order_type", "status", "instance", "related_order_id",
                  "test_flag")


async def _filter(request: web.Request) -> tuple[OrderFilter, ListFilters]:
    common = await read_filters(request, services(request))
    order_type, status = query(request, "order_type"), query(request, "status")
    found = common.found
    flt = OrderFilter(
        merchant_id=common.merchant_id or None, order_type=order_type if order_type in ORDER_TYPES else None,
        status=status if status in STATUSES else None, test_traffic=common.test or None,
        since=common.since, until=common.until,
        any_of=None if found is None else (frozenset(found.order_ids), frozenset(found.instance_keys)))
    return flt, common


async def _list(request: web.Request, form: FormState | None = None, status: int = 200) -> web.Response:
    s = services(request)
    flt, common = await _filter(request)
    page = paging(request, await s.orders.count(flt))
    orders = [order_view(o) for o in await s.orders.list(replace(flt, offset=page.offset, limit=page.size))]
    form = form or FormState(name="buy", values={"period_number": 1})
    return render("orders.html", request, {
        "orders": orders, "products": await _products(request), "form": form, "filters": flt, "common": common,
        "page": page, "order_types": ORDER_TYPES, "statuses": STATUSES,
        "merchants": [m.id for m in await s.catalogue.list_merchants()],
    }, status)


async def export(request: web.Request) -> web.StreamResponse:
    flt, _common = await _filter(request)
    name = f"orders-{services(request).clock.now():%Y%m%dT%H%M%S}"
    orders = services(request).orders
    rows = every_row(lambda before: orders.list(replace(flt, before_seq=before, limit=EXPORT_BATCH)),
                     lambda o: o.seq)
    return await download(request, name, request.match_info["kind"], EXPORT_COLUMNS, rows, order_view)


async def list_orders(request: web.Request) -> web.Response:
    return await _list(request)


async def create_order(request: web.Request) -> web.Response:
    data, form = await read_form(request, booleans=("trial",), name="buy")
    if data.get("trial"):
        data.pop("period_number", None)  # a trial lasts the product's trial_days
    placed = await submit(OrderInput, data, form, services(request).orders.create)
    if placed is not None:
        order_id = placed.order.id
        raise redirect(f"/orders/{order_id}", f"Order {order_id} placed; newInstance is on its way.")
    return await _list(request, form, 400)


async def _kit(request: web.Request, merchant_id: str, instance_key: str | None) -> dict[str, Any] | None:
    """For a joint-operation order: the enterprises already bound to its instance."""
    s = services(request)
    try:
        family = (await s.catalogue.merchant(merchant_id)).family
    except DomainError:
        return None
    if family not in KIT_FAMILIES:
        return None
    tenants = await s.kit.tenants(instance_key=instance_key) if instance_key else []
    return {"tenants": [{"tenant_id": t.tenant_id, "name": t.name} for t in tenants]}


async def _detail(request: web.Request, order_id: str, form: FormState | None = None,
                  status: int = 200) -> web.Response:
    s = services(request)
    try:
        order, lines = await s.orders.get(order_id)
    except DomainError:
        raise web.HTTPNotFound(text=f"Order {order_id} does not exist.") from None
    instance = product = None
    related: list[dict[str, Any]] = []
    if order.instance_key:
        inst, prod = await s.orders.instance(order.instance_key)
        instance, product = instance_view(inst, prod, s.clock), product_view(prod)
        related = [order_view(o) for o in await s.orders.list(OrderFilter(instance_key=inst.key, limit=50))]
    deliveries = [delivery_view(d) for d in await s.deliveries.list(DeliveryFilter(order_id=order_id, limit=200))]
    usage = None
    if instance is not None and product is not None and product["charging_mode"] == "ON_DEMAND":
        records, total = await s.openapi_records.usage(instance["key"])
        usage = {"total": str(total), "records": [usage_view(r) for r in records]}
    targets = [("", "same product")] + [
        (p["code"], f"{p['code']} — {p['name']}") for p in await _products(request)
        if p["merchant_id"] == order.merchant_id and p["charging_mode"] == "PERIOD"]
    return render("order.html", request, {
        "order": order_view(order, lines), "instance": instance, "product": product, "related": related,
        "deliveries": deliveries, "actions": await s.orders.actions(order), "targets": targets, "usage": usage,
        "form": form or FormState(values={"period_number": 1}),
        "kit": await _kit(request, order.merchant_id, order.instance_key),
    }, status)


async def order_detail(request: web.Request) -> web.Response:
    return await _detail(request, request.match_info["order_id"])


def _form_action(model: type[BaseModel] | None, run: Callable[..., Awaitable[Any]], done: str) -> Any:
    async def handler(request: web.Request) -> web.Response:
        order_id = request.match_info["order_id"]
        data, form = await read_form(request, name=request.match_info.get("action", ""))
        form.name = handler.__name__
        orders = services(request).orders
        try:
            if model is None:
                result = await run(orders, order_id)
            else:
                parsed = validate(model, data, form)
                if parsed is None:
                    return await _detail(request, order_id, form, 400)
                result = await run(orders, order_id, parsed)
        except DomainError as exc:
            form.from_domain(exc)
            return await _detail(request, order_id, form, 409 if exc.status == 409 else 400)
        raise redirect(f"/orders/{order_id}", done.format(result=result))

    return handler


async def query_instance(request: web.Request) -> web.Response:
    order_id = request.match_info["order_id"]
    try:
        outcome = await services(request).orders.query_instance(order_id)
    except DomainError as exc:
        raise redirect(f"/orders/{order_id}", exc.message, "error") from None
    raise redirect(f"/orders/{order_id}", f"queryInstance: {outcome.summary}", "ok" if outcome.passed else "error")


ACTIONS: dict[str, Any] = {
    "renew": _form_action(RenewInput, lambda o, i, d: o.renew(i, d), "Renewal order {result.id} placed."),
    "convert": _form_action(ConvertInput, lambda o, i, d: o.convert_trial(i, d), "Formal order {result.id} placed."),
    "upgrade": _form_action(UpgradeInput, lambda o, i, d: o.upgrade(i, d), "Upgrade order {result.id} placed."),
    "unsubscribe": _form_action(None, lambda o, i: o.unsubscribe(i), "Order {result.id} recorded: unsubscribed."),
    "freeze": _form_action(None, lambda o, i: o.freeze(i), "Instance frozen."),
    "unfreeze": _form_action(None, lambda o, i: o.unfreeze(i), "Instance unfrozen."),
    "release": _form_action(None, lambda o, i: o.release(i), "Instance released."),
}


def setup(app: web.Application) -> None:
    app.router.add_get("/orders", list_orders)
    app.router.add_post("/orders", create_order)
    app.router.add_get("/orders/export.{kind:csv|json}", export)
    app.router.add_get("/orders/{order_id}", order_detail)
    for name, handler in ACTIONS.items():
        handler.__name__ = name
        app.router.add_post(f"/orders/{{order_id}}/{name}", handler)
    app.router.add_post("/orders/{order_id}/query", query_instance)
