"""Hostile and malformed requests from an outside audit: every one is a 4xx that says what is
wrong, never a 500, and nothing is changed by a request that was refused."""

from __future__ import annotations

import asyncio
import json
import re
from typing import Any, Optional

import aiohttp
import pytest
from aiohttp import web

from emulator.app import EmulatorServer
from emulator.settings import load_settings

from ..conftest import START, Shop
from ..helpers import PREFIX, Api
from ..processes import serve

DEEP = b"[" * 1000 + b"]" * 1000
HUGE_INT = b'{"period_number": 1' + b"0" * 5000 + b"}"

JSON_ROUTES = [
    ("POST", "/merchants"), ("PATCH", "/merchants/demo"), ("POST", "/products"), ("POST", "/orders"),
    ("POST", "/clock/advance"), ("PUT", "/clock"), ("POST", "/oauth/apps"), ("PATCH", "/products/demo-onetime"),
    ("POST", "/products/demo-saas-monthly/debug-cases"),
]


@pytest.mark.parametrize("method,path", JSON_ROUTES)
@pytest.mark.parametrize("raw,words", [
    (DEEP, "nested deeper"),
    (HUGE_INT, "digits"),
    (b'{"name": "\xff\xfe"}', "not UTF-8"),
    (b"\xff\xfe", "not UTF-8"),
    (b'{"a": 1e999999}', None),
])
async def test_hostile_json_bodies_are_400(api: Api, method: str, path: str, raw: bytes,
                                           words: Optional[str]) -> None:
    status, body = await api.call(method, path, raw=raw)
    assert status == 400, (status, body)
    assert isinstance(body, dict) and body["error"]["message"]
    if words:
        assert words in body["error"]["message"]


STRICT_CASES = [
    ("/orders", {"product": "demo-saas-monthly", "period_number": True}, "period_number", "integer"),
    ("/orders", {"product": "demo-saas-monthly", "period_number": "2"}, "period_number", "integer"),
    ("/orders", {"product": "demo-saas-monthly", "trial": "yes"}, "trial", "boolean"),
    ("/orders", {"product": "demo-saas-monthly", "linear_value": 1.5}, "linear_value", "integer"),
    ("/clock/advance", {"hours": "3"}, "hours", "number"),
    ("/clock/advance", {"hours": True}, "hours", "number"),
    ("/clock/advance", {"to": "9999-12-31T23:59:59-05:00"}, "to", "outside the range"),
    ("/clock/advance", {"to": "soon"}, "to", "datetime"),
    ("/merchants", {"name": "a\u0000b", "production_url": "http://x.example/p", "access_key": "k"}, "name",
     "control characters"),
    ("/merchants", {"name": "ok", "production_url": "http://x.example/p\u0000", "access_key": "k"},
     "production_url", "control characters"),
]


@pytest.mark.parametrize("path,body,field,words", STRICT_CASES)
async def test_control_api_validates_strictly(api: Api, path: str, body: dict, field: str, words: str) -> None:
    before = await api.ok("GET", "/orders")
    status, answer = await api.call("POST", path, body)
    assert status == 400, answer
    assert answer["error"]["field"] == field
    assert words in answer["error"]["message"]
    assert await api.ok("GET", "/orders") == before


async def test_renewing_past_the_last_representable_year_is_refused(api: Api) -> None:
    order = await api.ok("POST", "/orders", {"product": "demo-saas-yearly", "period_number": 1000})
    await api.settle()
    for _ in range(7):
        status, answer = await api.call("POST", f"/orders/{order['order_id']}/renew", {"period_number": 1000})
        if status != 201 and status != 200:
            break
    assert status == 400, answer
    assert answer["error"]["field"] == "period_number"
    assert "9998-12-31" in answer["error"]["message"]


async def test_scenario_names_of_any_length_are_not_found(api: Api, console: Any) -> None:
    status, answer = await api.call("POST", "/scenarios/" + "a" * 5000 + "/run")
    assert status == 404 and answer["error"]["field"] == "name"
    token = await _console_token(console, api.base_url)
    async with console.post(f"{api.base_url}/scenarios/{'b' * 5000}/run", data={"csrf_token": token}) as r:
        assert r.status == 404


