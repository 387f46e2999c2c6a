"""The instance timeline: a monthly order with a failing merchant, walked past its release on the
emulator clock, drawn as one SVG with every attempt, the state bands and the period lines."""

from __future__ import annotations

from emulator.app import EmulatorServer

from ..conftest import RunningStub, Shop
from ..helpers import Api, parse_time

WIDE, NARROW = "#timeline svg.tl-wide", "#timeline svg.tl-narrow"
PASSED_GREEN, FAILED_RED = "rgb(23, 117, 47)", "rgb(176, 0, 32)"


async def _walk_a_failing_subscription(api: Api, merchant_stub: RunningStub) -> dict:
    """Purchase, a renewal retried three times, an expiry whose FREEZE fails 60 times, the release:
    1 + 1 + 4 + 60 + 1 attempts, over three months."""
    shop = await Shop.create(api, merchant_stub)
    order = await shop.buy()
    await api.advance(minutes=2)  # the first queryInstance poll
    merchant_stub.behaviour.fail_activities = ["refreshInstance"]
    merchant_stub.behaviour.fail_next = 3
    await api.ok("POST", f"/orders/{order['order_id']}/renew", {"period_number": 1})
    await api.advance(hours=4)  # refreshInstance: three failures, then a success an hour later each
    merchant_stub.behaviour.fail_activities = ["updateInstanceStatus"]
    merchant_stub.behaviour.fail_next = 1000
    await api.advance(days=60)  # past the expiry: FREEZE fails every minute for an hour
    merchant_stub.behaviour.fail_next = 0
    await api.advance(days=31)  # grace and retention end: releaseInstance
    return order


async def _stored_attempts(api: Api, instance_key: str) -> int:
    listed = await api.ok("GET", "/deliveries", params={"instance": instance_key, "limit": "500"})
    return sum(d["attempts"] for d in listed["deliveries"])


async def _counted_marks(page, svg: str) -> int:  # type: ignore[no-untyped-def]
    counts = await page.locator(f"{svg} a.tl-attempt").evaluate_all("els => els.map(e => +e.dataset.count)")
    return sum(counts)


async def test_timeline_of_a_failing_subscription(emulator: EmulatorServer, api: Api, merchant_stub: RunningStub,
                                                  page, screenshot) -> None:  # type: ignore[no-untyped-def]
    from playwright.async_api import expect

    order = await _walk_a_failing_subscription(api, merchant_stub)
    key = order["instance"]
    instance = await api.instance(key)
    assert instance["state"] == "released"
    stored = await _stored_attempts(api, key)
    assert stored >= 60

    # From the order page to the timeline.
    await page.goto(emulator.url + f"/orders/{order['order_id']}")
    await page.locator("#instance-timeline").click()
    await expect(page).to_have_url(emulator.url + f"/instances/{key}")
    wide = page.locator(WIDE)
    await expect(wide).to_be_visible()
    await expect(page.locator(NARROW)).to_be_hidden()

    # Every attempt is drawn, merged marks carrying their count; verdicts have their colours.
    assert await _counted_marks(page, WIDE) == stored
    assert await page.locator(f"{WIDE} a.tl-attempt").count() < stored  # the FREEZE retries were merged
    failed, passed = wide.locator("a.tl-attempt.tl-failed rect"), wide.locator("a.tl-attempt.tl-passed rect")
    await expect(failed.first).to_be_visible()
    await expect(passed.first).to_be_visible()
    assert await failed.first.evaluate("e => getComputedStyle(e).fill") == FAILED_RED
    assert await passed.first.evaluate("e => getComputedStyle(e).fill") == PASSED_GREEN
    freeze = wide.locator('a.tl-attempt[data-activity="updateInstanceStatus"]')
    assert sum(await freeze.evaluate_all("els => els.map(e => +e.dataset.count)")) == 60
    await expect(freeze.first).to_have_class("tl-attempt tl-failed")
    await expect(freeze.first.locator("title")).to_contain_text("HTTP status 500")

    # The period lines of the renewal that lapsed, and now.
    renewal = next(o for o in (await api.ok("GET", "/orders", params={"instance": key}))["orders"]
                   if o["order_type"] == "RENEWAL")
    expiry = parse_time((await api.ok("GET", f"/orders/{renewal['order_id']}"))["lines"][0]["expire_at"])
    for kind, label in (("expiry", "expiry"), ("grace", "grace end"), ("retention", "retention end"), ("now", "now")):
        rule = wide.locator(f'g.tl-rule[data-kind="{kind}"]')
        await expect(rule.locator("text.tl-rule-label")).to_have_text(label)
    await expect(wide.locator('g.tl-rule[data-kind="expiry"] title')).to_contain_text(str(expiry))
    await expect(wide.locator('g.tl-rule[data-kind="retention"] title')).to_contain_text(
        instance["released_at"].rstrip("Z").replace("T", " "))
    for band in ("active", "grace", "retention", "released"):
        await expect(wide.locator(f"g.tl-band.tl-{band}").first).to_be_visible()
    await expect(wide.locator("a.tl-order")).to_have_count(2)
    await screenshot(page, "timeline-whole-life")

    # Zoomed around the expiry the 60 FREEZE attempts spread out.
    await page.get_by_role("link", name="around expiry").click()
    await expect(page.locator("#timeline-shown")).to_have_text("60")
    assert await _counted_marks(page, WIDE) == 60
    await screenshot(page, "timeline-around-expiry")

    # A mark leads to its delivery.
    await page.get_by_role("link", name="whole life").click()
    href = await wide.locator("a.tl-attempt.tl-failed").first.get_attribute("href")
    assert href is not None and href.startswith("/deliveries/")
    await wide.locator("a.tl-attempt.tl-failed rect").first.click()
    await expect(page).to_have_url(emulator.url + href)
    await expect(page.locator("h1")).to_contain_text(href.rsplit("/", 1)[1])

    # A phone: the narrow picture, nothing wider than the screen.
    await page.set_viewport_size({"width": 390, "height": 844})
    await page.goto(emulator.url + f"/instances/{key}")
    await expect(page.locator(NARROW)).to_be_visible()
    await expect(wide).to_be_hidden()
    assert await _counted_marks(page, NARROW) == stored
    assert await page.evaluate("document.documentElement.scrollWidth") <= 390
    await screenshot(page, "timeline-phone")


async def test_unknown_instance_is_404(emulator: EmulatorServer, api: Api) -> None:
    status, body = await api.page("/instances/no-such-instance")
    assert status == 404
    assert "no-such-instance does not exist" in body
