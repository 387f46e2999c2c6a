"""An independent merchant for the tests (joint-operation and License 2.0): its own signature checks (§2a on the
basic activities, §2b on the kit syncs) over the raw bytes it received, its own RSA private key
to decrypt applicationSync's clientSecret, and idempotent bookkeeping keyed as §5 says.

It shares no code with the emulator: what it verifies is what a real merchant would verify.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time
from dataclasses import dataclass, field
from typing import Any, AsyncIterator

from aiohttp import web
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa

BASIC_KEY = "joint-basic-key-0001"
KIT_KEY = "joint-kit-key-0001"
KIT_PATH = "/produceAPI/v2/"
KNOWN_ACTIVITIES = frozenset({  # §5 and §6, and upgradeInstance (a License activity renamed in a test)
    "newInstance", "refreshInstance", "expireInstance", "releaseInstance", "upgrade", "upgradeInstance",
    "getLicense", "refreshLicense", "expireLicense", "releaseLicense", "upgradeLicense", "changeLicenseStatus",
    "getLicenseAsync",
})


def _hex_hmac(key: str, message: bytes) -> str:
    return hmac.new(key.encode(), message, hashlib.sha256).hexdigest()


def new_key_pair() -> tuple[rsa.RSAPrivateKey, str]:
    private = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    public_pem = private.public_key().public_bytes(serialization.Encoding.PEM,
                                                   serialization.PublicFormat.SubjectPublicKeyInfo).decode()
    return private, public_pem


@dataclass
class Received:
    path: str
    name: str  # the activity, or the kit interface
    raw: bytes
    body: dict[str, Any]
    query: dict[str, str]
    headers: dict[str, str]
    signature_ok: bool
    answer: dict[str, Any]


@dataclass
class JointMerchant:
    private_key: rsa.RSAPrivateKey
    oaep: bool = False
    idempotent: bool = True
    fail_with: dict[str, str] = field(default_factory=dict)  # name -> resultCode to answer, always
    calls: list[Received] = field(default_factory=list)
    secrets: list[str] = field(default_factory=list)  # every clientSecret it decrypted
    _seen: dict[tuple, str] = field(default_factory=dict)
    _instances: dict[str, str] = field(default_factory=dict)

    def named(self, name: str) -> list[Received]:
        return [c for c in self.calls if c.name == name]

    def app(self) -> web.Application:
        app = web.Application()
        app.router.add_post("/produce", self._basic)
        app.router.add_post("/produce" + KIT_PATH + "{name}", self._kit)
        return app

    async def _basic(self, request: web.Request) -> web.Response:
        raw = await request.read()
        query = dict(request.query)
        inner = _hex_hmac(BASIC_KEY, raw)
        expected = _hex_hmac(BASIC_KEY, (BASIC_KEY + query.get("nonce", "") + query.get("timestamp", "")
                                         + inner).encode())
        fresh = abs(time.time() * 1000 - int(query.get("timestamp", "0") or 0)) <= 60_000
        ok = fresh and hmac.compare_digest(expected, query.get("signature", "").lower())
        body = json.loads(raw)
        name = body.get("activity", "?")
        if not ok:
            answer = {"resultCode": "000001", "resultMsg": "bad signature"}
        elif name in self.fail_with:
            answer = {"resultCode": self.fail_with[name], "resultMsg": "told to fail"}
        elif name not in KNOWN_ACTIVITIES:
            answer = {"resultCode": "000002", "resultMsg": f"unknown activity {name}"}
        elif name == "newInstance":
            order = body["orderInfo"][0]
            instance = self._instances.setdefault(order["orderId"], "inst-" + order["businessId"][:18])
            answer = {"resultCode": "000000", "resultMsg": "success.", "instanceId": instance}
        elif name == "getLicense":  # License 2.0 (§6): the licence travels in the reply
            instance = self._instances.setdefault(body["orderId"], "inst-" + body["businessId"][:18])
            licence = "PL" + hashlib.sha256(body["orderId"].encode()).hexdigest()[:16].upper()
            answer = {"resultCode": "000000", "resultMsg": "success.", "instanceId": instance, "license": licence}
        else:
            answer = {"resultCode": "000000", "resultMsg": "success."}
        self.calls.append(Received(request.path, name, raw, body, query, dict(request.headers), ok, answer))
        return web.json_response(answer)

    async def _kit(self, request: web.Request) -> web.Response:
        raw = await request.read()
        name = request.match_info["name"]
        headers = request.headers
        expected = _hex_hmac(KIT_KEY, (KIT_KEY + headers.get("x-nonce", "") + headers.get("x-timestamp", "")).encode()
                             + raw)
        fresh = time.time() * 1000 - int(headers.get("x-timestamp", "0") or 0) <= 60_000
        ok = fresh and hmac.compare_digest(expected, headers.get("x-sign", "").lower())
        body = json.loads(raw)
        answer = self._kit_answer(name, body, ok)
        self.calls.append(Received(request.path, name, raw, body, dict(request.query), dict(headers), ok, answer))
        return web.json_response(answer)

    def _kit_answer(self, name: str, body: dict[str, Any], signature_ok: bool) -> dict[str, Any]:
        if not signature_ok:
            return {"resultCode": "000001", "resultMsg": "x-sign mismatch"}
        if name in self.fail_with:
            return {"resultCode": self.fail_with[name], "resultMsg": "told to fail"}
        if name == "applicationSync":
            try:
                secret = self.decrypt(body["clientSecret"])
            except ValueError:
                return {"resultCode": "000101", "resultMsg": "clientSecret decrypt failed"}
            self.secrets.append(secret)
        key = (name, json.dumps(body, sort_keys=True, ensure_ascii=False))
        if key in self._seen and not self.idempotent:
            return {"resultCode": "000005", "resultMsg": "duplicate"}
        self._seen[key] = "done"
        return {"resultCode": "000000", "resultMsg": "success.", "instanceId": None}

    def decrypt(self, token: str) -> str:
        pad = (padding.OAEP(mgf=padding.MGF1(hashes.SHA256()), algorithm=hashes.SHA256(), label=None)
               if self.oaep else padding.PKCS1v15())
        return self.private_key.decrypt(base64.b64decode(token), pad).decode()


async def serve(merchant: JointMerchant) -> AsyncIterator[str]:
    async for url in serve_app(merchant.app()):
        yield url


async def serve_app(app: web.Application) -> AsyncIterator[str]:
    """Run ``app`` on a free loopback port; yields its ``/produce`` URL."""
    runner = web.AppRunner(app, access_log=None, shutdown_timeout=0.5)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    yield f"http://127.0.0.1:{port}/produce"
    await runner.cleanup()


def parse_kit_time(text: str) -> float:
    """``yyyyMMddHHmmssSSS`` GMT+8 to epoch seconds."""
    import datetime as dt
    moment = dt.datetime.strptime(text[:14], "%Y%m%d%H%M%S").replace(tzinfo=dt.timezone(dt.timedelta(hours=8)))
    return moment.timestamp() + int(text[14:]) / 1000
