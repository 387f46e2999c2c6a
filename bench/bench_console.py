"""Console benchmark: the web console's long lists and its search with 100,000 deliveries in a SQLite
store, timed on the client and inside the server. Prints, asserts nothing.

The store is filled in bulk as ``bench_store.py`` fills its stores (the emulator creates the schema
and seeds the demo catalogue, then SQLAlchemy Core executemany inserts rows shaped like the
emulator's, copied from rows built by the emulator's own code): ``--deliveries`` deliveries
(100,000) over five merchants (the three demo merchants and two copies of ``demo``), created
over the six months before the clock's start, ids in time order. About 60 % are purchases
(an order, its line, an instance with the merchant's instanceId, a newInstance delivery); the
others are later calls on one of the merchant's earlier instances (refreshInstance with its
RENEWAL order and line, updateInstanceStatus, releaseInstance, queryInstance). Outcomes: about
88 % succeeded, 6 % exhausted, 4 % cancelled, 2 % scheduled (due weeks after the clock, which is
manual: nothing is sent); one attempt each, two for the exhausted ones and for one in five of
the others, every attempt with its own businessId. About 5 % is test traffic (``test_flag
"1"``, the order's and its deliveries'). Instances expire after the clock, so nothing is due.

Each run starts a fresh ``python -m emulator serve`` on the store, wrapped so that an aiohttp
middleware, outermost, records how long the server took over each request (handler and every
other middleware; the body of a page is written after it, a streamed download's before it).
One client, one call at a time, keep-alive over loopback, ``--calls`` calls of each page (a
download: fewer), each call followed by GET /healthz, the baseline:

* GET /deliveries: the first page; a deep page (``page=1500``, OFFSET 74,950); filtered by
  ``outcome=exhausted``, ``test=hide``, ``merchant_id=acme&activity=newInstance``,
  ``since=...&until=...`` (one month);
* GET /deliveries?q=: an exact order id, the same in lower case, a part of an order id, a businessId;
* GET /search?q=: an exact instance key (a 303, not followed), a part of an order id;
* GET /orders: the first page;
* GET /deliveries/export.csv?merchant_id=acme: every delivery of one merchant (rows/s).

Each page's figure is reported twice: on the client (request sent to body read, nothing
subtracted) and in the server (the middleware's); ratio = median of the page / median of its
healthz calls, per run. Goal: each page < 200 ms at 100k deliveries. Finally, on a server that
also captures every SELECT it issues (a SQLAlchemy event, as ``bench_store.py`` does), each
page once: its SQL statements and their EXPLAIN QUERY PLAN, flagging a full SCAN of a large
table (delivery, attempt, order, orderline, instance) and any USE TEMP B-TREE.

Run: .venv/bin/python bench/bench_console.py [--runs 3] [--deliveries 100000] [--calls 10] [--quick]
     (2-core machine: the 100k fill takes 20-40 s; --quick, 5 calls per page and 2 runs, about
     1.5 minutes in all; the default about 3 minutes)
"""

from __future__ import annotations

import asyncio
import json
import random
import re
import statistics
import sys
import time
import uuid
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any, Optional
from urllib.parse import unquote, urlencode

import aiohttp
from sqlalchemy import insert
from sqlmodel import Session, create_engine, select

from harness import (
    Figures, Processes, TempDir, emulator_argv, ordered, parser, print_header, sqlite_files,
    start_emulator,
)
from bench_store import query_plan, templates

from emulator.marketplace.ids import new_customer_id, new_order_id, order_line_id  # after harness (sys.path)
from emulator.store.tables import Attempt, ClockRow, Delivery, Instance, Merchant, Order, OrderLine, Product

GOAL_MS = 200.0
BIG_TABLES = ("delivery", "attempt", "order", "orderline", "instance")
#: merchant -> (share of the deliveries, its product's code); acme and globex are copies of demo.
MERCHANTS = {"demo": (0.40, "demo-saas-monthly"), "acme": (0.20, "acme-saas-monthly"),
             "globex": (0.10, "globex-saas-monthly"), "demo-joint": (0.15, "demo-joint-monthly"),
             "demo-license": (0.15, "demo-license-yearly")}
#: activity -> (share of the deliveries after the purchases, kind)
LATER = {"refreshInstance": (0.375, "renewal"), "updateInstanceStatus": (0.375, "freeze"),
         "releaseInstance": (0.125, "release"), "queryInstance": (0.125, "query")}
