"""Open-API benchmark: signed Query Order against a bare aiohttp handler returning the same JSON.

The emulator (``python -m emulator serve``, SQLite file store, manual clock) answers
``GET /api/mkp-openapi-public/global/v1/order/query?orderId=...`` signed with SDK-HMAC-SHA256: it
verifies the signature, reads the order and writes the call to its journal. The baseline is a bare
aiohttp process (no auth, no journal, no store) returning the very JSON the emulator returned.

Load: wrk, one thread, ``--connections`` (50) connections, 5 s per sample (quick: 3 s), after a
warm-up of each server. The request is signed once per sample and wrk sends those headers (a
generated Lua script): GET Query Order has no nonce and the signature stays valid for the
``X-Sdk-Date`` window (15 min), so the server still verifies every request. A sample in which wrk
saw a non-2xx answer or a socket error is reported as such. Each run measures both servers, in
alternating order; figures are min / median / max over the runs.

Figures: req/s emulator / bare (goal >= 0.6) and the emulator's p99 at 50 clients (goal < 20 ms).

Run: .venv/bin/python bench/bench_openapi.py [--runs 3] [--connections 50] [--seconds 5] [--quick]
     (default: about 45 s; --quick: about 30 s)
"""

from __future__ import annotations

import asyncio
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Optional

import aiohttp

from harness import (
    API, CpuMeter, Figures, Load, Processes, Server, TempDir, bare_server_argv, call, http_load, ordered,
    parser, print_header, start_emulator,
)

from emulator.protocol.sdk_hmac import sign_request  # after harness, which puts the checkout on sys.path

PATH = "/api/mkp-openapi-public/global/v1/order/query"
HEADERS = {"Content-Type": "application/json"}

# The baseline: the same bytes the emulator answered, from a file, with no checks at all.
BARE = r"""
import sys
from aiohttp import web
PAYLOAD = open(sys.argv[1], "rb").read()
async def query(request):
    return web.Response(body=PAYLOAD, content_type="application/json")
ROUTES = [("GET", "%s", query)]
""" % PATH


@dataclass
class Target:
    server: Server
    url: str
    keys: Optional[tuple[str, str]]  # the AK/SK to sign with; None: not signed


def signed_headers(url: str, ak: str, sk: str) -> dict[str, str]:
    """The headers of one signed GET (X-Sdk-Date now, Host, Authorization)."""
    return {**HEADERS, **sign_request(ak, sk, "GET", url, HEADERS, b"")}


async def prepare(emulator: Server) -> tuple[str, str, str, bytes]:
    """An order and an AK/SK pair of the demo merchant; (order URL, ak, sk, Query Order answer)."""
    async with aiohttp.ClientSession() as session:
        order = await call(session, "POST", emulator.url + API + "/orders", {"product": "demo-saas-monthly"},
                           expect=(201,))
        keys = await call(session, "POST", emulator.url + API + "/merchants/demo/credentials", expect=(201,))
        url = f"{emulator.url}{PATH}?orderId={order['order_id']}"
        async with session.get(url, headers=signed_headers(url, keys["ak"], keys["sk"])) as response:
            payload = await response.read()
            if response.status != 200 or json.loads(payload).get("resultCode") != "MKT.0000":
                raise RuntimeError(f"signed Query Order answered HTTP {response.status}: {payload[:2000]!r}")
    return url, keys["ak"], keys["sk"], payload


def sample(label: str, target: Target, seconds: float, connections: int) -> Load:
    """One wrk sample; the emulator's request is signed just before it starts."""
    headers = signed_headers(target.url, *target.keys) if target.keys else dict(HEADERS)
    with CpuMeter({label: [target.server.pid]}) as cpu:
        load = http_load(target.url, seconds, connections, headers=headers)
    print(f"   {label:9} {load.describe()}")
    print(f"             {cpu.line()}")
    return load


async def start_targets(procs: Processes, tmp: Path) -> dict[str, Target]:
    """The emulator with an order to query, and the bare server returning its Query Order answer."""
    emulator = await start_emulator(procs, "emulator", str(tmp / "openapi.db"))
    url, ak, sk, payload = await prepare(emulator)
    (tmp / "payload.json").write_bytes(payload)
    bare = procs.start("bare", bare_server_argv(BARE, str(tmp / "payload.json")))
    return {"emulator": Target(emulator, url, (ak, sk)), "bare": Target(bare, bare.url + url[len(emulator.url):], None)}


