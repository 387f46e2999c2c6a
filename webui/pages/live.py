"""Server-sent events: tells open pages that something changed, so they refresh their live parts."""

from __future__ import annotations

import asyncio
import json

from aiohttp import web
from aiohttp_sse import sse_response

from emulator.control.keys import SERVICES
from emulator.events import EventBus

from .common import services

KEEPALIVE_S = 15.0


async def events(request: web.Request) -> web.StreamResponse:
    bus = services(request).events
    try:
        return await _stream(request, bus)
    except (ConnectionResetError, asyncio.CancelledError):  # the page went away
        return web.Response(status=204)


async def _stream(request: web.Request, bus: EventBus) -> web.StreamResponse:
    async with sse_response(request) as stream:
        with bus.subscribe() as queue:
            await stream.send(json.dumps({"kind": "hello"}))
            while stream.is_connected():
                try:
                    event = await asyncio.wait_for(queue.get(), KEEPALIVE_S)
                except asyncio.TimeoutError:
                    await stream.send(json.dumps({"kind": "keepalive"}))
                    continue
                if event.kind == "shutdown":
                    break
                await stream.send(json.dumps({"kind": event.kind, "ref": event.ref}))
    return stream


async def _close_streams(app: web.Application) -> None:
    app[SERVICES].events.close()


def setup(app: web.Application) -> None:
    app.router.add_get("/events", events)
    app.on_shutdown.append(_close_streams)