SPAN = timedelta(days=182)  # the deliveries' creation times: six months before the clock

# ``python -m emulator serve`` (argv[3:]) with an outermost middleware appending each request's
# handling time to argv[1], and, when argv[2] is not "-", every SELECT (with the request it served)
# appended to argv[2].
WRAPPER = r"""
import contextvars, json, runpy, sys, time
from aiohttp import web
import emulator.app as _app
_timing = open(sys.argv[1], "a", buffering=1)
_current = contextvars.ContextVar("bench_request", default="")
@web.middleware
async def _handling_time(request, handler):
    token = _current.set(request.raw_path)
    started = time.perf_counter()
    try:
        return await handler(request)
    finally:
        _timing.write(json.dumps({"path": request.raw_path, "ms": (time.perf_counter() - started) * 1000}) + "\n")
        _current.reset(token)
_create_app = _app.create_app
def _timed_app(settings):
    app = _create_app(settings)
    app.middlewares.insert(0, _handling_time)
    return app
_app.create_app = _timed_app
if sys.argv[2] != "-":
    from sqlalchemy import event
    from sqlalchemy.engine import Engine
    _sql = open(sys.argv[2], "a", buffering=1)
    @event.listens_for(Engine, "before_cursor_execute")
    def _capture(conn, cursor, statement, parameters, context, executemany):
        if statement.lstrip().upper().startswith("SELECT"):
            _sql.write(json.dumps({"sql": statement, "params": parameters, "request": _current.get()},
                                  default=str) + "\n")
sys.argv = ["emulator"] + sys.argv[3:]
runpy.run_module("emulator", run_name="__main__", alter_sys=True)
"""


# -- filling the store -----------------------------------------------------------------------
@dataclass
class Facts:
    """What the timed pages look for, taken from the fill."""

    deliveries: int = 0
    orders: int = 0
    attempts: int = 0
    merchant_rows: dict[str, int] = field(default_factory=dict)
    order_id: str = ""
    instance_key: str = ""
    business_id: str = ""
    since: str = ""
    until: str = ""


def _copy_merchants(session: Session) -> None:
    """acme and globex: copies of the demo merchant, each with a copy of demo-saas-monthly."""
    demo = session.get(Merchant, "demo")
    product = session.exec(select(Product).where(Product.code == "demo-saas-monthly")).one()
    assert demo is not None
    for name in ("acme", "globex"):
        if session.get(Merchant, name) is None:
            session.add(Merchant(**(demo.model_dump() | {"id": name, "name": name.title(), "builtin_stub": False})))
            session.add(Product(**(product.model_dump() | {
                "id": f"OFFI{name.upper()}", "code": f"{name}-saas-monthly", "merchant_id": name})))
    session.commit()


