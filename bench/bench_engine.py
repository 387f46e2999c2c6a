"""Delivery-engine benchmark: order creation, deliveries per second and a 13-month clock walk, each
against a bare baseline measured in the same run. Prints, asserts nothing.

Every server is its own process (``python -m emulator serve --port 0 --print-url ... --clock-mode
manual``, SQLite file stores); each run measures the emulator and its baseline in alternating
order; the figures are min / median / max over ``--runs`` runs.

1. Order creation: wrk (one thread, ``--clients`` = 50 connections, ``--seconds`` per sample)
   POSTs ``{"product": "demo-saas-monthly"}`` to ``/sandbox/api/v1/orders`` of the emulator (demo
   merchant on, so every order is delivered while the load runs) and of a bare aiohttp process
   that inserts one row into a SQLite file per request (sqlite3 in a worker thread). After each
   emulator sample the benchmark waits until its newInstance calls are all delivered, so that the
   next sample starts on an idle machine. Goals: orders/s >= 0.3 x bare, p99 < 50 ms.
2. newInstance deliveries per second to a fast merchant process (a bare aiohttp handler), one
   SQLite emulator process started fresh for each run, two ways:
   - live: orders placed by 50 Python clients while the pipeline delivers them; from the first
     order to the last newInstance succeeded;
   - drain: orders placed first with newInstance due one emulated minute later (manual clock, so
     nothing is sent), then the clock is switched to scaled (600x) and the time until every
     newInstance succeeded is taken: the sender pool alone.
   Baseline: bare aiohttp POSTs of the same canonical newInstance bodies to the same merchant, at
   the emulator's per-merchant concurrency (32). Goal: deliveries/s >= 0.5 x bare.
   ``--postgres`` adds one and two replicas on a throw-away PostgreSQL server (tests/postgres.py),
   with their ratio (goal two / one >= 1.6).
3. The walk: ``--subscriptions`` monthly subscriptions are created once (printed apart) and the
   store is copied; each run starts an emulator on a fresh copy and times
   ``POST /sandbox/api/v1/clock/advance {"days": 396}`` (13 emulated months: every queryInstance,
   FREEZE and release), counting the attempts the merchant received; baseline: bare aiohttp POSTs
   to the same merchant at concurrency 32 (attempts/s ÷ POSTs/s). Goal: 10,000 subscriptions in
   < 60 s. A run's walk is skipped when the walks so far plus one more would pass
   ``--walk-budget`` seconds (the first always runs).

Each sample prints the CPU cores every process used (servers, merchant, load generator, this
client) and the load average: on a shared machine other work moves every figure.

Run: .venv/bin/python bench/bench_engine.py [--quick] [--runs 3] [--only orders|deliveries|walk]
     [--clients 50] [--seconds S] [--deliveries K] [--subscriptions N] [--walk-budget S] [--postgres]
Cost on a 2-core machine shared with other work (emulator of 2026-12-02): --quick (3 s samples,
300 orders per delivery sample, 1,000 subscriptions) about 1.5 minutes; the default (10 s samples,
2,000 orders, 10,000 subscriptions) about 8 minutes, of which the walk takes about 4 (creating the
subscriptions once, about 70 s, then three walks of about 50 s; --walk-budget 480 caps the walks);
--postgres adds about 3 minutes.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import re
import shutil
import time
from pathlib import Path
from typing import Any, Optional

import aiohttp

from harness import (
    API, CpuMeter, Figures, Load, Processes, Server, TempDir, bare_server_argv, call, http_load, ordered,
    parser, print_header, sqlite_files, start_emulator,
)

from emulator.protocol.canonical import canonical_body  # after harness, which puts the checkout on sys.path
from emulator.protocol.signing import new_nonce

DRAIN_SPEED = 600  # scaled clock of the drain: the one emulated minute passes in 0.1 s
FAR_S = 7 * 86400  # queryInstance polling pushed out of the measured windows
BARE_CONCURRENCY = 32  # = the scheduler's per-merchant cap
WALK_DAYS = 396  # 13 emulated months

# A fast merchant: answers every activity correctly (unique instanceId per newInstance, the
# queried instance ready at once), does not check signatures, counts what it received.
MERCHANT = r"""
import json
from collections import Counter
from aiohttp import web
received = Counter()
async def produce(request):
    body = json.loads(await request.read())
    activity = body.get("activity")
    received[activity] += 1
    if activity == "queryInstance":
        ids = [i for i in str(body.get("instanceId", "")).split(",") if i]
        return web.json_response({"resultCode": "000000", "resultMsg": "success.",
                                  "info": [{"instanceId": i} for i in ids]})
    return web.json_response({"resultCode": "000000", "resultMsg": "success.",
                              "instanceId": "i-" + (body.get("businessId") or request.query.get("nonce", ""))})
