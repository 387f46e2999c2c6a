"""Dial tests over real HTTP on a manual clock (PROTOCOL §11). Slots are 09:00 and 15:00 Asia/Shanghai,
i.e. 01:00 and 07:00 UTC; the emulator fixture starts at 2026-01-31 10:00 UTC."""

from __future__ import annotations

import socket
from datetime import datetime
from pathlib import Path

from emulator.app import EmulatorServer
from emulator.settings import load_settings

from ..conftest import Shop
from ..helpers import Api

CASES = ("create", "query", "update", "status", "upgrade", "release")


async def save_cases(shop: Shop, product: str = "monthly") -> None:
    for case in CASES:
        answer = await shop.api.ok("POST", f"/products/{product}/debug-cases", {"case": case})
        assert answer["saved"] is True, answer


async def runs(api: Api, product: str) -> list[dict]:
    found = (await api.ok("GET", "/dial-tests/runs", params={"product_id": product}))["runs"]
    return list(reversed(found))


async def test_debugging_cases_are_saved_only_when_they_pass(shop: Shop) -> None:
    shop.stub.behaviour.fail_next = 1
    status, answer = await shop.api.call("POST", "/products/monthly/debug-cases", {"case": "create"})
    assert status == 422 and answer["saved"] is False and "HTTP status 500" in answer["verdict"]
    created = await shop.api.ok("POST", "/products/monthly/debug-cases", {"case": "create"})
    assert created["case"]["params"]["orderId"] == "MOCKPERIODDAYTRIAL"  # the product has a trial
    listing = await shop.api.ok("GET", "/products/monthly/debug-cases")
    assert listing["missing"] == ["query", "update", "status", "upgrade", "release"]
    request = shop.stub.stub.calls("newInstance")[-1]
    assert request.body["testFlag"] == "1" and request.signature_ok
    command = await shop.api.ok("GET", "/products/monthly/debug-cases/create/command")
    assert command["curl"].startswith("curl -sS -X POST ") and "signature=" in command["curl"]
    status, error = await shop.api.call("POST", "/products/monthly/debug-cases", {"case": "dance"})
    assert status == 400 and error["error"]["field"] == "case"


async def test_a_passing_merchant_for_a_week(shop: Shop) -> None:
    await save_cases(shop)
    await shop.api.advance(days=7)
    week = await runs(shop.api, (await shop.api.ok("GET", "/products/monthly"))["id"])
    assert [r["slot_at"][11:16] for r in week[:2]] == ["01:00", "07:00"]
    assert len(week) == 14 and {r["verdict"] for r in week} == {"pass"}
    detail = await shop.api.ok("GET", f"/dial-tests/runs/{week[0]['id']}")
    assert [c["case"] for c in detail["cases"]] == list(CASES) and all(c["passed"] for c in detail["cases"])
    assert (await shop.api.ok("GET", "/inbox"))["messages"] == []


async def test_five_failing_days_freeze_then_a_passing_day_unfreezes(shop: Shop) -> None:
    await save_cases(shop)
    product_id = (await shop.api.ok("GET", "/products/monthly"))["id"]
    shop.stub.behaviour.fail_next, shop.stub.behaviour.fail_activities = 10_000, ["refreshInstance"]
    await shop.api.ok("POST", "/clock/advance", {"to": "2026-02-04T23:00:00Z"})  # four failing days
    product = await shop.api.ok("GET", "/products/monthly")
    assert product["frozen"] is False and product["fail_streak"] == 4
    await shop.api.ok("POST", "/clock/advance", {"to": "2026-02-05T01:00:00Z"})  # first run of day five
    product = await shop.api.ok("GET", "/products/monthly")
    assert product["frozen"] is True and product["hidden"] is True and product["fail_streak"] == 5
    status, error = await shop.api.call("POST", "/orders", {"product": "monthly"})
    assert status == 409 and "frozen" in error["error"]["message"]
    inbox = (await shop.api.ok("GET", "/inbox"))["messages"]
    assert {m["channel"] for m in inbox} == {"email", "sms", "site"}
    assert any("frozen after 5 consecutive days" in m["subject"] for m in inbox)
    failed = [m for m in inbox if m["channel"] == "email" and "dial test failed" in m["subject"]]
    assert len(failed) == 9 and "update (refreshInstance)" in failed[0]["body"]

    shop.stub.behaviour.fail_next = 0
    await shop.api.ok("POST", "/clock/advance", {"to": "2026-02-06T07:00:00Z"})  # a whole passing day
    product = await shop.api.ok("GET", "/products/monthly")
    assert product["frozen"] is False and product["fail_streak"] == 0
    assert any("restored" in m["subject"] for m in (await shop.api.ok("GET", "/inbox"))["messages"])
    assert [r["verdict"] for r in (await runs(shop.api, product_id))[-2:]] == ["pass", "pass"]


