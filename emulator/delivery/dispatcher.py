"""Sends attempts of deliveries: claim, build the body, sign it, POST it, judge and record the reply.

A delivery is claimed and its attempt written (state ``sending``) in one transaction before the
request leaves (``claims``), and completed after the reply is judged, so a crash in between
leaves evidence: the attempt is marked ``interrupted`` when its lease is taken over, and the slot
is sent again. Replies are recorded by one writer that takes whatever has arrived in one
transaction (group commit), so no request waits for another to finish.

A merchant's outbound faults (``faults``) add extra attempts around the real one (probes before
it, a duplicate after it), written, sent and recorded with it; they never use a slot of the
schedule and never decide the delivery.
"""

from __future__ import annotations

import asyncio
import logging
import time
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import Any, Awaitable, Callable, Optional, Sequence

import aiohttp
from yarl import URL
from sqlalchemy import insert, or_
from sqlmodel import Session, col, select, update

from ..clock import Clock, wall_now
from ..marketplace.callbacks import CallbackKind
from ..protocol.families import ReplyRules, reply_rules
from ..protocol.outbound import SignedRequest, signed_request
from ..store import Store
from ..store.tables import Attempt, Delivery, InboundCall, Instance, LicenseCode, Merchant, Order
from . import faults
from .claims import INTERRUPTED, ClaimRequest, Claimed, claim, dead_owners, new_owner, release
from .policies import RetryPolicy
from .verdicts import Expectations, Reply, Verdict, judge

log = logging.getLogger(__name__)

MAX_REPLY_BYTES = 1 << 20
LEASE_MARGIN_S = 5.0  # a lease lasts twice the attempt timeout plus this (sending, then recording)

_Sent = tuple[Reply, dict[str, str], float, dict[str, str]]  # reply, request headers, ms, reply headers
Reaction = Callable[[str, Any, Delivery, Verdict, datetime], None]


@dataclass(frozen=True)
class Outcome:
    delivery_id: int
    attempt_id: Optional[int]
    passed: bool
    summary: str
    instance_id: Optional[str] = None
    spawned: tuple[int, ...] = ()  # deliveries the replies of its batch created or released


@dataclass(frozen=True)
class _Prepared:
    delivery_id: int
    merchant_id: str
    attempt_id: int
    method: str
    url: str
    headers: dict[str, str]
    body: bytes
    expect: Expectations
    fault: Optional[str] = None
    hold_s: float = 0.0  # slow_send: real seconds before the request leaves
    before: tuple["_Prepared", ...] = ()  # faulted extra attempts sent first (probes)
    after: tuple["_Prepared", ...] = ()  # faulted extra attempts sent next (a duplicate)
    of: Optional[int] = None  # a faulted extra attempt: the real attempt it goes with

    def sequence(self) -> tuple["_Prepared", ...]:
        """Every request of this attempt, in sending order."""
        return (*self.before, self, *self.after)


