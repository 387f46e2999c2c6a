"""Store benchmark: list latencies of the control API and the emulator's peak memory with 1k, 10k and
100k orders in a SQLite store. Prints, asserts nothing.

Filling 100k orders through the HTTP API would take far too long, so each store is filled in bulk
before its server starts: the emulator is started once on the file (it creates the schema and
seeds the demo catalogue) and stopped; then the benchmark inserts N delivered purchases of
``demo-saas-monthly`` with SQLAlchemy Core executemany, rows shaped like those of
``emulator/marketplace/orders.py`` from the project's own tables (``emulator/store/tables.py``):
an order, its line, an active instance (acknowledged by the merchant), its succeeded newInstance
delivery (built by ``emulator.delivery.outbox.new_delivery``) and that delivery's attempt. The
orders are one emulated second apart, before the clock's start, so nothing is due.

Each run starts, for every size in alternating order, a fresh ``python -m emulator serve`` on that
store, warms it up, and times (one client, one call at a time, ``--calls`` calls each):

* GET /sandbox/api/v1/orders?merchant_id=demo&limit=50: the first page, and a page 90 % down the
  list, reached with the keyset cursor when the answer offers one (``next``), else with ``offset``;
* GET /sandbox/api/v1/instances?limit=50: first page and a page 90 % down (likewise);
* GET /sandbox/api/v1/deliveries?limit=50: the first page;

each call alternating with GET /healthz on the same server, the baseline (ratio = median of the
list calls / median of their healthz calls, per run). Then the server's peak RSS (VmHWM), against
the same server with an empty store (0 orders) as the baseline. Goal: peak RSS <= 150 MB at 100k.
Finally the SQL the server issued for those lists on the largest store (captured with a
SQLAlchemy event in a wrapper around ``python -m emulator serve``) and its EXPLAIN QUERY PLAN.

Run: .venv/bin/python bench/bench_store.py [--runs 3] [--sizes 1000,10000,100000] [--calls 20] [--quick]
     (2-core machine: default about 1.5 minutes; --quick, 10 calls per list, about 1 minute; the
     100k fill takes 15-35 s of either)
"""

from __future__ import annotations

import asyncio
import json
import re
import sqlite3
import statistics
import sys
import time
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any, Optional
from urllib.parse import parse_qsl, urlencode, urlsplit

import aiohttp
from sqlalchemy import insert
from sqlmodel import Session, create_engine, func, select

from harness import (
    API, Figures, Processes, Server, TempDir, call, emulator_argv, ordered, parser, peak_rss_mib, print_header,
    sqlite_files, start_emulator,
)

from emulator.delivery.outbox import new_delivery  # after harness, which puts the checkout on sys.path
from emulator.marketplace import lifecycle as lc
from emulator.marketplace.callbacks import Callback, CallbackKind
from emulator.marketplace.ids import new_customer_id, new_order_id, order_line_id
from emulator.marketplace.periods import expiry
from emulator.protocol.canonical import canonical_body
from emulator.store.tables import Attempt, ClockRow, Delivery, Instance, Merchant, Order, OrderLine, Product

PRODUCT = "demo-saas-monthly"
DEPTH = 0.9  # the deep page: 90 % down the list
PAGE = 50

# ``python -m emulator serve`` with every SELECT the server issues appended to a file (argv[1]).
CAPTURE = r"""
import json, runpy, sys
from sqlalchemy import event
from sqlalchemy.engine import Engine
log = open(sys.argv[1], "a")
@event.listens_for(Engine, "before_cursor_execute")
def capture(conn, cursor, statement, parameters, context, executemany):
    if statement.lstrip().upper().startswith("SELECT"):
        log.write(json.dumps({"sql": statement, "params": parameters}, default=str) + "\n")
        log.flush()
sys.argv = ["emulator"] + sys.argv[2:]
runpy.run_module("emulator", run_name="__main__", alter_sys=True)
"""


