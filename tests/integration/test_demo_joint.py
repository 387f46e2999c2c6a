"""The built-in demo merchant speaks the joint-operation family (PROTOCOL §5): the seeded merchant
``demo-joint`` buys, binds an enterprise and runs the whole kit chain against it out of the box, and
its kit interface checks the §2b headers and decrypts applicationSync's clientSecret (§3)."""

from __future__ import annotations

import base64
import json
import time
from pathlib import Path
from typing import Any, Optional

import aiohttp
import pytest

from emulator.app import EmulatorServer
from emulator.protocol.canonical import canonical_body
from emulator.protocol.crypto import rsa_encrypt_client_secret
from emulator.protocol.signing import basic_signature, kit_x_sign, new_nonce, wall_clock_ms
from emulator.testing.merchant_stub import MerchantStub

from ..helpers import Api

DEMO_KEY = "demo-access-key-0001"
KIT_KEY = "demo-kit-key-0001"
PRODUCT = "demo-joint-monthly"
CHAIN = ["tenantSync", "applicationSync", "allOrgSync", "authSync"]


def _stub(emulator: EmulatorServer) -> MerchantStub:
    stub = emulator.demo_stub
    assert stub is not None
    return stub


def _answers(stub: MerchantStub, activity: str) -> list[dict[str, Any]]:
    return [json.loads(call.reply) for call in stub.calls(activity)]


async def _buy(api: Api, **extra: object) -> dict:
    order = await api.ok("POST", "/orders", {"product": PRODUCT, **extra})
    await api.settle()
    return order


async def _bind(api: Api, order_id: str) -> dict:
    status, body = await api.call("POST", "/kit/tenants", {"order_id": order_id, "name": "Demo enterprise"})
    assert status == 201, body
    await api.settle()
    return await api.ok("GET", f"/kit/tenants/{body['tenant_id']}")


async def _joint_app(api: Api) -> dict:
    apps = (await api.ok("GET", "/oauth/apps"))["apps"]
    [app] = [a for a in apps if a["merchant_id"] == "demo-joint"]
    return app


def _catalogue_app(emulator: EmulatorServer) -> dict:
    """The demo joint app as the catalogue seeds it (the control API masks the secret)."""
    path = Path(emulator.settings.fixtures_dir) / "demo-catalogue.json"
    apps = json.loads(path.read_text(encoding="utf-8"))["oauth_apps"]
    [app] = [a for a in apps if a["merchant_id"] == "demo-joint"]
    return app


async def _post(url: str, body: bytes, params: Optional[dict[str, str]] = None,
                headers: Optional[dict[str, str]] = None) -> dict[str, Any]:
    async with aiohttp.ClientSession() as session:
        async with session.post(url, data=body, params=params, headers=headers) as response:
            assert response.status == 200
            return await response.json(content_type=None)


async def _basic(emulator: EmulatorServer, body: dict[str, Any]) -> dict[str, Any]:
    payload = canonical_body(body)
    nonce, timestamp = new_nonce(), wall_clock_ms()
    query = {"signature": basic_signature(DEMO_KEY, nonce, timestamp, payload), "timestamp": timestamp,
             "nonce": nonce}
    return await _post(emulator.url + "/demo-merchant/produce", payload, params=query)


def _kit_headers(payload: bytes, key: str = KIT_KEY, timestamp: Optional[str] = None) -> dict[str, str]:
    nonce, timestamp = new_nonce(), timestamp or wall_clock_ms()
    return {"x-sign": kit_x_sign(key, nonce, timestamp, payload), "x-timestamp": timestamp, "x-nonce": nonce,
            "Content-Type": "application/json"}


async def _kit(emulator: EmulatorServer, name: str, payload: bytes, headers: dict[str, str]) -> dict[str, Any]:
    return await _post(f"{emulator.url}/demo-merchant/produce/produceAPI/v2/{name}", payload, headers=headers)


async def test_the_demo_joint_merchant_is_seeded(api: Api) -> None:
    merchant = await api.ok("GET", "/merchants/demo-joint")
    assert merchant["family"] == "saas_v2_joint" and merchant["production_url"].endswith("/demo-merchant/produce")
    product = await api.ok("GET", f"/products/{PRODUCT}")
    assert product["merchant_id"] == "demo-joint" and product["upgradable"] is True
    assert (await _joint_app(api))["public_key"]


