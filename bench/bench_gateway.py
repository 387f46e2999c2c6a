"""Gateway benchmark: calls forwarded by the emulator to a stub Agents backend, against the same
calls sent to that backend directly, with two backends.

Why two figures:

* **Realistic backend** (``--backend-ms``, default 20 ms): the stub waits that long before it
  answers (``asyncio.sleep``: no CPU), as an Agents backend takes time to produce a reply. With
  ``--connections`` callers the direct path tops out near connections / service time; the
  forwarded path reaches the same figure when the gateway's own work per call does not make the
  callers wait. This is the figure the goal (forwarded >= half of direct) is about.
* **Zero-work backend**: the stub answers at once, so the direct figure is what one bare aiohttp
  process answers per second and the forwarded figure is the gateway's own cost laid bare: per
  call it parses a request, makes a request of its own, parses its reply and answers, in one
  Python process next to the backend and the load generator. It cannot come near the direct
  figure (the gateway does at least three times the work of the backend it calls); it is printed
  as the measure of the gateway's overhead, without a goal.

The backend is one bare aiohttp process answering ``POST /agents/chat`` (at once) and
``POST /agents-slow/chat`` (after the service time) with a JSON reply carrying ``usage`` (PROTOCOL
§14.1); it does no JWT check, so both paths cost the backend the same. The emulator (``python -m
emulator serve``, SQLite file store, manual clock) serves one product per backend path, in AK/SK
mode: per call it checks the buyer's key, adds the §14.1 headers and a fresh HS256 JWT, forwards,
reads the reply, checks ``usage``, answers and records the call in its journal.

Load: wrk (or the harness's Python fallback, labelled), ``--connections`` (50) connections, 5 s per
sample (quick: 3 s), after a warm-up; each run measures the four paths, forwarded and direct in
alternating order.

Figures: calls/s forwarded and direct and their ratio for each backend, p99 of each, and the
emulator's CPU time per forwarded call (zero-work backend, the emulator alone).

Run: .venv/bin/python bench/bench_gateway.py [--runs 3] [--connections 50] [--seconds 5]
     [--backend-ms 20] [--quick]
"""

from __future__ import annotations

import asyncio

import aiohttp

from harness import (
    API, CpuMeter, Figures, Load, Processes, TempDir, bare_server_argv, call, http_load, ordered,
    cpu_seconds, parser, print_header, start_emulator,
)

BODY = '{"messages":[{"role":"user","content":"hello"}]}'
STUB = r"""
import asyncio, sys
from aiohttp import web
REPLY = b'{"data":"hi","usage":{"completion_tokens":217,"prompt_tokens":31,"total_tokens":248}}'
SERVICE_S = float(sys.argv[1]) / 1000
async def chat(request):
    await request.read()
    return web.Response(body=REPLY, content_type="application/json")
async def slow_chat(request):
    await request.read()
    await asyncio.sleep(SERVICE_S)
    return web.Response(body=REPLY, content_type="application/json")
ROUTES = [("POST", "/agents/chat", chat), ("POST", "/agents-slow/chat", slow_chat)]
"""


def sample(label: str, url: str, headers: dict[str, str], pids: list[int], seconds: float, connections: int,
           emulator_pid: int = 0) -> tuple[Load, float]:
    """One load sample; also the emulator's CPU seconds per call when ``emulator_pid`` is given."""
    before = cpu_seconds(emulator_pid) if emulator_pid else 0.0
    with CpuMeter({label: pids}) as cpu:
        load = http_load(url, seconds, connections, method="POST", headers=headers, body=BODY)
    per_call_us = (cpu_seconds(emulator_pid) - before) / load.requests * 1e6 if emulator_pid and load.requests else 0.0
    print(f"   {label:14} {load.describe()}")
    print(f"                  {cpu.line()}" + (f"; emulator {per_call_us:.0f} µs CPU per call" if per_call_us else ""))
    return load, per_call_us


