"""Core benchmarks: prints figures and ratios, asserts nothing.

1. Signed deliveries per second to a trivial local merchant (a separate process), against bare
   aiohttp POSTs of equally signed bodies to the same merchant at the same concurrency.
2. Control-API create-order latency, p50 and p99, over HTTP.
3. Resident memory and store size with 10,000 open orders.

Run: .venv/bin/python bench/bench_core.py [--deliveries 2000] [--orders 500] [--open-orders 10000]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import subprocess
import sys
import time
from datetime import datetime
from pathlib import Path

import aiohttp

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from emulator.app import EmulatorServer  # noqa: E402
from emulator.marketplace.inputs import MerchantInput, OrderInput, ProductInput  # noqa: E402
from emulator.protocol.canonical import canonical_body  # noqa: E402
from emulator.protocol.signing import (  # noqa: E402
    append_query, basic_signature, basic_signed_query, new_nonce, wall_clock_ms,
)
from emulator.settings import load_settings  # noqa: E402

KEY = "bench-key"
MERCHANT = """
import sys
from aiohttp import web
async def produce(request):
    await request.read()
    return web.json_response({"resultCode": "000000", "resultMsg": "success.", "instanceId": "i-" + request.query.get("nonce", "")})
app = web.Application(); app.router.add_post("/produce", produce)
web.run_app(app, host="127.0.0.1", port=int(sys.argv[1]), print=None, access_log=None)
"""


def rss_mib() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(q * (len(ordered) - 1))))]


async def wait_listening(url: str) -> None:
    async with aiohttp.ClientSession() as session:
        for _ in range(100):
            try:
                async with session.post(url, data=b"{}"):
                    return
            except aiohttp.ClientError:
                await asyncio.sleep(0.05)
    raise RuntimeError("merchant did not start")


async def bare_posts(url: str, count: int, concurrency: int) -> float:
    """Bare aiohttp: the same canonical, signed bodies, no store, no verdicts."""
    limit = asyncio.Semaphore(concurrency)
    async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=64)) as session:
        async def one(i: int) -> None:
            body = canonical_body({"activity": "newInstance", "orderId": f"CS{i}", "orderLineId": f"CS{i}-000001",
                                   "businessId": f"b-{i}", "testFlag": "0"})
            ts, nonce = wall_clock_ms(), new_nonce()
            signed = append_query(url, basic_signed_query(basic_signature(KEY, nonce, ts, body, True), ts, nonce))
            async with limit:
                async with session.post(signed, data=body, headers={"Content-Type": "application/json"}) as r:
                    await r.read()

        started = time.perf_counter()
        await asyncio.gather(*(one(i) for i in range(count)))
        return count / (time.perf_counter() - started)


async def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--deliveries", type=int, default=2000)
    parser.add_argument("--orders", type=int, default=500)
    parser.add_argument("--open-orders", type=int, default=10_000)
    args = parser.parse_args()

    port = 18000 + os.getpid() % 1000
    merchant = subprocess.Popen([sys.executable, "-c", MERCHANT, str(port)])
    url = f"http://127.0.0.1:{port}/produce"
    try:
        await wait_listening(url)
        settings = load_settings(environ={}, port=0, database=":memory:", clock_mode="manual",
                                 clock_start=datetime(2026, 1, 1), demo_merchant=False, seed_demo=False)
        server = EmulatorServer(settings)
        base = await server.start()
        services = server.services
        # newInstance due one minute after payment, so orders pile up and are then sent in one go
        await services.catalogue.create_merchant(MerchantInput(
            id="bench", name="Bench", production_url=url, access_key=KEY,
            retry_overrides={"purchase": {"attempts": 4, "interval_s": 3600, "first_delay_s": 60},
                             "query_poll": {"attempts": 1, "interval_s": 0, "first_delay_s": 86400}}))
        await services.catalogue.create_product(ProductInput(
            code="m", merchant_id="bench", name="Monthly", charging_mode="PERIOD", period_type="month"))

        # 1. deliveries per second
        for _ in range(args.deliveries):
            await services.orders.create(OrderInput(product="m"))
        started = time.perf_counter()
        await services.advance(__import__("datetime").timedelta(seconds=60))
        emulator_rate = args.deliveries / (time.perf_counter() - started)
        bare_rate = await bare_posts(url, args.deliveries, 32)
        print(f"signed deliveries/s (store + sign + POST + verdict + record): {emulator_rate:8.0f}")
        print(f"bare aiohttp signed POSTs/s, same merchant, concurrency 32:    {bare_rate:8.0f}")
        print(f"ratio emulator / bare:                                         {emulator_rate / bare_rate:8.2f}")

        # 2. control-API create-order latency
        latencies = []
        async with aiohttp.ClientSession() as session:
            for _ in range(args.orders):
                started = time.perf_counter()
                async with session.post(base + "/sandbox/api/v1/orders", json={"product": "m"}) as response:
                    await response.read()
                    assert response.status == 201
                latencies.append((time.perf_counter() - started) * 1000)
        print(f"create-order latency over HTTP (n={args.orders}): p50 {statistics.median(latencies):.2f} ms, "
              f"p99 {percentile(latencies, 0.99):.2f} ms")

        # 3. memory with many open orders
        await services.reset(seed=False)
        await services.catalogue.create_merchant(MerchantInput(id="bench", name="Bench", production_url=url,
                                                               access_key=KEY))
        await services.catalogue.create_product(ProductInput(
            code="m", merchant_id="bench", name="Monthly", charging_mode="PERIOD", period_type="month"))
        await services.dispatcher.close()  # keep these orders open: nothing is sent
        await services.scheduler.stop()
        before = rss_mib()
        started = time.perf_counter()
        for _ in range(args.open_orders):
            await services.orders.create(OrderInput(product="m"))
        elapsed = time.perf_counter() - started
        db = Path(str(services.store.engine.url.database))
        db_mib = sum(p.stat().st_size for p in db.parent.glob(db.name + "*")) / (1 << 20)
        print(f"{args.open_orders} open orders: RSS {rss_mib():.0f} MiB (was {before:.0f} MiB before them), "
              f"store {db_mib:.1f} MiB, created at {args.open_orders / elapsed:.0f} orders/s")
        server.services.ready = False
        await server.stop()
    finally:
        merchant.terminate()
        merchant.wait()


if __name__ == "__main__":
    asyncio.run(main())
