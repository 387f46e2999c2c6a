"""Full lifecycle of a monthly product on a manual clock, over real HTTP on loopback."""

from __future__ import annotations

import json
from datetime import datetime, timedelta
from urllib.parse import parse_qs, urlsplit

from emulator.protocol.signing import verify_basic_signature

from ..conftest import START, STUB_KEY, Shop
from ..helpers import parse_time


def _signed_parts(attempt: dict) -> tuple[str, str, str, bytes]:
    query = parse_qs(urlsplit(attempt["request"]["url"]).query)
    return query["nonce"][0], query["timestamp"][0], query["signature"][0], attempt["request"]["body"].encode()


async def test_new_purchase_is_signed_and_verifiable(shop: Shop) -> None:
    order = await shop.buy()
    delivery = await shop.api.only_delivery(order_id=order["order_id"], activity="newInstance")
    assert delivery["status"] == "succeeded"
    attempt = delivery["attempt_log"][0]
    body = json.loads(attempt["request"]["body"])
    assert body["activity"] == "newInstance"
    assert body["orderId"] == order["order_id"] and body["orderLineId"] == order["order_id"] + "-000001"
    assert body["testFlag"] == "0" and len(body["businessId"]) == 36
    assert list(body) == sorted(body), "top-level keys are sorted"

    nonce, timestamp, signature, raw = _signed_parts(attempt)
    assert len(nonce) == 16 and len(timestamp) == 13 and signature == signature.upper()
    assert verify_basic_signature(STUB_KEY, nonce, timestamp, raw, signature)
    tampered = raw.replace(b"newInstance", b"newInstancf")
    assert not verify_basic_signature(STUB_KEY, nonce, timestamp, tampered, signature)
    assert not verify_basic_signature("another-key", nonce, timestamp, raw, signature)

    # What the merchant received is byte for byte what was recorded, and its own check passed.
    received = shop.stub.stub.calls("newInstance")[0]
    assert received.raw_body == attempt["request"]["body"] and received.signature_ok

    instance = await shop.api.instance(order["instance"])
    assert instance["state"] == "active"
    assert instance["instance_id"] == body["businessId"]  # the stub reuses the first businessId
    assert instance["expire_at"] == "2026-02-28T10:00:00Z"  # Jan 31 + 1 month, clamped


async def test_query_instance_polling_starts_a_minute_after_purchase(shop: Shop) -> None:
    shop.stub.behaviour.not_ready_polls = 2
    order = await shop.buy()
    await shop.api.advance(minutes=30)
    poll = await shop.api.only_delivery(order_id=order["order_id"], activity="queryInstance")
    times = [parse_time(a["sent_at"]) for a in poll["attempt_log"]]
    assert times == [START + timedelta(minutes=m) for m in (1, 11, 21)]
    assert [a["passed"] for a in poll["attempt_log"]] == [False, False, True]
    assert "000004" in poll["attempt_log"][0]["verdict"]
    assert (await shop.api.instance(order["instance"]))["ready"] is True


