"""Certification of a merchant web app's unified-login callback (§13): a small web app on aiohttp
with a correct login (Authlib client, state bound to the browser by a cookie, token exchange and
userinfo against the emulator) passes every login case; each broken variant fails exactly its case."""

from __future__ import annotations

import secrets
from typing import AsyncIterator, Optional

import pytest
from aiohttp import web
from authlib.integrations.base_client import OAuthError
from authlib.integrations.httpx_client import AsyncOAuth2Client

from emulator.app import EmulatorServer
from emulator.certify.battery import LOGIN
from emulator.certify.login import THROUGH_THE_EMULATOR, LoginTarget, certify_login
from emulator.certify.runner import FAILED, PASSED, SKIPPED

from ..helpers import Api

AUTHORIZE = "/api/v1/oauth2/authorize"
TOKEN = "/api/v1/oauth2/token"
USERINFO = "/api/v1/oauth2/userinfo"
DEMO_KEY = "demo-access-key-0001"
ALL_CASES = {case.id for case in LOGIN}


class WebApp:
    """A merchant web app's login: ``/login`` starts it, ``/callback`` finishes it; ``fault`` breaks one rule."""

    def __init__(self, emulator_url: str, fault: Optional[str] = None) -> None:
        self.emulator_url, self.fault = emulator_url, fault
        self.client_id = self.client_secret = self.callback = ""
        self.redeemed: dict[str, dict] = {}

    def client(self) -> AsyncOAuth2Client:
        return AsyncOAuth2Client(client_id=self.client_id, client_secret=self.client_secret,
                                 scope="get_user_info", redirect_uri=self.callback, timeout=10)

    def app(self) -> web.Application:
        app = web.Application()
        app.router.add_get("/login", self.login)
        app.router.add_get("/callback", self.finish)
        return app

    async def login(self, request: web.Request) -> web.Response:
        async with self.client() as client:
            url, state = client.create_authorization_url(self.emulator_url + AUTHORIZE,
                                                         state=secrets.token_urlsafe(16))
        response = web.HTTPFound(url)
        response.set_cookie("login_state", state, httponly=True, samesite="Lax", path="/")
        raise response

    def _logged_in(self, user: dict) -> web.Response:
        response = web.Response(status=302, headers={"Location": "/"}, text=f"welcome {user.get('userName')}")
        response.set_cookie("session", secrets.token_urlsafe(16), httponly=True, samesite="Lax", path="/")
        response.del_cookie("login_state", path="/")
        return response

    @staticmethod
    def _failed(why: str) -> web.Response:
        response = web.Response(status=401, text=f"login failed: {why}")
        response.del_cookie("login_state", path="/")
        return response

    async def finish(self, request: web.Request) -> web.Response:
        code, state = request.query.get("code", ""), request.query.get("state", "")
        if self.fault == "caches_codes" and code in self.redeemed:
            return self._logged_in(self.redeemed[code])
        if self.fault != "no_state_check" and (not state or state != request.cookies.get("login_state")):
            return self._failed("state mismatch")
        async with self.client() as client:
            try:
                await client.fetch_token(self.emulator_url + TOKEN, code=code)
            except OAuthError as exc:
                if self.fault == "session_on_token_error":
                    return self._logged_in({})
                return self._failed(f"token: {exc}")
            if self.fault == "no_userinfo":
                return self._logged_in({})
            answer = await client.get(self.emulator_url + USERINFO)
        if answer.status_code != 200:
            if self.fault == "ignores_userinfo_failure":
                return self._logged_in({})
            return self._failed(f"userinfo answered {answer.status_code}")
        self.redeemed[code] = answer.json()
        return self._logged_in(self.redeemed[code])


async def _serve(app: web.Application) -> AsyncIterator[str]:
    runner = web.AppRunner(app, access_log=None, shutdown_timeout=0.5)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        await runner.cleanup()