class Dispatcher:
    def __init__(self, store: Store, clock: Clock, react: Reaction, timeout_s: float = 5.0) -> None:
        self.store = store
        self.clock = clock
        self.react = react
        self.timeout_s = timeout_s
        self.owner = new_owner()
        self.listeners: list[Callable[[int], None]] = []
        self.before_record: list[Callable[[], Awaitable[None]]] = []  # e.g. flush the open-API journal
        self._http: Optional[aiohttp.ClientSession] = None
        self._to_record: list[tuple[_Prepared, list[tuple[_Prepared, _Sent]], asyncio.Future[Outcome]]] = []
        self._recorder: Optional[asyncio.Task[None]] = None
        self._abandoning: set[asyncio.Task[None]] = set()
        self._dead: list[str] = []

    async def start(self) -> None:
        connector = aiohttp.TCPConnector(limit=256, limit_per_host=0, ttl_dns_cache=60)
        self._http = aiohttp.ClientSession(connector=connector, auto_decompress=True)

    async def close(self) -> None:
        if self._http is not None:
            await self._http.close()

    async def quiet(self) -> None:
        """Wait until every reply handed to the recorder, and every abandoned claim, is written."""
        while (self._recorder is not None and not self._recorder.done()) or self._abandoning:
            await asyncio.wait([t for t in (self._recorder, *self._abandoning) if t is not None and not t.done()])

    async def attempt(self, delivery_id: int) -> Optional[Outcome]:
        """Run one attempt of this delivery now, whatever its schedule, unless it is closed or
        another sender holds it."""
        outcomes = await self.attempt_many([delivery_id])
        return outcomes[0] if outcomes else None

    async def attempt_many(self, delivery_ids: Sequence[int]) -> list[Outcome]:
        prepared = await self.claim(ClaimRequest(limit=len(delivery_ids), ids=list(dict.fromkeys(delivery_ids))))
        return await self.send(prepared)

    async def claim(self, request: ClaimRequest) -> list[_Prepared]:
        """Claim deliveries and write their attempts, in one transaction."""
        now, wall = self.clock.now(), wall_now()
        lease_until = wall + timedelta(seconds=2 * self.timeout_s + LEASE_MARGIN_S)

        def work(session: Session) -> list[_Prepared]:
            claimed = claim(session, request, self.owner, wall, lease_until, self._dead)
            return self._prepare_in(session, claimed, now, wall)

        return await self.store.run_write(work)

    async def send(self, prepared: Sequence[_Prepared]) -> list[Outcome]:
        """POST each prepared attempt (side by side) and wait until its reply is recorded."""
        if not prepared:
            return []
        return list(await asyncio.gather(*(self._send_one(p) for p in prepared)))

    async def _send_one(self, prepared: _Prepared) -> Outcome:
        sent: list[tuple[_Prepared, _Sent]] = []
        try:
            for item in prepared.sequence():
                sent.append((item, await self._post(item)))
        except asyncio.CancelledError:
            # Abandoned (reset, shutdown): free the claim now instead of when the lease expires.
            task = asyncio.get_running_loop().create_task(self._abandon(prepared))
            self._abandoning.add(task)
            task.add_done_callback(self._abandoning.discard)
            raise
        future: asyncio.Future[Outcome] = asyncio.get_running_loop().create_future()
        self._to_record.append((prepared, sent, future))
        if self._recorder is None or self._recorder.done():
            self._recorder = asyncio.get_running_loop().create_task(self._record_arrived())
        return await future

    async def _abandon(self, prepared: _Prepared) -> None:
        def work(session: Session) -> None:
            ids = [item.attempt_id for item in prepared.sequence()]
            session.exec(update(Attempt).where(col(Attempt.id).in_(ids), Attempt.state == "sending")
                         .values(state="interrupted", passed=False, failures=[INTERRUPTED]))
            session.exec(update(Delivery).where(Delivery.id == prepared.delivery_id,
                                                Delivery.lease_owner == self.owner)
                         .values(lease_owner=None, lease_until=None))

        try:
            await self.store.run_write(work)
        except Exception:  # the store is gone (shutdown): the lease simply expires
            log.debug("could not free the claim of delivery %s", prepared.delivery_id, exc_info=True)

    async def _record_arrived(self) -> None:
        """Record every reply that has arrived, one transaction per batch, until none is left."""
        while self._to_record:
            batch, self._to_record = self._to_record, []
            try:
                outcomes = await self._record([item for _p, sent, _f in batch for item in sent])
            except Exception as exc:  # the leases stay; the slots are taken over when they expire
                log.exception("recording %d replies failed", len(batch))
                for _p, _sent, future in batch:
                    if not future.done():
                        future.set_exception(exc)
                continue
            by_attempt = {o.attempt_id: o for o in outcomes}
            for prepared, _sent, future in batch:
                if not future.done():
                    future.set_result(by_attempt[prepared.attempt_id])
            for outcome in outcomes:
                for listener in self.listeners:
                    listener(outcome.delivery_id)

    # -- phase 1: write the attempts before sending ----------------------------------------
    def _prepare_in(self, session: Session, claimed: Sequence[Claimed], now: datetime, now_wall: datetime
                    ) -> list[_Prepared]:
        if not claimed:
            return []
        merchants = {m.id: m for m in session.exec(
            select(Merchant).where(col(Merchant.id).in_({c.merchant_id for c in claimed}))
        ).all()}
        rules = {c.id: reply_rules(c.family, merchants[c.merchant_id], c.activity, c.kind) for c in claimed}
        known, licences = _known_purchases(session, [c for c in claimed if rules[c.id].purchase],
                                           [c for c in claimed if rules[c.id].license_field])
        plans = {c.id: _plan(c, merchants[c.merchant_id]) for c in claimed}
        built = [self._build(c, merchants[c.merchant_id], plans[c.id], now, now_wall) for c in claimed]
        # One executemany INSERT … RETURNING instead of an ORM object and a flush per attempt.
        returning = insert(Attempt).returning(Attempt.delivery_id, Attempt.number, Attempt.id)  # type: ignore[arg-type]
        rows = [row for group in built for row, _request in group]
        attempt_ids = {(d, n): i for d, n, i in session.execute(returning, rows).all()}
        self._make_room(session, plans, now_wall)
        return [_group(c, group, attempt_ids, plans[c.id], _expectations(c, rules[c.id], known, licences))
                for c, group in zip(claimed, built)]

    @staticmethod
    def _build(claimed: Claimed, merchant: Merchant, plan: faults.Plan, now: datetime, now_wall: datetime
               ) -> list[tuple[dict[str, Any], SignedRequest]]:
        """The rows of the delivery's next attempt (already counted by the claim) and of its faulted
        extras, in sending order, signed and ``sending``."""
        def sign() -> SignedRequest:
            return signed_request(merchant, claimed.family, claimed.activity, claimed.params, claimed.test_flag,
                                  claimed.kind)

        request = sign()
        own = ((claimed.fault,) if claimed.fault else ()) + plan.own
        requests = [*((faults.probe(sign(), kind, merchant), kind) for kind in plan.probes),
                    (request, faults.label(own)),
                    *((faults.duplicate(request, merchant), kind) for kind in plan.repeats)]
        return [(_row(claimed, r, claimed.attempt_count + n, fault, now, now_wall), r)
                for n, (r, fault) in enumerate(requests)]

    def _make_room(self, session: Session, plans: dict[int, faults.Plan], now_wall: datetime) -> None:
        """Count the faulted extras among the deliveries' attempts, and lengthen their leases to cover them."""
        for delivery_id, plan in plans.items():
            if plan.extra or plan.hold_s:
                lease_s = (2 + plan.extra) * self.timeout_s + plan.hold_s + LEASE_MARGIN_S
                session.exec(update(Delivery).where(col(Delivery.id) == delivery_id).values(
                    attempt_count=col(Delivery.attempt_count) + plan.extra,
                    lease_until=now_wall + timedelta(seconds=lease_s)))

    # -- phase 2: the HTTP request ---------------------------------------------------------
    async def _post(self, prepared: _Prepared) -> _Sent:
        assert self._http is not None, "dispatcher not started"
        sent_headers = dict(prepared.headers)
        started = time.perf_counter()
        if prepared.hold_s:  # slow_send: the attempt's time includes the hold; the reply still has the full timeout
            await asyncio.sleep(prepared.hold_s)
        # ceil_threshold: aiohttp rounds longer deadlines up to a whole second; the 5 s are exact here.
        timeout = aiohttp.ClientTimeout(total=self.timeout_s, ceil_threshold=self.timeout_s + 1)
        try:
            async with self._http.request(prepared.method, _as_sent(prepared.url), data=prepared.body or None,
                                          headers=prepared.headers, allow_redirects=False,
                                          timeout=timeout) as response:
                body = await read_at_most(response.content, MAX_REPLY_BYTES)
                sent_headers = dict(response.request_info.headers)
                elapsed = (time.perf_counter() - started) * 1000
                raw = tuple((k.decode("latin-1"), v.decode("latin-1")) for k, v in response.raw_headers)
                return (Reply(status=response.status, body=body, timeout_s=self.timeout_s, raw_headers=raw),
                        sent_headers, elapsed, dict(response.headers))
        except asyncio.TimeoutError:
            reply = Reply(timed_out=True, timeout_s=self.timeout_s)
        except aiohttp.InvalidURL as exc:
            reply = Reply(transport_error=f"invalid production URL {exc}")
        except (aiohttp.ClientError, OSError) as exc:
            reply = Reply(transport_error=_describe(exc))
        return reply, sent_headers, (time.perf_counter() - started) * 1000, {}

    # -- phase 3: judge, record, schedule what comes next ----------------------------------
    async def _record(self, results: list[tuple[_Prepared, _Sent]]) -> list[Outcome]:
        for hook in self.before_record:
            await hook()
        now = self.clock.now()
        return await self.store.run_write(lambda session: self._record_in(session, results, now))

    def _record_in(self, session: Session, results: list[tuple[_Prepared, _Sent]], now: datetime) -> list[Outcome]:
        ids = [p.delivery_id for p, _ in results]
        deliveries = {d.id: d for d in session.exec(select(Delivery).where(col(Delivery.id).in_(ids))).all()}
        # The attempts' identifying columns only: their rows are then updated in bulk by key.
        attempts = {row.id: row for row in session.exec(
            select(Attempt.id, Attempt.delivery_id, Attempt.state, Attempt.url, Attempt.manual)
            .where(col(Attempt.id).in_([p.attempt_id for p, _ in results]))).all()}
        held = [self._still_ours(p, deliveries, attempts) for p, _sent in results]
        stale = [item for item, ours in zip(results, held) if not ours]
        if stale:  # the store was reset, or the claim was taken over, while the request was out
            log.info("%d replies arrived for claims no longer held; not recorded", len(stale))
            results = [item for item, ours in zip(results, held) if ours]
        # Load what the reactions read in three queries; session.get then finds them in memory (the
        # session's identity map holds rows weakly: ``preloaded`` keeps them alive until the commit).
        keys = {d.instance_key for d in deliveries.values() if d.instance_key}
        instances = session.exec(select(Instance).where(col(Instance.key).in_(keys))).all()
        preloaded = [*instances,
                     *session.exec(select(Order).where(col(Order.id).in_({i.order_id for i in instances}))).all(),
                     *session.exec(select(Merchant).where(
                         col(Merchant.id).in_({d.merchant_id for d in deliveries.values()}))).all()]
        verdicts = _judge_all(results)
        judged = [(deliveries[p.delivery_id], v) for (p, _), v in zip(results, verdicts) if p.of is None]
        self._check_unique(session, judged)
        _warn_without_query_order(session, judged)
        outcomes, replies = [], []
        finished: dict[int, str] = {}
        with session.no_autoflush:
            for (prepared, (reply, sent_headers, elapsed_ms, response_headers)), verdict in zip(results, verdicts):
                delivery, manual = deliveries[prepared.delivery_id], attempts[prepared.attempt_id].manual
                replies.append({
                    "id": prepared.attempt_id, "state": "done", "request_headers": sent_headers,
                    "response_status": reply.status, "response_headers": response_headers,
                    "response_body": reply.body.decode("utf-8", errors="replace") if reply.status is not None else None,
                    "elapsed_ms": round(elapsed_ms, 2),
                    "error": reply.transport_error or ("timeout" if reply.timed_out else None),
                    "passed": verdict.passed, "failures": verdict.failures, "warnings": verdict.warnings,
                })
                if prepared.of is not None:  # a faulted extra: recorded, never deciding the delivery
                    continue
                delivery.last_verdict = verdict.summary
                release(delivery)
                if delivery.status == "scheduled":  # not cancelled while the request was out
                    self._advance(session, delivery, verdict, now, manual)
                    if delivery.status in ("succeeded", "exhausted"):
                        finished[_id(delivery)] = delivery.status
                elif verdict.passed and delivery.on_success == "purchase_delivered":
                    # cancelled (unsubscribed) while out, yet the merchant provisioned: it must release
                    self.react("late_purchase", session, delivery, verdict, now)
                session.add(delivery)
                outcomes.append(Outcome(prepared.delivery_id, prepared.attempt_id, verdict.passed, verdict.summary,
                                        verdict.instance_id))
        created = [o for o in session.new if isinstance(o, Delivery)]  # before a query flushes them
        released = release_dependents(session, finished, now)
        if replies:
            session.execute(update(Attempt), replies)  # one executemany, by primary key
        session.flush()
        del preloaded
        spawned = tuple(sorted({_id(d) for d in created} | set(released)))
        return [replace(o, spawned=spawned) for o in outcomes] + [
            Outcome(p.delivery_id, p.attempt_id, False, "not recorded: the claim was no longer held") for p, _ in stale]

    def _still_ours(self, prepared: _Prepared, deliveries: dict[Any, Delivery], attempts: dict[Any, Any]) -> bool:
        """The attempt is the one this request wrote (same signed URL: a fresh nonce each time), it is
        still ``sending``, and this sender still holds the delivery's claim."""
        delivery, attempt = deliveries.get(prepared.delivery_id), attempts.get(prepared.attempt_id)
        return (delivery is not None and attempt is not None and attempt.delivery_id == delivery.id
                and attempt.state == "sending" and attempt.url == prepared.url and delivery.lease_owner == self.owner)

    def _advance(self, session: Session, delivery: Delivery, verdict: Verdict, now: datetime, manual: bool) -> None:
        if manual:
            delivery.manual_pending = max(0, delivery.manual_pending - 1)
        else:
            delivery.slots_used += 1
        if verdict.passed:
            delivery.status, delivery.next_attempt_at, delivery.finished_at = "succeeded", None, now
            delivery.manual_pending, delivery.resent_after_success = 0, False
            if delivery.on_success:
                self.react(delivery.on_success, session, delivery, verdict, now)
        else:
            delivery.next_attempt_at = next_due(delivery, now)
            if delivery.next_attempt_at is None and delivery.resent_after_success:
                delivery.status, delivery.finished_at = "succeeded", now  # the resend failed; the delivery had not
                delivery.note = f"a manual resend failed: {verdict.summary}"
            elif delivery.next_attempt_at is None:
                delivery.status, delivery.finished_at = "exhausted", now
                if delivery.on_exhaust:
                    self.react(delivery.on_exhaust, session, delivery, verdict, now)

    @staticmethod
    def _check_unique(session: Session, judged: list[tuple[Delivery, Verdict]]) -> None:
        """I2: an instanceId returned for one order line must not be bound to another."""
        candidates = [(d, v) for d, v in judged if v.passed and d.on_success == "purchase_delivered" and v.instance_id]
        if not candidates:
            return
        bound = (session.exec(select(Instance.instance_id, Instance.key).where(
            col(Instance.merchant_id).in_({d.merchant_id for d, _ in candidates}),
            col(Instance.instance_id).in_({v.instance_id for _, v in candidates}),
        ))).all()
        owners = {(instance_id, key) for instance_id, key in bound}
        for delivery, verdict in candidates:
            other = next((k for i, k in owners if i == verdict.instance_id and k != delivery.instance_key), None)
            if other is not None:
                verdict.fail(f"instanceId not unique: {verdict.instance_id} is already bound to order line {other} "
                             "(PROTOCOL §4 R2, §8 I2)")

    async def notice_dead_senders(self) -> None:
        """Refresh the list of lease holders known to be dead, whose claims are taken over at once."""
        self._dead = await self.store.run_read(lambda session: dead_owners(session))

    async def recover(self) -> int:
        """Free the leases of senders known to be dead (an earlier life of this process, or a
        process of this machine that is gone) and mark their attempts interrupted; their slots
        are sent again. Leases of other machines are taken over when they expire."""

        def work(session: Session) -> int:
            self._dead = dead_owners(session)
            orphaned = select(Delivery.id).where(or_(col(Delivery.lease_owner).is_(None),
                                                     col(Delivery.lease_owner).in_(self._dead)))
            result = session.exec(update(Attempt).where(Attempt.state == "sending",
                                                        col(Attempt.delivery_id).in_(orphaned))
                                  .values(state="interrupted", passed=False, failures=[INTERRUPTED]))
            session.exec(update(Delivery).where(col(Delivery.lease_owner).in_(self._dead))
                         .values(lease_owner=None, lease_until=None))
            return result.rowcount or 0

        return await self.store.run_write(work)


