"""The Protocol page (docs/protocol.md with an anchor per section) and the merchant page's "Protocol in
force" panel, in real headless Chromium."""

from __future__ import annotations

import re

from emulator.app import EmulatorServer

from ..conftest import STUB_KEY, RunningStub
from ..helpers import Api


async def test_the_protocol_page_has_contents_and_addressable_sections(
        emulator: EmulatorServer, page, screenshot) -> None:  # type: ignore[no-untyped-def]
    from playwright.async_api import expect

    base = emulator.url
    await page.goto(base + "/")
    await page.locator("header nav").get_by_role("link", name="Protocol", exact=True).click()
    await expect(page).to_have_url(base + "/protocol")
    await expect(page.get_by_role("heading", level=1)).to_have_text("KooGallery protocol reference")
    await expect(page.locator("header nav a[aria-current=page]")).to_have_text("Protocol")
    toc = page.get_by_role("navigation", name="Contents")
    await expect(toc.get_by_role("link")).to_have_count(16)
    await expect(toc.get_by_role("link", name="§5 Joint-operation family")).to_have_attribute("href", "#s5")
    for anchor in ("s0", "s2a", "s2b", "s9", "s12-8", "s15-2"):
        await expect(page.locator(f"#protocol #{anchor}")).to_have_count(1)
    await expect(page.locator("#protocol table").first).to_be_visible()

    await page.goto(base + "/protocol#s5")
    section = page.locator("#s5")
    await expect(section).to_have_text("§5 Joint-operation family")
    await expect(section).to_be_in_viewport()
    await expect(page.get_by_role("heading", name="§12.8 License open APIs")).not_to_be_in_viewport()
    await toc.get_by_role("link", name=re.compile(r"^§9 ")).click()
    await expect(page).to_have_url(base + "/protocol#s9")
    await expect(page.locator("#s9")).to_be_in_viewport()
    await screenshot(page, "protocol")


async def test_a_joint_merchant_shows_its_family_and_switches(emulator: EmulatorServer, api: Api, page,
                                                              screenshot) -> None:  # type: ignore[no-untyped-def]
    from playwright.async_api import expect

    base = emulator.url
    await api.ok("POST", "/merchants", {"id": "j", "name": "J", "production_url": "http://127.0.0.1:9/p",
                                        "access_key": "k", "family": "saas_v2_joint", "kit_key": "kk"})
    await page.goto(base + "/merchants/j")
    panel = page.locator("#protocol-in-force")
    await expect(panel.locator("#merchant-family")).to_contain_text("SaaS 2.0 joint operation")
    await expect(panel).to_contain_text("Changing the family applies to orders placed afterwards: instances "
                                        "bought before keep the family they were bought in.")
    await expect(panel.locator("#other-families")).to_have_count(0)
    switches = panel.locator("#switches")
    for name in ("signature_hex_case", "content_type", "purchase_on_exhaust", "retry_overrides", "kit_sign_hex_case",
                 "kit_base_url", "kit_rsa_padding", "kit_org_info", "encrypt_buyer_contact", "aes_key_bits"):
        await expect(switches.locator(f"tr[data-switch={name}]")).to_have_attribute("data-default", "yes")
    await expect(switches.locator("tr[data-switch=kit_key]")).to_have_attribute("data-default", "no")
    await expect(switches.locator("tr[data-switch=license_field]")).to_have_count(0)
    org = switches.locator("tr[data-switch=kit_org_info]")
    await expect(org).to_contain_text("string")
    await expect(org).to_contain_text("default")
    await expect(org.get_by_role("link", name="PROTOCOL §5")).to_have_attribute("href", "/protocol#s5")
    await expect(switches.locator("tr[data-switch=kit_sign_hex_case]").get_by_role("link")).to_have_attribute(
        "href", "/protocol#s2b")
    await expect(switches.locator("tr[data-switch=signature_hex_case]").get_by_role("link")).to_have_attribute(
        "href", "/protocol#s2a")
    await screenshot(page, "merchant-protocol-in-force")

    # The family's link leads to its section.
    await panel.locator("#family-section").click()
    await expect(page).to_have_url(base + "/protocol#s5")
    await expect(page.locator("#s5")).to_be_in_viewport()

    # A switch changed through the form is no longer the default.
    await page.goto(base + "/merchants/j")
    form = page.locator("#merchant-edit")
    await expect(form.get_by_label("Protocol family", exact=True)).to_have_accessible_description(
        re.compile("applies to orders placed afterwards"))
    await form.get_by_label("allOrgSync orgInfo", exact=True).select_option("list")
    await form.get_by_role("button", name="Save").click()
    await expect(page.locator(".flash")).to_contain_text("Merchant saved")
    org = page.locator("#switches tr[data-switch=kit_org_info]")
    await expect(org).to_have_attribute("data-default", "no")
    await expect(org).to_contain_text("changed")
    await expect(org.locator("td").first).to_have_text("list")
    assert (await api.ok("GET", "/merchants/j"))["kit_org_info"] == "list"

    # A bad value is shown next to its field, naming it; nothing is saved.
    form = page.locator("#merchant-edit")
    await form.get_by_label("License activities (JSON)", exact=True).fill('{"upgrade": ')
    await form.get_by_role("button", name="Save").click()
    error = page.locator('[data-error-for="license_activities"]')
    await expect(error).to_contain_text("license_activities")
    await expect(error).to_contain_text("not valid JSON")
    box = page.locator("#merchant-edit").get_by_label("License activities (JSON)", exact=True)
    await expect(box).to_have_attribute("aria-invalid", "true")
    assert (await api.ok("GET", "/merchants/j"))["license_activities"] == {}


async def test_instances_keep_the_family_they_were_bought_in(emulator: EmulatorServer, api: Api,
                                                             merchant_stub: RunningStub, page,
                                                             screenshot) -> None:  # type: ignore[no-untyped-def]
    from playwright.async_api import expect

    await api.ok("POST", "/merchants", {"id": "s", "name": "S", "production_url": merchant_stub.url,
                                        "access_key": STUB_KEY})
    await api.ok("POST", "/products", {"code": "s-monthly", "merchant_id": "s", "name": "S monthly",
                                       "charging_mode": "PERIOD", "period_type": "month"})
    await api.ok("POST", "/orders", {"product": "s-monthly"})
    await api.settle()

    await page.goto(emulator.url + "/merchants/s")
    panel = page.locator("#protocol-in-force")
    await expect(panel.locator("#merchant-family")).to_contain_text("SaaS 2.0 slim")
    await expect(panel.locator("#other-families")).to_have_count(0)
    form = page.locator("#merchant-edit")
    await form.get_by_label("Protocol family", exact=True).select_option("saas_v2_joint")
    await form.get_by_role("button", name="Save").click()
    await expect(page.locator(".flash")).to_contain_text("Merchant saved")
    await expect(panel.locator("#merchant-family")).to_contain_text("SaaS 2.0 joint operation")
    others = panel.locator("#other-families")
    await expect(others).to_contain_text("1 live instance keeps saas_v2_slim")
    await expect(others.get_by_role("link", name="SaaS 2.0 slim")).to_have_attribute("href", "/protocol#s4")
    await screenshot(page, "merchant-family-changed")
