"""The buyer's endpoint: ``/api/gateway/{product}/{path}`` with the order's key (PROTOCOL §14).

``{product}`` is the product's code or productId; the key goes in ``Authorization: Bearer <key>``
or ``X-Api-Key``. Every call, refused ones included, is recorded with its verdict; every refusal
is a JSON error naming what is wrong (the control API's shape) with the call's ``X-Request-Id``.
"""

from __future__ import annotations

import logging
import os
import time
from typing import Optional

from aiohttp import web

from ..clock import wall_now
from ..control.keys import SERVICES
from .forwarder import Failure, error_body
from .records import CallRecord, kept
from .service import USABLE_STATES, Access, Route
from .targets import BadPath, resolve_base, target_url

log = logging.getLogger(__name__)
PREFIX = "/api/gateway/"


def _key_of(request: web.Request) -> Optional[str]:
    auth = request.headers.get("Authorization", "")
    if auth[:7].lower() == "bearer ":
        return auth[7:].strip() or None
    return request.headers.get("X-Api-Key", "").strip() or None


def _request_id() -> str:
    """A random (version 4) UUID, as ``str(uuid.uuid4())`` writes it, at a third of the cost."""
    h = os.urandom(16).hex()
    return f"{h[:8]}-{h[8:12]}-4{h[13:16]}-{'89ab'[int(h[16], 16) & 3]}{h[17:20]}-{h[20:]}"


def _tail(request: web.Request) -> str:
    """The called path below ``/api/gateway/{product}/``, still percent-encoded."""
    rest = request.rel_url.raw_path[len(PREFIX):]
    return rest.split("/", 1)[1] if "/" in rest else ""


async def forward(request: web.Request) -> web.StreamResponse:
    services = request.app[SERVICES]
    gateway = services.gateway
    started = time.perf_counter()
    call = CallRecord(request_id=_request_id(), at=services.clock.now(), wall=wall_now(),
                      method=request.method, path=request.path[:2048], query=request.query_string[:2048])
    try:
        response = await _forward(request, call)
    except Failure as failure:
        call.error = failure.code
        call.failures.append(failure.message)
        call.passed = False
        response = web.json_response(error_body(failure.code, failure.message, failure.field), status=failure.status,
                                     headers={"X-Request-Id": call.request_id})
    except Exception:  # never a traceback to the buyer
        log.exception("gateway call %s failed", call.request_id)
        call.error, call.passed = "internal_error", False
        call.failures.append("the emulator hit an unexpected error; see its log")
        response = web.json_response(error_body("internal_error", "the emulator hit an unexpected error; see its log"),
                                     status=500, headers={"X-Request-Id": call.request_id})
    call.caller_status = response.status
    call.elapsed_ms = round((time.perf_counter() - started) * 1000, 2)
    gateway.record(call)
    return response


async def _forward(request: web.Request, call: CallRecord) -> web.StreamResponse:
    services = request.app[SERVICES]
    product_ref = request.match_info["product"]
    route = await services.gateway.route(product_ref)
    if route is None:
        raise Failure(404, "unknown_product", f"no Agents or API product {product_ref!r} is served here "
                                              "(give a product code or productId with a gateway backend)", "product")
    call.product_id, call.merchant_id, call.kind = route.product_id, route.merchant_id, route.kind
    access = await _access(services.gateway, request, route, call)
    if route.http_method != "ANY" and request.method != route.http_method:
        raise Failure(405, "method_not_allowed", f"product {route.product_code} is called with {route.http_method}, "
                                                 f"not {request.method}", "method")
    try:
        call.target_url = target_url(resolve_base(route.backend_url, services.gateway_base_url),
                                     _tail(request), request.query_string)
    except BadPath as exc:
        raise Failure(400, "invalid_path", str(exc), "path") from None
    try:
        body = await request.read()
    except web.HTTPRequestEntityTooLarge as exc:
        raise Failure(413, "request_too_large", f"the request body is larger than {exc.max_size} bytes",
                      "body") from None
    call.request_body = kept(body.decode("utf-8", "replace"))
    call.request_headers = services.gateway_forwarder.headers(request, route, access, call.request_id)
    return await services.gateway_forwarder.forward(request, route, call, body)


async def _access(gateway, request: web.Request, route: Route, call: CallRecord) -> Access:  # type: ignore[no-untyped-def]
    key = _key_of(request)
    if key is None:
        raise Failure(401, "missing_api_key", "give the order's gateway key in 'Authorization: Bearer <key>' or "
                                              "'X-Api-Key' (GET /sandbox/api/v1/orders/{order_id}/gateway shows it)",
                      "Authorization")
    access = await gateway.access(key)
    if access is None:
        raise Failure(401, "invalid_api_key", "the key belongs to no order of this emulator", "Authorization")
    call.order_id, call.instance_key, call.customer_id = access.order_id, access.instance_key, access.customer_id
    if access.product_id != route.product_id:
        raise Failure(403, "wrong_product", f"the key is for order {access.order_id} of product {access.product_id}, "
                                            f"not of {route.product_code}", "product")
    if access.state not in USABLE_STATES:
        raise Failure(403, "instance_not_usable", f"the instance of order {access.order_id} is {access.state}",
                      "Authorization")
    return access


def setup(app: web.Application) -> None:
    app.router.add_route("*", PREFIX + "{product}", forward)
    app.router.add_route("*", PREFIX + "{product}/{tail:.*}", forward)
