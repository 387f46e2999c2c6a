"""The enterprise (kit-sync) pages clicked through in headless Chromium, against an independent
joint-operation merchant that checks signatures and decrypts applicationSync with its own key."""

from __future__ import annotations

import re
from typing import AsyncIterator

import pytest

from emulator.app import EmulatorServer

from ..helpers import Api
from ..integration import joint_merchant as jm
from ..integration.test_joint_family import Joint

STEPS = ("tenantSync", "applicationSync", "allOrgSync", "authSync")


@pytest.fixture
async def joint(api: Api) -> AsyncIterator[Joint]:
    private, _public = jm.new_key_pair()
    stub = jm.JointMerchant(private)
    async for url in jm.serve(stub):
        yield await Joint(api, stub, url).setup()


async def _expect_chain(page, states: tuple[str, ...]) -> None:  # type: ignore[no-untyped-def]
    from playwright.async_api import expect

    for step, state in zip(STEPS, states):
        await expect(page.locator(f"#kit-chain [data-step={step}]")).to_have_attribute("data-state", state)


async def _live(page) -> None:  # type: ignore[no-untyped-def]
    """Wait for the page's first live refresh, so that a click does not race a region being replaced."""
    from playwright.async_api import expect

    await expect(page.locator("body")).to_have_attribute("data-refreshed", re.compile(r"^[1-9]"))


async def test_bind_break_resend_and_edit_an_enterprise(emulator: EmulatorServer, api: Api, joint: Joint, page,
                                                        screenshot) -> None:  # type: ignore[no-untyped-def]
    from playwright.async_api import expect

    base = emulator.url
    page.on("dialog", lambda dialog: dialog.accept())
    order = await joint.buy()

    # From the order page to the bind form, the order id already filled in.
    await page.goto(base + f"/orders/{order['order_id']}")
    await expect(page.locator("#order-enterprises")).to_contain_text("No enterprise bound")
    await page.get_by_role("link", name="Bind to an enterprise").click()
    await expect(page).to_have_url(base + f"/enterprises?order_id={order['order_id']}")
    form = page.locator("#bind-form")
    await expect(form.get_by_label("Order id", exact=True)).to_have_value(order["order_id"])
    await form.get_by_label("Enterprise name", exact=True).fill("示例企业")
    await form.get_by_role("button", name="Bind").click()
    await expect(page).to_have_url(re.compile(r"/enterprises/[0-9a-f]{32}$"))
    tenant_url = page.url
    await expect(page.locator(".flash")).to_contain_text("bound")
    await _expect_chain(page, ("succeeded",) * 4)
    await expect(page.locator("#kit-chain [data-action=resend]")).to_have_count(0)
    assert [c.name for c in joint.stub.calls if "produceAPI" in c.path] == list(STEPS)
    await expect(page.locator("#users tbody tr")).to_have_count(1)
    await screenshot(page, "enterprise-bound")

    # Each step links to its delivery.
    await page.locator("#kit-chain [data-step=allOrgSync] h3 a").click()
    await expect(page).to_have_url(re.compile(r"/deliveries/\d+$"))
    await expect(page.locator("h1")).to_contain_text("allOrgSync")
    await page.goto(tenant_url)

    # A department added through the form sends singleOrgSync.
    form = page.locator("#department-form")
    await form.get_by_label("Department code", exact=True).fill("d2")
    await form.get_by_label("Department name", exact=True).fill("Sales")
    await form.get_by_role("button", name="Add department").click()
    await expect(page.locator(".flash")).to_contain_text("Department d2 added")
    await expect(page.locator("#departments tr[data-org=d2]")).to_contain_text("Sales")
    await expect(page.locator("#kit-calls tr", has_text="singleOrgSync")).to_contain_text("succeeded")
    assert joint.stub.named("singleOrgSync")[-1].body["orgCode"] == "d2"

    # The same code again: the refusal is shown on that form's field.
    form = page.locator("#department-form")
    await form.get_by_label("Department code", exact=True).fill("d2")
    await form.get_by_label("Department name", exact=True).fill("Sales again")
    await form.get_by_role("button", name="Add department").click()
    await expect(form.locator("[data-error-for=org_code]")).to_contain_text("already exists")
    await expect(form.get_by_label("Department name", exact=True)).to_have_value("Sales again")

    # Rename it, then repeat a succeeded call to check the merchant's idempotency.
    row = page.locator("#departments tr[data-org=d2]")
    await page.goto(tenant_url)
    await row.get_by_label("New name", exact=True).fill("Sales EMEA")
    await row.get_by_role("button", name="Rename").click()
    await expect(page.locator(".flash")).to_contain_text("Department d2 renamed")
    await expect(row).to_contain_text("Sales EMEA")
    await _live(page)
    calls_before = len(joint.stub.calls)
    await page.locator("#kit-calls tr", has_text="tenantSync").get_by_role(
        "button", name="Repeat (idempotency check)").click()
    await expect(page.locator(".flash")).to_contain_text("repeated")
    repeat_row = page.locator("#kit-calls tr[data-purpose=repeat]")
    await expect(repeat_row).to_contain_text("tenantSync")
    await expect(repeat_row).to_contain_text("succeeded")
    assert joint.stub.calls[calls_before].name == "tenantSync"

    # Revoke the admin's grant: authSync cancels the authorization; the toggle then offers Grant.
    admin = page.locator("#users tbody tr").first
    await admin.get_by_role("button", name="Revoke").click()
    await expect(page.locator(".flash")).to_contain_text("no longer granted the app; authSync sent")
    await expect(admin.get_by_role("button", name="Grant")).to_be_visible()
    assert joint.stub.named("authSync")[-1].body != joint.stub.named("authSync")[0].body

    # The order page links to the bound enterprise.
    await page.goto(base + f"/orders/{order['order_id']}")
    await expect(page.locator("#order-enterprises")).to_contain_text("示例企业")

    # A second purchase, bound while the merchant runs with the wrong private key.
    right_key = joint.stub.private_key
    joint.stub.private_key, _ = jm.new_key_pair()
    second = await joint.buy()
    await page.goto(base + f"/enterprises?order_id={second['order_id']}")
    form = page.locator("#bind-form")
    await form.get_by_label("Enterprise name", exact=True).fill("Broken Co")
    await form.get_by_role("button", name="Bind").click()
    await expect(page).to_have_url(re.compile(r"/enterprises/[0-9a-f]{32}$"))
    await _expect_chain(page, ("succeeded", "failed", "not sent", "not sent"))
    broken_url = page.url
    failed = page.locator("#kit-chain [data-step=applicationSync]")
    await expect(failed).to_contain_text("000101")
    await expect(failed).to_have_class(re.compile(r"\bfailed\b"))
    await expect(page.locator("#kit-chain [data-step=authSync]")).to_contain_text("Not sent")
    await expect(page.locator("#kit-chain [data-action=resend]")).to_have_count(1)
    await screenshot(page, "enterprise-broken-chain")

    # Edits wait for the chain: the refusal lands on the department form.
    form = page.locator("#department-form")
    await form.get_by_label("Department code", exact=True).fill("x1")
    await form.get_by_label("Department name", exact=True).fill("X")
    await form.get_by_role("button", name="Add department").click()
    await expect(form.locator(".flash.error")).to_contain_text("not synced yet")

    # Fixed: re-send the failed step and the chain completes.
    joint.stub.private_key = right_key
    await page.goto(broken_url)
    await _live(page)
    await page.locator("#kit-chain").get_by_role("button", name="Re-send applicationSync").click()
    await expect(page.locator(".flash")).to_contain_text("applicationSync re-sent")
    await _expect_chain(page, ("succeeded",) * 4)
    await expect(page.locator("#kit-chain [data-action=resend]")).to_have_count(0)
    await screenshot(page, "enterprise-resent")

    await page.goto(base + "/enterprises")
    await expect(page.locator("#enterprise-list tbody tr")).to_have_count(2)
    await expect(page.locator("#enterprise-list tr", has_text="Broken Co")).to_contain_text("synced")


