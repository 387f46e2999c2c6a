"""The API gateway in front of the open APIs: AK/SK verification (PROTOCOL §2d, §12.3), rate limit,
request ids and the journal. Handlers behind it see a verified caller and the raw body."""

from __future__ import annotations

import json
import logging
import time
import itertools
import secrets
from collections import defaultdict, deque
from dataclasses import dataclass
from typing import Awaitable, Callable, Optional

from aiohttp import web

from ..clock import wall_now
from ..protocol.sdk_hmac import APIGW_ERROR_CODE, verify_request
from .journal import CallRecord
from .results import MktError

log = logging.getLogger(__name__)

PREFIX = "/api/mkp-openapi-public/"
API_V1 = PREFIX + "global/v1/"
API_V2 = PREFIX + "global/v2/"
APIS: dict[tuple[str, str], str] = {
    ("GET", API_V1 + "order/query"): "query_order",
    ("POST", API_V1 + "isv/usage-data"): "usage_push",
    ("POST", API_V1 + "license/activate"): "license_activate",
    ("POST", API_V1 + "license/heartbeat"): "license_heartbeat",
    ("POST", API_V2 + "license/heartbeat"): "license_heartbeat_v2",
    ("POST", API_V2 + "license/software-usage-info"): "license_software_usage",
}
#: §12.3 size limits. The server's own parser is set above these (``PARSER_LIMIT``, used by
#: ``EmulatorServer.start``) so that the gateway, not aiohttp, answers requests between the two.
MAX_BODY = 12 * 1024 * 1024
MAX_URI = 32 * 1024
MAX_HEADER = 32 * 1024
MAX_HEADERS = 128 * 1024
PARSER_LIMIT = MAX_HEADERS


@dataclass(frozen=True)
class Caller:
    merchant_id: str
    ak: str
    request_id: str
    body: bytes


CALLER = web.RequestKey("openapi_caller", Caller)
VERDICT = web.RequestKey("openapi_verdict", str)
DETAIL = web.RequestKey("openapi_detail", str)


_REQUEST_PREFIX = secrets.token_hex(8)  # this process's, so ids stay unique across restarts
_REQUEST_COUNTER = itertools.count(1)


def new_request_id() -> str:
    """32 hex digits like the gateway's; a counter after a random prefix costs no system call."""
    return f"{_REQUEST_PREFIX}{next(_REQUEST_COUNTER):016x}"


def gateway_error(status: int, code: str, message: str, request_id: str,
                  extra_headers: Optional[dict[str, str]] = None) -> web.Response:
    response = web.json_response({"error_code": code, "error_msg": message, "request_id": request_id},
                                 status=status, headers={"X-Request-Id": request_id, **(extra_headers or {})})
    return response


class RateLimiter:
    """At most ``per_second`` calls per AK in any one-second window (MKT.0250)."""

    def __init__(self, per_second: Optional[int]) -> None:
        self.per_second = per_second
        self._calls: dict[str, deque[float]] = defaultdict(deque)

    def allow(self, ak: str) -> bool:
        if self.per_second is None:
            return True
        now = time.monotonic()
        calls = self._calls[ak]
        while calls and now - calls[0] >= 1.0:
            calls.popleft()
        if len(calls) >= self.per_second:
            return False
        calls.append(now)
        return True


def make_gateway(services_of: Callable[[web.Request], "object"]):  # type: ignore[no-untyped-def]
    """The middleware; ``services_of`` finds the Services of the app (kept generic to avoid a cycle)."""

    @web.middleware
    async def gateway(request: web.Request, handler: Callable[[web.Request], Awaitable[web.StreamResponse]]
                      ) -> web.StreamResponse:
        if not request.path.startswith(PREFIX):
            return await handler(request)
        services = services_of(request)
        started = time.perf_counter()
        request_id = new_request_id()
        api = APIS.get((request.method, request.path), "unknown")
        call = CallRecord(request_id, api, services.clock.now(), wall_now(),  # type: ignore[attr-defined]
                          request.method, request.path, request.query_string, dict(request.headers))
        response = await _handle(request, handler, services, call, api, request_id)
        response.headers["X-Request-Id"] = request_id
        call.status = response.status
        body = getattr(response, "body", None)
        call.response_body = body.decode("utf-8", "replace") if isinstance(body, (bytes, bytearray)) else ""
        call.elapsed_ms = round((time.perf_counter() - started) * 1000, 2)
        services.journal.record(call)  # type: ignore[attr-defined]
        return response

    return gateway


def _too_large(request: web.Request) -> Optional[tuple[int, str, str]]:
    """(HTTP status, error_msg, journal verdict) when the URI or the headers pass §12.3's limits."""
    uri = len(request.raw_path.encode("utf-8", "surrogateescape"))
    if uri > MAX_URI:
        return 414, "Request URI too large.", f"the URI has {uri} bytes, more than {MAX_URI}"
    sizes = [len(name) + 2 + len(value) for name, value in request.raw_headers]
    if sizes and max(sizes) > MAX_HEADER:
        return 494, "Request headers too large.", f"one header has {max(sizes)} bytes, more than {MAX_HEADER}"
    if sum(sizes) > MAX_HEADERS:
        return 494, "Request headers too large.", f"the headers have {sum(sizes)} bytes, more than {MAX_HEADERS}"
    return None


