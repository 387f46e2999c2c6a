"""Delivery-engine benchmark: prints figures and ratios, asserts nothing.

Every server is a separate process (``python -m emulator serve --port 0 --print-url ...
--clock-mode manual``), so that the load generator (an aiohttp client in this process) and the
server never share a CPU-bound loop; every figure is set against a baseline measured in the same
run on the same machine.

1. Order creation at 50 concurrent clients (SQLite file store, built-in demo merchant on):
   orders/s, p50, p99, against a bare aiohttp server process that inserts one row into a SQLite
   file per request (sqlite3 in a worker thread) and answers JSON.
2. newInstance deliveries per second to a fast merchant process (a bare aiohttp handler), on
   PostgreSQL with one replica and with two replicas sharing the database (orders placed half on
   each), and on SQLite with one process. Two ways:
   - live: orders placed by the clients while the pipeline delivers them; the time from the first
     order to the last newInstance succeeded;
   - drain: orders placed first with newInstance due one emulated minute later (manual clock, so
     nothing is sent), then the clock is switched to scaled (600x) on every replica and the time
     until every newInstance succeeded is taken: the sender pool alone.
   Baseline: bare aiohttp POSTs of canonical bodies to the same merchant handler, concurrency 32
   (the emulator's per-merchant cap of one process).
3. One emulated year for N monthly subscriptions (SQLite; default merchant policies): creation
   time (printed apart), then the time of ``POST /clock/advance {"days": 366}`` and the attempts
   it fired (counted by the merchant, per activity).

Each measured window also prints the CPU cores every process group used (servers, merchant,
PostgreSQL, this client) and the machine's load average: on a shared machine other work skews the
figures, and a server far below one core is waiting, not computing.

Run: .venv/bin/python bench/bench_engine.py [--quick] [--only orders|deliveries|year]
     [--seconds S] [--deliveries K] [--subscriptions N] [--clients C]
     (--quick: 4 s loads, 300 orders per delivery run, 1,000 subscriptions: under two minutes on a
     2-core machine. The full run's 10,000 subscriptions take far longer than 10 minutes to create on
     the engine of 2026-12-02, whose claim query grows with the scheduled backlog; --subscriptions
     3000 keeps the full run near 8 minutes.)
"""

from __future__ import annotations

import argparse
import asyncio
import os
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path
from typing import Any, Callable, Optional

import aiohttp

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from emulator.protocol.canonical import canonical_body  # noqa: E402
from emulator.protocol.signing import new_nonce  # noqa: E402

API = "/sandbox/api/v1"
CLOCK_START = "2026-01-01T00:00:00"
DRAIN_SPEED = 600  # scaled clock of the drain: the one emulated minute passes in 0.1 s
FAR_S = 7 * 86400  # queryInstance polling pushed out of the measured windows (the longest override)
BARE_CONCURRENCY = 32  # = scheduler.PER_MERCHANT

# A fast merchant: answers every activity correctly (unique instanceId per newInstance, the
# queried instance ready at once), does not check signatures, counts what it received.
# The end of each embedded server: serve ROUTES on a free loopback port and print the URL.
SERVE_ROUTES = r"""
async def main():
    app = web.Application()
    for method, path, handler in ROUTES:
        app.router.add_route(method, path, handler)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", 0).start()
    print("http://127.0.0.1:%d" % runner.addresses[0][1], flush=True)
    await asyncio.Event().wait()
asyncio.run(main())
"""

