"""Outbound faults per merchant (README "Outbound faults"): each kind at rate 1.0 against the
signature-checking stub, rate 0, and the validation of the setting."""

from __future__ import annotations

import json
import time
from datetime import datetime, timezone
from urllib.parse import parse_qsl, urlsplit

import pytest

from emulator.delivery import faults
from emulator.protocol.outbound import SignedRequest, signed_request
from emulator.protocol.signing import verify_basic_signature, verify_kit_x_sign, verify_v1_auth_token
from emulator.store.tables import Merchant

from ..conftest import RunningStub, Shop
from ..helpers import Api


async def _shop(api: Api, stub: RunningStub, rates: dict[str, float], **merchant: object) -> Shop:
    return await Shop.create(api, stub, faults=rates, **merchant)


async def _ready(shop: Shop, order: dict) -> dict:
    """Let the readiness poll run, then return the instance (its lifecycle must be intact)."""
    await shop.api.advance(minutes=2)
    instance = await shop.api.instance(order["instance"])
    assert instance["state"] == "active" and instance["ready"] is True
    assert (await shop.api.ok("GET", f"/orders/{order['order_id']}"))["status"] == "delivered"
    return instance


async def test_duplicate_delivers_the_same_call_twice(api: Api, merchant_stub: RunningStub) -> None:
    shop = await _shop(api, merchant_stub, {"duplicate": 1.0})
    order = await shop.buy()
    first, again = shop.stub.stub.calls("newInstance")
    assert again.raw_body == first.raw_body, "the same body, businessId included"
    assert again.query["nonce"] != first.query["nonce"], "signed again: a replay guard still lets it through"
    assert again.reply == first.reply and again.signature_ok
    delivery = await api.only_delivery(order_id=order["order_id"], activity="newInstance")
    log = delivery["attempt_log"]
    assert [a["fault"] for a in log] == [None, "duplicate"]
    assert log[0]["request"]["body"] == log[1]["request"]["body"] and all(a["passed"] for a in log)
    assert "outbound fault duplicate" in log[1]["warnings"][0]
    assert delivery["slots_used"] == 1 and delivery["status"] == "succeeded"
    await _ready(shop, order)


@pytest.mark.parametrize("kind", ["stale_timestamp", "wrong_signature"])
async def test_a_refused_probe_uses_no_slot_and_the_real_attempt_follows(api: Api, merchant_stub: RunningStub,
                                                                          kind: str) -> None:
    shop = await _shop(api, merchant_stub, {kind: 1.0})
    order = await shop.buy()
    probe, real = shop.stub.stub.calls("newInstance")
    assert not probe.signature_ok and real.signature_ok
    assert json.loads(probe.reply)["resultCode"] in ("000001", "000002")
    if kind == "stale_timestamp":
        assert int(real.query["timestamp"]) - int(probe.query["timestamp"]) >= 9 * 60 * 1000
        assert "outside the 60 s window" in (probe.problem or "")
    else:
        assert probe.query["timestamp"].isdigit() and "does not match" in (probe.problem or "")
    assert probe.body["businessId"] != real.body["businessId"] and probe.query["nonce"] != real.query["nonce"]
    delivery = await api.only_delivery(order_id=order["order_id"], activity="newInstance")
    marked, normal = delivery["attempt_log"]
    assert marked["fault"] == kind and normal["fault"] is None
    assert marked["passed"] is False and "(PROTOCOL §8 E2)" in marked["verdict"]
    assert any("refusing it is the correct behaviour" in w for w in marked["warnings"])
    assert normal["passed"] is True
    assert delivery["status"] == "succeeded" and delivery["slots_used"] == 1 and delivery["attempts"] == 2
    await _ready(shop, order)


async def test_both_probes_then_the_real_attempt_then_its_duplicate(api: Api, merchant_stub: RunningStub) -> None:
    shop = await _shop(api, merchant_stub, {"stale_timestamp": 1, "wrong_signature": 1, "duplicate": 1})
    order = await shop.buy()
    delivery = await api.only_delivery(order_id=order["order_id"], activity="newInstance")
    assert [(a["number"], a["fault"], a["passed"]) for a in delivery["attempt_log"]] == [
        (1, "stale_timestamp", False), (2, "wrong_signature", False), (3, None, True), (4, "duplicate", True)]
    assert [c.signature_ok for c in shop.stub.stub.calls("newInstance")] == [False, False, True, True]
    await _ready(shop, order)


