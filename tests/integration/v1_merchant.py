"""An independent SaaS V1 merchant for the tests (PROTOCOL §7, §2c): it checks each GET's
``authToken`` with its own HMAC code over the percent-decoded parameters and signs each reply
with its own ``Body-Sign``. Only the AES of §3 comes from the emulator (its algorithm is pinned by
the vectors of tests/unit), to read ``mobilePhone`` and to encrypt ``appInfo``.

Switches make it misbehave: the Body-Sign header left out, wrong, or named ``Body-sign``; an
error code per activity; a body that is not JSON; an ``appInfo`` that does not decrypt.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from dataclasses import dataclass, field
from typing import Any, AsyncIterator, Optional
from urllib.parse import unquote

from aiohttp import web

from .joint_merchant import serve_app

from emulator.protocol.crypto import aes_cbc_decrypt, aes_cbc_encrypt

V1_KEY = "v1-access-key-0001"
FRONT_END_URL = "https://app.example.com/login"


def _hmac_b64(key: str, message: bytes) -> str:
    return base64.b64encode(hmac.new(key.encode(), message, hashlib.sha256).digest()).decode()


def decoded_params(query_string: str) -> dict[str, str]:
    """``name=value`` pairs percent-decoded; the first value of a repeated name counts (§2c)."""
    params: dict[str, str] = {}
    for pair in query_string.split("&"):
        name, _, value = pair.partition("=")
        params.setdefault(unquote(name), unquote(value))
    return params


def expected_token(key: str, params: dict[str, str]) -> str:
    signed = {name: value for name, value in params.items() if name != "authToken"}
    text = "&".join(f"{name}={signed[name]}" for name in sorted(signed))
    return _hmac_b64(key + params.get("timeStamp", ""), text.encode())


@dataclass
class Received:
    method: str
    name: str  # the activity
    query_string: str  # raw, percent-encoded
    params: dict[str, str]
    body: bytes
    token_ok: bool
    reply: bytes
    mobile_phone: Optional[str] = None  # mobilePhone as the merchant decrypted it


@dataclass
class V1Merchant:
    key: str = V1_KEY
    aes_bits: int = 256
    sign: str = "ok"  # ok | missing | wrong | case (sent as "Body-sign")
    fail_with: dict[str, str] = field(default_factory=dict)  # activity -> resultCode
    not_json: bool = False
    encrypt_type: Optional[str] = "1"
    garbled_app_info: bool = False
    calls: list[Received] = field(default_factory=list)
    _instances: dict[str, str] = field(default_factory=dict)

    def named(self, name: str) -> list[Received]:
        return [c for c in self.calls if c.name == name]

    def app(self) -> web.Application:
        app = web.Application()
        app.router.add_route("*", "/produce", self._handle)
        return app

    async def _handle(self, request: web.Request) -> web.Response:
        body = await request.read()
        raw_query = request.raw_path.partition("?")[2]  # as it came over the wire, not re-decoded
        params = decoded_params(raw_query)
        token_ok = hmac.compare_digest(expected_token(self.key, params), params.get("authToken", ""))
        name = params.get("activity", "?")
        phone = self._decrypt(params.get("mobilePhone"))
        reply = b"<html>bad gateway</html>" if self.not_json else json.dumps(self._answer(name, params, token_ok)
                                                                             ).encode()
        self.calls.append(Received(request.method, name, raw_query, params, body, token_ok, reply, phone))
        return web.Response(body=reply, content_type="application/json", headers=self._signature(reply))

    def _answer(self, name: str, params: dict[str, str], token_ok: bool) -> dict[str, Any]:
        if not token_ok:
            return {"resultCode": "000001", "resultMsg": "token is invalid"}
        if name in self.fail_with:
            return {"resultCode": self.fail_with[name], "resultMsg": "told to fail"}
        if name != "newInstance":
            return {"resultCode": "000000", "resultMsg": "success."}
        instance = self._instances.setdefault(params["orderId"], "v1-" + params["businessId"][:18])
        bits = 256 if self.encrypt_type in (None, "1") else 128  # as the sample code reads encryptType
        user = "not-an-encrypted-value" if self.garbled_app_info else aes_cbc_encrypt(self.key, "admin", bits)
        answer = {"resultCode": "000000", "resultMsg": "success.", "instanceId": instance,
                  "appInfo": {"frontEndUrl": FRONT_END_URL, "userName": user,
                              "password": aes_cbc_encrypt(self.key, "admin@Pass123", bits)}}
        return {**answer, "encryptType": self.encrypt_type} if self.encrypt_type is not None else answer

    def _signature(self, reply: bytes) -> dict[str, str]:
        if self.sign == "missing":
            return {}
        signature = _hmac_b64(self.key, reply if self.sign != "wrong" else reply + b" ")
        value = f'sign_type="HMAC-SHA256", signature="{signature}"'
        return {"Body-sign" if self.sign == "case" else "Body-Sign": value}

    def _decrypt(self, token: Optional[str]) -> Optional[str]:
        return aes_cbc_decrypt(self.key, token, self.aes_bits) if token else None


def body_signature(key: str, body: bytes) -> str:
    """The merchant's own Body-Sign signature of a body."""
    return _hmac_b64(key, body)


async def serve(merchant: V1Merchant) -> AsyncIterator[str]:
    async for url in serve_app(merchant.app()):
        yield url