MERCHANT = r"""
import asyncio, json
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
""" + SERVE_ROUTES

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
""" + SERVE_ROUTES


# -- processes ---------------------------------------------------------------------------------
class Processes:
    """Every child this benchmark starts; all are stopped at the end, whatever happens."""

    def __init__(self, logs: Path) -> None:
        self.logs = logs
        self.running: dict[subprocess.Popen[str], str] = {}
        self.cleanups: list[Callable[[], None]] = []  # e.g. stop the PostgreSQL server

    async def start(self, name: str, argv: list[str], env: Optional[dict[str, str]] = None) -> tuple[subprocess.Popen[str], str]:
        """Start a server that prints its URL on its first stdout line; (process, URL)."""
        log = self.logs / f"{name}.log"
        with open(log, "w") as stderr:
            proc = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=stderr, env=env, cwd=ROOT, text=True)
        self.running[proc] = name
        assert proc.stdout is not None
        try:
            url = (await asyncio.wait_for(asyncio.to_thread(proc.stdout.readline), 60)).strip()
        except asyncio.TimeoutError:
            url = ""
        if not url.startswith("http"):
            self.stop(proc)
            raise RuntimeError(f"{name} did not start: {log.read_text()[-2000:]}")
        return proc, url

    def stop(self, proc: subprocess.Popen[str]) -> None:
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
            try:
                proc.wait(20)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
        self.running.pop(proc, None)

    def stop_all(self) -> None:
        for proc in list(self.running):
            self.stop(proc)
        while self.cleanups:
            self.cleanups.pop()()

    def problems(self, name: str) -> list[str]:
        """Warnings, errors and tracebacks the server logged (level WARNING and up)."""
        path = self.logs / f"{name}.log"
        if not path.exists():
            return []
        return [line for line in path.read_text(errors="replace").splitlines() if line.strip()]


def emulator_env(demo_merchant: bool) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("KOOGALLERY_")}
    env.update(KOOGALLERY_LOG_LEVEL="WARNING", KOOGALLERY_CLOCK_START=CLOCK_START,
               KOOGALLERY_DEMO_MERCHANT="true" if demo_merchant else "false")
    return env


async def start_emulator(procs: Processes, name: str, database: str, demo_merchant: bool
                         ) -> tuple[subprocess.Popen[str], str]:
    return await procs.start(name, [sys.executable, "-m", "emulator", "serve", "--port", "0", "--print-url",
                                    "--database", database, "--clock-mode", "manual"],
                             env=emulator_env(demo_merchant))


def report_log(procs: Processes, name: str) -> None:
    lines = procs.problems(name)
    if not lines:
        return
    kinds = Counter("ERROR" if " ERROR " in l else "WARNING" if " WARNING " in l else "" for l in lines)
    print(f"    ! {name} logged {kinds['ERROR']} error and {kinds['WARNING']} warning line(s) "
          f"({len(lines)} lines in all); first: {lines[0][:200]}")


def _cpu_s(pid: int) -> float:
    """CPU seconds of a process, its threads and its reaped children."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return sum(int(f) for f in fields[11:15]) / os.sysconf("SC_CLK_TCK")


def _tree(pid: int) -> list[int]:
    """The process and its live descendants (the PostgreSQL server: runuser, postmaster, backends)."""
    children: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                ppid = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
            except (OSError, IndexError, ValueError):
                continue
            children.setdefault(ppid, []).append(int(entry.name))
    found, todo = [], [pid]
    while todo:
        current = todo.pop()
        found.append(current)
        todo.extend(children.get(current, []))
    return found


class CpuMeter:
    """Cores used by each group of processes (and by this benchmark) over a measured window."""

    def __init__(self, groups: dict[str, list[int]]) -> None:
        self.groups = groups

    def _sample(self) -> dict[str, float]:
        sample = {name: sum(_cpu_s(p) for root in roots for p in _tree(root)) for name, roots in self.groups.items()}
        sample["bench client"] = time.process_time()
        return sample

    def __enter__(self) -> "CpuMeter":
        self._start, self._t0 = self._sample(), time.perf_counter()
        return self

    def __exit__(self, *_exc: object) -> None:
        end, elapsed = self._sample(), time.perf_counter() - self._t0
        self.cores = {name: (end[name] - self._start[name]) / elapsed for name in end}

    def line(self) -> str:
        used = ", ".join(f"{name} {cores:.2f}" for name, cores in self.cores.items())
        return f"CPU cores used: {used}; machine load average {os.getloadavg()[0]:.1f}"


# -- HTTP helpers ------------------------------------------------------------------------------
def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(q * (len(ordered) - 1))))]


async def call(session: aiohttp.ClientSession, method: str, url: str, body: Any = None,
               timeout: Optional[float] = 60) -> Any:
    async with session.request(method, url, json=body, timeout=aiohttp.ClientTimeout(total=timeout)) as response:
        data = await response.json(content_type=None)
        if response.status >= 400:
            raise RuntimeError(f"{method} {url}: HTTP {response.status}: {data}")
        return data