# -- filling a store -------------------------------------------------------------------------
@dataclass
class Templates:
    """One purchase's rows as the emulator builds them; the fill copies them with new ids and times."""

    order: dict[str, Any]
    line: dict[str, Any]
    instance: dict[str, Any]
    delivery: dict[str, Any]
    attempt: dict[str, Any]


def templates(merchant: Merchant, product: Product, at: datetime) -> Templates:
    order_id = "CS_TEMPLATE"
    line_id = order_line_id(order_id)
    expire_at = expiry(at, "month", 1, product.expiry_rounding)
    instance = Instance(key=line_id, merchant_id=merchant.id, order_id=order_id, product_id=product.id,
                        state=lc.ACTIVE, instance_id="i-template", ready=True, expire_at=expire_at, created_at=at)
    lc.plan_next_event(instance, product)
    delivery = new_delivery(merchant, Callback(CallbackKind.PURCHASE, line_id, order_id, line_id, test_flag="0"), at)
    body = canonical_body(delivery.params | {"activity": delivery.activity}).decode()
    return Templates(
        order=Order(id=order_id, merchant_id=merchant.id, order_type="NEW", status="delivered", buyer={},
                    test_flag="0", instance_key=line_id, created_at=at, seq=0).model_dump(),
        line=OrderLine(id=line_id, order_id=order_id, product_id=product.id, sku_code=product.sku_code,
                       charging_mode=product.charging_mode, period_type=product.period_type, period_number=1,
                       amount=str(Decimal(product.price)), expire_at=expire_at).model_dump(),
        instance=instance.model_dump(),
        delivery=delivery.model_dump(exclude={"id"}) | {
            "status": "succeeded", "slots_used": 1, "attempt_count": 1, "next_attempt_at": None,
            "last_verdict": "passed", "finished_at": at},
        attempt=Attempt(delivery_id=0, number=1, state="done", due_at=at, sent_at=at, sent_wall=at,
                        business_id="b", url=merchant.production_url + "?signature=x&timestamp=0&nonce=n",
                        request_headers={"Content-Type": merchant.content_type}, request_body=body,
                        response_status=200, response_headers={"Content-Type": "application/json"},
                        response_body='{"resultCode":"000000","resultMsg":"success.","instanceId":"i"}',
                        elapsed_ms=3.0, passed=True).model_dump(exclude={"id"}),
    )


def purchase_rows(t: Templates, order_id: str, seq: int, delivery_id: int, at: datetime,
                  expire_at: datetime) -> dict[str, dict[str, Any]]:
    """The five rows of one delivered purchase."""
    line_id = order_line_id(order_id)
    swap = {t.order["id"]: order_id, t.line["id"]: line_id}
    customer = new_customer_id()
    return {
        "order": t.order | {"id": order_id, "instance_key": line_id, "created_at": at, "seq": seq, "buyer": {
            "customer_id": customer, "customer_name": "mock_user_" + customer[:6], "customer_type": 0}},
        "line": t.line | {"id": line_id, "order_id": order_id, "expire_at": expire_at},
        "instance": t.instance | {"key": line_id, "order_id": order_id, "instance_id": "i-" + order_id,
                                  "created_at": at, "expire_at": expire_at, "next_event_at": expire_at},
        "delivery": t.delivery | {"id": delivery_id, "instance_key": line_id, "order_id": order_id,
                                  "params": {k: swap.get(v, v) for k, v in t.delivery["params"].items()},
                                  "schedule_start": at, "created_at": at, "finished_at": at},
        "attempt": t.attempt | {"delivery_id": delivery_id, "business_id": "b-" + order_id, "due_at": at,
                                "sent_at": at, "sent_wall": at},
    }


