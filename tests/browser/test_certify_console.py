"""The certification page in headless Chromium: a run against the built-in demo merchant, its
JUnit download read back by an independent parser, the HTML report opened in the browser, and
a bad URL refused on the form."""

from __future__ import annotations

from pathlib import Path

from junitparser import JUnitXml

from emulator.app import EmulatorServer

DEMO_KEY = "demo-access-key-0001"


async def test_certify_the_demo_merchant_from_the_console(  # type: ignore[no-untyped-def]
        emulator: EmulatorServer, page, tmp_path: Path) -> None:
    from playwright.async_api import expect

    await page.goto(emulator.url + "/certify")
    await expect(page.get_by_role("heading", name="The battery")).to_be_visible()
    await page.get_by_label("Production interface URL").fill(emulator.url + "/demo-merchant/produce")
    await page.get_by_label("Access key").fill(DEMO_KEY)
    await page.get_by_role("button", name="Run the certification").click()
    report = page.locator("#report")
    await expect(report).to_contain_text("ready", timeout=60_000)
    assert "/certify/runs/" in page.url, "post/redirect/get: the report has its own URL"
    await expect(report.locator("tbody tr")).to_have_count(16)
    await expect(report).to_contain_text("lifecycle.release")

    async with page.expect_download() as download_info:
        await page.get_by_role("link", name="JUnit XML").click()
    saved = tmp_path / "junit.xml"
    await (await download_info.value).save_as(saved)
    suite = next(iter(JUnitXml.fromfile(str(saved))))
    assert suite.tests == 16 and suite.failures == 0

    await page.get_by_role("link", name="HTML report").click()
    await expect(page.locator("#verdict")).to_have_text("Ready: every required case passed.")
    await page.locator("#lifecycle\\.purchase summary").first.click()
    await expect(page.locator("#lifecycle\\.purchase pre").first).to_contain_text("newInstance")


async def test_a_bad_url_is_refused_on_the_form(emulator: EmulatorServer, page) -> None:  # type: ignore[no-untyped-def]
    from playwright.async_api import expect

    await page.goto(emulator.url + "/certify")
    await page.get_by_label("Production interface URL").fill("merchant.example.com/produce")
    await page.get_by_label("Access key").fill("k")
    await page.get_by_role("button", name="Run the certification").click()
    await expect(page.locator("#certify-form")).to_contain_text("must start with http:// or https://")


async def test_the_login_checks_are_asked_for_from_the_console(emulator: EmulatorServer, page) -> None:  # type: ignore[no-untyped-def]
    """Given only the application, the login cases are listed as skipped, saying what else they need."""
    from playwright.async_api import expect

    await page.goto(emulator.url + "/certify")
    await page.get_by_label("Production interface URL").fill(emulator.url + "/demo-merchant/produce")
    await page.get_by_label("Access key").fill(DEMO_KEY)
    await page.get_by_label("Unified-login application (client_id)").fill("demoapp0000000000000000000000001")
    await page.get_by_role("button", name="Run the certification").click()
    report = page.locator("#report")
    await expect(report).to_contain_text("login.happy_path", timeout=60_000)
    await expect(report).to_contain_text("login_start")