async def order_load(bases: list[str], product: str, clients: int, count: Optional[int] = None,
                     seconds: Optional[float] = None) -> tuple[int, float, list[float], int]:
    """``clients`` loops POSTing orders (client i to bases[i % len]) until ``count`` orders or
    ``seconds`` have passed; (orders, elapsed s, latencies ms, errors)."""
    latencies: list[float] = []
    errors = 0
    issued = 0
    connector = aiohttp.TCPConnector(limit=0, force_close=False)
    async with aiohttp.ClientSession(connector=connector, timeout=aiohttp.ClientTimeout(total=120)) as session:
        started = time.perf_counter()
        deadline = started + seconds if seconds is not None else None

        async def client(i: int) -> None:
            nonlocal issued, errors
            url = bases[i % len(bases)] + API + "/orders"
            while True:
                if count is not None and issued >= count:
                    return
                if deadline is not None and time.perf_counter() >= deadline:
                    return
                issued += 1
                t0 = time.perf_counter()
                try:
                    async with session.post(url, json={"product": product}) as response:
                        await response.read()
                        ok = response.status == 201
                except aiohttp.ClientError:
                    ok = False
                if ok:
                    latencies.append((time.perf_counter() - t0) * 1000)
                else:
                    errors += 1

        await asyncio.gather(*(client(i) for i in range(clients)))
        elapsed = time.perf_counter() - started
    return len(latencies), elapsed, latencies, errors


async def wait_no_pending(session: aiohttp.ClientSession, base: str, merchant: str, activity: str,
                          limit_s: float = 900.0, poll_s: float = 0.05) -> bool:
    """Until no delivery of this merchant and activity is pending (False on time-out)."""
    url = f"{base}{API}/deliveries?merchant_id={merchant}&activity={activity}&outcome=pending&limit=1"
    deadline = time.perf_counter() + limit_s
    while time.perf_counter() < deadline:
        if not (await call(session, "GET", url))["deliveries"]:
            return True
        await asyncio.sleep(poll_s)
    return False


async def count_listed(session: aiohttp.ClientSession, base: str, what: str, **filters: str) -> int:
    """How many rows a paged list of the control API (``deliveries``, ``instances``) holds."""
    total, offset = 0, 0
    query = "&".join(f"{k}={v}" for k, v in filters.items())
    while True:
        page = (await call(session, "GET", f"{base}{API}/{what}?{query}&limit=1000&offset={offset}"))[what]
        total += len(page)
        if len(page) != 1000:  # the last page (or an unpaged list)
            return total
        offset += 1000


async def check_sent(session: aiohttp.ClientSession, base: str, merchant: str, merchant_id: str,
                     expected_succeeded: int, expected_received: int, errors: int) -> None:
    """Say so when a run lost or duplicated anything (a figure is worthless then)."""
    received = (await call(session, "GET", merchant + "/_count")).get("newInstance", 0)
    succeeded = await count_deliveries(session, base, merchant_id=merchant_id, activity="newInstance",
                                       outcome="succeeded")
    if succeeded != expected_succeeded or received != expected_received or errors:
        print(f"      ! succeeded {succeeded} (expected {expected_succeeded}), merchant received {received} "
              f"newInstance (expected {expected_received}), {errors} order errors")


async def count_deliveries(session: aiohttp.ClientSession, base: str, **filters: str) -> int:
    return await count_listed(session, base, "deliveries", **filters)


async def create_bench_merchant(session: aiohttp.ClientSession, base: str, merchant: str, url: str,
                                overrides: Optional[dict[str, Any]] = None) -> str:
    body: dict[str, Any] = {"id": merchant, "name": merchant, "production_url": url + "/produce",
                            "access_key": "bench-key"}
    if overrides:
        body["retry_overrides"] = overrides
    await call(session, "POST", base + API + "/merchants", body)
    product = merchant + "-monthly"
    await call(session, "POST", base + API + "/products", {
        "code": product, "merchant_id": merchant, "name": product, "charging_mode": "PERIOD", "period_type": "month"})
    return product