def next_due(delivery: Delivery, now: datetime) -> Optional[datetime]:
    """When the delivery's next attempt is due: a pending manual restart first, then the schedule."""
    if delivery.manual_pending > 0:
        return now
    if delivery.slots_used < delivery.slots_total:
        policy = RetryPolicy(delivery.slots_total, delivery.interval_s, delivery.first_delay_s)
        return policy.slot_time(delivery.schedule_start, delivery.slots_used)
    return None


def _plan(claimed: Claimed, merchant: Merchant) -> faults.Plan:
    """The merchant's faults for this attempt: normal traffic only (no manual restart, no dial test)."""
    if claimed.manual_pending > 0 or claimed.kind in faults.UNFAULTED_KINDS:
        return faults.NO_FAULTS
    return faults.plan(merchant, claimed.id, claimed.attempt_count)


def _row(claimed: Claimed, request: SignedRequest, number: int, fault: Optional[str], now: datetime,
         now_wall: datetime) -> dict[str, Any]:
    return {  # every column given: one shape for the whole executemany
        "delivery_id": claimed.id, "number": number, "manual": claimed.manual_pending > 0,
        "state": "sending", "due_at": claimed.next_attempt_at or now, "sent_at": now, "sent_wall": now_wall,
        "business_id": request.business_id, "method": request.method, "url": request.url,
        "request_headers": request.headers, "request_body": request.body.decode("utf-8"),
        "response_status": None, "response_headers": {}, "response_body": None, "elapsed_ms": None,
        "error": None, "passed": None, "failures": [], "warnings": [], "fault": fault,
    }


