"""The joint-operation family end to end (PROTOCOL §5, §2b, §3, §13.9), over loopback HTTP against
an independent merchant that checks both signature schemes and decrypts with its own key."""

from __future__ import annotations

import json
import re
import time
from datetime import timedelta

import httpx
import pytest

from emulator.app import EmulatorServer

from ..helpers import Api, parse_time
from . import joint_merchant as jm
from .test_oauth import OAuthApp, assert_back_to_app, authorize_url, obtain_code_redirect, oauth_client, std_params

LOGIN_URL = "https://joint.example.com/sso/callback"


class Joint:
    """A joint-operation merchant (``acme``) with a monthly product and a login app whose public key
    is the stub's."""

    def __init__(self, api: Api, stub: jm.JointMerchant, url: str) -> None:
        self.api, self.stub, self.url = api, stub, url
        self.app: dict = {}

    async def setup(self, **merchant: object) -> "Joint":
        await self.api.ok("POST", "/merchants", {
            "id": "acme", "name": "Acme", "production_url": self.url, "access_key": jm.BASIC_KEY,
            "kit_key": jm.KIT_KEY, "family": "saas_v2_joint", **merchant})
        await self.api.ok("POST", "/products", {
            "code": "joint-monthly", "merchant_id": "acme", "name": "Joint monthly", "charging_mode": "PERIOD",
            "period_type": "month", "upgradable": True, "price": "12.78", "grace_days": 15, "retention_days": 15})
        await self.api.ok("POST", "/products", {
            "code": "joint-pro", "merchant_id": "acme", "name": "Joint pro", "charging_mode": "PERIOD",
            "period_type": "month", "price": "30"})
        public = self.stub.private_key.public_key()
        from cryptography.hazmat.primitives import serialization
        pem = public.public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo).decode()
        status, self.app = await self.api.call("POST", "/oauth/apps", {
            "merchant_id": "acme", "name": "Joint app", "login_url": LOGIN_URL, "public_key": pem})
        assert status == 201, self.app
        return self

    async def buy(self, **extra: object) -> dict:
        order = await self.api.ok("POST", "/orders", {
            "product": "joint-monthly", "period_number": 5, "linear_value": 20, "test_flag": "1",
            "buyer": {"customer_name": "CBC_buyer_01", "mobile_phone": "13800000000", "email": "buyer@example.com"},
            "extend_params": [{"name": "emailDomainName", "value": "test.example.com"}], **extra})
        await self.api.settle()
        return order

    async def bind(self, order_id: str, **extra: object) -> dict:
        status, body = await self.api.call("POST", "/kit/tenants", {"order_id": order_id, "name": "示例企业", **extra})
        assert status == 201, body
        await self.api.settle()
        return await self.api.ok("GET", f"/kit/tenants/{body['tenant_id']}")


@pytest.fixture
async def joint(api: Api, merchant: tuple[jm.JointMerchant, str]) -> Joint:
    stub, url = merchant
    return await Joint(api, stub, url).setup()


# -- basic activities -------------------------------------------------------------------------

async def test_new_instance_carries_the_rich_body_and_no_polling_follows(api: Api, joint: Joint) -> None:
    order = await joint.buy()
    [call] = joint.stub.named("newInstance")
    assert call.signature_ok
    body = call.body
    assert set(body) == {"activity", "buyerInfo", "orderInfo", "testFlag"}
    assert body["testFlag"] == "1"
    assert body["buyerInfo"]["customerName"] == "CBC_buyer_01"
    assert body["buyerInfo"]["mobilePhone"] == "13800000000" and body["buyerInfo"]["email"] == "buyer@example.com"
    [info] = body["orderInfo"]
    assert info["orderId"] == order["order_id"] and "orderLineId" not in info
    assert re.fullmatch(r"[0-9a-f-]{36}", info["businessId"])
    assert info["orderAmount"] == 63.9 and isinstance(info["orderAmount"], float)
    assert info["periodNumber"] == 5 and info["provisionType"] == 1 and info["periodType"] == "month"
    assert info["chargingMode"] == "PERIOD" and info["trialFlag"] == "0"
    assert info["productInfo"] == [{"linearValue": 20, "productId": info["productInfo"][0]["productId"],
                                    "skuCode": info["productInfo"][0]["skuCode"]}]
    assert re.fullmatch(r"\d{14}", info["createTime"]) and re.fullmatch(r"\d{14}", info["expireTime"])
    assert info["extendParams"] == [{"name": "emailDomainName", "value": "test.example.com"}]
    assert call.raw == json.dumps(body, ensure_ascii=False, sort_keys=True, separators=(",", ":")).encode()
    await api.advance(hours=4)
    assert [c.name for c in joint.stub.calls] == ["newInstance"], "no queryInstance polling in §5"
    instance = await api.instance(order["instance"])
    assert instance["state"] == "active" and instance["ready"] is True


