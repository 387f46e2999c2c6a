"""The console's delivery page marks an attempt that carried a deliberate outbound fault."""

from __future__ import annotations

from emulator.app import EmulatorServer

from ..conftest import RunningStub, Shop
from ..helpers import Api


async def test_a_faulted_attempt_carries_a_badge(emulator: EmulatorServer, api: Api, merchant_stub: RunningStub,
                                                 page, screenshot) -> None:  # type: ignore[no-untyped-def]
    from playwright.async_api import expect

    shop = await Shop.create(api, merchant_stub, faults={"stale_timestamp": 1.0})
    order = await shop.buy()
    delivery = await api.only_delivery(order_id=order["order_id"], activity="newInstance")

    await page.goto(emulator.url + f"/deliveries/{delivery['id']}")
    probe, real = page.locator("#attempt-1"), page.locator("#attempt-2")
    await expect(probe.locator(".badge.fault")).to_have_text("fault: stale_timestamp")
    await expect(probe.locator(".badge.fault")).to_be_visible()
    await expect(probe.locator(".warnings")).to_contain_text("refusing it is the correct behaviour")
    await expect(real.locator(".badge.fault")).to_have_count(0)
    await expect(real.locator(".verdict")).to_contain_text("Passed")
    await screenshot(page, "delivery-fault-badge")
