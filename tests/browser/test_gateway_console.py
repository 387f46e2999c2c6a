"""The Gateway page clicked through in headless Chromium: a backend registered with the console's
form, calls of a buyer showing up live with their verdicts, a call's page, the order's billed
totals, and both pages at a phone's width. The backend is the stub of the integration tests, which
checks the §14.1 JWT with PyJWT."""

from __future__ import annotations

import re
from typing import AsyncIterator

import aiohttp
import pytest

from emulator.app import EmulatorServer

from ..helpers import Api
from ..integration.agents_backend import USAGE, AgentsBackend, running_backend

AK, SK = "d44cd9aa-e48e-be17-27f4-5ef3474797a1", "stub-secret-key-0001-of-32-bytes-or-more"
BUYER = {"customer_id": "0123456789abcdef0123456789abcdef", "customer_name": "buyer_bob"}
PHONE = {"width": 390, "height": 844}


@pytest.fixture
async def backend() -> AsyncIterator[AgentsBackend]:
    async with running_backend({AK: SK}) as stub:
        stub.release.set()  # the streamed reply goes on at once
        yield stub


async def _live(page) -> None:  # type: ignore[no-untyped-def]
    """Wait for the page's first live refresh: the event stream is open from then on."""
    from playwright.async_api import expect

    await expect(page.locator("body")).to_have_attribute("data-refreshed", re.compile(r"^[1-9]"))


async def _no_horizontal_scroll(page) -> None:  # type: ignore[no-untyped-def]
    widths = await page.evaluate(
        "() => ({page: document.documentElement.scrollWidth, view: document.documentElement.clientWidth})")
    assert widths["page"] <= PHONE["width"], f"{page.url} scrolls sideways at {PHONE['width']} px: {widths}"


