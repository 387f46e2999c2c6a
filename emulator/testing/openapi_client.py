"""A small signed client for the emulator's open APIs, as a merchant's service would call them."""

from __future__ import annotations

import json
import secrets
import time
from typing import Any, Optional
from urllib.parse import urlencode

import aiohttp

from ..protocol.canonical import canonical_body
from ..protocol.sdk_hmac import sign_request
from ..protocol.signing import usage_push_signature

API = "/api/mkp-openapi-public/global"


class OpenApiClient:
    def __init__(self, base_url: str, ak: str, sk: str, session: Optional[aiohttp.ClientSession] = None) -> None:
        self.base_url = base_url.rstrip("/")
        self.ak, self.sk = ak, sk
        self._session = session

    async def call(self, method: str, path: str, params: Optional[dict[str, str]] = None,
                   body: bytes = b"", headers: Optional[dict[str, str]] = None) -> tuple[int, Any]:
        """Sign with SDK-HMAC-SHA256 and send; returns (HTTP status, decoded JSON)."""
        url = self.base_url + path + ("?" + urlencode(params) if params else "")
        all_headers = {"Content-Type": "application/json;charset=UTF-8", **(headers or {})}
        all_headers.update(sign_request(self.ak, self.sk, method, url, all_headers, body))
        session = self._session or aiohttp.ClientSession()
        try:
            async with session.request(method, url, data=body or None, headers=all_headers) as response:
                return response.status, json.loads(await response.read() or b"null")
        finally:
            if self._session is None:
                await session.close()

    async def query_order(self, order_id: str, order_line_id: Optional[str] = None) -> tuple[int, Any]:
        params = {"orderId": order_id, **({"orderLineId": order_line_id} if order_line_id else {})}
        return await self.call("GET", API + "/v1/order/query", params)

    async def push_usage(self, records: list[dict[str, Any]], key: str) -> tuple[int, Any]:
        """Usage push with both signatures: AK/SK and the ``signature``/``ts``/``nonce`` headers (§12.7)."""
        body = canonical_body({"usage_records": records})
        ts, nonce = str(int(time.time() * 1000)), secrets.token_hex(16)
        headers = {"signature": usage_push_signature(key, ts, nonce, body), "ts": ts, "nonce": nonce}
        return await self.call("POST", API + "/v1/isv/usage-data", body=body, headers=headers)

    async def post(self, path: str, payload: Any) -> tuple[int, Any]:
        return await self.call("POST", API + path, body=json.dumps(payload).encode())