async def test_bind_form_shows_errors_inline(emulator: EmulatorServer, api: Api, joint: Joint,
                                             page) -> None:  # type: ignore[no-untyped-def]
    from playwright.async_api import expect

    order = await joint.buy()
    await page.goto(emulator.url + f"/enterprises?order_id={order['order_id']}")
    form = page.locator("#bind-form")
    await form.get_by_role("button", name="Bind").click()
    await expect(form.locator("[data-error-for=name]")).to_have_text("is required")
    await expect(form.get_by_label("Enterprise name", exact=True)).to_have_attribute("aria-invalid", "true")
    await expect(form.get_by_label("Order id", exact=True)).to_have_value(order["order_id"])

    await form.get_by_label("Order id", exact=True).fill("CS0000000000NONE0")
    await form.get_by_label("Enterprise name", exact=True).fill("Nobody")
    await form.get_by_role("button", name="Bind").click()
    await expect(form.locator("[data-error-for=order_id]")).to_contain_text("does not exist")
    await expect(form.get_by_label("Enterprise name", exact=True)).to_have_value("Nobody")
    assert (await api.ok("GET", "/kit/tenants"))["tenants"] == []


async def test_credential_flow_from_the_login_apps_page(emulator: EmulatorServer, api: Api, joint: Joint,
                                                        page) -> None:  # type: ignore[no-untyped-def]
    from playwright.async_api import expect

    await page.goto(emulator.url + "/login-apps")
    app = page.locator(f"#app-{joint.app['client_id']}")
    await app.get_by_role("button", name="Run the credential-application kit chain").click()
    await expect(page).to_have_url(emulator.url + f"/enterprises/{joint.app['tenant_id']}")
    await _expect_chain(page, ("succeeded",) * 4)
    await expect(page.locator("main dl.facts")).to_contain_text("credential application")
    kit_calls = [c for c in joint.stub.calls if "produceAPI" in c.path]
    assert all(c.body["instanceId"] == "" and c.body["testFlag"] == 1 for c in kit_calls)


async def test_credential_flow_refusal_is_shown_on_the_app(emulator: EmulatorServer, api: Api,
                                                           page) -> None:  # type: ignore[no-untyped-def]
    from playwright.async_api import expect

    await api.ok("POST", "/merchants", {"id": "slim", "name": "Slim", "production_url": "http://127.0.0.1:9/x",
                                        "access_key": "k" * 16})
    app = await api.ok("POST", "/oauth/apps", {"merchant_id": "slim", "name": "Slim app",
                                               "login_url": "https://slim.example.com/cb"})
    await page.goto(emulator.url + "/login-apps")
    section = page.locator(f"#app-{app['client_id']}")
    await section.get_by_role("button", name="Run the credential-application kit chain").click()
    await expect(section.locator(".flash.error")).to_contain_text("joint-operation family")

