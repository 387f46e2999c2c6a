"""The SaaS V1 legacy family end to end (PROTOCOL §7, §2c, §3, §9) over loopback HTTP, against an
independent merchant that checks every authToken with its own code and signs its replies."""

from __future__ import annotations

import base64
import json
import re
import time
from datetime import datetime, timezone
from typing import AsyncIterator

import pytest

from ..helpers import Api
from . import v1_merchant as v1

BUYER = {"customer_name": "v1_buyer", "mobile_phone": "13800000000", "email": "buyer@example.com"}


@pytest.fixture
async def merchant() -> AsyncIterator[tuple[v1.V1Merchant, str]]:
    stub = v1.V1Merchant()
    async for url in v1.serve(stub):
        yield stub, url


class Legacy:
    """A V1 merchant (``old``) with a monthly product (trial, upgradable, 15 + 15 days) and a pro one."""

    def __init__(self, api: Api, stub: v1.V1Merchant, url: str) -> None:
        self.api, self.stub, self.url = api, stub, url

    async def setup(self, **merchant: object) -> "Legacy":
        await self.api.ok("POST", "/merchants", {"id": "old", "name": "Old SaaS", "production_url": self.url,
                                                 "access_key": v1.V1_KEY, "family": "saas_v1", **merchant})
        await self.api.ok("POST", "/products", {
            "code": "v1-monthly", "merchant_id": "old", "name": "V1 monthly", "charging_mode": "PERIOD",
            "period_type": "month", "trial_days": 7, "upgradable": True, "price": "10", "grace_days": 15,
            "retention_days": 15})
        await self.api.ok("POST", "/products", {
            "code": "v1-pro", "merchant_id": "old", "name": "V1 pro", "charging_mode": "PERIOD",
            "period_type": "month", "price": "30"})
        return self

    async def buy(self, **extra: object) -> dict:
        order = await self.api.ok("POST", "/orders", {"product": "v1-monthly", "buyer": BUYER, **extra})
        await self.api.settle()
        return order

    def instance_id(self) -> str:
        return json.loads(self.stub.named("newInstance")[0].reply)["instanceId"]


@pytest.fixture
async def legacy(api: Api, merchant: tuple[v1.V1Merchant, str]) -> Legacy:
    stub, url = merchant
    return await Legacy(api, stub, url).setup()


async def _only(api: Api, activity: str) -> dict:
    return await api.only_delivery(activity=activity)


# -- the wire ----------------------------------------------------------------------------------

async def test_new_instance_is_a_signed_get_with_the_parameters_of_section_7(api: Api, legacy: Legacy) -> None:
    order = await legacy.buy(test_flag="1", extend_params=[{"name": "emailDomainName", "value": "a+b/c=d"}])
    [call] = legacy.stub.named("newInstance")
    assert call.method == "GET" and call.body == b"" and call.token_ok
    params = call.params
    assert list(params)[-1] == "authToken" and list(params)[:-1] == sorted(list(params)[:-1])
    assert set(params) == {"activity", "authToken", "businessId", "customerId", "customerName", "email",
                           "expireTime", "mobilePhone", "orderId", "productId", "saasExtendParams", "skuCode",
                           "testFlag", "timeStamp", "userId", "userName"}, "no trialFlag outside trials"
    product = await api.ok("GET", "/products/v1-monthly")
    assert params["orderId"] == order["order_id"] and params["testFlag"] == "1"
    assert params["productId"] == product["id"] and params["skuCode"] == product["sku_code"]
    assert params["customerName"] == params["userName"] == "v1_buyer" and params["userId"] == params["customerId"]
    assert re.fullmatch(r"[0-9a-f-]{36}", params["businessId"]) and re.fullmatch(r"\d{14}", params["expireTime"])
    stamp = datetime.strptime(params["timeStamp"], "%Y%m%d%H%M%S%f").replace(tzinfo=timezone.utc)
    assert re.fullmatch(r"\d{17}", params["timeStamp"]) and abs(stamp.timestamp() - time.time()) < 30, "wall clock"
    assert call.mobile_phone == "13800000000" and params["mobilePhone"] != "13800000000"
    assert v1.aes_cbc_decrypt(v1.V1_KEY, params["email"], 256) == "buyer@example.com"
    assert json.loads(base64.b64decode(params["saasExtendParams"])) == [
        {"name": "emailDomainName", "value": "a+b/c=d"}]
    pairs = call.query_string.split("&")
    assert "+" not in call.query_string and all(p.count("=") == 1 for p in pairs), "values are percent-encoded"
    assert "/" not in call.query_string and ":" not in call.query_string, "sent exactly as signed (§2c)"
    await api.advance(hours=4)
    assert [c.name for c in legacy.stub.calls] == ["newInstance"], "no queryInstance polling in V1"
    instance = await api.instance(order["instance"])
    assert instance["state"] == "active" and instance["ready"] is True
    delivery = await _only(api, "newInstance")
    assert delivery["status"] == "succeeded" and delivery["policy"] == "v1_purchase"
    assert delivery["attempt_log"][0]["request"]["method"] == "GET"


