"""A typed async client for the control API, for test suites and QA scripts.

    async with SandboxClient("http://127.0.0.1:8080") as sandbox:
        order = await sandbox.buy("demo-saas-monthly", periods=1)
        delivery = await sandbox.wait_for_delivery(order, "newInstance")
        await sandbox.advance(days=31)

Waiting needs no sleeps: on a manual clock every wait first asks the emulator to run whatever is
due (which returns once it has run); only real and scaled clocks are polled until the timeout.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Optional, Union

import aiohttp

PREFIX = "/sandbox/api/v1"


class SandboxError(Exception):
    """The control API refused a request; ``status`` and ``error`` (its JSON error) say why."""

    def __init__(self, status: int, error: Any, method: str, path: str) -> None:
        message = error.get("message") if isinstance(error, dict) else str(error)
        super().__init__(f"{method} {path} -> HTTP {status}: {message}")
        self.status, self.error = status, error


@dataclass(frozen=True)
class Attempt:
    number: int
    passed: Optional[bool]
    verdict: Optional[str]
    sent_at: datetime
    business_id: Optional[str]
    request: dict[str, Any]
    response: Optional[dict[str, Any]]
    manual: bool

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> "Attempt":
        return cls(data["number"], data["passed"], data["verdict"], _time(data["sent_at"]), data["business_id"],
                   data["request"], data["response"], data["manual"])


@dataclass(frozen=True)
class Delivery:
    id: int
    activity: str
    status: str
    params: dict[str, Any]
    order_id: Optional[str]
    instance: Optional[str]
    last_verdict: Optional[str]
    attempt_count: int = 0
    attempts: list[Attempt] = field(default_factory=list)

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> "Delivery":
        return cls(data["id"], data["activity"], data["status"], data["params"], data["order_id"], data["instance"],
                   data["last_verdict"], data["attempts"],
                   [Attempt.from_json(a) for a in data.get("attempt_log", [])])

    @property
    def outcome(self) -> str:
        return {"scheduled": "pending", "waiting": "pending", "exhausted": "failed"}.get(self.status, self.status)

    @property
    def instance_id(self) -> Optional[str]:
        """The instanceId in the merchant's last reply (newInstance) or in the request body."""
        import json

        for attempt in reversed(self.attempts):
            if attempt.response and attempt.passed:
                try:
                    found = json.loads(attempt.response.get("body") or "{}").get("instanceId")
                except ValueError:
                    found = None
                if found:
                    return str(found)
        return self.params.get("instanceId")

    def describe(self) -> str:
        extra = f" {self.params.get('status') or self.params.get('scene') or ''}".rstrip()
        return (f"#{self.id} {self.activity}{extra}: {self.status}, {self.attempt_count} attempt(s), "
                f"last verdict: {self.last_verdict or '—'}")


@dataclass(frozen=True)
class Order:
    order_id: str
    order_type: str
    status: str
    instance: Optional[str]
    lines: list[dict[str, Any]]
    actions: list[str]

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> "Order":
        return cls(data["order_id"], data["order_type"], data["status"], data["instance"], data.get("lines", []),
                   data.get("actions", []))


OrderRef = Union[str, Order]


def _order_id(order: OrderRef) -> str:
    return order.order_id if isinstance(order, Order) else order


def _time(text: str) -> datetime:
    return datetime.fromisoformat(text.rstrip("Z"))


