"""The console clicked through in real headless Chromium against the real emulator and merchant stub.

Playwright's `expect` waits for a condition (live updates arrive by server-sent events); nothing
sleeps, and time moves only through the console's clock controls.
"""

from __future__ import annotations

import re
import shlex

import aiohttp

from emulator.app import EmulatorServer
from emulator.testing.merchant_stub import ReceivedCall

from ..conftest import STUB_KEY, RunningStub
from ..helpers import Api


async def test_qa_runs_a_monthly_lifecycle_by_hand(emulator: EmulatorServer, merchant_stub: RunningStub,
                                                  page, screenshot) -> None:  # type: ignore[no-untyped-def]
    from playwright.async_api import expect

    base = emulator.url
    page.on("dialog", lambda dialog: dialog.accept())

    # Configure a merchant pointing at the stub; the key is masked until revealed.
    await page.goto(base + "/merchants")
    form = page.locator("#merchant-create")
    await form.get_by_label("Name", exact=True).fill("Acme")
    await form.get_by_label("Id", exact=True).fill("acme")
    await form.get_by_label("Production interface URL", exact=True).fill(merchant_stub.url)
    await form.get_by_label("Key", exact=True).fill(STUB_KEY)
    await form.get_by_role("button", name="Add merchant").click()
    await expect(page).to_have_url(base + "/merchants/acme")
    await expect(page.locator(".flash")).to_contain_text("Merchant acme created")
    secret = page.locator("#secret-access_key")
    await expect(secret).not_to_contain_text(STUB_KEY)
    await page.get_by_role("button", name="Reveal").first.click()
    await expect(secret).to_have_text(STUB_KEY)
    await screenshot(page, "merchant")

    # A monthly product for it.
    await page.goto(base + "/catalogue")
    form = page.locator("#product-create")
    await form.get_by_label("Name", exact=True).fill("Acme monthly")
    await form.get_by_label("Code", exact=True).fill("acme-monthly")
    await form.get_by_label("Merchant", exact=True).select_option("acme")
    await form.get_by_label("Upgrades allowed", exact=True).check()
    await form.get_by_role("button", name="Add product").click()
    await expect(page.locator(".flash")).to_contain_text("Product acme-monthly created")
    await screenshot(page, "catalogue")

    # Place an order: newInstance is delivered and shows up without reloading.
    await page.goto(base + "/orders")
    form = page.locator("#order-create")
    await form.get_by_label("Product", exact=True).select_option("acme-monthly")
    await form.get_by_label("Periods", exact=True).fill("1")
    await form.get_by_role("button", name="Place order").click()
    await expect(page).to_have_url(re.compile(r"/orders/CS\d{10}[A-Z0-9]{5}$"))
    order_url = page.url
    deliveries = page.locator("#order-deliveries")
    await expect(deliveries.locator("tr", has_text="newInstance")).to_contain_text("succeeded")
    await expect(page.locator("#instance-state")).to_have_text("active")
    await expect(page.locator("[data-action=unfreeze]")).to_have_count(0)
    await expect(page.locator("[data-action=freeze]")).to_have_count(1)
    await screenshot(page, "order")

    # Renew one month.
    await page.locator("#renew-form").get_by_role("button", name="Renew").click()
    await expect(page.locator(".flash")).to_contain_text("Renewal order")
    await expect(deliveries.locator("tr", has_text="refreshInstance")).to_contain_text("succeeded")

    # Past the new expiry (about two months): the clock page lists the FREEZE that fired.
    await page.goto(base + "/clock")
    form = page.locator("#advance-form")
    await form.get_by_label("Amount", exact=True).fill("62")
    await form.get_by_label("Unit", exact=True).select_option("days")
    await form.get_by_role("button", name="Advance").click()
    await expect(page.locator("main")).to_contain_text("What fired between")
    await expect(page.locator("main table").last).to_contain_text("updateInstanceStatus FREEZE")
    await screenshot(page, "clock")

    await page.goto(order_url)
    await expect(page.locator("#instance-state")).to_contain_text("frozen (expired, grace)")
    await expect(page.locator("[data-action=freeze]")).to_have_count(0)
    await expect(deliveries.locator("tr", has_text="FREEZE")).to_contain_text("succeeded")

    # Release by hand (a confirmation is accepted).
    await page.locator("[data-action=release]").click()
    await expect(page.locator(".flash")).to_contain_text("Instance released")
    await expect(deliveries.locator("tr", has_text="releaseInstance")).to_contain_text("succeeded")
    await expect(page.locator("#instance-state")).to_have_text("released")
    await expect(page.locator("#actions")).to_contain_text("No action is possible")
    assert merchant_stub.stub.calls("releaseInstance")
    await page.goto(base + "/deliveries")
    await expect(page.locator("#deliveries-table tr", has_text="releaseInstance")).to_be_visible()
    await screenshot(page, "deliveries-lifecycle")


