"""Merchants: list, create, edit, reveal the key, delete."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from aiohttp import web

from emulator.control.views import merchant_view
from emulator.marketplace.errors import DomainError
from emulator.marketplace.inputs import FAMILIES, MerchantInput, MerchantPatch
from emulator.protocol.crypto import RSA_PADDINGS
from emulator.store.tables import Merchant

from ..forms import FormState, read_form, submit
from ..security import redirect
from .common import render, services
from .openapi import credentials_of
from .protocol import section_href

CHOICES = {
    "family": FAMILIES,
    "signature_hex_case": ("upper", "lower"),
    "purchase_on_exhaust": ("unsubscribe", "hold"),
    "kit_sign_hex_case": ("upper", "lower"),
    "kit_rsa_padding": RSA_PADDINGS,
    "kit_org_info": (("string", "string (a JSON string)"), ("list", "list (a real array)")),
    "aes_key_bits": ("128", "256"),
}
JSON_FIELDS = ("retry_overrides", "license_activities")


@dataclass(frozen=True)
class Family:
    title: str
    section: str


FAMILY_INFO = {
    "saas_v2_slim": Family("SaaS 2.0 slim", "§4"),
    "saas_v2_joint": Family("SaaS 2.0 joint operation", "§5"),
    "license_v2": Family("License 2.0", "§6"),
    "saas_v1": Family("SaaS V1 (legacy)", "§7"),
}


@dataclass(frozen=True)
class Switch:
    name: str
    section: str
    families: tuple[str, ...] = ()  # the families it applies to; empty: every family


JOINT, LICENSE, V1 = "saas_v2_joint", "license_v2", "saas_v1"
SWITCHES = (
    Switch("signature_hex_case", "§2a"),
    Switch("content_type", "§1"),
    Switch("purchase_on_exhaust", "§9"),
    Switch("retry_overrides", "§9"),
    Switch("kit_key", "§2(b)", (JOINT,)),
    Switch("kit_sign_hex_case", "§2(b)", (JOINT,)),
    Switch("kit_base_url", "§1", (JOINT,)),
    Switch("kit_rsa_padding", "§3", (JOINT,)),
    Switch("kit_org_info", "§5", (JOINT,)),
    Switch("encrypt_buyer_contact", "§3", (JOINT, V1)),
    Switch("aes_key_bits", "§3", (JOINT, V1)),
    Switch("license_field", "§6", (LICENSE,)),
    Switch("license_activities", "§6", (LICENSE,)),
)


def _default(name: str) -> Any:
    """The value a new merchant gets, as the table declares it."""
    return Merchant.model_fields[name].get_default(call_default_factory=True)


def _shown(value: Any) -> str:
    if value is None:
        return "not set"
    if isinstance(value, str):
        return value
    return json.dumps(value, ensure_ascii=False, sort_keys=True)


def protocol_in_force(merchant: Merchant, view: dict[str, Any], families: dict[str, int]) -> dict[str, Any]:
    """The merchant's family, the quirk switches that apply to it, and the instances bought under another family."""
    switches = []
    for switch in SWITCHES:
        if switch.families and merchant.family not in switch.families:
            continue
        value, default = getattr(merchant, switch.name), _default(switch.name)
        switches.append({
            "name": switch.name, "value": _shown(view[switch.name] if switch.name == "kit_key" else value),
            "is_default": value == default, "default": _shown(default),
            "section": switch.section, "href": section_href(switch.section),
        })
    family = FAMILY_INFO.get(merchant.family, Family(merchant.family, ""))
    others = [{"family": name, "count": count, "title": FAMILY_INFO[name].title if name in FAMILY_INFO else name,
               "href": section_href(FAMILY_INFO[name].section) if name in FAMILY_INFO else None}
              for name, count in sorted(families.items()) if name != merchant.family and count]
    return {"family": merchant.family, "title": family.title, "section": family.section,
            "href": section_href(family.section) if family.section else None, "switches": switches, "others": others}


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
        for name in JSON_FIELDS:
            values[name] = json.dumps(getattr(merchant, name), indent=1, ensure_ascii=False) \
                if getattr(merchant, name) else ""
        form = FormState(name="edit", values=values)
    families = await services(request).catalogue.instance_families(merchant_id)
    return render("merchant.html", request, {
        "merchant": view, "form": form, "choices": CHOICES, "credentials": await credentials_of(request, merchant_id),
        "protocol": protocol_in_force(merchant, view, families), "section_href": section_href,
    }, status)


async def edit_merchant(request: web.Request) -> web.Response:
    return await _edit_page(request, request.match_info["merchant_id"])


async def update_merchant(request: web.Request) -> web.Response:
    merchant_id = request.match_info["merchant_id"]
    data, form = await read_form(request, booleans=("encrypt_buyer_contact",), json_fields=JSON_FIELDS, name="edit")
    data.setdefault("retry_overrides", {})  # an emptied box clears the overrides
    if "license_activities" in form.values:
        data.setdefault("license_activities", {})  # an emptied box: the default activity names
    if "kit_base_url" in form.values:
        data.setdefault("kit_base_url", None)  # an emptied box: kit syncs go to the production URL again
    if str(data.get("aes_key_bits", "")) in ("128", "256"):  # a form has only strings; the input wants the number
        data["aes_key_bits"] = int(data["aes_key_bits"])  # anything else is left for the input to refuse
    for secret in ("access_key", "kit_key"):  # blank keeps the stored secret
        if not data.get(secret):
            data.pop(secret, None)
    update = services(request).catalogue.update_merchant
    if await submit(MerchantPatch, data, form, lambda patch: update(merchant_id, patch)) is not None:
        raise redirect(f"/merchants/{merchant_id}", "Merchant saved.")
    form.errors = {name: message if message.startswith(name) else f"{name}: {message}"
                   for name, message in form.errors.items()}
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
