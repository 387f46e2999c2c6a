"""The console with more than a screenful: paging, the header's search, filters, downloads,
forms that fail without breaking live updates, long actions, error pages and narrow screens.
Real Chromium against the real emulator and its built-in demo merchant."""

from __future__ import annotations

import csv
import io
import json
import re

import aiohttp

from emulator.app import EmulatorServer
from emulator.settings import Settings

from ..helpers import Api

MONTHLY = "demo-saas-monthly"


async def _orders(api: Api, count: int, **extra: object) -> list[dict]:
    placed = [await api.ok("POST", "/orders", {"product": MONTHLY, **extra}) for _ in range(count)]
    await api.settle()
    return placed


async def _demo_behaves(emulator: EmulatorServer, **behaviour: object) -> None:
    async with aiohttp.ClientSession() as session:
        async with session.put(emulator.url + "/demo-merchant/_behaviour", json=behaviour) as response:
            assert response.status == 200, await response.text()


async def test_paging_search_filters_and_downloads(emulator: EmulatorServer, api: Api, page,
                                                  screenshot) -> None:  # type: ignore[no-untyped-def]
    from playwright.async_api import expect

    base = emulator.url
    placed = await _orders(api, 30)
    dial_test = (await _orders(api, 3, test_flag="1"))[0]
    total = len((await api.ok("GET", "/deliveries", params={"limit": "1000"}))["deliveries"])
    assert total >= 66  # a newInstance and a queryInstance per order at least

    # Paging: "x–y of N" and the links between pages keep the filters.
    await page.goto(base + "/deliveries?size=25")
    pager = page.locator("#deliveries-table .pager").first
    await expect(pager.locator("[data-range]")).to_have_text(f"1–25 of {total} deliveries")
    await expect(page.locator("#deliveries-table tbody tr")).to_have_count(25)
    await pager.get_by_role("link", name="next ›").click()
    await expect(page).to_have_url(re.compile(r"size=25&page=2$"))
    await expect(pager.locator("[data-range]")).to_have_text(f"26–50 of {total} deliveries")
    await pager.get_by_role("link", name="last »").click()
    await expect(pager.locator("[data-range]")).to_have_text(
        f"{(total - 1) // 25 * 25 + 1}–{total} of {total} deliveries")

    # Test traffic: hidden, or alone; the badges say which rows are dial-test traffic.
    await page.goto(base + "/deliveries")
    await page.locator("#delivery-filters").get_by_label("Test traffic").select_option("only")
    await page.locator("#delivery-filters").get_by_role("button", name="Filter").click()
    only = page.locator("#deliveries-table tbody tr")
    await expect(only).to_have_count(len([d for d in await api.deliveries(limit=1000) if d["test_flag"] == "1"]))
    for row in await only.all():
        await expect(row.locator(".badge.test")).to_be_visible()
    await page.locator("#delivery-filters").get_by_label("Test traffic").select_option("hide")
    await page.locator("#delivery-filters").get_by_role("button", name="Filter").click()
    await expect(page.locator("#deliveries-table .badge.test")).to_have_count(0)

    # The header's search: an exact id opens what it names; a part, in lower case, lists matches.
    order_id = placed[7]["order_id"]
    box = page.get_by_role("searchbox", name="search any id")
    await box.fill(order_id)
    await box.press("Enter")
    await expect(page).to_have_url(base + f"/orders/{order_id}")
    await box.fill(dial_test["order_id"][-7:].lower())
    await box.press("Enter")
    await expect(page.locator("table.search-hits")).to_contain_text(dial_test["order_id"])
    await page.get_by_role("link", name="Their deliveries").click()
    await expect(page.locator("#deliveries-table tbody tr").first).to_contain_text(dial_test["order_id"])
    nothing = base + "/deliveries?q=no-such-id-anywhere"
    await page.goto(nothing)
    await expect(page.locator(".search-note")).to_contain_text("Nothing is named")
    await expect(page.locator("#deliveries-table")).to_contain_text("0 of 0 deliveries")

    # Downloads: everything the filter shows (all pages), as CSV and as JSON.
    await page.goto(base + "/deliveries?size=25&test=hide&activity=newInstance")
    shown = await page.locator("#deliveries-table [data-range]").first.text_content()
    count = int(re.search(r"of (\d+)", shown or "").group(1))  # type: ignore[union-attr]
    assert count == 30
    async with page.expect_download() as csv_download:
        await page.locator("#deliveries-table").get_by_role("link", name="CSV").first.click()
    rows = list(csv.DictReader(io.StringIO((await (await csv_download.value).path()).read_text("utf-8"))))
    assert len(rows) == count and {r["activity"] for r in rows} == {"newInstance"}
    assert {r["test_flag"] for r in rows} == {"0"}
    assert {r["order_id"] for r in rows} == {o["order_id"] for o in placed}
    async with page.expect_download() as json_download:
        await page.locator("#deliveries-table").get_by_role("link", name="JSON").first.click()
    exported = json.loads((await (await json_download.value).path()).read_text("utf-8"))
    assert [d["id"] for d in exported] == [int(r["id"]) for r in rows]
    await screenshot(page, "deliveries-paged")

    # Orders page the same way.
    await page.goto(base + f"/orders?size=25&merchant_id=demo&q={order_id[:9].lower()}")
    await expect(page.locator("#orders-table [data-range]").first).to_contain_text("of 33 orders")