async def _read_body(request: web.Request) -> Optional[bytes]:
    """The whole body (to the end of the stream, however it arrives), or None when over ``MAX_BODY``."""
    if (request.content_length or 0) > MAX_BODY:
        return None
    chunks: list[bytes] = []
    size = 0
    try:
        while chunk := await request.content.read(1 << 16):
            size += len(chunk)
            if size > MAX_BODY:
                return None
            chunks.append(chunk)
    except ConnectionError:
        pass
    return b"".join(chunks)


async def _handle(request: web.Request, handler: Callable[[web.Request], Awaitable[web.StreamResponse]],
                  services: object, call: CallRecord, api: str, request_id: str) -> web.StreamResponse:
    refusal = _too_large(request)
    if refusal is not None:
        status, message, reason = refusal
        call.result_code, call.verdict = "APIGW.0201", f"APIGW.0201: {reason}"
        return gateway_error(status, "APIGW.0201", message, request_id)
    body = await _read_body(request)
    if body is None:
        call.request_body = f"(not kept: more than {MAX_BODY} bytes)"
        call.result_code, call.verdict = "APIGW.0201", f"APIGW.0201: the body has more than {MAX_BODY} bytes"
        return gateway_error(413, "APIGW.0201", "Request entity too large.", request_id)
    call.request_body = body.decode("utf-8", "replace")
    if api == "unknown":
        call.verdict = f"APIGW.0101: no open API at {request.method} {request.path}"
        return gateway_error(404, "APIGW.0101",
                             "The API does not exist or has not been published in the environment.", request_id)
    settings = services.settings  # type: ignore[attr-defined]
    credentials = services.credentials  # type: ignore[attr-defined]
    raw_path, _, raw_query = request.raw_path.partition("?")
    result = verify_request(request.method, raw_path, raw_query, request.headers, body, credentials.secret_for,
                            now=wall_now(), max_skew_s=settings.openapi_sdk_date_skew_s)
    call.ak = result.ak
    if not result.ok:
        call.merchant_id = credentials.merchant_for(result.ak) if result.ak else None
        call.result_code = APIGW_ERROR_CODE
        call.verdict = f"{APIGW_ERROR_CODE} ({result.reason}): {result.error_msg}"
        call.detail = result.detail
        headers = {"X-Sandbox-Auth-Error": result.reason}
        if result.canonical_request:
            headers["X-Sandbox-Canonical-Request"] = result.canonical_request.replace("\n", "\\n")
        return gateway_error(401, APIGW_ERROR_CODE, result.error_msg, request_id, headers)
    assert result.ak is not None
    merchant_id = credentials.merchant_for(result.ak)
    assert merchant_id is not None
    call.merchant_id = merchant_id
    if not services.rate_limiter.allow(result.ak):  # type: ignore[attr-defined]
        error = MktError("MKT.0250", f"more than {settings.openapi_rate_limit_per_s} calls per second")
        call.result_code, call.verdict = error.code, f"{error.code}: {error.extra_info}"
        return web.json_response(error.body(), status=error.status)
    request[CALLER] = Caller(merchant_id, result.ak, request_id, body)
    if api == "query_order":
        call.order_id = request.query.get("orderId")
    try:
        response = await handler(request)
    except MktError as error:
        response = web.json_response(error.body(), status=error.status)
        call.result_code, call.verdict = error.code, f"{error.code}: {error.extra_info or error.body()['resultMsg']}"
        return response
    except Exception:
        log.exception("open API %s failed", api)
        error = MktError("MKT.0999", "the emulator hit an unexpected error; see its log")
        call.result_code, call.verdict = error.code, str(error.extra_info)
        return web.json_response(error.body(), status=error.status)
    call.result_code = _result_code(response)
    call.accepted = call.result_code == "MKT.0000"
    call.verdict = request.get(VERDICT) or ("accepted" if call.accepted else call.result_code)
    call.detail = request.get(DETAIL)
    return response


_LEADING_CODE = b'{"resultCode": "'  # how json.dumps begins the answers built by ``results``


def _result_code(response: web.StreamResponse) -> str:
    body = getattr(response, "body", None)
    if not isinstance(body, (bytes, bytearray)):
        return ""
    if body.startswith(_LEADING_CODE):  # no need to parse the whole answer again
        end = body.find(b'"', len(_LEADING_CODE))
        if end > 0:
            return body[len(_LEADING_CODE):end].decode("utf-8", "replace")
    try:
        return str(json.loads(body).get("resultCode", ""))
    except (ValueError, AttributeError):
        return ""
