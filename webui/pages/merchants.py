"""Merchants: list, create, edit, reveal the key, delete."""

from __future__ import annotations

import json

from aiohttp import web

from emulator.control.views import merchant_view
from emulator.marketplace.errors import DomainError
from emulator.marketplace.inputs import FAMILIES, MerchantInput, MerchantPatch

from ..forms import FormState, read_form, submit
from ..security import redirect
from .common import render, services
from .openapi import credentials_of

CHOICES = {
    "family": FAMILIES,
    "signature_hex_case": ("upper", "lower"),
    "purchase_on_exhaust": ("unsubscribe", "hold"),
}


async def _list(request: web.Request, form: FormState | None = None, status: int = 200) -> web.Response:
    merchants = [merchant_view(m) for m in await services(request).catalogue.list_merchants()]
    form = form or FormState(name="create", values={"family": "saas_v2_slim"})
    return render("merchants.html", request, {"merchants": merchants, "form": form, "choices": CHOICES}, status)


async def list_merchants(request: web.Request) -> web.Response:
    return await _list(request)


async def create_merchant(request: web.Request) -> web.Response:
    data, form = await read_form(request, json_fields=("retry_overrides",), name="create")
    merchant = await submit(MerchantInput, data, form, services(request).catalogue.create_merchant)
    if merchant is not None:
        raise redirect(f"/merchants/{merchant.id}", f"Merchant {merchant.id} created.")
    return await _list(request, form, 400)


async def _edit_page(request: web.Request, merchant_id: str, form: FormState | None = None,
                     status: int = 200) -> web.Response:
    try:
        merchant = await services(request).catalogue.merchant(merchant_id)
    except DomainError:
        raise web.HTTPNotFound(text=f"Merchant {merchant_id} does not exist.") from None
    view = merchant_view(merchant)
    if form is None:
        values = {k: v for k, v in view.items() if k not in ("access_key", "kit_key")}
        values["retry_overrides"] = json.dumps(merchant.retry_overrides, indent=1) if merchant.retry_overrides else ""
        form = FormState(name="edit", values=values)
    return render("merchant.html", request, {
        "merchant": view, "form": form, "choices": CHOICES, "credentials": await credentials_of(request, merchant_id),
    }, status)


async def edit_merchant(request: web.Request) -> web.Response:
    return await _edit_page(request, request.match_info["merchant_id"])


async def update_merchant(request: web.Request) -> web.Response:
    merchant_id = request.match_info["merchant_id"]
    data, form = await read_form(request, json_fields=("retry_overrides",), name="edit")
    data.setdefault("retry_overrides", {})  # an emptied box clears the overrides
    for secret in ("access_key", "kit_key"):  # blank keeps the stored secret
        if not data.get(secret):
            data.pop(secret, None)
    update = services(request).catalogue.update_merchant
    if await submit(MerchantPatch, data, form, lambda patch: update(merchant_id, patch)) is not None:
        raise redirect(f"/merchants/{merchant_id}", "Merchant saved.")
    return await _edit_page(request, merchant_id, form, 400)


async def reveal_key(request: web.Request) -> web.Response:
    merchant = await services(request).catalogue.merchant(request.match_info["merchant_id"])
    return web.json_response({"access_key": merchant.access_key, "kit_key": merchant.kit_key})


async def delete_merchant(request: web.Request) -> web.Response:
    merchant_id = request.match_info["merchant_id"]
    try:
        await services(request).catalogue.delete_merchant(merchant_id)
    except DomainError as exc:
        raise redirect(f"/merchants/{merchant_id}", exc.message, "error") from None
    raise redirect("/merchants", f"Merchant {merchant_id} deleted.")


def setup(app: web.Application) -> None:
    app.router.add_get("/merchants", list_merchants)
    app.router.add_post("/merchants", create_merchant)
    app.router.add_get("/merchants/{merchant_id}", edit_merchant)
    app.router.add_post("/merchants/{merchant_id}", update_merchant)
    app.router.add_post("/merchants/{merchant_id}/reveal", reveal_key)
    app.router.add_post("/merchants/{merchant_id}/delete", delete_merchant)
