"""A real emulator process killed with SIGKILL resumes its schedules from the SQLite store."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import AsyncIterator

import pytest

from ..conftest import STUB_KEY, RunningStub
from ..helpers import Api, parse_time
from ..processes import EmulatorProcess



@pytest.fixture
async def process(tmp_path: Path) -> AsyncIterator[EmulatorProcess]:
    emulator = EmulatorProcess(tmp_path / "store.db")
    yield emulator
    await emulator.stop()


async def _setup(api: Api, stub: RunningStub) -> None:
    await api.ok("POST", "/merchants", {"id": "acme", "name": "Acme", "production_url": stub.url,
                                        "access_key": STUB_KEY})
    await api.ok("POST", "/products", {"code": "monthly", "merchant_id": "acme", "name": "Monthly",
                                       "charging_mode": "PERIOD", "period_type": "month"})


async def test_sigkill_mid_schedule_resumes_retries(process: EmulatorProcess, merchant_stub: RunningStub) -> None:
    merchant_stub.behaviour.fail_next = 2
    async with Api(await process.start()) as api:
        await _setup(api, merchant_stub)
        ok_order = await api.ok("POST", "/orders", {"product": "monthly", "period_number": 1})
        await api.settle()  # this one fails once (fail_next 2 -> 1)
        order = await api.ok("POST", "/orders", {"product": "monthly"})
        await api.settle()  # fails (1 -> 0)
        await api.advance(hours=1)  # both retried at T+1h and succeed now
        merchant_stub.behaviour.fail_next = 1000
        third = await api.ok("POST", "/orders", {"product": "monthly"})
        await api.advance(minutes=30)
        before = await api.only_delivery(order_id=third["order_id"], activity="newInstance")
    assert [a["passed"] for a in before["attempt_log"]] == [False]
    calls_before = len(merchant_stub.stub.calls("newInstance"))

    await process.kill()
    async with Api(await process.start()) as api:
        assert (await api.ok("GET", "/clock"))["now"] == "2026-01-31T11:30:00Z"
        after = await api.only_delivery(order_id=third["order_id"], activity="newInstance")
        assert after["attempt_log"] == before["attempt_log"]
        assert after["next_attempt_at"] == "2026-01-31T12:00:00Z"  # bought at 11:00
        assert len(merchant_stub.stub.calls("newInstance")) == calls_before, "nothing re-sent at start-up"

        merchant_stub.behaviour.fail_next = 0
        await api.advance(hours=5)
        resumed = await api.only_delivery(order_id=third["order_id"], activity="newInstance")
        assert [parse_time(a["sent_at"]).hour for a in resumed["attempt_log"]] == [11, 12]
        assert resumed["status"] == "succeeded"
        for earlier in (ok_order, order):
            delivery = await api.only_delivery(order_id=earlier["order_id"], activity="newInstance")
            assert [a["passed"] for a in delivery["attempt_log"]] == [False, True], "no succeeded attempt re-sent"
        assert len(merchant_stub.stub.calls("newInstance")) == calls_before + 1


async def test_sigkill_during_an_attempt_marks_it_interrupted_and_sends_again(
    process: EmulatorProcess, merchant_stub: RunningStub
) -> None:
    merchant_stub.behaviour.fail_next, merchant_stub.behaviour.failure = 1, "timeout"
    merchant_stub.behaviour.hang_s = 30
    async with Api(await process.start()) as api:
        await _setup(api, merchant_stub)
        order = await api.ok("POST", "/orders", {"product": "monthly"})
        for _ in range(100):  # the attempt is recorded before the request leaves
            found = await api.deliveries(order_id=order["order_id"])
            if found and found[0]["attempts"] == 1:
                break
            await asyncio.sleep(0.05)
        in_flight = await api.delivery(found[0]["id"])
        assert in_flight["attempt_log"][0]["state"] == "sending"
    await process.kill()

    async with Api(await process.start()) as api:
        await api.settle()
        delivery = await api.delivery(in_flight["id"])
        first, second = delivery["attempt_log"]
        assert first["state"] == "interrupted" and first["verdict"].startswith("interrupted")
        assert second["passed"] is True and second["due_at"] == first["due_at"]
        assert delivery["status"] == "succeeded"
        assert (await api.instance(order["instance"]))["state"] == "active"