def measure(targets: dict[str, Target], runs: int, seconds: float, connections: int, figures: Figures) -> int:
    """A warm-up of each server, then the runs; how many answers wrk counted from the emulator."""
    print("warm-up")
    answered = 1  # prepare()'s call
    for label, target in targets.items():
        load = sample(label, target, min(seconds, 2.0), connections)
        answered += load.requests if label == "emulator" else 0
    for run in range(runs):
        print(f"run {run + 1}/{runs}")
        loads = {label: sample(label, targets[label], seconds, connections)
                 for label in ordered(run, ["emulator", "bare"])}
        record(figures, loads)
        answered += loads["emulator"].requests
    return answered


async def amain() -> None:
    ap = parser(__doc__)
    ap.add_argument("--connections", type=int, default=50, help="wrk connections (default 50)")
    ap.add_argument("--seconds", type=float, help="seconds per sample (default 5; quick 3)")
    args = ap.parse_args()
    seconds = args.seconds or (3.0 if args.quick else 5.0)
    print_header("bench_openapi: signed Query Order vs a bare aiohttp handler", args)
    print(f"{args.connections} connections, 1 wrk thread, {seconds:.0f} s per sample\n")
    figures = Figures()
    with TempDir() as tmp, Processes() as procs:
        targets = await start_targets(procs, tmp)
        answered = measure(targets, args.runs, seconds, args.connections, figures)
        await check_journal(targets["emulator"].server, answered)
        procs.report_log("emulator")
    report(figures, args.connections)


async def check_journal(emulator: Server, answered: int) -> None:
    """wrk sees HTTP statuses only: the emulator's journal says whether it refused any call, and its
    latest id how many calls it verified and recorded (wrk's count leaves out the calls cut off at
    the end of each sample)."""
    await asyncio.sleep(1.0)  # the journal is written in batches
    async with aiohttp.ClientSession() as session:
        refused = (await call(session, "GET", emulator.url + API + "/inbound?accepted=false&limit=5"))["calls"]
        latest = (await call(session, "GET", emulator.url + API + "/inbound?accepted=true&limit=1"))["calls"]
    recorded = latest[0]["id"] if latest else 0
    print(f"journal: {recorded} accepted calls recorded, {len(refused)} refused; wrk counted {answered} answers "
          f"from the emulator")
    if refused:
        print(f"   ! a refused call: {refused[0]}")


def record(figures: Figures, loads: dict[str, Load]) -> None:
    emulator, bare = loads["emulator"], loads["bare"]
    if not (emulator.clean and bare.clean):
        print("   (this run had errors: left out of the figures)")
        figures.add("runs with errors", 1)
        return
    figures.add("emulator req/s", emulator.rps)
    figures.add("bare req/s", bare.rps)
    figures.add("ratio req/s emulator / bare", emulator.rps / bare.rps)
    figures.add("emulator p99 ms", emulator.p99_ms)
    figures.add("bare p99 ms", bare.p99_ms)
    figures.add("emulator p50 ms", emulator.p50_ms)


def report(figures: Figures, connections: int) -> None:
    print("\nsummary (min / median / max over the runs)")
    print("  " + figures.line("ratio req/s emulator / bare", goal=">= 0.6"))
    print("  " + figures.line("emulator p99 ms", fmt="{:.1f}", unit=" ms", goal="< 20 ms",
                              label=f"emulator p99 at {connections} clients"))
    for name, fmt, unit in (("emulator req/s", "{:.0f}", ""), ("bare req/s", "{:.0f}", ""),
                            ("emulator p50 ms", "{:.1f}", " ms"), ("bare p99 ms", "{:.1f}", " ms")):
        print("  " + figures.line(name, fmt=fmt, unit=unit))
    if figures.get("runs with errors"):
        print(f"  ! {len(figures.get('runs with errors'))} run(s) had non-2xx answers or socket errors")


if __name__ == "__main__":
    asyncio.run(amain())