# -- 1. order creation -------------------------------------------------------------------------
async def bench_orders(procs: Processes, tmp: Path, seconds: float, clients: int) -> None:
    print(f"1. order creation, {clients} concurrent clients, {seconds:.0f} s each (SQLite file store)")
    rates, p99s = {}, {}
    for label in ("bare", "emulator"):
        if label == "bare":
            proc, base = await procs.start("bare-orders", [sys.executable, "-c", BARE_ORDERS, str(tmp / "bare.db")])
        else:
            proc, base = await start_emulator(procs, "orders", str(tmp / "orders.db"), demo_merchant=True)
        try:
            await order_load([base], "demo-saas-monthly", clients, count=200)  # warm-up, not counted
            with CpuMeter({"server": [proc.pid]}) as cpu:
                done, elapsed, latencies, errors = await order_load([base], "demo-saas-monthly", clients,
                                                                    seconds=seconds)
        finally:
            procs.stop(proc)
        rates[label], p99s[label] = done / elapsed, percentile(latencies, 0.99)
        print(f"   {'bare aiohttp + sqlite3 insert' if label == 'bare' else 'emulator (demo merchant on)':32}"
              f"{rates[label]:8.0f} orders/s   p50 {statistics.median(latencies):6.1f} ms   "
              f"p99 {p99s[label]:6.1f} ms   ({done} orders, {errors} errors)")
        print(f"      {cpu.line()}")
    report_log(procs, "orders")
    print(f"   ratio emulator / bare orders/s: {rates['emulator'] / rates['bare']:.2f} (goal >= 0.3); "
          f"emulator p99 {p99s['emulator']:.1f} ms (goal < 50 ms)")


# -- 2. deliveries per second ------------------------------------------------------------------
async def bare_deliveries(merchant: str, count: int, concurrency: int) -> float:
    """Bare aiohttp POSTs of canonical newInstance bodies (not signed) to the same merchant."""
    limit = asyncio.Semaphore(concurrency)
    async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=256)) as session:
        async def one(i: int) -> None:
            body = canonical_body({"activity": "newInstance", "orderId": f"CS{i:015d}",
                                   "orderLineId": f"CS{i:015d}-000001", "businessId": f"b-{i}", "testFlag": "0"})
            async with limit:
                async with session.post(f"{merchant}/produce?nonce={new_nonce()}", data=body,
                                        headers={"Content-Type": "application/json;charset=utf8"}) as r:
                    await r.read()

        started = time.perf_counter()
        await asyncio.gather(*(one(i) for i in range(count)))
        return count / (time.perf_counter() - started)


