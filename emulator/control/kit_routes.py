"""Handlers of /sandbox/api/v1/kit/: enterprises, their departments and members, and the kit
syncs sent about them (PROTOCOL §5)."""

from __future__ import annotations

from typing import Any, Optional

from aiohttp import web
from pydantic import BaseModel, ConfigDict

from ..kit.inputs import BindInput, CredentialFlowInput, DepartmentInput, DepartmentPatch, MemberInput, MemberPatch, \
    ResendInput
from ..kit.service import TenantDetail
from ..oauth.service import AppPatch
from ..store.tables import Delivery, KitOrg, KitTenant, KitUser
from .errors import parse_body, parse_query
from .keys import SERVICES
from .routes import PREFIX, _app_view, _delivery_id
from .views import delivery_view, iso

routes = web.RouteTableDef()
KIT = PREFIX + "/kit"


class TenantQuery(BaseModel):
    model_config = ConfigDict(extra="ignore")
    merchant_id: Optional[str] = None
    instance: Optional[str] = None


def tenant_view(t: KitTenant) -> dict[str, Any]:
    return {"tenant_id": t.tenant_id, "merchant_id": t.merchant_id, "client_id": t.client_id,
            "instance": t.instance_key, "tenant_code": t.tenant_code, "name": t.name, "domain_name": t.domain_name,
            "test_flag": t.test_flag, "app_id": t.app_id, "created_at": iso(t.created_at)}


def department_view(o: KitOrg) -> dict[str, Any]:
    return {"org_code": o.org_code, "name": o.name, "parent_code": o.parent_code}


def member_view(u: KitUser) -> dict[str, Any]:
    return {"user_name": u.user_name, "name": u.name, "org_code": u.org_code, "role": u.role, "enable": u.enable,
            "position": u.position, "employee_code": u.employee_code, "employee_type": u.employee_type,
            "email": u.email, "mobile": u.mobile, "granted": u.granted, "can_log_in": u.login_user_id is not None}


def detail_view(d: TenantDetail) -> dict[str, Any]:
    failed = d.failed_step
    return {
        **tenant_view(d.tenant),
        "chain": [{"step": s.name, "state": s.state, "delivery_id": s.delivery.id,
                   "verdict": s.delivery.last_verdict} for s in d.chain],
        "chain_complete": d.chain_complete,
        "failed_step": failed.name if failed else None,
        "departments": [department_view(o) for o in d.departments],
        "users": [member_view(u) for u in d.members],
        "calls": [{**delivery_view(delivery), "purpose": call.purpose, "repeat_of": call.repeat_of}
                  for call, delivery in d.calls],
    }


def _call(delivery: Optional[Delivery]) -> Optional[dict[str, Any]]:
    return None if delivery is None else delivery_view(delivery)


def _kit(request: web.Request) -> Any:
    return request.app[SERVICES].kit


@routes.post(KIT + "/tenants")
async def bind(request: web.Request) -> web.Response:
    detail = await _kit(request).bind(await parse_body(request, BindInput))
    return web.json_response(detail_view(detail), status=201)


@routes.post(KIT + "/credential-flow")
async def credential_flow(request: web.Request) -> web.Response:
    data = await parse_body(request, CredentialFlowInput)
    return web.json_response(detail_view(await _kit(request).credential_flow(data.client_id)), status=201)


@routes.get(KIT + "/tenants")
async def list_tenants(request: web.Request) -> web.Response:
    q = parse_query(request, TenantQuery)
    return web.json_response({"tenants": [tenant_view(t) for t in await _kit(request).tenants(q.merchant_id,
                                                                                               q.instance)]})


@routes.get(KIT + "/tenants/{tenant_id}")
async def get_tenant(request: web.Request) -> web.Response:
    return web.json_response(detail_view(await _kit(request).detail(request.match_info["tenant_id"])))


@routes.post(KIT + "/tenants/{tenant_id}/resend")
async def resend(request: web.Request) -> web.Response:
    data = await parse_body(request, ResendInput)
    detail = await _kit(request).resend(request.match_info["tenant_id"], data.step)
    return web.json_response(detail_view(detail), status=202)


@routes.post(KIT + "/calls/{delivery_id}/repeat")
async def repeat(request: web.Request) -> web.Response:
    return web.json_response(delivery_view(await _kit(request).repeat(_delivery_id(request))), status=202)


@routes.post(KIT + "/tenants/{tenant_id}/departments")
async def add_department(request: web.Request) -> web.Response:
    data = await parse_body(request, DepartmentInput)
    delivery = await _kit(request).add_department(request.match_info["tenant_id"], data)
    return web.json_response({"call": _call(delivery)}, status=201)


@routes.patch(KIT + "/tenants/{tenant_id}/departments/{org_code}")
async def edit_department(request: web.Request) -> web.Response:
    data = await parse_body(request, DepartmentPatch)
    delivery = await _kit(request).edit_department(request.match_info["tenant_id"], request.match_info["org_code"],
                                                   data)
    return web.json_response({"call": _call(delivery)})


@routes.delete(KIT + "/tenants/{tenant_id}/departments/{org_code}")
async def delete_department(request: web.Request) -> web.Response:
    delivery = await _kit(request).delete_department(request.match_info["tenant_id"], request.match_info["org_code"])
    return web.json_response({"call": _call(delivery)})


@routes.post(KIT + "/tenants/{tenant_id}/users")
async def add_member(request: web.Request) -> web.Response:
    data = await parse_body(request, MemberInput)
    user, delivery = await _kit(request).add_member(request.match_info["tenant_id"], data)
    return web.json_response({"user": member_view(user), "call": _call(delivery)}, status=201)


@routes.patch(KIT + "/tenants/{tenant_id}/users/{user_name}")
async def edit_member(request: web.Request) -> web.Response:
    data = await parse_body(request, MemberPatch)
    user, delivery = await _kit(request).edit_member(request.match_info["tenant_id"], request.match_info["user_name"],
                                                     data)
    return web.json_response({"user": member_view(user), "call": _call(delivery)})


@routes.delete(KIT + "/tenants/{tenant_id}/users/{user_name}")
async def delete_member(request: web.Request) -> web.Response:
    delivery = await _kit(request).delete_member(request.match_info["tenant_id"], request.match_info["user_name"])
    return web.json_response({"call": _call(delivery)})


@routes.patch(PREFIX + "/oauth/apps/{client_id}")
async def patch_oauth_app(request: web.Request) -> web.Response:
    oauth = request.app[SERVICES].oauth
    app = await oauth.update_app(request.match_info["client_id"], await parse_body(request, AppPatch))
    return web.json_response(_app_view(app))


def setup(app: web.Application) -> None:
    app.add_routes(routes)
