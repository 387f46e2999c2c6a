"""The blocking client: every method of the async client, and a sync suite in a real inner pytest run
without pytest-asyncio (as a Flask or Django team runs it)."""

from __future__ import annotations

import inspect

import pytest

from emulator.testing.client import SandboxClient
from emulator.testing.sync_client import SyncSandboxClient

pytest_plugins = ["pytester"]

SYNC_SUITE = '''
import pytest

from emulator.testing.client import Order, SandboxError
from emulator.testing.sync_client import SyncSandboxClient


def test_buy_then_expiry_freezes(koogallery_sync: SyncSandboxClient) -> None:
    order = koogallery_sync.buy("demo-saas-monthly", months=1)
    assert isinstance(order, Order) and order.order_type == "NEW"
    delivery = koogallery_sync.wait_for_delivery(order, "newInstance", outcome="succeeded")
    assert delivery.instance_id
    koogallery_sync.advance(days=31)
    frozen = koogallery_sync.wait_for_delivery(order, "updateInstanceStatus", status="FREEZE")
    assert frozen.attempts[0].passed
    assert koogallery_sync.wait_for_state(order, "frozen")["state"] == "frozen"


def test_each_test_starts_from_a_reset_emulator(koogallery_sync: SyncSandboxClient) -> None:
    assert koogallery_sync.deliveries() == []
    assert koogallery_sync.now().isoformat() == "2030-05-01T00:00:00"


def test_errors_are_the_async_clients(koogallery_sync: SyncSandboxClient) -> None:
    with pytest.raises(SandboxError) as caught:
        koogallery_sync.buy("no-such-product")
    assert caught.value.status == 404 and "no-such-product" in str(caught.value)


def test_a_scenario_runs(koogallery_sync: SyncSandboxClient) -> None:
    assert koogallery_sync.run_scenario("monthly-lifecycle")["passed"] is True


def test_a_renewal_reaches_the_merchant(koogallery_sync: SyncSandboxClient) -> None:
    order = koogallery_sync.buy("demo-saas-yearly", periods=1)
    koogallery_sync.wait_for_delivery(order, "newInstance")
    renewal = koogallery_sync.renew(order, periods=2)
    refresh = koogallery_sync.wait_for_delivery(renewal, "refreshInstance", scene="RENEWAL")
    assert refresh.params["expireTime"] == "20330501000000"


def test_a_client_of_ones_own(koogallery_server) -> None:
    with SyncSandboxClient(koogallery_server.url) as sandbox:
        assert sandbox.request("GET", "/merchants/demo")["id"] == "demo"
    with pytest.raises(RuntimeError, match="closed"):
        sandbox.now()


def test_waiting_for_what_never_happens_says_what_did(koogallery_sync: SyncSandboxClient) -> None:
    order = koogallery_sync.buy("demo-onetime")
    koogallery_sync.wait_for_delivery(order, "releaseInstance")
'''


def test_every_method_of_the_async_client_has_a_blocking_twin() -> None:
    public = {name for name, _ in inspect.getmembers(SandboxClient, inspect.iscoroutinefunction)
              if not name.startswith("_")}
    missing = sorted(name for name in public if not hasattr(SyncSandboxClient, name))
    assert missing == [], f"add these to SyncSandboxClient: {missing}"
    for name in public:
        blocking = getattr(SyncSandboxClient, name)
        assert not inspect.iscoroutinefunction(blocking), name
        if name != "close":
            assert inspect.signature(blocking) == inspect.signature(getattr(SandboxClient, name)), name
            assert blocking.__doc__ == getattr(SandboxClient, name).__doc__, name


def test_a_sync_suite_in_a_real_pytest_run_without_pytest_asyncio(pytester: pytest.Pytester) -> None:
    pytester.makeini("[pytest]\nkoogallery_clock_start = 2030-05-01T00:00:00\n")
    pytester.makepyfile(test_sync_merchant=SYNC_SUITE)
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider", "-p", "no:asyncio", "-p", "no:aiohttp")
    result.assert_outcomes(passed=6, failed=1)
    result.stdout.fnmatch_lines([
        "*no releaseInstance delivery for order CS* with outcome 'succeeded'*",
        "*#1 newInstance: succeeded, 1 attempt(s), last verdict: passed*",
    ])
    result.stdout.no_fnmatch_line("plugins:*asyncio*")
