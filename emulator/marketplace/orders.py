"""Orders and their effect on instances (PROTOCOL §4, §10).

Every action validates the transition, records the marketplace-side change (which happens
whatever the merchant answers, PROTOCOL §9 "Outcome"), and emits the callbacks to send.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any, Awaitable, Callable, Optional, Sequence, TypeVar

from sqlalchemy import tuple_
from sqlmodel import Session, col, func, select
from sqlmodel.ext.asyncio.session import AsyncSession

from ..clock import Clock
from ..delivery.outbox import cancel_open, enqueue, new_delivery, open_deliveries
from ..protocol import families
from ..protocol.families import require_emulated
from ..protocol.license_v2 import async_members
from ..store import Store
from ..store.batches import GroupCommit
from ..store.tables import Delivery, Instance, LicenseCode, Merchant, Order, OrderLine, Product
from . import lifecycle as lc
from .callbacks import Callback, CallbackKind, OrderFacts
from .catalogue import get_merchant, get_product, product_not_found
from .errors import Conflict, DomainError, InvalidInput, NotFound
from .ids import new_business_id, new_customer_id, new_order_id, order_line_id
from .licences import register_order_licence
from .inputs import ConvertInput, LicenceAsyncInput, ManualLicenceInput, OrderInput, RenewInput, UpgradeInput
from .periods import expiry

T = TypeVar("T")
SyncCall = Callable[[int], Awaitable["SyncOutcome"]]


@dataclass(frozen=True)
class SyncOutcome:
    """Result of a synchronous merchant call (changeInstanceCheck, manual queryInstance)."""

    delivery_id: int
    passed: bool
    summary: str


@dataclass
class OrderFilter:
    merchant_id: Optional[str] = None
    order_type: Optional[str] = None
    status: Optional[str] = None
    instance_key: Optional[str] = None
    test_traffic: Optional[str] = None  # "hide": no dial-test orders (testFlag "1"); "only": nothing else
    since: Optional[datetime] = None  # placed at or after (emulated time)
    until: Optional[datetime] = None  # placed before
    # Any of these (a search's hits): the orders, or the orders of the instances. Empty: nothing.
    any_of: Optional[tuple[frozenset[str], frozenset[str]]] = None
    limit: int = 100
    offset: int = 0
    before_seq: Optional[int] = None  # keyset paging: orders placed before this one (newest first)


def _filtered(query: Any, flt: OrderFilter) -> Any:
    for name in ("merchant_id", "order_type", "status", "instance_key"):
        value = getattr(flt, name)
        if value is not None:
            query = query.where(getattr(Order, name) == value)
    if flt.any_of is not None:
        order_ids, instance_keys = flt.any_of
        query = query.where(col(Order.id).in_(order_ids) | col(Order.instance_key).in_(instance_keys))
    if flt.test_traffic == "only":
        query = query.where(Order.test_flag == "1")
    elif flt.test_traffic == "hide":
        query = query.where(Order.test_flag != "1")
    if flt.since is not None:
        query = query.where(col(Order.created_at) >= flt.since)
    if flt.until is not None:
        query = query.where(col(Order.created_at) < flt.until)
    if flt.before_seq is not None:
        query = query.where(col(Order.seq) < flt.before_seq)
    return query


@dataclass(frozen=True)
class PlacedOrder:
    """A purchase just committed, with what its 201 answer shows (no second read needed)."""

    order: Order
    lines: list[OrderLine]
    actions: list[str]


class Orders:
    def __init__(self, store: Store, clock: Clock, wake: Callable[[], None], sync_call: SyncCall) -> None:
        self.store = store
        self.clock = clock
        self._wake = wake
        self._sync_call = sync_call
        self._purchases: GroupCommit[tuple[OrderInput, datetime], PlacedOrder] = GroupCommit(store, self._create_all)

    # -- reading ---------------------------------------------------------------------------
    async def list(self, flt: OrderFilter) -> Sequence[Order]:
        """Newest first, one page."""
        async with self.store.read() as session:
            query = _filtered(select(Order), flt).order_by(col(Order.seq).desc())
            return (await session.exec(query.offset(flt.offset).limit(flt.limit))).all()

    async def count(self, flt: OrderFilter) -> int:
        """How many orders the filter matches (its paging ignored)."""
        async with self.store.read() as session:
            return int((await session.exec(_filtered(select(func.count()).select_from(Order), flt))).one())

    async def get(self, order_id: str) -> tuple[Order, list[OrderLine]]:
        async with self.store.read() as session:
            order = await _get_order(session, order_id)
            lines = (await session.exec(select(OrderLine).where(OrderLine.order_id == order_id))).all()
            return order, list(lines)

    async def actions(self, order: Order) -> list[str]:
        """What can be done through this order now: the instance's actions, or for a renewal
        order only the unsubscription of its period (when it is the latest)."""
        if order.instance_key is None or order.order_type == "UNSUBSCRIBE":
            return []
        async with self.store.read() as session:
            instance = await _get_instance(session, order.instance_key)
            product = await get_product(session, instance.product_id)
            if order.order_type != "RENEWAL":
                return lc.instance_actions(instance, product, families.missing_actions(instance.family))
            latest = await self._latest_renewal(session, instance.key)
        live = instance.state in (lc.ACTIVE, lc.FROZEN)
        return ["unsubscribe"] if live and latest is not None and latest.id == order.id else []

    @staticmethod
    async def _latest_renewal(session: AsyncSession, instance_key: str) -> Optional[Order]:
        return (await session.exec(
            select(Order).where(Order.instance_key == instance_key, Order.order_type == "RENEWAL",
                                Order.status != "unsubscribed").order_by(col(Order.seq).desc())
        )).first()

    async def instance(self, key: str) -> tuple[Instance, Product]:
        async with self.store.read() as session:
            instance = await _get_instance(session, key)
            product = await session.get(Product, instance.product_id)
            assert product is not None
            return instance, product

    async def list_instances(self, merchant_id: Optional[str] = None, state: Optional[str] = None,
                             limit: int = 100, offset: int = 0, after_key: Optional[str] = None
                             ) -> Sequence[Instance]:
        """Newest first, one page (served by the (merchant_id,) created_at, key indexes);
        ``after_key``: the page after that instance (keyset paging, flat at any depth)."""
        async with self.store.read() as session:
            query = select(Instance).order_by(col(Instance.created_at).desc(), col(Instance.key).desc())
            if merchant_id:
                query = query.where(Instance.merchant_id == merchant_id)
            if state:
                query = query.where(Instance.state == state)
            if after_key is not None:
                last = await _get_instance(session, after_key, field="cursor")
                # A row-value comparison: the index is entered at the cursor instead of scanned to it.
                query = query.where(tuple_(col(Instance.created_at), col(Instance.key))
                                    < tuple_(last.created_at, last.key))
            return (await session.exec(query.offset(offset).limit(limit))).all()

    # -- creating --------------------------------------------------------------------------
    async def create(self, data: OrderInput) -> PlacedOrder:
        """A new purchase (or trial): the order, its line, the pending instance and its newInstance
        delivery, committed together with the other purchases arriving at the same moment."""
        placed = await self._purchases.submit((data, self.clock.now().replace(microsecond=0)))
        self._wake()
        return placed

    def _create_all(self, session: Session, purchases: Sequence[tuple[OrderInput, datetime]]
                    ) -> list[PlacedOrder | DomainError]:
        seq = session.exec(select(func.max(Order.seq))).one() or 0
        batch = _Batch()
        placed: list[PlacedOrder | DomainError] = []
        with session.no_autoflush:  # one flush for the whole batch, at the commit
            for data, now in purchases:
                try:
                    placed.append(self._create_one(session, data, now, seq + 1, batch))
                    seq += 1
                except DomainError as refused:
                    placed.append(refused)
        return placed

    def _create_one(self, session: Session, data: OrderInput, now: datetime, seq: int, batch: "_Batch"
                    ) -> PlacedOrder:
        """Checks everything before adding anything, so a refused purchase leaves no trace."""
        product = batch.product(session, data.product)
        merchant = batch.merchant(session, product.merchant_id)
        require_emulated(merchant.family)
        _require_on_sale(product, "be bought")
        period_type, period_number = _purchase_period(product, data)
        order_id = new_order_id(now)
        while order_id in batch.order_ids or session.get(Order, order_id) is not None:
            order_id = new_order_id(now)
        batch.order_ids.add(order_id)
        order = _paid_order(order_id, merchant, "TRIAL" if data.trial else "NEW", now, seq, _buyer(data),
                            test_flag=data.test_flag)
        expire_at = expiry(now, period_type, period_number, product.expiry_rounding) if period_type else None
        line = self._line(order, product, now, period_type, period_number, data.linear_value, expire_at)
        instance = Instance(
            key=line.id, merchant_id=merchant.id, order_id=order.id, product_id=product.id,
            linear_value=data.linear_value, state=lc.PENDING, trial=data.trial,
            expire_at=expire_at, family=merchant.family, created_at=now,
        )
        _plan(instance, product)
        order.instance_key = instance.key
        facts = order_facts(order, line, data.trial, data.extend_params)
        session.add_all([order, line, instance, new_delivery(merchant, Callback(
            CallbackKind.PURCHASE, instance.key, order.id, line.id, test_flag=data.test_flag, order=facts,
            family=instance.family,
        ), now)])
        return PlacedOrder(order, [line], lc.instance_actions(instance, product,
                                                              families.missing_actions(instance.family)))

    async def renew(self, order_id: str, data: RenewInput) -> Order:
        async with self.store.read() as session:
            instance, product, merchant = await self._target(session, order_id)
            self._check_renewable(instance, product)
            target = await get_product(session, data.product) if data.product else product
            changes = target.id != product.id or (
                data.linear_value is not None and data.linear_value != instance.linear_value
            )
            if changes:
                self._check_change(merchant, product, target)
        if changes:
            await self._ask_change(merchant, instance, target, data.linear_value)
        async with self.store.write() as session:
            instance, product, merchant = await self._target(session, order_id)
            self._check_renewable(instance, product)
            target = await get_product(session, data.product) if data.product else product
            now = self.clock.now().replace(microsecond=0)
            was_expired = lc.is_expired_frozen(instance)
            told_frozen = was_expired and await _told_frozen(session, instance.key)
            assert instance.expire_at is not None and target.period_type is not None
            previous = instance.expire_at
            new_expiry = expiry(previous, target.period_type, data.period_number, target.expiry_rounding)
            order = await self._new_order(session, merchant, "RENEWAL", now, related=instance.order_id,
                                          instance_key=instance.key)
            line = self._line(order, target, now, target.period_type, data.period_number,
                              data.linear_value or instance.linear_value, new_expiry, previous)
            session.add_all([order, line])
            renewal = await enqueue(session, merchant, Callback(
                CallbackKind.RENEWAL, instance.key, order.id, line.id, instance.instance_id,
                expire_at=new_expiry, product_id=target.id if target.id != product.id else None, family=instance.family,
            ), now)
            self._apply_new_expiry(instance, target, new_expiry, data.linear_value)
            await self._unfreeze_if_recovered(session, merchant, instance, target, was_expired, told_frozen, now,
                                              renewal.id)
            session.add(instance)
        self._wake()
        return order

    async def convert_trial(self, order_id: str, data: ConvertInput) -> Order:
        async with self.store.write() as session:
            instance, product, merchant = await self._target(session, order_id)
            if not instance.trial:
                raise Conflict(f"instance {instance.key} is not a trial; renew it instead", field="trial")
            lc.require_state(instance, "convert a trial", (lc.ACTIVE, lc.FROZEN))
            lc.require_provisioned(instance, "convert a trial")
            target = await get_product(session, data.product) if data.product else product
            lc.require_periodic(target, "be bought after a trial")
            if target.merchant_id != merchant.id:
                raise InvalidInput("the formal product must belong to the same merchant", field="product")
            now = self.clock.now().replace(microsecond=0)
            was_expired = lc.is_expired_frozen(instance)
            told_frozen = was_expired and await _told_frozen(session, instance.key)
            assert target.period_type is not None
            new_expiry = expiry(now, target.period_type, data.period_number, target.expiry_rounding)
            order = await self._new_order(session, merchant, "TRIAL_TO_FORMAL", now, related=instance.order_id,
                                          instance_key=instance.key)
            line = self._line(order, target, now, target.period_type, data.period_number,
                              instance.linear_value, new_expiry, instance.expire_at)
            session.add_all([order, line])
            refresh = await enqueue(session, merchant, Callback(
                CallbackKind.TRIAL_TO_FORMAL, instance.key, order.id, line.id, instance.instance_id,
                expire_at=new_expiry, product_id=target.id if target.id != product.id else None, family=instance.family,
            ), now)
            instance.trial = False
            self._apply_new_expiry(instance, target, new_expiry, None)
            await self._unfreeze_if_recovered(session, merchant, instance, target, was_expired, told_frozen, now,
                                              refresh.id)
            session.add(instance)
        self._wake()
        return order

    async def upgrade(self, order_id: str, data: UpgradeInput) -> Order:
        async with self.store.write() as session:
            instance, product, merchant = await self._target(session, order_id)
            lc.require_periodic(product, "be upgraded")
            if not product.upgradable:
                raise Conflict(f"product {product.code} does not allow upgrades (upgradable is false)",
                               field="upgradable")
            lc.require_state(instance, "upgrade", (lc.ACTIVE,))
            lc.require_provisioned(instance, "upgrade")
            target = await get_product(session, data.product) if data.product else product
            lc.require_periodic(target, "be the target of an upgrade")
            _require_on_sale(target, "be upgraded to")
            if target.merchant_id != merchant.id:
                raise InvalidInput("the upgrade target must belong to the same merchant", field="product")
            if target.id == product.id and data.linear_value in (None, instance.linear_value):
                raise InvalidInput("the upgrade changes nothing: give another product or linear_value",
                                   field="product")
            now = self.clock.now().replace(microsecond=0)
            order = await self._new_order(session, merchant, "CHANGE", now, related=instance.order_id,
                                          instance_key=instance.key)
            linear = data.linear_value or instance.linear_value
            line = self._line(order, target, now, target.period_type, None, linear, instance.expire_at)
            session.add_all([order, line])
            await enqueue(session, merchant, Callback(
                CallbackKind.UPGRADE, instance.key, order.id, line.id, instance.instance_id,
                order=order_facts(order, line, instance.trial), family=instance.family,
            ), now)
            instance.product_id, instance.linear_value = target.id, linear
            session.add(instance)
        self._wake()
        return order

    async def unsubscribe(self, order_id: str) -> Order:
        """Unsubscribe a renewal period (renewal order) or the whole purchase (any other order)."""
        async with self.store.write() as session:
            order = await _get_order(session, order_id)
            if order.order_type == "RENEWAL":
                result = await self._unsubscribe_renewal(session, order)
            elif order.order_type == "UNSUBSCRIBE":
                raise Conflict(f"order {order_id} is itself an unsubscription", field="order_type")
            else:
                result = await self._unsubscribe_instance(session, order)
        self._wake()
        return result

    async def freeze(self, order_id: str) -> Instance:
        async with self.store.write() as session:
            instance, _product, merchant = await self._target(session, order_id)
            families.require_sends(instance.family, CallbackKind.UNFREEZE, "freeze by hand (it could never be undone)")
            lc.require_state(instance, "freeze", (lc.ACTIVE,))
            lc.require_provisioned(instance, "freeze")
            instance.state, instance.frozen_reason = lc.FROZEN, "manual"
            await self._send_status(session, merchant, instance, CallbackKind.FREEZE, self.clock.now())
        self._wake()
        return instance

    async def unfreeze(self, order_id: str) -> Instance:
        async with self.store.write() as session:
            instance, _product, merchant = await self._target(session, order_id)
            families.require_sends(instance.family, CallbackKind.UNFREEZE, "unfreeze")
            lc.require_state(instance, "unfreeze", (lc.FROZEN,))
            if instance.frozen_reason == "expired":
                raise Conflict(f"instance {instance.key} is frozen because it expired; renew it to unfreeze it",
                               field="state")
            lc.require_provisioned(instance, "unfreeze")
            instance.state, instance.frozen_reason = lc.ACTIVE, None
            await self._send_status(session, merchant, instance, CallbackKind.UNFREEZE, self.clock.now())
        self._wake()
        return instance

    async def release(self, order_id: str) -> Instance:
        async with self.store.write() as session:
            instance, product, merchant = await self._target(session, order_id)
            lc.require_state(instance, "release", (lc.PENDING, lc.ACTIVE, lc.FROZEN))
            await self._release(session, merchant, instance, self.clock.now(), None)
        self._wake()
        return instance

    async def request_licence_async(self, order_id: str, data: LicenceAsyncInput) -> Delivery:
        """Send getLicenseAsync for the instance (a device asks for its licence, PROTOCOL §6)."""
        async with self.store.write() as session:
            instance, _product, merchant = await self._target(session, order_id)
            families.require_sends(instance.family, CallbackKind.LICENSE_ASYNC, "request a licence asynchronously")
            lc.require_state(instance, "request a licence", (lc.ACTIVE, lc.FROZEN))
            lc.require_provisioned(instance, "request a licence")
            extra = async_members(data.event_id or new_business_id(), instance.created_at, instance.expire_at,
                                  data.device_fingerprint)
            delivery = await enqueue(session, merchant, Callback(
                CallbackKind.LICENSE_ASYNC, instance.key, instance_id=instance.instance_id, family=instance.family,
                extra=extra), self.clock.now())
        self._wake()
        return delivery

    async def deliver_licence(self, order_id: str, data: ManualLicenceInput) -> Instance:
        """Deliver a License purchase by hand after getLicense was exhausted: the operator types the
        licence in (PROTOCOL §6 "Exhausted getLicense"); its open deliveries are cancelled."""
        async with self.store.write() as session:
            instance, _product, _merchant = await self._target(session, order_id)
            if not families.require_emulated(instance.family).holds_failed_purchase:
                raise Conflict(f"instance {instance.key} is not a License 2.0 purchase", field="family")
            lc.require_state(instance, "deliver a licence by hand", (lc.PENDING,))
            now = self.clock.now()
            instance_id = data.instance_id or f"manual-{instance.key}"
            bound = (await session.exec(select(Instance.key).where(
                Instance.merchant_id == instance.merchant_id, Instance.instance_id == instance_id))).first()
            if bound is not None:
                raise Conflict(f"instanceId {instance_id} is already bound to order line {bound} (PROTOCOL §4 R2)",
                               field="instance_id")
            taken = await session.get(LicenseCode, data.license)
            if taken is not None:
                raise Conflict(f"licence {data.license} is already an authorization code"
                               + (f" of order line {taken.instance_key}" if taken.instance_key else " (a test code)"),
                               field="license")
            await cancel_open(session, instance.key, now, "cancelled: the licence was delivered by hand")
            instance.instance_id = instance_id
            instance.state, instance.ready = lc.ACTIVE, True
            order = await _get_order(session, instance.order_id)
            order.status = "delivered"
            session.add_all([instance, order])
            await session.run_sync(lambda sync: register_order_licence(sync, instance, data.license, now))
        self._wake()
        return instance

    async def query_instance(self, order_id: str) -> SyncOutcome:
        """Send one queryInstance now ("view resource details", PROTOCOL §4 R5)."""
        async with self.store.write() as session:
            instance, _product, merchant = await self._target(session, order_id)
            families.require_sends(instance.family, CallbackKind.QUERY, "query the instance")
            lc.require_provisioned(instance, "query the instance")
            delivery = await enqueue(session, merchant, Callback(
                CallbackKind.QUERY, instance.key, instance_id=instance.instance_id, family=instance.family),
                self.clock.now())
            delivery.next_attempt_at = None  # run below, not by the scheduler
        return await self._sync_call(_id(delivery))

    # -- clock-driven transitions ----------------------------------------------------------
    async def due_instance_keys(self, now: datetime) -> list[tuple[datetime, str]]:
        query = (select(Instance.next_event_at, Instance.key)
                 .where(col(Instance.next_event_at).is_not(None), col(Instance.next_event_at) <= now)
                 .order_by(col(Instance.next_event_at)))
        rows = await self.store.quick_read(lambda session: session.exec(query).all())
        return [(at, key) for at, key in rows if at is not None]

    async def next_event_time(self, after: Optional[datetime] = None) -> Optional[datetime]:
        """The earliest instance transition (strictly after ``after`` when given)."""
        query = select(func.min(Instance.next_event_at))
        if after is not None:
            query = query.where(col(Instance.next_event_at) > after)
        return await self.store.quick_read(lambda session: session.exec(query).one())

    async def fire_due(self, keys: Sequence[str]) -> None:
        """Apply the due transitions of these instances, expiry (FREEZE) or end of retention
        (release), in one transaction: a walk through months fires thousands at one instant."""
        async with self.store.write() as session:
            # Locked on PostgreSQL, so that of two replicas one fires and the other sees it done.
            instances = (await session.exec(
                select(Instance).where(col(Instance.key).in_(keys)).with_for_update())).all()
            now = self.clock.now()
            due = [i for i in instances if i.next_event_at is not None and i.next_event_at <= now]
            if not due:
                return
            products = await _by_id(session, Product, {i.product_id for i in due})
            merchants = await _by_id(session, Merchant, {i.merchant_id for i in due})
            open_rows = await open_deliveries(session, [i.key for i in due])
            for instance in due:
                merchant, known_open = merchants[instance.merchant_id], open_rows.get(instance.key, [])
                if instance.next_event == "expire":
                    await self._expire(session, merchant, instance, products[instance.product_id], now, known_open)
                elif instance.next_event == "grace_end":
                    await self._end_grace(session, merchant, instance, products[instance.product_id], now, known_open)
                elif instance.next_event == "release":
                    await self._release(session, merchant, instance, now, None, known_open)
        self._wake()

    # -- internals -------------------------------------------------------------------------
    async def _expire(self, session: AsyncSession, merchant: Merchant, instance: Instance,
                      product: Product, now: datetime, known_open: Optional[Sequence[Delivery]] = None) -> None:
        already_frozen = instance.state == lc.FROZEN
        instance.state, instance.frozen_reason = lc.FROZEN, "expired"
        _plan(instance, product)
        session.add(instance)
        if not already_frozen and instance.instance_id is not None:
            await self._send_status(session, merchant, instance, CallbackKind.FREEZE, now, known_open)

    async def _end_grace(self, session: AsyncSession, merchant: Merchant, instance: Instance, product: Product,
                         now: datetime, known_open: Optional[Sequence[Delivery]] = None) -> None:
        """License 2.0: once expiry and grace have passed the code is frozen (PROTOCOL §6)."""
        instance.next_event = None
        _plan(instance, product)
        session.add(instance)
        if instance.instance_id is not None:
            await self._send_status(session, merchant, instance, CallbackKind.GRACE_END, now, known_open)

    @staticmethod
    async def _send_status(session: AsyncSession, merchant: Merchant, instance: Instance,
                           kind: CallbackKind, now: datetime, known_open: Optional[Sequence[Delivery]] = None
                           ) -> None:
        """A freeze (FREEZE, GRACE_END) or UNFREEZE; it cancels what is left of the opposite one (PROTOCOL §9)."""
        opposite = ((CallbackKind.UNFREEZE,) if kind is not CallbackKind.UNFREEZE
                    else (CallbackKind.FREEZE, CallbackKind.GRACE_END))
        await cancel_open(session, instance.key, now, f"superseded by {kind.value.upper()}", opposite, known_open)
        # Added, not flushed: no caller needs its id, and a walk fires thousands in one transaction.
        session.add(new_delivery(merchant, Callback(
            kind, instance.key, instance_id=instance.instance_id, origin_order_id=instance.order_id,
            family=instance.family, reason=instance.frozen_reason if kind is CallbackKind.FREEZE else None), now))
        session.add(instance)

    async def _release(self, session: AsyncSession, merchant: Merchant, instance: Instance,
                       now: datetime, unsubscription: Optional[Order],
                       known_open: Optional[Sequence[Delivery]] = None) -> None:
        await cancel_open(session, instance.key, now, "cancelled: the instance was released", None, known_open)
        instance.state, instance.frozen_reason = lc.RELEASED, None
        instance.next_event, instance.next_event_at, instance.released_at = None, None, now
        session.add(instance)
        if instance.instance_id is None:
            return  # nothing to release on the merchant side (PROTOCOL §4 R8)
        order_id = unsubscription.id if unsubscription else None
        session.add(new_delivery(merchant, Callback(
            CallbackKind.RELEASE, instance.key, order_id, order_line_id(order_id) if order_id else None,
            instance.instance_id, origin_order_id=instance.order_id, family=instance.family,
        ), now))

    async def _unsubscribe_instance(self, session: AsyncSession, order: Order) -> Order:
        instance = await _get_instance(session, order.instance_key or "")
        lc.require_state(instance, "unsubscribe", (lc.PENDING, lc.ACTIVE, lc.FROZEN))
        merchant = await get_merchant(session, instance.merchant_id)
        product = await get_product(session, instance.product_id)
        now = self.clock.now().replace(microsecond=0)
        unsubscription = await self._new_order(session, merchant, "UNSUBSCRIBE", now, related=order.id,
                                               instance_key=instance.key)
        line = self._line(unsubscription, product, now, None, None, instance.linear_value, None)
        session.add_all([unsubscription, line])
        await session.flush()
        origin = await _get_order(session, instance.order_id)
        origin.status = "unsubscribed"
        session.add(origin)
        await self._release(session, merchant, instance, now, unsubscription)
        return unsubscription

    async def _unsubscribe_renewal(self, session: AsyncSession, renewal: Order) -> Order:
        if renewal.status == "unsubscribed":
            raise Conflict(f"renewal order {renewal.id} is already unsubscribed", field="status")
        instance = await _get_instance(session, renewal.instance_key or "")
        lc.require_state(instance, "unsubscribe a renewal period", (lc.ACTIVE, lc.FROZEN))
        latest = await self._latest_renewal(session, instance.key)
        if latest is None or latest.id != renewal.id:
            raise Conflict(
                f"only the latest renewal of instance {instance.key} can be unsubscribed"
                + (f" (that is {latest.id})" if latest else ""), field="order_id")
        line = (await session.exec(select(OrderLine).where(OrderLine.order_id == renewal.id))).one()
        merchant = await get_merchant(session, instance.merchant_id)
        product = await get_product(session, instance.product_id)
        now = self.clock.now()
        instance.expire_at = line.previous_expire_at  # an expired instance's release moves with it
        _plan(instance, product)
        renewal.status = "unsubscribed"
        session.add_all([instance, renewal])
        await enqueue(session, merchant, Callback(
            CallbackKind.UNSUBSCRIBE_RENEWAL, instance.key, renewal.id, line.id, instance.instance_id,
            expire_at=instance.expire_at, family=instance.family,
        ), now)
        return renewal

    def _apply_new_expiry(self, instance: Instance, product: Product, new_expiry: datetime,
                          linear_value: Optional[int]) -> None:
        instance.expire_at = new_expiry
        instance.product_id = product.id
        if linear_value is not None:
            instance.linear_value = linear_value
        _plan(instance, product)

    async def _unfreeze_if_recovered(self, session: AsyncSession, merchant: Merchant, instance: Instance,
                                     product: Product, was_expired: bool, told_frozen: bool, now: datetime,
                                     after: int) -> None:
        """A renewal in grace or retention unfreezes once its own call has finished (PROTOCOL §10);
        the merchant is told only if it was told of the freeze (a License code in grace was not)."""
        if not was_expired or instance.expire_at is None or instance.expire_at <= now:
            _plan(instance, product)
            return
        instance.state, instance.frozen_reason = lc.ACTIVE, None
        _plan(instance, product)
        unfreezes = told_frozen and families.unfreezes_after_renewal(instance.family)
        # what is left of the freeze is superseded (PROTOCOL §9), by the UNFREEZE or by the renewal itself
        await cancel_open(session, instance.key, now, "superseded by UNFREEZE" if unfreezes else
                          "superseded by the renewal", (CallbackKind.FREEZE, CallbackKind.GRACE_END))
        if not unfreezes:
            return  # the renewal's own call tells the merchant to reactivate (PROTOCOL §5, §7)
        await enqueue(session, merchant, Callback(CallbackKind.UNFREEZE, instance.key, instance_id=instance.instance_id,
                                                  family=instance.family), now, blocked_by=after)

    def _check_renewable(self, instance: Instance, product: Product) -> None:
        lc.require_periodic(product, "be renewed")
        if instance.trial:
            raise Conflict(f"instance {instance.key} is a trial; convert it to a formal order instead of renewing",
                           field="trial")
        lc.require_state(instance, "renew", (lc.ACTIVE, lc.FROZEN))
        lc.require_provisioned(instance, "renew")

    @staticmethod
    def _check_change(merchant: Merchant, product: Product, target: Product) -> None:
        if not product.allows_change:
            raise Conflict(f"product {product.code} does not allow a spec change at renewal (allows_change is false)",
                           field="allows_change")
        lc.require_periodic(target, "be the target of a renewal")
        if target.merchant_id != merchant.id:
            raise InvalidInput("the renewal target must belong to the same merchant", field="product")

    async def _ask_change(self, merchant: Merchant, instance: Instance, target: Product,
                          linear_value: Optional[int]) -> None:
        if not families.sends(instance.family, CallbackKind.CHANGE_CHECK):
            return  # no changeInstanceCheck in this family: the change goes out with the renewal
        async with self.store.write() as session:
            delivery = await enqueue(session, merchant, Callback(
                CallbackKind.CHANGE_CHECK, instance.key, instance_id=instance.instance_id,
                product_id=target.id, sku_code=target.sku_code, linear_value=linear_value or instance.linear_value,
                family=instance.family,
            ), self.clock.now())
            delivery.next_attempt_at = None
        outcome = await self._sync_call(_id(delivery))
        if not outcome.passed:
            raise Conflict(
                f"the merchant refused the change (changeInstanceCheck, delivery {outcome.delivery_id}): "
                f"{outcome.summary}", field="product")

    async def _target(self, session: AsyncSession, order_id: str) -> tuple[Instance, Product, Merchant]:
        order = await _get_order(session, order_id)
        if order.instance_key is None:
            raise Conflict(f"order {order_id} has no instance", field="order_id")
        instance = await _get_instance(session, order.instance_key)
        product = await get_product(session, instance.product_id)
        merchant = await get_merchant(session, instance.merchant_id)
        require_emulated(instance.family)
        return instance, product, merchant

    async def _new_order(self, session: AsyncSession, merchant: Merchant, order_type: str, now: datetime,
                         buyer: Optional[dict] = None, related: Optional[str] = None,
                         instance_key: Optional[str] = None, test_flag: str = "0") -> Order:
        seq = ((await session.exec(select(func.max(Order.seq)))).one() or 0) + 1
        order_id = new_order_id(now)
        while await session.get(Order, order_id) is not None:
            order_id = new_order_id(now)
        if buyer is None and related is not None:
            origin = await session.get(Order, related)
            buyer = origin.buyer if origin else None
        return _paid_order(order_id, merchant, order_type, now, seq, buyer or _buyer(None), related, instance_key,
                           test_flag)

    @staticmethod
    def _line(order: Order, product: Product, now: datetime, period_type: Optional[str],
              period_number: Optional[int], linear_value: Optional[int], expire_at: Optional[datetime],
              previous_expire_at: Optional[datetime] = None) -> OrderLine:
        amount = Decimal(product.price) * (period_number or 1)
        return OrderLine(
            id=order_line_id(order.id), order_id=order.id, product_id=product.id, sku_code=product.sku_code,
            charging_mode=product.charging_mode, period_type=period_type, period_number=period_number,
            linear_value=linear_value, amount=str(amount), expire_at=expire_at,
            previous_expire_at=previous_expire_at,
        )


def _plan(instance: Instance, product: Product) -> None:
    """The instance's next transition; the end of grace is one for families that send a call then."""
    lc.plan_next_event(instance, product, families.require_emulated(instance.family).grace_call)


