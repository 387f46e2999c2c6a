"""A thin HTTP helper for the control API, used by the integration tests."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Optional

import aiohttp

PREFIX = "/sandbox/api/v1"


class ApiError(AssertionError):
    pass


class Api:
    def __init__(self, base_url: str) -> None:
        self.base_url = base_url.rstrip("/")
        self._session: Optional[aiohttp.ClientSession] = None

    async def __aenter__(self) -> "Api":
        self._session = aiohttp.ClientSession()
        return self

    async def __aexit__(self, *exc: object) -> None:
        assert self._session is not None
        await self._session.close()

    async def call(self, method: str, path: str, body: Any = None, raw: Optional[bytes] = None,
                   params: Optional[dict] = None) -> tuple[int, Any]:
        assert self._session is not None
        url = self.base_url + (path if path.startswith("/healthz") else PREFIX + path)
        kwargs: dict[str, Any] = {"params": params}
        if raw is not None:
            kwargs["data"] = raw
        elif body is not None:
            kwargs["json"] = body
        async with self._session.request(method, url, **kwargs) as response:
            text = await response.text()
            try:
                import json

                return response.status, json.loads(text)
            except ValueError:
                return response.status, text

    async def ok(self, method: str, path: str, body: Any = None, **kwargs: Any) -> Any:
        status, data = await self.call(method, path, body, **kwargs)
        if status >= 400:
            raise ApiError(f"{method} {path} -> {status}: {data}")
        return data

    async def page(self, path: str) -> tuple[int, str]:
        """A console page (outside the control API prefix)."""
        assert self._session is not None
        async with self._session.get(self.base_url + path) as response:
            return response.status, await response.text()

    async def settle(self) -> None:
        await self.ok("POST", "/clock/advance", {"seconds": 0})

    async def advance(self, **duration: float) -> str:
        return (await self.ok("POST", "/clock/advance", duration))["now"]

    async def now(self) -> datetime:
        return parse_time((await self.ok("GET", "/clock"))["now"])

    async def deliveries(self, **filters: Any) -> list[dict]:
        params = {k: str(v) for k, v in filters.items()}
        return list(reversed((await self.ok("GET", "/deliveries", params=params))["deliveries"]))

    async def delivery(self, delivery_id: int) -> dict:
        return await self.ok("GET", f"/deliveries/{delivery_id}")

    async def only_delivery(self, **filters: Any) -> dict:
        found = await self.deliveries(**filters)
        assert len(found) == 1, f"expected one delivery for {filters}, got {found}"
        return await self.delivery(found[0]["id"])

    async def instance(self, key: str) -> dict:
        return await self.ok("GET", f"/instances/{key}")


def parse_time(text: str) -> datetime:
    return datetime.fromisoformat(text.rstrip("Z"))
