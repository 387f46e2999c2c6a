"""End-to-end smoke test of the browser harness: real Chromium against the real emulator's console."""

from __future__ import annotations

import re

from emulator.app import EmulatorServer

from ..helpers import Api


async def test_console_shows_order_and_delivery(emulator: EmulatorServer, api: Api, page, screenshot) -> None:
    # Imported here, not at module level: without Playwright the `browser_available` fixture then
    # fails this test with an install hint, instead of a collection error that stops the whole run.
    from playwright.async_api import expect

    await page.goto(emulator.url + "/")
    await expect(page).to_have_title(re.compile("KooGallery sandbox"))

    order = await api.ok("POST", "/orders", {"product": "demo-saas-monthly"})
    order_id = order["order_id"]
    await api.advance(minutes=2)

    await page.reload()
    await expect(page.locator("main")).to_contain_text(order_id)
    await screenshot(page, "smoke-dashboard")

    link = page.locator('a[href^="/deliveries/"]').first
    await expect(link).to_be_visible()
    await link.click()
    await expect(page).to_have_url(re.compile(r"/deliveries/\d+$"))
    await expect(page.locator("main")).to_contain_text("Attempt 1")
    await screenshot(page, "smoke-delivery")
