"""The pytest plugin (in a real inner pytest run), the client, scenarios, the CLI and parallel workers."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from emulator.testing.client import SandboxClient, SandboxError
from emulator.testing.threaded import ThreadedEmulator

ROOT = Path(__file__).resolve().parents[2]
pytest_plugins = ["pytester"]

INNER_TESTS = '''
from emulator.testing.client import SandboxClient

async def test_buy_and_see_new_instance(koogallery: SandboxClient) -> None:
    order = await koogallery.buy("demo-saas-monthly", months=1)
    delivery = await koogallery.wait_for_delivery(order, "newInstance", outcome="succeeded")
    assert delivery.instance_id
    await koogallery.advance(days=31)
    frozen = await koogallery.wait_for_delivery(order, "updateInstanceStatus", status="FREEZE")
    assert frozen.status == "succeeded"

async def test_each_test_starts_from_a_reset_emulator(koogallery: SandboxClient) -> None:
    assert await koogallery.deliveries() == []
    assert (await koogallery.now()).isoformat() == "2030-05-01T00:00:00"

async def test_waiting_for_what_never_happens_says_what_did(koogallery: SandboxClient) -> None:
    order = await koogallery.buy("demo-onetime")
    await koogallery.wait_for_delivery(order, "releaseInstance")
'''


def test_plugin_fixture_in_a_real_pytest_run(pytester: pytest.Pytester) -> None:
    pytester.makeini("[pytest]\nasyncio_mode = auto\nkoogallery_clock_start = 2030-05-01T00:00:00\n")
    pytester.makepyfile(test_merchant=INNER_TESTS)
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider")
    result.assert_outcomes(passed=2, failed=1)
    result.stdout.fnmatch_lines([
        "*no releaseInstance delivery for order CS* with outcome 'succeeded'*",
        "*#1 newInstance: succeeded, 1 attempt(s), last verdict: passed*",
    ])


def test_parallel_workers_each_get_their_own_emulator() -> None:
    completed = subprocess.run(
        [sys.executable, "-m", "pytest", "examples", "-n", "2", "-p", "no:cacheprovider", "-q"],
        cwd=ROOT, capture_output=True, text=True, timeout=300,
    )
    assert completed.returncode == 0, completed.stdout + completed.stderr
    assert "4 passed" in completed.stdout


def test_cli_runs_a_scenario_on_a_throwaway_emulator() -> None:
    completed = subprocess.run([sys.executable, "-m", "emulator", "scenario", "run", "monthly-lifecycle"],
                               cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert completed.returncode == 0, completed.stdout + completed.stderr
    assert "scenario monthly-lifecycle: passed" in completed.stdout
    assert "PASS 11. expect" in completed.stdout


async def test_scenarios_report_failures_step_by_step(api, emulator) -> None:  # type: ignore[no-untyped-def]
    names = [s["name"] for s in (await api.ok("GET", "/scenarios"))["scenarios"]]
    assert names == ["monthly-lifecycle", "trial-to-formal", "upgrade-and-unsubscribe"]
    emulator.demo_stub.behaviour.fail_next = 100
    report = await api.ok("POST", "/scenarios/monthly-lifecycle/run")
    assert report["passed"] is False
    assert [s["passed"] for s in report["steps"]] == [True, False]
    assert "no newInstance" in report["steps"][1]["detail"] and "HTTP status 500" in report["steps"][1]["detail"]
    status, error = await api.call("POST", "/scenarios/nothing/run")
    assert status == 404 and error["error"]["field"] == "name"


async def test_client_errors_name_the_problem(emulator) -> None:  # type: ignore[no-untyped-def]
    async with SandboxClient(emulator.url) as client:
        with pytest.raises(SandboxError) as caught:
            await client.buy("no-such-product")
        assert caught.value.status == 404 and "no-such-product" in str(caught.value)
        order = await client.buy("demo-saas-monthly")
        await client.wait_for_delivery(order, "newInstance")
        renewal = await client.renew(order, periods=2)
        assert renewal.order_type == "RENEWAL" and (await client.order(order)).status == "delivered"
        assert (await client.wait_for_state(order, "active"))["state"] == "active"
        with pytest.raises(AssertionError, match="is active, not released"):
            await client.wait_for_state(order, "released")


def test_threaded_emulator_starts_and_stops_cleanly() -> None:
    with ThreadedEmulator() as emulator:
        assert emulator.url.startswith("http://127.0.0.1:")
    with ThreadedEmulator(port=0) as again:
        assert again.url != ""