async def test_purchase_and_bind_run_against_the_built_in_merchant(emulator: EmulatorServer, api: Api) -> None:
    stub = _stub(emulator)
    order = await _buy(api)
    [answer] = _answers(stub, "newInstance")
    assert answer["resultCode"] == "000000" and answer["instanceId"]
    [call] = stub.calls("newInstance")
    assert call.signature_ok and call.body["orderInfo"][0]["orderId"] == order["order_id"]
    assert stub.instances[answer["instanceId"]]["orderId"] == order["order_id"]
    await api.advance(hours=4)
    assert stub.calls("queryInstance") == [], "no queryInstance polling in §5"
    delivery = await api.only_delivery(order_id=order["order_id"], activity="newInstance")
    assert delivery["status"] == "succeeded", delivery
    instance = await api.instance(order["instance"])
    assert instance["state"] == "active" and instance["ready"] is True

    tenant = await _bind(api, order["order_id"])
    assert tenant["chain_complete"] is True, tenant
    assert [s["state"] for s in tenant["chain"]] == ["succeeded"] * 4
    kit_calls = [c for c in stub.received if c.activity in CHAIN]
    assert [c.activity for c in kit_calls] == CHAIN
    assert all(c.signature_ok and json.loads(c.reply)["resultCode"] == "000000" for c in kit_calls)
    app = _catalogue_app(emulator)
    assert stub.client_secrets == {app["client_id"]: app["client_secret"]}


async def test_a_wrong_kit_key_fails_tenant_sync_with_000001(emulator: EmulatorServer, api: Api) -> None:
    await api.ok("PATCH", "/merchants/demo-joint", {"kit_key": "not-the-demo-kit-key"})
    order = await _buy(api)
    tenant = await _bind(api, order["order_id"])
    assert tenant["chain_complete"] is False
    assert [s["state"] for s in tenant["chain"]] == ["failed", "not sent", "not sent", "not sent"]
    failed = await api.delivery(tenant["chain"][0]["delivery_id"])
    assert failed["status"] == "exhausted" and "000001" in failed["last_verdict"], failed
    [call] = _stub(emulator).calls("tenantSync")
    assert call.signature_ok is False and "x-sign" in (call.problem or "")


async def test_the_failure_switches_apply_to_the_joint_activities(emulator: EmulatorServer, api: Api) -> None:
    stub = _stub(emulator)
    url = emulator.url + "/demo-merchant/_behaviour"
    async with aiohttp.ClientSession() as session:
        change = {"fail_next": 1, "failure": "result_code", "fail_activities": ["tenantSync", "upgrade"]}
        async with session.put(url, json=change) as response:
            assert response.status == 200, await response.text()
    order = await _buy(api)
    tenant = await _bind(api, order["order_id"])
    assert tenant["failed_step"] == "tenantSync"
    assert "000005" in (await api.delivery(tenant["chain"][0]["delivery_id"]))["last_verdict"]
    status, body = await api.call("POST", f"/kit/tenants/{tenant['tenant_id']}/resend", {"step": "tenantSync"})
    assert status == 202, body
    await api.settle()
    assert (await api.ok("GET", f"/kit/tenants/{tenant['tenant_id']}"))["chain_complete"] is True
    assert stub.behaviour.fail_next == 0


async def test_expiry_and_renewal_reach_the_built_in_merchant(emulator: EmulatorServer, api: Api) -> None:
    stub = _stub(emulator)
    order = await _buy(api, period_number=1)
    instance_id = _answers(stub, "newInstance")[0]["instanceId"]
    await api.advance(days=33)
    assert _answers(stub, "expireInstance") == [{"resultCode": "000000", "resultMsg": "success."}]
    assert stub.instances[instance_id]["status"] == "FROZEN"
    await api.ok("POST", f"/orders/{order['order_id']}/renew", {"period_number": 1})
    await api.settle()
    assert [a["resultCode"] for a in _answers(stub, "refreshInstance")] == ["000000"]
    assert stub.instances[instance_id]["status"] == "NORMAL"
    assert (await api.instance(order["instance"]))["state"] == "active"


async def test_joint_basic_activities_over_http(emulator: EmulatorServer) -> None:
    first = {"activity": "newInstance", "buyerInfo": {"customerId": "c1"}, "testFlag": "1",
             "orderInfo": [{"orderId": "CS-JOINT-1", "businessId": "b-first", "chargingMode": "PERIOD"}]}
    again = {**first, "orderInfo": [{**first["orderInfo"][0], "businessId": "b-second"}]}
    assert (await _basic(emulator, first))["instanceId"] == "b-first"
    assert (await _basic(emulator, again))["instanceId"] == "b-first", "idempotent per orderId"
    for activity in ("upgrade", "expireInstance", "refreshInstance", "releaseInstance"):
        answer = await _basic(emulator, {"activity": activity, "instanceId": "b-first", "orderId": "CS-JOINT-2"})
        assert answer["resultCode"] == "000000", (activity, answer)
        unknown = await _basic(emulator, {"activity": activity, "instanceId": "nobody", "orderId": "CS-JOINT-2"})
        assert unknown["resultCode"] == "000003", (activity, unknown)
    state = _stub(emulator).instances["b-first"]
    assert state["status"] == "RELEASED" and state["upgradeOrderId"] == "CS-JOINT-2"
    empty = await _basic(emulator, {"activity": "newInstance", "orderInfo": []})
    assert empty["resultCode"] == "000002"