async def test_register_call_and_bill_through_the_gateway_pages(emulator: EmulatorServer, api: Api,
                                                                backend: AgentsBackend, page,
                                                                screenshot) -> None:  # type: ignore[no-untyped-def]
    from playwright.async_api import expect

    base = emulator.url
    await api.ok("POST", "/products", {"code": "agent", "merchant_id": "demo", "name": "Stub agent",
                                       "charging_mode": "ON_DEMAND"})

    # 1. Register the backend with the console's form; a bad URL first.
    await page.goto(base + "/gateway")
    form = page.locator("#gateway-register")
    await form.get_by_label("Product", exact=True).select_option("agent")
    await form.get_by_label("Kind", exact=True).select_option("agents")
    await form.get_by_label("Backend URL", exact=True).fill("ftp://x")
    await form.get_by_role("button", name="Register").click()
    await expect(page).to_have_url(base + "/gateway")
    error = form.locator("[data-error-for=backend_url]")
    await expect(error).to_be_visible()
    await expect(error).to_contain_text("backend_url")
    await expect(form.get_by_label("Backend URL", exact=True)).to_have_attribute("aria-invalid", "true")
    await expect(form.get_by_label("Product", exact=True)).to_have_value("agent")  # what was typed stays
    await expect(page.locator("#gateway-backends")).not_to_contain_text("Stub agent")
    await screenshot(page, "gateway-register-bad-url")

    await form.get_by_label("Backend URL", exact=True).fill("")
    await form.get_by_role("button", name="Register").click()
    await expect(page).to_have_url(base + "/gateway")
    await expect(form.locator("[data-error-for=backend_url]")).to_be_visible()

    await form.get_by_label("Backend URL", exact=True).fill(backend.url + "/agents")
    await form.get_by_label("HTTP method", exact=True).select_option("POST")
    await form.get_by_label("Authentication", exact=True).select_option("aksk")
    await form.get_by_label("AK", exact=True).fill(AK)
    await form.get_by_label("SK", exact=True).fill(SK)
    await form.get_by_role("button", name="Register").click()
    await expect(page).to_have_url(base + "/gateway")
    await expect(page.locator(".flash").first).to_contain_text(f"Backend of agent registered (AK {AK})")
    row = page.locator("#gateway-backends tbody tr").filter(has=page.get_by_role("link", name="agent", exact=True))
    await expect(row).to_have_count(1)
    await expect(row).to_contain_text(backend.url + "/agents")
    await expect(row).to_contain_text(base + "/api/gateway/agent")
    await expect(page.locator("body")).not_to_contain_text(SK)
    assert SK not in await page.content()
    await screenshot(page, "gateway-registered")
    registered = await api.ok("GET", "/products/agent/gateway")
    assert registered["access_key"] == AK and registered["auth_mode"] == "aksk" and registered["kind"] == "agents"

    # An order of the product; its page shows the endpoint and the buyer's key.
    order = await api.ok("POST", "/orders", {"product": "agent", "buyer": BUYER})
    order_id = order["order_id"]
    await page.goto(base + f"/orders/{order_id}")
    panel = page.locator("#order-gateway")
    await expect(panel).to_contain_text("agents product, billed per token")
    endpoint = (await panel.locator("dd code").first.inner_text()).strip().removesuffix("/<path>")
    key = (await panel.locator("#gateway-key").inner_text()).strip()
    assert endpoint == base + "/api/gateway/agent"
    access = await api.ok("GET", f"/orders/{order_id}/gateway")
    assert key == access["api_key"] and endpoint == access["endpoint"]

    # 2. The Gateway page is open while the buyer calls.
    await page.goto(base + "/gateway")
    await _live(page)
    calls = page.locator("#gateway-calls tbody tr")
    await expect(calls).to_have_count(1)
    await expect(calls).to_contain_text("No call yet")
    bearer = {"Authorization": f"Bearer {key}"}
    request_ids = {}
    async with aiohttp.ClientSession() as http:
        async with http.post(endpoint + "/json", json={"q": "hello"}, headers=bearer) as reply:
            assert reply.status == 200 and await reply.json() == {"data": "hi", "usage": USAGE}
            request_ids["json"] = reply.headers["X-Request-Id"]
        async with http.post(endpoint + "/no-usage", json={"q": "hello"}, headers=bearer) as reply:
            assert reply.status == 200 and await reply.json() == {"data": "hi"}
            request_ids["no-usage"] = reply.headers["X-Request-Id"]
        async with http.post(endpoint + "/sse", json={"q": "hello", "stream": True},
                             headers={**bearer, "Accept": "text/event-stream"}) as reply:
            assert reply.status == 200 and reply.content_type == "text/event-stream"
            streamed = await reply.read()
            assert b'"usage"' in streamed and streamed.endswith(b"data: [DONE]\n\n")
        async with http.post(endpoint + "/json", json={"q": "hello"},
                             headers={"Authorization": "Bearer gk_not-a-key"}) as reply:
            assert reply.status == 401 and (await reply.json())["error"]["code"] == "invalid_api_key"
    assert [r.jwt_error for r in backend.received] == [None, None, None]  # the JWT checked out with PyJWT

    await expect(calls).to_have_count(4)  # live, without a reload
    json_row = calls.filter(has_text="POST /api/gateway/agent/json").filter(has_text=order_id)
    no_usage_row = calls.filter(has_text="POST /api/gateway/agent/no-usage")
    sse_row = calls.filter(has_text="POST /api/gateway/agent/sse")
    refused_row = calls.filter(has_text="the key belongs to no order")
    for row in (json_row, no_usage_row, sse_row, refused_row):
        await expect(row).to_have_count(1)
    await expect(json_row.locator(".verdict-cell")).to_have_text("passed")
    await expect(json_row).to_contain_text("248 tokens")
    await expect(sse_row.locator(".verdict-cell")).to_have_text("passed")
    await expect(sse_row).to_contain_text(re.compile(r"stream, \d+ events"))
    await expect(sse_row).to_contain_text("248 tokens")
    await expect(no_usage_row.locator(".verdict-cell")).to_contain_text("failed")
    await expect(no_usage_row.locator(".verdict-cell")).to_contain_text("no top-level usage")
    await expect(no_usage_row.locator("td").nth(5)).to_have_text("—")  # nothing billed
    await expect(refused_row.locator(".verdict-cell")).to_contain_text("failed")
    await expect(refused_row.locator("td").nth(3)).to_have_text("—")  # no order
    await expect(refused_row.locator("td").nth(4)).to_have_text("401")
    await expect(refused_row.locator("td").nth(5)).to_have_text("—")
    page_text = await page.content()
    assert key not in page_text and SK not in page_text
    await screenshot(page, "gateway-calls-live")

    # A call's page: the forwarded headers, the JWT, the reply and the verdict.
    await json_row.get_by_role("link", name="POST /api/gateway/agent/json").click()
    await expect(page).to_have_url(re.compile(r"/gateway/calls/\d+$"))
    await expect(page.locator("h1")).to_contain_text("POST /api/gateway/agent/json")
    await expect(page.locator("h1 .badge")).to_have_text("passed")
    wires = page.locator("pre.wire")
    forwarded, answered = wires.nth(0), wires.nth(1)
    await expect(forwarded).to_contain_text(f"POST {backend.url}/agents/json")
    await expect(forwarded).to_contain_text(f"X-Request-Id: {request_ids['json']}")
    await expect(forwarded).to_contain_text(f"X-Customer-Id: {BUYER['customer_id']}")
    await expect(forwarded).to_contain_text(f"X-Customer-Name: {BUYER['customer_name']}")
    # The JWT is shown as sent (it is signed with the SK, valid five minutes); the SK itself never is.
    await expect(forwarded).to_contain_text(re.compile(r"Authorization: Bearer eyJ[\w-]+\.[\w-]+\.[\w-]+"))
    await expect(answered).to_contain_text("HTTP 200")
    await expect(answered).to_contain_text('"usage"')
    await expect(answered).to_contain_text('"total_tokens": 248')
    await expect(page.locator(".facts")).to_contain_text("prompt 31, completion 217, total 248")
    await expect(page.locator(".facts")).to_contain_text("248 tokens, 0 calls")
    call_page = await page.content()
    assert SK not in call_page and key not in call_page
    call_url = page.url
    await screenshot(page, "gateway-call")

    await page.goto(base + "/gateway")
    await no_usage_row.get_by_role("link", name="POST /api/gateway/agent/no-usage").click()
    await expect(page.locator("h1 .badge")).to_have_text("failed")
    await expect(page.locator("#call-failures")).to_contain_text("no top-level usage")
    await expect(page.locator("pre.wire").nth(0)).to_contain_text(f"X-Request-Id: {request_ids['no-usage']}")
    await expect(page.locator("pre.wire").nth(1)).to_contain_text('{"data": "hi"}')
    await screenshot(page, "gateway-call-no-usage")

    # 3. The order's billed totals: the two passed calls, as the control API sums them.
    totals = (await api.ok("GET", f"/orders/{order_id}/gateway"))["totals"]
    assert totals["billed_tokens"] == 2 * USAGE["total_tokens"] and totals["calls"] == 3 and totals["failed"] == 1
    await page.goto(base + f"/orders/{order_id}")
    await expect(page.locator("#gateway-billed")).to_contain_text(
        f"{totals['billed_tokens']} tokens (prompt {totals['prompt_tokens']}, "
        f"completion {totals['completion_tokens']})")
    await expect(page.locator("#order-gateway")).to_contain_text(f"{totals['calls']} ({totals['failed']} failed)")
    await screenshot(page, "gateway-order-totals")

    # 4. A phone's width: neither page scrolls sideways.
    await page.set_viewport_size(PHONE)
    for url, name in ((base + "/gateway", "gateway-phone"), (call_url, "gateway-call-phone")):
        await page.goto(url)
        await expect(page.locator("h1")).to_be_visible()
        await screenshot(page, name)
        await _no_horizontal_scroll(page)