def _group(claimed: Claimed, group: list[tuple[dict[str, Any], SignedRequest]], attempt_ids: dict[tuple[int, int], int],
           plan: faults.Plan, expect: Expectations) -> _Prepared:
    """The real attempt to send, with its faulted extras before and after it."""
    items = [_Prepared(claimed.id, claimed.merchant_id, attempt_ids[(claimed.id, row["number"])], r.method, r.url,
                       r.headers, r.body, expect, row["fault"]) for row, r in group]
    main_at = len(plan.probes)
    main = items[main_at]
    extras = [replace(item, of=main.attempt_id) for item in items]
    return replace(main, hold_s=plan.hold_s, before=tuple(extras[:main_at]), after=tuple(extras[main_at + 1:]))


def _judge_all(results: list[tuple[_Prepared, _Sent]]) -> list[Verdict]:
    """Judge each reply; a duplicate must carry its first's instanceId, and a faulted extra is explained."""
    verdicts: dict[int, Verdict] = {}
    for prepared, (reply, *_rest) in results:
        first = verdicts.get(prepared.of or 0) if prepared.fault == faults.DUPLICATE else None
        expect = prepared.expect
        if first is not None and first.passed and first.instance_id and expect.known_instance_id is None:
            expect = replace(expect, known_instance_id=first.instance_id)
        verdict = judge(reply, expect)
        if prepared.of is not None and prepared.fault:
            verdict.warnings.append(faults.explain(prepared.fault, verdict.passed))
        verdicts[prepared.attempt_id] = verdict
    return [verdicts[p.attempt_id] for p, _sent in results]


