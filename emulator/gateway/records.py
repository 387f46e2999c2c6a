"""The journal of gateway calls: written in batches by one background writer, like the open-API
journal, so that a forwarded call does not wait for a transaction of its own.

The writer lets calls gather for ``WRITE_EVERY_S`` before it writes them in one transaction
(``flush`` cuts the wait short, so a read of the journal still sees every call made before it):
under load that is a few transactions and thread hops a second instead of hundreds, and the worker
thread competes less with the event loop for the interpreter lock. Rows are converted to the
driver's values on the loop when recorded, and each batch goes to the driver's own
``executemany``."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field, fields
from datetime import datetime
from operator import attrgetter
from typing import Any, Callable, Optional

from sqlalchemy import Dialect, insert
from sqlmodel import Session

from ..store import Store
from ..store.prepared import Params
from ..store.tables import GatewayCall

BODY_KEPT = 64 * 1024  # characters of a request or reply body kept in the journal
WRITE_EVERY_S = 0.1  # how long recorded calls may wait to be written together


def kept(text: str) -> str:
    if len(text) <= BODY_KEPT:
        return text
    return text[:BODY_KEPT] + f"\n… ({len(text) - BODY_KEPT} more characters not kept)"


@dataclass(slots=True)
class CallRecord:
    request_id: str
    at: datetime
    wall: datetime
    method: str
    path: str
    query: str = ""
    product_id: Optional[str] = None
    merchant_id: Optional[str] = None
    order_id: Optional[str] = None
    instance_key: Optional[str] = None
    customer_id: Optional[str] = None
    kind: Optional[str] = None
    target_url: Optional[str] = None
    request_headers: dict[str, str] = field(default_factory=dict)
    request_body: str = ""
    status: Optional[int] = None
    response_headers: dict[str, str] = field(default_factory=dict)
    response_body: str = ""
    streamed: bool = False
    events: int = 0
    caller_status: int = 0
    error: Optional[str] = None
    passed: bool = False
    failures: list[str] = field(default_factory=list)
    prompt_tokens: Optional[int] = None
    completion_tokens: Optional[int] = None
    total_tokens: Optional[int] = None
    billed_tokens: int = 0
    billed_calls: int = 0
    elapsed_ms: float = 0.0

    def row(self) -> dict[str, Any]:
        return {name: getattr(self, name) for name in _COLUMNS}


_COLUMNS = tuple(f.name for f in fields(CallRecord))


class RowEncoder:
    """The INSERT of a call and the driver's parameters for one call: the values read in the
    statement's order in one step, then converted (date-times, JSON, booleans) where the column
    type says so, as SQLAlchemy would convert them."""

    def __init__(self, dialect: Dialect) -> None:
        table = GatewayCall.__table__  # type: ignore[attr-defined]
        compiled = insert(table).compile(dialect=dialect, column_keys=list(_COLUMNS))
        self.sql = str(compiled)
        positional = compiled.positiontup if compiled.positional else None
        order: tuple[str, ...] = tuple(positional) if positional else _COLUMNS
        self._names = None if compiled.positional else order
        self._values = attrgetter(*order)
        self._converters = [(i, _faster(convert)) for i, name in enumerate(order)
                            if (convert := table.c[name].type.dialect_impl(dialect).bind_processor(dialect))]

    def params(self, call: CallRecord) -> Params:
        values = list(self._values(call))
        for i, convert in self._converters:
            values[i] = convert(values[i])
        return tuple(values) if self._names is None else dict(zip(self._names, values))


_PROBES = (datetime(2026, 1, 2, 3, 4, 5, 6), datetime(2026, 12, 31, 23, 59, 59), datetime(1999, 1, 1))


def _faster(convert: Callable[[Any], Any]) -> Callable[[Any], Any]:
    """SQLite's date-time text (``YYYY-MM-DD HH:MM:SS.ffffff``) written by ``isoformat``, in C,
    when that gives what the dialect's converter gives; any other converter as it is."""
    try:
        same = all(convert(probe) == probe.isoformat(" ", "microseconds") for probe in _PROBES)
    except Exception:  # not a date-time converter
        return convert
    if not same:
        return convert

    def iso(value: Any) -> Any:
        if type(value) is datetime and value.tzinfo is None and value.year >= 1000:
            return value.isoformat(" ", "microseconds")
        return convert(value)

    return iso


class Recorder:
    def __init__(self, store: Store, on_written: Callable[[], None] = lambda: None) -> None:
        self.store = store
        self._insert = RowEncoder(store.dialect)
        self._queue: list[Params] = []
        self._writer: Optional[asyncio.Task[None]] = None
        self._wake: Optional[asyncio.Future[None]] = None
        self._on_written = on_written

    def record(self, call: CallRecord) -> None:
        self._queue.append(self._insert.params(call))
        if self._writer is None or self._writer.done():
            self._writer = asyncio.get_running_loop().create_task(self._write())

    async def _write(self) -> None:
        loop = asyncio.get_running_loop()
        while self._queue:
            wake = self._wake = loop.create_future()
            timer = loop.call_later(WRITE_EVERY_S, _wake_up, wake)
            try:
                await wake
            finally:
                timer.cancel()
                self._wake = None
            batch, self._queue = self._queue, []
            await self.store.run_write(lambda session: _insert_many(session, self._insert.sql, batch))
            self._on_written()

    async def flush(self) -> None:
        while self._writer is not None and not self._writer.done():
            if self._wake is not None:
                _wake_up(self._wake)
            await asyncio.shield(self._writer)


def _wake_up(wake: "asyncio.Future[None]") -> None:
    if not wake.done():
        wake.set_result(None)


def _insert_many(session: Session, sql: str, batch: list[Params]) -> None:
    """The batch straight to the driver's ``executemany``, inside the session's transaction (on
    SQLite a ``BEGIN IMMEDIATE``)."""
    cursor = session.connection().connection.dbapi_connection.cursor()  # type: ignore[union-attr]
    try:
        cursor.executemany(sql, batch)
    finally:
        cursor.close()