async def _told_frozen(session: AsyncSession, instance_key: str) -> bool:
    """Whether the last status the merchant was told is a freeze (``status``/``instanceStatus``
    FREEZE; an ``expireLicense`` is an expiry, not a freeze of the code, §6)."""
    last = (await session.exec(
        select(Delivery).where(Delivery.instance_key == instance_key,
                               col(Delivery.kind).in_(("freeze", "grace_end", "unfreeze")),
                               Delivery.status != "cancelled")
        .order_by(col(Delivery.id).desc()).limit(1))).first()
    if last is None:
        return False
    return "FREEZE" in (last.params.get("status"), last.params.get("instanceStatus"))


def order_facts(order: Order, line: OrderLine, trial: bool,
                extend_params: Optional[Sequence[Any]] = None) -> OrderFacts:
    return OrderFacts(
        buyer=order.buyer, created_at=order.created_at, trial=trial, charging_mode=line.charging_mode,
        period_type=line.period_type, period_number=line.period_number, amount=line.amount,
        expire_at=line.expire_at, product_id=line.product_id, sku_code=line.sku_code,
        linear_value=line.linear_value, extend_params=tuple((p.name, p.value) for p in extend_params or ()),
    )


def _paid_order(order_id: str, merchant: Merchant, order_type: str, now: datetime, seq: int, buyer: dict,
                related: Optional[str] = None, instance_key: Optional[str] = None, test_flag: str = "0") -> Order:
    return Order(id=order_id, merchant_id=merchant.id, order_type=order_type, status="paid",
                 instance_key=instance_key, related_order_id=related, buyer=buyer, test_flag=test_flag,
                 created_at=now, seq=seq)


