"""Runs everything that falls due on the emulator clock: delivery attempts and instance transitions.

One lock makes runs exclusive. ``advance`` walks the clock through every due instant in order,
so that a jump of three hours fires each retry at its own emulated time (PROTOCOL §9
"Virtual time"). A background task does the same by itself in real and scaled modes.
"""

from __future__ import annotations

import asyncio
import logging
from collections import defaultdict
from datetime import datetime, timedelta
from typing import Awaitable, Callable, Optional, Protocol, Sequence

from sqlmodel import col, func, select

from ..clock import Clock, ClockMode
from ..store import Store
from ..store.tables import Delivery
from .dispatcher import Dispatcher

log = logging.getLogger(__name__)

WAVE_SIZE = 64  # deliveries prepared, sent side by side (the connection limit) and recorded together
IDLE_POLL_S = 30.0


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
        next_instance_event: Callable[[], Awaitable[Optional[datetime]]],
        fire_instance: Callable[[str], Awaitable[None]],
        jobs: Sequence["TimedJob"] = (),
    ) -> None:
        self.store = store
        self.clock = clock
        self.dispatcher = dispatcher
        self._due_instances = due_instances
        self._next_instance_event = next_instance_event
        self._fire_instance = fire_instance
        self.jobs = list(jobs)
        self._lock = asyncio.Lock()
        self._wake = asyncio.Event()
        self._task: Optional[asyncio.Task[None]] = None
        self._broken: set[object] = set()
        clock.on_change(lambda _state: self.wake())

    def wake(self) -> None:
        self._wake.set()

    async def start(self) -> None:
        self._task = asyncio.create_task(self._loop(), name="koogallery-scheduler")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            try:
                await self._task
            except asyncio.CancelledError:
                pass

    async def advance(self, delta: timedelta) -> datetime:
        async with self._lock:
            return await self._walk_to(self.clock.now() + delta)

    async def jump_to(self, moment: datetime) -> datetime:
        async with self._lock:
            return await self._walk_to(moment)

    def exclusive(self) -> asyncio.Lock:
        """Hold this to change the store under the scheduler's feet (reset)."""
        return self._lock

    async def settle(self) -> None:
        """Run everything due now (and what it makes due now), then return."""
        async with self._lock:
            await self._run_due()

    async def next_due(self) -> Optional[datetime]:
        async with self.store.read() as session:
            query = select(func.min(Delivery.next_attempt_at)).where(
                Delivery.status == "scheduled", col(Delivery.next_attempt_at).is_not(None)
            )
            delivery_due = (await session.exec(query)).one()
        instance_due = await self._next_instance_event()
        job_due = [await job.next_due() for job in self.jobs]
        candidates = [t for t in (delivery_due, instance_due, *job_due) if t is not None]
        return min(candidates) if candidates else None

    async def _walk_to(self, target: datetime) -> datetime:
        if target < self.clock.now():
            target = self.clock.now()
        while True:
            await self._run_due()
            upcoming = await self.next_due()
            if upcoming is None or upcoming > target:
                break
            if upcoming > self.clock.now():
                self.clock.jump_to(upcoming)
        self.clock.jump_to(target)
        await self._run_due()
        return self.clock.now()

    async def _run_due(self) -> None:
        """Run due work in waves: each wave takes the earliest item of every instance, so one
        instance's calls go out one at a time in schedule order while instances run side by side."""
        self._broken = set()
        for _ in range(100_000):
            groups = await self._due_batch(self.clock.now())
            if not groups:
                if not await self._run_jobs():
                    return
                continue
            wave = [items[0] for items in groups.values()]
            transitions = [ref for _due, _rank, kind, ref in wave if kind == "instance"]
            if transitions:
                for key in transitions:
                    await self._guarded(self._fire_instance(str(key)), [key])
                continue  # they may have made new calls due: look again
            ids = [int(ref) for _due, _rank, _kind, ref in wave[:WAVE_SIZE]]  # type: ignore[call-overload]
            await self._guarded(self.dispatcher.attempt_many(ids), ids)
        log.error("due work did not settle; stopping this pass")

    async def _run_jobs(self) -> bool:
        """Other clock-driven work (dial-test slots); True when any ran."""
        ran = False
        for job in self.jobs:
            try:
                ran = await job.run_due(self.clock.now()) or ran
            except Exception:
                log.exception("scheduled job %s failed", type(job).__name__)
        return ran

    async def _guarded(self, work: Awaitable[object], refs: list[object]) -> None:
        try:
            await work
        except Exception:  # keep the scheduler alive; these rows are retried on the next pass
            log.exception("processing %s failed", refs)
            self._broken.update(refs)

    async def _due_batch(self, now: datetime) -> dict[str, list[tuple[datetime, int, str, object]]]:
        """Due work grouped by instance: each group runs in order, groups run side by side."""
        async with self.store.read() as session:
            rows = (await session.exec(
                select(Delivery.next_attempt_at, Delivery.id, Delivery.instance_key).where(
                    Delivery.status == "scheduled",
                    col(Delivery.next_attempt_at).is_not(None),
                    col(Delivery.next_attempt_at) <= now,
                ).order_by(col(Delivery.next_attempt_at), col(Delivery.id))
            )).all()
        groups: dict[str, list[tuple[datetime, int, str, object]]] = defaultdict(list)
        for due, delivery_id, key in rows:
            if delivery_id in self.dispatcher.in_flight or delivery_id in self._broken:
                continue
            groups[key or f"delivery:{delivery_id}"].append((due, 1, "delivery", delivery_id))
        for due, key in await self._due_instances(now):
            if key in self._broken:
                continue
            groups[key].append((due, 0, "instance", key))
        for items in groups.values():
            items.sort(key=lambda item: (item[0], item[1], str(item[3])))
        return groups

    async def _loop(self) -> None:
        while True:
            self._wake.clear()
            try:
                async with self._lock:
                    await self._run_due()
                upcoming = await self.next_due()
            except Exception:
                log.exception("scheduler pass failed")
                upcoming = None
            delay: Optional[float] = IDLE_POLL_S
            if upcoming is not None and self.clock.mode is not ClockMode.MANUAL:
                delay = min(IDLE_POLL_S, max(0.02, self.clock.wall_seconds_until(upcoming) or 0.0))
            elif self.clock.mode is ClockMode.MANUAL:
                delay = None
            try:
                await asyncio.wait_for(self._wake.wait(), timeout=delay)
            except asyncio.TimeoutError:
                pass
