"""A small merchant production interface that answers per PROTOCOL §4 and §5.

It is the built-in demo merchant of the run command and the stub of the test suites. It checks
the §2a signature (and the 60 s timestamp window) on every basic call, keeps instances idempotent
per order line (instanceId = the first attempt's businessId, as Huawei recommends), and can be
told to misbehave: fail the next N calls in a chosen way (optionally only some activities, or
only calls about one instance), answer slowly, reject signatures, refuse spec changes or report
instances as not ready.

It also speaks the joint-operation family (§5): the rich ``newInstance`` (idempotent per
``orderInfo[0].orderId``), ``expireInstance`` and ``upgrade`` on the same path, and the kit syncs
at ``/produce/produceAPI/v2/<name>``, checked with the kit key (§2b); applicationSync's
``clientSecret`` is decrypted with the stub's RSA private key (§3).
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import time
from collections import deque
from dataclasses import asdict, dataclass, field
from datetime import datetime, timezone
from typing import TYPE_CHECKING, Any, Literal, Mapping, Optional, get_args

from aiohttp import web
from pydantic import Field, ValidationError, field_validator

from ..jsonbody import BadJson, StrictInput, decode_json
from ..marketplace.ids import order_line_id
from ..protocol.crypto import rsa_decrypt_client_secret
from ..protocol.kit import APPLICATION_SYNC, KIT_SYNCS
from ..protocol.signing import verify_basic_signature, verify_kit_x_sign

if TYPE_CHECKING:
    from .openapi_client import OpenApiClient

FailureMode = Literal["http_500", "result_code", "processing", "timeout", "bad_json", "no_instance_id"]
FAILURE_MODES: tuple[str, ...] = get_args(FailureMode)
Activity = Literal["newInstance", "queryInstance", "refreshInstance", "updateInstanceStatus", "releaseInstance",
                   "upgradeInstance", "changeInstanceCheck", "expireInstance", "upgrade",
                   "getLicense", "refreshLicense", "expireLicense", "changeLicenseStatus", "releaseLicense",
                   "upgradeLicense", "getLicenseAsync",
                   "tenantSync", "applicationSync", "allOrgSync", "authSync", "singleOrgSync"]
ACTIVITIES: tuple[str, ...] = get_args(Activity)
MAX_WAIT_S = 3600.0
MAX_INSTANCE_CHARS = 200
JOINT = "saas_v2_joint"
KIT_ROUTE = "/produce/produceAPI/v2/{name:" + "|".join(sorted(KIT_SYNCS)) + "}"


class BadBehaviour(ValueError):
    """A behaviour the model refuses: ``errors`` maps each field (a dotted path) to its message,
    ``field`` is the first of them and ``str(exc)`` reads ``"<field>: <message>"``."""

    def __init__(self, errors: dict[str, str]) -> None:
        self.errors = errors
        self.field = next(iter(errors))
        super().__init__(f"{self.field}: {errors[self.field]}")


class Behaviour(StrictInput):
    """How the stub misbehaves. Tests set attributes directly; ``PUT /_behaviour`` and the console's
    Demo merchant page change it through :meth:`updated`, which validates strictly."""

    fail_next: int = Field(0, ge=0)  # counts only the calls that match fail_activities and fail_instance
    failure: FailureMode = "http_500"
    fail_activities: list[Activity] = []  # empty: any activity
    # Only calls about this instance: the emulator's instance key (the orderLineId of the instance's
    # purchase) or the merchant's instanceId. None (or blank): calls about any instance, and calls
    # about none.
    fail_instance: Optional[str] = Field(None, max_length=MAX_INSTANCE_CHARS)
    delay_s: float = Field(0.0, ge=0, le=MAX_WAIT_S, allow_inf_nan=False)
    hang_s: float = Field(30.0, ge=0, le=MAX_WAIT_S, allow_inf_nan=False)  # how long a "timeout" failure waits
    reject_signatures: bool = False
    refuse_changes: bool = False
    not_ready_polls: int = Field(0, ge=0)

    @field_validator("fail_instance", mode="after")
    @classmethod
    def _blank_is_any(cls, value: Optional[str]) -> Optional[str]:
        return value or None

    def updated(self, changes: Mapping[str, Any]) -> "Behaviour":
        """This behaviour with ``changes`` merged in, validated strictly (no ``"2"`` for a number,
        no ``"yes"`` for a boolean; callers with form strings convert them first)."""
        try:
            return Behaviour.model_validate({**self.model_dump(), **changes}, strict=True)
        except ValidationError as exc:
            errors: dict[str, str] = {}
            for error in exc.errors():
                errors.setdefault(".".join(str(part) for part in error["loc"]) or "behaviour", error["msg"])
            raise BadBehaviour(errors) from None


def _now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="milliseconds").replace("+00:00", "Z")


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
    at: str = field(default_factory=_now)  # wall-clock UTC, when the answer was sent


class MerchantStub:
    def __init__(self, access_key: str, signature_window_s: float = 60.0,
                 open_api: Optional["OpenApiClient"] = None, kit_key: Optional[str] = None,
                 private_key_pem: Optional[str] = None) -> None:
        self.access_key = access_key
        self.kit_key = kit_key  # verifies the kit syncs' x-sign (§2b); without it they are refused
        self.private_key_pem = private_key_pem  # decrypts applicationSync's clientSecret (§3)
        self.open_api = open_api  # when set, each new purchase is looked up with Query Order (§4 R7)
        self.order_details: dict[str, Any] = {}
        self.lookups: list[asyncio.Task[None]] = []
        self.signature_window_s = signature_window_s
        self.behaviour = Behaviour()
        self.received: list[ReceivedCall] = []
        self.instances: dict[str, dict[str, Any]] = {}  # instanceId -> state
        self._by_line: dict[str, str] = {}  # orderLineId -> instanceId
        self._by_order: dict[str, str] = {}  # joint-operation orderId -> instanceId
        self.client_secrets: dict[str, str] = {}  # clientId -> clientSecret decrypted from applicationSync
        self._nonces: set[str] = set()  # seen within the window: replays are refused (§2a)
        self._nonce_times: deque[tuple[float, str]] = deque()  # (first seen, nonce), oldest first

    # -- wiring ----------------------------------------------------------------------------
    def app(self) -> web.Application:
        app = web.Application()
        app.router.add_post("/produce", self.handle)
        app.router.add_post(KIT_ROUTE, self.handle_kit)
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
        self._by_order.clear()
        self.client_secrets.clear()
        self._nonces.clear()
        self._nonce_times.clear()
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
        return self._replay_problem(query["nonce"])

    def _replay_problem(self, nonce: str) -> Optional[str]:
        """A nonce seen within the window is a replay (§2a: cache nonces against replays)."""
        now = time.time()
        while self._nonce_times and now - self._nonce_times[0][0] > 2 * self.signature_window_s:
            self._nonces.discard(self._nonce_times.popleft()[1])
        if nonce in self._nonces:
            return f"nonce {nonce} was already used (a replayed request)"
        self._nonces.add(nonce)
        self._nonce_times.append((now, nonce))
        return None

    async def _answer(self, activity: Optional[str], body: dict[str, Any], problem: Optional[str]) -> tuple[int, str]:
        await self._delay()
        if problem is not None:
            return 200, json.dumps(_result("000001", f"token is invalid: {problem}"))
        misbehaviour = await self._misbehave(activity, body)
        if misbehaviour is not None:
            return misbehaviour
        handler = getattr(self, f"_on_{activity}", None)
        if handler is None:
            return 200, json.dumps(_result("000002", f"param is invalid: unknown activity {activity!r}"))
        return 200, json.dumps(handler(body))

    async def _delay(self) -> None:
        if self.behaviour.delay_s:
            await asyncio.sleep(self.behaviour.delay_s)

    async def _misbehave(self, activity: Optional[str], body: Mapping[str, Any]) -> Optional[tuple[int, str]]:
        """The answer the behaviour forces on a correctly signed call, if any."""
        behaviour = self.behaviour
        if behaviour.reject_signatures:
            return 200, json.dumps(_result("000001", "token is invalid"))
        if behaviour.fail_next > 0 and self._targeted(activity, body):
            behaviour.fail_next -= 1
            return await self._failure(behaviour.failure)
        return None

    def _targeted(self, activity: Optional[str], body: Mapping[str, Any]) -> bool:
        """True when the call matches both ``fail_activities`` and ``fail_instance``."""
        behaviour = self.behaviour
        if behaviour.fail_activities and activity not in behaviour.fail_activities:
            return False
        return behaviour.fail_instance is None or behaviour.fail_instance in self.about(body)

    def about(self, body: Mapping[str, Any]) -> set[str]:
        """The instance keys and merchant instanceIds a call is about, as far as its body and the
        stub's records tell. A call on an existing instance names its ``instanceId`` (a later
        ``orderLineId`` there belongs to a renewal or upgrade order, not to the instance); a purchase
        names its order line (slim, License) or, joint-operation, its ``orderInfo[0].orderId``,
        whose instance key is the order's first line."""
        names: set[str] = set()
        for instance_id in _text(body.get("instanceId")).split(","):
            if instance_id:
                names |= {instance_id, *self._key_of(instance_id)}
        return names or self._purchase_names(body)

    def _key_of(self, instance_id: str) -> set[str]:
        state = self.instances.get(instance_id) or {}
        if state.get("orderLineId"):
            return {str(state["orderLineId"])}
        return {order_line_id(str(state["orderId"]))} if state.get("orderId") else set()

    def _purchase_names(self, body: Mapping[str, Any]) -> set[str]:
        line, order = _text(body.get("orderLineId")), ""
        info = body.get("orderInfo")
        if not line and isinstance(info, list) and info and isinstance(info[0], dict):
            order = _text(info[0].get("orderId"))
            line = _text(info[0].get("orderLineId")) or (order_line_id(order) if order else "")
        return {name for name in (line, self._by_line.get(line), self._by_order.get(order)) if name}

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

    # -- the kit syncs (§5, signed per §2b) ----------------------------------------------------
    async def handle_kit(self, request: web.Request) -> web.StreamResponse:
        name = request.match_info["name"]
        raw = await request.read()
        signature_problem = self._kit_signature_problem(raw, request.headers)
        body, body_problem = _kit_body(raw)
        problem = signature_problem or body_problem
        status, reply = await self._kit_answer(name, body, problem)
        self.received.append(ReceivedCall(
            activity=name, body=body, raw_body=raw.decode("utf-8", "replace"), query=dict(request.query),
            headers=dict(request.headers), signature_ok=signature_problem is None,
            problem=problem[1] if problem else None, reply_status=status, reply=reply,
        ))
        return web.Response(status=status, text=reply, content_type="application/json")

    def _kit_signature_problem(self, raw: bytes, headers: Mapping[str, str]) -> Optional[tuple[str, str]]:
        """``(resultCode, message)`` as Huawei's sample merchant answers a bad §2b signature."""
        nonce, timestamp, sign = (headers.get(name) for name in ("x-nonce", "x-timestamp", "x-sign"))
        if not timestamp or not nonce:
            return "000002", "param is invalid: x-timestamp or x-nonce is missing"
        if not sign:
            return "000001", "token is invalid: x-sign is missing"
        if not timestamp.isdigit():
            return "000002", f"param is invalid: x-timestamp {timestamp} is not epoch milliseconds"
        if time.time() * 1000 - int(timestamp) > self.signature_window_s * 1000:
            return "000002", f"param is invalid: x-timestamp {timestamp} is older than {self.signature_window_s:g} s"
        if not self.kit_key:
            return "000001", "token is invalid: this merchant has no kit key"
        if not verify_kit_x_sign(self.kit_key, nonce, timestamp, raw, sign):
            return "000001", "token is invalid: x-sign does not match the body"
        return None

    async def _kit_answer(self, name: str, body: dict[str, Any], problem: Optional[tuple[str, str]]
                          ) -> tuple[int, str]:
        await self._delay()
        if problem is not None:
            return 200, json.dumps(_result(*problem))
        misbehaviour = await self._misbehave(name, body)
        if misbehaviour is not None:
            return misbehaviour
        if name == APPLICATION_SYNC:
            return 200, json.dumps(self._application_sync(body))
        return 200, json.dumps(_result("000000", "success."))

    def _application_sync(self, body: dict[str, Any]) -> dict[str, Any]:
        if not self.private_key_pem:
            return _result("000101", "clientSecret cannot be decrypted: this merchant has no private key")
        try:
            secret = rsa_decrypt_client_secret(self.private_key_pem, str(body.get("clientSecret", "")))
        except ValueError as exc:
            return _result("000101", f"clientSecret cannot be decrypted: {exc}")
        self.client_secrets[str(body.get("clientId", ""))] = secret
        return _result("000000", "success.")

    # -- activities ------------------------------------------------------------------------
    def _on_newInstance(self, body: dict[str, Any]) -> dict[str, Any]:
        if "orderInfo" in body:
            return self._new_joint_instance(body)
        line = str(body.get("orderLineId", ""))
        instance_id = self._by_line.get(line)
        if instance_id is None:
            instance_id = str(body.get("businessId") or line)
            self._by_line[line] = instance_id
            self.instances[instance_id] = {"orderId": body.get("orderId"), "orderLineId": line, "status": "NORMAL"}
            if self.open_api is not None:
                self.lookups.append(asyncio.create_task(self._look_up(str(body.get("orderId")), line)))
        return {"resultCode": "000000", "resultMsg": "success.", "instanceId": instance_id}

    def _new_joint_instance(self, body: dict[str, Any]) -> dict[str, Any]:
        """The rich body (§5): one instance per ``orderInfo[0].orderId``, named by its first businessId."""
        info = body["orderInfo"][0] if isinstance(body["orderInfo"], list) and body["orderInfo"] else None
        if not isinstance(info, dict) or not info.get("orderId"):
            return _result("000002", "param is invalid: orderInfo[0].orderId is missing")
        order_id = str(info["orderId"])
        instance_id = self._by_order.get(order_id)
        if instance_id is None:
            instance_id = str(info.get("businessId") or order_id)
            self._by_order[order_id] = instance_id
            self.instances[instance_id] = {"orderId": order_id, "family": JOINT, "status": "NORMAL",
                                           "expireTime": info.get("expireTime")}
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
        if state.get("family") == JOINT:
            state["status"] = "NORMAL"  # a joint-operation renewal also reactivates (§5)
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

    def _on_expireInstance(self, body: dict[str, Any]) -> dict[str, Any]:
        state = self._known(body)
        if state is None:
            return _result("000003", "instance is invalid")
        state["status"] = "FROZEN"
        return _result("000000", "success.")

    _on_upgrade = _on_upgradeInstance  # the joint-operation name of the same activity (§5)

    # -- License 2.0 (§6): the licence travels in getLicense's reply --------------------------
    def _on_getLicense(self, body: dict[str, Any]) -> dict[str, Any]:
        """One instance and one licence per order line, the same on every resend (§6 R1)."""
        answer = self._on_newInstance(body)
        if answer.get("resultCode") != "000000":
            return answer
        state = self.instances[answer["instanceId"]]
        state.setdefault("license", "PL" + hashlib.sha256(answer["instanceId"].encode()).hexdigest()[:16].upper())
        return {**answer, "license": state["license"]}

    def _on_getLicenseAsync(self, body: dict[str, Any]) -> dict[str, Any]:
        return _result("000000", "success.") if self._known(body) else _result("000003", "instance is invalid")

    _on_changeLicenseStatus = _on_updateInstanceStatus  # the same status member, FREEZE / UNFREEZE
    _on_refreshLicense = _on_refreshInstance
    _on_expireLicense = _on_expireInstance
    _on_releaseLicense = _on_releaseInstance
    _on_upgradeLicense = _on_upgradeInstance

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
            behaviour = self.behaviour.updated(data)
        except BadBehaviour as exc:
            return _bad_behaviour(str(exc), exc.field)
        self.behaviour = behaviour
        return web.json_response(behaviour.model_dump())

    async def _get_received(self, _request: web.Request) -> web.Response:
        return web.json_response([asdict(call) for call in self.received[-200:]])

    async def _reset(self, _request: web.Request) -> web.Response:
        self.reset()
        return web.json_response({"reset": True})


def _bad_behaviour(message: str, name: Optional[str] = None) -> web.Response:
    return web.json_response({"error": f"invalid behaviour: {message}", "field": name}, status=400)


def _kit_body(raw: bytes) -> tuple[dict[str, Any], Optional[tuple[str, str]]]:
    """A kit sync's JSON object, or an empty one and the 000002 problem."""
    try:
        body = decode_json(raw)
    except BadJson as exc:
        return {}, ("000002", f"param is invalid: body {exc}")
    if not isinstance(body, dict):
        return {}, ("000002", "param is invalid: body is not a JSON object")
    return body, None


def _text(value: Any) -> str:
    return value if isinstance(value, str) else ""


def _result(code: str, message: str) -> dict[str, Any]:
    return {"resultCode": code, "resultMsg": message}
