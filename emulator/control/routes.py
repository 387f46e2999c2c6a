"""Handlers of /sandbox/api/v1/: translate HTTP to service calls and back, nothing more."""

from __future__ import annotations

import re
from datetime import datetime, timedelta
from typing import Literal, Optional

from aiohttp import web
from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from ..clock import optional_utc_naive
from ..delivery.service import OUTCOMES, DeliveryFilter
from ..dialtest.cases import required_cases
from .curl import curl_command
from ..marketplace.inputs import (
    ConvertInput, LicenceAsyncInput, ManualLicenceInput, MerchantInput, MerchantPatch, OrderInput, ProductInput,
    ProductPatch, RenewInput, UpgradeInput,
)
from ..marketplace.orders import OrderFilter
from ..oauth.service import AppInput, UserInput
from ..openapi.journal import JournalFilter
from ..jsonbody import StrictInput
from ..store.tables import DebugCase, DialRun, OAuthApp, OAuthUser
from ..services import Services
from .errors import error_response, parse_body, parse_query
from .keys import SERVICES
from .views import (
    iso, mask,
    attempt_view, clock_view, credential_view, delivery_view, inbound_view, instance_view, license_code_view,
    merchant_view, order_view, product_view, usage_view,
)

PREFIX = "/sandbox/api/v1"
MAX_ID = 2**63 - 1
ID_PATTERN = re.compile(r"[0-9]{1,18}")
routes = web.RouteTableDef()


def _services(request: web.Request) -> Services:
    return request.app[SERVICES]


class _Query(BaseModel):
    model_config = ConfigDict(extra="ignore")
    limit: int = Field(100, ge=1, le=1000)
    offset: int = Field(0, ge=0, le=MAX_ID)


class OrderQuery(_Query):
    cursor: Optional[int] = Field(None, ge=0, le=MAX_ID)  # the ``next`` of the previous page
    merchant_id: Optional[str] = None
    order_type: Optional[Literal["NEW", "TRIAL", "TRIAL_TO_FORMAL", "RENEWAL", "CHANGE", "UNSUBSCRIBE"]] = None
    status: Optional[Literal["paid", "delivered", "undelivered", "failed", "unsubscribed"]] = None
    instance: Optional[str] = None


class DeliveryQuery(_Query):
    merchant_id: Optional[str] = None
    order_id: Optional[str] = None
    instance: Optional[str] = None
    activity: Optional[str] = None
    outcome: Optional[Literal[tuple(OUTCOMES)]] = None  # type: ignore[valid-type]
    after_id: Optional[int] = Field(None, ge=0, le=MAX_ID)
    cursor: Optional[int] = Field(None, ge=0, le=MAX_ID)  # the ``next`` of the previous page


class InstanceQuery(_Query):
    cursor: Optional[str] = Field(None, max_length=64)  # the ``next`` of the previous page
    merchant_id: Optional[str] = None
    state: Optional[Literal["pending", "active", "frozen", "released", "failed"]] = None


class ProductQuery(BaseModel):
    model_config = ConfigDict(extra="ignore")
    merchant_id: Optional[str] = None


class AdvanceInput(StrictInput):
    seconds: float = Field(0, ge=0)
    minutes: float = Field(0, ge=0)
    hours: float = Field(0, ge=0)
    days: float = Field(0, ge=0)
    to: Optional[datetime] = None

    _to_utc = field_validator("to")(optional_utc_naive)

    @model_validator(mode="after")
    def _one_way(self) -> "AdvanceInput":
        if self.to is not None and any((self.seconds, self.minutes, self.hours, self.days)):
            raise ValueError("give either 'to' or a duration (seconds/minutes/hours/days), not both")
        if self.seconds + self.minutes * 60 + self.hours * 3600 + self.days * 86400 > 3650 * 86400:
            raise ValueError("advance by at most 3650 days at a time")
        return self

    def delta(self) -> timedelta:
        return timedelta(days=self.days, hours=self.hours, minutes=self.minutes, seconds=self.seconds)


class ClockInput(StrictInput):
    mode: Literal["real", "scaled", "manual"]
    speed: Optional[float] = Field(None, gt=0, le=10_000_000)


# -- health ----------------------------------------------------------------------------------
async def healthz(request: web.Request) -> web.Response:
    from .. import __version__

    services = _services(request)
    if not services.ready:
        return web.json_response({"status": "starting", "version": __version__}, status=503)
    return web.json_response({"status": "ok", "version": __version__, "clock": clock_view(services.clock)})


