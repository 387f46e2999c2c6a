"""Reading deliveries and their attempts, and the manual "Restart" action (PROTOCOL §9)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any, Callable, Optional, Sequence

from sqlmodel import col, func, select

from ..clock import Clock
from ..marketplace.errors import Conflict, NotFound
from ..marketplace.reactions import restart_refusal
from ..store import Store
from ..store.tables import Attempt, Delivery, Instance, Order
from .dispatcher import next_due

OUTCOMES = {
    "pending": ("scheduled", "waiting"),
    "succeeded": ("succeeded",),
    "failed": ("exhausted",),
    "exhausted": ("exhausted",),
    "cancelled": ("cancelled",),
}


@dataclass
class DeliveryFilter:
    merchant_id: Optional[str] = None
    order_id: Optional[str] = None
    instance_key: Optional[str] = None
    activity: Optional[str] = None
    outcome: Optional[str] = None
    after_id: Optional[int] = None
    before_id: Optional[int] = None  # keyset paging: deliveries older than this one (newest first)
    limit: int = 100
    offset: int = 0


class Deliveries:
    def __init__(self, store: Store, clock: Clock, wake: Callable[[], None]) -> None:
        self.store = store
        self.clock = clock
        self._wake = wake

    async def list(self, flt: DeliveryFilter) -> Sequence[Delivery]:
        async with self.store.read() as session:
            query = select(Delivery).order_by(col(Delivery.id).desc())
            if flt.order_id:
                # an order's deliveries include those of the instance it bought
                instance_keys = select(Instance.key).where(Instance.order_id == flt.order_id)
                query = query.where(
                    (Delivery.order_id == flt.order_id) | col(Delivery.instance_key).in_(instance_keys)
                )
            if flt.merchant_id:
                query = query.where(Delivery.merchant_id == flt.merchant_id)
            if flt.instance_key:
                query = query.where(Delivery.instance_key == flt.instance_key)
            if flt.activity:
                query = query.where(Delivery.activity == flt.activity)
            if flt.outcome:
                query = query.where(col(Delivery.status).in_(OUTCOMES[flt.outcome]))
            if flt.after_id is not None:
                query = query.where(col(Delivery.id) > flt.after_id)
            if flt.before_id is not None:
                query = query.where(col(Delivery.id) < flt.before_id)
            return (await session.exec(query.offset(flt.offset).limit(flt.limit))).all()

    async def get(self, delivery_id: int) -> tuple[Delivery, list[Attempt]]:
        async with self.store.read() as session:
            delivery = await session.get(Delivery, delivery_id)
            if delivery is None:
                raise NotFound(f"delivery {delivery_id} does not exist", field="delivery_id")
            attempts = await session.exec(
                select(Attempt).where(Attempt.delivery_id == delivery_id).order_by(col(Attempt.number))
            )
            return delivery, list(attempts.all())

    async def health(self) -> dict[str, dict[str, int]]:
        """Per merchant, how many deliveries are in each status."""
        async with self.store.read() as session:
            rows = (await session.exec(
                select(Delivery.merchant_id, Delivery.status, func.count()).group_by(
                    col(Delivery.merchant_id), col(Delivery.status))
            )).all()
        counts: dict[str, dict[str, int]] = {}
        for merchant_id, status, count in rows:
            counts.setdefault(merchant_id, {})[status] = count
        return counts

    async def recent_failures(self, limit: int = 10) -> list[tuple[Attempt, Delivery]]:
        async with self.store.read() as session:
            rows = await session.exec(
                select(Attempt, Delivery).join(Delivery, col(Attempt.delivery_id) == col(Delivery.id))
                .where(Attempt.passed == False).order_by(col(Attempt.id).desc()).limit(limit)  # noqa: E712
            )
            return [(a, d) for a, d in rows.all()]

    async def attempts_between(self, start: datetime, end: datetime) -> list[tuple[Attempt, Delivery]]:
        """Attempts sent in (start, end] of emulated time: what an advance of the clock fired."""
        async with self.store.read() as session:
            rows = await session.exec(
                select(Attempt, Delivery).join(Delivery, col(Attempt.delivery_id) == col(Delivery.id))
                .where(col(Attempt.sent_at) > start, col(Attempt.sent_at) <= end)
                .order_by(col(Attempt.sent_at), col(Attempt.id)).limit(500)
            )
            return [(a, d) for a, d in rows.all()]

    def restart_refusal_of(self, delivery: Delivery, order: Optional[Order],
                           instance: Optional[Instance] = None) -> Optional[str]:
        return restart_refusal(delivery, order, instance) or (
            f"delivery {delivery.id} is waiting for delivery {delivery.blocked_by} to finish"
            if delivery.status == "waiting" else None)

    async def can_restart(self, delivery: Delivery) -> Optional[str]:
        """None when a restart is possible, else the reason it is not."""
        async with self.store.read() as session:
            return self.restart_refusal_of(delivery, *await self._order_of(session, delivery))

    @staticmethod
    async def _order_of(session: Any, delivery: Delivery) -> tuple[Optional[Order], Optional[Instance]]:
        if not delivery.instance_key:
            return None, None
        instance = await session.get(Instance, delivery.instance_key)
        return (await session.get(Order, instance.order_id) if instance else None), instance

    async def restart(self, delivery_id: int) -> Delivery:
        """Re-open an exhausted delivery, or add one extra attempt to a pending or finished one."""
        async with self.store.write() as session:
            delivery = await session.get(Delivery, delivery_id)
            if delivery is None:
                raise NotFound(f"delivery {delivery_id} does not exist", field="delivery_id")
            refusal = self.restart_refusal_of(delivery, *await self._order_of(session, delivery))
            if refusal:
                raise Conflict(refusal, field="status")
            reopen(delivery, self.clock.now())
            session.add(delivery)
        self._wake()
        return delivery


def reopen(delivery: Delivery, now: datetime) -> None:
    """Add one manual attempt, due now: an exhausted delivery is re-opened, a finished schedule
    is not re-run, and a failed resend of a succeeded delivery does not undo its success."""
    if delivery.status in ("succeeded", "exhausted"):
        delivery.slots_used = delivery.slots_total
        delivery.resent_after_success = delivery.status == "succeeded"
    delivery.manual_pending += 1
    delivery.status, delivery.finished_at = "scheduled", None
    delivery.next_attempt_at = next_due(delivery, now)
