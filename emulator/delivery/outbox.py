"""The durable outbox: every callback becomes a delivery row before anything is sent."""

from __future__ import annotations

from datetime import datetime
from typing import Iterable, Optional

from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from ..marketplace.callbacks import ON_EXHAUST, ON_SUCCESS, Callback, CallbackKind
from ..protocol.families import wire_call
from ..store.tables import Delivery, Merchant
from .policies import policy_for

OPEN_STATUSES = ("scheduled", "waiting")


def new_delivery(merchant: Merchant, callback: Callback, now: datetime,
                 blocked_by: Optional[int] = None) -> Delivery:
    """The delivery row for ``callback`` in the merchant's protocol family, scheduled by its policy."""
    call = wire_call(merchant.family, callback)
    policy = policy_for(call.policy, merchant.retry_overrides)
    return Delivery(
        merchant_id=merchant.id,
        instance_key=callback.instance_key,
        order_id=callback.order_id,
        kind=callback.kind.value,
        activity=call.activity,
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
        on_success=ON_SUCCESS.get(callback.kind),
        on_exhaust=ON_EXHAUST.get(callback.kind),
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


async def cancel_open(
    session: AsyncSession,
    instance_key: str,
    now: datetime,
    reason: str,
    kinds: Iterable[CallbackKind] | None = None,
) -> list[Delivery]:
    """Cancel the instance's unfinished deliveries (supersession rules of PROTOCOL §9)."""
    query = select(Delivery).where(
        Delivery.instance_key == instance_key, col(Delivery.status).in_(OPEN_STATUSES)
    )
    if kinds is not None:
        query = query.where(col(Delivery.kind).in_([kind.value for kind in kinds]))
    cancelled = []
    for delivery in (await session.exec(query)).all():
        delivery.status = "cancelled"
        delivery.next_attempt_at = None
        delivery.finished_at = now
        delivery.note = reason
        session.add(delivery)
        cancelled.append(delivery)
    return cancelled