# -- merchants -------------------------------------------------------------------------------
@routes.get(PREFIX + "/merchants")
async def list_merchants(request: web.Request) -> web.Response:
    merchants = await _services(request).catalogue.list_merchants()
    return web.json_response({"merchants": [merchant_view(m) for m in merchants]})


@routes.post(PREFIX + "/merchants")
async def create_merchant(request: web.Request) -> web.Response:
    data = await parse_body(request, MerchantInput)
    merchant = await _services(request).catalogue.create_merchant(data)
    return web.json_response(merchant_view(merchant), status=201)


@routes.get(PREFIX + "/merchants/{merchant_id}")
async def get_merchant(request: web.Request) -> web.Response:
    merchant = await _services(request).catalogue.merchant(request.match_info["merchant_id"])
    return web.json_response(merchant_view(merchant))


@routes.patch(PREFIX + "/merchants/{merchant_id}")
async def patch_merchant(request: web.Request) -> web.Response:
    patch = await parse_body(request, MerchantPatch)
    merchant = await _services(request).catalogue.update_merchant(request.match_info["merchant_id"], patch)
    return web.json_response(merchant_view(merchant))


@routes.delete(PREFIX + "/merchants/{merchant_id}")
async def delete_merchant(request: web.Request) -> web.Response:
    await _services(request).catalogue.delete_merchant(request.match_info["merchant_id"])
    return web.json_response({"deleted": request.match_info["merchant_id"]})


# -- products --------------------------------------------------------------------------------
@routes.get(PREFIX + "/products")
async def list_products(request: web.Request) -> web.Response:
    query = parse_query(request, ProductQuery)
    products = await _services(request).catalogue.list_products(query.merchant_id)
    return web.json_response({"products": [product_view(p) for p in products]})


@routes.post(PREFIX + "/products")
async def create_product(request: web.Request) -> web.Response:
    data = await parse_body(request, ProductInput)
    product = await _services(request).catalogue.create_product(data)
    return web.json_response(product_view(product), status=201)


@routes.get(PREFIX + "/products/{ref}")
async def get_product(request: web.Request) -> web.Response:
    services = _services(request)
    product = await services.catalogue.product(request.match_info["ref"])
    in_progress = product.id in await services.dialtests.days_in_progress()
    return web.json_response({**product_view(product), "day_in_progress": in_progress})


@routes.patch(PREFIX + "/products/{ref}")
async def patch_product(request: web.Request) -> web.Response:
    patch = await parse_body(request, ProductPatch)
    product = await _services(request).catalogue.update_product(request.match_info["ref"], patch)
    return web.json_response(product_view(product))


@routes.delete(PREFIX + "/products/{ref}")
async def delete_product(request: web.Request) -> web.Response:
    await _services(request).catalogue.delete_product(request.match_info["ref"])
    return web.json_response({"deleted": request.match_info["ref"]})


# -- orders ----------------------------------------------------------------------------------
async def _order_response(request: web.Request, order_id: str, status: int = 200) -> web.Response:
    services = _services(request)
    order, lines = await services.orders.get(order_id)
    view = order_view(order, lines)
    view["actions"] = await services.orders.actions(order)
    return web.json_response(view, status=status)


@routes.get(PREFIX + "/orders")
async def list_orders(request: web.Request) -> web.Response:
    q = parse_query(request, OrderQuery)
    orders = await _services(request).orders.list(OrderFilter(
        merchant_id=q.merchant_id, order_type=q.order_type, status=q.status, instance_key=q.instance,
        limit=q.limit + 1, offset=q.offset, before_seq=q.cursor,  # one more: is there a next page?
    ))
    # Keyset paging: the next page starts below the last order shown (flat at any depth).
    shown = orders[:q.limit]
    more = len(orders) > q.limit and shown[-1].seq is not None
    return web.json_response({"orders": [order_view(o) for o in shown], "next": shown[-1].seq if more else None})


@routes.post(PREFIX + "/orders")
async def create_order(request: web.Request) -> web.Response:
    placed = await _services(request).orders.create(await parse_body(request, OrderInput))
    view = order_view(placed.order, placed.lines)
    view["actions"] = placed.actions
    return web.json_response(view, status=201)


@routes.get(PREFIX + "/orders/{order_id}")
async def get_order(request: web.Request) -> web.Response:
    return await _order_response(request, request.match_info["order_id"])