async def test_monthly_lifecycle_renew_expire_unfreeze_release(shop: Shop) -> None:
    api = shop.api
    order = await shop.buy()
    key = order["instance"]
    instance_id = (await api.instance(key))["instance_id"]

    # Renewal before expiry: the new expiry counts from the current one.
    renewal = await api.ok("POST", f"/orders/{order['order_id']}/renew", {"period_number": 1})
    await api.settle()
    assert renewal["order_type"] == "RENEWAL"
    refresh = await api.only_delivery(order_id=renewal["order_id"], activity="refreshInstance")
    body = json.loads(refresh["attempt_log"][0]["request"]["body"])
    assert body == {
        "activity": "refreshInstance", "expireTime": "20260328100000", "instanceId": instance_id,
        "orderId": renewal["order_id"], "orderLineId": renewal["order_id"] + "-000001",
        "scene": "RENEWAL", "testFlag": "0",
    }
    assert refresh["status"] == "succeeded"
    assert (await api.ok("GET", f"/orders/{renewal['order_id']}"))["status"] == "delivered"

    # Expiry freezes the instance and sends updateInstanceStatus FREEZE at the expiry instant.
    await api.ok("POST", "/clock/advance", {"to": "2026-03-28T10:00:00Z"})
    freeze = await api.only_delivery(instance=key, activity="updateInstanceStatus")
    assert json.loads(freeze["attempt_log"][0]["request"]["body"])["status"] == "FREEZE"
    assert freeze["attempt_log"][0]["sent_at"] == "2026-03-28T10:00:00Z"
    state = await api.instance(key)
    assert (state["state"], state["frozen_reason"], state["phase"]) == ("frozen", "expired", "grace")

    # Renewal during grace counts from the lapsed expiry, then UNFREEZE follows.
    await api.advance(days=3)
    late = await api.ok("POST", f"/orders/{order['order_id']}/renew", {"period_number": 1})
    await api.settle()
    late_refresh = await api.only_delivery(order_id=late["order_id"], activity="refreshInstance")
    assert json.loads(late_refresh["attempt_log"][0]["request"]["body"])["expireTime"] == "20260428100000"
    statuses = [json.loads(d["params"] and json.dumps(d["params"]))["status"]
                for d in await api.deliveries(instance=key, activity="updateInstanceStatus")]
    assert statuses == ["FREEZE", "UNFREEZE"]
    unfreeze = (await api.deliveries(instance=key, activity="updateInstanceStatus"))[-1]
    assert unfreeze["status"] == "succeeded"
    assert (await api.instance(key))["state"] == "active"

    # Let it lapse again and run out grace (15 d) and retention (15 d): releaseInstance, no orderId.
    await api.ok("POST", "/clock/advance", {"to": "2026-05-28T10:00:01Z"})
    release = await api.only_delivery(instance=key, activity="releaseInstance")
    assert json.loads(release["attempt_log"][0]["request"]["body"]) == {
        "activity": "releaseInstance", "instanceId": instance_id, "testFlag": "0",
    }
    assert release["attempt_log"][0]["sent_at"] == "2026-05-28T10:00:00Z"
    assert (await api.instance(key))["state"] == "released"
    assert shop.stub.stub.instances[instance_id]["status"] == "RELEASED"

    # A released instance cannot be renewed.
    status, error = await api.call("POST", f"/orders/{order['order_id']}/renew", {})
    assert status == 409 and "released" in error["error"]["message"]


async def test_upgrade_keeps_instance_and_expiry(shop: Shop) -> None:
    order = await shop.buy()
    before = await shop.api.instance(order["instance"])
    change = await shop.api.ok("POST", f"/orders/{order['order_id']}/upgrade", {"product": "pro-monthly"})
    await shop.api.settle()
    assert change["order_type"] == "CHANGE"
    upgrade = await shop.api.only_delivery(order_id=change["order_id"], activity="upgradeInstance")
    assert upgrade["status"] == "succeeded"
    body = json.loads(upgrade["attempt_log"][0]["request"]["body"])
    assert body["instanceId"] == before["instance_id"] and body["orderId"] == change["order_id"]
    after = await shop.api.instance(order["instance"])
    assert after["expire_at"] == before["expire_at"] and after["instance_id"] == before["instance_id"]


async def test_renewal_with_spec_change_asks_merchant_first(shop: Shop) -> None:
    order = await shop.buy()
    shop.stub.behaviour.refuse_changes = True
    status, error = await shop.api.call("POST", f"/orders/{order['order_id']}/renew",
                                        {"period_number": 1, "linear_value": 50})
    assert status == 409 and "refused the change" in error["error"]["message"]
    check = await shop.api.only_delivery(instance=order["instance"], activity="changeInstanceCheck")
    body = json.loads(check["attempt_log"][0]["request"]["body"])
    assert "testFlag" not in body and body["productInfo"]["linearValue"] == 50
    assert await shop.api.deliveries(instance=order["instance"], activity="refreshInstance") == []

    shop.stub.behaviour.refuse_changes = False
    renewal = await shop.api.ok("POST", f"/orders/{order['order_id']}/renew", {"linear_value": 50})
    assert renewal["lines"][0]["linear_value"] == 50


async def test_unsubscribing_a_renewal_period_rolls_expiry_back(shop: Shop) -> None:
    order = await shop.buy()
    renewal = await shop.api.ok("POST", f"/orders/{order['order_id']}/renew", {"period_number": 2})
    await shop.api.settle()
    assert (await shop.api.instance(order["instance"]))["expire_at"] == "2026-04-28T10:00:00Z"
    await shop.api.ok("POST", f"/orders/{renewal['order_id']}/unsubscribe")
    await shop.api.settle()
    refreshes = await shop.api.deliveries(instance=order["instance"], activity="refreshInstance")
    assert [d["params"]["scene"] for d in refreshes] == ["RENEWAL", "UNSUBSCRIBE_RENEWAL_PERIOD"]
    assert refreshes[-1]["params"]["orderId"] == renewal["order_id"]
    assert refreshes[-1]["params"]["expireTime"] == "20260228100000"
    assert (await shop.api.instance(order["instance"]))["expire_at"] == "2026-02-28T10:00:00Z"


