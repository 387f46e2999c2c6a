"""Open-API benchmark: signed Query Order calls per second and p99 latency against the emulator, as a
ratio to a bare aiohttp handler (no auth, no journal) returning the same JSON. Prints, asserts nothing.

Both servers run as their own processes on loopback; this process is the load generator (it signs
every request, as a merchant's service would).

Run: .venv/bin/python bench/bench_openapi.py [--requests 3000] [--concurrency 16]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import aiohttp

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from emulator.protocol.sdk_hmac import sign_request  # noqa: E402

PATH = "/api/mkp-openapi-public/global/v1/order/query"
BARE = """
import json, sys
from aiohttp import web
payload = json.loads(sys.argv[2])
async def handler(request):
    return web.json_response(payload)
app = web.Application(); app.router.add_get("%s", handler)
web.run_app(app, host="127.0.0.1", port=int(sys.argv[1]), print=None, access_log=None)
""" % PATH


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


async def wait_up(url: str) -> None:
    async with aiohttp.ClientSession() as session:
        for _ in range(200):
            try:
                async with session.get(url):
                    return
            except aiohttp.ClientError:
                await asyncio.sleep(0.05)
    raise RuntimeError(f"{url} did not come up")


async def load(url: str, count: int, concurrency: int, ak: str | None, sk: str | None) -> tuple[float, list[float]]:
    latencies: list[float] = []
    queue: asyncio.Queue[int] = asyncio.Queue()
    for i in range(count):
        queue.put_nowait(i)
    async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=concurrency)) as session:
        async def worker() -> None:
            while not queue.empty():
                queue.get_nowait()
                headers = {"Content-Type": "application/json"}
                if ak and sk:
                    headers.update(sign_request(ak, sk, "GET", url, headers, b""))
                started = time.perf_counter()
                async with session.get(url, headers=headers) as response:
                    await response.read()
                    assert response.status == 200, response.status
                latencies.append((time.perf_counter() - started) * 1000)

        started = time.perf_counter()
        await asyncio.gather(*(worker() for _ in range(concurrency)))
        return count / (time.perf_counter() - started), latencies


def p99(values: list[float]) -> float:
    ordered = sorted(values)
    return ordered[int(0.99 * (len(ordered) - 1))]


async def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--requests", type=int, default=3000)
    parser.add_argument("--concurrency", type=int, default=16)
    args = parser.parse_args()

    port = free_port()
    env = {**os.environ, "KOOGALLERY_LOG_LEVEL": "WARNING"}
    emulator = subprocess.Popen([sys.executable, "-m", "emulator", "serve", "--port", str(port), "--database",
                                 ":memory:", "--clock-mode", "manual"], cwd=ROOT, env=env)
    bare = None
    try:
        base = f"http://127.0.0.1:{port}"
        await wait_up(base + "/healthz")
        async with aiohttp.ClientSession() as session:
            async with session.post(base + "/sandbox/api/v1/orders", json={"product": "demo-saas-monthly"}) as r:
                order_id = (await r.json())["order_id"]
            async with session.post(base + "/sandbox/api/v1/merchants/demo/credentials") as r:
                keys = await r.json()
        url = f"{base}{PATH}?orderId={order_id}"
        signed_rate, signed_lat = await load(url, args.requests, args.concurrency, keys["ak"], keys["sk"])
        async with aiohttp.ClientSession() as session:
            headers = {"Content-Type": "application/json"}
            headers.update(sign_request(keys["ak"], keys["sk"], "GET", url, headers, b""))
            async with session.get(url, headers=headers) as r:
                payload = await r.json()

        bare_port = free_port()
        bare = subprocess.Popen([sys.executable, "-c", BARE, str(bare_port), json.dumps(payload)])
        bare_url = f"http://127.0.0.1:{bare_port}{PATH}?orderId={order_id}"
        await wait_up(bare_url)
        bare_rate, bare_lat = await load(bare_url, args.requests, args.concurrency, None, None)
        print(f"signed Query Order (AK/SK verify + store read + journal write): {signed_rate:7.0f} req/s, "
              f"p99 {p99(signed_lat):6.2f} ms")
        print(f"bare aiohttp handler, same JSON, no auth:                       {bare_rate:7.0f} req/s, "
              f"p99 {p99(bare_lat):6.2f} ms")
        print(f"ratio signed / bare: throughput {signed_rate / bare_rate:.2f}, p99 latency x{p99(signed_lat) / p99(bare_lat):.1f}"
              f"  ({args.requests} requests, concurrency {args.concurrency}, the client signs each request)")
    finally:
        for process in (emulator, bare):
            if process is not None:
                process.terminate()
                process.wait()


if __name__ == "__main__":
    asyncio.run(main())
