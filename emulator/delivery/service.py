"""Reading deliveries and their attempts, and the manual "Restart" action (PROTOCOL §9)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any, Callable, Optional, Sequence

from sqlmodel import col, func, select

from ..clock import Clock
from ..marketplace.errors import Conflict, NotFound
from ..marketplace.catalogue import get_merchant
from ..marketplace.reactions import restart_refusal
from ..protocol.outbound import SignedRequest
from ..protocol.resign import resign
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
    test_traffic: Optional[str] = None  # "hide": no dial-test traffic (testFlag "1"); "only": nothing else
    since: Optional[datetime] = None  # created at or after (emulated time)
    until: Optional[datetime] = None  # created before
    # Any of these (a search's hits): deliveries of the orders (and of the instances they bought),
    # of the instances, or these deliveries themselves. Empty sets: nothing matches.
    any_of: Optional[tuple[frozenset[str], frozenset[str], frozenset[int]]] = None
    after_id: Optional[int] = None
    before_id: Optional[int] = None  # keyset paging: deliveries older than this one (newest first)
    limit: int = 100
    offset: int = 0


def _bought_by(order_ids: Any) -> Any:
    """The keys of the instances these orders bought: an order's deliveries include theirs."""
    return select(Instance.key).where(col(Instance.order_id).in_(order_ids))


def _filtered(query: Any, flt: DeliveryFilter) -> Any:
    if flt.order_id:
        query = query.where((Delivery.order_id == flt.order_id)
                            | col(Delivery.instance_key).in_(_bought_by([flt.order_id])))
    if flt.any_of is not None:
        order_ids, instance_keys, delivery_ids = flt.any_of
        query = query.where(col(Delivery.order_id).in_(order_ids)
                            | col(Delivery.instance_key).in_(_bought_by(order_ids))
                            | col(Delivery.instance_key).in_(instance_keys) | col(Delivery.id).in_(delivery_ids))
    for name in ("merchant_id", "instance_key", "activity"):
        value = getattr(flt, name)
        if value:
            query = query.where(getattr(Delivery, name) == value)
    if flt.outcome:
        query = query.where(col(Delivery.status).in_(OUTCOMES[flt.outcome]))
    if flt.test_traffic == "only":
        query = query.where(Delivery.test_flag == "1")
    elif flt.test_traffic == "hide":
        query = query.where((Delivery.test_flag != "1") | col(Delivery.test_flag).is_(None))
    if flt.since is not None:
        query = query.where(col(Delivery.created_at) >= flt.since)
    if flt.until is not None:
        query = query.where(col(Delivery.created_at) < flt.until)
    if flt.after_id is not None:
        query = query.where(col(Delivery.id) > flt.after_id)
    if flt.before_id is not None:
        query = query.where(col(Delivery.id) < flt.before_id)
    return query


class Deliveries:
    def __init__(self, store: Store, clock: Clock, wake: Callable[[], None]) -> None:
        self.store = store
        self.clock = clock
        self._wake = wake

    async def list(self, flt: DeliveryFilter) -> Sequence[Delivery]:
        """Newest first, one page."""
        async with self.store.read() as session:
            query = _filtered(select(Delivery), flt).order_by(col(Delivery.id).desc())
            return (await session.exec(query.offset(flt.offset).limit(flt.limit))).all()

    async def count(self, flt: DeliveryFilter) -> int:
        """How many deliveries the filter matches (its paging ignored)."""
        async with self.store.read() as session:
            query = _filtered(select(func.count()).select_from(Delivery), flt)
            return int((await session.exec(query)).one())

    async def get(self, delivery_id: int) -> tuple[Delivery, list[Attempt]]:
        async with self.store.read() as session:
            delivery = await session.get(Delivery, delivery_id)
            if delivery is None:
                raise NotFound(f"delivery {delivery_id} does not exist", field="delivery_id")
            attempts = await session.exec(
                select(Attempt).where(Attempt.delivery_id == delivery_id).order_by(col(Attempt.number))
            )
            return delivery, list(attempts.all())

    async def signed_again(self, delivery_id: int, number: int) -> SignedRequest:
        """Attempt ``number`` of a delivery as it would be signed now (``protocol.resign``)."""
        delivery, attempts = await self.get(delivery_id)
        attempt = next((a for a in attempts if a.number == number), None)
        if attempt is None:
            raise NotFound(f"delivery {delivery_id} has no attempt {number}", field="number")
        async with self.store.read() as session:
            merchant = await get_merchant(session, delivery.merchant_id)
        return resign(merchant, attempt.method, attempt.url, attempt.request_headers,
                      attempt.request_body.encode("utf-8"))

    async def health(self, test_traffic: Optional[str] = None) -> dict[str, dict[str, int]]:
        """Per merchant, how many deliveries are in each status (``test_traffic`` as in DeliveryFilter)."""
        async with self.store.read() as session:
            query = _filtered(select(Delivery.merchant_id, Delivery.status, func.count()),
                              DeliveryFilter(test_traffic=test_traffic))
            rows = (await session.exec(
                query.group_by(col(Delivery.merchant_id), col(Delivery.status)))).all()
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
