"""A built-in Agents backend for the demo catalogue (``builtin:demo-agents``): it checks the §14.1
JWT as a merchant's backend would (AK from the payload, its SK looked up, HS256 recomputed, five
minutes of validity) and answers with ``usage``, as JSON or, when asked for ``text/event-stream``
(``Accept`` or ``"stream": true``), as an event stream whose last event carries ``usage``."""

from __future__ import annotations

import asyncio
import base64
import hmac
import json
import time
from typing import Optional

from aiohttp import web
from sqlmodel import select

from ..control.keys import SERVICES, SETTINGS
from ..jsonbody import BadJson, decode_json
from ..store.tables import GatewayBackend
from .jwt import VALIDITY_S, agents_jwt
from .targets import DEMO_PATH


def _payload(token: str) -> Optional[dict]:
    try:
        segment = token.split(".")[1]
        value = json.loads(base64.urlsafe_b64decode(segment + "=" * (-len(segment) % 4)))
    except (IndexError, ValueError):
        return None
    return value if isinstance(value, dict) else None


async def _jwt_problem(request: web.Request) -> Optional[str]:
    settings = request.app[SETTINGS]
    value = request.headers.get(settings.agents_jwt_header, "")
    scheme = settings.agents_jwt_scheme
    token = value[len(scheme) + 1:] if scheme and value.startswith(scheme + " ") else value
    payload = _payload(token)
    if not payload or not isinstance(payload.get("api_key"), str) or not isinstance(payload.get("timestamp"), int):
        return f"no JWT with api_key and timestamp in {settings.agents_jwt_header}"
    ak = payload["api_key"]
    store = request.app[SERVICES].store
    backend = await store.quick_read(lambda s: s.exec(select(GatewayBackend).where(GatewayBackend.access_key == ak)).first())
    if backend is None or not backend.secret_key:
        return f"unknown api_key {ak!r}"
    expected = agents_jwt(ak, backend.secret_key, payload["timestamp"], "exp" in payload)
    if not hmac.compare_digest(expected.encode(), token.encode()):
        return "the JWT's signature does not match the SK of its api_key"
    if abs(time.time() * 1000 - payload["timestamp"]) > VALIDITY_S * 1000:
        return "the JWT has expired (timestamp more than 5 minutes away)"
    return None


async def answer(request: web.Request) -> web.StreamResponse:
    problem = await _jwt_problem(request)
    if problem:
        return web.json_response({"error": problem}, status=401)
    raw = await request.read()
    try:
        body = decode_json(raw) if raw.strip() else {}
    except BadJson:
        body = {}
    prompt = len(raw.split()) or 1
    words = ["Hello", " from", " the", " demo", " Agents", " backend."]
    usage = {"completion_tokens": len(words), "prompt_tokens": prompt, "total_tokens": len(words) + prompt}
    stream = "text/event-stream" in request.headers.get("Accept", "") or (
        isinstance(body, dict) and body.get("stream") is True)
    if not stream:
        return web.json_response({"data": "".join(words), "usage": usage})
    out = web.StreamResponse(headers={"Content-Type": "text/event-stream", "Cache-Control": "no-cache"})
    await out.prepare(request)
    for word in words:
        await out.write(f"data: {json.dumps({'data': word})}\n\n".encode())
        await asyncio.sleep(0.05)
    await out.write(f"data: {json.dumps({'data': '', 'usage': usage})}\n\n".encode())
    await out.write_eof()
    return out


def setup(app: web.Application) -> None:
    app.router.add_route("*", DEMO_PATH, answer)
    app.router.add_route("*", DEMO_PATH + "/{tail:.*}", answer)
