"""The HTTP glue of the gateway: one forwarded request and its reply, passed back to the buyer.

Limits: the backend's answer (status and headers) must come within ``gateway_timeout_s``; a whole
(JSON) reply must be complete within that time too; an event stream is passed through chunk by
chunk for at most ``gateway_stream_max_s``; either reply may carry at most
``gateway_max_reply_bytes``. A limit hit before anything was passed on is a JSON error (502/504);
one hit during a stream ends the stream with an ``event: error`` whose data is that JSON error.
"""

from __future__ import annotations

import asyncio
import json
import time
from dataclasses import dataclass
from typing import Optional

import aiohttp
from aiohttp import hdrs, web

from ..settings import Settings
from .jwt import agents_jwt
from .records import BODY_KEPT, CallRecord, kept
from .service import Access, Route
from .usage import SseEvents, UsageCheck, check_json_body

HOP_BY_HOP = frozenset({"connection", "keep-alive", "proxy-authenticate", "proxy-authorization", "te", "trailer",
                        "trailers", "transfer-encoding", "upgrade", "content-length", "content-encoding", "host"})
#: Headers of the buyer never passed on: their credentials, and what the gateway itself sets.
NOT_FORWARDED = HOP_BY_HOP | {"authorization", "x-api-key", "cookie", "accept-encoding", "x-request-id",
                              "x-customer-id", "x-customer-name", "expect"}


@dataclass
class Failure(Exception):
    """The call ends with a JSON error to the buyer."""

    status: int
    code: str
    message: str
    field: Optional[str] = None


def error_body(code: str, message: str, field: Optional[str] = None) -> dict:
    return {"error": {"code": code, "message": message, "field": field}}