async def test_discontinued_products_are_skipped(shop: Shop) -> None:
    await save_cases(shop)
    await shop.api.ok("PATCH", "/products/monthly", {"sale_state": "discontinued"})
    calls_before = len(shop.stub.stub.received)
    await shop.api.advance(days=1)
    product_id = (await shop.api.ok("GET", "/products/monthly"))["id"]
    skipped = await runs(shop.api, product_id)
    assert [(r["verdict"], r["reason"]) for r in skipped] == [("skipped", "product-discontinued")] * 2
    assert len(shop.stub.stub.received) == calls_before


async def test_the_change_check_case_sends_the_target_product_of_mockmontychange(shop: Shop) -> None:
    target = {"productId": "OFFI846204237451911175", "skuCode": "7c2e9b14-3f6a-4d21-8b5e-91a0c4d2e6f3",
              "linearValue": 100}  # §11.3: productInfo = MOCKMONTYCHANGE's target (§12.6)
    for case in ("create", "change_check"):
        assert (await shop.api.ok("POST", "/products/monthly/debug-cases", {"case": case}))["saved"]
    debugged = shop.stub.stub.calls("changeInstanceCheck")[-1]
    assert debugged.body["productInfo"] == target and debugged.signature_ok
    await shop.api.ok("POST", "/clock/advance", {"to": "2026-02-01T01:00:00Z"})  # the 09:00 slot
    scheduled = shop.stub.stub.calls("changeInstanceCheck")[-1]
    assert scheduled is not debugged and scheduled.signature_ok
    assert scheduled.body == {"activity": "changeInstanceCheck", "instanceId": scheduled.body["instanceId"],
                              "productInfo": target, "testFlag": "1"}
    assert scheduled.body["instanceId"] in shop.stub.stub.instances  # the one this run's create returned


async def test_products_without_saved_cases_are_skipped_once_per_slot(shop: Shop) -> None:
    await save_cases(shop)  # monthly only; onetime has no saved case
    await shop.api.ok("POST", "/clock/advance", {"to": "2026-02-01T07:00:00Z"})
    await shop.api.settle()  # asking again at the same instant runs nothing twice
    onetime = (await shop.api.ok("GET", "/products/onetime"))["id"]
    skipped = await runs(shop.api, onetime)
    assert [(r["slot_at"], r["trigger"], r["verdict"], r["reason"]) for r in skipped] == [
        ("2026-02-01T01:00:00Z", "schedule", "skipped", "no-cases"),
        ("2026-02-01T07:00:00Z", "schedule", "skipped", "no-cases"),
    ]
    assert (await shop.api.ok("GET", f"/dial-tests/runs/{skipped[0]['id']}"))["cases"] == []
    assert (await shop.api.ok("GET", "/products/onetime"))["fail_streak"] == 0
    for path in ("/dial-tests", "/dial-tests/products/onetime"):
        status, page = await shop.api.page(path)
        assert status == 200 and "skipped (no-cases)" in page, path


async def test_a_passing_morning_leaves_the_day_in_progress_until_its_last_slot(shop: Shop) -> None:
    await save_cases(shop)
    product_id = (await shop.api.ok("GET", "/products/monthly"))["id"]
    shop.stub.behaviour.fail_next, shop.stub.behaviour.fail_activities = 2, ["refreshInstance"]
    await shop.api.ok("POST", "/clock/advance", {"to": "2026-02-01T07:00:00Z"})  # a failing day
    await shop.api.ok("POST", "/clock/advance", {"to": "2026-02-02T03:00:00Z"})  # 09:00 passes, 11:00 now
    morning = (await runs(shop.api, product_id))[-1]
    assert (morning["verdict"], morning["streak"], morning["day_in_progress"]) == ("pass", 1, True)
    assert (await shop.api.ok("GET", f"/dial-tests/runs/{morning['id']}"))["day_in_progress"] is True
    product = await shop.api.ok("GET", "/products/monthly")
    assert (product["fail_streak"], product["day_in_progress"]) == (1, True)
    for path in ("/dial-tests", "/dial-tests/products/monthly"):
        assert "day in progress" in (await shop.api.page(path))[1], path

    await shop.api.ok("POST", "/clock/advance", {"to": "2026-02-02T07:00:00Z"})  # 15:00 passes: a passing day
    day = (await runs(shop.api, product_id))[-2:]
    assert [(r["verdict"], r["streak"], r["day_in_progress"]) for r in day] == [("pass", 1, False), ("pass", 0, False)]
    product = await shop.api.ok("GET", "/products/monthly")
    assert (product["fail_streak"], product["day_in_progress"]) == (0, False)
    for path in ("/dial-tests", "/dial-tests/products/monthly"):
        assert "day in progress" not in (await shop.api.page(path))[1], path


