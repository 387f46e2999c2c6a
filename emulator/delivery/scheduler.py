"""Runs everything that falls due on the emulator clock: delivery attempts, instance transitions
and timed jobs (dial-test slots).

Two ways, one set of claims (``claims``):

* **The pipeline** (always on): due attempts flow to a bounded pool of senders as soon as they
  are due, at most ``per_merchant`` of them per merchant, so a merchant that times out occupies
  only its own slots. Nothing waits for a batch to finish.
* **The walk** (``advance``, ``jump_to``, ``settle``): moves the clock through every due instant
  in order and, at each, runs everything due before moving on (PROTOCOL §9 "Virtual time").
  The pipeline pauses during a walk; a walk takes only the work that existed when its instant
  began plus what that work's replies create, so orders arriving meanwhile never prolong it.

Locks guard only the walk itself and a reset; no lock is held across a network call by the
pipeline, and control actions never queue behind traffic.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections import Counter
from contextlib import asynccontextmanager
from datetime import datetime, timedelta
from typing import AsyncIterator, Awaitable, Callable, Optional, Protocol, Sequence

from sqlalchemy import or_
from sqlmodel import col, func, select

from ..clock import Clock, ClockMode, wall_now
from ..store import Store
from ..store.tables import Delivery
from .claims import ClaimRequest
from .dispatcher import Dispatcher

log = logging.getLogger(__name__)

POOL_SIZE = 256  # attempts in flight at once in one process
PER_MERCHANT = 32  # of which at most this many for one merchant
TRANSITIONS_PER_COMMIT = 500  # instance transitions (expiry, release) fired in one write transaction
WALK_BATCH = 512  # attempts claimed at once by a walk (side by side, each instance in order)
POLL_S = 1.0  # look at the store at least this often (work of other replicas, clock changes)
DEAD_SENDER_CHECK_S = 5.0  # how often claims of crashed processes of this machine are looked for


class TimedJob(Protocol):
    async def next_due(self) -> Optional[datetime]: ...

    async def run_due(self, now: datetime) -> bool: ...


class Scheduler:
    def __init__(
        self,
        store: Store,
        clock: Clock,
        dispatcher: Dispatcher,
        due_instances: Callable[[datetime], Awaitable[list[tuple[datetime, str]]]],
        next_instance_event: Callable[[Optional[datetime]], Awaitable[Optional[datetime]]],
        fire_instances: Callable[[Sequence[str]], Awaitable[None]],
        jobs: Sequence["TimedJob"] = (),
        pool_size: int = POOL_SIZE,
        per_merchant: int = PER_MERCHANT,
    ) -> None:
        self.store = store
        self.clock = clock
        self.dispatcher = dispatcher
        self._due_instances = due_instances
        self._next_instance_event = next_instance_event
        self._fire_instances = fire_instances
        self.jobs = list(jobs)
        self.pool_size = pool_size
        self.per_merchant = per_merchant
        self.before_pass: list[Callable[[], Awaitable[None]]] = []  # e.g. read the shared clock
        self._walk_lock = asyncio.Lock()
        self._claiming = asyncio.Lock()  # held by the pipeline from a claim until its sends are tracked
        self._jobs: Optional[asyncio.Task[bool]] = None
        self._wake = asyncio.Event()
        self._task: Optional[asyncio.Task[None]] = None
        self._stopping = False
        self._sending: dict[asyncio.Task[object], str] = {}  # pipeline attempts in flight -> merchant
        clock.on_change(lambda _state: self.wake())

    def wake(self) -> None:
        self._wake.set()

    async def start(self) -> None:
        self._task = asyncio.create_task(self._loop(), name="koogallery-scheduler")

    async def stop(self) -> None:
        """Finish the current pass, then stop; attempts in flight are abandoned (their claims freed)."""
        self._stopping = True
        self.wake()
        if self._task is not None:
            done, _pending = await asyncio.wait([self._task], timeout=10)
            if not done:
                self._task.cancel()
                await asyncio.wait([self._task])
        await self._cancel_sending()
        if self._jobs is not None and not self._jobs.done():
            self._jobs.cancel()

    # -- the walk -----------------------------------------------------------------------------
    async def advance(self, delta: timedelta) -> datetime:
        async with self._walking():
            return await self._walk_to(self.clock.now() + delta)

    async def jump_to(self, moment: datetime) -> datetime:
        async with self._walking():
            return await self._walk_to(moment)

    async def settle(self) -> None:
        """Run everything due now (and what it makes due now), then return."""
        async with self._walking():
            await self._run_instant()

    @asynccontextmanager
    async def exclusive(self) -> AsyncIterator[None]:
        """No sending while the store changes under the scheduler's feet (reset): attempts in
        flight are abandoned, and replies still on their way are not recorded (their claims are
        gone with the rows)."""
        async with self._walk_lock, self._claiming:
            await self._cancel_sending()
            if self._jobs is not None and not self._jobs.done():
                self._jobs.cancel()
                await asyncio.wait([self._jobs])
            yield

    @asynccontextmanager
    async def _walking(self) -> AsyncIterator[None]:
        async with self._walk_lock:
            async with self._claiming:  # a claim of the pipeline in progress is finished first
                pass
            await self._drain_sending()  # the walk starts from a quiet pipeline
            if self._jobs is not None and not self._jobs.done():
                await asyncio.wait([self._jobs])
            try:
                yield
            finally:
                self.wake()

    async def next_due(self, after: Optional[datetime] = None) -> Optional[datetime]:
        """The earliest instant anything is due (strictly after ``after`` when given)."""
        query = select(func.min(Delivery.next_attempt_at)).where(
            Delivery.status == "scheduled", col(Delivery.next_attempt_at).is_not(None)
        )
        if after is not None:
            query = query.where(col(Delivery.next_attempt_at) > after)
        delivery_due = await self.store.quick_read(lambda session: session.exec(query).one())
        instance_due = await self._next_instance_event(after)
        job_due = [await job.next_due() for job in self.jobs]
        candidates = [t for t in (delivery_due, instance_due, *job_due) if t is not None
                      and (after is None or t > after)]
        return min(candidates) if candidates else None

    async def _walk_to(self, target: datetime) -> datetime:
        if target < self.clock.now():
            target = self.clock.now()
        while True:
            await self._run_instant()
            # Strictly later: what is due now but arrived after this instant began is sent by the
            # pipeline (or at the next instant), so traffic never keeps the walk in one place.
            upcoming = await self.next_due(after=self.clock.now())
            if upcoming is None or upcoming > target:
                break
            self.clock.jump_to(upcoming)
        self.clock.jump_to(target)
        await self._run_instant()
        return self.clock.now()

    async def _run_instant(self) -> None:
        """Everything due now: transitions first, then each instance's calls in order, then jobs,
        until nothing is left. Work created by other callers after the instant began waits."""
        broken: set[str] = set()
        await self._fire_transitions(broken)
        watermark = await self._max_delivery_id()
        ours: set[int] = set()
        for _ in range(100_000):
            request = ClaimRequest(limit=WALK_BATCH, now=self.clock.now(), max_id=watermark, also=ours)
            try:
                prepared = await self.dispatcher.claim(request)
                outcomes = await self.dispatcher.send(prepared)
            except Exception:  # the leases expire and the pipeline takes the work over
                log.exception("the walk could not send what is due at %s", self.clock.now())
                return
            if prepared:
                for outcome in outcomes:
                    ours.update(outcome.spawned)
                await self._fire_transitions(broken)
                continue
            if await self._held_elsewhere(watermark, ours):
                await asyncio.sleep(0.02)  # another replica is sending part of this instant
                continue
            if not await self._run_jobs():
                return
        log.error("due work did not settle at %s", self.clock.now())

    async def _fire_transitions(self, broken: set[str]) -> None:
        for _ in range(10_000):
            due = [key for _at, key in await self._due_instances(self.clock.now()) if key not in broken]
            if not due:
                return
            for start in range(0, len(due), TRANSITIONS_PER_COMMIT):
                chunk = due[start:start + TRANSITIONS_PER_COMMIT]
                try:
                    await self._fire_instances(chunk)
                except Exception:  # find the instance that fails; the others go through one by one
                    for key in chunk:
                        try:
                            await self._fire_instances([key])
                        except Exception:  # keep going; this instance is tried again on the next pass
                            log.exception("the transition of instance %s failed", key)
                            broken.add(key)

    async def _max_delivery_id(self) -> int:
        return await self.store.quick_read(lambda session: session.exec(select(func.max(Delivery.id))).one()) or 0

    async def _held_elsewhere(self, watermark: int, ours: set[int]) -> bool:
        """Is work of this instant leased by another sender right now?"""
        query = select(Delivery.id).where(
            Delivery.status == "scheduled", col(Delivery.next_attempt_at) <= self.clock.now(),
            col(Delivery.lease_until) >= wall_now(),
            or_(col(Delivery.id) <= watermark, col(Delivery.id).in_(ours)),
        ).limit(1)
        return await self.store.quick_read(lambda session: session.exec(query).first()) is not None

    async def _run_jobs(self) -> bool:
        """Other clock-driven work (dial-test slots); True when any ran."""
        ran = False
        for job in self.jobs:
            try:
                ran = await job.run_due(self.clock.now()) or ran
            except Exception:
                log.exception("scheduled job %s failed", type(job).__name__)
        return ran

    # -- the pipeline ----------------------------------------------------------------------
    async def _pump(self) -> None:
        """Start sending whatever is due, up to the pool's and each merchant's free slots."""
        await self._fire_transitions(set())
        if self._jobs is None or self._jobs.done():  # a dial test waits for its replies: not here
            self._jobs = asyncio.create_task(self._run_jobs())
        while not self._walk_lock.locked():
            free = self.pool_size - len(self._sending)
            if free <= 0:
                return
            active = Counter(self._sending.values())
            async with self._claiming:
                if self._walk_lock.locked():
                    return
                prepared = await self.dispatcher.claim(ClaimRequest(
                    limit=free, now=self.clock.now(), per_merchant=self.per_merchant, active=active))
                for item in prepared:
                    task: asyncio.Task[object] = asyncio.create_task(self.dispatcher.send([item]))
                    self._sending[task] = item.merchant_id
                    task.add_done_callback(self._sent)
            if len(prepared) < free:
                return

    def _sent(self, task: asyncio.Task[object]) -> None:
        self._sending.pop(task, None)
        if not task.cancelled() and task.exception() is not None:
            log.error("sending failed: %r", task.exception())
        self.wake()  # a freed slot, or follow-up work of the reply

    async def _drain_sending(self) -> None:
        while self._sending:
            await asyncio.wait(list(self._sending))

    async def _cancel_sending(self) -> None:
        tasks = list(self._sending)
        for task in tasks:
            task.cancel()
        if tasks:
            await asyncio.wait(tasks)
        await self.dispatcher.quiet()

    async def _loop(self) -> None:
        checked_senders = 0.0
        while not self._stopping:
            self._wake.clear()
            upcoming: Optional[datetime] = None
            try:
                for hook in self.before_pass:
                    await hook()
                if time.monotonic() - checked_senders > DEAD_SENDER_CHECK_S:
                    checked_senders = time.monotonic()
                    await self.dispatcher.notice_dead_senders()
                if not self._walk_lock.locked():
                    await self._pump()
                upcoming = await self.next_due()
            except Exception:
                log.exception("scheduler pass failed")
            delay = POLL_S  # due work not taken now is held by others or capped: a completion wakes us
            if upcoming is not None and self.clock.mode is not ClockMode.MANUAL and upcoming > self.clock.now():
                delay = min(POLL_S, max(0.001, self.clock.wall_seconds_until(upcoming) or 0.0))
            if self._stopping:
                return
            try:
                async with asyncio.timeout(delay):  # not wait_for: on 3.11 it can swallow a cancel
                    await self._wake.wait()
            except TimeoutError:
                pass
