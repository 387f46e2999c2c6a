"""The console's Demo merchant page: set the built-in demo merchant's behaviour with the same rules as
``PUT /demo-merchant/_behaviour``, watch the retries it causes, and go back to normal."""

from __future__ import annotations

import json
from typing import Any, AsyncIterator

import aiohttp
import pytest

from emulator.app import EmulatorServer
from emulator.settings import load_settings

from ..conftest import START
from ..helpers import Api

PREVIOUS = {"fail_next": 1, "failure": "result_code", "fail_activities": ["releaseInstance"],
            "fail_instance": "CS1-000001", "refuse_changes": True}


async def _behaviour(emulator: EmulatorServer, body: Any = None) -> dict[str, Any]:
    method, data = ("GET", None) if body is None else ("PUT", json.dumps(body).encode())
    async with aiohttp.ClientSession() as session:
        async with session.request(method, emulator.url + "/demo-merchant/_behaviour", data=data) as response:
            assert response.status == 200
            return await response.json()


async def _submit(page, button: str = "#demo-save") -> int:  # type: ignore[no-untyped-def]
    """Click ``button`` and answer the status of the POST (303 when it was accepted)."""
    async with page.expect_response(lambda r: r.request.method == "POST") as posted:
        await page.click(button)
    response = await posted.value
    await page.wait_for_load_state()
    return response.status


async def test_failing_the_next_two_purchases_shows_two_failed_attempts_then_a_success(
        emulator: EmulatorServer, api: Api, page, screenshot) -> None:  # type: ignore[no-untyped-def]
    from playwright.async_api import expect

    await page.goto(emulator.url + "/demo")
    await expect(page.locator("header nav a.active")).to_have_text("Demo merchant")
    await page.select_option("#behaviour-failure", "http_500")
    await page.fill("#behaviour-fail_next", "2")
    await page.check("#behaviour-activity-newInstance")
    assert await _submit(page) == 303
    await expect(page.locator(".flash.ok")).to_contain_text("Fails the next 2 calls (newInstance) with http_500")
    await expect(page.locator('#demo-in-force [data-behaviour="fail_next"]')).to_have_text("2")
    behaviour = await _behaviour(emulator)
    assert (behaviour["fail_next"], behaviour["failure"], behaviour["fail_activities"]) == (2, "http_500",
                                                                                            ["newInstance"])

    order = await api.ok("POST", "/orders", {"product": "demo-saas-monthly"})
    await api.advance(hours=2, minutes=5)
    delivery = await api.only_delivery(order_id=order["order_id"], activity="newInstance")
    assert [a["verdict"] == "passed" for a in delivery["attempt_log"]] == [False, False, True], delivery
    assert [a["sent_at"][11:16] for a in delivery["attempt_log"]] == ["10:00", "11:00", "12:00"]
    assert START.hour == 10 and delivery["status"] == "succeeded"
    assert (await _behaviour(emulator))["fail_next"] == 0

    received = page.locator("#demo-received")  # refreshed live as the deliveries changed
    await expect(received.locator('[data-reply-status="500"]')).to_have_count(2)
    await expect(received.locator("tbody tr").filter(has_text="newInstance")).to_have_count(3)
    await expect(page.locator("#demo-normal")).to_be_visible()
    await screenshot(page, "demo-merchant-after-retries")

    await page.set_viewport_size({"width": 390, "height": 844})  # a phone: nothing scrolls sideways
    await page.reload()
    assert await page.evaluate("document.documentElement.scrollWidth") <= 390


async def test_every_field_of_the_form_reaches_the_behaviour(
        emulator: EmulatorServer, page) -> None:  # type: ignore[no-untyped-def]
    await page.goto(emulator.url + "/demo")
    await page.select_option("#behaviour-failure", "processing")
    await page.fill("#behaviour-fail_next", "3")
    await page.fill("#behaviour-fail_instance", "  CS2601311800ABCDE-000001 ")
    for activity in ("refreshInstance", "getLicense", "tenantSync"):
        await page.check(f"#behaviour-activity-{activity}")
    await page.fill("#behaviour-delay_s", "0.25")
    await page.fill("#behaviour-hang_s", "12")
    await page.fill("#behaviour-not_ready_polls", "4")
    await page.check("#behaviour-reject_signatures")
    await page.check("#behaviour-refuse_changes")
    assert await _submit(page) == 303
    assert await _behaviour(emulator) == {
        "fail_next": 3, "failure": "processing", "fail_activities": ["refreshInstance", "getLicense", "tenantSync"],
        "fail_instance": "CS2601311800ABCDE-000001", "delay_s": 0.25, "hang_s": 12.0, "reject_signatures": True,
        "refuse_changes": True, "not_ready_polls": 4,
    }
    # The form shows the behaviour in force again; blanks are the defaults.
    assert await page.input_value("#behaviour-fail_instance") == "CS2601311800ABCDE-000001"
    assert await page.is_checked("#behaviour-activity-getLicense")
    await page.fill("#behaviour-fail_instance", "")
    await page.fill("#behaviour-delay_s", "")
    await page.uncheck("#behaviour-reject_signatures")
    assert await _submit(page) == 303
    behaviour = await _behaviour(emulator)
    assert (behaviour["fail_instance"], behaviour["delay_s"], behaviour["reject_signatures"]) == (None, 0.0, False)