async def test_failing_merchant_retries_verdict_and_resend(emulator: EmulatorServer, api: Api,
                                                          merchant_stub: RunningStub, page,
                                                          screenshot) -> None:  # type: ignore[no-untyped-def]
    from playwright.async_api import expect

    await api.ok("POST", "/merchants", {"id": "acme", "name": "Acme", "production_url": merchant_stub.url,
                                        "access_key": STUB_KEY})
    await api.ok("POST", "/products", {"code": "m", "merchant_id": "acme", "name": "M",
                                       "charging_mode": "PERIOD", "period_type": "month"})
    merchant_stub.behaviour.fail_next = 100
    order = await api.ok("POST", "/orders", {"product": "m"})
    await api.settle()

    await page.goto(emulator.url + f"/deliveries?order_id={order['order_id']}")
    row = page.locator("#deliveries-table tr", has_text="newInstance")
    await expect(row).to_contain_text("HTTP status 500")
    await row.get_by_role("link").first.click()
    await expect(page.locator("#attempt-1 .verdict")).to_contain_text(
        "HTTP status 500: the reply must be HTTP 200 (PROTOCOL §8 T3)")

    # Move the clock from the header: the hourly retries appear on this page.
    for _ in range(3):
        await page.get_by_role("button", name="+1 h").click()
    await expect(page.locator("#attempt-4")).to_be_visible()
    await expect(page.locator("h1")).to_contain_text("exhausted")
    await expect(page.locator("main")).to_contain_text("Restart is not possible")  # auto-unsubscribed order

    # Copy the request as curl: the original, and the same body signed again now.
    await page.context.grant_permissions(["clipboard-read", "clipboard-write"], origin=emulator.url)
    await page.locator("#attempt-4").get_by_role("button", name="Copy original as curl").click()
    original = await page.evaluate("navigator.clipboard.readText()")
    assert original.startswith("curl -sS -X POST ") and "signature=" in original and "newInstance" in original
    await page.locator("#attempt-4").get_by_role("button", name="Copy freshly signed curl").click()
    await expect(page.locator("#fresh-curl-4")).to_contain_text("curl -sS -X POST")  # shown once copied
    fresh = await page.evaluate("navigator.clipboard.readText()")
    assert fresh == await page.locator("#fresh-curl-4").text_content()
    # The stub checks the signature, the 60 s window and refuses a nonce it has seen: the original
    # is a replay, the fresh one passes, with the very same body.
    merchant_stub.behaviour.fail_next = 0
    replayed, resigned = await _run_curl(original, merchant_stub), await _run_curl(fresh, merchant_stub)
    assert replayed.body == resigned.body
    assert not replayed.signature_ok and "already used" in (replayed.problem or "")
    assert resigned.signature_ok, resigned.problem
    merchant_stub.behaviour.fail_next = 100
    await screenshot(page, "delivery-failed")

    # A merchant that holds exhausted orders can re-send once it is fixed.
    await api.ok("PATCH", "/merchants/acme", {"purchase_on_exhaust": "hold"})
    held = await api.ok("POST", "/orders", {"product": "m"})
    await api.advance(hours=4)
    delivery = (await api.deliveries(order_id=held["order_id"], activity="newInstance"))[0]
    merchant_stub.behaviour.fail_next = 0
    await page.goto(emulator.url + f"/deliveries/{delivery['id']}")
    await page.get_by_role("button", name="Re-send").click()
    await expect(page.locator(".flash")).to_contain_text("Restarted")
    await expect(page.locator("#attempt-5 .verdict")).to_contain_text("Passed")
    await expect(page.locator("h1")).to_contain_text("succeeded")
    await screenshot(page, "delivery-resent")

    await page.goto(emulator.url + "/deliveries")
    await screenshot(page, "deliveries")
    await page.goto(emulator.url + "/")
    await expect(page.locator(".card", has_text="acme")).to_contain_text("exhausted")
    await screenshot(page, "dashboard")


async def _run_curl(command: str, stub: RunningStub) -> ReceivedCall:
    """Send what a copied curl command says (method, URL, headers, body) and return what the
    merchant stub made of it."""
    words = shlex.split(command)
    method, url = words[words.index("-X") + 1], words[4]
    headers = dict(word.split(": ", 1) for previous, word in zip(words, words[1:]) if previous == "-H")
    body = words[words.index("--data-raw") + 1].encode()
    async with aiohttp.ClientSession() as session:
        async with session.request(method, url, headers=headers, data=body) as response:
            await response.read()
    return stub.stub.received[-1]


async def test_new_deliveries_appear_live(emulator: EmulatorServer, api: Api, page) -> None:  # type: ignore[no-untyped-def]
    from playwright.async_api import expect

    await page.goto(emulator.url + "/deliveries")
    await expect(page.locator("#live-status")).to_have_text("live")
    order = await api.ok("POST", "/orders", {"product": "demo-saas-monthly"})
    await expect(page.locator("#deliveries-table")).to_contain_text(order["order_id"])
    await expect(page.locator("#deliveries-table tr", has_text="newInstance")).to_contain_text("succeeded")