async def test_a_broken_origin_header_is_refused_not_a_crash(api: Api) -> None:
    async with aiohttp.ClientSession() as session:
        async with session.post(api.base_url + PREFIX + "/clock/advance", json={"hours": 1},
                                headers={"Origin": "http://["}) as response:
            assert response.status == 403
            assert (await response.json())["error"]["field"] == "Origin"


# -- host names (DNS rebinding) -------------------------------------------------------------
async def test_an_unknown_host_name_is_refused_and_changes_nothing(api: Api, emulator: EmulatorServer) -> None:
    port = emulator.url.rsplit(":", 1)[1]
    rebind = f"rebind.attacker.example:{port}"
    before = await api.ok("GET", "/merchants/demo/credentials")
    async with aiohttp.ClientSession() as session:
        async with session.post(api.base_url + PREFIX + "/merchants/demo/credentials",
                                headers={"Host": rebind, "Origin": f"http://{rebind}"}) as response:
            assert response.status == 400
            error = (await response.json())["error"]
            assert error["field"] == "Host" and "KOOGALLERY_ALLOWED_HOSTS" in error["message"]
        async with session.get(api.base_url + "/merchants/demo", headers={"Host": rebind}) as response:
            assert response.status == 400
    assert await api.ok("GET", "/merchants/demo/credentials") == before


@pytest.mark.parametrize("host", ["localhost", "127.0.0.1", "[::1]"])
async def test_loopback_names_are_served(emulator: EmulatorServer, host: str) -> None:
    port = emulator.url.rsplit(":", 1)[1]
    async with aiohttp.ClientSession() as session:
        async with session.get(emulator.url + "/healthz", headers={"Host": f"{host}:{port}"}) as response:
            assert response.status == 200


async def test_allowed_hosts_adds_names() -> None:
    settings = load_settings(environ={"KOOGALLERY_ALLOWED_HOSTS": "emulator.staging.internal"}, port=0,
                             database=":memory:", clock_mode="manual", clock_start=START)
    server = EmulatorServer(settings)
    await server.start()
    try:
        async with aiohttp.ClientSession() as session:
            async with session.get(server.url + "/healthz", headers={"Host": "emulator.staging.internal"}) as r:
                assert r.status == 200
            async with session.get(server.url + "/healthz", headers={"Host": "other.example"}) as r:
                assert r.status == 400
    finally:
        await server.stop()


# -- the console: forms and neighbours ------------------------------------------------------
async def _console_token(session: aiohttp.ClientSession, base_url: str, path: str = "/orders") -> str:
    async with session.get(base_url + path) as response:
        page = await response.text()
    match = re.search(r'name="csrf_token" value="([^"]+)"', page)
    assert match, "the console page carries a CSRF token"
    return match.group(1)


@pytest.fixture
async def console() -> Any:
    jar = aiohttp.CookieJar(unsafe=True)
    async with aiohttp.ClientSession(cookie_jar=jar) as session:
        yield session


async def test_console_forms_with_invalid_utf8_or_broken_multipart_are_400(api: Api, console: Any) -> None:
    token = await _console_token(console, api.base_url)
    bad_utf8 = b"csrf_token=" + token.encode() + b"&product=\xff\xfe"
    async with console.post(api.base_url + "/orders", data=bad_utf8,
                            headers={"Content-Type": "application/x-www-form-urlencoded"}) as response:
        assert response.status == 400
        assert "UTF-8" in await response.text()
    broken = b"--XYZ\r\nContent-Disposition: form-data; name=\"product\"\r\n\r\nabc"  # no closing boundary
    async with console.post(api.base_url + "/orders", data=broken,
                            headers={"Content-Type": "multipart/form-data; boundary=XYZ",
                                     "X-CSRF-Token": token}) as response:
        assert response.status == 400
    async with console.post(api.base_url + "/merchants/demo", data={
            "csrf_token": token, "name": "Demo", "production_url": "http://x.example/p",
            "retry_overrides": "[" * 1000 + "]" * 1000}) as response:
        assert response.status == 400
        assert "nested deeper" in await response.text()
    assert (await api.ok("GET", "/orders"))["orders"] == []