async def test_expiry_and_release_with_the_policies_of_section_9(api: Api, joint: Joint) -> None:
    order = await joint.buy(period_number=1)
    instance_id = joint.stub.named("newInstance")[0].answer["instanceId"]
    joint.stub.fail_with["expireInstance"] = "000005"
    await api.advance(days=32)
    expiries = joint.stub.named("expireInstance")
    assert len(expiries) == 60, "every minute for an hour (§9 expiry/freeze)"
    assert {k: v for k, v in expiries[0].body.items() if k != "testFlag"} == {
        "activity": "expireInstance", "instanceId": instance_id, "orderId": order["order_id"]}
    [expire] = await api.deliveries(activity="expireInstance")
    assert expire["status"] == "exhausted" and expire["attempts"] == 60
    joint.stub.fail_with["releaseInstance"] = "000005"
    await api.advance(days=31)
    releases = joint.stub.named("releaseInstance")
    assert len(releases) == 1, "release is sent once (§9)"
    assert releases[0].body["orderId"] == order["order_id"]
    assert not any(c.name in ("updateInstanceStatus", "queryInstance") for c in joint.stub.calls)
    assert (await api.instance(order["instance"]))["state"] == "released"


async def test_renewal_in_grace_is_one_refresh_and_no_unfreeze(api: Api, joint: Joint) -> None:
    order = await joint.buy(period_number=1)
    await api.advance(days=33)
    assert len(joint.stub.named("expireInstance")) == 1
    renewal = await api.ok("POST", f"/orders/{order['order_id']}/renew", {"period_number": 2})
    await api.settle()
    [refresh] = joint.stub.named("refreshInstance")
    assert refresh.body["orderId"] == renewal["order_id"] and re.fullmatch(r"\d{14}", refresh.body["expireTime"])
    assert "scene" not in refresh.body and "orderLineId" not in refresh.body
    await api.advance(hours=2)
    assert [c.name for c in joint.stub.calls] == ["newInstance", "expireInstance", "refreshInstance"]
    assert (await api.instance(order["instance"]))["state"] == "active"


async def test_upgrade_carries_order_info_and_freeze_by_hand_is_refused(api: Api, joint: Joint) -> None:
    order = await joint.buy()
    await api.ok("POST", f"/orders/{order['order_id']}/upgrade", {"product": "joint-pro"})
    await api.settle()
    [upgrade] = joint.stub.named("upgrade")
    [info] = upgrade.body["orderInfo"]
    assert upgrade.signature_ok and info["productInfo"][0]["productId"] == (
        await api.ok("GET", "/products/joint-pro"))["id"]
    assert re.fullmatch(r"[0-9a-f-]{36}", info["businessId"])
    for action in ("freeze", "query"):
        status, body = await api.call("POST", f"/orders/{order['order_id']}/{action}")
        assert status == 409 and body["error"]["field"] == "family", body
    placed = await api.ok("GET", f"/orders/{order['order_id']}")
    assert not {"freeze", "unfreeze", "query"} & set(placed["actions"])


async def test_buyer_contact_is_aes_encrypted_on_the_switch(api: Api, merchant: tuple[jm.JointMerchant, str]) -> None:
    from emulator.protocol.crypto import aes_cbc_decrypt
    stub, url = merchant
    joint = await Joint(api, stub, url).setup(encrypt_buyer_contact=True, aes_key_bits=128)
    await joint.buy()
    buyer = stub.named("newInstance")[0].body["buyerInfo"]
    assert buyer["mobilePhone"] != "13800000000"
    assert aes_cbc_decrypt(jm.BASIC_KEY, buyer["mobilePhone"], 128) == "13800000000"
    assert aes_cbc_decrypt(jm.BASIC_KEY, buyer["email"], 128) == "buyer@example.com"


# -- the kit chain ----------------------------------------------------------------------------