async def _by_id(session: AsyncSession, table: type[T], ids: set[str]) -> dict[str, T]:
    rows = (await session.exec(select(table).where(col(table.id).in_(ids)))).all()  # type: ignore[attr-defined]
    return {row.id: row for row in rows}  # type: ignore[attr-defined]


class _Batch:
    """What the purchases of one group commit look up more than once."""

    def __init__(self) -> None:
        self.order_ids: set[str] = set()
        self._products: dict[str, Product] = {}
        self._merchants: dict[str, Merchant] = {}

    def product(self, session: Session, ref: str) -> Product:
        """``catalogue.get_product`` on a blocking session."""
        if ref not in self._products:
            found = session.get(Product, ref) or session.exec(select(Product).where(Product.code == ref)).first()
            if found is None:
                raise product_not_found(ref)
            self._products[ref] = found
        return self._products[ref]

    def merchant(self, session: Session, merchant_id: str) -> Merchant:
        if merchant_id not in self._merchants:
            found = session.get(Merchant, merchant_id)
            assert found is not None  # a product's merchant is a foreign key
            self._merchants[merchant_id] = found
        return self._merchants[merchant_id]


def _require_on_sale(product: Product, action: str) -> None:
    if product.frozen:
        raise Conflict(f"product {product.code} is frozen and hidden after failing dial tests, so it cannot "
                       f"{action} (PROTOCOL §11.6)", field="product")
    if product.sale_state != "on_sale":
        raise Conflict(f"product {product.code} is {product.sale_state}, so it cannot {action}", field="product")