def _warn_without_query_order(session: Session, judged: list[tuple[Delivery, Verdict]]) -> None:
    """§4 R7: a merchant should read a new order with Query Order before reporting it ready."""
    first_ready = [(d, v, i) for d, v in judged if v.passed and d.kind == CallbackKind.READINESS_POLL
                   and (i := session.get(Instance, d.instance_key)) is not None and not i.ready]
    if not first_ready:
        return
    looked_up = set(session.exec(select(InboundCall.merchant_id, InboundCall.order_id).where(
        col(InboundCall.merchant_id).in_({d.merchant_id for d, _v, _i in first_ready}),
        col(InboundCall.order_id).in_({i.order_id for _d, _v, i in first_ready}),
        InboundCall.api == "query_order", InboundCall.accepted == True,  # noqa: E712
    )).all())
    for delivery, verdict, instance in first_ready:
        if (delivery.merchant_id, instance.order_id) not in looked_up:
            verdict.warnings.append(
                f"the instance is reported ready, but order {instance.order_id} was never read with Query Order: "
                "the marketplace expects a merchant to check each new order (PROTOCOL §4 R7)")


# Policies whose waiting deliveries start only after the one they wait for succeeded: a failed kit
# step stops the bind chain until it is re-sent (PROTOCOL §5); the others follow the platform's
# state, which advances whatever the merchant answered (§9).
NEEDS_SUCCESS_BEFORE = frozenset({"kit"})


