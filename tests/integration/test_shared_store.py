"""Replicas sharing one store (PostgreSQL, and a SQLite file shared by two processes): every call
is sent once per attempt slot, a killed replica's claims are taken over, dial-test slots run once,
the clock is one, and a slow merchant never holds up a fast one."""

from __future__ import annotations

import asyncio
import time
from collections import Counter
from pathlib import Path
from typing import AsyncIterator

import pytest

from ..conftest import STUB_KEY, RunningStub
from ..helpers import Api
from ..processes import EmulatorProcess, serve



class Replica(EmulatorProcess):
    """One emulator process of a deployment whose replicas share a store."""

    async def start(self) -> "Replica":  # type: ignore[override]
        await super().start()
        return self


@pytest.fixture(params=["sqlite-file", "postgres"])
def store_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "postgres":
        return request.getfixturevalue("postgres_server").new_database()
    return str(tmp_path / "store.db")


@pytest.fixture
async def replicas(store_url: str) -> AsyncIterator[list[Replica]]:
    started: list[Replica] = []
    yield started
    for replica in started:
        await replica.stop()


async def _start(replicas: list[Replica], store_url: str, **env: str) -> Replica:
    replica = await Replica(store_url, **env).start()
    replicas.append(replica)
    return replica


async def _acme(api: Api, stub: RunningStub) -> None:
    await api.ok("POST", "/merchants", {"id": "acme", "name": "Acme", "production_url": stub.url,
                                        "access_key": STUB_KEY})
    await api.ok("POST", "/products", {"code": "monthly", "merchant_id": "acme", "name": "Monthly",
                                       "charging_mode": "PERIOD", "period_type": "month"})


async def _until(check, timeout: float = 30.0) -> None:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout
    while not await check():
        assert time.monotonic() < deadline, "timed out"
        await asyncio.sleep(0.1)


async def test_two_replicas_send_each_call_once(replicas: list[Replica], store_url: str,
                                               merchant_stub: RunningStub) -> None:
    one = await _start(replicas, store_url)
    two = await _start(replicas, store_url)
    async with Api(one.url) as a, Api(two.url) as b:
        await _acme(a, merchant_stub)
        orders = await asyncio.gather(*(
            (a if n % 2 else b).ok("POST", "/orders", {"product": "monthly"}) for n in range(60)))

        async def all_delivered() -> bool:
            found = await a.ok("GET", "/deliveries", params={"activity": "newInstance", "limit": "1000"})
            return sum(d["status"] == "succeeded" for d in found["deliveries"]) == len(orders)

        await _until(all_delivered)
        await a.ok("POST", "/clock/advance", {"minutes": 1})  # the readiness polls fall due
        await b.ok("POST", "/clock/advance", {})  # both replicas now work at that instant

        async def all_polled() -> bool:
            found = await b.ok("GET", "/deliveries", params={"activity": "queryInstance", "limit": "1000"})
            return sum(d["status"] == "succeeded" for d in found["deliveries"]) == len(orders)

        await _until(all_polled)
        deliveries = (await a.ok("GET", "/deliveries", params={"limit": "1000"}))["deliveries"]
    received = Counter((call.activity, call.body.get("orderLineId") or call.body.get("instanceId"))
                       for call in merchant_stub.stub.received)
    assert len(received) == 2 * len(orders)
    assert set(received.values()) == {1}, [k for k, n in received.items() if n > 1]
    assert {d["attempts"] for d in deliveries} == {1}


async def test_the_clock_is_one_for_every_replica(replicas: list[Replica], store_url: str) -> None:
    one = await _start(replicas, store_url)
    two = await _start(replicas, store_url)
    async with Api(one.url) as a, Api(two.url) as b:
        moved = (await a.ok("POST", "/clock/advance", {"days": 3}))["now"]

        async def agreed() -> bool:
            return (await b.ok("GET", "/clock"))["now"] == moved

        started = time.monotonic()
        await _until(agreed, timeout=5)
        assert time.monotonic() - started < 2.5
        await b.ok("PUT", "/clock", {"mode": "scaled", "speed": 60})

        async def mode_agreed() -> bool:
            return (await a.ok("GET", "/clock"))["mode"] == "scaled"

        await _until(mode_agreed, timeout=5)