async def count(request):
    return web.json_response(dict(received))
async def reset(request):
    received.clear()
    return web.json_response({})
ROUTES = [("POST", "/produce", produce), ("GET", "/_count", count), ("POST", "/_reset", reset)]
"""

# The baseline of order creation: one row into a SQLite file per request, in a worker thread.
BARE_ORDERS = r"""
import asyncio, json, sqlite3, sys, threading, uuid
from aiohttp import web
db = sqlite3.connect(sys.argv[1], check_same_thread=False, isolation_level=None)
db.execute("PRAGMA journal_mode=WAL")
db.execute("PRAGMA synchronous=NORMAL")
db.execute("CREATE TABLE IF NOT EXISTS orders (id TEXT PRIMARY KEY, product TEXT NOT NULL, "
           "status TEXT NOT NULL, created_at TEXT NOT NULL)")
lock = threading.Lock()
def insert(order_id, product):
    with lock:
        db.execute("BEGIN IMMEDIATE")
        db.execute("INSERT INTO orders VALUES (?, ?, 'paid', datetime('now'))", (order_id, product))
        db.execute("COMMIT")
async def create(request):
    body = json.loads(await request.read())
    order_id = "CS" + uuid.uuid4().hex[:15].upper()
    await asyncio.to_thread(insert, order_id, body["product"])
    return web.json_response({"order_id": order_id, "product": body["product"], "status": "paid"}, status=201)