async def test_a_trial_carries_trial_flag_and_128_bit_contact(api: Api, merchant: tuple[v1.V1Merchant, str]) -> None:
    stub, url = merchant
    stub.aes_bits = 128
    legacy = await Legacy(api, stub, url).setup(aes_key_bits=128)
    order = await legacy.buy(trial=True)
    [call] = stub.named("newInstance")
    assert call.params["trialFlag"] == "1" and "saasExtendParams" not in call.params
    assert call.mobile_phone == "13800000000"
    await api.ok("POST", f"/orders/{order['order_id']}/convert", {"period_number": 1})
    await api.settle()
    [refresh] = stub.named("refreshInstance")
    assert refresh.token_ok and refresh.params["trialToFormal"] == "1"
    assert refresh.params["instanceId"] == legacy.instance_id()


async def test_expiry_and_release_retry_sixty_times_a_minute(api: Api, legacy: Legacy) -> None:
    order = await legacy.buy()
    legacy.stub.fail_with["expireInstance"] = "000005"
    await api.advance(days=32)
    expiries = legacy.stub.named("expireInstance")
    assert len(expiries) == 60, "60 attempts, one a minute (§9)"
    assert all(c.token_ok for c in expiries)
    assert {k: v for k, v in expiries[0].params.items() if k not in ("authToken", "timeStamp")} == {
        "activity": "expireInstance", "instanceId": legacy.instance_id(), "orderId": order["order_id"],
        "testFlag": "0"}
    expire = await _only(api, "expireInstance")
    assert expire["status"] == "exhausted" and expire["attempts"] == 60 and expire["policy"] == "v1_freeze"
    legacy.stub.fail_with["releaseInstance"] = "000005"
    await api.advance(days=31)
    releases = legacy.stub.named("releaseInstance")
    assert len(releases) == 60, "V1 release is retried for an hour (§15.2)"
    assert releases[0].params["orderId"] == order["order_id"]
    assert (await api.instance(order["instance"]))["state"] == "released"
    assert not legacy.stub.named("instanceStatus") and not legacy.stub.named("queryInstance")


async def test_renewal_in_grace_is_only_a_refresh(api: Api, legacy: Legacy) -> None:
    order = await legacy.buy()
    await api.advance(days=33)
    assert len(legacy.stub.named("expireInstance")) == 1
    renewal = await api.ok("POST", f"/orders/{order['order_id']}/renew", {"period_number": 2})
    await api.settle()
    [refresh] = legacy.stub.named("refreshInstance")
    assert refresh.params["orderId"] == renewal["order_id"] and re.fullmatch(r"\d{14}", refresh.params["expireTime"])
    assert "trialToFormal" not in refresh.params
    await api.advance(hours=2)
    assert [c.name for c in legacy.stub.calls] == ["newInstance", "expireInstance", "refreshInstance"]
    assert (await api.instance(order["instance"]))["state"] == "active"
    assert (await _only(api, "refreshInstance"))["policy"] == "v1_renewal"


async def test_freeze_unfreeze_upgrade_and_query_by_hand(api: Api, legacy: Legacy) -> None:
    order = await legacy.buy()
    placed = await api.ok("GET", f"/orders/{order['order_id']}")
    assert {"freeze", "query"} <= set(placed["actions"])
    await api.ok("POST", f"/orders/{order['order_id']}/freeze")
    await api.ok("POST", f"/orders/{order['order_id']}/unfreeze")
    await api.settle()
    statuses = [c.params["instanceStatus"] for c in legacy.stub.named("instanceStatus")]
    assert statuses == ["FREEZE", "NORMAL"] and not legacy.stub.named("expireInstance")
    await api.ok("POST", f"/orders/{order['order_id']}/upgrade", {"product": "v1-pro"})
    await api.settle()
    [upgrade] = legacy.stub.named("upgrade")
    pro = await api.ok("GET", "/products/v1-pro")
    assert upgrade.params["productId"] == pro["id"] and upgrade.params["skuCode"] == pro["sku_code"]
    assert upgrade.params["instanceId"] == legacy.instance_id() and "businessId" not in upgrade.params
    status, outcome = await api.call("POST", f"/orders/{order['order_id']}/query")
    assert status == 200, outcome
    [query] = legacy.stub.named("queryInstance")
    assert query.token_ok and query.params["instanceId"] == legacy.instance_id()