async def test_a_neighbour_port_cannot_post_to_the_console(api: Api, console: Any) -> None:
    """Cookies are not separated by port: a page on 127.0.0.1:OTHER can set the CSRF cookie and
    post a matching token. The origin check and the signed token both refuse it."""
    token = await _console_token(console, api.base_url)
    neighbour = "http://127.0.0.1:1"
    async with console.post(api.base_url + "/orders", data={"csrf_token": token, "product": "demo-saas-monthly"},
                            headers={"Origin": neighbour, "Sec-Fetch-Site": "same-site"}) as response:
        assert response.status == 403
    forged = "planted-by-the-neighbour-0000000000000000000"
    async with aiohttp.ClientSession(cookies={"koogallery_csrf": forged}) as other:
        async with other.post(api.base_url + "/orders",
                              data={"csrf_token": forged, "product": "demo-saas-monthly"}) as response:
            assert response.status == 403
    assert (await api.ok("GET", "/orders"))["orders"] == []
    async with console.post(api.base_url + "/orders", data={"csrf_token": token, "product": "demo-saas-monthly"},
                            headers={"Origin": api.base_url, "Sec-Fetch-Site": "same-origin"}) as response:
        assert response.status == 200
    assert len((await api.ok("GET", "/orders"))["orders"]) == 1


# -- OAuth ----------------------------------------------------------------------------------
CLIENT_ID = "demoapp0000000000000000000000001"


async def test_token_endpoint_refuses_a_body_that_is_not_utf8(emulator: EmulatorServer) -> None:
    async with aiohttp.ClientSession() as session:
        async with session.post(emulator.url + "/api/v1/oauth2/token", data=b"\xff\xfe",
                                headers={"Content-Type": "application/x-www-form-urlencoded"}) as response:
            assert response.status == 400
            body = await response.json()
            assert body["error"] == "invalid_request" and "UTF-8" in body["error_description"]


@pytest.mark.parametrize("redirect_uri", [
    "http://evil.com\\@127.0.0.1:3000/", "http://127.0.0.1:3000\\@evil.com/", "http://user@127.0.0.1:3000/",
    "http://127.0.0.1:3000/\r\nX: y", "http://127.0.0.1:99999/",
])
async def test_redirect_uris_a_browser_reads_differently_are_refused(emulator: EmulatorServer, console: Any,
                                                                     redirect_uri: str) -> None:
    params = {"response_type": "code", "client_id": CLIENT_ID, "redirect_uri": redirect_uri, "state": "s"}
    token = await _console_token(console, emulator.url, "/unified-login/?client_id=" + CLIENT_ID)
    async with console as session:
        async with session.get(emulator.url + "/api/v1/oauth2/authorize", params=params,
                               allow_redirects=False) as response:
            assert response.status == 400, await response.text()
        async with session.post(emulator.url + "/unified-login/login", allow_redirects=False,
                                data={**params, "username": "zhangsan", "action": "login_as",
                                      "csrf_token": token}) as response:
            assert response.status == 400
        async with session.get(emulator.url + "/api/v1/logout", params={"redirect_url": redirect_uri},
                               allow_redirects=False) as response:
            assert response.status == 302
            assert response.headers["Location"] == "/unified-login/?logged_out=1"


# -- production URLs --------------------------------------------------------------------------
async def test_the_emulator_itself_cannot_be_a_production_url(api: Api, emulator: EmulatorServer) -> None:
    port = emulator.url.rsplit(":", 1)[1]
    for url in (emulator.url + PREFIX + "/merchants/demo/credentials", f"http://localhost:{port}/"):
        status, answer = await api.call("PATCH", "/merchants/demo", {"production_url": url})
        assert status == 400 and answer["error"]["field"] == "production_url"
        assert "this emulator itself" in answer["error"]["message"]
    demo_stub = emulator.url + "/demo-merchant/produce"
    merchant = await api.ok("POST", "/merchants", {"name": "Self demo", "production_url": demo_stub,
                                                   "access_key": "k"})
    assert merchant["production_url"] == demo_stub


