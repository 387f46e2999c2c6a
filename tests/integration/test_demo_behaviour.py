"""The built-in demo merchant's ``fail_instance``: ``PUT /demo-merchant/_behaviour`` limits the failures
to the calls about one instance (its instance key or the merchant's instanceId), and ``fail_next``
counts only the calls that match; every member refuses a value of the wrong type with a 400 naming it."""

from __future__ import annotations

import json
from typing import Any

import aiohttp
import pytest

from emulator.app import EmulatorServer

from ..helpers import Api

PURCHASES = [("demo-saas-monthly", "newInstance"), ("demo-joint-monthly", "newInstance"),
             ("demo-license-yearly", "getLicense")]


async def _behaviour(emulator: EmulatorServer, method: str = "GET", body: Any = None) -> tuple[int, Any]:
    data = None if body is None else json.dumps(body).encode()
    async with aiohttp.ClientSession() as session:
        async with session.request(method, emulator.url + "/demo-merchant/_behaviour", data=data) as response:
            return response.status, await response.json(content_type=None)


async def _set(emulator: EmulatorServer, **changes: Any) -> dict[str, Any]:
    status, answer = await _behaviour(emulator, "PUT", changes)
    assert status == 200, answer
    return answer


async def _outcomes(api: Api, **filters: Any) -> list[bool]:
    """Whether each attempt of the only delivery matching ``filters`` passed, in order."""
    delivery = await api.only_delivery(**filters)
    return [attempt["verdict"] == "passed" for attempt in delivery["attempt_log"]]


@pytest.mark.parametrize(("product", "activity"), PURCHASES, ids=[p for p, _a in PURCHASES])
async def test_a_purchase_fails_only_for_the_instance_named_and_only_it_uses_the_count(
        emulator: EmulatorServer, api: Api, product: str, activity: str) -> None:
    await _set(emulator, fail_next=2, fail_activities=[activity])
    first = await api.ok("POST", "/orders", {"product": product})
    second = await api.ok("POST", "/orders", {"product": product})
    await api.settle()
    for order in (first, second):
        assert await _outcomes(api, order_id=order["order_id"], activity=activity) == [False]

    await _set(emulator, fail_next=5, fail_instance=first["instance"])
    await api.advance(hours=1)  # both purchases are retried; the second one's retry comes first or not, alike
    assert await _outcomes(api, order_id=first["order_id"], activity=activity) == [False, False]
    assert await _outcomes(api, order_id=second["order_id"], activity=activity) == [False, True]
    assert (await _behaviour(emulator))[1]["fail_next"] == 4

    await _set(emulator, fail_next=0)
    await api.advance(hours=1)
    assert await _outcomes(api, order_id=first["order_id"], activity=activity) == [False, False, True]


@pytest.mark.parametrize("name", ["instance_id", "key"])
async def test_a_call_on_an_instance_fails_when_it_names_the_instance_either_way(
        emulator: EmulatorServer, api: Api, name: str) -> None:
    first = await api.ok("POST", "/orders", {"product": "demo-saas-monthly"})
    second = await api.ok("POST", "/orders", {"product": "demo-saas-monthly"})
    await api.settle()
    target = (await api.instance(first["instance"]))[name]
    assert target and (name == "key" or target != first["instance"])  # the merchant's own id is not the key
    await _set(emulator, fail_next=3, fail_activities=["releaseInstance"], fail_instance=target)
    for order in (second, first):  # the other instance first: it must not use the count
        await api.ok("POST", f"/orders/{order['order_id']}/release")
    await api.settle()
    assert await _outcomes(api, instance=second["instance"], activity="releaseInstance") == [True]
    assert await _outcomes(api, instance=first["instance"], activity="releaseInstance") == [False]
    assert (await _behaviour(emulator))[1]["fail_next"] == 2


async def test_fail_instance_is_shown_and_a_blank_one_means_any_instance(emulator: EmulatorServer) -> None:
    status, initial = await _behaviour(emulator)
    assert status == 200 and initial["fail_instance"] is None
    assert (await _set(emulator, fail_instance=" CS1-000001 "))["fail_instance"] == "CS1-000001"
    assert (await _set(emulator, fail_next=1))["fail_instance"] == "CS1-000001"  # members not given stay
    assert (await _set(emulator, fail_instance=""))["fail_instance"] is None
    assert (await _set(emulator, fail_instance="CS1-000001"))["fail_instance"] == "CS1-000001"
    assert (await _set(emulator, fail_instance=None))["fail_instance"] is None


BAD_TYPES: list[tuple[str, Any]] = [
    ("fail_next", "2"), ("fail_next", 2.5), ("fail_next", False), ("fail_next", None), ("fail_next", [1]),
    ("failure", 500), ("failure", ["http_500"]), ("failure", "HTTP_500"),
    ("fail_activities", "newInstance"), ("fail_activities", {"newInstance": True}), ("fail_activities", [1]),
    ("fail_activities", ["newinstance"]), ("fail_activities", None),
    ("fail_instance", 7), ("fail_instance", ["CS1-000001"]), ("fail_instance", {"key": "CS1"}),
    ("fail_instance", True), ("fail_instance", "x" * 201), ("fail_instance", "CS1\u0000"),
    ("delay_s", "0.5"), ("delay_s", True), ("delay_s", None), ("delay_s", 3601),
    ("hang_s", "30"), ("hang_s", [30]), ("hang_s", -1),
    ("reject_signatures", "true"), ("reject_signatures", 1), ("reject_signatures", None),
    ("refuse_changes", "false"), ("refuse_changes", 0),
    ("not_ready_polls", "3"), ("not_ready_polls", 1.0), ("not_ready_polls", -1), ("not_ready_polls", True),
]


@pytest.mark.parametrize(("name", "value"), BAD_TYPES, ids=[f"{n}={v!r}"[:40] for n, v in BAD_TYPES])
async def test_a_member_of_the_wrong_type_is_refused_naming_it(emulator: EmulatorServer, name: str,
                                                                 value: Any) -> None:
    previous = await _set(emulator, fail_next=1, fail_instance="CS1-000001", fail_activities=["getLicense"])
    status, answer = await _behaviour(emulator, "PUT", {name: value})
    assert status == 400, answer
    assert answer["field"].split(".")[0] == name, answer
    assert answer["error"].startswith(f"invalid behaviour: {answer['field']}: "), answer
    assert (await _behaviour(emulator))[1] == previous