async def test_run_now_twice_at_one_instant(shop: Shop) -> None:
    await save_cases(shop)
    first = await shop.api.ok("POST", "/products/monthly/dial-tests/run")
    second = await shop.api.ok("POST", "/products/monthly/dial-tests/run")
    assert first["id"] != second["id"] and second["verdict"] == "pass"


async def test_run_now_is_manual_and_does_not_count(shop: Shop) -> None:
    await save_cases(shop)
    shop.stub.behaviour.fail_next = 1
    run = await shop.api.ok("POST", "/products/monthly/dial-tests/run")
    assert run["trigger"] == "manual" and run["verdict"] == "fail" and run["streak"] == 0
    assert not run["cases"][0]["passed"] and all(c["passed"] for c in run["cases"][1:])
    assert (await shop.api.ok("GET", "/products/monthly"))["fail_streak"] == 0


async def _server(database: Path) -> EmulatorServer:
    settings = load_settings(environ={}, port=0, database=str(database), clock_mode="manual",
                             clock_start=datetime(2026, 1, 31, 10, 0, 0), demo_merchant=True)
    server = EmulatorServer(settings)
    await server.start()
    return server


async def _save_demo_cases(api: Api) -> None:
    for case in ("create", "query", "update", "status", "release"):
        assert (await api.ok("POST", "/products/demo-saas-daily/debug-cases", {"case": case}))["saved"]


async def test_a_restart_between_slots_neither_repeats_nor_drops_a_slot(tmp_path: Path) -> None:
    database = tmp_path / "store.db"
    first = await _server(database)
    async with Api(first.url) as api:
        await _save_demo_cases(api)
        await api.ok("POST", "/clock/advance", {"to": "2026-02-01T03:00:00Z"})  # the 01:00 slot ran
    await first.stop()
    second = await _server(database)
    try:
        async with Api(second.url) as api:
            await api.ok("POST", "/clock/advance", {"to": "2026-02-02T02:00:00Z"})
            product_id = (await api.ok("GET", "/products/demo-saas-daily"))["id"]
            slots = [r["slot_at"] for r in await runs(api, product_id)]
    finally:
        await second.stop()
    assert slots == ["2026-02-01T01:00:00Z", "2026-02-01T07:00:00Z", "2026-02-02T01:00:00Z"]


async def test_two_processes_on_one_store_run_each_slot_once(tmp_path: Path) -> None:
    database = tmp_path / "store.db"
    one = await _server(database)
    two = await _server(database)
    try:
        async with Api(one.url) as api_one, Api(two.url) as api_two:
            await _save_demo_cases(api_one)
            await api_one.ok("POST", "/clock/advance", {"to": "2026-02-01T02:00:00Z"})
            await api_two.ok("POST", "/clock/advance", {"to": "2026-02-01T02:00:00Z"})
            product_id = (await api_one.ok("GET", "/products/demo-saas-daily"))["id"]
            slots = [r["slot_at"] for r in await runs(api_two, product_id)]
            no_cases = (await api_one.ok("GET", "/products/demo-saas-monthly"))["id"]
            skipped = [(r["slot_at"], r["reason"]) for r in await runs(api_two, no_cases)]
    finally:
        await one.stop()
        await two.stop()
    assert slots == ["2026-02-01T01:00:00Z"]
    assert skipped == [("2026-02-01T01:00:00Z", "no-cases")]


async def test_failure_mails_go_out_by_smtp_when_configured(tmp_path: Path) -> None:
    from aiosmtpd.controller import Controller

    received: list[str] = []

    class Sink:
        async def handle_DATA(self, server, session, envelope):  # type: ignore[no-untyped-def]  # noqa: N802
            received.append(envelope.content.decode("utf-8", "replace"))
            return "250 OK"

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    smtp = Controller(Sink(), hostname="127.0.0.1", port=port)
    smtp.start()
    try:
        settings = load_settings(environ={}, port=0, database=":memory:", clock_mode="manual",
                                 clock_start=datetime(2026, 1, 31, 10, 0, 0),
                                 dialtest_smtp_url=f"smtp://127.0.0.1:{port}")
        server = EmulatorServer(settings)
        await server.start()
        try:
            async with Api(server.url) as api:
                await api.ok("PATCH", "/merchants/demo", {"contact_email": "ops@merchant.example"})
                await _save_demo_cases(api)
                server.demo_stub.behaviour.fail_next = 1000  # type: ignore[union-attr]
                await api.ok("POST", "/clock/advance", {"to": "2026-02-01T02:00:00Z"})
                emails = [m for m in (await api.ok("GET", "/inbox"))["messages"] if m["channel"] == "email"]
        finally:
            await server.stop()
    finally:
        smtp.stop()
    assert emails and emails[0]["to"] == "ops@merchant.example" and emails[0]["smtp_sent"] is True
    assert len(received) == 1 and "Interface dial test failed" in received[0]
    assert "To: ops@merchant.example" in received[0]