def _purchase_period(product: Product, data: OrderInput) -> tuple[Optional[str], Optional[int]]:
    if data.trial:
        if not product.trial_days:
            raise Conflict(f"product {product.code} offers no trial (trial_days is not set)", field="trial")
        if data.period_number is not None:
            raise InvalidInput("a trial lasts the product's trial_days; leave period_number out", field="period_number")
        return "day", product.trial_days
    if product.charging_mode != "PERIOD":
        if data.period_number is not None:
            raise InvalidInput(f"period_number must be empty for a {product.charging_mode} product",
                               field="period_number")
        return None, None
    return product.period_type, data.period_number or 1


def _buyer(data: Optional[OrderInput]) -> dict:
    given = data.buyer.model_dump(exclude_none=True) if data and data.buyer else {}
    customer_id = given.get("customer_id") or new_customer_id()
    return {
        "customer_id": customer_id,
        "customer_name": given.get("customer_name", "mock_user_" + customer_id[:6]),
        "customer_real_name": given.get("customer_real_name"),
        "customer_type": given.get("customer_type", 0),
        "mobile_phone": given.get("mobile_phone"),
        "email": given.get("email"),
    }


def _id(delivery: Delivery) -> int:
    assert delivery.id is not None
    return delivery.id


async def _get_order(session: AsyncSession, order_id: str) -> Order:
    order = await session.get(Order, order_id)
    if order is None:
        raise NotFound(f"order {order_id!r} does not exist", field="order_id")
    return order


async def _get_instance(session: AsyncSession, key: str, field: str = "instance") -> Instance:
    instance = await session.get(Instance, key)
    if instance is None:
        raise NotFound(f"instance {key!r} does not exist", field=field)
    return instance
