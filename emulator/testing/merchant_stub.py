"""A small merchant production interface that answers per PROTOCOL §4.

It is the built-in demo merchant of the run command and the stub of the test suites. It checks
the §2a signature (and the 60 s timestamp window) on every call, keeps instances idempotent
per order line (instanceId = the first attempt's businessId, as Huawei recommends), and can be
told to misbehave: fail the next N calls in a chosen way, answer slowly, reject signatures,
refuse spec changes or report instances as not ready.
"""

from __future__ import annotations

import asyncio
import json
import time
from dataclasses import asdict, dataclass
from typing import TYPE_CHECKING, Any, Literal, Optional, get_args

from aiohttp import web
from pydantic import Field, ValidationError

from ..jsonbody import BadJson, StrictInput, decode_json
from ..protocol.signing import verify_basic_signature

if TYPE_CHECKING:
    from .openapi_client import OpenApiClient

FailureMode = Literal["http_500", "result_code", "processing", "timeout", "bad_json", "no_instance_id"]
FAILURE_MODES: tuple[str, ...] = get_args(FailureMode)
Activity = Literal["newInstance", "queryInstance", "refreshInstance", "updateInstanceStatus", "releaseInstance",
                   "upgradeInstance", "changeInstanceCheck"]
MAX_WAIT_S = 3600.0


class Behaviour(StrictInput):
    """How the stub misbehaves. Tests set attributes directly; ``PUT /_behaviour`` validates strictly."""

    fail_next: int = Field(0, ge=0)
    failure: FailureMode = "http_500"
    fail_activities: list[Activity] = []  # empty: any activity
    delay_s: float = Field(0.0, ge=0, le=MAX_WAIT_S, allow_inf_nan=False)
    hang_s: float = Field(30.0, ge=0, le=MAX_WAIT_S, allow_inf_nan=False)  # how long a "timeout" failure waits
    reject_signatures: bool = False
    refuse_changes: bool = False
    not_ready_polls: int = Field(0, ge=0)


@dataclass
class ReceivedCall:
    activity: Optional[str]
    body: dict[str, Any]
    raw_body: str
    query: dict[str, str]
    headers: dict[str, str]
    signature_ok: bool
    problem: Optional[str]
    reply_status: int
    reply: str


