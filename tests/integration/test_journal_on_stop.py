"""The open-API journal is written in batches; a clean stop with calls in flight loses none of them:
every call that got an answer is in the journal after a restart."""

from __future__ import annotations

import asyncio
from pathlib import Path

import aiohttp

from emulator.testing.openapi_client import OpenApiClient

from ..helpers import Api
from ..processes import EmulatorProcess


async def test_a_clean_stop_keeps_every_answered_call(tmp_path: Path) -> None:
    process = EmulatorProcess(tmp_path / "store.db")
    async with Api(await process.start()) as api:
        pair = await api.ok("POST", "/merchants/demo/credentials")
        order = await api.ok("POST", "/orders", {"product": "demo-saas-monthly"})
        await api.settle()
        await asyncio.sleep(0.5)  # the demo merchant's own Query Order (it uses the same pair) is done
        before = [c["id"] for c in (await api.ok("GET", "/inbound", params={"limit": "1000"}))["calls"]]
    answered = 0
    async with aiohttp.ClientSession() as session:
        client = OpenApiClient(process.url, pair["ak"], pair["sk"], session)

        async def caller() -> None:
            nonlocal answered
            while True:
                try:
                    status, _body = await client.query_order(order["order_id"])
                except (aiohttp.ClientError, OSError):
                    return
                if status == 200:
                    answered += 1

        callers = [asyncio.create_task(caller()) for _ in range(20)]
        while answered < 200:
            await asyncio.sleep(0.01)
        await process.stop()  # SIGTERM while the callers keep calling
        await asyncio.gather(*callers)
    async with Api(await process.start()) as api:
        calls = (await api.ok("GET", "/inbound", params={"limit": "1000", "api": "query_order"}))["calls"]
    await process.stop()
    ours = [c for c in calls if c["ak"] == pair["ak"] and c["status"] == 200 and c["id"] not in before]
    assert answered >= 200
    # Nothing answered is lost; a call answered as the socket closed may be journaled but unseen.
    assert answered <= len(ours) <= answered + len(callers), (len(ours), answered)