async def amain() -> None:
    ap = parser(__doc__)
    ap.add_argument("--connections", type=int, default=50, help="connections (default 50)")
    ap.add_argument("--seconds", type=float, help="seconds per sample (default 5; quick 3)")
    ap.add_argument("--backend-ms", type=float, default=20.0,
                    help="service time of the realistic backend, in ms (default 20)")
    args = ap.parse_args()
    seconds = args.seconds or (3.0 if args.quick else 5.0)
    print_header("bench_gateway: forwarded calls vs direct calls to the same backend", args)
    print(f"  backends: zero-work, and realistic ({args.backend_ms:g} ms per call, no CPU); "
          f"{args.connections} connections\n")
    figures = Figures()
    with TempDir() as tmp, Processes() as procs:
        stub = procs.start("backend", bare_server_argv(STUB, str(args.backend_ms)))
        emulator = await start_emulator(procs, "emulator", str(tmp / "gateway.db"))
        orders: dict[str, str] = {}
        access: dict[str, dict] = {}
        async with aiohttp.ClientSession() as session:
            for code, backend in (("bench-agent", "/agents"), ("bench-agent-slow", "/agents-slow")):
                await call(session, "POST", emulator.url + API + "/products",
                           {"code": code, "merchant_id": "demo", "name": f"Bench agent {code}",
                            "charging_mode": "ON_DEMAND"}, expect=(201,))
                await call(session, "PUT", emulator.url + API + f"/products/{code}/gateway",
                           {"kind": "agents", "backend_url": stub.url + backend, "http_method": "POST"},
                           expect=(201,))
                order = await call(session, "POST", emulator.url + API + "/orders", {"product": code},
                                   expect=(201,))
                orders[code] = order["order_id"]
                access[code] = await call(session, "GET", emulator.url + API + f"/orders/{order['order_id']}/gateway")
        json_headers = {"Content-Type": "application/json"}

        def forwarded(code: str) -> tuple[str, dict[str, str], list[int]]:
            return (access[code]["endpoint"] + "/chat", {**json_headers, "Authorization": access[code]["authorization"]},
                    [emulator.pid, stub.pid])

        paths = {
            "gateway": forwarded("bench-agent"),
            "direct": (stub.url + "/agents/chat", json_headers, [stub.pid]),
            "gateway slow": forwarded("bench-agent-slow"),
            "direct slow": (stub.url + "/agents-slow/chat", json_headers, [stub.pid]),
        }
        print("warm-up")
        for label, (url, headers, pids) in paths.items():
            sample(label, url, headers, pids, min(seconds, 2.0), args.connections)
        for run in range(args.runs):
            print(f"run {run + 1}/{args.runs}")
            loads: dict[str, Load] = {}
            for pair in (["gateway", "direct"], ["gateway slow", "direct slow"]):
                for label in ordered(run, pair):
                    loads[label], per_call = sample(label, *paths[label], seconds, args.connections,
                                                    emulator.pid if label == "gateway" else 0)
                    if label == "gateway" and loads[label].clean:
                        figures.add("emulator CPU µs per forwarded call", per_call)
            for suffix, name in (("", "zero-work"), (" slow", "realistic")):
                forwarded_load, direct_load = loads["gateway" + suffix], loads["direct" + suffix]
                if not (forwarded_load.clean and direct_load.clean):
                    print(f"   (the {name} pair had errors: left out of the figures)")
                    continue
                figures.add(f"{name}: forwarded calls/s", forwarded_load.rps)
                figures.add(f"{name}: direct calls/s", direct_load.rps)
                figures.add(f"{name}: ratio", forwarded_load.rps / direct_load.rps)
                figures.add(f"{name}: forwarded p99 ms", forwarded_load.p99_ms)
                figures.add(f"{name}: direct p99 ms", direct_load.p99_ms)
        await asyncio.sleep(1.0)  # the call journal is written in batches
        async with aiohttp.ClientSession() as session:
            for code, order_id in orders.items():
                totals = (await call(session, "GET", emulator.url + API + f"/orders/{order_id}/gateway"))["totals"]
                print(f"journal, {code}: {totals['calls']} calls recorded, {totals['failed']} failed, "
                      f"{totals['billed_tokens']} tokens billed")
        procs.report_log("emulator")
    rows = (("forwarded calls/s", "{:.0f}", ""), ("direct calls/s", "{:.0f}", ""),
            ("forwarded p99 ms", "{:.1f}", " ms"), ("direct p99 ms", "{:.1f}", " ms"))
    print("\nsummary (min / median / max over the runs)")
    print(f"  realistic backend ({args.backend_ms:g} ms per call): what a buyer of an Agents product sees")
    print("    " + figures.line("realistic: ratio", goal=">= 0.5", label="ratio forwarded / direct"))
    for name, fmt, unit in rows:
        print("    " + figures.line(f"realistic: {name}", fmt=fmt, unit=unit, label=name))
    print("  zero-work backend: the gateway's own cost per call, no goal (it does several times the")
    print("  work of the bare backend it is compared with, on the same cores)")
    print("    " + figures.line("zero-work: ratio", label="ratio forwarded / direct"))
    for name, fmt, unit in rows:
        print("    " + figures.line(f"zero-work: {name}", fmt=fmt, unit=unit, label=name))
    print("    " + figures.line("emulator CPU µs per forwarded call", fmt="{:.0f}", unit=" µs"))


if __name__ == "__main__":
    asyncio.run(amain())