async def test_failed_real_attempts_keep_their_schedule_under_probes(api: Api, merchant_stub: RunningStub) -> None:
    shop = await _shop(api, merchant_stub, {"wrong_signature": 1.0})
    merchant_stub.behaviour.fail_next, merchant_stub.behaviour.fail_activities = 1, ["newInstance"]
    order = await shop.buy()
    await api.advance(hours=1)
    delivery = await api.only_delivery(order_id=order["order_id"], activity="newInstance")
    faulted = [a["fault"] for a in delivery["attempt_log"]]
    assert faulted == ["wrong_signature", None, "wrong_signature", None]
    assert delivery["slots_used"] == 2 and delivery["status"] == "succeeded"
    assert (await api.instance(order["instance"]))["state"] == "active"


async def test_slow_send_holds_the_request_back(api: Api, merchant_stub: RunningStub) -> None:
    shop = await _shop(api, merchant_stub, {"slow_send": 1.0}, slow_send_s=0.3)
    order = await shop.buy()
    delivery = await api.only_delivery(order_id=order["order_id"], activity="newInstance")
    (attempt,) = delivery["attempt_log"]
    assert attempt["fault"] == "slow_send" and attempt["passed"] is True
    assert attempt["elapsed_ms"] >= 300
    assert len(shop.stub.stub.calls("newInstance")) == 1
    await _ready(shop, order)


async def test_out_of_order_sends_the_later_delivery_first(api: Api, merchant_stub: RunningStub) -> None:
    shop = await _shop(api, merchant_stub, {"out_of_order": 1.0})
    order = await shop.buy()  # newInstance succeeds; its readiness poll is due a minute later
    await api.ok("POST", f"/orders/{order['order_id']}/renew", {})  # refreshInstance, due now
    await api.settle()
    assert [c.activity for c in shop.stub.stub.received] == ["newInstance", "queryInstance", "refreshInstance"]
    poll = await api.only_delivery(instance=order["instance"], activity="queryInstance")
    assert poll["attempt_log"][0]["fault"] == "out_of_order" and poll["status"] == "succeeded"
    refresh = await api.only_delivery(instance=order["instance"], activity="refreshInstance")
    assert [a["fault"] for a in refresh["attempt_log"]] == [None] and refresh["status"] == "succeeded"
    await _ready(shop, order)


async def test_in_order_without_the_fault(api: Api, merchant_stub: RunningStub) -> None:
    shop = await _shop(api, merchant_stub, {kind: 0.0 for kind in faults.KINDS})
    order = await shop.buy()
    await api.ok("POST", f"/orders/{order['order_id']}/renew", {})
    await api.settle()
    await _ready(shop, order)
    assert [c.activity for c in shop.stub.stub.received] == ["newInstance", "refreshInstance", "queryInstance"]
    assert all(c.signature_ok for c in shop.stub.stub.received)
    for delivery in await api.deliveries(instance=order["instance"]):
        log = (await api.delivery(delivery["id"]))["attempt_log"]
        assert [a["fault"] for a in log] == [None] * len(log) == [None]


def test_the_decision_depends_on_the_delivery_and_the_attempt_only() -> None:
    draws = [faults.chance("duplicate", delivery, number) for delivery in range(1, 50) for number in (1, 2)]
    assert draws == [faults.chance("duplicate", delivery, number) for delivery in range(1, 50) for number in (1, 2)]
    assert all(0 <= d < 1 for d in draws) and 20 < sum(d < 0.5 for d in draws) < 80
    assert all(faults.applies({"duplicate": 1.0}, "duplicate", 7, n) for n in range(1, 100))
    assert not any(faults.applies({"duplicate": 0.0}, "duplicate", 7, n) for n in range(1, 100))


