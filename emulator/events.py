"""In-process change notifications for live views (the console's server-sent events).

Subscribers get a bounded queue; a slow subscriber loses old events rather than slowing the
emulator down (each event only says "something of this kind changed", so the latest suffices).
"""

from __future__ import annotations

import asyncio
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Iterator, Optional


@dataclass(frozen=True)
class Event:
    kind: str  # delivery | order | clock | catalogue | reset
    ref: Optional[str] = None


@dataclass
class EventBus:
    queue_size: int = 100
    _subscribers: set[asyncio.Queue[Event]] = field(default_factory=set)

    def publish(self, kind: str, ref: object = None) -> None:
        event = Event(kind, None if ref is None else str(ref))
        for queue in list(self._subscribers):
            if queue.full():
                try:
                    queue.get_nowait()
                except asyncio.QueueEmpty:
                    pass
            queue.put_nowait(event)

    @property
    def watched(self) -> bool:
        return bool(self._subscribers)

    def close(self) -> None:
        """Tell every subscriber to stop (server shutdown)."""
        self.publish("shutdown")

    @contextmanager
    def subscribe(self) -> Iterator[asyncio.Queue[Event]]:
        queue: asyncio.Queue[Event] = asyncio.Queue(self.queue_size)
        self._subscribers.add(queue)
        try:
            yield queue
        finally:
            self._subscribers.discard(queue)
