"""The inbound-call journal: every open-API call with its request, response and verdict."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Optional, Sequence

from sqlmodel import col, select

from ..marketplace.errors import NotFound
from ..store import Store
from ..store.tables import InboundCall


@dataclass
class JournalFilter:
    merchant_id: Optional[str] = None
    api: Optional[str] = None
    accepted: Optional[bool] = None
    limit: int = 100
    offset: int = 0


class Journal:
    def __init__(self, store: Store) -> None:
        self.store = store

    async def record(self, call: InboundCall) -> InboundCall:
        async with self.store.write() as session:
            session.add(call)
            await session.flush()
        return call

    async def list(self, flt: JournalFilter) -> Sequence[InboundCall]:
        async with self.store.read() as session:
            query = select(InboundCall).order_by(col(InboundCall.id).desc())
            if flt.merchant_id:
                query = query.where(InboundCall.merchant_id == flt.merchant_id)
            if flt.api:
                query = query.where(InboundCall.api == flt.api)
            if flt.accepted is not None:
                query = query.where(InboundCall.accepted == flt.accepted)
            return (await session.exec(query.offset(flt.offset).limit(flt.limit))).all()

    async def get(self, call_id: int) -> InboundCall:
        async with self.store.read() as session:
            call = await session.get(InboundCall, call_id)
        if call is None:
            raise NotFound(f"inbound call {call_id} does not exist", field="call_id")
        return call