async def test_binding_runs_the_whole_chain_in_order(api: Api, joint: Joint) -> None:
    order = await joint.buy()
    instance_id = joint.stub.named("newInstance")[0].answer["instanceId"]
    started = time.time()
    tenant = await joint.bind(order["order_id"], departments=[
        {"org_code": "00000001", "name": "总部"}, {"org_code": "00000002", "name": "产品部", "parent_code": "00000001"}],
        users=[{"user_name": "wangwu", "name": "王五", "org_code": "00000002", "role": "admin"}])
    kit_calls = [c for c in joint.stub.calls if c.path.startswith("/produce/produceAPI/v2/")]
    assert [c.name for c in kit_calls] == ["tenantSync", "applicationSync", "allOrgSync", "authSync"]
    assert all(c.signature_ok for c in kit_calls)
    assert all(not c.query and "activity" not in c.body for c in kit_calls)
    assert all(re.fullmatch(r"[A-Za-z0-9]{16}", c.headers["x-nonce"]) for c in kit_calls)
    assert all(re.fullmatch(r"[0-9a-f]{64}", c.headers["x-sign"]) for c in kit_calls), "lower case by default"
    for call in kit_calls:
        assert call.body["testFlag"] == 1 and call.body["instanceId"] == instance_id
        assert call.body["tenantId"] == tenant["tenant_id"]
        assert abs(jm.parse_kit_time(call.body["timeStamp"]) - started) < 30, "GMT+8 wall clock"
    tenant_sync, application_sync, all_org, auth = (c.body for c in kit_calls)
    assert tenant_sync["orderId"] == order["order_id"] and tenant_sync["flag"] == 1 and tenant_sync["name"] == "示例企业"
    assert tenant_sync["domainName"].startswith("http://127.0.0.1:")
    assert application_sync["clientId"] == joint.app["client_id"]
    assert joint.stub.secrets == [joint.app["client_secret"]]
    assert json.loads(all_org["orgInfo"]) == [{"orgCode": "00000001", "name": "总部", "parentCode": ""},
                                              {"orgCode": "00000002", "name": "产品部", "parentCode": "00000001"}]
    assert auth["appId"] == application_sync["appId"] and auth["flag"] == 1
    assert auth["userList"] == [{"userName": "wangwu", "name": "王五", "orgCode": "00000002", "role": "admin",
                                 "enable": True}]
    assert auth["currentSyncTime"] == auth["timeStamp"]
    assert tenant["chain_complete"] and [s["state"] for s in tenant["chain"]] == ["succeeded"] * 4
    kit_deliveries = await api.deliveries(order_id=order["order_id"], activity="authSync")
    assert kit_deliveries and kit_deliveries[0]["policy"] == "kit"


async def test_a_chain_broken_by_000101_stops_and_resumes_on_resend(api: Api, joint: Joint) -> None:
    order = await joint.buy()
    right_key = joint.stub.private_key
    joint.stub.private_key, _ = jm.new_key_pair()  # the merchant deployed the wrong private key
    tenant = await joint.bind(order["order_id"])
    assert [s["state"] for s in tenant["chain"]] == ["succeeded", "failed", "not sent", "not sent"]
    assert tenant["failed_step"] == "applicationSync"
    failed = await api.delivery(tenant["chain"][1]["delivery_id"])
    assert failed["status"] == "exhausted" and failed["attempts"] == 1
    assert "000101" in failed["last_verdict"]
    await api.advance(hours=5)
    assert [c.name for c in joint.stub.calls if "produceAPI" in c.path] == ["tenantSync", "applicationSync"], \
        "no automatic retry of kit syncs (§9)"
    status, body = await api.call("POST", f"/kit/tenants/{tenant['tenant_id']}/resend", {"step": "allOrgSync"})
    assert status == 409 and body["error"]["field"] == "step" and "applicationSync" in body["error"]["message"], body
    status, body = await api.call("POST", f"/kit/tenants/{tenant['tenant_id']}/departments",
                                  {"org_code": "x1", "name": "X"})
    assert status == 409 and body["error"]["field"] == "tenant_id", body
    joint.stub.private_key = right_key  # fixed
    status, body = await api.call("POST", f"/kit/tenants/{tenant['tenant_id']}/resend", {"step": "applicationSync"})
    assert status == 202, body
    await api.settle()
    resumed = await api.ok("GET", f"/kit/tenants/{tenant['tenant_id']}")
    assert [s["state"] for s in resumed["chain"]] == ["succeeded"] * 4
    assert [c.name for c in joint.stub.calls if "produceAPI" in c.path] == [
        "tenantSync", "applicationSync", "applicationSync", "allOrgSync", "authSync"]
    assert joint.stub.secrets == [joint.app["client_secret"]]