async def test_forms_show_field_errors_inline(emulator: EmulatorServer, page) -> None:  # type: ignore[no-untyped-def]
    from playwright.async_api import expect

    await page.goto(emulator.url + "/merchants")
    form = page.locator("#merchant-create")
    await form.get_by_label("Name", exact=True).fill("Broken")
    await form.get_by_label("Production interface URL", exact=True).fill("ftp://nowhere")
    await form.get_by_role("button", name="Add merchant").click()
    await expect(page.locator('[data-error-for="production_url"]')).to_contain_text("must start with http://")
    await expect(page.locator('[data-error-for="access_key"]')).to_contain_text("is required")
    await expect(page.locator("#merchant-create").get_by_label("Name", exact=True)).to_have_value("Broken")

    await page.goto(emulator.url + "/orders")
    form = page.locator("#order-create")
    await form.get_by_label("Product", exact=True).select_option("demo-onetime")
    await form.get_by_label("Periods", exact=True).fill("3")
    await form.get_by_role("button", name="Place order").click()
    await expect(page.locator('[data-error-for="period_number"]')).to_contain_text("must be empty")


async def test_forms_are_protected_against_cross_site_posts(emulator: EmulatorServer) -> None:
    async with aiohttp.ClientSession() as session:
        async with session.post(emulator.url + "/settings/reset", data={"csrf_token": "forged"}) as response:
            assert response.status == 403
            assert "expired" in await response.text()
        async with session.get(emulator.url + "/merchants/demo") as response:
            assert "demo-access-key-0001" not in await response.text()  # masked until revealed


async def test_open_api_credentials_and_journal(emulator: EmulatorServer, api: Api, page,
                                                screenshot) -> None:  # type: ignore[no-untyped-def]
    from playwright.async_api import expect

    from emulator.testing.openapi_client import OpenApiClient

    await page.goto(emulator.url + "/merchants/demo")
    page.on("dialog", lambda dialog: dialog.accept())
    await page.locator("#issue-credentials").click()
    ak = await page.locator("#issued-ak").inner_text()
    sk = await page.locator("#issued-sk").inner_text()
    assert len(sk) == 40
    await page.goto(emulator.url + "/merchants/demo")
    await expect(page.locator("#credentials")).not_to_contain_text(sk)  # masked from now on

    await page.goto(emulator.url + "/inbound")
    await expect(page.locator("#live-status")).to_have_text("live")
    client = OpenApiClient(emulator.url, ak, sk)
    status, _body = await client.query_order("MOCKMONTYRENEW")
    assert status == 200
    status, _body = await OpenApiClient(emulator.url, ak, "wrong-secret").query_order("MOCKMONTYRENEW")
    assert status == 401
    table = page.locator("#inbound-table")
    await expect(table.locator("tr", has_text="signature-mismatch")).to_contain_text("refused")
    await expect(table.locator("tr", has_text="MKT.0000")).to_contain_text("accepted")
    await screenshot(page, "inbound")
    await table.locator("tr", has_text="signature-mismatch").get_by_role("link").first.click()
    await expect(page.locator("#call-detail")).to_contain_text("canonical request")
    await screenshot(page, "inbound-call")


async def test_scenario_runs_from_the_console(emulator: EmulatorServer, page, screenshot) -> None:  # type: ignore[no-untyped-def]
    from playwright.async_api import expect

    await page.goto(emulator.url + "/scenarios")
    await page.locator('[data-scenario="upgrade-and-unsubscribe"]').click()
    report = page.locator("#report")
    await expect(report.locator("h2")).to_contain_text("passed")
    await expect(report).to_contain_text("releaseInstance succeeded")
    await screenshot(page, "scenarios")


async def test_dial_tests_from_the_console(emulator: EmulatorServer, api: Api, page,
                                           screenshot) -> None:  # type: ignore[no-untyped-def]
    from playwright.async_api import expect

    await page.goto(emulator.url + "/dial-tests/products/demo-saas-daily")
    for case in ("create", "query", "update", "status", "release"):
        await page.locator(f'[data-case="{case}"]').click()
        await expect(page.locator(".flash")).to_contain_text(f"The {case} case has been saved")
    await page.get_by_role("link", name="request command").first.click()
    await expect(page.locator("#command")).to_contain_text("curl -sS -X POST")
    emulator.demo_stub.behaviour.fail_next, emulator.demo_stub.behaviour.fail_activities = 1, ["releaseInstance"]
    await page.locator("#run-now").click()
    await expect(page.locator("h1")).to_contain_text("fail")
    await expect(page.locator("tr", has_text="release")).to_contain_text("HTTP status 500")
    await screenshot(page, "dialtest-run")
    await api.advance(days=1)
    await page.goto(emulator.url + "/dial-tests")
    await expect(page.locator("#dial-products")).to_contain_text("pass")
    await screenshot(page, "dialtests")