async def test_unsubscription_releases_at_once_with_its_own_order(shop: Shop) -> None:
    order = await shop.buy()
    unsubscription = await shop.api.ok("POST", f"/orders/{order['order_id']}/unsubscribe")
    await shop.api.settle()
    assert unsubscription["order_type"] == "UNSUBSCRIBE"
    release = await shop.api.only_delivery(instance=order["instance"], activity="releaseInstance")
    assert release["params"]["orderId"] == unsubscription["order_id"]
    assert release["params"]["orderLineId"] == unsubscription["order_id"] + "-000001"
    assert (await shop.api.ok("GET", f"/orders/{order['order_id']}"))["status"] == "unsubscribed"


async def test_trial_then_formal_order(shop: Shop) -> None:
    trial = await shop.buy(trial=True)
    assert trial["order_type"] == "TRIAL"
    assert (await shop.api.instance(trial["instance"]))["expire_at"] == "2026-02-07T10:00:00Z"
    await shop.api.advance(days=2)
    formal = await shop.api.ok("POST", f"/orders/{trial['order_id']}/convert", {"period_number": 1})
    await shop.api.settle()
    refresh = await shop.api.only_delivery(order_id=formal["order_id"], activity="refreshInstance")
    assert refresh["params"]["scene"] == "TRIAL_TO_FORMAL"
    assert refresh["params"]["expireTime"] == "20260302100000"  # Feb 2 + 1 month
    instance = await shop.api.instance(trial["instance"])
    assert instance["trial"] is False and instance["state"] == "active"


async def test_manual_freeze_and_unfreeze_supersede_each_other(shop: Shop) -> None:
    order = await shop.buy()
    shop.stub.behaviour.fail_next, shop.stub.behaviour.fail_activities = 100, ["updateInstanceStatus"]
    await shop.api.ok("POST", f"/orders/{order['order_id']}/freeze")
    await shop.api.settle()
    await shop.api.ok("POST", f"/orders/{order['order_id']}/unfreeze")
    await shop.api.settle()
    freeze, unfreeze = await shop.api.deliveries(instance=order["instance"], activity="updateInstanceStatus")
    assert freeze["status"] == "cancelled" and "UNFREEZE" in freeze["note"]
    assert unfreeze["status"] == "scheduled" and unfreeze["params"]["status"] == "UNFREEZE"


async def test_one_time_product_has_no_expiry_and_cannot_be_upgraded(shop: Shop) -> None:
    order = await shop.buy("onetime")
    instance = await shop.api.instance(order["instance"])
    assert instance["expire_at"] is None and instance["state"] == "active"
    status, error = await shop.api.call("POST", f"/orders/{order['order_id']}/upgrade", {"product": "monthly"})
    assert status == 400 and error["error"]["field"] == "charging_mode"
    status, error = await shop.api.call("POST", f"/orders/{order['order_id']}/renew", {})
    assert status == 400 and "ONE_TIME" in error["error"]["message"]
    await shop.api.advance(days=400)
    assert (await shop.api.instance(order["instance"]))["state"] == "active"


async def test_demo_merchant_serves_a_full_purchase_out_of_the_box(api) -> None:  # type: ignore[no-untyped-def]
    order = await api.ok("POST", "/orders", {"product": "demo-saas-monthly"})
    await api.advance(minutes=2)
    deliveries = await api.deliveries(order_id=order["order_id"])
    assert [(d["activity"], d["status"]) for d in deliveries] == [
        ("newInstance", "succeeded"), ("queryInstance", "succeeded"),
    ]
    status, page = await api.page("/")  # the console's dashboard lists the order
    assert status == 200 and order["order_id"] in page
    assert datetime.fromisoformat((await api.ok("GET", "/clock"))["now"].rstrip("Z")) == START + timedelta(minutes=2)


