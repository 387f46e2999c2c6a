"""One instance's whole life on the emulator clock, for the console's timeline.

Nothing here is stored for the purpose: there is no history table, so the life is rebuilt from
what the store keeps anyway, by the rules the emulator itself follows (PROTOCOL §9, §10):

- **orders**: every order of the instance (``Order.instance_key``) with its line;
- **attempts**: every ``Attempt`` of the deliveries of the instance or of its orders, on the
  emulator clock (``sent_at``), with its verdict (passed, failed, or none: interrupted/sending);
- **periods**: one per order that sets an expiry (NEW, TRIAL, RENEWAL, TRIAL_TO_FORMAL), its
  line's ``expire_at``; the grace end and the end of retention (the release) come from
  ``lifecycle.grace_end`` and ``lifecycle.release_time`` applied to that expiry and the line's
  product. A period *lapses* when its expiry is reached while it is still the instance's latest
  one: no later period was ordered before it, and it was not unsubscribed (an
  ``unsubscribe_renewal`` delivery is created at the moment of the unsubscription) before it;
- **state changes**, replayed in time order from these facts:
  ``pending`` at creation; ``active`` at the first passed attempt of the purchase delivery;
  ``frozen (expired)`` at each lapse; ``frozen (manual)`` at a FREEZE delivery created while the
  instance was active (one created while it was already frozen only tells the merchant); ``active``
  again at an UNFREEZE delivery, or at a renewal or conversion placed while frozen by expiry whose
  new expiry is still ahead (``Orders._unfreeze_if_recovered``); ``released`` at
  ``Instance.released_at``; ``failed`` when the purchase delivery finished without success and the
  instance is failed. A released or failed instance changes no more.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Iterable, Optional, Sequence

from sqlmodel import col, or_, select
from sqlmodel.ext.asyncio.session import AsyncSession

from ..store import Store
from ..store.tables import Attempt, Delivery, Instance, Order, OrderLine, Product
from . import lifecycle as lc
from .callbacks import CallbackKind
from .errors import NotFound

PERIOD_ORDER_TYPES = ("NEW", "TRIAL", "RENEWAL", "TRIAL_TO_FORMAL")
RECOVERING_ORDER_TYPES = ("RENEWAL", "TRIAL_TO_FORMAL")
ID_CHUNK = 500  # delivery ids per IN (...) list, well under every driver's bound-parameter limit


@dataclass(frozen=True)
class OrderEvent:
    order_id: str
    order_type: str
    status: str
    at: datetime
    expire_at: Optional[datetime]
    previous_expire_at: Optional[datetime]


@dataclass(frozen=True)
class AttemptEvent:
    delivery_id: int
    activity: str
    kind: str
    number: int
    at: datetime
    passed: Optional[bool]
    state: str  # sending | done | interrupted
    first_failure: Optional[str]
    fault: Optional[str]

    @property
    def verdict(self) -> str:
        """``passed``, ``failed`` or ``none`` (no verdict: interrupted or still sending)."""
        return "none" if self.passed is None else ("passed" if self.passed else "failed")


@dataclass(frozen=True)
class Period:
    order_id: str
    order_type: str
    ordered_at: datetime
    expire_at: datetime
    grace_end: datetime
    retention_end: datetime
    voided_at: Optional[datetime]  # the renewal was unsubscribed then
    lapsed: bool  # the instance reached this expiry while it was the latest one


@dataclass(frozen=True)
class StateChange:
    at: datetime
    state: str  # pending | active | frozen | released | failed
    reason: Optional[str]  # frozen: expired | manual
    cause: str


@dataclass(frozen=True)
class StateSpan:
    start: datetime
    end: datetime
    state: str
    reason: Optional[str]
    phase: Optional[str]  # frozen by expiry: grace | retention

    @property
    def label(self) -> str:
        return self.phase or (f"{self.state} ({self.reason})" if self.reason else self.state)


@dataclass(frozen=True)
class Timeline:
    instance_key: str
    instance_id: Optional[str]
    order_id: str
    product_code: str
    product_name: str
    state: str
    created_at: datetime
    now: datetime
    released_at: Optional[datetime]
    next_event: Optional[str]
    next_event_at: Optional[datetime]
    orders: list[OrderEvent]
    attempts: list[AttemptEvent]
    periods: list[Period]
    changes: list[StateChange]
    spans: list[StateSpan]

    @property
    def current_period(self) -> Optional[Period]:
        """The latest period still in force (not unsubscribed)."""
        live = [p for p in self.periods if p.voided_at is None]
        return live[-1] if live else None

    @property
    def end(self) -> datetime:
        """The axis end: now, the last event, or the end of retention of the current period."""
        moments = [self.now, self.created_at, *(a.at for a in self.attempts), *(o.at for o in self.orders)]
        current = self.current_period
        if current is not None and self.state not in lc.ENDED:
            moments.append(current.retention_end)
        if self.next_event_at is not None:
            moments.append(self.next_event_at)
        return max(moments)


async def instance_timeline(store: Store, instance_key: str, now: datetime) -> Timeline:
    """Gather and derive the timeline of one instance (``NotFound`` if there is none)."""
    async with store.read() as session:
        instance = await session.get(Instance, instance_key)
        if instance is None:
            raise NotFound(f"instance {instance_key!r} does not exist", field="instance")
        product = await session.get(Product, instance.product_id)
        assert product is not None  # a foreign key
        orders = list((await session.exec(
            select(Order).where(Order.instance_key == instance_key).order_by(col(Order.created_at), col(Order.seq))
        )).all())
        order_ids = [o.id for o in orders]
        lines = await _lines(session, order_ids)
        products = await _products(session, {line.product_id for line in lines.values()} | {product.id})
        deliveries = await _deliveries(session, instance_key, order_ids)
        attempts = await _attempts(session, deliveries)
    voided = _voided_renewals(deliveries.values())
    periods = _periods(instance, orders, lines, products, voided, now)
    changes = _changes(instance, orders, lines, periods, deliveries, attempts, now)
    return Timeline(
        instance_key=instance.key, instance_id=instance.instance_id, order_id=instance.order_id,
        product_code=product.code, product_name=product.name, state=instance.state,
        created_at=instance.created_at, now=now, released_at=instance.released_at,
        next_event=instance.next_event, next_event_at=instance.next_event_at,
        orders=[_order_event(o, lines.get(o.id)) for o in orders], attempts=attempts, periods=periods,
        changes=changes, spans=_spans(changes, periods, now),
    )


# -- reading -----------------------------------------------------------------------------------
async def _lines(session: AsyncSession, order_ids: Sequence[str]) -> dict[str, OrderLine]:
    """The first line of each order (the emulator's orders have one)."""
    if not order_ids:
        return {}
    rows = (await session.exec(select(OrderLine).where(col(OrderLine.order_id).in_(order_ids)))).all()
    lines: dict[str, OrderLine] = {}
    for line in rows:
        lines.setdefault(line.order_id, line)
    return lines


async def _products(session: AsyncSession, ids: set[str]) -> dict[str, Product]:
    rows = (await session.exec(select(Product).where(col(Product.id).in_(ids)))).all()
    return {p.id: p for p in rows}


async def _deliveries(session: AsyncSession, instance_key: str, order_ids: Sequence[str]) -> dict[int, Delivery]:
    """The instance's deliveries and those of its orders (both columns are indexed)."""
    condition = Delivery.instance_key == instance_key
    if order_ids:
        condition = or_(condition, col(Delivery.order_id).in_(order_ids))
    rows = (await session.exec(select(Delivery).where(condition).order_by(col(Delivery.id)))).all()
    return {d.id: d for d in rows if d.id is not None}


async def _attempts(session: AsyncSession, deliveries: dict[int, Delivery]) -> list[AttemptEvent]:
    """Attempts by ``delivery_id IN (...)``, without their (large) request and response bodies."""
    ids = list(deliveries)
    events: list[AttemptEvent] = []
    for start in range(0, len(ids), ID_CHUNK):
        rows = (await session.exec(
            select(Attempt.delivery_id, Attempt.number, Attempt.sent_at, Attempt.passed, Attempt.state,
                   Attempt.failures, Attempt.error, Attempt.fault)
            .where(col(Attempt.delivery_id).in_(ids[start:start + ID_CHUNK]))
        )).all()
        for delivery_id, number, sent_at, passed, state, failures, error, fault in rows:
            delivery = deliveries[delivery_id]
            first = failures[0] if failures else error
            events.append(AttemptEvent(delivery_id, delivery.activity, delivery.kind, number, sent_at, passed,
                                       state, first, fault))
    events.sort(key=lambda a: (a.at, a.delivery_id, a.number))
    return events


# -- deriving ----------------------------------------------------------------------------------
def _order_event(order: Order, line: Optional[OrderLine]) -> OrderEvent:
    return OrderEvent(order.id, order.order_type, order.status, order.created_at,
                      line.expire_at if line else None, line.previous_expire_at if line else None)


def _voided_renewals(deliveries: Iterable[Delivery]) -> dict[str, datetime]:
    """Renewal order id -> when it was unsubscribed (its ``unsubscribe_renewal`` delivery)."""
    return {d.order_id: d.created_at for d in deliveries
            if d.kind == CallbackKind.UNSUBSCRIBE_RENEWAL and d.order_id is not None}


def _periods(instance: Instance, orders: Sequence[Order], lines: dict[str, OrderLine],
             products: dict[str, Product], voided: dict[str, datetime], now: datetime) -> list[Period]:
    candidates = [(o, lines[o.id]) for o in orders
                  if o.order_type in PERIOD_ORDER_TYPES and o.id in lines and lines[o.id].expire_at is not None]
    ended_at = instance.released_at if instance.state in lc.ENDED else None
    periods = []
    for index, (order, line) in enumerate(candidates):
        assert line.expire_at is not None
        product = products.get(line.product_id) or products[instance.product_id]
        probe = Instance.model_validate({**instance.model_dump(), "expire_at": line.expire_at})
        later = [(o.created_at, voided.get(o.id)) for o, _ in candidates[index + 1:]]
        periods.append(Period(
            order_id=order.id, order_type=order.order_type, ordered_at=order.created_at, expire_at=line.expire_at,
            grace_end=lc.grace_end(probe, product), retention_end=lc.release_time(probe, product),
            voided_at=voided.get(order.id),
            lapsed=_lapses(line.expire_at, voided.get(order.id), later, now, ended_at),
        ))
    return periods


def _lapses(expire_at: datetime, voided_at: Optional[datetime], later: Sequence[tuple[datetime, Optional[datetime]]],
            now: datetime, ended_at: Optional[datetime]) -> bool:
    if expire_at > now or (ended_at is not None and ended_at <= expire_at):
        return False
    if voided_at is not None and voided_at <= expire_at:
        return False
    # superseded: a later period was ordered before this expiry and still held at it
    return not any(ordered < expire_at and (gone is None or gone > expire_at) for ordered, gone in later)


@dataclass(order=True)
class _Fact:
    """One dated fact that may change the state; ``rank`` orders facts of the same instant."""

    at: datetime
    rank: int
    what: str = field(compare=False)
    detail: str = field(compare=False, default="")
    expire_at: Optional[datetime] = field(compare=False, default=None)


def _facts(instance: Instance, orders: Sequence[Order], lines: dict[str, OrderLine], periods: Sequence[Period],
           deliveries: dict[int, Delivery], attempts: Sequence[AttemptEvent]) -> list[_Fact]:
    facts = [_Fact(instance.created_at, 0, "created")]
    acknowledged = next((a for a in attempts if a.kind == CallbackKind.PURCHASE and a.passed), None)
    if acknowledged is not None:
        facts.append(_Fact(acknowledged.at, 1, "acknowledged", f"{acknowledged.activity} passed"))
    facts += [_Fact(p.expire_at, 2, "lapsed", f"{p.order_type} period ended") for p in periods if p.lapsed]
    for order in orders:
        line = lines.get(order.id)
        if order.order_type in RECOVERING_ORDER_TYPES and line is not None:
            facts.append(_Fact(order.created_at, 3, "recovering", f"{order.order_type} {order.id}", line.expire_at))
    for delivery in deliveries.values():
        if delivery.kind in (CallbackKind.FREEZE, CallbackKind.UNFREEZE):
            facts.append(_Fact(delivery.created_at, 4, delivery.kind, f"{delivery.activity} (delivery {delivery.id})"))
    if instance.state == lc.FAILED:
        purchase = next((d for d in deliveries.values() if d.kind == CallbackKind.PURCHASE), None)
        if purchase is not None:
            facts.append(_Fact(purchase.finished_at or purchase.created_at, 5, "failed",
                               f"{purchase.activity} exhausted"))
    if instance.released_at is not None:
        facts.append(_Fact(instance.released_at, 6, "released", _release_cause(instance.released_at, orders, periods)))
    return sorted(facts)


def _release_cause(at: datetime, orders: Sequence[Order], periods: Sequence[Period]) -> str:
    if any(o.order_type == "UNSUBSCRIBE" and o.created_at == at for o in orders):
        return "unsubscribed"
    if any(p.lapsed and p.retention_end <= at for p in periods):
        return "retention ended"
    return "released"


def _changes(instance: Instance, orders: Sequence[Order], lines: dict[str, OrderLine], periods: Sequence[Period],
             deliveries: dict[int, Delivery], attempts: Sequence[AttemptEvent], now: datetime) -> list[StateChange]:
    changes: list[StateChange] = []
    state: Optional[str] = None
    reason: Optional[str] = None
    for fact in _facts(instance, orders, lines, periods, deliveries, attempts):
        if fact.at > now or state in lc.ENDED:
            break
        new = _apply(fact, state, reason)
        if new is not None and new != (state, reason):
            state, reason = new
            changes.append(StateChange(fact.at, state, reason, fact.detail or fact.what))
    return changes


def _apply(fact: _Fact, state: Optional[str], reason: Optional[str]) -> Optional[tuple[str, Optional[str]]]:
    """The (state, reason) after ``fact``, or None when it changes nothing."""
    frozen_by_expiry = state == lc.FROZEN and reason == "expired"
    if fact.what == "created":
        return lc.PENDING, None
    if fact.what == "acknowledged" and state == lc.PENDING:
        return lc.ACTIVE, None
    if fact.what == "lapsed":
        return lc.FROZEN, "expired"
    if fact.what == "recovering" and frozen_by_expiry and fact.expire_at is not None and fact.expire_at > fact.at:
        return lc.ACTIVE, None
    if fact.what == CallbackKind.FREEZE and state == lc.ACTIVE:
        return lc.FROZEN, "manual"
    if fact.what == CallbackKind.UNFREEZE and state == lc.FROZEN:
        return lc.ACTIVE, None
    if fact.what in (lc.FAILED, lc.RELEASED):
        return fact.what, None
    return None


def _spans(changes: Sequence[StateChange], periods: Sequence[Period], now: datetime) -> list[StateSpan]:
    """Bands of the state lane, from each change to the next (the last one to now), a freeze by
    expiry cut at the end of its grace."""
    graces = sorted(p.grace_end for p in periods if p.lapsed)
    spans: list[StateSpan] = []
    for change, following in zip(changes, [*changes[1:], None]):
        end = following.at if following else max(now, change.at)
        if change.state != lc.FROZEN or change.reason != "expired":
            spans.append(StateSpan(change.at, end, change.state, change.reason, None))
            continue
        cut = next((g for g in graces if change.at <= g), None)
        if cut is not None and cut < end:
            spans.append(StateSpan(change.at, cut, change.state, change.reason, "grace"))
            spans.append(StateSpan(cut, end, change.state, change.reason, "retention"))
        else:
            spans.append(StateSpan(change.at, end, change.state, change.reason, "grace" if cut else "retention"))
    return spans