async def _register(api: Api, webapp: WebApp, origin: str) -> None:
    webapp.callback = origin + "/callback"
    status, body = await api.call("POST", "/oauth/apps", {"merchant_id": "demo", "name": "Web app",
                                                          "login_url": webapp.callback})
    assert status == 201, body
    webapp.client_id, webapp.client_secret = body["client_id"], body["client_secret"]
    status, user = await api.call("POST", f"/oauth/apps/{webapp.client_id}/users",
                                  {"userName": "zhangsan", "name": "张三"})
    assert status == 201, user


async def _outcomes(emulator: EmulatorServer, api: Api, fault: Optional[str] = None) -> dict[str, str]:
    webapp = WebApp(emulator.url, fault)
    async for origin in _serve(webapp.app()):
        await _register(api, webapp, origin)
        results = await certify_login(LoginTarget(webapp.client_id, origin + "/login", None,
                                                  emulator.services.oauth, emulator.url))
    assert [r.case.id for r in results] == [case.id for case in LOGIN]
    return {r.case.id: r.outcome for r in results}


async def test_a_correct_web_app_passes_every_login_case(emulator: EmulatorServer, api: Api) -> None:
    assert await _outcomes(emulator, api) == {case: PASSED for case in ALL_CASES}
    assert await _outcomes(emulator, api) == {case: PASSED for case in ALL_CASES}, "a second run passes too"


@pytest.mark.parametrize("fault,case", [
    ("no_state_check", "login.state_mismatch"),
    ("session_on_token_error", "login.code_of_another_client"),
    ("caches_codes", "login.reused_code"),
    ("ignores_userinfo_failure", "login.forged_token"),
])
async def test_each_broken_web_app_fails_exactly_its_case(emulator: EmulatorServer, api: Api, fault: str,
                                                          case: str) -> None:
    outcomes = await _outcomes(emulator, api, fault)
    assert {c for c, outcome in outcomes.items() if outcome != PASSED} == {case}, outcomes
    assert outcomes[case] == FAILED


async def test_an_app_that_never_calls_userinfo_fails_the_happy_path(emulator: EmulatorServer, api: Api) -> None:
    outcomes = await _outcomes(emulator, api, "no_userinfo")
    assert outcomes["login.happy_path"] == FAILED
    assert {outcomes[c] for c in ALL_CASES - {"login.happy_path"}} == {SKIPPED}


async def test_without_the_running_emulator_or_the_inputs_the_cases_are_skipped() -> None:
    results = await certify_login(LoginTarget("someclient", "http://127.0.0.1:9/login"))
    assert {r.outcome for r in results} == {SKIPPED}
    assert all(THROUGH_THE_EMULATOR in r.detail for r in results)
    results = await certify_login(LoginTarget("someclient", None))
    assert {r.outcome for r in results} == {SKIPPED} and "login_start" in results[0].detail


async def test_post_certify_runs_the_login_cases_of_the_running_emulator(emulator: EmulatorServer,
                                                                         api: Api) -> None:
    webapp = WebApp(emulator.url)
    async for origin in _serve(webapp.app()):
        await _register(api, webapp, origin)
        report = await api.ok("POST", "/certify", {
            "merchant_url": emulator.url + "/demo-merchant/produce", "key": DEMO_KEY,
            "client_id": webapp.client_id, "login_start": origin + "/login", "login_user": "zhangsan"})
    login = {c["id"]: c for c in report["cases"] if c["id"].startswith("login.")}
    assert set(login) == ALL_CASES and {c["outcome"] for c in login.values()} == {PASSED}, login
    assert {c["section"] for c in login.values()} == {"§13"} and report["passed"] is True
    assert login["login.happy_path"]["exchanges"], "the browser's requests are in the report"
    status, body = await api.call("POST", "/certify", {"merchant_url": emulator.url + "/p", "key": "k",
                                                       "login_start": "ftp://x"})
    assert status == 400 and body["error"]["field"] == "login_start", body
