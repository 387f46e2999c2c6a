"""Find what an id names: an order, an order line, an instance (by its key or the merchant's
instanceId) or an attempt's businessId.

QA pastes whatever id they have, in any case and often only part of it. Exact matches are looked
up first, each through an index; only when none matches is a part of an id searched for, and then
in bounded scans (order ids, instance keys and instanceIds contain the part; businessIds start
with it, which their index serves).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Optional

from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from ..store.engine import Store
from ..store.tables import Attempt, Delivery, Instance, Order, OrderLine

MAX_TERM = 128
#: Hits of each kind kept from a partial search: enough to choose from, bounded on a large store.
PARTIAL_LIMIT = 50


@dataclass(frozen=True)
class Hit:
    kind: str  # order | order line | instance | instanceId | businessId
    value: str  # the id as stored
    merchant_id: str
    order_id: Optional[str] = None
    instance_key: Optional[str] = None
    delivery_id: Optional[int] = None


@dataclass
class Found:
    """The hits of one search, and the deliveries they stand for."""

    term: str
    hits: list[Hit] = field(default_factory=list)
    partial: bool = False  # no exact match: these contain the term
    truncated: bool = False  # more ids contain it than a partial search keeps (PARTIAL_LIMIT of a kind)

    @property
    def order_ids(self) -> set[str]:
        return {h.order_id for h in self.hits if h.order_id and h.kind in ("order", "order line")}

    @property
    def instance_keys(self) -> set[str]:
        return {h.instance_key for h in self.hits if h.instance_key and h.kind in ("instance", "instanceId")}

    @property
    def delivery_ids(self) -> set[int]:
        return {h.delivery_id for h in self.hits if h.delivery_id is not None}


def _variants(term: str) -> list[str]:
    return list(dict.fromkeys((term, term.upper(), term.lower())))


def _like_escaped(term: str) -> str:
    return term.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


async def search(store: Store, term: str) -> Found:
    term = term.replace("\x00", "").strip()  # no id holds a NUL, and PostgreSQL refuses one
    found = Found(term)
    if not term or len(term) > MAX_TERM:
        return found
    async with store.read() as session:
        found.hits = await _exact(session, _variants(term))
        if not found.hits:
            found.hits, found.partial = await _partial(session, term), True
            kinds = [h.kind for h in found.hits]
            found.truncated = any(kinds.count(kind) >= PARTIAL_LIMIT for kind in set(kinds))
    return found


async def _exact(session: AsyncSession, ids: list[str]) -> list[Hit]:
    hits: list[Hit] = []
    for o in (await session.exec(select(Order).where(col(Order.id).in_(ids)))).all():
        hits.append(Hit("order", o.id, o.merchant_id, o.id, o.instance_key))
    lines = select(OrderLine, Order).join(Order, col(OrderLine.order_id) == col(Order.id))
    for line, o in (await session.exec(lines.where(col(OrderLine.id).in_(ids)))).all():
        hits.append(Hit("order line", line.id, o.merchant_id, o.id, o.instance_key))
    for i in (await session.exec(select(Instance).where(col(Instance.key).in_(ids)))).all():
        hits.append(Hit("instance", i.key, i.merchant_id, i.order_id, i.key))
    for i in (await session.exec(select(Instance).where(col(Instance.instance_id).in_(ids)))).all():
        hits.append(Hit("instanceId", i.instance_id or "", i.merchant_id, i.order_id, i.key))
    attempts = select(Attempt.business_id, Delivery).join(Delivery, col(Attempt.delivery_id) == col(Delivery.id))
    for business_id, d in (await session.exec(attempts.where(col(Attempt.business_id).in_(ids)))).all():
        hits.append(Hit("businessId", business_id or "", d.merchant_id, d.order_id, d.instance_key, d.id))
    # A purchase's order line is its instance's key: one thing, named once (as the instance).
    keys = {h.value for h in hits if h.kind == "instance"}
    return [h for h in hits if not (h.kind == "order line" and h.value in keys)]


async def _partial(session: AsyncSession, term: str) -> list[Hit]:
    pattern = f"%{_like_escaped(term.lower())}%"
    # SQLite's LIKE ignores ASCII case already, and without lower() it can read the ids from their
    # index alone; PostgreSQL's ILIKE does the same job there.
    sqlite = session.bind.dialect.name == "sqlite"

    def contains(column: Any) -> Any:
        return column.like(pattern, escape="\\") if sqlite else column.ilike(pattern, escape="\\")

    hits: list[Hit] = []
    # Order ids start with their date and time: newest first by id, which the primary key serves.
    orders = select(Order).where(contains(Order.id)).order_by(col(Order.id).desc()).limit(PARTIAL_LIMIT)
    for o in (await session.exec(orders)).all():
        hits.append(Hit("order", o.id, o.merchant_id, o.id, o.instance_key))
    instances = (select(Instance).where(contains(Instance.key) | contains(Instance.instance_id))
                 .order_by(col(Instance.key).desc()).limit(PARTIAL_LIMIT))
    for i in (await session.exec(instances)).all():
        by_key = term.lower() in i.key.lower()
        hits.append(Hit("instance" if by_key else "instanceId", i.key if by_key else (i.instance_id or ""),
                        i.merchant_id, i.order_id, i.key))
    prefix = term.lower()
    attempts = (select(Attempt.business_id, Delivery).join(Delivery, col(Attempt.delivery_id) == col(Delivery.id))
                .where(col(Attempt.business_id) >= prefix, col(Attempt.business_id) < prefix + "\U0010ffff")
                .limit(PARTIAL_LIMIT))
    for business_id, d in (await session.exec(attempts)).all():
        hits.append(Hit("businessId", business_id or "", d.merchant_id, d.order_id, d.instance_key, d.id))
    return hits