def release_dependents(session: Session, finished: dict[int, str], now: datetime) -> list[int]:
    """Start deliveries that waited for these (e.g. UNFREEZE after a renewal in grace, the next
    step of a kit chain); ``finished`` maps each finished delivery to its status."""
    if not finished:
        return []
    waiting = [d for d in session.exec(
        select(Delivery).where(col(Delivery.blocked_by).in_(list(finished)), Delivery.status == "waiting")
    ).all() if d.policy not in NEEDS_SUCCESS_BEFORE or finished[d.blocked_by or 0] == "succeeded"]
    for dependent in waiting:
        dependent.status, dependent.schedule_start = "scheduled", now
        dependent.next_attempt_at = next_due(dependent, now)
        session.add(dependent)
    return [_id(d) for d in waiting]


def _as_sent(url: str) -> str | URL:
    """The URL exactly as signed: an ASCII URL is sent as it is (aiohttp would otherwise decode the
    ``%2F`` and ``%3A`` of a V1 query, §2c); anything else is left to aiohttp to encode."""
    return URL(url, encoded=True) if url.isascii() else url


async def read_at_most(stream: aiohttp.StreamReader, limit: int) -> bytes:
    """The whole body, or its first ``limit`` bytes (one ``read(n)`` returns only what has arrived)."""
    chunks: list[bytes] = []
    size = 0
    while size < limit and (chunk := await stream.read(limit - size)):
        chunks.append(chunk)
        size += len(chunk)
    return b"".join(chunks)