async def test_admin_edits_send_single_syncs(api: Api, joint: Joint) -> None:
    order = await joint.buy()
    tenant = await joint.bind(order["order_id"])
    tid = tenant["tenant_id"]
    root = tenant["departments"][0]["org_code"]
    await api.ok("POST", f"/kit/tenants/{tid}/departments", {"org_code": "d2", "name": "Sales", "parent_code": root})
    await api.ok("PATCH", f"/kit/tenants/{tid}/departments/d2", {"name": "Sales EMEA"})
    await api.ok("POST", f"/kit/tenants/{tid}/users", {"user_name": "zhaoliu", "name": "赵六", "org_code": "d2"})
    status, body = await api.call("DELETE", f"/kit/tenants/{tid}/departments/d2")
    assert status == 409 and body["error"]["field"] == "org_code" and "zhaoliu" in body["error"]["message"]
    await api.ok("PATCH", f"/kit/tenants/{tid}/users/zhaoliu", {"granted": False})
    await api.ok("DELETE", f"/kit/tenants/{tid}/users/zhaoliu")
    await api.ok("DELETE", f"/kit/tenants/{tid}/departments/d2")
    await api.settle()
    singles = [(c.name, c.body.get("flag")) for c in joint.stub.calls if "produceAPI" in c.path][4:]
    assert singles == [("singleOrgSync", 1), ("singleOrgSync", 2), ("authSync", 1), ("authSync", 3),
                       ("singleOrgSync", 0)], "a revoked user's deletion is not sent again"
    org_calls = joint.stub.named("singleOrgSync")
    assert org_calls[1].body["orgName"] == "Sales EMEA" and org_calls[1].body["parentCode"] == root
    assert all(c.signature_ok for c in joint.stub.calls)


async def test_a_repeat_sends_the_identical_body_and_records_idempotency(api: Api, joint: Joint) -> None:
    order = await joint.buy()
    tenant = await joint.bind(order["order_id"])
    first = tenant["chain"][0]["delivery_id"]
    repeat = await api.ok("POST", f"/kit/calls/{first}/repeat")
    await api.settle()
    assert (await api.delivery(repeat["id"]))["status"] == "succeeded"
    sent = joint.stub.named("tenantSync")
    assert len(sent) == 2 and sent[0].raw == sent[1].raw and sent[0].headers["x-nonce"] != sent[1].headers["x-nonce"]
    joint.stub.idempotent = False
    second = await api.ok("POST", f"/kit/calls/{tenant['chain'][2]['delivery_id']}/repeat")
    await api.settle()
    judged = await api.delivery(second["id"])
    assert judged["status"] == "exhausted" and "000005" in judged["last_verdict"]
    detail = await api.ok("GET", f"/kit/tenants/{tenant['tenant_id']}")
    assert {c["purpose"] for c in detail["calls"]} == {"chain", "repeat"}


async def test_the_credential_flow_has_empty_ids_and_test_flag_1(api: Api, joint: Joint) -> None:
    tenant = await api.ok("POST", "/kit/credential-flow", {"client_id": joint.app["client_id"]})
    await api.settle()
    kit_calls = [c for c in joint.stub.calls if "produceAPI" in c.path]
    assert [c.name for c in kit_calls] == ["tenantSync", "applicationSync", "allOrgSync", "authSync"]
    assert all(c.body["instanceId"] == "" and c.body["testFlag"] == 1 for c in kit_calls)
    assert kit_calls[0].body["orderId"] == "" and kit_calls[0].body["tenantId"] == joint.app["tenant_id"]
    assert tenant["tenant_id"] == joint.app["tenant_id"]


async def test_org_info_as_a_real_array_on_the_switch(api: Api, merchant: tuple[jm.JointMerchant, str]) -> None:
    stub, url = merchant
    joint = await Joint(api, stub, url).setup(kit_org_info="list", kit_sign_hex_case="upper")
    order = await joint.buy()
    await joint.bind(order["order_id"])
    [all_org] = stub.named("allOrgSync")
    assert isinstance(all_org.body["orgInfo"], list) and all_org.signature_ok
    assert re.fullmatch(r"[0-9A-F]{64}", all_org.headers["x-sign"])


