"""OAuth unified login (PROTOCOL §13) clicked through in real headless Chromium.

A tiny merchant web app (aiohttp, on its own loopback port) sends the browser to the emulator's
authorize endpoint; the user picks a test user on the emulator's login page; the app's callback
redeems the code at the token endpoint, reads userinfo and greets the user.
"""

from __future__ import annotations

import html
import re
import secrets
from typing import AsyncIterator
from urllib.parse import urlencode

import aiohttp
import pytest
from aiohttp import web

from emulator.app import EmulatorServer

from ..helpers import Api


class StubApp:
    """The merchant's app: `/` starts the login, `/callback` finishes it (state checked, code redeemed)."""

    def __init__(self, emulator_url: str) -> None:
        self.emulator_url = emulator_url
        self.url = ""
        self.client_id = ""
        self.client_secret = ""
        self.states: set[str] = set()
        self.tokens: list[dict] = []

    @property
    def callback(self) -> str:
        return self.url + "/callback"

    def app(self) -> web.Application:
        app = web.Application()
        app.router.add_get("/", self.home)
        app.router.add_get("/callback", self.finish)
        return app

    async def home(self, request: web.Request) -> web.StreamResponse:
        state = secrets.token_urlsafe(12)
        self.states.add(state)
        query = urlencode({"response_type": "code", "client_id": self.client_id, "redirect_uri": self.callback,
                           "scope": "get_user_info", "state": state})
        raise web.HTTPFound(f"{self.emulator_url}/api/v1/oauth2/authorize?{query}")

    async def finish(self, request: web.Request) -> web.StreamResponse:
        if request.query.get("error"):
            return web.Response(text=f"Login failed: {request.query['error']}", status=400)
        state = request.query.get("state", "")
        if state not in self.states:
            return web.Response(text="Bad state", status=400)
        self.states.discard(state)
        async with aiohttp.ClientSession() as session:
            async with session.post(self.emulator_url + "/api/v1/oauth2/token", data={
                "grant_type": "authorization_code", "code": request.query.get("code", ""),
                "redirect_uri": self.callback, "client_id": self.client_id, "client_secret": self.client_secret,
            }, headers={"Accept": "application/json"}) as response:
                token = await response.json()
                if response.status != 200:
                    return web.Response(text=f"Token error {response.status}: {token}", status=502)
            self.tokens.append(token)
            async with session.get(self.emulator_url + "/api/v1/oauth2/userinfo", headers={
                "Authorization": f"Bearer {token['access_token']}", "Accept": "application/json",
            }) as response:
                user = await response.json()
                if response.status != 200:
                    return web.Response(text=f"Userinfo error {response.status}: {user}", status=502)
        name = html.escape(user["name"])
        return web.Response(text=f'<!doctype html><html lang="zh"><head><meta charset="utf-8"><title>My app</title>'
                                 f'</head><body><h1 id="greeting">Hello {name}</h1>'
                                 f'<p id="user-name">{html.escape(user["userName"])}</p></body></html>',
                            content_type="text/html")


@pytest.fixture
async def stub_app(emulator: EmulatorServer) -> AsyncIterator[StubApp]:
    stub = StubApp(emulator.url)
    runner = web.AppRunner(stub.app(), access_log=None, shutdown_timeout=0.5)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    stub.url = f"http://127.0.0.1:{port}"
    yield stub
    await runner.cleanup()


async def test_user_logs_into_a_merchant_app(emulator: EmulatorServer, api: Api, stub_app: StubApp,
                                             page, screenshot) -> None:  # type: ignore[no-untyped-def]
    from playwright.async_api import expect

    registered = await api.ok("POST", "/oauth/apps", {"merchant_id": "demo", "name": "My app",
                                                      "login_url": stub_app.callback})
    stub_app.client_id, stub_app.client_secret = registered["client_id"], registered["client_secret"]
    await api.ok("POST", f"/oauth/apps/{stub_app.client_id}/users", {
        "userName": "zhangsan", "name": "张三", "email": "zhangsan@example.com", "mobile": "13800000000",
        "role": "user"})
    await api.ok("POST", f"/oauth/apps/{stub_app.client_id}/users", {
        "userName": "lisi", "name": "李四", "email": "lisi@example.com", "mobile": "13900000000", "role": "admin"})

    # The app sends the browser to authorize, which sends it on to the login page.
    await page.goto(stub_app.url + "/")
    await expect(page).to_have_url(re.compile(re.escape(emulator.url + "/unified-login/") + r"\?.*client_id="))
    await expect(page.locator("main")).to_contain_text("My app")
    await expect(page.get_by_role("button", name="Log in as lisi", exact=True)).to_be_visible()
    await expect(page.get_by_label("User name", exact=True)).to_be_visible()
    await expect(page.get_by_label("Password", exact=True)).to_be_visible()
    await expect(page.get_by_label("Issue an already-expired code", exact=True)).to_be_visible()
    await expect(page.get_by_label("Issue a code bound to another client", exact=True)).to_be_visible()
    await expect(page.get_by_role("button", name="Deny", exact=True)).to_be_visible()
    await screenshot(page, "unified-login")

    # One click: back on the app, which redeemed the code and read userinfo.
    await page.get_by_role("button", name="Log in as zhangsan", exact=True).click()
    await expect(page).to_have_url(re.compile(re.escape(stub_app.callback) + r"\?code=.+&state=.+"))
    await expect(page.locator("#greeting")).to_have_text("Hello 张三")
    await expect(page.locator("#user-name")).to_have_text("zhangsan")
    assert len(stub_app.tokens) == 1 and stub_app.tokens[0]["token_type"] == "Bearer"

    # The SSO session: starting again skips the login page entirely.
    await page.goto(stub_app.url + "/")
    await expect(page.locator("#greeting")).to_have_text("Hello 张三")
    assert len(stub_app.tokens) == 2
