"""Browser tests of the web console: Debian's Chromium (/usr/bin/chromium) driven by Playwright.

The browser is never downloaded (`playwright install` is not used): `scripts/install-browser`
installs Debian's `chromium` package and fonts, and Playwright drives that binary through
`executable_path`. A missing browser or Playwright makes every test here FAIL, never skip.

Fixtures (the emulator itself comes from tests/conftest.py: request `emulator`, `api`,
`merchant_stub` or `shop` next to these):

- `browser` -> playwright.async_api.Browser: a fresh headless Chromium per test (launching takes
  about 0.15 s, plus about 0.35 s to start Playwright's driver, so no session scope is needed and
  no event-loop sharing between tests is involved).
- `page` -> playwright.async_api.Page: a new context (1280x800) and page per test, closed
  afterwards; when the test fails, a screenshot is saved to
  `test-output/browser/<test name>-failure.png`.
- `screenshot` -> `async (page, name) -> Path`: saves `test-output/browser/<name>.png` (full page).

Test modules import Playwright inside the test functions (`from playwright.async_api import
expect`), not at module level: a missing Playwright then fails each browser test with the install
hint below, instead of a collection error that would stop the whole test run.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import TYPE_CHECKING, AsyncIterator, Awaitable, Callable

import pytest

if TYPE_CHECKING:
    from playwright.async_api import Browser, Page

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
]
VIEWPORT = {"width": 1280, "height": 800}
OUTPUT_DIR = Path(__file__).resolve().parents[2] / "test-output" / "browser"

_REPORTS = pytest.StashKey[dict]()


@pytest.hookimpl(wrapper=True, tryfirst=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo):  # type: ignore[no-untyped-def]
    """Keep each phase's report on the item, so that `page` knows at teardown if the test failed."""
    report = yield
    item.stash.setdefault(_REPORTS, {})[report.when] = report
    return report


@pytest.fixture(scope="session", autouse=True)
def browser_available() -> None:
    """Fail (never skip) every browser test when Chromium or Playwright is missing."""
    problems = []
    if not CHROMIUM.is_file():
        problems.append(f"{CHROMIUM} is missing")
    try:
        import playwright.async_api  # noqa: F401
    except ImportError:
        problems.append("the Python package `playwright` is not installed in this environment")
    if problems:
        pytest.fail(
            "browser tests cannot run: " + "; ".join(problems)
            + ". Run `scripts/install-browser` (as root: installs Debian's chromium and fonts) and "
            "`.venv/bin/pip install -e '.[test]'` (or simply `scripts/test`, which does both).",
            pytrace=False,
        )


def _file_name(name: str) -> str:
    return re.sub(r"[^A-Za-z0-9_.-]+", "_", name).strip("_") or "page"


async def save_screenshot(page: "Page", name: str) -> Path:
    """Save a full-page screenshot to test-output/browser/<name>.png and return its path."""
    OUTPUT_DIR.mkdir(parents=True, exist_ok=True)
    path = OUTPUT_DIR / f"{_file_name(name)}.png"
    await page.screenshot(path=str(path), full_page=True)
    return path


@pytest.fixture
def screenshot() -> Callable[["Page", str], Awaitable[Path]]:
    """`await screenshot(page, "name")` saves test-output/browser/name.png (full page)."""
    return save_screenshot


@pytest.fixture
async def browser(browser_available: None) -> AsyncIterator["Browser"]:
    from playwright.async_api import async_playwright

    async with async_playwright() as playwright:
        browser = await playwright.chromium.launch(
            executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS,
        )
        try:
            yield browser
        finally:
            await browser.close()


@pytest.fixture
async def page(browser: "Browser", request: pytest.FixtureRequest) -> AsyncIterator["Page"]:
    context = await browser.new_context(viewport=VIEWPORT)
    try:
        page = await context.new_page()
        yield page
        report = request.node.stash.get(_REPORTS, {}).get("call")
        if report is not None and report.failed and not page.is_closed():
            try:
                path = await save_screenshot(page, f"{request.node.name}-failure")
            except Exception as exc:  # a broken page must not hide the test's own failure
                print(f"could not save the failure screenshot: {exc!r}")
            else:
                print(f"failure screenshot: {path}")
    finally:
        await context.close()