async def test_a_form_error_keeps_the_page_address_and_its_live_updates(
        emulator: EmulatorServer, api: Api, page) -> None:  # type: ignore[no-untyped-def]
    from playwright.async_api import expect

    await page.goto(emulator.url + "/clock")
    await expect(page.locator("#live-status")).to_have_text("live")
    form = page.locator("#advance-form")
    await form.get_by_label("Amount").fill("-3")
    await form.get_by_role("button", name="Advance").click()
    await expect(form.locator("[data-error-for=amount]")).to_be_visible()
    await expect(page).to_have_url(emulator.url + "/clock")  # not /clock/advance
    # The page still follows the emulator: a move of the clock elsewhere shows here.
    moved = await api.advance(hours=5)
    await expect(page.locator("#clock-live")).to_contain_text(moved.replace("T", " ").removesuffix("Z"))
    await expect(page.locator("#live-status")).to_have_text("live")
    await page.reload()
    await expect(page).to_have_url(emulator.url + "/clock")  # a reload asks for the page, not the form

    order = (await _orders(api, 1))[0]
    await page.goto(emulator.url + f"/orders/{order['order_id']}")
    renew = page.locator("#renew-form")
    await renew.get_by_label("Periods").fill("0")
    await renew.get_by_role("button").click()
    await expect(renew.locator("[data-error-for=period_number]")).to_be_visible()
    await expect(page).to_have_url(emulator.url + f"/orders/{order['order_id']}")
    await api.ok("POST", f"/orders/{order['order_id']}/renew", {"period_number": 1})
    await api.settle()
    await expect(page.locator("#order-deliveries")).to_contain_text("refreshInstance")