class SandboxClient:
    def __init__(self, base_url: str, session: Optional[aiohttp.ClientSession] = None) -> None:
        self.base_url = base_url.rstrip("/")
        self._session = session
        self._own_session = session is None

    async def __aenter__(self) -> "SandboxClient":
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    async def close(self) -> None:
        if self._own_session and self._session is not None:
            await self._session.close()
            self._session = None

    async def request(self, method: str, path: str, body: Any = None, params: Optional[dict[str, Any]] = None) -> Any:
        if self._session is None:
            self._session = aiohttp.ClientSession()
        query = {k: str(v) for k, v in (params or {}).items() if v is not None}
        async with self._session.request(method, self.base_url + PREFIX + path, json=body, params=query) as response:
            data = await response.json(content_type=None)
            if response.status >= 400:
                raise SandboxError(response.status, (data or {}).get("error", data), method, path)
            return data

    # -- merchants, products, credentials -------------------------------------------------
    async def point_merchant_at(self, url: str, key: Optional[str] = None, merchant_id: str = "demo",
                                **settings: Any) -> dict[str, Any]:
        """Send a merchant's callbacks (the demo merchant by default) to ``url``, signed with ``key``."""
        patch = {"production_url": url, **({"access_key": key} if key else {}), **settings}
        return await self.request("PATCH", f"/merchants/{merchant_id}", patch)

    async def create_merchant(self, **fields: Any) -> dict[str, Any]:
        return await self.request("POST", "/merchants", fields)

    async def create_product(self, **fields: Any) -> dict[str, Any]:
        return await self.request("POST", "/products", fields)

    async def issue_credentials(self, merchant_id: str = "demo") -> tuple[str, str]:
        issued = await self.request("POST", f"/merchants/{merchant_id}/credentials")
        return issued["ak"], issued["sk"]

    # -- orders ---------------------------------------------------------------------------
    async def buy(self, product: str, periods: Optional[int] = None, *, months: Optional[int] = None,
                  linear_value: Optional[int] = None, trial: bool = False,
                  buyer: Optional[dict[str, Any]] = None) -> Order:
        """Place an order; ``periods`` (or its alias ``months``) counts the product's own period."""
        body = {"product": product, "period_number": periods or months, "linear_value": linear_value,
                "trial": trial, "buyer": buyer}
        return Order.from_json(await self.request("POST", "/orders", {k: v for k, v in body.items() if v is not None}))

    async def order(self, order: OrderRef) -> Order:
        return Order.from_json(await self.request("GET", f"/orders/{_order_id(order)}"))

    async def instance(self, order: OrderRef) -> dict[str, Any]:
        key = (await self.order(order)).instance
        return await self.request("GET", f"/instances/{key}")

    async def renew(self, order: OrderRef, periods: int = 1, product: Optional[str] = None,
                    linear_value: Optional[int] = None) -> Order:
        body = {"period_number": periods, "product": product, "linear_value": linear_value}
        return await self._order_action(order, "renew", {k: v for k, v in body.items() if v is not None})

    async def convert(self, order: OrderRef, periods: int = 1, product: Optional[str] = None) -> Order:
        body = {"period_number": periods, **({"product": product} if product else {})}
        return await self._order_action(order, "convert", body)

    async def upgrade(self, order: OrderRef, product: Optional[str] = None,
                      linear_value: Optional[int] = None) -> Order:
        body = {"product": product, "linear_value": linear_value}
        return await self._order_action(order, "upgrade", {k: v for k, v in body.items() if v is not None})

    async def unsubscribe(self, order: OrderRef) -> Order:
        return await self._order_action(order, "unsubscribe", None)

    async def _order_action(self, order: OrderRef, action: str, body: Any) -> Order:
        return Order.from_json(await self.request("POST", f"/orders/{_order_id(order)}/{action}", body))

    async def freeze(self, order: OrderRef) -> dict[str, Any]:
        return await self.request("POST", f"/orders/{_order_id(order)}/freeze")

    async def unfreeze(self, order: OrderRef) -> dict[str, Any]:
        return await self.request("POST", f"/orders/{_order_id(order)}/unfreeze")

    async def release(self, order: OrderRef) -> dict[str, Any]:
        return await self.request("POST", f"/orders/{_order_id(order)}/release")

    # -- deliveries -----------------------------------------------------------------------
    async def deliveries(self, order: Optional[OrderRef] = None, activity: Optional[str] = None,
                         outcome: Optional[str] = None) -> list[Delivery]:
        """Deliveries, oldest first (attempts are not included; see ``delivery``)."""
        params = {"order_id": _order_id(order) if order else None, "activity": activity, "outcome": outcome,
                  "limit": 1000}
        data = await self.request("GET", "/deliveries", params=params)
        return [Delivery.from_json(d) for d in reversed(data["deliveries"])]

    async def delivery(self, delivery_id: int) -> Delivery:
        return Delivery.from_json(await self.request("GET", f"/deliveries/{delivery_id}"))

    async def traffic(self, merchant_id: str, since_id: Optional[int] = None) -> list[dict[str, Any]]:
        """The merchant's answered attempts as exported for ``python -m emulator replay``, oldest
        first, every page read; ``since_id``: only the attempts after that id."""
        import json

        if self._session is None:
            self._session = aiohttp.ClientSession()
        path, lines, cursor = f"/merchants/{merchant_id}/traffic", [], since_id or 0
        while True:
            async with self._session.get(self.base_url + PREFIX + path, params={"since_id": str(cursor)}) as response:
                text = await response.text()
                following = response.headers.get("X-Next-Since-Id")
                if response.status >= 400:
                    data = json.loads(text or "null")
                    raise SandboxError(response.status, (data or {}).get("error", data), "GET", path)
            lines += [json.loads(line) for line in text.split("\n") if line.strip()]
            if following is None:
                return lines
            cursor = int(following)

    async def restart(self, delivery: Union[int, Delivery]) -> Delivery:
        delivery_id = delivery.id if isinstance(delivery, Delivery) else delivery
        await self.request("POST", f"/deliveries/{delivery_id}/restart")
        await self.settle()
        return await self.delivery(delivery_id)

    async def wait_for_delivery(self, order: Optional[OrderRef], activity: str, outcome: Optional[str] = "succeeded",
                                timeout: float = 10.0, **params: Any) -> Delivery:
        """The newest matching delivery once it has the wanted outcome (``succeeded``, ``failed``,
        ``pending``, ``cancelled`` or None for any); body members in ``params`` must match too
        (e.g. ``status="FREEZE"``). Fails with the list of what did happen."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while True:
            await self.settle()
            found = [d for d in await self.deliveries(order, activity)
                     if all(d.params.get(k) == v for k, v in params.items())]
            wanted = [d for d in found if outcome is None or d.outcome == outcome]
            if wanted:
                return await self.delivery(wanted[-1].id)
            clock = await self.request("GET", "/clock")
            if clock["mode"] == "manual" or loop.time() >= deadline:
                break
            await asyncio.sleep(0.05)
        seen = await self.deliveries(order)
        lines = "\n  ".join(d.describe() for d in seen) or "(no delivery at all)"
        target = f" for order {_order_id(order)}" if order else ""
        raise AssertionError(
            f"no {activity} delivery{target} with outcome {outcome!r}"
            f"{' and ' + repr(params) if params else ''} (emulator clock {clock['now']}); deliveries{target}:\n  {lines}")

    # -- gateway of Agents and API products (PROTOCOL §14) ---------------------------------
    async def register_gateway_backend(self, product: str, backend_url: str, kind: str = "agents",
                                       **fields: Any) -> dict[str, Any]:
        """Register (or replace) a product's backend; the answer shows the AK/SK of the JWT."""
        return await self.request("PUT", f"/products/{product}/gateway",
                                  {"kind": kind, "backend_url": backend_url, **fields})

    async def gateway_access(self, order: OrderRef) -> dict[str, Any]:
        """The order's ``endpoint``, buyer ``api_key`` and ``totals`` (tokens and calls billed)."""
        return await self.request("GET", f"/orders/{_order_id(order)}/gateway")

    async def gateway_calls(self, order: Optional[OrderRef] = None, product: Optional[str] = None,
                            outcome: Optional[str] = None, after_id: Optional[int] = None) -> list[dict[str, Any]]:
        """Forwarded (and refused) gateway calls, oldest first; ``outcome`` is passed or failed."""
        params = {"order_id": _order_id(order) if order else None, "product": product, "outcome": outcome,
                  "after_id": after_id, "limit": 1000}
        data = await self.request("GET", "/gateway/calls", params=params)
        return list(reversed(data["calls"]))

    async def gateway_call(self, call_id: int) -> dict[str, Any]:
        """One call with the forwarded request and the backend's reply."""
        return await self.request("GET", f"/gateway/calls/{call_id}")

    async def wait_for_gateway_call(self, order: Optional[OrderRef] = None, outcome: Optional[str] = "passed",
                                    timeout: float = 10.0, after_id: Optional[int] = None,
                                    product: Optional[str] = None) -> dict[str, Any]:
        """The newest matching call (in full) once it is recorded with the wanted outcome (``passed``,
        ``failed`` or None for any); ``after_id`` skips calls already seen. Calls are recorded just
        after their answer (a stream's after its end), so this polls until ``timeout``."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while True:
            found = await self.gateway_calls(order, product, after_id=after_id)
            wanted = [c for c in found if outcome is None or c["passed"] == (outcome == "passed")]
            if wanted:
                return await self.gateway_call(wanted[-1]["id"])
            if loop.time() >= deadline:
                break
            await asyncio.sleep(0.05)
        lines = "\n  ".join(f"#{c['id']} {c['method']} {c['path']} -> {c['caller_status']}: {c['verdict']}"
                            for c in found) or "(no call at all)"
        target = f" of order {_order_id(order)}" if order else ""
        raise AssertionError(f"no gateway call{target} with outcome {outcome!r} within {timeout:g} s; calls:\n  {lines}")

    async def wait_for_state(self, order: OrderRef, state: str, timeout: float = 10.0) -> dict[str, Any]:
        """The order's instance once it is in ``state`` (``active``, ``frozen``, ``released``...)."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while True:
            await self.settle()
            instance = await self.instance(order)
            if instance["state"] == state:
                return instance
            clock = await self.request("GET", "/clock")
            if clock["mode"] == "manual" or loop.time() >= deadline:
                raise AssertionError(
                    f"instance {instance['key']} is {instance['state']}"
                    f"{' (' + instance['frozen_reason'] + ')' if instance.get('frozen_reason') else ''}, "
                    f"not {state} (emulator clock {clock['now']}; next event: {instance.get('next_event')} "
                    f"at {instance.get('next_event_at')})")
            await asyncio.sleep(0.05)

    # -- clock and reset ------------------------------------------------------------------
    async def settle(self) -> None:
        """Run everything that is due now, and return when it has run."""
        await self.request("POST", "/clock/advance", {})

    async def advance(self, *, days: float = 0, hours: float = 0, minutes: float = 0, seconds: float = 0) -> datetime:
        body = {"days": days, "hours": hours, "minutes": minutes, "seconds": seconds}
        return _time((await self.request("POST", "/clock/advance", body))["now"])

    async def advance_to(self, moment: datetime) -> datetime:
        return _time((await self.request("POST", "/clock/advance", {"to": moment.isoformat()}))["now"])

    async def now(self) -> datetime:
        return _time((await self.request("GET", "/clock"))["now"])

    async def set_clock(self, mode: str, speed: Optional[float] = None) -> None:
        await self.request("PUT", "/clock", {"mode": mode, **({"speed": speed} if speed else {})})

    async def reset(self) -> None:
        await self.request("POST", "/reset")

    async def run_scenario(self, name: str) -> dict[str, Any]:
        return await self.request("POST", f"/scenarios/{name}/run")

    # -- certification --------------------------------------------------------------------
    async def certify(self, merchant_url: str, key: str, family: str = "saas_v2_slim", **options: Any
                      ) -> dict[str, Any]:
        """Run the certification battery against ``merchant_url`` (on a throw-away emulator of its own,
        so this one's clock and traffic are untouched); the report, with ``passed`` and ``cases``.
        ``options``: ``kit_key``, ``public_key``, ``signature_hex_case``."""
        return await self.request("POST", "/certify", {"merchant_url": merchant_url, "key": key, "family": family,
                                                        **options})

    # -- License 2.0 ----------------------------------------------------------------------
    async def license_codes(self, merchant_id: Optional[str] = None) -> list[dict[str, Any]]:
        """Authorization codes: test codes and the licences of License orders (with their ``instance``)."""
        return (await self.request("GET", "/license-codes", params={"merchant_id": merchant_id}))["license_codes"]

    async def request_license_async(self, order: OrderRef, device_fingerprint: Optional[str] = None) -> Delivery:
        """Send getLicenseAsync for the order's instance; returns its delivery once sent."""
        sent = await self.request("POST", f"/orders/{_order_id(order)}/license-async",
                                  {"device_fingerprint": device_fingerprint} if device_fingerprint else {})
        await self.settle()
        return await self.delivery(sent["id"])

    async def deliver_license(self, order: OrderRef, license: str) -> dict[str, Any]:
        """Deliver an exhausted License purchase by hand with ``license`` as its code."""
        return await self.request("POST", f"/orders/{_order_id(order)}/deliver-license", {"license": license})

    # -- joint-operation enterprises and kit syncs -----------------------------------------
    async def bind_enterprise(self, order: OrderRef, name: str, **fields: Any) -> dict[str, Any]:
        """Bind the app of ``order`` to a new enterprise and run the kit chain; returns the
        enterprise with its chain once the calls due now were sent (``departments``, ``users``,
        ``client_id``, ``tenant_id``, ``tenant_code`` as in the control API)."""
        created = await self.request("POST", "/kit/tenants", {"order_id": _order_id(order), "name": name, **fields})
        await self.settle()
        return await self.enterprise(created["tenant_id"])

    async def enterprise(self, tenant_id: str) -> dict[str, Any]:
        return await self.request("GET", f"/kit/tenants/{tenant_id}")

    async def resend_kit_step(self, tenant_id: str, step: str) -> dict[str, Any]:
        """Re-send the failed step of an enterprise's bind chain; the chain goes on when it succeeds."""
        await self.request("POST", f"/kit/tenants/{tenant_id}/resend", {"step": step})
        await self.settle()
        return await self.enterprise(tenant_id)

    async def repeat_kit_call(self, delivery: Union[int, Delivery]) -> Delivery:
        """Send a succeeded kit call's body again; the returned delivery says whether the merchant
        answered 000000 again (idempotency)."""
        delivery_id = delivery.id if isinstance(delivery, Delivery) else delivery
        repeat = await self.request("POST", f"/kit/calls/{delivery_id}/repeat")
        await self.settle()
        return await self.delivery(repeat["id"])

    async def run_credential_flow(self, client_id: str) -> dict[str, Any]:
        created = await self.request("POST", "/kit/credential-flow", {"client_id": client_id})
        await self.settle()
        return await self.enterprise(created["tenant_id"])
