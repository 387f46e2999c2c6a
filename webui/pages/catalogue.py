"""Catalogue: products of every merchant; create and edit."""

from __future__ import annotations

from aiohttp import web

from emulator.control.views import product_view
from emulator.marketplace.errors import DomainError
from emulator.marketplace.inputs import CHARGING_MODES, ProductInput, ProductPatch
from emulator.marketplace.periods import PERIOD_TYPES

from ..forms import FormState, read_form, submit
from ..security import redirect
from .common import render, services
from .openapi import codes_of

BOOLEANS = ("upgradable", "allows_change")
CHOICES = {
    "charging_mode": CHARGING_MODES,
    "period_type": PERIOD_TYPES,
    "expiry_rounding": ("none", "end_of_day_gmt8"),
}


async def _page(request: web.Request, form: FormState | None = None, status: int = 200) -> web.Response:
    s = services(request)
    products = [product_view(p) for p in await s.catalogue.list_products()]
    merchants = [m.id for m in await s.catalogue.list_merchants()]
    form = form or FormState(name="create", values={"charging_mode": "PERIOD", "period_type": "month",
                                                    "grace_days": 15, "retention_days": 15, "price": "0"})
    return render("catalogue.html", request, {
        "products": products, "merchants": merchants, "form": form, "choices": CHOICES}, status)


async def list_products(request: web.Request) -> web.Response:
    return await _page(request)


async def create_product(request: web.Request) -> web.Response:
    data, form = await read_form(request, booleans=BOOLEANS, name="create")
    if data.get("charging_mode") != "PERIOD":
        data.pop("period_type", None)  # the select always posts a value
    product = await submit(ProductInput, data, form, services(request).catalogue.create_product)
    if product is not None:
        raise redirect(f"/catalogue/{product.code}", f"Product {product.code} created.")
    return await _page(request, form, 400)


async def _edit(request: web.Request, ref: str, form: FormState | None = None, status: int = 200) -> web.Response:
    try:
        product = product_view(await services(request).catalogue.product(ref))
    except DomainError:
        raise web.HTTPNotFound(text=f"Product {ref} does not exist.") from None
    form = form or FormState(name="edit", values=dict(product))
    return render("product.html", request, {
        "product": product, "form": form, "choices": CHOICES, "codes": await codes_of(request, product["id"]),
    }, status)


async def edit_product(request: web.Request) -> web.Response:
    return await _edit(request, request.match_info["ref"])


async def update_product(request: web.Request) -> web.Response:
    ref = request.match_info["ref"]
    data, form = await read_form(request, booleans=BOOLEANS, name="edit")
    data.setdefault("trial_days", None)
    update = services(request).catalogue.update_product
    if await submit(ProductPatch, data, form, lambda patch: update(ref, patch)) is not None:
        raise redirect(f"/catalogue/{ref}", "Product saved.")
    return await _edit(request, ref, form, 400)


def setup(app: web.Application) -> None:
    app.router.add_get("/catalogue", list_products)
    app.router.add_post("/catalogue", create_product)
    app.router.add_get("/catalogue/{ref}", edit_product)
    app.router.add_post("/catalogue/{ref}", update_product)