def fill(database: Path, count: int, seed: int = 7) -> Facts:
    """Insert ``count`` deliveries with their orders, lines, instances and attempts (executemany)."""
    rnd = random.Random(seed)
    engine = create_engine(f"sqlite:///{database}")
    with Session(engine) as session:
        clock = session.get(ClockRow, 1)
        assert clock is not None
        now = clock.anchor_emulated
        _copy_merchants(session)
        merchants = {m: session.get(Merchant, m) for m in MERCHANTS}
        products = {m: session.exec(select(Product).where(Product.code == code)).one()
                    for m, (_share, code) in MERCHANTS.items()}
    # One purchase of demo, built by the emulator's code; the other merchants' rows are copies of it
    # (a joint-operation or License body needs more than a template has: the list pages never read it).
    t = templates(merchants["demo"], products["demo"], now)  # type: ignore[arg-type]
    names, weights = list(MERCHANTS), [share for share, _code in MERCHANTS.values()]
    later, later_weights = list(LATER), [share for share, _kind in LATER.values()]
    rows: dict[str, list[dict[str, Any]]] = {name: [] for name in ("order", "line", "instance", "delivery", "attempt")}
    bought: dict[str, list[tuple[str, str, str, str]]] = {m: [] for m in MERCHANTS}  # key, order, instanceId, flag
    taken: set[str] = set()
    facts = Facts(deliveries=count)
    start, step = now - SPAN, SPAN / (count + 1)

    def order_row(t: Any, merchant: str, order_type: str, at: datetime, key: str, flag: str,
                  related: Optional[str]) -> str:
        order_id = new_order_id(at)
        while order_id in taken:
            order_id = new_order_id(at)
        taken.add(order_id)
        customer = new_customer_id()
        rows["order"].append(t.order | {
            "id": order_id, "merchant_id": merchant, "order_type": order_type, "instance_key": key,
            "related_order_id": related, "test_flag": flag, "created_at": at, "seq": len(rows["order"]) + 1,
            "buyer": {"customer_id": customer, "customer_name": "mock_user_" + customer[:6], "customer_type": 0}})
        rows["line"].append(t.line | {"id": order_line_id(order_id), "order_id": order_id,
                                      "product_id": products[merchant].id, "expire_at": at + timedelta(days=400)})
        return order_id

    for i in range(1, count + 1):
        at = start + step * i
        merchant = rnd.choices(names, weights)[0]
        purchase = not bought[merchant] or rnd.random() < 0.6
        if purchase:
            flag = "1" if rnd.random() < 0.05 else "0"
            order_id = new_order_id(at)
            while order_id in taken:
                order_id = new_order_id(at)
            key = order_line_id(order_id)
            taken.add(order_id)
            customer = new_customer_id()
            rows["order"].append(t.order | {
                "id": order_id, "merchant_id": merchant, "instance_key": key, "test_flag": flag, "created_at": at,
                "seq": len(rows["order"]) + 1, "buyer": {
                    "customer_id": customer, "customer_name": "mock_user_" + customer[:6], "customer_type": 0}})
            expire_at = now + timedelta(days=rnd.randint(30, 365))  # after the clock: nothing is due
            rows["line"].append(t.line | {"id": key, "order_id": order_id, "product_id": products[merchant].id,
                                          "expire_at": expire_at})
            instance_id = f"inst-{uuid.UUID(int=rnd.getrandbits(128)).hex[:20]}"
            rows["instance"].append(t.instance | {
                "key": key, "merchant_id": merchant, "order_id": order_id, "product_id": products[merchant].id,
                "instance_id": instance_id, "family": merchants[merchant].family, "created_at": at,  # type: ignore[union-attr]
                "expire_at": expire_at, "next_event_at": expire_at})
            bought[merchant].append((key, order_id, instance_id, flag))
            activity, kind, delivery_order = "newInstance", "purchase", order_id
            swap = {t.order["id"]: order_id, t.line["id"]: key}
            params = {k: swap.get(v, v) for k, v in t.delivery["params"].items()}
        else:
            key, origin, instance_id, flag = rnd.choice(bought[merchant])
            activity = rnd.choices(later, later_weights)[0]
            kind = LATER[activity][1]
            delivery_order = None
            if activity == "refreshInstance":
                delivery_order = order_row(t, merchant, "RENEWAL", at, key, flag, origin)
            params = {"instanceId": instance_id, "orderId": delivery_order or origin, "testFlag": flag}
        roll = rnd.random()
        status = ("succeeded" if roll < 0.88 else "exhausted" if roll < 0.94 else "cancelled" if roll < 0.98
                  else "scheduled")
        attempts = 2 if status == "exhausted" or (status == "succeeded" and rnd.random() < 0.2) else 1
        finished = at + timedelta(minutes=attempts) if status != "scheduled" else None
        rows["delivery"].append(t.delivery | {
            "id": i, "merchant_id": merchant, "instance_key": key, "order_id": delivery_order, "kind": kind,
            "activity": activity, "family": merchants[merchant].family, "params": params,  # type: ignore[union-attr]
            "test_flag": flag, "status": status, "schedule_start": at, "created_at": at, "finished_at": finished,
            "slots_used": attempts, "attempt_count": attempts,
            "next_attempt_at": now + timedelta(days=30) if status == "scheduled" else None,
            "last_verdict": "passed" if status == "succeeded" else "http_status"})
        for number in range(1, attempts + 1):
            passed = status == "succeeded" and number == attempts
            sent = at + timedelta(minutes=number - 1)
            rows["attempt"].append(t.attempt | {
                "delivery_id": i, "number": number, "business_id": str(uuid.UUID(int=rnd.getrandbits(128), version=4)),
                "due_at": sent, "sent_at": sent, "sent_wall": sent, "passed": passed,
                "response_status": 200 if passed else 500})
    tables = {"order": Order, "line": OrderLine, "instance": Instance, "delivery": Delivery, "attempt": Attempt}
    with engine.begin() as connection:
        for name, table in tables.items():
            for chunk in range(0, len(rows[name]), 20_000):
                connection.execute(insert(table.__table__), rows[name][chunk:chunk + 20_000])  # type: ignore[attr-defined]
        connection.exec_driver_sql("ANALYZE")  # as a long-lived store would have (PRAGMA optimize)
    engine.dispose()
    # What the pages look for: a purchase of acme about two thirds of the way down, and its attempt.
    middle = next(d for d in rows["delivery"][count // 3:] if d["merchant_id"] == "acme" and d["kind"] == "purchase")
    facts.order_id, facts.instance_key = middle["order_id"], middle["instance_key"]
    facts.business_id = next(a["business_id"] for a in rows["attempt"] if a["delivery_id"] == middle["id"])
    facts.orders, facts.attempts = len(rows["order"]), len(rows["attempt"])
    for d in rows["delivery"]:
        facts.merchant_rows[d["merchant_id"]] = facts.merchant_rows.get(d["merchant_id"], 0) + 1
    month = start + SPAN / 2
    facts.since, facts.until = f"{month:%Y-%m-%dT%H:%M}", f"{month + timedelta(days=30):%Y-%m-%dT%H:%M}"
    return facts


async def build_store(procs: Processes, database: Path, count: int) -> Facts:
    server = await start_emulator(procs, "schema", str(database))
    procs.stop(server.proc)
    started = time.perf_counter()
    facts = fill(database, count)
    seconds = time.perf_counter() - started
    size = sum(p.stat().st_size for p in sqlite_files(database)) / (1 << 20)
    print(f"   {facts.deliveries} deliveries, {facts.orders} orders, {facts.attempts} attempts "
          f"({', '.join(f'{m} {n}' for m, n in facts.merchant_rows.items())}): filled in {seconds:.1f} s, "
          f"{size:.1f} MiB on disk", flush=True)
    return facts


# -- the pages -------------------------------------------------------------------------------
def pages(facts: Facts) -> dict[str, str]:
    order = facts.order_id
    part = order[2:12]  # yyMMddHHmm of the order id: a few orders share it
    return {
        "deliveries, first page": "/deliveries",
        "deliveries, page 1500 (OFFSET 74950)": "/deliveries?page=1500",
        "deliveries, outcome=exhausted": "/deliveries?outcome=exhausted",
        "deliveries, test=hide": "/deliveries?test=hide",
        "deliveries, merchant + activity": "/deliveries?merchant_id=acme&activity=newInstance",
        "deliveries, since/until (1 month)": "/deliveries?" + urlencode({"since": facts.since, "until": facts.until}),
        "deliveries, q=order id": "/deliveries?q=" + order,
        "deliveries, q=order id lower case": "/deliveries?q=" + order.lower(),
        "deliveries, q=part of an order id": "/deliveries?q=" + part,
        "deliveries, q=businessId": "/deliveries?q=" + facts.business_id,
        "search, exact instance key (303)": "/search?" + urlencode({"q": facts.instance_key}),
        "search, part of an order id": "/search?q=" + part,
        "orders, first page": "/orders",
    }


EXPORT = "/deliveries/export.csv?merchant_id=acme"


async def timed_get(session: aiohttp.ClientSession, url: str) -> tuple[float, bytes]:
    """Milliseconds from sending to the whole body read, and the body (a redirect is not followed)."""
    started = time.perf_counter()
    async with session.get(url, allow_redirects=False) as response:
        body = await response.read()
        if response.status not in (200, 303):
            raise RuntimeError(f"GET {url} -> HTTP {response.status}: {body[:2000]!r}")
    return (time.perf_counter() - started) * 1000, body


def server_times(log: Path, offset: int) -> dict[str, list[float]]:
    """The server's handling times written after ``offset``, by path and query."""
    times: dict[str, list[float]] = {}
    with open(log) as stream:
        stream.seek(offset)
        for line in stream:
            if line.strip():
                entry = json.loads(line)
                times.setdefault(unquote(entry["path"]), []).append(entry["ms"])
    return times


def wrapped_argv(timing: Path, sql: Optional[Path], database: Path) -> list[str]:
    return [sys.executable, "-c", WRAPPER, str(timing), str(sql) if sql else "-", *emulator_argv(str(database))[3:]]


async def measure(procs: Processes, tmp: Path, database: Path, paths: dict[str, str], calls: int,
                  export_calls: int, figures: Figures) -> None:
    """A fresh (wrapped) server: every page ``calls`` times, each call followed by GET /healthz."""
    log = tmp / "timing.jsonl"
    server = await start_emulator(procs, "console", str(database), argv=wrapped_argv(log, None, database))
    try:
        async with aiohttp.ClientSession() as session:
            for path in paths.values():  # warm-up (the download's rows are the list's: warm after these)
                await timed_get(session, server.url + path)
            medians = []
            for name, path in ordered(len(figures.get("healthz|client")), list(paths.items())):
                offset = log.stat().st_size
                client, health = [], []
                for _ in range(calls):
                    client.append((await timed_get(session, server.url + path))[0])
                    health.append((await timed_get(session, server.url + "/healthz"))[0])
                inside = server_times(log, offset)
                served, health_served = inside.get(unquote(path), []), inside.get("/healthz", [])
                for ms in client:
                    figures.add(f"{name}|client", ms)
                for ms in served:
                    figures.add(f"{name}|server", ms)
                for ms in health:
                    figures.add("healthz|client", ms)
                for ms in health_served:
                    figures.add("healthz|server", ms)
                figures.add(f"{name}|ratio", statistics.median(client) / statistics.median(health))
                medians.append(f"{name.split(',', 1)[-1].strip()} {statistics.median(client):.0f}"
                               f"/{statistics.median(served):.0f}")
            offset = log.stat().st_size
            for _ in range(export_calls):
                ms, body = await timed_get(session, server.url + EXPORT)
                rows = body.count(b"\r\n") - 1
                figures.add("export|client", ms)
                figures.add("export|rows", rows)
                figures.add("export|rows/s", rows / (ms / 1000))
            for ms in server_times(log, offset).get(unquote(EXPORT), []):
                figures.add("export|server", ms)
        print("   medians ms (client/server): " + "; ".join(medians), flush=True)
        procs.report_log("console")
    finally:
        procs.stop(server.proc)


def report(figures: Figures, paths: dict[str, str], count: int) -> None:
    print(f"\nsummary at {count} deliveries: ms over all calls of all runs, client (sent to body read, over "
          "loopback with keep-alive)\nand server (its handling time, outermost middleware); ratio: client "
          "median / healthz median, per run")
    print("  " + figures.line("healthz|client", fmt="{:.1f}", unit=" ms", label="GET /healthz (baseline), client"))
    print("  " + figures.line("healthz|server", fmt="{:.2f}", unit=" ms", label="GET /healthz (baseline), server"))
    over = []
    for name in paths:
        print(f"  {name}")
        print("    " + figures.line(f"{name}|client", fmt="{:.1f}", unit=" ms", goal=f"< {GOAL_MS:.0f} ms",
                                    label="client"))
        print("    " + figures.line(f"{name}|server", fmt="{:.1f}", unit=" ms", label="server"))
        print("    " + figures.line(f"{name}|ratio", fmt="{:.1f}", label="client ÷ healthz"))
        if statistics.median(figures.get(f"{name}|client") or [0.0]) >= GOAL_MS:
            over.append(name)
    rows = figures.get("export|rows")
    print(f"  CSV export {EXPORT} ({int(rows[0]) if rows else 0} rows)")
    print("    " + figures.line("export|client", fmt="{:.0f}", unit=" ms", label="client"))
    print("    " + figures.line("export|server", fmt="{:.0f}", unit=" ms", label="server"))
    print("    " + figures.line("export|rows/s", fmt="{:.0f}", unit=" rows/s", label="rows/s (client)"))
    print(f"  goal: each page < {GOAL_MS:.0f} ms at 100k deliveries: "
          + (f"MEDIAN OVER THE GOAL: {', '.join(over)}" if over else "every median under it"))


# -- EXPLAIN QUERY PLAN ----------------------------------------------------------------------
_SCAN = re.compile(r"\bSCAN (\"?)(\w+)\1(?: AS \w+)?(?P<rest>.*)")


def short(statement: str) -> str:
    """The statement on one line, a long list of selected columns shortened."""
    text = " ".join(statement.split())
    return re.sub(r"^SELECT (.{80,}?) FROM ", lambda m: f"SELECT {m.group(1)[:40]}… FROM ", text, count=1)


def flags(statement: str, plan: list[str]) -> list[str]:
    """What deserves a look: a full scan of a large table, a sort or grouping in a temporary b-tree.
    A scan in primary-key order that serves ``ORDER BY <table>.id`` with a LIMIT is noted, not
    flagged: it reads rows newest first and stops after OFFSET + LIMIT matches."""
    found = []
    for detail in plan:
        scan = _SCAN.search(detail)
        if scan and scan.group(2) in BIG_TABLES and "USING" not in scan.group("rest"):
            by_key = re.search(rf"ORDER BY \"?{scan.group(2)}\"?\.id DESC LIMIT", statement)
            if by_key and not any("TEMP B-TREE" in d for d in plan):
                found.append(f"(note: {scan.group(2)} read in primary-key order, newest first, "
                             "until OFFSET + LIMIT rows matched)")
            else:
                found.append(f"FULL SCAN of {scan.group(2)}")
        if "TEMP B-TREE" in detail:
            found.append(detail.strip())
    return found


async def explain(procs: Processes, tmp: Path, database: Path, paths: dict[str, str]) -> None:
    """Each page once on a server that captures its SELECTs; their query plans."""
    timing, sql = tmp / "explain-timing.jsonl", tmp / "sql.jsonl"
    server = await start_emulator(procs, "capture", str(database), argv=wrapped_argv(timing, sql, database))
    flagged = 0
    try:
        async with aiohttp.ClientSession() as session:
            targets = {**paths, "CSV export": EXPORT}
            for path in targets.values():  # warm-up; then let the start-up work end
                await timed_get(session, server.url + path)
            await asyncio.sleep(1.0)
            for name, path in targets.items():
                before = sql.stat().st_size
                await timed_get(session, server.url + path)
                print(f"   {name}: GET {path}")
                with open(sql) as stream:
                    stream.seek(before)
                    entries = [json.loads(line) for line in stream if line.strip()]
                tagged = any(entry["request"] for entry in entries)  # else: the request could not be told
                statements: dict[str, Any] = {}
                for entry in entries:
                    if not tagged or unquote(entry["request"]) == unquote(path):  # not the background work
                        statements.setdefault(entry["sql"], entry["params"])
                for statement, params in statements.items():
                    if not re.search(r"\bFROM\s+\"?(" + "|".join(BIG_TABLES) + r")\b", statement):
                        continue  # the clock, the merchants' list: small tables
                    plan = query_plan(database, statement, params)
                    bad = flags(statement, plan)
                    flagged += any(not text.startswith("(note") for text in bad)
                    print(f"      {short(statement)}")
                    for detail in plan:
                        print(f"         {detail}")
                    for text in bad:
                        print(f"         {'' if text.startswith('(note') else '!! '}{text}")
    finally:
        procs.stop(server.proc)
    print(f"   {flagged} statement(s) flagged")


# -- the benchmark ---------------------------------------------------------------------------
async def amain() -> None:
    ap = parser(__doc__)
    ap.add_argument("--deliveries", type=int, default=100_000, help="deliveries in the store (100000)")
    ap.add_argument("--calls", type=int, help="calls per page and run (10; quick 5)")
    ap.add_argument("--no-explain", action="store_true", help="skip the query plans")
    args = ap.parse_args()
    if args.quick and args.runs == ap.get_default("runs"):
        args.runs = 2
    calls = args.calls or (5 if args.quick else 10)
    export_calls = 1 if args.quick else 2
    print_header(f"bench_console: console lists and search with {args.deliveries} deliveries (SQLite)", args,
                 with_load_generator=False)
    figures = Figures()
    with TempDir() as tmp, Processes() as procs:
        print("building the store (the emulator creates the schema, then a bulk insert)")
        database = tmp / "console.db"
        facts = await build_store(procs, database, args.deliveries)
        paths = pages(facts)
        for run in range(args.runs):
            print(f"run {run + 1}/{args.runs}", flush=True)
            await measure(procs, tmp, database, paths, calls, export_calls, figures)
        report(figures, paths, args.deliveries)
        if not args.no_explain:
            print(f"\nSQL of the pages on the {args.deliveries}-delivery store (SELECTs from the large tables), "
                  "and its EXPLAIN QUERY PLAN")
            await explain(procs, tmp, database, paths)


if __name__ == "__main__":
    asyncio.run(amain())