async def test_a_killed_replicas_claims_are_taken_over(replicas: list[Replica], store_url: str,
                                                       merchant_stub: RunningStub) -> None:
    one = await _start(replicas, store_url, KOOGALLERY_CALLBACK_TIMEOUT="4")
    two = await _start(replicas, store_url, KOOGALLERY_CALLBACK_TIMEOUT="4")
    merchant_stub.behaviour.delay_s = 2.0
    async with Api(one.url) as a, Api(two.url) as b:
        await _acme(a, merchant_stub)
        order = await a.ok("POST", "/orders", {"product": "monthly"})

        async def claimed() -> bool:
            found = (await b.ok("GET", "/deliveries", params={"order_id": order["order_id"]}))["deliveries"]
            return bool(found) and found[0]["claim"] is not None

        await _until(claimed, timeout=10)
        delivery = (await b.ok("GET", "/deliveries", params={"order_id": order["order_id"]}))["deliveries"][0]
        holder = one if delivery["claim"]["by"].split("/")[1] == str(one.pid) else two
        survivor = b if holder is one else a
        merchant_stub.behaviour.delay_s = 0.0
        await holder.kill()

        async def taken_over() -> bool:
            found = await survivor.ok("GET", f"/deliveries/{delivery['id']}")
            return found["status"] == "succeeded"

        await _until(taken_over, timeout=20)
        log = (await survivor.ok("GET", f"/deliveries/{delivery['id']}"))["attempt_log"]
    assert [entry["state"] for entry in log] == ["interrupted", "done"]
    assert log[-1]["passed"] is True


async def test_each_dial_test_slot_runs_once_across_replicas(replicas: list[Replica], store_url: str) -> None:
    one = await _start(replicas, store_url)
    two = await _start(replicas, store_url)
    async with Api(one.url) as a, Api(two.url) as b:
        for case in ("create", "query", "update", "status", "release"):
            await a.ok("POST", "/products/demo-saas-daily/debug-cases", {"case": case})
        await asyncio.gather(a.ok("POST", "/clock/advance", {"to": "2026-02-01T02:00:00Z"}),
                             b.ok("POST", "/clock/advance", {"to": "2026-02-01T02:00:00Z"}))
        product_id = (await a.ok("GET", "/products/demo-saas-daily"))["id"]
        runs = (await b.ok("GET", "/dial-tests/runs", params={"product_id": product_id}))["runs"]
    scheduled = [r["slot_at"] for r in runs if r["trigger"] == "schedule"]
    assert scheduled == ["2026-02-01T01:00:00Z"]