async def test_long_actions_show_progress_and_warn_about_the_shared_clock(
        emulator: EmulatorServer, api: Api, page) -> None:  # type: ignore[no-untyped-def]
    from playwright.async_api import expect

    await _orders(api, 2)
    await page.goto(emulator.url + "/clock")
    await expect(page.locator("#live-status")).to_have_text("live")
    panel = page.locator("#advance-panel")
    await expect(panel.locator(".notice.warning")).to_contain_text("every order of this emulator shares")
    await expect(panel.locator(".progress")).to_be_hidden()

    # What the page shows while the request runs. Playwright cannot read a page whose navigation
    # is pending, so here the form's own listener keeps the request from leaving: the console's
    # script still starts the progress display, and the clock is moved by another client.
    await page.evaluate("""document.querySelectorAll('#advance-panel form').forEach(
        (form) => form.addEventListener('submit', (event) => event.preventDefault()))""")
    await panel.get_by_role("button", name="+31 days").click()
    await expect(panel).to_have_class(re.compile("running"))
    await expect(panel.locator(".progress")).to_contain_text("The emulator clock is shared")
    await expect(panel.locator(".progress .elapsed")).to_have_text(re.compile(r"^[1-9]\d* s$"))
    await expect(panel.get_by_role("button", name="+1 day")).to_be_disabled()
    moved = await api.advance(days=10)
    await expect(page.locator("#clock-now")).to_have_text(moved.replace("T", " ").removesuffix("Z"))
    fraction = await panel.locator("progress").evaluate("bar => bar.value")
    assert 0.3 < fraction < 0.35, fraction  # 10 of the 31 days

    # The real request: the page comes back with the clock moved.
    await page.reload()
    await panel.get_by_role("button", name="+31 days").click()
    await expect(page.locator(".flash")).to_contain_text("Clock advanced")
    await expect(panel).not_to_have_class(re.compile("running"))

    # A scenario shows how far it moves the shared clock before it runs, and the same progress.
    await page.goto(emulator.url + "/scenarios")
    runner = page.locator("#scenario-runner")
    await expect(runner.locator(".notice.warning")).to_be_visible()
    row = runner.locator("tr", has_text="monthly-lifecycle")
    await expect(row).to_contain_text("by ")
    await page.evaluate("""document.querySelectorAll('#scenario-runner form').forEach(
        (form) => form.addEventListener('submit', (event) => event.preventDefault()))""")
    await row.get_by_role("button", name="Run").click()
    await expect(runner).to_have_class(re.compile("running"))
    # Steps reported by a run of the same scenario (here through the control API) appear in it.
    await api.ok("POST", "/scenarios/monthly-lifecycle/run")
    await expect(runner.locator(".progress .step")).to_contain_text(re.compile(r"monthly-lifecycle: step \d+ of \d+"))
    await page.reload()
    await runner.locator("tr", has_text="monthly-lifecycle").get_by_role("button", name="Run").click()
    await expect(page.locator("#report")).to_be_visible(timeout=60_000)
    await expect(page).to_have_url(emulator.url + "/scenarios")


async def test_the_header_clock_follows_the_emulator_clock(emulator: EmulatorServer, api: Api,
                                                          page) -> None:  # type: ignore[no-untyped-def]
    from playwright.async_api import expect

    await page.goto(emulator.url + "/deliveries")
    await expect(page.locator("#live-status")).to_have_text("live")
    moved = await api.advance(days=3, hours=2)
    await expect(page.locator("#clock-now")).to_have_text(moved.replace("T", " ").removesuffix("Z"))


async def test_error_pages_favicon_settings_and_a_phone_screen(emulator: EmulatorServer, api: Api, page,
                                                               screenshot) -> None:  # type: ignore[no-untyped-def]
    from playwright.async_api import expect

    base = emulator.url
    response = await page.goto(base + "/no/such/page")
    assert response is not None and response.status == 404
    await expect(page.locator("h1")).to_have_text("Page not found")
    await expect(page.get_by_role("navigation").first).to_contain_text("Deliveries")
    response = await page.goto(base + "/orders/CS0000000000NOPE")
    assert response is not None and response.status == 404
    await expect(page.locator("main")).to_contain_text("CS0000000000NOPE does not exist")
    icon = await page.request.get(base + "/favicon.ico")
    assert icon.status == 200 and icon.headers["content-type"].startswith("image/svg+xml")

    await page.goto(base + "/")
    await expect(page.locator("h1")).to_have_text("Dashboard")
    await page.goto(base + "/settings")
    await expect(page.locator("#settings-table tbody tr")).to_have_count(len(Settings.model_fields))
    await expect(page.locator("[data-setting=console_secret]")).to_be_visible()

    order = (await _orders(api, 1))[0]
    delivery = (await api.deliveries(order_id=order["order_id"]))[0]
    await page.set_viewport_size({"width": 390, "height": 844})
    paths = [item for item in await page.eval_on_selector_all("header nav a", "links => links.map(a => a.pathname)")]
    paths += [f"/orders/{order['order_id']}", f"/deliveries/{delivery['id']}", "/search?q=cs", "/no/such/page"]
    for path in paths:
        await page.goto(base + path)
        width = await page.evaluate("document.documentElement.scrollWidth")
        assert width <= 390, f"{path} is {width} px wide at 390 px"
    await page.goto(base + "/deliveries")
    await screenshot(page, "deliveries-390px")
