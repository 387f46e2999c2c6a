"""An example merchant integration suite using the koogallery pytest fixture.

"my_service" stands for the merchant's own production interface; here it is the emulator's merchant
stub (emulator.testing.merchant_stub), started on a free port. A real suite starts its own service
and points the emulator at it the same way.
"""

from __future__ import annotations

from typing import AsyncIterator

import pytest_asyncio
from aiohttp import web

from emulator.testing.client import SandboxClient
from emulator.testing.merchant_stub import MerchantStub

KEY = "example-merchant-key"


class MyService:
    def __init__(self, stub: MerchantStub, url: str) -> None:
        self.stub, self.url = stub, url


@pytest_asyncio.fixture
async def my_service() -> AsyncIterator[MyService]:
    stub = MerchantStub(KEY)
    runner = web.AppRunner(stub.app(), shutdown_timeout=0.5)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    yield MyService(stub, f"http://127.0.0.1:{port}/produce")
    await runner.cleanup()


async def test_purchase_creates_tenant(koogallery: SandboxClient, my_service: MyService) -> None:
    await koogallery.point_merchant_at(my_service.url, key=KEY)
    order = await koogallery.buy("demo-saas-monthly", months=1)
    delivery = await koogallery.wait_for_delivery(order, "newInstance", outcome="succeeded")
    assert delivery.instance_id in my_service.stub.instances
    await koogallery.advance(days=31)
    frozen = await koogallery.wait_for_delivery(order, "updateInstanceStatus", status="FREEZE")
    assert frozen.attempts[0].passed
    assert my_service.stub.instances[delivery.instance_id]["status"] == "FROZEN"
    await koogallery.wait_for_state(order, "frozen")


async def test_renewal_reaches_the_service(koogallery: SandboxClient, my_service: MyService) -> None:
    await koogallery.point_merchant_at(my_service.url, key=KEY)
    order = await koogallery.buy("demo-saas-yearly", periods=1)
    await koogallery.wait_for_delivery(order, "newInstance")
    renewal = await koogallery.renew(order, periods=2)
    refresh = await koogallery.wait_for_delivery(renewal, "refreshInstance", scene="RENEWAL")
    assert refresh.params["expireTime"] == "20290101000000"


async def test_an_outage_is_retried_hourly(koogallery: SandboxClient, my_service: MyService) -> None:
    await koogallery.point_merchant_at(my_service.url, key=KEY)
    my_service.stub.behaviour.fail_next = 2
    order = await koogallery.buy("demo-saas-monthly")
    await koogallery.advance(hours=2)
    delivery = await koogallery.wait_for_delivery(order, "newInstance")
    assert [a.passed for a in delivery.attempts] == [False, False, True]
    assert [a.sent_at.hour for a in delivery.attempts] == [0, 1, 2]


async def test_a_wrong_key_is_reported(koogallery: SandboxClient, my_service: MyService) -> None:
    await koogallery.point_merchant_at(my_service.url, key="not-the-key")
    order = await koogallery.buy("demo-onetime")
    failed = await koogallery.wait_for_delivery(order, "newInstance", outcome="pending")
    assert "000001" in (failed.last_verdict or "")
