"""Backends of Agents/API products, the buyers' keys, and the journal of forwarded calls."""

from __future__ import annotations

import secrets
import time
import uuid
from dataclasses import dataclass
from typing import Any, Callable, Optional, Sequence

from sqlalchemy import case
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, func, select

from ..clock import Clock
from ..marketplace.catalogue import get_product
from ..marketplace.errors import Conflict, InvalidInput, NotFound
from ..marketplace.targets import OwnAddress
from ..store import Store
from ..store.tables import GatewayBackend, GatewayCall, GatewayKey, Instance, Order, Product
from .inputs import BackendInput
from .records import CallRecord, Recorder
from .targets import BUILTIN_DEMO, backend_url_reason

CACHE_S = 1.0  # how long a key or a backend is trusted without reading the store (other replicas' changes)
USABLE_STATES = ("pending", "active")  # an instance frozen, released or failed cannot be called


@dataclass(frozen=True)
class Route:
    """Where a product's calls go."""

    product_id: str
    product_code: str
    merchant_id: str
    kind: str
    backend_url: str
    http_method: str
    auth_mode: str
    access_key: Optional[str]
    secret_key: Optional[str]


@dataclass(frozen=True)
class Access:
    """What a buyer's key opens: one instance of one product, bought by one customer."""

    key: str
    order_id: str
    instance_key: str
    product_id: str
    merchant_id: str
    state: str
    customer_id: str
    customer_name: str


@dataclass
class CallFilter:
    order_id: Optional[str] = None
    merchant_id: Optional[str] = None
    product_id: Optional[str] = None
    passed: Optional[bool] = None
    after_id: Optional[int] = None
    before_id: Optional[int] = None
    limit: int = 100


