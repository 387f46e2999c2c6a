"""A page served on another localhost port is same-site with the console (cookies ignore ports).
In real Chromium it can plant the CSRF cookie and post a matching token, yet no order results."""

from __future__ import annotations

from typing import AsyncIterator

import pytest
from aiohttp import web

from emulator.app import EmulatorServer

from ..helpers import Api
from ..processes import serve

ATTACK = """<!doctype html><title>neighbour</title>
<form id="f" method="post" action="{target}/orders">
  <input name="csrf_token" value="{token}"><input name="product" value="demo-saas-monthly">
</form>
<script>
  document.cookie = "koogallery_csrf={token}; path=/";
  document.getElementById("f").submit();
</script>"""


@pytest.fixture
async def neighbour(emulator: EmulatorServer) -> AsyncIterator[str]:
    token = "planted-by-the-neighbour.0000000000000000"

    async def attack(_request: web.Request) -> web.Response:
        return web.Response(text=ATTACK.format(target=emulator.url, token=token), content_type="text/html")

    app = web.Application()
    app.router.add_get("/", attack)
    runner, base = await serve(app)
    yield base + "/"
    await runner.cleanup()


async def test_a_page_on_another_port_cannot_place_an_order(emulator: EmulatorServer, api: Api, page,
                                                            neighbour: str) -> None:  # type: ignore[no-untyped-def]
    await page.goto(emulator.url + "/orders")  # the user has the console open: a real cookie exists
    async with page.expect_response(lambda r: r.url == emulator.url + "/orders" and
                                    r.request.method == "POST") as posted:
        await page.goto(neighbour)
    response = await posted.value
    assert response.status == 403
    assert "did not come from this console" in await response.text()
    assert (await api.ok("GET", "/orders"))["orders"] == []

    await page.goto(emulator.url + "/orders")  # the console itself still works
    form = page.locator("#order-create")
    await form.get_by_label("Product", exact=True).select_option("demo-saas-monthly")
    await form.get_by_role("button", name="Place order").click()
    await page.wait_for_url(lambda url: "/orders/" in url)
    assert len((await api.ok("GET", "/orders"))["orders"]) == 1