def fill(database: Path, count: int) -> float:
    """Insert ``count`` delivered purchases (executemany); seconds taken."""
    started = time.perf_counter()
    engine = create_engine(f"sqlite:///{database}")
    with Session(engine) as session:
        merchant = session.get(Merchant, "demo")
        product = session.exec(select(Product).where(Product.code == PRODUCT)).one()
        clock = session.get(ClockRow, 1)
        assert merchant is not None and clock is not None
        seq = session.exec(select(func.max(Order.seq))).one() or 0
        delivery_id = session.exec(select(func.max(Delivery.id))).one() or 0
    now = clock.anchor_emulated
    t = templates(merchant, product, now)
    rows: dict[str, list[dict[str, Any]]] = {name: [] for name in ("order", "line", "instance", "delivery", "attempt")}
    taken: set[str] = set()
    for i in range(1, count + 1):
        at = now - timedelta(seconds=count + 1 - i)  # the newest one second before the clock
        order_id = new_order_id(at)
        while order_id in taken:
            order_id = new_order_id(at)
        taken.add(order_id)
        expire_at = expiry(at, "month", 1, product.expiry_rounding)
        for name, row in purchase_rows(t, order_id, seq + i, delivery_id + i, at, expire_at).items():
            rows[name].append(row)
    tables = {"order": Order, "line": OrderLine, "instance": Instance, "delivery": Delivery, "attempt": Attempt}
    with engine.begin() as connection:
        for name, table in tables.items():
            for chunk in range(0, count, 20_000):
                connection.execute(insert(table.__table__), rows[name][chunk:chunk + 20_000])  # type: ignore[attr-defined]
    engine.dispose()
    return time.perf_counter() - started


async def build_store(procs: Processes, database: Path, count: int) -> None:
    """The emulator creates the schema (and seeds the demo catalogue); then the bulk fill."""
    server = await start_emulator(procs, f"schema-{count}", str(database))
    procs.stop(server.proc)
    seconds = fill(database, count) if count else 0.0
    size = sum(p.stat().st_size for p in sqlite_files(database)) / (1 << 20)
    print(f"   store with {count:>6} orders: filled in {seconds:5.1f} s, {size:6.1f} MiB on disk", flush=True)


# -- the lists -------------------------------------------------------------------------------
def with_limit(path: str, limit: int) -> str:
    parts = urlsplit(path)
    query = dict(parse_qsl(parts.query)) | {"limit": str(limit)}
    return f"{parts.path}?{urlencode(query)}"


def next_page(path: str, page: dict[str, Any]) -> Optional[str]:
    """The path of the next page when the answer offers a keyset cursor (``next``/``cursor``), else None."""
    for key in ("next", "next_cursor", "cursor"):
        value = page.get(key)
        if value is None or isinstance(value, (list, dict)):
            continue
        if isinstance(value, str) and value.startswith(("/", "http")):
            parts = urlsplit(value)
            return f"{parts.path}?{parts.query}"
        parts = urlsplit(path)
        query = {k: v for k, v in parse_qsl(parts.query) if k != "offset"} | {"cursor": str(value)}
        return f"{parts.path}?{urlencode(query)}"
    return None


async def deep_page(session: aiohttp.ClientSession, base: str, what: str, query: str, rows: int
                    ) -> tuple[str, str]:
    """A page ``DEPTH`` of the way down a list: (path, how it was reached). The cursor, when the list
    offers one, is walked in pages of up to 1,000 rows that end exactly at that depth."""
    depth = int(rows * DEPTH)
    first = f"{API}/{what}?{query + '&' if query else ''}limit={PAGE}"
    path, seen, link = with_limit(first, min(1000, depth)), 0, None
    while depth:
        page = await call(session, "GET", base + path)
        seen, link = seen + len(page[what]), next_page(path, page)
        if link is None or seen >= depth:
            break
        path = with_limit(link, min(1000, depth - seen))
    if link is None:
        return f"{first}&offset={depth}", f"offset {depth}"
    return with_limit(link, PAGE), f"cursor after {seen} rows"