async def deliveries_config(procs: Processes, label: str, databases: list[str], merchant: str, count: int,
                            clients: int, others: dict[str, list[int]]) -> dict[str, float]:
    """One configuration (one or more replicas): live and drain newInstance rates."""
    replicas = []
    names = []
    try:
        for i, database in enumerate(databases):  # one after the other: the first creates the schema
            names.append(f"deliveries-{label}-{i + 1}")
            replicas.append(await start_emulator(procs, names[-1], database, demo_merchant=False))
        bases = [base for _proc, base in replicas]
        groups = {"emulator" if len(replicas) == 1 else "replicas": [proc.pid for proc, _base in replicas], **others}
        rates: dict[str, float] = {}
        async with aiohttp.ClientSession() as session:
            far = {"query_poll": {"attempts": 1, "interval_s": 0, "first_delay_s": FAR_S}}
            live = await create_bench_merchant(session, bases[0], "live", merchant, far)
            pile = await create_bench_merchant(session, bases[0], "pile", merchant, {
                **far, "purchase": {"attempts": 4, "interval_s": 3600, "first_delay_s": 60}})
            await order_load(bases, live, clients, count=50)  # warm-up
            await wait_no_pending(session, bases[0], "live", "newInstance")
            await call(session, "POST", merchant + "/_reset")

            # live: orders and their deliveries at the same time
            started = time.perf_counter()
            with CpuMeter(groups) as cpu:
                placed, placing_s, _lat, errors = await order_load(bases, live, clients, count=count)
                drained = await wait_no_pending(session, bases[0], "live", "newInstance")
            live_s = time.perf_counter() - started
            rates["live"] = placed / live_s
            print(f"   {label:24} live : {placed} orders placed in {placing_s:5.2f} s ({placed / placing_s:5.0f}/s), "
                  f"all delivered after {live_s:5.2f} s -> {rates['live']:6.0f} deliveries/s"
                  f"{'' if drained else ' (TIMED OUT)'}")
            print(f"      {cpu.line()}")
            await check_sent(session, bases[0], merchant, "live", placed + 50, placed, errors)

            # drain: orders piled up on the manual clock, then released at once
            await call(session, "POST", merchant + "/_reset")
            placed, placing_s, _lat, errors = await order_load(bases, pile, clients, count=count)
            started = time.perf_counter()
            with CpuMeter(groups) as cpu:
                await asyncio.gather(*(call(session, "PUT", base + API + "/clock",
                                            {"mode": "scaled", "speed": DRAIN_SPEED}) for base in bases))
                drained = await wait_no_pending(session, bases[0], "pile", "newInstance")
            drain_s = time.perf_counter() - started
            rates["drain"] = placed / drain_s
            print(f"   {label:24} drain: {placed} piled-up newInstance sent and recorded in {drain_s:5.2f} s "
                  f"-> {rates['drain']:6.0f} deliveries/s{'' if drained else ' (TIMED OUT)'}")
            print(f"      {cpu.line()}")
            await check_sent(session, bases[0], merchant, "pile", placed, placed, errors)
        return rates
    finally:
        for proc, _base in replicas:
            procs.stop(proc)
        for name in names:
            report_log(procs, name)


async def bench_deliveries(procs: Processes, tmp: Path, count: int, clients: int) -> None:
    print(f"2. newInstance deliveries/s, {count} orders per run, {clients} order clients "
          f"(fast merchant process, no signature check)")
    merchant_proc, merchant = await procs.start("merchant-deliveries", [sys.executable, "-c", MERCHANT])
    pg: Any = None
    try:
        await bare_deliveries(merchant, 200, BARE_CONCURRENCY)  # warm-up
        with CpuMeter({"merchant": [merchant_proc.pid]}) as cpu:
            bare = await bare_deliveries(merchant, count, BARE_CONCURRENCY)
        print(f"   {'bare aiohttp POSTs':24}       {count} POSTs, concurrency {BARE_CONCURRENCY} "
              f"-> {bare:6.0f} POSTs/s")
        print(f"      {cpu.line()}")
        await call_merchant_reset(merchant)
        others = {"merchant": [merchant_proc.pid]}
        sqlite = await deliveries_config(procs, "SQLite, 1 process", [str(tmp / "deliveries.db")], merchant,
                                         count, clients, others)
        from tests.postgres import PostgresServer, _binary

        if not _binary("initdb") or not _binary("postgres"):
            print("   PostgreSQL is not installed (no initdb/postgres binaries): the replica figures are skipped")
            return
        pg = await asyncio.to_thread(PostgresServer)
        procs.cleanups.append(pg.stop)
        others["postgres"] = [pg.process.pid]
        one = await deliveries_config(procs, "PostgreSQL, 1 replica", [pg.new_database()], merchant, count, clients,
                                      others)
        database = pg.new_database()
        two = await deliveries_config(procs, "PostgreSQL, 2 replicas", [database, database], merchant, count,
                                      clients, others)
        for way in ("live", "drain"):
            print(f"   {way:5}: two replicas / one = {two[way] / one[way]:.2f} (goal >= 1.6); "
                  f"emulator / bare: SQLite {sqlite[way] / bare:.2f}, PostgreSQL 1 replica {one[way] / bare:.2f}, "
                  f"2 replicas {two[way] / bare:.2f}")
    finally:
        procs.stop(merchant_proc)
        if pg is not None:
            procs.cleanups.remove(pg.stop)
            await asyncio.to_thread(pg.stop)


async def call_merchant_reset(merchant: str) -> None:
    async with aiohttp.ClientSession() as session:
        await call(session, "POST", merchant + "/_reset")