async def test_production_urls_the_marketplace_would_refuse_carry_warnings(api: Api) -> None:
    plain = await api.ok("POST", "/merchants", {"name": "Plain", "production_url": "http://10.0.0.5/p",
                                                "access_key": "k"})
    assert any("https" in w for w in plain["warnings"]) and any("IP" in w for w in plain["warnings"])
    good = await api.ok("POST", "/merchants", {"name": "Good", "production_url": "https://isv.example.com/p",
                                               "access_key": "k"})
    assert good["warnings"] == []
    assert (await api.ok("GET", "/merchants/demo"))["warnings"] == []  # the built-in demo merchant
    status, page = await api.page(f"/merchants/{plain['id']}")
    assert status == 200 and "plain http" in page


# -- replies the merchant sends -----------------------------------------------------------------
async def test_a_large_reply_arriving_in_pieces_is_read_whole(api: Api) -> None:
    """One read returns only what has arrived; a 300 KB reply sent in pieces is judged as a whole."""

    async def produce(request: web.Request) -> web.StreamResponse:
        body = json.dumps({"resultCode": "000000", "resultMsg": "x" * 100, "instanceId": "big-1",
                           "padding": "p" * 300_000}).encode()
        response = web.StreamResponse(headers={"Content-Type": "application/json"})
        response.content_length = len(body)
        await response.prepare(request)
        for start in range(0, len(body), 16_384):
            await response.write(body[start:start + 16_384])
            await asyncio.sleep(0.001)
        await response.write_eof()
        return response

    app = web.Application()
    app.router.add_post("/produce", produce)
    runner, base = await serve(app)
    try:
        await api.ok("PATCH", "/merchants/demo", {"production_url": base + "/produce"})
        order = await api.ok("POST", "/orders", {"product": "demo-saas-monthly"})
        await api.settle()
        delivery = await api.only_delivery(order_id=order["order_id"], activity="newInstance")
        assert delivery["attempt_log"][-1]["failures"] == [] or "resultMsg" in delivery["attempt_log"][-1]["failures"][0]
        assert "not JSON" not in str(delivery["attempt_log"][-1]["failures"])
    finally:
        await runner.cleanup()


async def test_queryinstance_success_without_query_order_is_warned(shop: Shop) -> None:
    """§4 R7: the stub here never calls Query Order, so the first ready report carries a warning."""
    order = await shop.buy()
    await shop.api.advance(minutes=1)
    poll = await shop.api.only_delivery(order_id=order["order_id"], activity="queryInstance")
    assert poll["status"] == "succeeded"
    warnings = poll["attempt_log"][-1]["warnings"]
    assert any("Query Order" in w and "R7" in w for w in warnings), warnings


async def test_the_demo_merchant_reads_orders_and_gets_no_r7_warning(api: Api, emulator: EmulatorServer) -> None:
    order = await api.ok("POST", "/orders", {"product": "demo-saas-monthly"})
    await api.settle()
    stub = emulator.demo_stub
    assert stub is not None
    for task in list(stub.lookups):
        await task
    await api.advance(minutes=1)
    poll = await api.only_delivery(order_id=order["order_id"], activity="queryInstance")
    assert poll["status"] == "succeeded"
    assert not any("R7" in w for w in poll["attempt_log"][-1]["warnings"])


async def test_instances_are_paged_like_every_list(api: Api) -> None:
    for _ in range(3):
        await api.ok("POST", "/orders", {"product": "demo-onetime"})
    first = (await api.ok("GET", "/instances", params={"limit": "2"}))["instances"]
    rest = (await api.ok("GET", "/instances", params={"limit": "2", "offset": "2"}))["instances"]
    assert len(first) == 2 and len(rest) == 1
    assert {i["key"] for i in first}.isdisjoint({i["key"] for i in rest})
    status, answer = await api.call("GET", "/instances", params={"limit": "0"})
    assert status == 400 and answer["error"]["field"] == "limit"