class Forwarder:
    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self._http: Optional[aiohttp.ClientSession] = None
        #: the buyer's headers left out: NOT_FORWARDED and the one the JWT goes in
        self._dropped = NOT_FORWARDED | {settings.agents_jwt_header.lower()}
        self._scheme = f"{settings.agents_jwt_scheme} " if settings.agents_jwt_scheme else ""

    def _session(self) -> aiohttp.ClientSession:
        if self._http is None or self._http.closed:
            connector = aiohttp.TCPConnector(limit=512, limit_per_host=0, ttl_dns_cache=60)
            self._http = aiohttp.ClientSession(connector=connector, auto_decompress=True,
                                               timeout=aiohttp.ClientTimeout(total=None),
                                               cookie_jar=aiohttp.DummyCookieJar(), skip_auto_headers=("User-Agent",))
        return self._http

    async def close(self) -> None:
        if self._http is not None:
            await self._http.close()
            self._http = None

    def headers(self, request: web.Request, route: Route, access: Access, request_id: str) -> dict[str, str]:
        """The buyer's headers minus credentials and hop-by-hop ones, plus the §14.1 headers."""
        dropped = self._dropped
        headers = {name: value for name, value in request.headers.items() if name.lower() not in dropped}
        headers["X-Request-Id"] = request_id
        headers["X-Customer-Id"] = access.customer_id
        headers["X-Customer-Name"] = access.customer_name
        if route.auth_mode == "aksk" and route.access_key and route.secret_key:
            token = agents_jwt(route.access_key, route.secret_key, time.time_ns() // 1_000_000,
                               self.settings.agents_jwt_exp_claim)
            headers[self.settings.agents_jwt_header] = self._scheme + token
        return headers

    async def forward(self, request: web.Request, route: Route, call: CallRecord, body: bytes) -> web.StreamResponse:
        """Send the call (``call.target_url``, ``call.request_headers``) and answer the buyer."""
        assert call.target_url is not None
        timeout = self.settings.gateway_timeout_s
        started = asyncio.get_running_loop().time()
        try:
            # asyncio.timeout, not wait_for: no extra task per call
            async with asyncio.timeout_at(started + timeout):
                response = await self._session().request(
                    request.method, call.target_url, headers=call.request_headers, data=body or None,
                    allow_redirects=False)
        except TimeoutError:
            raise Failure(504, "backend_timeout", f"the backend did not answer within {timeout:g} s") from None
        except (aiohttp.ClientError, OSError, ValueError) as exc:
            raise Failure(502, "backend_unreachable", f"the backend could not be reached: {_describe(exc)}") from None
        async with response:
            call.status = response.status
            call.response_headers = {name: value for name, value in response.headers.items()}
            if route.kind == "api":
                call.billed_calls = 1  # §14.2: billed once forwarded, whatever the backend answers
            if response.content_type == "text/event-stream":
                return await self._stream(request, route, call, response, started)
            return await self._whole(route, call, response, started + timeout)

    async def _whole(self, route: Route, call: CallRecord, response: aiohttp.ClientResponse,
                     deadline: float) -> web.Response:
        cap = self.settings.gateway_max_reply_bytes
        if response.content_length is not None and response.content_length > cap:
            raise Failure(502, "reply_too_large", f"the backend's reply declares {response.content_length} bytes; "
                                                  f"at most {cap} are accepted")
        try:
            async with asyncio.timeout_at(deadline):
                if response.content_length is not None and hdrs.CONTENT_ENCODING not in response.headers:
                    # the parser stops at the declared length (already checked against the cap)
                    body = await response.content.read()
                else:
                    body = await _read_capped(response.content, cap)
        except TimeoutError:
            raise Failure(504, "backend_timeout", f"the backend's reply was not complete within "
                                                  f"{self.settings.gateway_timeout_s:g} s") from None
        except _TooLarge:
            raise Failure(502, "reply_too_large", f"the backend's reply is larger than {cap} bytes") from None
        except (aiohttp.ClientError, OSError) as exc:
            raise Failure(502, "backend_broken_reply", f"the backend's reply broke off: {_describe(exc)}") from None
        call.response_body = kept(body.decode("utf-8", "replace"))
        if route.kind == "agents":
            _judge(call, check_json_body(body) if 200 <= response.status < 300 else None)
        else:
            call.passed = True
        return web.Response(status=response.status, body=body, headers=_passed_back(response, call.request_id))

    async def _stream(self, request: web.Request, route: Route, call: CallRecord, response: aiohttp.ClientResponse,
                      started: float) -> web.StreamResponse:
        call.streamed = True
        out = web.StreamResponse(status=response.status, headers=_passed_back(response, call.request_id))
        await out.prepare(request)
        cap = self.settings.gateway_max_reply_bytes
        events, head, size = SseEvents(), bytearray(), 0
        problem: Optional[Failure] = None
        try:
            async with asyncio.timeout_at(started + self.settings.gateway_stream_max_s):
                while True:
                    try:
                        chunk = await response.content.readany()
                    except (aiohttp.ClientError, OSError) as exc:
                        problem = Failure(502, "backend_broken_reply", f"the event stream broke off: {_describe(exc)}")
                        break
                    if not chunk:
                        break
                    size += len(chunk)
                    if size > cap:
                        problem = Failure(502, "reply_too_large", f"the event stream passed {cap} bytes")
                        break
                    if len(head) < BODY_KEPT:
                        head += chunk[:BODY_KEPT - len(head)]
                    events.feed(chunk)
                    try:
                        await out.write(chunk)
                    except (ConnectionError, RuntimeError):
                        problem = Failure(499, "caller_gone", "the buyer closed the connection during the stream")
                        break
        except TimeoutError:
            problem = Failure(504, "stream_too_long", f"the event stream did not end within "
                                                      f"{self.settings.gateway_stream_max_s:g} s")
        events.close()
        call.events = events.count
        call.response_body = head.decode("utf-8", "replace") + (
            f"\n… ({size - len(head)} more bytes not kept)" if size > len(head) else "")
        if problem is not None:
            call.error = problem.code
            call.failures.append(problem.message)
            if problem.code != "caller_gone":
                try:
                    await out.write(b"event: error\ndata: " + json.dumps(error_body(problem.code, problem.message))
                                    .encode() + b"\n\n")
                except (ConnectionError, RuntimeError):
                    pass
        if route.kind == "agents":
            _judge(call, events.check() if 200 <= response.status < 300 and problem is None else None)
        else:
            call.passed = problem is None
        try:
            await out.write_eof()
        except (ConnectionError, RuntimeError):
            pass
        return out


class _TooLarge(Exception):
    pass


async def _read_capped(content: aiohttp.StreamReader, cap: int) -> bytes:
    chunks, size = [], 0
    async for chunk in content.iter_any():
        size += len(chunk)
        if size > cap:
            raise _TooLarge()
        chunks.append(chunk)
    return b"".join(chunks)


def _judge(call: CallRecord, check: Optional[UsageCheck]) -> None:
    """An Agents call passes with a 2xx reply carrying a valid usage; its tokens are billed."""
    if check is None:
        if not call.failures:
            call.failures.append(f"the backend answered HTTP {call.status}, not 2xx")
        call.passed = False
        return
    call.failures.extend(check.failures)
    if check.tokens is not None:
        call.prompt_tokens, call.completion_tokens = check.tokens.prompt, check.tokens.completion
        call.total_tokens = call.billed_tokens = check.tokens.total
    call.passed = not call.failures


def _passed_back(response: aiohttp.ClientResponse, request_id: str) -> dict[str, str]:
    headers = {name: value for name, value in response.headers.items()
               if name.lower() not in HOP_BY_HOP and name.lower() != "set-cookie"}
    headers["X-Request-Id"] = request_id
    return headers


def _describe(exc: BaseException) -> str:
    return f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__