# -- 3. one emulated year ----------------------------------------------------------------------
async def bench_year(procs: Processes, tmp: Path, subscriptions: int, clients: int) -> None:
    print(f"3. one emulated year (366 days) for {subscriptions} monthly subscriptions (SQLite, default policies)")
    merchant_proc, merchant = await procs.start("merchant-year", [sys.executable, "-c", MERCHANT])
    proc, base = await start_emulator(procs, "year", str(tmp / "year.db"), demo_merchant=False)
    try:
        async with aiohttp.ClientSession() as session:
            product = await create_bench_merchant(session, base, "bench", merchant)
            started = time.perf_counter()
            placed, placing_s, _lat, errors = await order_load([base], product, clients, count=subscriptions)
            await wait_no_pending(session, base, "bench", "newInstance")
            created_s = time.perf_counter() - started
            print(f"   creation: {placed} orders in {placing_s:.1f} s ({placed / placing_s:.0f}/s), every newInstance "
                  f"succeeded after {created_s:.1f} s{f', {errors} order errors' if errors else ''}")
            await call(session, "POST", merchant + "/_reset")
            started = time.perf_counter()
            with CpuMeter({"emulator": [proc.pid], "merchant": [merchant_proc.pid]}) as cpu:
                clock = await call(session, "POST", base + API + "/clock/advance", {"days": 366}, timeout=3600)
            year_s = time.perf_counter() - started
            fired = await call(session, "GET", merchant + "/_count")
            attempts = sum(fired.values())
            states = {state: n for state in ("pending", "active", "frozen", "released", "failed")
                      if (n := await count_listed(session, base, "instances", merchant_id="bench", state=state))}
            pending = await count_deliveries(session, base, merchant_id="bench", outcome="pending")
            print(f"   advance 366 days: {year_s:.1f} s (goal < 60 s), {attempts} attempts fired "
                  f"-> {attempts / year_s:.0f} attempts/s; clock now {clock.get('now')}")
            print(f"   fired per activity: {dict(sorted(fired.items()))}; instances: {states}; "
                  f"deliveries still pending: {pending}")
            print(f"      {cpu.line()}")
    finally:
        procs.stop(proc)
        procs.stop(merchant_proc)
        report_log(procs, "year")


async def amain(args: argparse.Namespace, procs: Processes, tmp: Path) -> None:
    print(f"bench_engine on {os.cpu_count()} CPU(s){' (quick)' if args.quick else ''}, "
          f"load average {os.getloadavg()[0]:.1f} at the start (other work on the machine skews every figure)")
    overall = time.perf_counter()
    for figure in args.only or ["orders", "deliveries", "year"]:
        started = time.perf_counter()
        if figure == "orders":
            await bench_orders(procs, tmp, args.seconds, args.clients)
        elif figure == "deliveries":
            await bench_deliveries(procs, tmp, args.deliveries, args.clients)
        else:
            await bench_year(procs, tmp, args.subscriptions, args.clients)
        print(f"   ({time.perf_counter() - started:.0f} s)")
    print(f"total {time.perf_counter() - overall:.0f} s")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--quick", action="store_true", help="shorter loads, 1,000 subscriptions")
    parser.add_argument("--clients", type=int, default=50)
    parser.add_argument("--seconds", type=float, help="order-creation load per server, s (10; quick 4)")
    parser.add_argument("--deliveries", type=int, help="orders per delivery run (2000; quick 300)")
    parser.add_argument("--subscriptions", type=int, help="subscriptions of the year (10000; quick 1000)")
    parser.add_argument("--only", action="append", choices=("orders", "deliveries", "year"))
    args = parser.parse_args()
    args.seconds = args.seconds or (4.0 if args.quick else 10.0)
    args.deliveries = args.deliveries or (300 if args.quick else 2000)
    args.subscriptions = args.subscriptions or (1000 if args.quick else 10_000)

    tmp = Path(tempfile.mkdtemp(prefix="koogallery-bench-"))
    procs = Processes(tmp)
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))  # so that the children are stopped
    try:
        asyncio.run(amain(args, procs, tmp))
    finally:
        procs.stop_all()
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
