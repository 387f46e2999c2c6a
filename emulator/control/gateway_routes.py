"""Control API of the gateway (PROTOCOL §14): a product's backend, an order's key and totals, and
the forwarded calls."""

from __future__ import annotations

from typing import Any, Literal, Optional

from aiohttp import web
from pydantic import BaseModel, ConfigDict, Field

from ..gateway.inputs import BackendInput
from ..gateway.routes import PREFIX as BUYER_PREFIX
from ..gateway.service import CallFilter
from ..marketplace.catalogue import get_product
from .errors import error_response, parse_body, parse_query
from .keys import SERVICES
from .routes import ID_PATTERN, MAX_ID, PREFIX
from .views import gateway_backend_view, gateway_call_view

routes = web.RouteTableDef()


class CallQuery(BaseModel):
    model_config = ConfigDict(extra="ignore")
    limit: int = Field(100, ge=1, le=1000)
    order_id: Optional[str] = Field(None, max_length=64)
    merchant_id: Optional[str] = Field(None, max_length=64)
    product: Optional[str] = Field(None, max_length=64)
    outcome: Optional[Literal["passed", "failed"]] = None
    after_id: Optional[int] = Field(None, ge=0, le=MAX_ID)
    cursor: Optional[int] = Field(None, ge=0, le=MAX_ID)  # the ``next`` of the previous page


def endpoint_of(request: web.Request, product_code: str) -> str:
    return f"{request.url.origin()}{BUYER_PREFIX}{product_code}"


@routes.put(PREFIX + "/products/{ref}/gateway")
async def register_backend(request: web.Request) -> web.Response:
    data = await parse_body(request, BackendInput)
    backend, created = await request.app[SERVICES].gateway.register(request.match_info["ref"], data)
    _, product = await request.app[SERVICES].gateway.backend(backend.product_id)
    view = gateway_backend_view(backend, product, secret=True)
    view["endpoint"] = endpoint_of(request, product.code)
    return web.json_response(view, status=201 if created else 200)


@routes.get(PREFIX + "/products/{ref}/gateway")
async def get_backend(request: web.Request) -> web.Response:
    backend, product = await request.app[SERVICES].gateway.backend(request.match_info["ref"])
    return web.json_response({**gateway_backend_view(backend, product), "endpoint": endpoint_of(request, product.code)})


@routes.delete(PREFIX + "/products/{ref}/gateway")
async def delete_backend(request: web.Request) -> web.Response:
    await request.app[SERVICES].gateway.remove(request.match_info["ref"])
    return web.Response(status=204)


@routes.get(PREFIX + "/gateway/backends")
async def list_backends(request: web.Request) -> web.Response:
    rows = await request.app[SERVICES].gateway.backends()
    return web.json_response({"backends": [
        {**gateway_backend_view(b, p), "endpoint": endpoint_of(request, p.code)} for b, p in rows]})


@routes.get(PREFIX + "/orders/{order_id}/gateway")
async def order_gateway(request: web.Request) -> web.Response:
    """The buyer's key (issued on first request), the endpoint and the order's totals."""
    services = request.app[SERVICES]
    key, product, backend = await services.gateway.key_for_order(request.match_info["order_id"])
    return web.json_response(await order_gateway_view(request, key.order_id, key.key, product.code, backend.kind))


async def order_gateway_view(request: web.Request, order_id: str, key: str, product_code: str, kind: str
                             ) -> dict[str, Any]:
    totals = await request.app[SERVICES].gateway.totals(order_id)
    return {"order_id": order_id, "product": product_code, "kind": kind, "api_key": key,
            "endpoint": endpoint_of(request, product_code), "authorization": f"Bearer {key}", "totals": totals}


@routes.get(PREFIX + "/gateway/calls")
async def list_calls(request: web.Request) -> web.Response:
    q = parse_query(request, CallQuery)
    services = request.app[SERVICES]
    product_id = None
    if q.product:
        async with services.store.read() as session:
            product_id = (await get_product(session, q.product)).id
    calls = await services.gateway.calls(CallFilter(
        order_id=q.order_id, merchant_id=q.merchant_id, product_id=product_id,
        passed=None if q.outcome is None else q.outcome == "passed", after_id=q.after_id, before_id=q.cursor,
        limit=q.limit + 1))
    shown = calls[:q.limit]
    return web.json_response({"calls": [gateway_call_view(c) for c in shown],
                              "next": shown[-1].id if len(calls) > q.limit else None})


@routes.get(PREFIX + "/gateway/calls/{call_id}")
async def get_call(request: web.Request) -> web.Response:
    raw = request.match_info["call_id"]
    if not ID_PATTERN.fullmatch(raw):
        return error_response(400, "invalid_request", "call_id must be a number", "call_id")
    return web.json_response(gateway_call_view(await request.app[SERVICES].gateway.call(int(raw)), full=True))


def setup(app: web.Application) -> None:
    app.add_routes(routes)