async def list_paths(base: str, rows: int) -> dict[str, str]:
    """The timed calls, by name (the deep pages found by walking the cursors, or by offset)."""
    async with aiohttp.ClientSession() as session:
        orders_deep, orders_how = await deep_page(session, base, "orders", "merchant_id=demo", rows)
        instances_deep, instances_how = await deep_page(session, base, "instances", "", rows)
    return {
        "orders, first page": f"{API}/orders?merchant_id=demo&limit={PAGE}",
        f"orders, deep page ({orders_how})": orders_deep,
        "instances, first page": f"{API}/instances?limit={PAGE}",
        f"instances, deep page ({instances_how})": instances_deep,
        "deliveries, first page": f"{API}/deliveries?limit={PAGE}",
    }


async def timed_get(session: aiohttp.ClientSession, url: str) -> float:
    started = time.perf_counter()
    async with session.get(url) as response:
        await response.read()
        if response.status != 200:
            raise RuntimeError(f"GET {url} -> HTTP {response.status}: {(await response.text())[:2000]}")
    return (time.perf_counter() - started) * 1000


async def measure_lists(server: Server, paths: dict[str, str], calls: int, figures: Figures, size: int) -> None:
    """Each list ``calls`` times, each call followed by GET /healthz; per-run ratio of the medians."""
    async with aiohttp.ClientSession() as session:
        for path in paths.values():  # warm-up
            await timed_get(session, server.url + path)
        for name, path in paths.items():
            listed, health = [], []
            for _ in range(calls):
                listed.append(await timed_get(session, server.url + path))
                health.append(await timed_get(session, server.url + "/healthz"))
            for ms in listed:
                figures.add(f"{size}|{name}|ms", ms)
            for ms in health:
                figures.add(f"{size}|healthz|ms", ms)
            figures.add(f"{size}|{name}|ratio", statistics.median(listed) / statistics.median(health))



# -- EXPLAIN QUERY PLAN ----------------------------------------------------------------------
async def explain(procs: Processes, tmp: Path, database: Path, paths: dict[str, str]) -> None:
    """Capture the SELECTs the server issues for the lists, and print their query plans."""
    log = tmp / "sql.jsonl"
    argv = [sys.executable, "-c", CAPTURE, str(log), *emulator_argv(str(database))[3:]]  # from "serve" on
    server = await start_emulator(procs, "capture", str(database), argv=argv)
    try:
        async with aiohttp.ClientSession() as session:
            for path in paths.values():  # warm-up; then let the start-up work end
                await timed_get(session, server.url + path)
            await asyncio.sleep(2.0)
            for name, path in paths.items():
                before = log.stat().st_size
                await timed_get(session, server.url + path)
                for statement, params in captured(log, before, LIST_TABLES[urlsplit(path).path.rsplit("/", 1)[-1]]):
                    print(f"   {name}:\n      {' '.join(statement.split())}")
                    for detail in query_plan(database, statement, params):
                        print(f"         {detail}")
    finally:
        procs.stop(server.proc)


LIST_TABLES = {"orders": "order", "instances": "instance", "deliveries": "delivery"}


def captured(log: Path, offset: int, table: str) -> list[tuple[str, Any]]:
    """The distinct SELECTs from ``table`` written to the log after ``offset``."""
    with open(log) as stream:
        stream.seek(offset)
        entries = [json.loads(line) for line in stream if line.strip()]
    found: dict[str, Any] = {}
    for entry in entries:
        first_from = re.search(r"\bFROM\s+(\S+)", entry["sql"])
        if first_from and first_from.group(1).strip('"') == table:
            found.setdefault(entry["sql"], entry["params"])
    return list(found.items())


def query_plan(database: Path, statement: str, params: Any) -> list[str]:
    connection = sqlite3.connect(f"file:{database}?mode=ro", uri=True)
    try:
        rows = connection.execute("EXPLAIN QUERY PLAN " + statement, params or ()).fetchall()
    except sqlite3.Error as exc:
        return [f"(no plan: {exc})"]
    finally:
        connection.close()
    return [row[-1] for row in rows]