class Gateway:
    def __init__(self, store: Store, clock: Clock, own_address: Callable[[], Optional[OwnAddress]],
                 on_call: Callable[[], None] = lambda: None, on_change: Callable[[], None] = lambda: None) -> None:
        self.store = store
        self.clock = clock
        self._own_address = own_address
        self._on_change = on_change
        self.recorder = Recorder(store, on_written=on_call)
        self._routes: dict[str, tuple[float, Optional[Route]]] = {}
        self._keys: dict[str, tuple[float, Optional[Access]]] = {}

    def forget(self) -> None:
        """Drop the cached keys and backends (an order or a backend changed)."""
        self._routes.clear()
        self._keys.clear()

    # -- backends ----------------------------------------------------------------------------
    async def register(self, product_ref: str, data: BackendInput, builtin: bool = False) -> tuple[GatewayBackend, bool]:
        """Register or replace a product's backend; (backend, created)."""
        if not (builtin and data.backend_url == BUILTIN_DEMO):
            reason = backend_url_reason(data.backend_url, self._own_address())
            if reason:
                raise InvalidInput(f"backend_url {reason}", field="backend_url")
        now = self.clock.now()
        async with self.store.write() as session:
            product = await get_product(session, product_ref)
            backend = await session.get(GatewayBackend, product.id)
            created = backend is None
            ak, sk = data.access_key, data.secret_key
            if data.auth_mode == "aksk":
                kept = backend if backend is not None and backend.auth_mode == "aksk" else None
                ak = ak or (kept.access_key if kept else None) or str(uuid.uuid4())
                sk = sk or (kept.secret_key if kept else None) or secrets.token_hex(16)
            backend = backend or GatewayBackend(product_id=product.id, kind=data.kind, backend_url=data.backend_url,
                                                created_at=now, updated_at=now)
            backend.kind, backend.backend_url = data.kind, data.backend_url
            backend.http_method, backend.auth_mode = data.http_method, data.auth_mode
            backend.access_key, backend.secret_key, backend.updated_at = ak, sk, now
            session.add(backend)
        self.forget()
        self._on_change()
        return backend, created

    async def backend(self, product_ref: str) -> tuple[GatewayBackend, Product]:
        async with self.store.read() as session:
            product = await get_product(session, product_ref)
            backend = await session.get(GatewayBackend, product.id)
        if backend is None:
            raise NotFound(f"product {product.code!r} has no gateway backend", field="product")
        return backend, product

    async def backends(self) -> list[tuple[GatewayBackend, Product]]:
        async with self.store.read() as session:
            rows = (await session.exec(select(GatewayBackend, Product).join(
                Product, col(Product.id) == col(GatewayBackend.product_id)).order_by(Product.code))).all()
        return [(backend, product) for backend, product in rows]

    async def remove(self, product_ref: str) -> None:
        async with self.store.write() as session:
            product = await get_product(session, product_ref)
            backend = await session.get(GatewayBackend, product.id)
            if backend is None:
                raise NotFound(f"product {product.code!r} has no gateway backend", field="product")
            await session.delete(backend)
        self.forget()
        self._on_change()

    # -- the buyer's key ---------------------------------------------------------------------
    async def key_for_order(self, order_id: str) -> tuple[GatewayKey, Product, GatewayBackend]:
        """The key of the order's instance, issued on first request (any order of the instance)."""
        for _ in range(2):
            async with self.store.write() as session:
                order = await session.get(Order, order_id)
                if order is None:
                    raise NotFound(f"order {order_id!r} does not exist", field="order_id")
                instance = await session.get(Instance, order.instance_key) if order.instance_key else None
                if instance is None:
                    raise Conflict(f"order {order_id} has no instance to call", field="order_id")
                product = await get_product(session, instance.product_id)
                backend = await session.get(GatewayBackend, product.id)
                if backend is None:
                    raise Conflict(f"order {order_id} is for product {product.code}, which has no gateway backend "
                                   "(it is not an Agents or API product)", field="order_id")
                key = (await session.exec(select(GatewayKey).where(GatewayKey.instance_key == instance.key))).first()
                if key is not None:
                    return key, product, backend
                key = GatewayKey(key="gk_" + secrets.token_hex(16), instance_key=instance.key,
                                 order_id=instance.order_id, created_at=self.clock.now())
                session.add(key)
                try:
                    await session.flush()
                except IntegrityError:  # another replica issued it at the same moment: read theirs
                    await session.rollback()
                    continue
                return key, product, backend
        raise Conflict(f"the key of order {order_id} could not be issued; try again", field="order_id")

    async def route(self, product_ref: str) -> Optional[Route]:
        cached = self._routes.get(product_ref)
        if cached is not None and cached[0] > time.monotonic():
            return cached[1]
        route = await self.store.quick_read(lambda session: _read_route(session, product_ref))
        if len(self._routes) > 10_000:
            self._routes.clear()
        self._routes[product_ref] = (time.monotonic() + CACHE_S, route)
        return route

    async def access(self, key: str) -> Optional[Access]:
        cached = self._keys.get(key)
        if cached is not None and cached[0] > time.monotonic():
            return cached[1]
        access = await self.store.quick_read(lambda session: _read_access(session, key))
        if len(self._keys) > 10_000:
            self._keys.clear()
        self._keys[key] = (time.monotonic() + CACHE_S, access)
        return access

    # -- the journal -------------------------------------------------------------------------
    def record(self, call: CallRecord) -> None:
        self.recorder.record(call)

    async def flush(self) -> None:
        await self.recorder.flush()

    async def calls(self, flt: CallFilter) -> Sequence[GatewayCall]:
        await self.flush()
        query = select(GatewayCall).order_by(col(GatewayCall.id).desc())
        for column, value in ((GatewayCall.order_id, flt.order_id), (GatewayCall.merchant_id, flt.merchant_id),
                              (GatewayCall.product_id, flt.product_id), (GatewayCall.passed, flt.passed)):
            if value is not None:
                query = query.where(column == value)
        if flt.after_id is not None:
            query = query.where(col(GatewayCall.id) > flt.after_id)
        if flt.before_id is not None:
            query = query.where(col(GatewayCall.id) < flt.before_id)
        async with self.store.read() as session:
            return (await session.exec(query.limit(flt.limit))).all()

    async def call(self, call_id: int) -> GatewayCall:
        await self.flush()
        async with self.store.read() as session:
            call = await session.get(GatewayCall, call_id)
        if call is None:
            raise NotFound(f"gateway call {call_id} does not exist", field="call_id")
        return call

    async def totals(self, order_id: str) -> dict[str, Any]:
        """What the calls of an order's instance (its purchase order) add up to."""
        await self.flush()
        c = GatewayCall
        query = select(func.count(), func.coalesce(func.sum(c.billed_calls), 0), func.coalesce(func.sum(c.billed_tokens), 0),
                       func.coalesce(func.sum(c.prompt_tokens), 0), func.coalesce(func.sum(c.completion_tokens), 0),
                       func.coalesce(func.sum(c.total_tokens), 0),
                       func.coalesce(func.sum(case((col(c.passed).is_(False), 1), else_=0)), 0)
                       ).where(c.order_id == order_id)
        async with self.store.read() as session:
            row = (await session.exec(query)).one()  # type: ignore[call-overload]
        names = ("calls", "billed_calls", "billed_tokens", "prompt_tokens", "completion_tokens", "total_tokens",
                 "failed")
        return {name: int(value) for name, value in zip(names, row)}


def _read_route(session: Session, product_ref: str) -> Optional[Route]:
    row = session.exec(select(GatewayBackend, Product).join(Product, col(Product.id) == col(GatewayBackend.product_id))
                       .where((col(Product.id) == product_ref) | (col(Product.code) == product_ref))).first()
    if row is None:
        return None
    backend, product = row
    return Route(product.id, product.code, product.merchant_id, backend.kind, backend.backend_url,
                 backend.http_method, backend.auth_mode, backend.access_key, backend.secret_key)


def _read_access(session: Session, key: str) -> Optional[Access]:
    row = session.exec(select(GatewayKey, Instance, Order)
                       .join(Instance, col(Instance.key) == col(GatewayKey.instance_key))
                       .join(Order, col(Order.id) == col(GatewayKey.order_id))
                       .where(GatewayKey.key == key)).first()
    if row is None:
        return None
    gk, instance, order = row
    buyer = order.buyer or {}
    return Access(gk.key, gk.order_id, instance.key, instance.product_id, instance.merchant_id, instance.state,
                  str(buyer.get("customer_id") or ""), str(buyer.get("customer_name") or ""))