@routes.post(PREFIX + "/orders/{order_id}/renew")
async def renew(request: web.Request) -> web.Response:
    data = await parse_body(request, RenewInput, required=False)
    order = await _services(request).orders.renew(request.match_info["order_id"], data)
    return await _order_response(request, order.id, 201)


@routes.post(PREFIX + "/orders/{order_id}/convert")
async def convert(request: web.Request) -> web.Response:
    data = await parse_body(request, ConvertInput, required=False)
    order = await _services(request).orders.convert_trial(request.match_info["order_id"], data)
    return await _order_response(request, order.id, 201)


@routes.post(PREFIX + "/orders/{order_id}/upgrade")
async def upgrade(request: web.Request) -> web.Response:
    data = await parse_body(request, UpgradeInput)
    order = await _services(request).orders.upgrade(request.match_info["order_id"], data)
    return await _order_response(request, order.id, 201)


@routes.post(PREFIX + "/orders/{order_id}/unsubscribe")
async def unsubscribe(request: web.Request) -> web.Response:
    order = await _services(request).orders.unsubscribe(request.match_info["order_id"])
    return await _order_response(request, order.id)


async def _instance_action(request: web.Request, action: str) -> web.Response:
    services = _services(request)
    instance = await getattr(services.orders, action)(request.match_info["order_id"])
    fresh, product = await services.orders.instance(instance.key)
    return web.json_response(instance_view(fresh, product, services.clock))


@routes.post(PREFIX + "/orders/{order_id}/freeze")
async def freeze(request: web.Request) -> web.Response:
    return await _instance_action(request, "freeze")


@routes.post(PREFIX + "/orders/{order_id}/unfreeze")
async def unfreeze(request: web.Request) -> web.Response:
    return await _instance_action(request, "unfreeze")


@routes.post(PREFIX + "/orders/{order_id}/release")
async def release(request: web.Request) -> web.Response:
    return await _instance_action(request, "release")


@routes.post(PREFIX + "/orders/{order_id}/license-async")
async def licence_async(request: web.Request) -> web.Response:
    data = await parse_body(request, LicenceAsyncInput, required=False)
    delivery = await _services(request).orders.request_licence_async(request.match_info["order_id"], data)
    return web.json_response(delivery_view(delivery), status=202)


@routes.post(PREFIX + "/orders/{order_id}/deliver-license")
async def deliver_licence(request: web.Request) -> web.Response:
    data = await parse_body(request, ManualLicenceInput)
    services = _services(request)
    instance = await services.orders.deliver_licence(request.match_info["order_id"], data)
    fresh, product = await services.orders.instance(instance.key)
    return web.json_response(instance_view(fresh, product, services.clock))


@routes.post(PREFIX + "/orders/{order_id}/query")
async def query_instance(request: web.Request) -> web.Response:
    outcome = await _services(request).orders.query_instance(request.match_info["order_id"])
    return web.json_response({"delivery_id": outcome.delivery_id, "passed": outcome.passed,
                              "verdict": outcome.summary})


# -- instances -------------------------------------------------------------------------------
@routes.get(PREFIX + "/instances")
async def list_instances(request: web.Request) -> web.Response:
    q = parse_query(request, InstanceQuery)
    instances = await _services(request).orders.list_instances(q.merchant_id, q.state, q.limit + 1, q.offset,
                                                                q.cursor)  # one more: is there a next page?
    shown = instances[:q.limit]
    return web.json_response({"instances": [instance_view(i) for i in shown],
                              "next": shown[-1].key if len(instances) > q.limit else None})


@routes.get(PREFIX + "/instances/{key}")
async def get_instance(request: web.Request) -> web.Response:
    services = _services(request)
    instance, product = await services.orders.instance(request.match_info["key"])
    return web.json_response(instance_view(instance, product, services.clock))


# -- deliveries ------------------------------------------------------------------------------
@routes.get(PREFIX + "/deliveries")
async def list_deliveries(request: web.Request) -> web.Response:
    q = parse_query(request, DeliveryQuery)
    deliveries = await _services(request).deliveries.list(DeliveryFilter(
        merchant_id=q.merchant_id, order_id=q.order_id, instance_key=q.instance, activity=q.activity,
        outcome=q.outcome, after_id=q.after_id, before_id=q.cursor, limit=q.limit + 1, offset=q.offset,
    ))  # one more: is there a next page?
    shown = deliveries[:q.limit]
    return web.json_response({"deliveries": [delivery_view(d) for d in shown],
                              "next": shown[-1].id if len(deliveries) > q.limit else None})