def _known_purchases(session: Session, purchases: Sequence[Claimed], licensed: Sequence[Claimed]
                     ) -> tuple[dict[str, Optional[str]], dict[str, str]]:
    """The instanceId already bound to the instance of each claimed purchase call, and the licence
    of each claimed getLicense (read only when there is one: slim purchases need no such query)."""
    keys = {c.instance_key for c in purchases if c.instance_key}
    bound = dict(session.exec(select(Instance.key, Instance.instance_id).where(
        col(Instance.key).in_(keys))).all()) if keys else {}
    licence_keys = {c.instance_key for c in licensed if c.instance_key}
    licences = session.exec(select(LicenseCode.instance_key, LicenseCode.code).where(
        col(LicenseCode.instance_key).in_(licence_keys))).all() if licence_keys else []
    return bound, {key: code for key, code in licences if key}


def _expectations(claimed: Claimed, rules: ReplyRules, known: dict[str, Optional[str]], licences: dict[str, str]
                  ) -> Expectations:
    key = claimed.instance_key or ""
    return Expectations(
        activity=claimed.activity,
        queried_instance_id=claimed.params.get("instanceId") if claimed.activity == "queryInstance" else None,
        known_instance_id=known.get(key) if rules.purchase else None,
        license_field=rules.license_field,
        known_license=licences.get(key) if rules.license_field else None,
        body_sign_key=rules.body_sign_key,
    )


def _id(row: Delivery | Attempt) -> int:
    assert row.id is not None
    return row.id


def _describe(exc: BaseException) -> str:
    text = str(exc) or type(exc).__name__
    return text if len(text) < 300 else text[:297] + "..."