# -- the benchmark ---------------------------------------------------------------------------
async def discover(procs: Processes, database: Path, size: int) -> dict[str, str]:
    """The timed calls of a store, found once on a server of their own: walking a cursor reads pages
    of 1,000 rows, which must not count in the peak memory of the measured servers."""
    server = await start_emulator(procs, f"discover-{size}", str(database))
    try:
        return await list_paths(server.url, size)
    finally:
        procs.stop(server.proc)


async def measure_size(procs: Processes, database: Path, size: int, paths: dict[str, str], calls: int,
                       figures: Figures) -> None:
    """A fresh server on the store: the lists, then its peak RSS."""
    server = await start_emulator(procs, f"store-{size}", str(database))
    try:
        await measure_lists(server, paths, calls, figures, size)
        figures.add(f"{size}|peak RSS|MiB", peak_rss_mib(server.pid))
        medians = ", ".join(f"{name.split(' (')[0]} {statistics.median(figures.get(f'{size}|{name}|ms')[-calls:]):.1f}"
                            for name in paths)
        print(f"   {size:>6} orders: medians ms {medians}; peak RSS {figures.get(f'{size}|peak RSS|MiB')[-1]:.0f} MiB")
    finally:
        procs.stop(server.proc)


def report(figures: Figures, sizes: list[int], paths: dict[int, dict[str, str]]) -> None:
    print("\nsummary: latency ms over all calls, and list / healthz (ratio of the medians of each run)")
    for size in sizes:
        print(f"  {size} orders")
        print("    " + figures.line(f"{size}|healthz|ms", fmt="{:.1f}", unit=" ms", label="GET /healthz (baseline)"))
        for name in paths[size]:
            print("    " + figures.line(f"{size}|{name}|ms", fmt="{:.1f}", unit=" ms", label=name))
            print("    " + figures.line(f"{size}|{name}|ratio", label="   ÷ healthz"))
    print("  peak RSS (VmHWM) after those requests, MiB, and ÷ the same with an empty store")
    print("    " + figures.line("0|peak RSS|MiB", fmt="{:.0f}", unit=" MiB", label="empty store (baseline)"))
    for size in sizes:
        goal = "<= 150 MB" if size >= 100_000 else ""
        print("    " + figures.line(f"{size}|peak RSS|MiB", fmt="{:.0f}", unit=" MiB", goal=goal,
                                    label=f"{size} orders"))
        print("    " + figures.line(f"{size}|peak RSS|ratio", label="   ÷ empty store"))


async def amain() -> None:
    ap = parser(__doc__)
    ap.add_argument("--sizes", default="1000,10000,100000", help="orders per store (1000,10000,100000)")
    ap.add_argument("--calls", type=int, help="calls per list and run (20; quick 10)")
    args = ap.parse_args()
    sizes = [int(s) for s in args.sizes.split(",")]
    calls = args.calls or (10 if args.quick else 20)
    print_header("bench_store: control-API lists and peak memory with 1k-100k orders (SQLite)", args,
                 with_load_generator=False)
    figures = Figures()
    with TempDir() as tmp, Processes() as procs:
        print("building the stores (the emulator creates each schema, then a bulk insert)")
        stores = {size: tmp / f"store-{size}.db" for size in [0, *sizes]}
        for size, database in stores.items():
            await build_store(procs, database, size)
        paths = {size: await discover(procs, database, size) for size, database in stores.items()}
        for run in range(args.runs):
            print(f"run {run + 1}/{args.runs}", flush=True)
            for size in ordered(run, list(stores)):
                await measure_size(procs, stores[size], size, paths[size], calls, figures)
            for size in sizes:
                figures.add(f"{size}|peak RSS|ratio",
                            figures.get(f"{size}|peak RSS|MiB")[-1] / figures.get("0|peak RSS|MiB")[-1])
        report(figures, sizes, paths)
        print(f"\nSQL of the lists on the {max(sizes)}-order store, and its EXPLAIN QUERY PLAN")
        await explain(procs, tmp, stores[max(sizes)], paths[max(sizes)])


if __name__ == "__main__":
    asyncio.run(amain())