def _tenant_body() -> bytes:
    return canonical_body({"instanceId": "i1", "orderId": "o1", "tenantId": "t1", "tenantCode": "t1", "name": "E",
                           "domainName": "http://localhost", "flag": 1, "testFlag": 1, "timeStamp": "x"})


@pytest.mark.parametrize(("drop", "code"), [("x-timestamp", "000002"), ("x-nonce", "000002"), ("x-sign", "000001")])
async def test_kit_headers_are_required(emulator: EmulatorServer, drop: str, code: str) -> None:
    payload = _tenant_body()
    headers = {k: v for k, v in _kit_headers(payload).items() if k != drop}
    assert (await _kit(emulator, "tenantSync", payload, headers))["resultCode"] == code


async def test_kit_signature_and_freshness_are_checked(emulator: EmulatorServer) -> None:
    payload = _tenant_body()
    assert (await _kit(emulator, "tenantSync", payload, _kit_headers(payload)))["resultCode"] == "000000"
    wrong = _kit_headers(payload, key="another-kit-key")
    assert (await _kit(emulator, "tenantSync", payload, wrong))["resultCode"] == "000001"
    stale = _kit_headers(payload, timestamp=str(int(time.time() * 1000) - 120_000))
    assert (await _kit(emulator, "tenantSync", payload, stale))["resultCode"] == "000002"
    future = _kit_headers(payload, timestamp=str(int(time.time() * 1000) + 120_000))
    assert (await _kit(emulator, "tenantSync", payload, future))["resultCode"] == "000000", "one-sided window"
    for name in ("allOrgSync", "authSync", "singleOrgSync"):
        assert (await _kit(emulator, name, payload, _kit_headers(payload)))["resultCode"] == "000000"
    assert [c.activity for c in _stub(emulator).received][-3:] == ["allOrgSync", "authSync", "singleOrgSync"]


async def test_application_sync_decrypts_with_the_demo_private_key(emulator: EmulatorServer, api: Api) -> None:
    public_key = (await _joint_app(api))["public_key"]

    def body(secret: str) -> bytes:
        return canonical_body({"instanceId": "i1", "tenantId": "t1", "appId": "a1", "clientId": "c1",
                               "clientSecret": secret, "flag": 1, "testFlag": 1, "timeStamp": "x"})

    good = body(rsa_encrypt_client_secret(public_key, "the-secret-0000000001"))
    assert (await _kit(emulator, "applicationSync", good, _kit_headers(good)))["resultCode"] == "000000"
    assert _stub(emulator).client_secrets["c1"] == "the-secret-0000000001"
    for token in ("not base64!", base64.b64encode(b"\x00" * 256).decode()):
        bad = body(token)
        assert (await _kit(emulator, "applicationSync", bad, _kit_headers(bad)))["resultCode"] == "000101"


def test_a_stub_without_kit_keys_refuses_kit_calls() -> None:
    stub = MerchantStub("k")
    payload = _tenant_body()
    headers = _kit_headers(payload)
    assert stub._kit_signature_problem(payload, headers) == ("000001", "token is invalid: this merchant has no kit key")
    assert stub._application_sync({"clientSecret": "x"})["resultCode"] == "000101"


async def test_the_demo_license_merchant_delivers_a_licence_that_activates(api: Api) -> None:
    """The seeded License 2.0 merchant answers getLicense with a licence; that licence is the
    order's authorization code and activates through the open API (PROTOCOL §6, §12.8)."""
    from emulator.testing.openapi_client import OpenApiClient

    order = await api.ok("POST", "/orders", {"product": "demo-license-yearly"})
    await api.settle()
    [delivery] = await api.deliveries(activity="getLicense")
    assert delivery["status"] == "succeeded", delivery
    [code] = (await api.ok("GET", "/license-codes?merchant_id=demo-license"))["license_codes"]
    assert code["instance"] == order["instance"] and code["code"].startswith("PL")
    issued = await api.ok("POST", "/merchants/demo-license/credentials")
    status, body = await OpenApiClient(api.base_url, issued["ak"], issued["sk"]).post(
        "/v1/license/activate", {"license": code["code"]})
    assert (status, body["resultCode"]) == (200, "MKT.0000") and body["licenseInfo"]["status"] == "ACTIVE"