def _delivery_id(request: web.Request) -> int:
    raw = request.match_info["delivery_id"]
    if not ID_PATTERN.fullmatch(raw):
        raise web.HTTPNotFound(reason="Not Found")
    return int(raw)


@routes.get(PREFIX + "/deliveries/{delivery_id}")
async def get_delivery(request: web.Request) -> web.Response:
    delivery, attempts = await _services(request).deliveries.get(_delivery_id(request))
    return web.json_response({**delivery_view(delivery), "attempt_log": [attempt_view(a) for a in attempts]})


@routes.post(PREFIX + "/deliveries/{delivery_id}/restart")
async def restart_delivery(request: web.Request) -> web.Response:
    delivery = await _services(request).deliveries.restart(_delivery_id(request))
    return web.json_response(delivery_view(delivery), status=202)


@routes.post(PREFIX + "/deliveries/{delivery_id}/attempts/{number}/resign")
async def resign_attempt(request: web.Request) -> web.Response:
    """An attempt's exact request signed again now (new nonce and timestamp), as a curl command."""
    raw = request.match_info["number"]
    if not ID_PATTERN.fullmatch(raw):
        raise web.HTTPNotFound(reason="Not Found")
    signed = await _services(request).deliveries.signed_again(_delivery_id(request), int(raw))
    view = {"method": signed.method, "url": signed.url, "headers": signed.headers,
            "body": signed.body.decode("utf-8")}
    return web.json_response({**view, "curl": curl_command(view)})


# -- open APIs: credentials, journal, usage, License test codes ------------------------------
@routes.post(PREFIX + "/merchants/{merchant_id}/credentials")
async def issue_credentials(request: web.Request) -> web.Response:
    issued = await _services(request).credentials.issue(request.match_info["merchant_id"])
    return web.json_response({"ak": issued.ak, "sk": issued.sk, "merchant_id": issued.merchant_id,
                              "note": "the SK is shown only in this response; earlier pairs are revoked"},
                             status=201)


@routes.get(PREFIX + "/merchants/{merchant_id}/credentials")
async def list_credentials(request: web.Request) -> web.Response:
    services = _services(request)
    await services.catalogue.merchant(request.match_info["merchant_id"])
    rows = await services.credentials.list(request.match_info["merchant_id"])
    return web.json_response({"credentials": [credential_view(c) for c in rows]})


class InboundQuery(_Query):
    merchant_id: Optional[str] = None
    api: Optional[str] = None
    accepted: Optional[bool] = None


@routes.get(PREFIX + "/inbound")
async def list_inbound(request: web.Request) -> web.Response:
    q = parse_query(request, InboundQuery)
    calls = await _services(request).journal.list(JournalFilter(
        merchant_id=q.merchant_id, api=q.api, accepted=q.accepted, limit=q.limit, offset=q.offset))
    return web.json_response({"calls": [inbound_view(c) for c in calls]})


@routes.get(PREFIX + "/inbound/{call_id:[0-9]{1,18}}")
async def get_inbound(request: web.Request) -> web.Response:
    call = await _services(request).journal.get(int(request.match_info["call_id"]))
    return web.json_response(inbound_view(call, full=True))


@routes.get(PREFIX + "/instances/{key}/usage")
async def instance_usage(request: web.Request) -> web.Response:
    services = _services(request)
    instance, _product = await services.orders.instance(request.match_info["key"])
    records, total = await services.openapi_records.usage(instance.key)
    return web.json_response({"instance": instance.key, "total": str(total),
                              "records": [usage_view(r) for r in records]})


@routes.post(PREFIX + "/products/{ref}/license-codes")
async def issue_license_code(request: web.Request) -> web.Response:
    code = await _services(request).openapi_records.issue_test_code(request.match_info["ref"])
    return web.json_response(license_code_view(code), status=201)


@routes.get(PREFIX + "/license-codes")
async def list_license_codes(request: web.Request) -> web.Response:
    q = parse_query(request, ProductQuery)
    codes = await _services(request).openapi_records.license_codes(q.merchant_id)
    return web.json_response({"license_codes": [license_code_view(c) for c in codes]})


