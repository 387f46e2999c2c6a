"""The gateway of Agents and API products (PROTOCOL §14) over loopback: a real emulator, a stub
backend that checks the JWT with PyJWT, JSON and streamed replies, with and without usage."""

from __future__ import annotations

import socket
import uuid
from typing import AsyncIterator

import aiohttp
import pytest
from yarl import URL

from emulator.app import EmulatorServer
from emulator.settings import load_settings
from emulator.testing.client import SandboxClient, SandboxError

from .. import conftest
from ..conftest import START
from .agents_backend import USAGE, AgentsBackend, running_backend

AK, SK = "d44cd9aa-e48e-be17-27f4-5ef3474797a1", "stub-secret-key-0001-of-32-bytes-or-more"
BUYER = {"customer_id": "0123456789abcdef0123456789abcdef", "customer_name": "buyer_bob"}


async def _emulator(request: pytest.FixtureRequest, **settings: object) -> EmulatorServer:
    server = EmulatorServer(load_settings(environ={}, port=0, database=conftest.test_database(request), clock_mode="manual",
                                          clock_start=START, gateway_timeout_s=1.0, gateway_stream_max_s=1.0,
                                          gateway_max_reply_bytes=65536, **settings))
    await server.start()
    return server


@pytest.fixture
async def backend() -> AsyncIterator[AgentsBackend]:
    async with running_backend({AK: SK}) as stub:
        yield stub


@pytest.fixture
async def gw(request: pytest.FixtureRequest) -> AsyncIterator[EmulatorServer]:
    server = await _emulator(request)
    yield server
    await server.stop()


@pytest.fixture
async def sandbox(gw: EmulatorServer) -> AsyncIterator[SandboxClient]:
    async with SandboxClient(gw.url) as client:
        yield client


@pytest.fixture
async def http() -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession() as session:
        yield session


