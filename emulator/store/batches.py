"""Group commit: writes submitted by many concurrent requests share one transaction.

On SQLite every write transaction holds the file's single write lock, so requests that each
commit on their own queue behind one another; a batch pays for one lock, one thread hop and one
commit. Each item still succeeds or fails on its own: ``work`` returns, per item, its result or
the domain error that refused it (raised to that item's caller only), after checking everything
it needs before writing anything for that item.
"""

from __future__ import annotations

import asyncio
from typing import Callable, Generic, Optional, Sequence, TypeVar, Union

from sqlmodel import Session

from .engine import Store

Item = TypeVar("Item")
Result = TypeVar("Result")

MAX_BATCH = 256


class GroupCommit(Generic[Item, Result]):
    def __init__(self, store: Store,
                 work: Callable[[Session, Sequence[Item]], Sequence[Union[Result, Exception]]]) -> None:
        self.store = store
        self._work = work
        self._queue: list[tuple[Item, asyncio.Future[Result]]] = []
        self._writer: Optional[asyncio.Task[None]] = None

    async def submit(self, item: Item) -> Result:
        future: asyncio.Future[Result] = asyncio.get_running_loop().create_future()
        self._queue.append((item, future))
        if self._writer is None or self._writer.done():
            self._writer = asyncio.get_running_loop().create_task(self._drain())
        return await future

    async def _drain(self) -> None:
        while self._queue:
            batch, self._queue = self._queue[:MAX_BATCH], self._queue[MAX_BATCH:]
            items = [item for item, _future in batch]
            try:
                results = await self.store.run_write(lambda session: self._work(session, items))
            except Exception as exc:  # the transaction failed: nothing of the batch was written
                results = [exc] * len(batch)
            for (_item, future), result in zip(batch, results):
                if future.done():  # the caller gave up waiting
                    continue
                if isinstance(result, Exception):
                    future.set_exception(result)
                else:
                    future.set_result(result)
