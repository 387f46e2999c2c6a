"""Shared fixtures: a real emulator and a real merchant stub, both on loopback HTTP."""

from __future__ import annotations

import os
from datetime import datetime
from typing import AsyncIterator

import pytest
from aiohttp import web

from emulator.app import EmulatorServer
from emulator.settings import load_settings
from emulator.testing.merchant_stub import MerchantStub

from .helpers import Api
from .postgres import postgres_server  # noqa: F401  (a fixture)

STUB_KEY = "stub-access-key-0001"
START = datetime(2026, 1, 31, 10, 0, 0)


class RunningStub:
    def __init__(self, stub: MerchantStub, url: str) -> None:
        self.stub = stub
        self.url = url

    @property
    def behaviour(self):  # type: ignore[no-untyped-def]
        return self.stub.behaviour


@pytest.fixture
async def merchant_stub() -> AsyncIterator[RunningStub]:
    stub = MerchantStub(STUB_KEY)
    runner = web.AppRunner(stub.app(), access_log=None, shutdown_timeout=0.5)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    yield RunningStub(stub, f"http://127.0.0.1:{port}/produce")
    await runner.cleanup()


def test_database(request: pytest.FixtureRequest) -> str:
    """``:memory:`` (SQLite), or a fresh PostgreSQL database when KOOGALLERY_TEST_STORE=postgres (the
    PostgreSQL leg of scripts/test runs the integration tests that way)."""
    if os.environ.get("KOOGALLERY_TEST_STORE") == "postgres":
        return request.getfixturevalue("postgres_server").new_database()
    return ":memory:"


@pytest.fixture
async def emulator(request: pytest.FixtureRequest) -> AsyncIterator[EmulatorServer]:
    settings = load_settings(environ={}, port=0, database=test_database(request), clock_mode="manual",
                             clock_start=START)
    server = EmulatorServer(settings)
    await server.start()
    yield server
    await server.stop()


@pytest.fixture
async def api(emulator: EmulatorServer) -> AsyncIterator[Api]:
    async with Api(emulator.url) as client:
        yield client


@pytest.fixture
async def shop(api: Api, merchant_stub: RunningStub) -> AsyncIterator["Shop"]:
    """A merchant pointed at the stub, with a monthly, a one-time and a trial product."""
    yield await Shop.create(api, merchant_stub)


class Shop:
    def __init__(self, api: Api, stub: RunningStub) -> None:
        self.api = api
        self.stub = stub
        self.merchant_id = "acme"

    @classmethod
    async def create(cls, api: Api, stub: RunningStub, **merchant: object) -> "Shop":
        shop = cls(api, stub)
        await api.ok("POST", "/merchants", {
            "id": "acme", "name": "Acme", "production_url": stub.url, "access_key": STUB_KEY, **merchant,
        })
        await api.ok("POST", "/products", {
            "code": "monthly", "merchant_id": "acme", "name": "Acme monthly", "charging_mode": "PERIOD",
            "period_type": "month", "trial_days": 7, "upgradable": True, "allows_change": True, "price": "10",
        })
        await api.ok("POST", "/products", {
            "code": "pro-monthly", "merchant_id": "acme", "name": "Acme pro monthly", "charging_mode": "PERIOD",
            "period_type": "month", "upgradable": True, "price": "30",
        })
        await api.ok("POST", "/products", {
            "code": "onetime", "merchant_id": "acme", "name": "Acme one-time", "charging_mode": "ONE_TIME",
        })
        await api.ok("POST", "/products", {
            "code": "ondemand", "merchant_id": "acme", "name": "Acme API calls", "charging_mode": "ON_DEMAND",
        })
        return shop

    async def buy(self, product: str = "monthly", **extra: object) -> dict:
        order = await self.api.ok("POST", "/orders", {"product": product, **extra})
        await self.api.settle()
        return order