def _free_port() -> int:
    """A loopback port nobody listens on (bound, then closed)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


async def _product(sandbox: SandboxClient, code: str, backend_url: str, kind: str = "agents", **fields: object) -> dict:
    await sandbox.create_product(code=code, merchant_id="demo", name=code, charging_mode="ON_DEMAND")
    return await sandbox.register_gateway_backend(code, backend_url, kind, **fields)


async def _buy(sandbox: SandboxClient, code: str) -> dict:
    order = await sandbox.request("POST", "/orders", {"product": code, "buyer": BUYER})
    return await sandbox.gateway_access(order["order_id"])


async def test_a_json_reply_is_forwarded_signed_checked_and_billed(sandbox: SandboxClient, backend: AgentsBackend,
                                                                   http: aiohttp.ClientSession) -> None:
    registered = await _product(sandbox, "agent", backend.url + "/agents/json", access_key=AK, secret_key=SK)
    assert registered["secret_key"] == SK and registered["billing"] == "tokens"
    access = await _buy(sandbox, "agent")
    for _ in range(2):
        async with http.post(access["endpoint"] + "/v1/chat?x=1", json={"q": "hello"},
                             headers={"Authorization": f"Bearer {access['api_key']}", "X-Trace": "t1"}) as reply:
            assert reply.status == 200 and await reply.json() == {"data": "hi", "usage": USAGE}
            request_id = reply.headers["X-Request-Id"]
    seen = backend.received[-1]
    assert seen.jwt_error is None and seen.claims is not None and seen.claims["api_key"] == AK
    assert set(seen.claims) == {"api_key", "timestamp"}  # no exp claim by default
    assert seen.path == "/agents/json/v1/chat" and seen.query == "x=1" and seen.body == b'{"q": "hello"}'
    assert seen.headers["X-Request-Id"] == request_id and uuid.UUID(request_id)
    assert backend.received[0].headers["X-Request-Id"] != request_id  # one per call
    assert seen.headers["X-Customer-Id"] == BUYER["customer_id"]
    assert seen.headers["X-Customer-Name"] == BUYER["customer_name"] and seen.headers["X-Trace"] == "t1"
    assert access["api_key"] not in str(seen.headers)  # the buyer's key stays at the gateway
    call = await sandbox.wait_for_gateway_call(access["order_id"])
    assert call["request_id"] == request_id and call["usage"] == USAGE and call["billed_tokens"] == 248
    assert call["request"]["headers"]["X-Customer-Id"] == BUYER["customer_id"]
    assert call["response"]["status"] == 200 and "usage" in call["response"]["body"]
    totals = (await sandbox.gateway_access(access["order_id"]))["totals"]
    assert totals == {"calls": 2, "billed_calls": 0, "billed_tokens": 496, "prompt_tokens": 62,
                      "completion_tokens": 434, "total_tokens": 496, "failed": 0}


async def test_a_stream_is_passed_through_as_it_arrives(sandbox: SandboxClient, backend: AgentsBackend,
                                                        http: aiohttp.ClientSession) -> None:
    await _product(sandbox, "agent", backend.url + "/agents/sse", access_key=AK, secret_key=SK)
    access = await _buy(sandbox, "agent")
    async with http.post(access["endpoint"], json={}, headers={"X-Api-Key": access["api_key"]}) as reply:
        assert reply.status == 200 and reply.content_type == "text/event-stream"
        first = await reply.content.readuntil(b"\n\n")
        assert first == b'data: {"data": "first"}\n\n'  # while the backend still holds the rest
        backend.release.set()
        rest = await reply.content.read()
    assert b'"usage"' in rest and rest.endswith(b"data: [DONE]\n\n")
    call = await sandbox.wait_for_gateway_call(access["order_id"])
    assert call["streamed"] and call["events"] == 4 and call["billed_tokens"] == 248
    assert backend.received[-1].claims is not None


@pytest.mark.parametrize("path, failure", [
    ("no-usage", "no top-level usage"), ("bad-usage", "usage.total_tokens"), ("sse-no-usage", "no top-level usage"),
])
async def test_a_reply_without_valid_usage_fails_its_verdict(sandbox: SandboxClient, backend: AgentsBackend,
                                                             http: aiohttp.ClientSession, path: str,
                                                             failure: str) -> None:
    await _product(sandbox, "agent", f"{backend.url}/agents/{path}", access_key=AK, secret_key=SK)
    access = await _buy(sandbox, "agent")
    backend.release.set()
    async with http.post(access["endpoint"], headers={"X-Api-Key": access["api_key"]}) as reply:
        assert reply.status == 200  # the buyer still gets the backend's answer
        await reply.read()
    call = await sandbox.wait_for_gateway_call(access["order_id"], outcome="failed")
    assert failure in call["verdict"] and call["billed_tokens"] == 0 and call["usage"] is None
    assert (await sandbox.gateway_access(access["order_id"]))["totals"]["failed"] == 1


async def test_an_api_product_bills_every_answer_but_not_a_connection_failure(
        sandbox: SandboxClient, backend: AgentsBackend, http: aiohttp.ClientSession) -> None:
    registered = await _product(sandbox, "api", backend.url + "/agents/fail500", kind="api", http_method="ANY",
                                auth_mode="own")
    assert registered["access_key"] is None and registered["billing"] == "calls"
    access = await _buy(sandbox, "api")
    async with http.delete(access["endpoint"] + "/items/7", headers={"X-Api-Key": access["api_key"]}) as reply:
        assert reply.status == 500 and await reply.json() == {"error": "boom"}
    assert backend.received[-1].method == "DELETE" and backend.received[-1].claims is None  # own auth: no JWT
    call = await sandbox.wait_for_gateway_call(access["order_id"])
    assert call["billed_calls"] == 1 and call["status"] == 500
    await sandbox.register_gateway_backend("api", f"http://127.0.0.1:{_free_port()}/gone", "api", http_method="ANY",
                                           auth_mode="own")
    async with http.get(access["endpoint"], headers={"X-Api-Key": access["api_key"]}) as reply:
        assert reply.status == 502 and (await reply.json())["error"]["code"] == "backend_unreachable"
    failed = await sandbox.wait_for_gateway_call(access["order_id"], outcome="failed")
    assert failed["billed_calls"] == 0 and failed["error"] == "backend_unreachable"
    assert (await sandbox.gateway_access(access["order_id"]))["totals"]["billed_calls"] == 1


async def test_buyers_without_a_valid_key_are_refused(sandbox: SandboxClient, backend: AgentsBackend,
                                                      http: aiohttp.ClientSession) -> None:
    await _product(sandbox, "agent", backend.url + "/agents/json", access_key=AK, secret_key=SK)
    await _product(sandbox, "other", backend.url + "/agents/json", access_key=AK, secret_key=SK)
    mine = await _buy(sandbox, "agent")
    other = await _buy(sandbox, "other")
    cases = [
        ({}, 401, "missing_api_key"),
        ({"X-Api-Key": "gk_nope"}, 401, "invalid_api_key"),
        ({"Authorization": "Bearer " + other["api_key"]}, 403, "wrong_product"),
    ]
    for headers, status, code in cases:
        async with http.post(mine["endpoint"], headers=headers) as reply:
            assert reply.status == status and (await reply.json())["error"]["code"] == code
    async with http.post(mine["endpoint"].rsplit("/", 1)[0] + "/demo-saas-monthly",
                         headers={"X-Api-Key": mine["api_key"]}) as reply:
        assert reply.status == 404 and (await reply.json())["error"]["field"] == "product"
    async with http.get(mine["endpoint"], headers={"X-Api-Key": mine["api_key"]}) as reply:
        assert reply.status == 405  # registered for POST
    assert backend.received == []
    refused = await sandbox.gateway_calls(outcome="failed")
    assert [c["error"] for c in refused] == ["missing_api_key", "invalid_api_key", "wrong_product",
                                             "unknown_product", "method_not_allowed"]
    saas = await sandbox.buy("demo-saas-monthly")
    with pytest.raises(SandboxError) as caught:
        await sandbox.gateway_access(saas)
    assert caught.value.status == 409 and caught.value.error["field"] == "order_id"
    with pytest.raises(SandboxError) as caught:
        await sandbox.gateway_access("CS000000NOPE")
    assert caught.value.status == 404


async def test_a_frozen_instance_cannot_call(sandbox: SandboxClient, backend: AgentsBackend,
                                             http: aiohttp.ClientSession) -> None:
    await _product(sandbox, "agent", backend.url + "/agents/json", access_key=AK, secret_key=SK)
    access = await _buy(sandbox, "agent")
    await sandbox.wait_for_delivery(access["order_id"], "newInstance")
    async with http.post(access["endpoint"], headers={"X-Api-Key": access["api_key"]}) as reply:
        assert reply.status == 200
    await sandbox.freeze(access["order_id"])
    async with http.post(access["endpoint"], headers={"X-Api-Key": access["api_key"]}) as reply:
        assert reply.status == 403 and (await reply.json())["error"]["code"] == "instance_not_usable"


async def test_a_silent_backend_an_endless_stream_and_a_huge_reply_get_json_errors(
        sandbox: SandboxClient, backend: AgentsBackend, http: aiohttp.ClientSession) -> None:
    await _product(sandbox, "agent", backend.url + "/agents/hang", access_key=AK, secret_key=SK)
    access = await _buy(sandbox, "agent")
    key = {"X-Api-Key": access["api_key"]}
    async with http.post(access["endpoint"], headers=key) as reply:
        assert reply.status == 504 and (await reply.json())["error"]["code"] == "backend_timeout"
    await sandbox.register_gateway_backend("agent", backend.url + "/agents/huge", access_key=AK, secret_key=SK)
    async with http.post(access["endpoint"], headers=key) as reply:
        assert reply.status == 502 and (await reply.json())["error"]["code"] == "reply_too_large"
    for path, code in (("sse-endless", "stream_too_long"), ("sse-huge", "reply_too_large")):
        await sandbox.register_gateway_backend("agent", f"{backend.url}/agents/{path}", access_key=AK, secret_key=SK)
        async with http.post(access["endpoint"], headers=key) as reply:
            assert reply.status == 200
            text = (await reply.read()).decode()
        assert text.endswith("\n\n") and f'"code": "{code}"' in text.rsplit("event: error\n", 1)[1]
    calls = await sandbox.gateway_calls(access["order_id"])
    assert [c["error"] for c in calls] == ["backend_timeout", "reply_too_large", "stream_too_long", "reply_too_large"]
    assert not any(c["passed"] for c in calls)
    await sandbox.register_gateway_backend("agent", backend.url + "/agents/json", access_key=AK, secret_key=SK)
    async with http.post(access["endpoint"], headers=key) as reply:  # still serving
        assert reply.status == 200


async def test_only_the_registered_backend_is_reachable(gw: EmulatorServer, sandbox: SandboxClient,
                                                        backend: AgentsBackend, http: aiohttp.ClientSession) -> None:
    await _product(sandbox, "agent", backend.url + "/agents/json", access_key=AK, secret_key=SK)
    for url in (gw.url + "/sandbox/api/v1/merchants", "ftp://example.com/x", "http://user:pw@example.com/",
                "http://example.com/x?y=1", "example.com"):
        with pytest.raises(SandboxError) as caught:
            await sandbox.register_gateway_backend("agent", url)
        assert caught.value.status == 400 and caught.value.error["field"] == "backend_url", url
    access = await _buy(sandbox, "agent")
    key = {"X-Api-Key": access["api_key"]}
    for raw in ("/a/%2e%2e/%2E%2E/sandbox", "/a/..%2fb", "//evil.example/x", "/a/%5c..", "/http:%2f%2fevil"):
        async with http.post(URL(access["endpoint"] + raw, encoded=True), headers=key) as reply:
            assert reply.status == 400, raw
            assert (await reply.json())["error"]["field"] == "path"
    assert backend.received == []
    async with http.post(access["endpoint"] + "/ok/http:/x", headers=key) as reply:
        assert reply.status == 200
    assert backend.received[-1].path == "/agents/json/ok/http:/x"


@pytest.fixture
async def custom_header(request: pytest.FixtureRequest) -> AsyncIterator[EmulatorServer]:
    server = await _emulator(request, agents_jwt_header="X-Agents-Token", agents_jwt_scheme="",
                             agents_jwt_exp_claim=True)
    yield server
    await server.stop()


async def test_the_jwt_header_is_a_switch(custom_header: EmulatorServer, backend: AgentsBackend,
                                          http: aiohttp.ClientSession) -> None:
    backend.jwt_header, backend.jwt_scheme = "X-Agents-Token", ""
    async with SandboxClient(custom_header.url) as sandbox:
        await _product(sandbox, "agent", backend.url + "/agents/json", access_key=AK, secret_key=SK)
        access = await _buy(sandbox, "agent")
        async with http.post(access["endpoint"], headers={"Authorization": "Bearer " + access["api_key"]}) as reply:
            assert reply.status == 200
    seen = backend.received[-1]
    assert seen.jwt_error is None and seen.claims is not None
    assert seen.claims["exp"] == seen.claims["timestamp"] // 1000 + 300 and "Authorization" not in seen.headers


async def test_bad_registrations_name_the_field(sandbox: SandboxClient) -> None:
    cases = [({"kind": "llm", "backend_url": "http://x.example"}, "kind"),
             ({"kind": "agents", "backend_url": "http://x.example", "http_method": "ANY"}, None),
             ({"kind": "agents", "backend_url": "http://x.example", "auth_mode": "own", "secret_key": "s"}, None),
             ({"kind": "agents"}, "backend_url"),
             ({"kind": "agents", "backend_url": "http://x.example", "extra": 1}, "extra")]
    for body, field in cases:
        with pytest.raises(SandboxError) as caught:
            await sandbox.request("PUT", "/products/demo-ondemand/gateway", body)
        assert caught.value.status == 400, body
        if field:
            assert caught.value.error["field"] == field, body
    with pytest.raises(SandboxError) as caught:
        await sandbox.request("PUT", "/products/nope/gateway", {"kind": "api", "backend_url": "http://x.example"})
    assert caught.value.status == 404
    for query in ({"outcome": "maybe"}, {"limit": "0"}, {"after_id": "x"}):
        with pytest.raises(SandboxError) as caught:
            await sandbox.request("GET", "/gateway/calls", params=query)
        assert caught.value.status == 400
    with pytest.raises(SandboxError) as caught:
        await sandbox.gateway_call(999)
    assert caught.value.status == 404


async def test_the_demo_agents_backend_answers_at_once(sandbox: SandboxClient, http: aiohttp.ClientSession) -> None:
    access = await sandbox.gateway_access((await sandbox.buy("demo-ondemand")).order_id)
    async with http.post(access["endpoint"] + "/chat", json={"q": "hi", "stream": True},
                         headers={"Authorization": access["authorization"]}) as reply:
        assert reply.status == 200 and b'"usage"' in await reply.read()
    call = await sandbox.wait_for_gateway_call(access["order_id"])
    assert call["streamed"] and call["billed_tokens"] > 0