# -- Body-Sign (§2c) ----------------------------------------------------------------------------

@pytest.mark.parametrize("mode, expected", [
    ("missing", "http header->bodySign is empty."),
    ("case", "http header->bodySign is empty. The reply has a header 'Body-sign'"),
    ("wrong", "Failed to verify the HTTP Body signature. Expected signature value: "),
])
async def test_a_reply_without_a_valid_body_sign_fails(api: Api, legacy: Legacy, mode: str, expected: str) -> None:
    legacy.stub.sign = mode
    order = await legacy.buy()
    delivery = await _only(api, "newInstance")
    verdict = delivery["last_verdict"]
    assert delivery["status"] == "scheduled" and verdict.startswith(expected) and "PROTOCOL §2c" in verdict, verdict
    if mode == "wrong":
        reply = legacy.stub.named("newInstance")[0].reply
        assert v1.body_signature(v1.V1_KEY, reply) in verdict, "the verdict shows the expected signature"
    assert (await api.instance(order["instance"]))["state"] == "pending"
    legacy.stub.sign = "ok"
    await api.advance(minutes=3)
    assert (await _only(api, "newInstance"))["status"] == "succeeded"


# -- retries and replies --------------------------------------------------------------------------

async def test_an_exhausted_new_instance_took_sixty_attempts_three_minutes_apart(api: Api, legacy: Legacy) -> None:
    legacy.stub.fail_with["newInstance"] = "000005"
    order = await legacy.buy()
    await api.advance(hours=3)
    calls = legacy.stub.named("newInstance")
    assert len(calls) == 60 and len({c.params["businessId"] for c in calls}) == 60
    delivery = await _only(api, "newInstance")
    assert delivery["status"] == "exhausted" and delivery["attempts"] == 60
    due = [datetime.fromisoformat(a["due_at"].rstrip("Z")) for a in delivery["attempt_log"]]
    assert {(b - a).total_seconds() for a, b in zip(due, due[1:])} == {180}
    assert (await api.ok("GET", f"/orders/{order['order_id']}"))["status"] == "failed"


async def test_app_info_that_does_not_decrypt_is_a_warning(api: Api, legacy: Legacy) -> None:
    legacy.stub.garbled_app_info = True
    legacy.stub.encrypt_type = "7"
    await legacy.buy()
    delivery = await _only(api, "newInstance")
    assert delivery["status"] == "succeeded"
    warnings = delivery["attempt_log"][0]["warnings"]
    assert any(w.startswith('encryptType "7"') and "AES-128" in w for w in warnings), warnings
    assert any(w.startswith("appInfo.userName does not decrypt") and "§3" in w for w in warnings), warnings
    assert not any("password" in w for w in warnings), "password decrypts as AES-128"


async def test_well_encrypted_app_info_gives_no_warning(api: Api, legacy: Legacy) -> None:
    legacy.stub.encrypt_type = None  # missing: AES-256
    await legacy.buy()
    delivery = await _only(api, "newInstance")
    assert delivery["status"] == "succeeded" and delivery["attempt_log"][0]["warnings"] == []


async def test_a_reply_that_is_not_json_has_a_clear_verdict(api: Api, legacy: Legacy) -> None:
    legacy.stub.not_json = True
    await legacy.buy()
    verdict = (await _only(api, "newInstance"))["last_verdict"]
    assert verdict.startswith("Debugging failed. Parse response body failed: the body is not JSON"), verdict
    assert "§8 T4" in verdict


async def test_v1_retry_policies_can_be_overridden(api: Api, merchant: tuple[v1.V1Merchant, str]) -> None:
    stub, url = merchant
    legacy = await Legacy(api, stub, url).setup(retry_overrides={"v1_purchase": {"attempts": 2, "interval_s": 60}})
    stub.fail_with["newInstance"] = "000005"
    await legacy.buy()
    await api.advance(minutes=5)
    assert len(stub.named("newInstance")) == 2
