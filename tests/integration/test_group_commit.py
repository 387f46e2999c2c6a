"""Purchases arriving together share one write transaction (group commit), yet each succeeds or
fails on its own; lists page with keyset cursors. Over real HTTP on loopback."""

from __future__ import annotations

import asyncio

from ..conftest import Shop


async def test_concurrent_purchases_each_get_their_own_answer(shop: Shop) -> None:
    bodies = [{"product": "monthly"} for _ in range(40)]
    bodies[7] = {"product": "no-such-product"}
    bodies[23] = {"product": "monthly", "trial": True, "period_number": 2}  # a trial takes no period
    answers = await asyncio.gather(*(shop.api.call("POST", "/orders", body) for body in bodies))
    statuses = [status for status, _data in answers]
    assert statuses.count(201) == 38
    assert answers[7][0] == 404 and answers[7][1]["error"]["field"] == "product"
    assert answers[23][0] in (400, 409) and answers[23][1]["error"]["field"] in ("trial", "period_number")
    placed = [data for status, data in answers if status == 201]
    assert len({order["order_id"] for order in placed}) == 38
    assert all(order["lines"] and order["actions"] == ["unsubscribe", "release"] for order in placed)
    await shop.api.settle()
    for order in placed:  # every placed order was written whole, with its delivery
        stored = await shop.api.ok("GET", f"/orders/{order['order_id']}")
        assert stored["instance"] == order["instance"] and stored["lines"] == order["lines"]
        assert (await shop.api.only_delivery(order_id=order["order_id"], activity="newInstance"))["status"] \
            == "succeeded"
    listed = await shop.api.ok("GET", "/orders", params={"merchant_id": shop.merchant_id, "limit": "1000"})
    assert len(listed["orders"]) == 38 and listed["next"] is None


async def test_orders_page_by_cursor_newest_first(shop: Shop) -> None:
    placed = [(await shop.api.ok("POST", "/orders", {"product": "monthly"}))["order_id"] for _ in range(7)]
    seen, cursor = [], None
    while True:
        params = {"merchant_id": shop.merchant_id, "limit": "3"} | ({"cursor": str(cursor)} if cursor else {})
        page = await shop.api.ok("GET", "/orders", params=params)
        seen += [order["order_id"] for order in page["orders"]]
        cursor = page["next"]
        if cursor is None:
            break
    assert seen == placed[::-1]
    last = await shop.api.ok("GET", "/orders", params={"merchant_id": shop.merchant_id, "limit": "7"})
    assert len(last["orders"]) == 7 and last["next"] is None  # a full last page says so
    status, error = await shop.api.call("GET", "/orders", params={"cursor": "-1"})
    assert status == 400 and error["error"]["field"] == "cursor"


async def test_instances_page_by_cursor_newest_first(shop: Shop) -> None:
    placed = []
    for minute in range(5):  # three a minute apart, then two within the same second
        placed.append((await shop.api.ok("POST", "/orders", {"product": "monthly"}))["instance"])
        if minute < 3:
            await shop.api.advance(minutes=1)
    seen, cursor = [], None
    while True:
        params = {"merchant_id": shop.merchant_id, "limit": "2"} | ({"cursor": cursor} if cursor else {})
        page = await shop.api.ok("GET", "/instances", params=params)
        seen += [instance["key"] for instance in page["instances"]]
        cursor = page["next"]
        if cursor is None:
            break
    assert seen == sorted(placed[3:], reverse=True) + placed[2::-1]  # the key breaks a tie of time
    status, error = await shop.api.call("GET", "/instances", params={"cursor": "no-such-instance"})
    assert status == 404 and error["error"]["field"] == "cursor"


async def test_deliveries_page_by_cursor_newest_first(shop: Shop) -> None:
    for _ in range(3):
        await shop.buy()
    every = (await shop.api.ok("GET", "/deliveries", params={"limit": "1000"}))["deliveries"]
    seen, cursor = [], None
    while True:
        params = {"limit": "2"} | ({"cursor": str(cursor)} if cursor else {})
        page = await shop.api.ok("GET", "/deliveries", params=params)
        seen += [delivery["id"] for delivery in page["deliveries"]]
        cursor = page["next"]
        if cursor is None:
            break
    assert seen == [delivery["id"] for delivery in every] and seen == sorted(seen, reverse=True)
