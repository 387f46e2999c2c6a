"""Reading deliveries and their attempts, and the manual "Restart" action (PROTOCOL §9)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, Optional, Sequence

from sqlmodel import col, select

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

    async def restart(self, delivery_id: int) -> Delivery:
        """Re-open an exhausted delivery, or add one extra attempt to a pending or finished one."""
        async with self.store.write() as session:
            delivery = await session.get(Delivery, delivery_id)
            if delivery is None:
                raise NotFound(f"delivery {delivery_id} does not exist", field="delivery_id")
            order = None
            if delivery.instance_key:
                instance = await session.get(Instance, delivery.instance_key)
                order = await session.get(Order, instance.order_id) if instance else None
            refusal = restart_refusal(delivery, order)
            if refusal:
                raise Conflict(refusal, field="status")
            if delivery.status == "waiting":
                raise Conflict(f"delivery {delivery_id} is waiting for delivery {delivery.blocked_by} to finish",
                               field="status")
            now = self.clock.now()
            if delivery.status in ("succeeded", "exhausted"):
                delivery.slots_used = delivery.slots_total  # a finished schedule is not re-run
            delivery.manual_pending += 1
            delivery.status, delivery.finished_at = "scheduled", None
            delivery.next_attempt_at = next_due(delivery, now)
            session.add(delivery)
        self._wake()
        return delivery