async def test_the_setting_is_shown_and_changed(api: Api, merchant_stub: RunningStub) -> None:
    shop = await Shop.create(api, merchant_stub)
    merchant = await api.ok("GET", f"/merchants/{shop.merchant_id}")
    assert merchant["faults"] == {} and merchant["slow_send_s"] == 3.0
    changed = await api.ok("PATCH", f"/merchants/{shop.merchant_id}",
                           {"faults": {"duplicate": 0.1, "stale_timestamp": 0.5}, "slow_send_s": 4.5})
    assert changed["faults"] == {"duplicate": 0.1, "stale_timestamp": 0.5} and changed["slow_send_s"] == 4.5


@pytest.mark.parametrize(("body", "field"), [
    ({"faults": {"bogus": 0.1}}, "faults.bogus"),
    ({"faults": {"duplicate": 1.5}}, "faults.duplicate"),
    ({"faults": {"duplicate": -0.1}}, "faults.duplicate"),
    ({"faults": {"duplicate": "0.1"}}, "faults.duplicate"),
    ({"faults": {"duplicate": True}}, "faults.duplicate"),
    ({"faults": [0.1]}, "faults"),
    ({"slow_send_s": 5}, "slow_send_s"),
    ({"slow_send_s": -1}, "slow_send_s"),
])
async def test_bad_faults_are_refused_naming_the_field(api: Api, merchant_stub: RunningStub, body: dict,
                                                       field: str) -> None:
    shop = await Shop.create(api, merchant_stub)
    status, error = await api.call("PATCH", f"/merchants/{shop.merchant_id}", body)
    assert status == 400 and error["error"]["field"] == field, error
    status, error = await api.call("POST", "/merchants", {"name": "Other", "production_url": merchant_stub.url,
                                                         "access_key": "k", **body})
    assert status == 400 and error["error"]["field"] == field, error
    assert (await api.ok("GET", f"/merchants/{shop.merchant_id}"))["faults"] == {}


def _merchant(**values: object) -> Merchant:
    return Merchant(id="m", name="M", production_url="https://merchant.example/produce?x=1", access_key="key-0001",
                    kit_key="kit-key-0001", created_at=datetime(2026, 1, 1), **values)


@pytest.mark.parametrize("family", ["saas_v2_slim", "saas_v1", "kit"])
def test_probes_of_every_signature_scheme(family: str) -> None:
    """A stale probe is correctly signed at its old timestamp; a wrong-signature probe fails verification."""
    merchant = _merchant(family="saas_v2_slim" if family == "kit" else family, signature_hex_case="lower")
    activity, params = ("tenantSync", {"instanceId": "i-1", "flag": 1}) if family == "kit" else ("newInstance", {
        "orderId": "CS1", "orderLineId": "CS1-000001"})
    request = signed_request(merchant, merchant.family, activity, params, "1")
    old = datetime.now(timezone.utc) - faults.STALE_BY
    stale, wrong = faults.stale(request, merchant, old), faults.wrong_signature(request)
    assert _verified(stale, merchant, family) and _verified(request, merchant, family)
    assert not _verified(wrong, merchant, family)
    assert stale.body == wrong.body == request.body
    assert abs(_signed_at(stale, family) - old.timestamp()) < 1
    assert abs(_signed_at(wrong, family) - time.time()) < 5


def _verified(request: SignedRequest, merchant: Merchant, family: str) -> bool:
    if family == "kit":
        h = request.headers
        return verify_kit_x_sign(merchant.kit_key or "", h["x-nonce"], h["x-timestamp"], request.body, h["x-sign"])
    query = dict(parse_qsl(urlsplit(request.url).query))
    if family == "saas_v1":
        return verify_v1_auth_token(merchant.access_key, {k: v for k, v in query.items() if k != "x"})
    return verify_basic_signature(merchant.access_key, query["nonce"], query["timestamp"], request.body,
                                  query["signature"])


def _signed_at(request: SignedRequest, family: str) -> float:
    if family == "kit":
        return int(request.headers["x-timestamp"]) / 1000
    query = dict(parse_qsl(urlsplit(request.url).query))
    if family == "saas_v1":
        return datetime.strptime(query["timeStamp"], "%Y%m%d%H%M%S%f").replace(tzinfo=timezone.utc).timestamp()
    return int(query["timestamp"]) / 1000
