"""The inbound-call journal: every open-API call with its request, response and verdict."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, fields
from datetime import datetime
from typing import Any, Callable, Optional, Sequence

from sqlmodel import col, func, select

from ..marketplace.errors import NotFound
from ..store import Store
from ..store.prepared import Params, PreparedInsert
from ..store.tables import InboundCall


@dataclass
class JournalFilter:
    merchant_id: Optional[str] = None
    api: Optional[str] = None
    accepted: Optional[bool] = None
    before_id: Optional[int] = None  # keyset paging: calls older than this one (newest first)
    limit: int = 100
    offset: int = 0


def _filtered(query: Any, flt: JournalFilter) -> Any:
    if flt.merchant_id:
        query = query.where(InboundCall.merchant_id == flt.merchant_id)
    if flt.api:
        query = query.where(InboundCall.api == flt.api)
    if flt.accepted is not None:
        query = query.where(InboundCall.accepted == flt.accepted)
    if flt.before_id is not None:
        query = query.where(col(InboundCall.id) < flt.before_id)
    return query


@dataclass(slots=True)
class CallRecord:
    """One call as the gateway sees it, written later as an ``InboundCall`` row. A plain object:
    building an ORM row per call costs more than answering the call."""

    request_id: str
    api: str
    at: datetime
    wall: datetime
    method: str
    path: str
    query: str
    request_headers: dict[str, str]
    status: int = 0
    merchant_id: Optional[str] = None
    ak: Optional[str] = None
    request_body: str = ""
    response_body: str = ""
    result_code: str = ""
    accepted: bool = False
    verdict: str = ""
    detail: Optional[str] = None
    elapsed_ms: float = 0.0
    order_id: Optional[str] = None

    def row(self) -> dict[str, Any]:
        return {name: getattr(self, name) for name in _COLUMNS}


_COLUMNS = tuple(f.name for f in fields(CallRecord))


class Journal:
    """Calls are queued and written in batches by one background writer, so the gateway does not
    wait for a transaction per call; reads first wait until everything queued is written."""

    def __init__(self, store: Store, on_written: Callable[[], None] = lambda: None) -> None:
        self.store = store
        self._insert = PreparedInsert(InboundCall.__table__, _COLUMNS, store.dialect)  # type: ignore[attr-defined]
        self._queue: list[Params] = []
        self._writer: Optional[asyncio.Task[None]] = None
        self._on_written = on_written

    def record(self, call: CallRecord) -> None:
        self._queue.append(self._insert.params(call.row()))
        if self._writer is None or self._writer.done():
            self._writer = asyncio.get_running_loop().create_task(self._write())

    async def _write(self) -> None:
        while self._queue:
            batch, self._queue = self._queue, []
            await self.store.run_write(
                lambda session: session.connection().exec_driver_sql(self._insert.sql, batch))  # type: ignore[arg-type]
            self._on_written()

    async def flush(self) -> None:
        while self._writer is not None and not self._writer.done():
            await asyncio.shield(self._writer)

    async def list(self, flt: JournalFilter) -> Sequence[InboundCall]:
        await self.flush()
        async with self.store.read() as session:
            query = _filtered(select(InboundCall), flt).order_by(col(InboundCall.id).desc())
            return (await session.exec(query.offset(flt.offset).limit(flt.limit))).all()

    async def count(self, flt: JournalFilter) -> int:
        """How many calls the filter matches (its paging ignored)."""
        await self.flush()
        async with self.store.read() as session:
            return int((await session.exec(_filtered(select(func.count()).select_from(InboundCall), flt))).one())

    async def get(self, call_id: int) -> InboundCall:
        await self.flush()
        async with self.store.read() as session:
            call = await session.get(InboundCall, call_id)
        if call is None:
            raise NotFound(f"inbound call {call_id} does not exist", field="call_id")
        return call
