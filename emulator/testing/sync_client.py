"""A blocking twin of ``SandboxClient``, for suites that are not async (Flask, Django, plain pytest).

    with SyncSandboxClient("http://127.0.0.1:8080") as sandbox:
        order = sandbox.buy("demo-saas-monthly", periods=1)
        delivery = sandbox.wait_for_delivery(order, "newInstance")
        sandbox.advance(days=31)

It has every public method of ``SandboxClient`` with the same name, arguments and result (the same
``Order``, ``Delivery`` and ``SandboxError``). There is no second implementation: each call runs the
async client's method on a private event loop in a background thread and waits for its result, so
it works from any thread, with or without an event loop of the caller's own.
"""

from __future__ import annotations

import asyncio
import functools
import threading
from typing import Any, Callable, Concatenate, Coroutine, Optional, ParamSpec, TypeVar

from .client import SandboxClient

P = ParamSpec("P")
R = TypeVar("R")


class _LoopThread:
    """An event loop running forever in a daemon thread."""

    def __init__(self) -> None:
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, name="koogallery-sync-client", daemon=True)
        self.thread.start()

    def run(self, coroutine: Coroutine[Any, Any, R]) -> R:
        return asyncio.run_coroutine_threadsafe(coroutine, self.loop).result()

    def stop(self) -> None:
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(10)
        if not self.thread.is_alive():
            self.loop.close()


def _blocking(method: Callable[Concatenate[SandboxClient, P], Coroutine[Any, Any, R]]
              ) -> Callable[Concatenate["SyncSandboxClient", P], R]:
    """The blocking form of one ``SandboxClient`` method (same signature, same docstring)."""
    name = method.__name__

    @functools.wraps(method)
    def call(self: "SyncSandboxClient", *args: P.args, **kwargs: P.kwargs) -> R:
        return self._run(getattr(self._client, name)(*args, **kwargs))

    call.__qualname__ = f"SyncSandboxClient.{name}"
    return call


class SyncSandboxClient:
    def __init__(self, base_url: str) -> None:
        self.base_url = base_url.rstrip("/")
        self._client = SandboxClient(self.base_url)
        self._loop: Optional[_LoopThread] = _LoopThread()

    def _run(self, coroutine: Coroutine[Any, Any, R]) -> R:
        if self._loop is None:
            coroutine.close()
            raise RuntimeError("the SyncSandboxClient is closed")
        return self._loop.run(coroutine)

    def close(self) -> None:
        """Close the HTTP session and stop the private event loop (the client cannot be used after)."""
        if self._loop is not None:
            self._loop.run(self._client.close())
            self._loop.stop()
            self._loop = None

    def __enter__(self) -> "SyncSandboxClient":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # One line per method of SandboxClient (tests/unit/test_sync_client.py checks that none is missing).
    request = _blocking(SandboxClient.request)
    # merchants, products, credentials
    point_merchant_at = _blocking(SandboxClient.point_merchant_at)
    create_merchant = _blocking(SandboxClient.create_merchant)
    create_product = _blocking(SandboxClient.create_product)
    issue_credentials = _blocking(SandboxClient.issue_credentials)
    # orders
    buy = _blocking(SandboxClient.buy)
    order = _blocking(SandboxClient.order)
    instance = _blocking(SandboxClient.instance)
    renew = _blocking(SandboxClient.renew)
    convert = _blocking(SandboxClient.convert)
    upgrade = _blocking(SandboxClient.upgrade)
    unsubscribe = _blocking(SandboxClient.unsubscribe)
    freeze = _blocking(SandboxClient.freeze)
    unfreeze = _blocking(SandboxClient.unfreeze)
    release = _blocking(SandboxClient.release)
    # deliveries
    deliveries = _blocking(SandboxClient.deliveries)
    delivery = _blocking(SandboxClient.delivery)
    restart = _blocking(SandboxClient.restart)
    traffic = _blocking(SandboxClient.traffic)
    wait_for_delivery = _blocking(SandboxClient.wait_for_delivery)
    wait_for_state = _blocking(SandboxClient.wait_for_state)
    # gateway of Agents and API products
    register_gateway_backend = _blocking(SandboxClient.register_gateway_backend)
    gateway_access = _blocking(SandboxClient.gateway_access)
    gateway_calls = _blocking(SandboxClient.gateway_calls)
    gateway_call = _blocking(SandboxClient.gateway_call)
    wait_for_gateway_call = _blocking(SandboxClient.wait_for_gateway_call)
    # clock, reset, scenarios
    settle = _blocking(SandboxClient.settle)
    advance = _blocking(SandboxClient.advance)
    advance_to = _blocking(SandboxClient.advance_to)
    now = _blocking(SandboxClient.now)
    set_clock = _blocking(SandboxClient.set_clock)
    reset = _blocking(SandboxClient.reset)
    run_scenario = _blocking(SandboxClient.run_scenario)
    # certification
    certify = _blocking(SandboxClient.certify)
    # License 2.0
    license_codes = _blocking(SandboxClient.license_codes)
    request_license_async = _blocking(SandboxClient.request_license_async)
    deliver_license = _blocking(SandboxClient.deliver_license)
    # joint-operation enterprises and kit syncs
    bind_enterprise = _blocking(SandboxClient.bind_enterprise)
    enterprise = _blocking(SandboxClient.enterprise)
    resend_kit_step = _blocking(SandboxClient.resend_kit_step)
    repeat_kit_call = _blocking(SandboxClient.repeat_kit_call)
    run_credential_flow = _blocking(SandboxClient.run_credential_flow)
