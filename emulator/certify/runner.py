"""Runs the certification battery against a merchant's interface.

The run has its own throw-away emulator (in-memory store, manual clock, no demo data), so it
disturbs neither the shared clock nor any other merchant's traffic. Lifecycle cases drive one
periodic order through that emulator, whose own verdicts (§8) decide them; the idempotency and
negative probes send real signed HTTP built here. Every case keeps the requests and replies it
was decided on, for the reports.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from typing import TYPE_CHECKING, Any, Awaitable, Callable, Optional

import aiohttp

from ..jsonbody import BadJson, decode_json
from ..marketplace.inputs import POLICY_NAMES
from ..protocol.canonical import canonical_body
from ..protocol.signing import append_query, basic_signature, basic_signed_query, new_nonce, wall_clock_ms
from ..settings import load_settings
from ..testing.client import Delivery, SandboxClient, SandboxError
from .battery import SLIM, Case, cases_for

if TYPE_CHECKING:
    from ..oauth.service import OAuth
    from .inputs import CertifyInput
    from .login import LoginTarget

PASSED, FAILED, SKIPPED = "passed", "failed", "skipped"
MERCHANT, PRODUCT = "certified", "certified-monthly"
STALE_MS = 10 * 60 * 1000
TIMEOUT_S = 5.0


@dataclass
class CaseResult:
    case: Case
    outcome: str
    detail: str
    exchanges: list[dict[str, Any]] = field(default_factory=list)  # {"request": {...}, "response": {...}}


@dataclass
class Report:
    target: str
    family: str
    started: datetime
    finished: datetime
    results: list[CaseResult]

    @property
    def passed(self) -> bool:
        """No required case failed (recommended ones may; a case skipped for want of its inputs, such
        as the kit syncs without a kit key, is reported as skipped)."""
        return not any(r.outcome == FAILED for r in self.results if r.case.required)

    def counts(self) -> dict[str, int]:
        found = {PASSED: 0, FAILED: 0, SKIPPED: 0}
        for result in self.results:
            found[result.outcome] += 1
        return found


async def certify(merchant_url: str, key: str, family: str = SLIM, kit_key: Optional[str] = None,
                  signature_hex_case: str = "upper", public_key: Optional[str] = None,
                  login: Optional["LoginTarget"] = None) -> Report:
    """Run every case of ``family`` against ``merchant_url`` (signed with ``key``) and report; with
    ``login``, the unified-login cases of that web app follow (emulator.certify.login)."""
    from ..app import EmulatorServer  # the server imports this module's routes

    started = datetime.now(timezone.utc)
    settings = load_settings(environ={}, port=0, database=":memory:", clock_mode="manual", seed_demo=False,
                             demo_merchant=False, dialtest_enabled=False, log_level="WARNING")
    server = EmulatorServer(settings)
    await server.start()
    try:
        async with SandboxClient(server.url) as client, aiohttp.ClientSession() as http:
            run = _Run(client, http, merchant_url, key, family, signature_hex_case)
            await run.set_up(kit_key, public_key)
            results = [await run.decide(case) for case in cases_for(family)]
    finally:
        await server.stop()
    if login is not None:
        from .login import certify_login

        results += await certify_login(login)
    return Report(merchant_url, family, started, datetime.now(timezone.utc), results)


async def certify_input(data: "CertifyInput", oauth: Optional["OAuth"] = None, base_url: Optional[str] = None
                        ) -> Report:
    """A run as the command line, the control API and the console ask for it; the login checks need
    the OAuth service and the base URL of the emulator the app logs in with."""
    login = None
    if data.client_id or data.login_start:
        from .login import LoginTarget

        login = LoginTarget(data.client_id, data.login_start, data.login_user, oauth, base_url)
    return await certify(data.merchant_url, data.key, data.family, data.kit_key, data.signature_hex_case,
                         data.public_key, login)


@dataclass(frozen=True)
class _Decided:
    outcome: str
    detail: str
    exchanges: list[dict[str, Any]]


Check = Callable[[], Awaitable[_Decided]]


class _Run:
    def __init__(self, client: SandboxClient, http: aiohttp.ClientSession, url: str, key: str, family: str,
                 hex_case: str) -> None:
        self.client, self.http, self.url, self.key, self.family = client, http, url, key, family
        self.upper = hex_case == "upper"
        self.order_id: Optional[str] = None
        self.purchase: Optional[Delivery] = None
        self.instance_id: Optional[str] = None
        self.kit_ready = False
        self.chain: list[dict[str, Any]] = []

    async def set_up(self, kit_key: Optional[str], public_key: Optional[str]) -> None:
        """The merchant under test, with one attempt per call so that a failure is decided at once."""
        once = {name: {"attempts": 1, "interval_s": 0} for name in POLICY_NAMES if name != "query_poll"}
        await self.client.create_merchant(
            id=MERCHANT, name="Merchant under certification", production_url=self.url, access_key=self.key,
            family=self.family, signature_hex_case="upper" if self.upper else "lower", retry_overrides=once,
            **({"kit_key": kit_key} if kit_key else {}))
        await self.client.create_product(code=PRODUCT, merchant_id=MERCHANT, name="Certification, monthly",
                                         charging_mode="PERIOD", period_type="month", upgradable=True,
                                         price="10", grace_days=1, retention_days=1)
        if kit_key and public_key:
            await self.client.request("POST", "/oauth/apps", {
                "merchant_id": MERCHANT, "name": "Certification app", "login_url": "https://merchant.example.com/sso",
                "public_key": public_key})
            self.kit_ready = True

    async def decide(self, case: Case) -> CaseResult:
        check: Optional[Check] = getattr(self, "_" + case.id.replace(".", "_"), None)
        assert check is not None, f"no check for case {case.id}"
        needs_purchase = case.id != "lifecycle.purchase" and case.group != "timing"
        if needs_purchase and self.instance_id is None:
            return CaseResult(case, SKIPPED, "not run: the purchase was not acknowledged, so there is no instance")
        try:
            decided = await check()
        except SandboxError as refused:  # the emulator refused a step: the case cannot be decided as planned
            return CaseResult(case, FAILED, f"the step was refused: {refused}")
        return CaseResult(case, decided.outcome, decided.detail, decided.exchanges)

    # -- the lifecycle, decided by the emulator's own verdicts ------------------------------
    async def _lifecycle_purchase(self) -> _Decided:
        order = await self.client.buy(PRODUCT, months=1, linear_value=1)
        self.order_id = order.order_id
        await self.client.settle()
        self.purchase = await self.client.delivery((await self._calls())[0].id)
        self.instance_id = (await self.client.instance(order)).get("instance_id")
        return await self._judged(self.purchase)

    async def _lifecycle_ready(self) -> _Decided:
        await self.client.advance(hours=3, minutes=1)
        polls = [d for d in await self._calls() if d.activity == "queryInstance"]
        if not polls:
            return self._result(FAILED, "no queryInstance poll was sent")
        return await self._judged(polls[-1])

    async def _lifecycle_renewal(self) -> _Decided:
        return await self._after(lambda: self.client.renew(self.order_id or "", 1))

    async def _lifecycle_upgrade(self) -> _Decided:
        return await self._after(lambda: self.client.upgrade(self.order_id or "", linear_value=2))

    async def _lifecycle_expiry(self) -> _Decided:
        instance = await self.client.instance(self.order_id or "")
        return await self._after(lambda: self.client.advance_to(_parse(instance["expire_at"]) + timedelta(minutes=1)))

    async def _lifecycle_unfreeze(self) -> _Decided:
        """Renewed in grace: the second call it causes (after refreshInstance) is the UNFREEZE."""
        return await self._after(lambda: self.client.renew(self.order_id or "", 1), index=1)

    async def _lifecycle_release(self) -> _Decided:
        instance = await self.client.instance(self.order_id or "")
        if instance["state"] != "released":
            await self.client.release(self.order_id or "")
            await self.client.settle()
        releases = [d for d in await self._calls() if d.activity.startswith("release")]
        return await self._judged(releases[-1]) if releases else self._result(FAILED, "no release call was sent")

    # -- idempotency ---------------------------------------------------------------------
    async def _idempotency_new_business_id(self) -> _Decided:
        assert self.purchase is not None
        resent = await self.client.restart(self.purchase)
        last = resent.attempts[-1]
        if last.passed:
            return self._result(PASSED, "the resend with a new businessId got the same instanceId",
                                _attempt_exchange(last))
        return self._result(FAILED, last.verdict or "the resend failed", _attempt_exchange(last))

    async def _idempotency_identical_body(self) -> _Decided:
        body = self._purchase_body()
        reply, exchange = await self._send(body)
        if reply.get("resultCode") != "000000":
            return self._result(FAILED, f"the identical body got resultCode {reply.get('resultCode')!r}, "
                                "not \"000000\" (§4 R1)", exchange)
        if reply.get("instanceId") != self.instance_id:
            return self._result(FAILED, f"the identical body got instanceId {reply.get('instanceId')!r}, expected "
                                f"{self.instance_id!r} (§4 R1)", exchange)
        return self._result(PASSED, "answered 000000 with the same instanceId", exchange)

    async def _idempotency_release_twice(self) -> _Decided:
        releases = [d for d in await self._calls() if d.activity.startswith("release")]
        if not releases:
            return self._result(FAILED, "no release call to repeat")
        again = (await self.client.restart(releases[-1])).attempts[-1]
        outcome = PASSED if again.passed else FAILED
        return self._result(outcome, "answered 000000 again" if again.passed else (again.verdict or "failed"),
                            _attempt_exchange(again))

    # -- requests a correct merchant refuses (or accepts) ---------------------------------
    async def _negative_wrong_signature(self) -> _Decided:
        return await self._refused(self._purchase_body(), tamper="signature")

    async def _negative_stale_timestamp(self) -> _Decided:
        return await self._refused(self._purchase_body(), tamper="stale")

    async def _negative_replayed_nonce(self) -> _Decided:
        body = self._purchase_body()
        timestamp, nonce = wall_clock_ms(), new_nonce()
        first, exchange_1 = await self._send(body, timestamp=timestamp, nonce=nonce)
        second, exchange_2 = await self._send(body, timestamp=timestamp, nonce=nonce)
        if second.get("resultCode") == "000000":
            return self._result(FAILED, "the same request (same nonce and timestamp) was accepted twice; caching "
                                "nonces within the 60 s window protects against replays (§2a)",
                                exchange_1 + exchange_2)
        return self._result(PASSED, f"the replay was refused with {second.get('resultCode')!r}",
                            exchange_1 + exchange_2)

    async def _negative_unknown_activity(self) -> _Decided:
        body = {**decode_json(self._purchase_body()), "activity": "certificationUnknownActivity"}
        return await self._refused(canonical_body(body))

    async def _negative_extra_fields(self) -> _Decided:
        body = canonical_body({**decode_json(self._purchase_body()), "certificationExtraField": "ignore me"})
        reply, exchange = await self._send(body)
        if reply.get("resultCode") == "000000":
            return self._result(PASSED, "the unknown member was ignored", exchange)
        return self._result(FAILED, f"a body with one unknown member got resultCode {reply.get('resultCode')!r}; "
                            "unknown members must be ignored", exchange)

    # -- kit syncs ------------------------------------------------------------------------
    async def _kit_bind_chain(self) -> _Decided:
        if not self.kit_ready:
            return self._result(SKIPPED, "not run: give the kit key and the login application's RSA public key "
                                "(--kit-key, --public-key) to certify the kit syncs")
        bound = await self.client.bind_enterprise(self.order_id or "", "Certification enterprise")
        self.chain = bound["chain"]
        exchanges = [_attempt_exchange(a) for step in self.chain
                     for a in (await self.client.delivery(step["delivery_id"])).attempts]
        failed = [f"{s['step']}: {s['verdict'] or s['state']}" for s in self.chain if s["state"] != "succeeded"]
        if failed:
            return self._result(FAILED, "; ".join(failed), exchanges)
        return self._result(PASSED, "all four kit syncs answered 000000", exchanges)

    async def _kit_repeat(self) -> _Decided:
        if not self.chain or self.chain[0]["state"] != "succeeded":
            return self._result(SKIPPED, "not run: the bind chain did not succeed")
        repeated = await self.client.repeat_kit_call(self.chain[0]["delivery_id"])
        exchanges = [_attempt_exchange(a) for a in repeated.attempts]
        outcome = PASSED if repeated.status == "succeeded" else FAILED
        return self._result(outcome, f"tenantSync repeated: {repeated.last_verdict or repeated.status}", exchanges)

    # -- timing -----------------------------------------------------------------------------
    async def _timing_within_5s(self) -> _Decided:
        slow = []
        for delivery in await self._calls():
            log = (await self.client.request("GET", f"/deliveries/{delivery.id}"))["attempt_log"]
            for attempt in log:
                if attempt["error"] == "timeout" or (attempt["elapsed_ms"] or 0) >= TIMEOUT_S * 1000:
                    slow.append(f"{delivery.activity} attempt {attempt['number']}: "
                                f"{attempt['error'] or str(round(attempt['elapsed_ms'])) + ' ms'}")
        if slow:
            return self._result(FAILED, "replies slower than 5 s: " + "; ".join(slow[:5]))
        return self._result(PASSED, "every reply arrived within 5 s")

    # -- helpers ---------------------------------------------------------------------------
    async def _calls(self) -> list[Delivery]:
        return await self.client.deliveries(self.order_id) if self.order_id else []

    async def _after(self, action: Callable[[], Awaitable[Any]], index: int = -1) -> _Decided:
        """Do ``action``; the call it caused at ``index`` (the newest by default) decides the case."""
        before = {d.id for d in await self._calls()}
        await action()
        await self.client.settle()
        caused = [d for d in await self._calls() if d.id not in before]
        if not caused or index >= len(caused):
            return self._result(FAILED, "the emulator sent no call for this step")
        return await self._judged(caused[index])

    async def _judged(self, delivery: Delivery) -> _Decided:
        """The emulator's own verdict on the call (§8), with its attempts."""
        full = await self.client.delivery(delivery.id)
        outcome = PASSED if full.status == "succeeded" else FAILED
        return self._result(outcome, f"{full.activity}: {full.last_verdict or full.status}",
                            [_attempt_exchange(a) for a in full.attempts])

    @staticmethod
    def _result(outcome: str, detail: str, exchanges: Any = ()) -> _Decided:
        return _Decided(outcome, detail, [exchanges] if isinstance(exchanges, dict) else list(exchanges))

    def _purchase_body(self) -> bytes:
        """The body of the first purchase attempt, as the merchant acknowledged it."""
        assert self.purchase is not None
        attempts = self.purchase.attempts
        return (attempts[0].request.get("body") or "").encode("utf-8") if attempts else b"{}"

    async def _refused(self, body: bytes, tamper: Optional[str] = None) -> _Decided:
        reply, exchange = await self._send(body, tamper=tamper)
        code = reply.get("resultCode")
        if code == "000000":
            return self._result(FAILED, "the request was accepted with 000000; it must be refused", exchange)
        return self._result(PASSED, f"refused with resultCode {code!r}", exchange)

    async def _send(self, body: bytes, tamper: Optional[str] = None, timestamp: Optional[str] = None,
                    nonce: Optional[str] = None) -> tuple[dict[str, Any], list[dict[str, Any]]]:
        """POST ``body`` signed per §2a (``tamper``: a wrong signature, or a stale timestamp)."""
        timestamp = timestamp or wall_clock_ms()
        if tamper == "stale":
            timestamp = str(int(timestamp) - STALE_MS)
        nonce = nonce or new_nonce()
        signature = basic_signature(self.key, nonce, timestamp, body, upper=self.upper)
        if tamper == "signature":
            signature = signature[::-1]
        url = append_query(self.url, basic_signed_query(signature, timestamp, nonce))
        headers = {"Content-Type": "application/json;charset=utf8", "Accept": "application/json"}
        request = {"method": "POST", "url": url, "headers": headers, "body": body.decode("utf-8", "replace")}
        started = time.perf_counter()
        try:
            async with self.http.post(url, data=body, headers=headers, allow_redirects=False,
                                      timeout=aiohttp.ClientTimeout(total=TIMEOUT_S)) as response:
                raw = await response.read()
                answer = {"status": response.status, "headers": dict(response.headers),
                          "body": raw.decode("utf-8", "replace"),
                          "elapsed_ms": round((time.perf_counter() - started) * 1000, 2)}
        except (aiohttp.ClientError, OSError, TimeoutError) as exc:
            return {}, [{"request": request, "response": None, "error": str(exc) or type(exc).__name__}]
        try:
            parsed = decode_json(raw)
        except BadJson:
            parsed = None
        return (parsed if isinstance(parsed, dict) else {}), [{"request": request, "response": answer}]


def _attempt_exchange(attempt: Any) -> dict[str, Any]:
    return {"request": attempt.request, "response": attempt.response, "verdict": attempt.verdict}


def _parse(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00")).replace(tzinfo=None)