# -- unified login: applications, test users, journal ----------------------------------------
def _app_view(app: OAuthApp, secret: bool = False) -> dict:
    return {"client_id": app.client_id, "client_secret": app.client_secret if secret else mask(app.client_secret),
            "merchant_id": app.merchant_id, "name": app.name, "login_url": app.login_url,
            "public_key": app.public_key, "tenant_id": app.tenant_id, "tenant_code": app.tenant_code,
            "tenant_name": app.tenant_name, "created_at": iso(app.created_at)}


def _user_view(user: OAuthUser, tenant: str) -> dict:
    return {"id": user.id, "userName": user.user_name, "name": user.name, "email": user.email,
            "mobile": user.mobile, "tenant": tenant, "role": user.role}


@routes.post(PREFIX + "/oauth/apps")
async def create_oauth_app(request: web.Request) -> web.Response:
    app = await _services(request).oauth.create_app(await parse_body(request, AppInput))
    return web.json_response(_app_view(app, secret=True), status=201)


@routes.get(PREFIX + "/oauth/apps")
async def list_oauth_apps(request: web.Request) -> web.Response:
    q = parse_query(request, ProductQuery)
    return web.json_response({"apps": [_app_view(a) for a in await _services(request).oauth.apps(q.merchant_id)]})


@routes.get(PREFIX + "/oauth/apps/{client_id}")
async def get_oauth_app(request: web.Request) -> web.Response:
    return web.json_response(_app_view(await _services(request).oauth.app(request.match_info["client_id"])))


@routes.post(PREFIX + "/oauth/apps/{client_id}/users")
async def add_oauth_user(request: web.Request) -> web.Response:
    oauth = _services(request).oauth
    app = await oauth.app(request.match_info["client_id"])
    user = await oauth.add_user(app.client_id, await parse_body(request, UserInput))
    return web.json_response(_user_view(user, app.tenant_id), status=201)


@routes.get(PREFIX + "/oauth/apps/{client_id}/users")
async def list_oauth_users(request: web.Request) -> web.Response:
    oauth = _services(request).oauth
    app = await oauth.app(request.match_info["client_id"])
    return web.json_response({"users": [_user_view(u, app.tenant_id) for u in await oauth.users(app.client_id)]})


@routes.get(PREFIX + "/oauth/journal")
async def oauth_journal(request: web.Request) -> web.Response:
    events = await _services(request).oauth.journal(request.query.get("client_id"))
    return web.json_response({"events": [{"at": iso(e.at), "client_id": e.client_id, "user": e.user,
                                          "event": e.event, "detail": e.detail} for e in events]})


# -- dial tests ------------------------------------------------------------------------------
class CaseInput(StrictInput):
    case: Literal["create", "query", "update", "status", "upgrade", "change_check", "release"]
    params: Optional[dict] = None


def _case_view(case: DebugCase) -> dict:
    return {"case": case.case_name, "activity": case.activity,
            "params": {k: v for k, v in case.params.items() if not k.startswith("_")},
            "url": case.url, "saved_at": iso(case.saved_at)}


def _run_view(run: DialRun, results: Optional[list] = None, undecided: frozenset[int] = frozenset()) -> dict:
    """``day_in_progress``: the run passed, but a later slot of its day may still fail the day (§11.4)."""
    view = {"id": run.id, "product_id": run.product_id, "slot_at": iso(run.slot_at), "trigger": run.trigger,
            "state": run.state, "verdict": run.verdict, "reason": run.reason, "streak": run.streak,
            "day_in_progress": run.id in undecided, "started_at": iso(run.started_at),
            "finished_at": iso(run.finished_at)}
    if results is not None:
        view["cases"] = [{"case": r.case_name, "activity": r.activity, "passed": r.passed, "verdict": r.verdict,
                          "delivery_id": r.delivery_id} for r in results]
    return view


@routes.post(PREFIX + "/products/{ref}/debug-cases")
async def debug_case(request: web.Request) -> web.Response:
    data = await parse_body(request, CaseInput)
    outcome, saved = await _services(request).dialtests.debug_and_save(request.match_info["ref"], data.case,
                                                                         data.params)
    body = {"passed": outcome.passed, "verdict": outcome.verdict, "delivery_id": outcome.delivery_id,
            "saved": saved is not None, "case": _case_view(saved) if saved else None,
            "message": "Debugging succeeded. The case has been saved." if saved else
            "Debugging failed; the case was not saved."}
    return web.json_response(body, status=201 if saved else 422)