async def test_oaep_padding_on_the_switch(api: Api, merchant: tuple[jm.JointMerchant, str]) -> None:
    stub, url = merchant
    stub.oaep = True
    joint = await Joint(api, stub, url).setup(kit_rsa_padding="oaep-sha256")
    tenant = await joint.bind((await joint.buy())["order_id"])
    assert tenant["chain_complete"] and stub.secrets == [joint.app["client_secret"]]


# -- unified login with what the merchant decrypted --------------------------------------------

async def test_a_granted_user_logs_in_with_the_decrypted_secret(api: Api, joint: Joint,
                                                                emulator: EmulatorServer) -> None:
    order = await joint.buy()
    tenant = await joint.bind(order["order_id"], users=[
        {"user_name": "wangwu", "name": "王五", "org_code": "00000001", "password": "Wang#2026"}],
        departments=[{"org_code": "00000001", "name": "总部"}])
    [secret] = joint.stub.secrets
    app = OAuthApp(joint.app["client_id"], secret, joint.app["tenant_id"], joint.app, {})
    async with httpx.AsyncClient(follow_redirects=False, timeout=10) as agent:
        params = std_params(app, redirect_uri=LOGIN_URL)
        back = await obtain_code_redirect(emulator, agent, authorize_url(emulator, **params), user="wangwu",
                                          password="Wang#2026")
        code = assert_back_to_app(back, LOGIN_URL)["code"]
    async with oauth_client(app, redirect_uri=LOGIN_URL) as client:
        token = await client.fetch_token(emulator.url + "/api/v1/oauth2/token", code=code)
        info = (await client.get(emulator.url + "/api/v1/oauth2/userinfo")).json()
    assert token["access_token"] and info["userName"] == "wangwu" and info["tenant"] == tenant["tenant_id"]
    bearer = {"Authorization": f"Bearer {token['access_token']}"}
    await api.ok("PATCH", f"/kit/tenants/{tenant['tenant_id']}/users/wangwu", {"name": "王五五"})
    async with httpx.AsyncClient(timeout=10) as backend:
        renamed = await backend.get(emulator.url + "/api/v1/oauth2/userinfo", headers=bearer)
        assert renamed.status_code == 200 and renamed.json()["name"] == "王五五", "a change keeps the session"
        await api.ok("PATCH", f"/kit/tenants/{tenant['tenant_id']}/users/wangwu", {"granted": False})
        revoked = await backend.get(emulator.url + "/api/v1/oauth2/userinfo", headers=bearer)
        assert revoked.status_code == 401, "revoking the grant revokes the user's tokens"
    async with httpx.AsyncClient(follow_redirects=False, timeout=10) as agent:
        with pytest.raises(AssertionError):
            await obtain_code_redirect(emulator, agent, authorize_url(emulator, **params), user="wangwu",
                                       password="Wang#2026")


# -- bad input --------------------------------------------------------------------------------

async def test_bad_input_names_the_field_and_writes_nothing(api: Api, joint: Joint) -> None:
    order = await joint.buy()
    cases = [
        ({"order_id": order["order_id"]}, "name"),
        ({"order_id": order["order_id"], "name": "E", "departments": [{"org_code": "a", "name": "A", "parent_code": "zz"}]},
         "parent_code"),
        ({"order_id": order["order_id"], "name": "E", "departments": [{"org_code": "a", "name": "A", "parent_code": "b"},
                                                                 {"org_code": "b", "name": "B", "parent_code": "a"}]},
         "cycle"),
        ({"order_id": order["order_id"], "name": "E", "users": [{"user_name": "u", "name": "U", "org_code": "nope"}],
          "departments": [{"org_code": "a", "name": "A"}]}, "org_code"),
        ({"order_id": "CS-NOPE", "name": "E"}, "order_id"),
    ]
    for body, named in cases:
        status, answer = await api.call("POST", "/kit/tenants", body)
        assert status in (400, 404), (body, status, answer)
        assert named in json.dumps(answer), (named, answer)
    await api.ok("POST", f"/oauth/apps/{joint.app['client_id']}/users", {"userName": "zhaoliu", "name": "赵六"})
    status, answer = await api.call("POST", "/kit/tenants", {
        "order_id": order["order_id"], "name": "E", "departments": [{"org_code": "a", "name": "A"}],
        "users": [{"user_name": "zhaoliu", "name": "Z", "org_code": "a"}]})
    assert status == 409 and answer["error"]["field"] == "user_name", answer
    assert (await api.ok("GET", "/kit/tenants"))["tenants"] == [], "a refused bind leaves nothing behind"
    assert joint.stub.named("tenantSync") == []
    small = "MFwwDQYJKoZIhvcNAQEBBQADSwAwSAJBAMYr0HhjGWBvcUDIhbz3v1rrOc2PvYfGcYHbW1p3r4A8qrmK1Ryha8uEcQsQ/+c3Y4D6ZsY+" \
            "Xc3Yb8C6nqvq0JUCAwEAAQ=="
    for key in ("not a key", small):
        status, answer = await api.call("PATCH", f"/oauth/apps/{joint.app['client_id']}", {"public_key": key})
        assert status == 400 and "public_key" in json.dumps(answer), answer


