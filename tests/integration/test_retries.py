"""Retry schedules of PROTOCOL §9, the manual restart, timeouts and idempotency checks."""

from __future__ import annotations

import asyncio
import json
from datetime import timedelta

import pytest

from ..conftest import START, RunningStub, Shop
from ..helpers import Api, parse_time


def _sent_times(delivery: dict) -> list:
    return [parse_time(a["sent_at"]) for a in delivery["attempt_log"]]


async def test_purchase_is_retried_hourly_for_three_hours_then_the_order_fails(shop: Shop) -> None:
    shop.stub.behaviour.fail_next = 1000
    order = await shop.buy()
    await shop.api.advance(hours=3)
    delivery = await shop.api.only_delivery(order_id=order["order_id"], activity="newInstance")
    assert _sent_times(delivery) == [START + timedelta(hours=h) for h in (0, 1, 2, 3)]
    assert [parse_time(a["due_at"]) for a in delivery["attempt_log"]] == _sent_times(delivery)
    assert delivery["status"] == "exhausted"
    assert all(a["verdict"].startswith("HTTP status 500") for a in delivery["attempt_log"])
    business_ids = {a["business_id"] for a in delivery["attempt_log"]}
    assert len(business_ids) == 4, "a new businessId on every attempt"
    assert "unsubscribed automatically" in delivery["note"]
    assert (await shop.api.ok("GET", f"/orders/{order['order_id']}"))["status"] == "failed"
    assert (await shop.api.instance(order["instance"]))["state"] == "failed"

    await shop.api.advance(hours=5)
    assert len((await shop.api.delivery(delivery["id"]))["attempt_log"]) == 4
    status, error = await shop.api.call("POST", f"/deliveries/{delivery['id']}/restart")
    assert status == 409 and "purchase_on_exhaust" in error["error"]["message"]


async def test_advancing_partway_fires_only_the_attempts_due(shop: Shop) -> None:
    shop.stub.behaviour.fail_next = 1000
    order = await shop.buy()
    await shop.api.advance(minutes=90)
    delivery = await shop.api.only_delivery(order_id=order["order_id"], activity="newInstance")
    assert _sent_times(delivery) == [START, START + timedelta(hours=1)]
    assert delivery["next_attempt_at"] == "2026-01-31T12:00:00Z" and delivery["status"] == "scheduled"


async def test_expiry_freeze_is_sent_every_minute_for_an_hour(shop: Shop) -> None:
    order = await shop.buy()
    shop.stub.behaviour.fail_next, shop.stub.behaviour.fail_activities = 1000, ["updateInstanceStatus"]
    await shop.api.ok("POST", "/clock/advance", {"to": "2026-02-28T12:00:00Z"})
    delivery = await shop.api.only_delivery(instance=order["instance"], activity="updateInstanceStatus")
    expiry = START.replace(month=2, day=28)
    assert _sent_times(delivery) == [expiry + timedelta(minutes=m) for m in range(60)]
    assert delivery["status"] == "exhausted"
    # The platform state moves on regardless of the merchant.
    assert (await shop.api.instance(order["instance"]))["state"] == "frozen"


async def test_release_is_sent_once(shop: Shop) -> None:
    order = await shop.buy()
    shop.stub.behaviour.fail_next, shop.stub.behaviour.fail_activities = 1000, ["releaseInstance"]
    await shop.api.ok("POST", f"/orders/{order['order_id']}/release")
    await shop.api.advance(days=2)
    delivery = await shop.api.only_delivery(instance=order["instance"], activity="releaseInstance")
    assert len(delivery["attempt_log"]) == 1 and delivery["status"] == "exhausted"
    assert (await shop.api.instance(order["instance"]))["state"] == "released"


async def test_an_unsubscription_whose_release_fails_is_marked_undelivered(shop: Shop) -> None:
    order = await shop.buy()
    shop.stub.behaviour.fail_next, shop.stub.behaviour.fail_activities = 1, ["releaseInstance"]
    unsubscription = await shop.api.ok("POST", f"/orders/{order['order_id']}/unsubscribe")
    await shop.api.settle()
    assert (await shop.api.ok("GET", f"/orders/{unsubscription['order_id']}"))["status"] == "undelivered"
    assert (await shop.api.instance(order["instance"]))["state"] == "released"


async def test_merchant_retry_override_changes_the_schedule(api: Api, merchant_stub: RunningStub) -> None:
    shop = await Shop.create(api, merchant_stub, retry_overrides={"purchase": {"attempts": 3, "interval_s": 600}})
    merchant_stub.behaviour.fail_next = 1000
    order = await shop.buy()
    await api.advance(hours=3)
    delivery = await api.only_delivery(order_id=order["order_id"], activity="newInstance")
    assert _sent_times(delivery) == [START + timedelta(minutes=m) for m in (0, 10, 20)]


async def test_manual_restart_of_an_exhausted_purchase_on_hold(api: Api, merchant_stub: RunningStub) -> None:
    shop = await Shop.create(api, merchant_stub, purchase_on_exhaust="hold")
    merchant_stub.behaviour.fail_next = 4
    order = await shop.buy()
    await api.advance(hours=4)
    delivery = await api.only_delivery(order_id=order["order_id"], activity="newInstance")
    assert delivery["status"] == "exhausted"
    assert (await api.instance(order["instance"]))["state"] == "pending"

    await api.ok("POST", f"/deliveries/{delivery['id']}/restart")
    await api.settle()
    restarted = await api.delivery(delivery["id"])
    assert restarted["status"] == "succeeded"
    last = restarted["attempt_log"][-1]
    assert last["manual"] is True and last["passed"] is True
    assert parse_time(last["sent_at"]) == START + timedelta(hours=4)
    assert last["business_id"] not in {a["business_id"] for a in restarted["attempt_log"][:-1]}
    instance = await api.instance(order["instance"])
    assert instance["state"] == "active" and instance["instance_id"] == last["business_id"]


