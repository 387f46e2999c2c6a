"""The durable outbox: every callback becomes a delivery row before anything is sent."""

from __future__ import annotations

from datetime import datetime
from typing import Iterable, Optional, Sequence

from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from ..marketplace.callbacks import ON_EXHAUST, ON_SUCCESS, Callback, CallbackKind
from ..protocol.families import family_of, wire_call
from ..protocol.saas_v2 import WireCall
from ..store.tables import Delivery, Merchant
from .policies import policy_for

OPEN_STATUSES = ("scheduled", "waiting")


def new_delivery(merchant: Merchant, callback: Callback, now: datetime,
                 blocked_by: Optional[int] = None) -> Delivery:
    """The delivery row for ``callback`` in the merchant's protocol family, scheduled by its policy."""
    return scheduled_delivery(
        merchant, wire_call(merchant, callback), now, blocked_by, kind=callback.kind.value,
        instance_key=callback.instance_key, order_id=callback.order_id, family=family_of(merchant, callback),
        on_success=ON_SUCCESS.get(callback.kind), on_exhaust=ON_EXHAUST.get(callback.kind),
    )


def scheduled_delivery(merchant: Merchant, call: WireCall, now: datetime, blocked_by: Optional[int], *, kind: str,
                       instance_key: Optional[str], order_id: Optional[str], family: Optional[str] = None,
                       on_success: Optional[str] = None, on_exhaust: Optional[str] = None) -> Delivery:
    """A delivery of ``call`` whose first attempt is due by its policy, or which waits for ``blocked_by``."""
    policy = policy_for(call.policy, merchant.retry_overrides)
    return Delivery(
        merchant_id=merchant.id,
        instance_key=instance_key,
        order_id=order_id,
        kind=kind,
        activity=call.activity,
        family=family,
        policy=call.policy,
        params=call.params,
        test_flag=call.test_flag,
        status="waiting" if blocked_by is not None else "scheduled",
        schedule_start=now,
        first_delay_s=policy.first_delay_s,
        interval_s=policy.interval_s,
        slots_total=policy.attempts,
        next_attempt_at=None if blocked_by is not None else policy.slot_time(now, 0),
        blocked_by=blocked_by,
        on_success=on_success,
        on_exhaust=on_exhaust,
        created_at=now,
    )


async def enqueue(
    session: AsyncSession,
    merchant: Merchant,
    callback: Callback,
    now: datetime,
    blocked_by: Optional[int] = None,
) -> Delivery:
    """Persist a delivery for ``callback`` (with its id); it is sent by the dispatcher when due."""
    delivery = new_delivery(merchant, callback, now, blocked_by)
    session.add(delivery)
    await session.flush()
    return delivery


async def open_deliveries(session: AsyncSession, instance_keys: Sequence[str]) -> dict[str, list[Delivery]]:
    """The unfinished deliveries of many instances in one query, for ``cancel_open(known_open=...)``."""
    found: dict[str, list[Delivery]] = {}
    rows = (await session.exec(select(Delivery).where(
        col(Delivery.instance_key).in_(instance_keys), col(Delivery.status).in_(OPEN_STATUSES)))).all()
    for delivery in rows:
        found.setdefault(delivery.instance_key or "", []).append(delivery)
    return found


async def cancel_open(
    session: AsyncSession,
    instance_key: str,
    now: datetime,
    reason: str,
    kinds: Iterable[CallbackKind] | None = None,
    known_open: Sequence[Delivery] | None = None,
) -> list[Delivery]:
    """Cancel the instance's unfinished deliveries (supersession rules of PROTOCOL §9);
    ``known_open`` are its open deliveries when the caller has already read them."""
    wanted = None if kinds is None else {kind.value for kind in kinds}
    if known_open is None:
        query = select(Delivery).where(
            Delivery.instance_key == instance_key, col(Delivery.status).in_(OPEN_STATUSES)
        )
        known_open = (await session.exec(query)).all()
    cancelled = []
    for delivery in known_open:
        if delivery.status not in OPEN_STATUSES or (wanted is not None and delivery.kind not in wanted):
            continue
        delivery.status = "cancelled"
        delivery.next_attempt_at = None
        delivery.finished_at = now
        delivery.note = reason
        session.add(delivery)
        cancelled.append(delivery)
    return cancelled
