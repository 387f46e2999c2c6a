"""Enterprises of the joint-operation family: bind an order's app to one, follow its kit-sync chain,
re-send or repeat kit calls, and edit its departments and users."""

from __future__ import annotations

from typing import Any, Awaitable, Callable, Optional

from aiohttp import web

from emulator.control.kit_routes import detail_view, tenant_view
from emulator.kit.inputs import BindInput, DepartmentInput, DepartmentPatch, MemberInput, MemberPatch, ResendInput
from emulator.kit.service import NOT_SENT
from emulator.marketplace.errors import DomainError, NotFound
from emulator.store.tables import KitTenant

from ..forms import FormState, read_form, submit, validate
from ..security import redirect
from .common import query, render, services

ROLES = ("user", "admin")


# -- the list and the bind form -------------------------------------------------------------
async def _order_of(request: web.Request, instance_key: Optional[str]) -> Optional[str]:
    if not instance_key:
        return None
    try:
        instance, _product = await services(request).orders.instance(instance_key)
    except DomainError:
        return None
    return instance.order_id


async def _row(request: web.Request, tenant: KitTenant) -> dict[str, Any]:
    detail = await services(request).kit.detail(tenant.tenant_id)
    failed = detail.failed_step
    summary = "synced" if detail.chain_complete else (f"{failed.name} failed" if failed else "in progress")
    return {**tenant_view(tenant), "order_id": await _order_of(request, tenant.instance_key), "summary": summary,
            "chain": [{"step": s.name, "state": s.state} for s in detail.chain]}


async def _list(request: web.Request, form: Optional[FormState] = None, status: int = 200) -> web.Response:
    rows = [await _row(request, t) for t in await services(request).kit.tenants()]
    form = form or FormState(name="bind", values={"order_id": query(request, "order_id") or ""})
    return render("enterprises.html", request, {"enterprises": rows, "form": form}, status)


async def list_enterprises(request: web.Request) -> web.Response:
    return await _list(request)


async def bind(request: web.Request) -> web.Response:
    data, form = await read_form(request, name="bind")
    detail = await submit(BindInput, data, form, services(request).kit.bind)
    if detail is None:
        return await _list(request, form, 400)
    await services(request).settle()
    tenant_id = detail.tenant.tenant_id
    raise redirect(f"/enterprises/{tenant_id}", f"Enterprise {tenant_id} bound; its kit-sync chain was sent.")


# -- one enterprise -------------------------------------------------------------------------
def _rename_forms(view: dict[str, Any], form: FormState) -> dict[str, FormState]:
    """One rename form per department, prefilled with its name unless it is the one just refused."""
    forms = {}
    for org in view["departments"]:
        name = "rename-" + org["org_code"]
        forms[org["org_code"]] = form if form.name == name else FormState(name=name, values={"name": org["name"]})
    return forms


async def _detail(request: web.Request, tenant_id: str, form: Optional[FormState] = None,
                  status: int = 200) -> web.Response:
    try:
        detail = await services(request).kit.detail(tenant_id)
    except DomainError:
        raise web.HTTPNotFound(text=f"Enterprise {tenant_id} does not exist.") from None
    view = detail_view(detail)
    form = form or FormState()
    user_form = form if form.name == "user" else FormState(name="user", values={"granted": True, "role": "user"})
    return render("enterprise.html", request, {
        "tenant": view, "order_id": await _order_of(request, view["instance"]), "form": form,
        "user_form": user_form, "renames": _rename_forms(view, form), "roles": ROLES, "not_sent": NOT_SENT,
        "org_choices": [("", "none (top level)")] + [(o["org_code"], f"{o['org_code']} — {o['name']}")
                                                     for o in view["departments"]],
    }, status)


async def enterprise_detail(request: web.Request) -> web.Response:
    return await _detail(request, request.match_info["tenant_id"])


Action = Callable[[web.Request, str, dict[str, Any], FormState], Awaitable[Optional[str]]]


def _post(form_name: Callable[[web.Request], str], action: Action,
          booleans: tuple[str, ...] = ()) -> Callable[[web.Request], Awaitable[web.Response]]:
    """A post about an enterprise: ``action`` returns the flash message, or None when the form is
    invalid; a domain refusal shows the page again with the message on the form that caused it."""
    async def handler(request: web.Request) -> web.Response:
        tenant_id = request.match_info["tenant_id"]
        data, form = await read_form(request, booleans=booleans, name=form_name(request))
        try:
            done = await action(request, tenant_id, data, form)
        except DomainError as exc:
            return await _detail(request, tenant_id, form.from_domain(exc), exc.status if exc.status in (404, 409) else 400)
        if done is None:
            return await _detail(request, tenant_id, form, 400)
        await services(request).settle()  # so the page shows the call's outcome at once
        raise redirect(f"/enterprises/{tenant_id}", done)

    return handler