async def test_orders_list_the_actions_their_state_allows(shop: Shop) -> None:
    shop.stub.behaviour.fail_next = 1
    order = await shop.buy()
    pending = await shop.api.ok("GET", f"/orders/{order['order_id']}")
    assert pending["actions"] == ["unsubscribe", "release"]  # nothing else before an instanceId exists
    await shop.api.advance(hours=1)
    active = await shop.api.ok("GET", f"/orders/{order['order_id']}")
    assert active["actions"] == ["renew", "upgrade", "unsubscribe", "freeze", "release", "query"]
    renewal = await shop.api.ok("POST", f"/orders/{order['order_id']}/renew", {})
    assert renewal["actions"] == ["unsubscribe"]
    await shop.api.ok("POST", f"/orders/{order['order_id']}/freeze")
    frozen = await shop.api.ok("GET", f"/orders/{order['order_id']}")
    assert frozen["actions"] == ["renew", "unsubscribe", "unfreeze", "release", "query"]
    await shop.api.ok("POST", f"/orders/{order['order_id']}/release")
    assert (await shop.api.ok("GET", f"/orders/{order['order_id']}"))["actions"] == []
    assert (await shop.api.ok("GET", f"/orders/{renewal['order_id']}"))["actions"] == []


async def test_renewal_in_grace_cancels_the_unfinished_freeze(shop: Shop) -> None:
    order = await shop.buy()
    shop.stub.behaviour.fail_next, shop.stub.behaviour.fail_activities = 1000, ["updateInstanceStatus"]
    await shop.api.ok("POST", "/clock/advance", {"to": "2026-02-28T10:05:00Z"})  # FREEZE failing since 10:00
    await shop.api.ok("POST", f"/orders/{order['order_id']}/renew", {})
    shop.stub.behaviour.fail_next = 0
    await shop.api.advance(minutes=10)
    freeze, unfreeze = await shop.api.deliveries(instance=order["instance"], activity="updateInstanceStatus")
    assert freeze["params"]["status"] == "FREEZE" and freeze["status"] == "cancelled"
    assert unfreeze["params"]["status"] == "UNFREEZE" and unfreeze["status"] == "succeeded"
    statuses = [c.body["status"] for c in shop.stub.stub.calls("updateInstanceStatus") if c.reply_status == 200
                and '"000000"' in c.reply]
    assert statuses == ["UNFREEZE"]  # no FREEZE lands after the UNFREEZE


async def test_a_released_instances_purchase_cannot_be_restarted(api, merchant_stub) -> None:  # type: ignore[no-untyped-def]
    shop = await Shop.create(api, merchant_stub, purchase_on_exhaust="hold")
    merchant_stub.behaviour.fail_next = 4
    order = await shop.buy()
    await api.advance(hours=4)
    await api.ok("POST", f"/orders/{order['order_id']}/unsubscribe")
    delivery = (await api.deliveries(order_id=order["order_id"], activity="newInstance"))[0]
    status, error = await api.call("POST", f"/deliveries/{delivery['id']}/restart")
    assert status == 409 and "released" in error["error"]["message"]


async def test_a_failed_resend_keeps_a_succeeded_delivery_succeeded(shop: Shop) -> None:
    order = await shop.buy()
    delivery = await shop.api.only_delivery(order_id=order["order_id"], activity="newInstance")
    shop.stub.behaviour.fail_next = 1
    await shop.api.ok("POST", f"/deliveries/{delivery['id']}/restart")
    await shop.api.settle()
    after = await shop.api.delivery(delivery["id"])
    assert after["status"] == "succeeded" and "resend failed" in after["note"]
    assert after["attempt_log"][-1]["passed"] is False


async def test_a_purchase_acknowledged_after_its_unsubscription_is_released(shop: Shop) -> None:
    import asyncio

    shop.stub.behaviour.delay_s = 1.0
    order = await shop.api.ok("POST", "/orders", {"product": "monthly"})
    for _ in range(200):  # poll until the attempt is recorded (it is written before the request leaves)
        found = await shop.api.deliveries(order_id=order["order_id"], activity="newInstance")
        if found and found[0]["attempts"] == 1:
            break
        await asyncio.sleep(0.01)
    await shop.api.ok("POST", f"/orders/{order['order_id']}/unsubscribe")  # while newInstance is out
    shop.stub.behaviour.delay_s = 0
    await shop.api.settle()  # returns once the in-flight attempt is recorded and what it caused has run
    purchase = await shop.api.only_delivery(order_id=order["order_id"], activity="newInstance")
    assert purchase["status"] == "cancelled" and "releaseInstance follows" in purchase["note"]
    release = await shop.api.only_delivery(instance=order["instance"], activity="releaseInstance")
    assert release["status"] == "succeeded"
    assert release["params"]["instanceId"] == (await shop.api.instance(order["instance"]))["instance_id"]