INVALID = [
    ("fail_next", "ten", "valid integer"),
    ("fail_next", "-1", "greater than or equal to 0"),
    ("fail_next", "1.5", "valid integer"),
    ("hang_s", "3601", "less than or equal to 3600"),
    ("delay_s", "soon", "valid number"),
    ("not_ready_polls", "-2", "greater than or equal to 0"),
]


async def test_a_bad_number_is_refused_on_the_form_and_the_behaviour_stays(
        emulator: EmulatorServer, page) -> None:  # type: ignore[no-untyped-def]
    from playwright.async_api import expect

    previous = await _behaviour(emulator, PREVIOUS)
    for name, value, message in INVALID:
        await page.goto(emulator.url + "/demo")
        box = page.locator(f"#behaviour-{name}")
        await box.evaluate("(input) => { input.type = 'text'; }")  # a number box would not keep letters
        await box.fill(value)
        assert await _submit(page) == 400, (name, value)
        field = page.locator(f"div.field:has(#behaviour-{name})")
        await expect(field).to_have_class("field invalid")
        await expect(box).to_have_attribute("aria-invalid", "true")
        await expect(field.locator(f'small.error[data-error-for="{name}"]')).to_contain_text(message)
        await expect(box).to_have_attribute("value", value)  # what was typed is sent back
        await expect(page.locator("small.error")).to_have_count(1)  # only that field is marked
        assert await _behaviour(emulator) == previous, (name, value)


async def test_an_unknown_failure_mode_or_activity_is_refused(
        emulator: EmulatorServer, page) -> None:  # type: ignore[no-untyped-def]
    from playwright.async_api import expect

    previous = await _behaviour(emulator, PREVIOUS)
    await page.goto(emulator.url + "/demo")
    await page.locator("#behaviour-failure").evaluate(
        "(select) => { select.add(new Option('explode', 'explode')); select.value = 'explode'; }")
    assert await _submit(page) == 400
    await expect(page.locator("div.field:has(#behaviour-failure)")).to_have_class("field invalid")
    await expect(page.locator('small.error[data-error-for="failure"]')).to_contain_text("Input should be")
    assert await _behaviour(emulator) == previous

    await page.locator("#behaviour-activity-newInstance").evaluate(
        "(box) => { box.value = 'dance'; box.checked = true; }")
    assert await _submit(page) == 400
    await expect(page.locator("#behaviour-fail_activities")).to_have_class("field invalid")
    await expect(page.locator('small.error[data-error-for="fail_activities"]')).to_contain_text("fail_activities.")
    assert await _behaviour(emulator) == previous

    await page.goto(emulator.url + "/demo")  # a field the model does not know is refused as well
    await page.locator("#demo-behaviour").evaluate(
        "(form) => { const extra = document.createElement('input'); extra.name = 'bogus'; extra.value = '1';"
        " form.appendChild(extra); }")
    assert await _submit(page) == 400
    await expect(page.locator("#demo-behaviour .flash.error")).to_contain_text("bogus: Extra inputs are not permitted")
    assert await _behaviour(emulator) == previous


async def test_back_to_normal_resets_the_behaviour_and_keeps_the_instances(
        emulator: EmulatorServer, api: Api, page) -> None:  # type: ignore[no-untyped-def]
    from playwright.async_api import expect

    order = await api.ok("POST", "/orders", {"product": "demo-saas-monthly"})
    await api.settle()
    stub = emulator.demo_stub
    assert stub is not None and len(stub.instances) == 1
    await _behaviour(emulator, {**PREVIOUS, "delay_s": 0.01, "not_ready_polls": 2})
    await page.goto(emulator.url + "/demo")
    await expect(page.locator("#demo-in-force li")).to_have_count(4)  # fails, delays, refuses changes, not ready
    assert await _submit(page, "#demo-normal-button") == 303
    await expect(page.locator(".flash.ok")).to_contain_text("Back to normal")
    await expect(page.locator("#demo-normal")).to_have_text("Answers every call normally.")
    assert await _behaviour(emulator) == {
        "fail_next": 0, "failure": "http_500", "fail_activities": [], "fail_instance": None, "delay_s": 0.0,
        "hang_s": 30.0, "reject_signatures": False, "refuse_changes": False, "not_ready_polls": 0,
    }
    assert len(stub.instances) == 1 and stub.received, "the instances and the calls received stay"
    assert (await api.instance(order["instance"]))["state"] == "active"


@pytest.fixture
async def external_emulator() -> AsyncIterator[EmulatorServer]:
    settings = load_settings(environ={}, port=0, database=":memory:", clock_mode="manual", clock_start=START,
                             merchant_url="http://127.0.0.1:9/produce", merchant_key="external-key-0001")
    server = EmulatorServer(settings)
    await server.start()
    yield server
    await server.stop()


async def test_with_an_external_merchant_the_page_says_so_and_has_no_form(
        external_emulator: EmulatorServer, page) -> None:  # type: ignore[no-untyped-def]
    from playwright.async_api import expect

    assert external_emulator.demo_stub is None
    await page.goto(external_emulator.url + "/demo")
    await expect(page.locator("#demo-absent")).to_contain_text("external merchant URL (http://127.0.0.1:9/produce)")
    await expect(page.locator("form#demo-behaviour")).to_have_count(0)
    await expect(page.locator("#demo-normal-button")).to_have_count(0)