def _named(prefix: str, key: str = "") -> Callable[[web.Request], str]:
    return lambda request: prefix + (("-" + request.match_info[key]) if key else "")


async def _resend(request: web.Request, tenant_id: str, data: dict[str, Any], form: FormState) -> Optional[str]:
    parsed = validate(ResendInput, data, form)
    if parsed is None:
        return None
    await services(request).kit.resend(tenant_id, parsed.step)
    return f"{parsed.step} re-sent."


async def _repeat(request: web.Request, tenant_id: str, data: dict[str, Any], form: FormState) -> Optional[str]:
    raw = request.match_info["delivery_id"]
    kit = services(request).kit
    if int(raw) not in {d.id for _call, d in (await kit.detail(tenant_id)).calls}:
        raise NotFound(f"kit call {raw} is not a call of enterprise {tenant_id}", field="delivery_id")
    repeat = await kit.repeat(int(raw))
    return f"Kit call {raw} repeated as call {repeat.id} (idempotency check)."


async def _add_department(request: web.Request, tenant_id: str, data: dict[str, Any],
                          form: FormState) -> Optional[str]:
    parsed = validate(DepartmentInput, data, form)
    if parsed is None:
        return None
    call = await services(request).kit.add_department(tenant_id, parsed)
    return f"Department {parsed.org_code} added; singleOrgSync sent as call {call.id}."


async def _rename_department(request: web.Request, tenant_id: str, data: dict[str, Any],
                             form: FormState) -> Optional[str]:
    parsed = validate(DepartmentPatch, {"name": data.get("name", "")}, form)
    if parsed is None:
        return None
    org_code = request.match_info["org_code"]
    call = await services(request).kit.edit_department(tenant_id, org_code, parsed)
    return f"Department {org_code} renamed; singleOrgSync sent as call {call.id}."


async def _delete_department(request: web.Request, tenant_id: str, data: dict[str, Any],
                             form: FormState) -> Optional[str]:
    org_code = request.match_info["org_code"]
    call = await services(request).kit.delete_department(tenant_id, org_code)
    return f"Department {org_code} deleted; singleOrgSync sent as call {call.id}."


def _sent(call: Any, interface: str) -> str:
    return f"{interface} sent as call {call.id}." if call is not None else f"no {interface} needed."


async def _add_member(request: web.Request, tenant_id: str, data: dict[str, Any], form: FormState) -> Optional[str]:
    parsed = validate(MemberInput, data, form)
    if parsed is None:
        return None
    user, call = await services(request).kit.add_member(tenant_id, parsed)
    return f"User {user.user_name} added; {_sent(call, 'authSync')}"


async def _toggle_grant(request: web.Request, tenant_id: str, data: dict[str, Any],
                        form: FormState) -> Optional[str]:
    user_name = request.match_info["user_name"]
    granted = request.match_info["grant"] == "grant"
    user, call = await services(request).kit.edit_member(tenant_id, user_name, MemberPatch(granted=granted))
    verb = "granted the app" if user.granted else "no longer granted the app"
    return f"User {user_name} {verb}; {_sent(call, 'authSync')}"


async def _delete_member(request: web.Request, tenant_id: str, data: dict[str, Any],
                         form: FormState) -> Optional[str]:
    user_name = request.match_info["user_name"]
    call = await services(request).kit.delete_member(tenant_id, user_name)
    return f"User {user_name} deleted; {_sent(call, 'authSync')}"


def setup(app: web.Application) -> None:
    base = "/enterprises/{tenant_id}"
    app.router.add_get("/enterprises", list_enterprises)
    app.router.add_post("/enterprises", bind)
    app.router.add_get(base, enterprise_detail)
    app.router.add_post(base + "/resend", _post(_named("resend"), _resend))
    app.router.add_post(base + "/calls/{delivery_id:[0-9]{1,18}}/repeat",
                        _post(_named("repeat", "delivery_id"), _repeat))
    app.router.add_post(base + "/departments", _post(_named("department"), _add_department))
    app.router.add_post(base + "/departments/{org_code}", _post(_named("rename", "org_code"), _rename_department))
    app.router.add_post(base + "/departments/{org_code}/delete",
                        _post(_named("org", "org_code"), _delete_department))
    app.router.add_post(base + "/users", _post(_named("user"), _add_member, booleans=("granted",)))
    app.router.add_post(base + "/users/{user_name}/{grant:grant|revoke}",
                        _post(_named("member", "user_name"), _toggle_grant))
    app.router.add_post(base + "/users/{user_name}/delete", _post(_named("member", "user_name"), _delete_member))