class MerchantStub:
    def __init__(self, access_key: str, signature_window_s: float = 60.0,
                 open_api: Optional["OpenApiClient"] = None) -> None:
        self.access_key = access_key
        self.open_api = open_api  # when set, each new purchase is looked up with Query Order (§4 R7)
        self.order_details: dict[str, Any] = {}
        self.lookups: list[asyncio.Task[None]] = []
        self.signature_window_s = signature_window_s
        self.behaviour = Behaviour()
        self.received: list[ReceivedCall] = []
        self.instances: dict[str, dict[str, Any]] = {}  # instanceId -> state
        self._by_line: dict[str, str] = {}  # orderLineId -> instanceId

    # -- wiring ----------------------------------------------------------------------------
    def app(self) -> web.Application:
        app = web.Application()
        app.router.add_post("/produce", self.handle)
        app.router.add_get("/_behaviour", self._get_behaviour)
        app.router.add_put("/_behaviour", self._put_behaviour)
        app.router.add_get("/_received", self._get_received)
        app.router.add_post("/_reset", self._reset)
        return app

    def reset(self) -> None:
        self.behaviour = Behaviour()
        self.received.clear()
        self.instances.clear()
        self._by_line.clear()
        self.order_details.clear()

    def calls(self, activity: Optional[str] = None) -> list[ReceivedCall]:
        return [c for c in self.received if activity is None or c.activity == activity]

    # -- the production interface ----------------------------------------------------------
    async def handle(self, request: web.Request) -> web.StreamResponse:
        raw = await request.read()
        query = dict(request.query)
        problem = self._signature_problem(raw, query)
        try:
            body = decode_json(raw)
        except BadJson as exc:
            body, problem = {}, problem or str(exc)
        if not isinstance(body, dict):
            body, problem = {}, problem or "body is not a JSON object"
        activity = body.get("activity") if isinstance(body.get("activity"), str) else None
        status, reply = await self._answer(activity, body, problem)
        self.received.append(ReceivedCall(
            activity=activity, body=body, raw_body=raw.decode("utf-8", "replace"), query=query,
            headers=dict(request.headers), signature_ok=problem is None, problem=problem,
            reply_status=status, reply=reply,
        ))
        return web.Response(status=status, text=reply, content_type="application/json")

    def _signature_problem(self, raw: bytes, query: dict[str, str]) -> Optional[str]:
        missing = [name for name in ("signature", "timestamp", "nonce") if not query.get(name)]
        if missing:
            return f"missing URL parameter(s): {', '.join(missing)}"
        timestamp = query["timestamp"]
        if not timestamp.isdigit() or abs(time.time() * 1000 - int(timestamp)) > self.signature_window_s * 1000:
            return f"timestamp {timestamp} is outside the {self.signature_window_s:g} s window"
        if not verify_basic_signature(self.access_key, query["nonce"], timestamp, raw, query["signature"]):
            return "signature does not match the body"
        return None

    async def _answer(self, activity: Optional[str], body: dict[str, Any], problem: Optional[str]) -> tuple[int, str]:
        behaviour = self.behaviour
        if behaviour.delay_s:
            await asyncio.sleep(behaviour.delay_s)
        if problem is not None:
            return 200, json.dumps(_result("000001", f"token is invalid: {problem}"))
        if behaviour.reject_signatures:
            return 200, json.dumps(_result("000001", "token is invalid"))
        if behaviour.fail_next > 0 and (not behaviour.fail_activities or activity in behaviour.fail_activities):
            behaviour.fail_next -= 1
            return await self._failure(behaviour.failure)
        handler = getattr(self, f"_on_{activity}", None)
        if handler is None:
            return 200, json.dumps(_result("000002", f"param is invalid: unknown activity {activity!r}"))
        return 200, json.dumps(handler(body))

    async def _failure(self, mode: str) -> tuple[int, str]:
        if mode == "timeout":
            await asyncio.sleep(self.behaviour.hang_s)
            return 200, json.dumps(_result("000000", "too late"))
        if mode == "bad_json":
            return 200, "<html>not json</html>"
        if mode == "result_code":
            return 200, json.dumps(_result("000005", "other inner error"))
        if mode == "processing":
            return 200, json.dumps(_result("000004", "request is processing"))
        if mode == "no_instance_id":
            return 200, json.dumps(_result("000000", "success."))
        return 500, '{"error":"internal server error"}'

    # -- activities ------------------------------------------------------------------------
    def _on_newInstance(self, body: dict[str, Any]) -> dict[str, Any]:
        line = str(body.get("orderLineId", ""))
        instance_id = self._by_line.get(line)
        if instance_id is None:
            instance_id = str(body.get("businessId") or line)
            self._by_line[line] = instance_id
            self.instances[instance_id] = {"orderId": body.get("orderId"), "orderLineId": line, "status": "NORMAL"}
            if self.open_api is not None:
                self.lookups.append(asyncio.create_task(self._look_up(str(body.get("orderId")), line)))
        return {"resultCode": "000000", "resultMsg": "success.", "instanceId": instance_id}

    async def _look_up(self, order_id: str, line: str) -> None:
        assert self.open_api is not None
        status, answer = await self.open_api.query_order(order_id, line)
        self.order_details[order_id] = {"status": status, **(answer or {})}

    def _on_queryInstance(self, body: dict[str, Any]) -> dict[str, Any]:
        if self.behaviour.not_ready_polls > 0:
            self.behaviour.not_ready_polls -= 1
            return {"resultCode": "000004", "resultMsg": "request is processing"}
        ids = [i for i in str(body.get("instanceId", "")).split(",") if i in self.instances]
        info = [{"instanceId": i, "appInfo": {"frontEndUrl": f"https://demo.example.com/{i}/login"}} for i in ids]
        return {"resultCode": "000000", "resultMsg": "success.", "info": info}

    def _known(self, body: dict[str, Any]) -> Optional[dict[str, Any]]:
        return self.instances.get(str(body.get("instanceId")))

    def _on_refreshInstance(self, body: dict[str, Any]) -> dict[str, Any]:
        state = self._known(body)
        if state is None:
            return _result("000003", "instance is invalid")
        state["expireTime"] = body.get("expireTime")
        return _result("000000", "success.")

    def _on_updateInstanceStatus(self, body: dict[str, Any]) -> dict[str, Any]:
        state = self._known(body)
        if state is None:
            return _result("000003", "instance is invalid")
        state["status"] = "FROZEN" if body.get("status") == "FREEZE" else "NORMAL"
        return _result("000000", "success.")

    def _on_releaseInstance(self, body: dict[str, Any]) -> dict[str, Any]:
        state = self._known(body)
        if state is None:
            return _result("000003", "instance is invalid")
        state["status"] = "RELEASED"
        return _result("000000", "success.")

    def _on_upgradeInstance(self, body: dict[str, Any]) -> dict[str, Any]:
        state = self._known(body)
        if state is None:
            return _result("000003", "instance is invalid")
        state["upgradeOrderId"] = body.get("orderId")
        return _result("000000", "success.")

    def _on_changeInstanceCheck(self, body: dict[str, Any]) -> dict[str, Any]:
        if self.behaviour.refuse_changes:
            return _result("000100", "no available resource")
        return _result("000000", "success.")

    # -- control endpoints (for QA and non-Python suites) ----------------------------------
    async def _get_behaviour(self, _request: web.Request) -> web.Response:
        return web.json_response(self.behaviour.model_dump())

    async def _put_behaviour(self, request: web.Request) -> web.Response:
        """Change the members given; on any error answer 400 and keep the behaviour in force."""
        try:
            data = decode_json(await request.read())
        except BadJson as exc:
            return _bad_behaviour(str(exc))
        if not isinstance(data, dict):
            return _bad_behaviour(f"the body must be a JSON object, not {type(data).__name__}")
        try:
            behaviour = Behaviour.model_validate({**self.behaviour.model_dump(), **data}, strict=True)
        except ValidationError as exc:
            error = exc.errors()[0]
            name = ".".join(str(part) for part in error["loc"])
            return _bad_behaviour(f"{name}: {error['msg']}", name)
        self.behaviour = behaviour
        return web.json_response(behaviour.model_dump())

    async def _get_received(self, _request: web.Request) -> web.Response:
        return web.json_response([asdict(call) for call in self.received[-200:]])

    async def _reset(self, _request: web.Request) -> web.Response:
        self.reset()
        return web.json_response({"reset": True})


def _bad_behaviour(message: str, name: Optional[str] = None) -> web.Response:
    return web.json_response({"error": f"invalid behaviour: {message}", "field": name}, status=400)


def _result(code: str, message: str) -> dict[str, Any]:
    return {"resultCode": code, "resultMsg": message}
