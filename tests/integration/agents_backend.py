"""A merchant's Agents/API backend for the gateway tests: it checks the §14.1 JWT with PyJWT (not
the emulator's code) and records what it received. The path chooses the answer."""

from __future__ import annotations

import asyncio
import json
import time
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any, AsyncIterator, Optional

import jwt
from aiohttp import web
from multidict import CIMultiDict

USAGE = {"completion_tokens": 217, "prompt_tokens": 31, "total_tokens": 248}


@dataclass
class Received:
    method: str
    path: str
    query: str
    headers: CIMultiDict[str]  # case-insensitive, as HTTP headers are
    body: bytes
    claims: Optional[dict[str, Any]]  # the verified JWT payload; None when there was none
    jwt_error: Optional[str] = None


@dataclass
class AgentsBackend:
    keys: dict[str, str] = field(default_factory=dict)  # AK -> SK
    jwt_header: str = "Authorization"
    jwt_scheme: str = "Bearer"
    received: list[Received] = field(default_factory=list)
    release: asyncio.Event = field(default_factory=asyncio.Event)  # lets a held stream go on
    stop_hanging: asyncio.Event = field(default_factory=asyncio.Event)
    url: str = ""

    def _verify(self, request: web.Request) -> tuple[Optional[dict[str, Any]], Optional[str]]:
        value = request.headers.get(self.jwt_header)
        if value is None:
            return None, None
        token = value.removeprefix(self.jwt_scheme + " ") if self.jwt_scheme else value
        try:
            unverified = jwt.decode(token, options={"verify_signature": False})
            header = jwt.get_unverified_header(token)
            secret = self.keys[unverified["api_key"]]
            claims = jwt.decode(token, secret, algorithms=["HS256"], options={"verify_exp": "exp" in unverified})
        except (jwt.PyJWTError, KeyError) as exc:
            return None, f"{type(exc).__name__}: {exc}"
        if header != {"alg": "HS256", "sign_type": "SIGN"}:
            return None, f"unexpected header {header}"
        if abs(time.time() * 1000 - claims["timestamp"]) > 300_000:
            return None, "expired"
        return claims, None

    async def handle(self, request: web.Request) -> web.StreamResponse:
        body = await request.read()
        claims, error = self._verify(request)
        self.received.append(Received(request.method, request.path, request.query_string, CIMultiDict(request.headers),
                                      body, claims, error))
        if error:
            return web.json_response({"error": error}, status=401)
        kind = request.match_info["kind"]
        if kind == "json":
            return web.json_response({"data": "hi", "usage": USAGE})
        if kind == "no-usage":
            return web.json_response({"data": "hi"})
        if kind == "bad-usage":
            return web.json_response({"data": "hi", "usage": {**USAGE, "total_tokens": "248"}})
        if kind == "fail500":
            return web.json_response({"error": "boom"}, status=500)
        if kind == "huge":
            return web.Response(body=b"x" * 200_000, content_type="application/json")
        if kind == "hang":
            await self.stop_hanging.wait()
            return web.json_response({"data": "late", "usage": USAGE})
        return await self._stream(request, kind)

    async def _stream(self, request: web.Request, kind: str) -> web.StreamResponse:
        out = web.StreamResponse(headers={"Content-Type": "text/event-stream"})
        await out.prepare(request)
        if kind == "sse-huge":
            for _ in range(100):
                await out.write(b"data: " + b"y" * 4000 + b"\n\n")
            return out
        await out.write(b'data: {"data": "first"}\n\n')
        if kind == "sse-endless":
            await self.stop_hanging.wait()
            return out
        await self.release.wait()  # the caller has seen the first event before the stream goes on
        await out.write(b'data: {"data": "second"}\n\n')
        last = {"data": "", "usage": USAGE} if kind == "sse" else {"data": "last"}
        await out.write(f"data: {json.dumps(last)}\n\ndata: [DONE]\n\n".encode())
        await out.write_eof()
        return out

    def app(self) -> web.Application:
        app = web.Application()
        app.router.add_route("*", "/agents/{kind}", self.handle)
        app.router.add_route("*", "/agents/{kind}/{rest:.*}", self.handle)
        return app


@asynccontextmanager
async def running_backend(keys: dict[str, str]) -> AsyncIterator[AgentsBackend]:
    """An ``AgentsBackend`` served on a free loopback port (``url`` set) for the block's duration."""
    stub = AgentsBackend(keys=keys)
    runner = web.AppRunner(stub.app(), access_log=None, shutdown_timeout=0.5)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    stub.url = f"http://127.0.0.1:{site._server.sockets[0].getsockname()[1]}"  # type: ignore[union-attr]
    try:
        yield stub
    finally:
        stub.stop_hanging.set()
        stub.release.set()
        await runner.cleanup()