async def test_a_slim_merchant_cannot_bind(api: Api, shop) -> None:  # type: ignore[no-untyped-def]
    order = await shop.buy()
    status, body = await api.call("POST", "/kit/tenants", {"order_id": order["order_id"], "name": "E"})
    assert status == 409 and body["error"]["field"] == "family", body


# -- dial tests map the debugger's cases to this family's activities (§11.3) ---------------------

async def test_dial_tests_of_a_joint_product_send_the_joint_activities(api: Api, joint: Joint) -> None:
    code = "joint-monthly"
    status, body = await api.call("POST", f"/products/{code}/debug-cases", {"case": "query"})
    assert status == 400 and body["error"]["field"] == "case", body
    listed = await api.ok("GET", f"/products/{code}/debug-cases")
    assert listed["missing"] == ["create", "update", "status", "upgrade", "release"]
    for case in listed["missing"]:
        status, body = await api.call("POST", f"/products/{code}/debug-cases", {"case": case})
        assert status == 201, (case, body)
    run = await api.ok("POST", f"/products/{code}/dial-tests/run")
    assert run["verdict"] == "pass", run
    names = [c.name for c in joint.stub.calls]
    assert names == ["newInstance", "refreshInstance", "expireInstance", "upgrade", "releaseInstance"] * 2
    assert all(c.signature_ok for c in joint.stub.calls)
    create = joint.stub.named("newInstance")[-1].body
    assert create["testFlag"] == "1" and create["orderInfo"][0]["orderId"] == "MOCKPERIODYEARNEW"
    assert re.fullmatch(r"[0-9a-f-]{36}", create["orderInfo"][0]["businessId"])
    instance_id = joint.stub.named("newInstance")[-1].answer["instanceId"]
    assert joint.stub.named("releaseInstance")[-1].body["instanceId"] == instance_id


async def test_a_renewal_supersedes_an_expiry_still_being_retried(api: Api, joint: Joint) -> None:
    order = await joint.buy(period_number=1)
    joint.stub.fail_with["expireInstance"] = "000005"
    expire_at = parse_time((await api.instance(order["instance"]))["expire_at"])
    await api.ok("POST", "/clock/advance", {"to": (expire_at + timedelta(minutes=10)).isoformat() + "Z"})
    renewal_time = len(joint.stub.named("expireInstance"))
    assert 0 < renewal_time < 60
    await api.ok("POST", f"/orders/{order['order_id']}/renew", {"period_number": 1})
    await api.advance(hours=2)
    assert len(joint.stub.named("expireInstance")) == renewal_time, "no expiry attempt after the renewal"
    [expire] = await api.deliveries(activity="expireInstance")
    assert expire["status"] == "cancelled" and "renewal" in expire["note"]


async def test_an_application_test_tenant_is_not_a_buyer_enterprise(api: Api, joint: Joint) -> None:
    order = await joint.buy()
    status, body = await api.call("POST", "/kit/tenants", {"order_id": order["order_id"], "name": "E",
                                                           "tenant_id": joint.app["tenant_id"]})
    assert status == 409 and body["error"]["field"] == "tenant_id", body
    status, body = await api.call("POST", "/kit/tenants", {"order_id": order["order_id"], "name": "E",
                                                           "users": [{"user_name": "u", "name": "U", "org_code": "x"}]})
    assert status == 400 and "00000001" in json.dumps(body), body
    tenant = await joint.bind(order["order_id"])
    await api.ok("POST", "/kit/credential-flow", {"client_id": joint.app["client_id"]})
    await api.settle()
    assert (await api.ok("GET", f"/kit/tenants/{tenant['tenant_id']}"))["instance"] == order["instance"]