ROUTES = [("POST", "/sandbox/api/v1/orders", create)]
"""


# -- control-API helpers ---------------------------------------------------------------------
async def order_load(bases: list[str], product: str, clients: int, count: int) -> tuple[int, float, int]:
    """``clients`` Python loops POSTing orders (client i to bases[i % len]) until ``count`` orders;
    (orders placed, elapsed s, errors)."""
    placed = errors = issued = 0
    connector = aiohttp.TCPConnector(limit=0)
    async with aiohttp.ClientSession(connector=connector, timeout=aiohttp.ClientTimeout(total=120)) as session:
        async def client(i: int) -> None:
            nonlocal placed, errors, issued
            url = bases[i % len(bases)] + API + "/orders"
            while issued < count:
                issued += 1
                try:
                    async with session.post(url, json={"product": product}) as response:
                        await response.read()
                        ok = response.status == 201
                except aiohttp.ClientError:
                    ok = False
                placed, errors = placed + ok, errors + (not ok)

        started = time.perf_counter()
        await asyncio.gather(*(client(i) for i in range(clients)))
        return placed, time.perf_counter() - started, errors


async def wait_no_pending(session: aiohttp.ClientSession, base: str, merchant: str, activity: str,
                          limit_s: float = 900.0) -> bool:
    """Until no delivery of this merchant and activity is pending (False on time-out)."""
    url = f"{base}{API}/deliveries?merchant_id={merchant}&activity={activity}&outcome=pending&limit=1"
    deadline = time.perf_counter() + limit_s
    while time.perf_counter() < deadline:
        if not (await call(session, "GET", url))["deliveries"]:
            return True
        await asyncio.sleep(0.05)
    return False


async def count_listed(session: aiohttp.ClientSession, base: str, what: str, **filters: str) -> int:
    """How many rows a paged list of the control API (``deliveries``, ``instances``) holds."""
    total, offset = 0, 0
    query = "&".join(f"{k}={v}" for k, v in filters.items())
    while True:
        page = (await call(session, "GET", f"{base}{API}/{what}?{query}&limit=1000&offset={offset}"))[what]
        total += len(page)
        if len(page) < 1000:
            return total
        offset += 1000


async def create_bench_merchant(session: aiohttp.ClientSession, base: str, merchant: str, url: str,
                                overrides: Optional[dict[str, Any]] = None) -> str:
    """A merchant served by the fast merchant process, and its monthly product; the product code."""
    body: dict[str, Any] = {"id": merchant, "name": merchant, "production_url": url + "/produce",
                            "access_key": "bench-key"}
    if overrides:
        body["retry_overrides"] = overrides
    await call(session, "POST", base + API + "/merchants", body)
    product = merchant + "-monthly"
    await call(session, "POST", base + API + "/products", {
        "code": product, "merchant_id": merchant, "name": product, "charging_mode": "PERIOD", "period_type": "month"})
    return product


async def merchant_count(merchant: str, reset: bool = False) -> dict[str, int]:
    """What the fast merchant received per activity (and clear it)."""
    async with aiohttp.ClientSession() as session:
        counts = await call(session, "GET", merchant + "/_count")
        if reset:
            await call(session, "POST", merchant + "/_reset")
        return counts


async def bare_posts(merchant: str, count: int, concurrency: int = BARE_CONCURRENCY) -> float:
    """Bare aiohttp POSTs of canonical newInstance bodies (not signed) to the merchant; POSTs/s."""
    limit = asyncio.Semaphore(concurrency)
    async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=256)) as session:
        async def one(i: int) -> None:
            body = canonical_body({"activity": "newInstance", "orderId": f"CS{i:015d}",
                                   "orderLineId": f"CS{i:015d}-000001", "businessId": f"b-{i}", "testFlag": "0"})
            async with limit:
                async with session.post(f"{merchant}/produce?nonce={new_nonce()}", data=body,
                                        headers={"Content-Type": "application/json;charset=utf8"}) as response:
                    await response.read()

        started = time.perf_counter()
        await asyncio.gather(*(one(i) for i in range(count)))
        return count / (time.perf_counter() - started)


async def measured_bare_posts(merchant: Server, count: int) -> float:
    await merchant_count(merchant.url, reset=True)
    with CpuMeter({"merchant": [merchant.pid]}) as cpu:
        rate = await bare_posts(merchant.url, count)
    print(f"   {'bare aiohttp POSTs':24} {count} POSTs, concurrency {BARE_CONCURRENCY}: {rate:6.0f} POSTs/s")
    print(f"      {cpu.line()}")
    await merchant_count(merchant.url, reset=True)
    return rate


# -- 1. order creation -----------------------------------------------------------------------
ORDER_BODY = json.dumps({"product": "demo-saas-monthly"})


def order_sample(label: str, server: Server, seconds: float, clients: int) -> Load:
    with CpuMeter({label: [server.pid]}) as cpu:
        load = http_load(server.url + API + "/orders", seconds, clients, method="POST",
                         headers={"Content-Type": "application/json"}, body=ORDER_BODY)
    print(f"   {label:9} {load.describe()}")
    print(f"             {cpu.line()}")
    return load


async def settle_demo(emulator: Server) -> float:
    """Wait until the demo merchant received every newInstance; seconds waited."""
    started = time.perf_counter()
    async with aiohttp.ClientSession() as session:
        await wait_no_pending(session, emulator.url, "demo", "newInstance")
    return time.perf_counter() - started


async def bench_orders(procs: Processes, tmp: Path, args: argparse.Namespace, figures: Figures) -> None:
    print(f"1. order creation: wrk, {args.clients} connections, {args.seconds:.0f} s per sample")
    servers = {"bare": procs.start("bare-orders", bare_server_argv(BARE_ORDERS, str(tmp / "bare.db"))),
               "emulator": await start_emulator(procs, "orders", str(tmp / "orders.db"))}
    print("   warm-up")
    for label, server in servers.items():
        order_sample(label, server, min(2.0, args.seconds), args.clients)
    await settle_demo(servers["emulator"])
    for run in range(args.runs):
        print(f"   run {run + 1}/{args.runs}")
        loads: dict[str, Load] = {}
        for label in ordered(run, ["emulator", "bare"]):
            loads[label] = order_sample(label, servers[label], args.seconds, args.clients)
            if label == "emulator":
                print(f"             its newInstance calls all delivered {await settle_demo(servers[label]):.1f} s "
                      f"after the sample")
        emulator, bare = loads["emulator"], loads["bare"]
        if emulator.clean and bare.clean:
            figures.add("orders: emulator / bare orders/s", emulator.rps / bare.rps)
            figures.add("orders: emulator p99 ms", emulator.p99_ms)
            figures.add("orders: emulator p50 ms", emulator.p50_ms)
            figures.add("orders: emulator orders/s", emulator.rps)
            figures.add("orders: bare orders/s", bare.rps)
        else:
            print("             (errors in this run: left out of the figures)")
    for server in servers.values():
        procs.stop(server.proc)
    procs.report_log("orders")


# -- 2. deliveries per second ----------------------------------------------------------------
async def deliveries_config(procs: Processes, label: str, databases: list[str], merchant: Server, count: int,
                            clients: int, others: dict[str, list[int]]) -> dict[str, float]:
    """One configuration (one or more replicas, started fresh): live and drain newInstance rates."""
    replicas: list[Server] = []
    try:
        for i, database in enumerate(databases):  # one after the other: the first creates the schema
            name = f"deliveries-{re.sub(r'[^A-Za-z0-9]+', '-', label)}-{i + 1}"
            replicas.append(await start_emulator(procs, name, database, demo_merchant=False))
        bases = [server.url for server in replicas]
        groups = {"emulator" if len(replicas) == 1 else "replicas": [s.pid for s in replicas], **others}
        async with aiohttp.ClientSession() as session:
            far = {"query_poll": {"attempts": 1, "interval_s": 0, "first_delay_s": FAR_S}}
            live = await create_bench_merchant(session, bases[0], "live", merchant.url, far)
            pile = await create_bench_merchant(session, bases[0], "pile", merchant.url, {
                **far, "purchase": {"attempts": 4, "interval_s": 3600, "first_delay_s": 60}})
            await order_load(bases, live, clients, 50)  # warm-up
            await wait_no_pending(session, bases[0], "live", "newInstance")
            await merchant_count(merchant.url, reset=True)
            return {"live": await live_rate(session, label, bases, live, merchant, count, clients, groups),
                    "drain": await drain_rate(session, label, bases, pile, merchant, count, clients, groups)}
    finally:
        for server in replicas:
            procs.stop(server.proc)
            procs.report_log(server.name)


async def live_rate(session: aiohttp.ClientSession, label: str, bases: list[str], product: str, merchant: Server,
                    count: int, clients: int, groups: dict[str, list[int]]) -> float:
    """Orders and their deliveries at the same time: orders / (first order -> last newInstance)."""
    started = time.perf_counter()
    with CpuMeter(groups) as cpu:
        placed, placing_s, errors = await order_load(bases, product, clients, count)
        drained = await wait_no_pending(session, bases[0], "live", "newInstance")
    elapsed = time.perf_counter() - started
    print(f"   {label:24} live : {placed} orders placed in {placing_s:5.2f} s, all delivered after {elapsed:5.2f} s "
          f"-> {placed / elapsed:6.0f} deliveries/s{'' if drained else ' (TIMED OUT)'}")
    print(f"      {cpu.line()}")
    await check_received(merchant, placed, errors)
    return placed / elapsed


async def drain_rate(session: aiohttp.ClientSession, label: str, bases: list[str], product: str, merchant: Server,
                     count: int, clients: int, groups: dict[str, list[int]]) -> float:
    """Orders piled up on the manual clock, then released at once: orders / time to send them all."""
    placed, _placing_s, errors = await order_load(bases, product, clients, count)
    started = time.perf_counter()
    with CpuMeter(groups) as cpu:
        await asyncio.gather(*(call(session, "PUT", base + API + "/clock", {"mode": "scaled", "speed": DRAIN_SPEED})
                               for base in bases))
        drained = await wait_no_pending(session, bases[0], "pile", "newInstance")
    elapsed = time.perf_counter() - started
    print(f"   {label:24} drain: {placed} piled-up newInstance sent and recorded in {elapsed:5.2f} s "
          f"-> {placed / elapsed:6.0f} deliveries/s{'' if drained else ' (TIMED OUT)'}")
    print(f"      {cpu.line()}")
    await check_received(merchant, placed, errors)
    return placed / elapsed


async def check_received(merchant: Server, expected: int, errors: int) -> None:
    """Say so when a run lost or duplicated a call, or an order failed (the figure is worthless then)."""
    received = (await merchant_count(merchant.url, reset=True)).get("newInstance", 0)
    if received != expected or errors:
        print(f"      ! the merchant received {received} newInstance (expected {expected}); {errors} order errors")


async def bench_deliveries(procs: Processes, tmp: Path, args: argparse.Namespace, figures: Figures) -> None:
    print(f"2. newInstance deliveries/s, {args.deliveries} orders per sample, {args.clients} order clients "
          f"(fast merchant process, no signature check)")
    merchant = procs.start("merchant-deliveries", bare_server_argv(MERCHANT))
    others = {"merchant": [merchant.pid]}
    pg = start_postgres(procs) if args.postgres else None
    if pg is not None:
        others["postgres"] = [pg.process.pid]
    await bare_posts(merchant.url, 200)  # warm-up
    for run in range(args.runs):
        print(f"   run {run + 1}/{args.runs}")
        rates: dict[str, float] = {}
        for side in ordered(run, ["emulator", "bare"]):
            if side == "bare":
                rates["bare"] = await measured_bare_posts(merchant, max(args.deliveries, 2000))
                continue
            sqlite = await deliveries_config(procs, "SQLite, 1 process", [str(tmp / f"deliveries-{run}.db")],
                                             merchant, args.deliveries, args.clients, others)
            rates.update({f"SQLite {way}": rate for way, rate in sqlite.items()})
            if pg is not None:
                rates.update(await postgres_configs(procs, pg, merchant, args, others))
        for name, rate in rates.items():
            if name != "bare":
                figures.add(f"deliveries: {name} / bare", rate / rates["bare"])
                figures.add(f"deliveries: {name} /s", rate)
        figures.add("deliveries: bare POSTs/s", rates["bare"])
        if pg is not None:
            for way in ("live", "drain"):
                figures.add(f"deliveries: PostgreSQL {way} two replicas / one",
                            rates[f"PostgreSQL 2 replicas {way}"] / rates[f"PostgreSQL 1 replica {way}"])
    procs.stop(merchant.proc)


def start_postgres(procs: Processes) -> Any:
    """A throw-away PostgreSQL server (the test suite's), or None when it is not installed."""
    from tests.postgres import PostgresServer, _binary

    if not _binary("initdb") or not _binary("postgres"):
        print("   PostgreSQL is not installed (no initdb/postgres binaries): the replica figures are skipped")
        return None
    pg = PostgresServer()
    procs.cleanups.append(pg.stop)
    return pg


async def postgres_configs(procs: Processes, pg: Any, merchant: Server, args: argparse.Namespace,
                           others: dict[str, list[int]]) -> dict[str, float]:
    one = await deliveries_config(procs, "PostgreSQL, 1 replica", [pg.new_database()], merchant, args.deliveries,
                                  args.clients, others)
    database = pg.new_database()
    two = await deliveries_config(procs, "PostgreSQL, 2 replicas", [database, database], merchant, args.deliveries,
                                  args.clients, others)
    return {**{f"PostgreSQL 1 replica {w}": r for w, r in one.items()},
            **{f"PostgreSQL 2 replicas {w}": r for w, r in two.items()}}


# -- 3. the 13-month walk --------------------------------------------------------------------
async def make_walk_template(procs: Processes, tmp: Path, merchant: Server, subscriptions: int,
                             clients: int) -> Path:
    """A store with ``subscriptions`` delivered monthly subscriptions, closed cleanly; its path."""
    template = tmp / "walk-template.db"
    emulator = await start_emulator(procs, "walk-template", str(template), demo_merchant=False)
    async with aiohttp.ClientSession() as session:
        product = await create_bench_merchant(session, emulator.url, "bench", merchant.url)
        started = time.perf_counter()
        placed, placing_s, errors = await order_load([emulator.url], product, clients, subscriptions)
        await wait_no_pending(session, emulator.url, "bench", "newInstance")
    print(f"   creation (once): {placed} orders in {placing_s:.1f} s ({placed / placing_s:.0f}/s), every newInstance "
          f"succeeded after {time.perf_counter() - started:.1f} s{f'; {errors} order errors' if errors else ''}")
    procs.stop(emulator.proc)  # SIGTERM: the emulator saves its clock and closes the store
    procs.report_log("walk-template")
    return template


def copy_store(template: Path, target: Path) -> None:
    for path in sqlite_files(template):
        shutil.copyfile(path, target.parent / (target.name + path.name[len(template.name):]))


async def walk(procs: Processes, tmp: Path, template: Path, run: int, merchant: Server) -> tuple[float, int]:
    """Advance 13 months on a fresh copy of the template; (seconds, attempts fired)."""
    database = tmp / f"walk-{run}.db"
    copy_store(template, database)
    emulator = await start_emulator(procs, "walk", str(database), demo_merchant=False)
    await merchant_count(merchant.url, reset=True)
    try:
        async with aiohttp.ClientSession() as session:
            started = time.perf_counter()
            with CpuMeter({"emulator": [emulator.pid], "merchant": [merchant.pid]}) as cpu:
                clock = await call(session, "POST", emulator.url + API + "/clock/advance", {"days": WALK_DAYS},
                                   timeout=3600)
            elapsed = time.perf_counter() - started
            fired = await merchant_count(merchant.url, reset=True)
            released = await count_listed(session, emulator.url, "instances", merchant_id="bench", state="released")
            pending = await count_listed(session, emulator.url, "deliveries", merchant_id="bench", outcome="pending")
    finally:
        procs.stop(emulator.proc)
    attempts = sum(fired.values())
    print(f"   {'walk':24} advance {WALK_DAYS} days: {elapsed:6.1f} s, {attempts} attempts fired "
          f"-> {attempts / elapsed:5.0f} attempts/s; clock now {clock.get('now')}")
    print(f"      fired per activity {dict(sorted(fired.items()))}; {released} instances released; "
          f"{pending} deliveries still pending")
    print(f"      {cpu.line()}")
    return elapsed, attempts


async def bench_walk(procs: Processes, tmp: Path, args: argparse.Namespace, figures: Figures) -> None:
    print(f"3. the walk: {WALK_DAYS} emulated days for {args.subscriptions} monthly subscriptions "
          f"(SQLite, default policies), budget {args.walk_budget:.0f} s of walking")
    merchant = procs.start("merchant-walk", bare_server_argv(MERCHANT))
    template = await make_walk_template(procs, tmp, merchant, args.subscriptions, args.clients)
    bare_count = min(3 * args.subscriptions, 6000)
    await bare_posts(merchant.url, 200)  # warm-up
    walked = 0.0
    for run in range(args.runs):
        print(f"   run {run + 1}/{args.runs}")
        if run and walked / run + walked > args.walk_budget:
            print(f"      walk skipped: {walked:.0f} s of walks so far, the budget is {args.walk_budget:.0f} s")
            continue
        results: dict[str, Any] = {}
        for side in ordered(run, ["emulator", "bare"]):
            if side == "bare":
                results["bare"] = await measured_bare_posts(merchant, bare_count)
            else:
                results["walk"] = await walk(procs, tmp, template, run, merchant)
        seconds, attempts = results["walk"]
        walked += seconds
        figures.add("walk: seconds", seconds)
        figures.add("walk: attempts fired", attempts)
        figures.add("walk: attempts/s", attempts / seconds)
        figures.add("walk: attempts/s / bare POSTs/s", attempts / seconds / results["bare"])
    procs.stop(merchant.proc)
    procs.report_log("walk")


# -- the report ------------------------------------------------------------------------------
def report(figures: Figures, args: argparse.Namespace) -> None:
    print("\nsummary (min / median / max over the runs)")
    goals = {"orders: emulator / bare orders/s": ">= 0.3", "orders: emulator p99 ms": "< 50 ms",
             "deliveries: SQLite live / bare": ">= 0.5", "deliveries: SQLite drain / bare": ">= 0.5",
             "deliveries: PostgreSQL live two replicas / one": ">= 1.6",
             "deliveries: PostgreSQL drain two replicas / one": ">= 1.6",
             "walk: seconds": f"< 60 s for 10,000 subscriptions (this: {args.subscriptions})"}
    for name in figures.values:
        if name.endswith(" ms") or name == "walk: seconds":
            fmt, unit = "{:.1f}", " ms" if name.endswith(" ms") else " s"
        else:
            fmt, unit = "{:.2f}" if " / " in name else "{:.0f}", ""  # a ratio, or a rate / count
        print("  " + figures.line(name, fmt=fmt, unit=unit, goal=goals.get(name, "")))


def options() -> argparse.Namespace:
    ap = parser(__doc__)
    ap.add_argument("--clients", type=int, default=50, help="concurrent clients / wrk connections (50)")
    ap.add_argument("--seconds", type=float, help="order-creation sample per server, s (10; quick 3)")
    ap.add_argument("--deliveries", type=int, help="orders per delivery sample (2000; quick 300)")
    ap.add_argument("--subscriptions", type=int, help="subscriptions of the walk (10000; quick 1000)")
    ap.add_argument("--walk-budget", type=float, default=480.0, help="seconds of walking over all runs (480)")
    ap.add_argument("--postgres", action="store_true", help="also one and two replicas on PostgreSQL")
    ap.add_argument("--only", action="append", choices=("orders", "deliveries", "walk"))
    args = ap.parse_args()
    args.seconds = args.seconds or (3.0 if args.quick else 10.0)
    args.deliveries = args.deliveries or (300 if args.quick else 2000)
    args.subscriptions = args.subscriptions or (1000 if args.quick else 10_000)
    return args


async def amain() -> None:
    args = options()
    print_header("bench_engine: order creation, deliveries/s and the 13-month walk against bare baselines", args)
    figures = Figures()
    benches = {"orders": bench_orders, "deliveries": bench_deliveries, "walk": bench_walk}
    overall = time.perf_counter()
    with TempDir() as tmp, Processes() as procs:
        for name in args.only or list(benches):
            started = time.perf_counter()
            await benches[name](procs, tmp, args, figures)
            print(f"   ({time.perf_counter() - started:.0f} s)\n", flush=True)
    report(figures, args)
    print(f"total {time.perf_counter() - overall:.0f} s")


if __name__ == "__main__":
    asyncio.run(amain())