@routes.get(PREFIX + "/products/{ref}/debug-cases")
async def list_debug_cases(request: web.Request) -> web.Response:
    services = _services(request)
    product, cases = await services.dialtests.cases(request.match_info["ref"])
    family = (await services.catalogue.merchant(product.merchant_id)).family
    saved = {c.case_name for c in cases}
    return web.json_response({"product_id": product.id, "cases": [_case_view(c) for c in cases],
                              "missing": [c for c in required_cases(product, family) if c not in saved]})


@routes.delete(PREFIX + "/products/{ref}/debug-cases/{case}")
async def delete_debug_case(request: web.Request) -> web.Response:
    await _services(request).dialtests.delete_case(request.match_info["ref"], request.match_info["case"])
    return web.json_response({"deleted": request.match_info["case"]})


@routes.get(PREFIX + "/products/{ref}/debug-cases/{case}/command")
async def debug_case_command(request: web.Request) -> web.Response:
    signed = await _services(request).dialtests.request_command(request.match_info["ref"], request.match_info["case"])
    return web.json_response({**signed, "curl": curl_command(signed)})


@routes.post(PREFIX + "/products/{ref}/dial-tests/run")
async def run_dial_test(request: web.Request) -> web.Response:
    services = _services(request)
    run = await services.dialtests.run_now(request.match_info["ref"])
    assert run is not None and run.id is not None
    run, results = await services.dialtests.run(run.id)
    return web.json_response(_run_view(run, list(results)), status=201)


@routes.get(PREFIX + "/dial-tests/runs")
async def list_dial_runs(request: web.Request) -> web.Response:
    dialtests = _services(request).dialtests
    runs = await dialtests.runs(request.query.get("product_id"), limit=500)
    undecided = frozenset(await dialtests.undecided_runs(runs))
    return web.json_response({"runs": [_run_view(r, undecided=undecided) for r in runs]})


@routes.get(PREFIX + "/dial-tests/runs/{run_id:[0-9]{1,18}}")
async def get_dial_run(request: web.Request) -> web.Response:
    dialtests = _services(request).dialtests
    run, results = await dialtests.run(int(request.match_info["run_id"]))
    return web.json_response(_run_view(run, list(results), frozenset(await dialtests.undecided_runs([run]))))


@routes.get(PREFIX + "/inbox")
async def inbox(request: web.Request) -> web.Response:
    notes = await _services(request).dialtests.inbox(request.query.get("merchant_id"))
    return web.json_response({"messages": [
        {"id": n.id, "created_at": iso(n.created_at), "channel": n.channel, "to": n.to, "subject": n.subject,
         "body": n.body, "merchant_id": n.merchant_id, "product_id": n.product_id, "run_id": n.run_id,
         "smtp_sent": n.smtp_sent} for n in notes]})


# -- scenarios -------------------------------------------------------------------------------
@routes.get(PREFIX + "/scenarios")
async def list_scenarios(request: web.Request) -> web.Response:
    return web.json_response({"scenarios": _services(request).scenarios.names()})


@routes.post(PREFIX + "/scenarios/{name}/run")
async def run_scenario(request: web.Request) -> web.Response:
    report = await _services(request).scenarios.run(request.match_info["name"])
    return web.json_response(report.as_dict())


# -- clock and reset -------------------------------------------------------------------------
@routes.get(PREFIX + "/clock")
async def get_clock(request: web.Request) -> web.Response:
    return web.json_response(clock_view(_services(request).clock))


@routes.post(PREFIX + "/clock/advance")
async def advance_clock(request: web.Request) -> web.Response:
    services = _services(request)
    data = await parse_body(request, AdvanceInput, required=False)
    if data.to is not None:
        await services.jump_to(data.to)
    else:
        await services.advance(data.delta())
    return web.json_response(clock_view(services.clock))


@routes.put(PREFIX + "/clock")
async def set_clock(request: web.Request) -> web.Response:
    services = _services(request)
    data = await parse_body(request, ClockInput)
    if data.mode == "scaled" and data.speed is None and services.clock.state.speed == 1.0:
        return error_response(400, "invalid_request", "speed: is required for the scaled mode", "speed")
    await services.set_clock_mode(data.mode, data.speed)
    return web.json_response(clock_view(services.clock))


@routes.post(PREFIX + "/reset")
async def reset(request: web.Request) -> web.Response:
    await _services(request).reset()
    return web.json_response({"reset": True})


def setup(app: web.Application) -> None:
    app.router.add_get("/healthz", healthz)
    app.add_routes(routes)