async def test_a_slow_merchant_does_not_hold_up_a_fast_one(api: Api, merchant_stub: RunningStub) -> None:
    """Real clock: 40 orders of a merchant that answers after 3 s, then orders of a fast one."""
    from emulator.testing.merchant_stub import MerchantStub

    slow = MerchantStub("slow-key")
    slow.behaviour.delay_s = 3.0
    runner, base = await serve(slow.app())
    slow_url = base + "/produce"
    try:
        await api.ok("PUT", "/clock", {"mode": "real"})
        await api.ok("POST", "/merchants", {"id": "slow", "name": "Slow", "production_url": slow_url,
                                            "access_key": "slow-key"})
        await api.ok("POST", "/products", {"code": "slow-monthly", "merchant_id": "slow", "name": "Slow",
                                           "charging_mode": "PERIOD", "period_type": "month"})
        await _acme(api, merchant_stub)
        await asyncio.gather(*(api.ok("POST", "/orders", {"product": "slow-monthly"}) for _ in range(40)))
        await asyncio.sleep(0.2)  # the slow merchant's calls are out and waiting
        lags = []
        for _ in range(10):
            before = sum(call.activity == "newInstance" for call in merchant_stub.stub.received)
            await api.ok("POST", "/orders", {"product": "monthly"})
            placed = time.perf_counter()
            while sum(call.activity == "newInstance" for call in merchant_stub.stub.received) == before:
                assert time.perf_counter() - placed < 5, "the fast merchant's call never left"
                await asyncio.sleep(0.001)
            lags.append(time.perf_counter() - placed)
    finally:
        await runner.cleanup()
    lags.sort()
    assert lags[len(lags) // 2] < 0.05, lags
    assert lags[-1] < 0.5, lags


async def test_a_reply_after_5_05_seconds_fails_with_t2(shop) -> None:  # type: ignore[no-untyped-def]
    shop.stub.behaviour.fail_next, shop.stub.behaviour.failure = 1, "timeout"
    shop.stub.behaviour.hang_s = 5.05
    order = await shop.buy()
    delivery = await shop.api.only_delivery(order_id=order["order_id"], activity="newInstance")
    first = delivery["attempt_log"][0]
    assert first["passed"] is False and "T2" in first["verdict"], first
    assert 5000 <= first["elapsed_ms"] < 5050, first["elapsed_ms"]


async def test_live_updates_follow_other_replicas(replicas: list[Replica], store_url: str) -> None:
    import aiohttp

    one = await _start(replicas, store_url)
    two = await _start(replicas, store_url)
    async with aiohttp.ClientSession() as session, Api(one.url) as a:
        async with session.get(two.url + "/events", timeout=aiohttp.ClientTimeout(total=15)) as stream:
            assert (await stream.content.readline()).startswith(b"data:")  # hello
            await asyncio.sleep(1.2)  # the replica has taken its first look at the store
            await a.ok("POST", "/orders", {"product": "demo-saas-monthly"})
            kinds = set()
            deadline = time.monotonic() + 5
            while "order" not in kinds and time.monotonic() < deadline:
                line = await asyncio.wait_for(stream.content.readline(), timeout=5)
                if line.startswith(b"data:"):
                    kinds.add(line.decode().split('"kind": "', 1)[1].split('"', 1)[0])
    assert "order" in kinds


async def test_advance_is_not_held_up_by_orders_arriving_meanwhile(api: Api) -> None:
    """20 clients place orders without pause (in this very process, so they also compete for its
    CPU); advancing the clock by a second still returns within seconds, because a walk takes only
    the work that existed when its instant began (it used to run as long as the traffic lasted)."""
    stop = asyncio.Event()

    async def client() -> int:
        placed = 0
        while not stop.is_set():
            await api.ok("POST", "/orders", {"product": "demo-saas-monthly"})
            placed += 1
        return placed

    clients = [asyncio.create_task(client()) for _ in range(20)]
    try:
        await asyncio.sleep(0.5)
        durations = []
        for _ in range(3):
            started = time.monotonic()
            await api.ok("POST", "/clock/advance", {"seconds": 1})
            durations.append(time.monotonic() - started)
    finally:
        stop.set()
        placed = sum(await asyncio.gather(*clients))
    assert placed > 20
    assert max(durations) < 8.0, durations


async def test_replicas_starting_together_on_an_empty_store(replicas: list[Replica], store_url: str) -> None:
    """Migrations take turns and one of them seeds the demo catalogue; both serve it."""
    started = await asyncio.gather(*(Replica(store_url).start() for _ in range(3)))
    replicas.extend(started)
    for replica in started:
        async with Api(replica.url) as api:
            merchants = (await api.ok("GET", "/merchants"))["merchants"]
            assert [m["id"] for m in merchants] == ["demo", "demo-joint", "demo-license"]
            assert len((await api.ok("GET", "/products"))["products"]) == 9