async def test_restart_during_the_retry_window_adds_one_attempt(shop: Shop) -> None:
    shop.stub.behaviour.fail_next = 1000
    order = await shop.buy()
    delivery = await shop.api.only_delivery(order_id=order["order_id"], activity="newInstance")
    await shop.api.advance(minutes=10)
    await shop.api.ok("POST", f"/deliveries/{delivery['id']}/restart")
    await shop.api.advance(hours=3)
    log = (await shop.api.delivery(delivery["id"]))["attempt_log"]
    assert [a["manual"] for a in log] == [False, True, False, False, False]
    assert [parse_time(a["sent_at"]) - START for a in log] == [
        timedelta(0), timedelta(minutes=10), timedelta(hours=1), timedelta(hours=2), timedelta(hours=3)]


async def test_resend_with_a_different_instance_id_is_an_idempotency_violation(shop: Shop) -> None:
    order = await shop.buy()
    delivery = await shop.api.only_delivery(order_id=order["order_id"], activity="newInstance")
    first_id = (await shop.api.instance(order["instance"]))["instance_id"]
    shop.stub.stub.reset()  # the merchant forgets the order and hands out a new id
    await shop.api.ok("POST", f"/deliveries/{delivery['id']}/restart")
    await shop.api.settle()
    resend = (await shop.api.delivery(delivery["id"]))["attempt_log"][-1]
    assert resend["passed"] is False
    assert resend["verdict"].startswith(f"idempotency violated: expected {first_id}")
    assert "§4 R1" in resend["verdict"]
    assert (await shop.api.instance(order["instance"]))["instance_id"] == first_id


@pytest.mark.parametrize(
    ("failure", "verdict_start"),
    [
        ("bad_json", "Debugging failed. Parse response body failed: the body is not JSON"),
        ("result_code", "Call interface failed. The production interface returns an error result code: "
                        "resultCode '000005'"),
        ("no_instance_id", "Debugging failed. The interface response does not contain instanceId"),
        ("http_500", "HTTP status 500"),
    ],
)
async def test_each_failure_gets_a_readable_verdict(shop: Shop, failure: str, verdict_start: str) -> None:
    shop.stub.behaviour.fail_next, shop.stub.behaviour.failure = 1, failure
    order = await shop.buy()
    attempt = (await shop.api.only_delivery(order_id=order["order_id"], activity="newInstance"))["attempt_log"][0]
    assert attempt["verdict"].startswith(verdict_start), attempt["verdict"]
    assert "PROTOCOL §" in attempt["verdict"]


async def test_merchant_rejecting_the_signature_is_reported(shop: Shop) -> None:
    shop.stub.behaviour.reject_signatures = True
    order = await shop.buy()
    attempt = (await shop.api.only_delivery(order_id=order["order_id"], activity="newInstance"))["attempt_log"][0]
    assert "'000001' (authentication failed" in attempt["verdict"]


async def test_an_unreachable_merchant_is_a_connection_error(api: Api, merchant_stub: RunningStub) -> None:
    await api.ok("POST", "/merchants", {"id": "gone", "name": "Gone", "production_url": "http://127.0.0.1:9/x",
                                        "access_key": "k"})
    await api.ok("POST", "/products", {"code": "gone-1", "merchant_id": "gone", "name": "G",
                                       "charging_mode": "ONE_TIME"})
    order = await api.ok("POST", "/orders", {"product": "gone-1"})
    await api.settle()
    attempt = (await api.only_delivery(order_id=order["order_id"]))["attempt_log"][0]
    assert attempt["verdict"].startswith("connection error:") and attempt["response"] is None


async def test_a_reply_after_five_seconds_is_a_timeout(shop: Shop) -> None:
    shop.stub.behaviour.fail_next, shop.stub.behaviour.failure, shop.stub.behaviour.hang_s = 1, "timeout", 8
    order = await shop.buy()
    delivery = await shop.api.only_delivery(order_id=order["order_id"], activity="newInstance")
    attempt = delivery["attempt_log"][0]
    assert attempt["verdict"].startswith("timeout after 5 s")
    assert 4900 <= attempt["elapsed_ms"] < 7000
    assert delivery["status"] == "scheduled" and delivery["next_attempt_at"] == "2026-01-31T11:00:00Z"
    await shop.api.advance(hours=1)
    assert (await shop.api.delivery(delivery["id"]))["status"] == "succeeded"
    assert json.loads((await shop.api.delivery(delivery["id"]))["attempt_log"][1]["response"]["body"])["instanceId"]


async def test_a_scaled_clock_fires_retries_by_itself(shop: Shop) -> None:
    """In scaled mode nothing needs advancing: at 36000x an hour passes in 0.1 s of real time."""
    shop.stub.behaviour.fail_next = 2
    order = await shop.buy()
    await shop.api.ok("PUT", "/clock", {"mode": "scaled", "speed": 36000})
    deadline = asyncio.get_running_loop().time() + 10
    while asyncio.get_running_loop().time() < deadline:
        delivery = await shop.api.only_delivery(order_id=order["order_id"], activity="newInstance")
        if delivery["status"] == "succeeded":
            break
        await asyncio.sleep(0.05)
    assert delivery["status"] == "succeeded", delivery
    offsets = [parse_time(a["due_at"]) - START for a in delivery["attempt_log"]]
    assert offsets == [timedelta(0), timedelta(hours=1), timedelta(hours=2)]
    await shop.api.ok("PUT", "/clock", {"mode": "manual"})
