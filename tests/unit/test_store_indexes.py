"""The paged lists and the claim query are served by indexes: no full scan, no sort of the whole
result (SQLite's query plan says so)."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

import pytest
from sqlalchemy import text

from emulator.store.engine import Store

PLANS = {
    "orders of a merchant": ('SELECT id FROM "order" WHERE merchant_id = :m ORDER BY seq DESC LIMIT 100',
                             "ix_order_merchant_seq"),
    "instances": ("SELECT key FROM instance ORDER BY created_at DESC, key DESC LIMIT 100",
                  "ix_instance_created_key"),
    "instances of a merchant": ("SELECT key FROM instance WHERE merchant_id = :m "
                                "ORDER BY created_at DESC, key DESC LIMIT 100", "ix_instance_merchant_created_key"),
    "due deliveries": ("SELECT id FROM delivery WHERE status = 'scheduled' AND next_attempt_at <= :t "
                       "ORDER BY next_attempt_at, id LIMIT 100", "ix_delivery_due"),
}


@pytest.mark.parametrize("name", PLANS)
async def test_query_uses_its_index(tmp_path: Path, name: str) -> None:
    sql, index = PLANS[name]
    store = await Store.open(str(tmp_path / "plan.db"))
    try:
        async with store.engine.connect() as conn:
            rows = (await conn.execute(text("EXPLAIN QUERY PLAN " + sql),
                                       {"m": "acme", "t": "2026-01-01 00:00:00"})).all()
    finally:
        await store.close()
    plan = " | ".join(str(row[-1]) for row in rows)
    assert index in plan, plan
    assert "TEMP B-TREE" not in plan, plan


async def test_the_claims_sibling_check_looks_up_one_instance(tmp_path: Path) -> None:
    """With thousands of scheduled deliveries, the per-instance checks of a claim must not read
    every scheduled delivery for each candidate."""
    from sqlmodel import select

    from emulator.delivery.claims import _earlier_sibling, _leased_sibling
    from emulator.store.tables import Delivery

    store = await Store.open(str(tmp_path / "plan.db"))
    try:
        query = select(Delivery.id).where(Delivery.status == "scheduled", ~_earlier_sibling(),
                                          ~_leased_sibling(datetime(2026, 1, 1)))
        sql = str(query.compile(store.engine.sync_engine, compile_kwargs={"literal_binds": True}))
        async with store.engine.connect() as conn:
            rows = (await conn.execute(text("EXPLAIN QUERY PLAN " + sql))).all()
    finally:
        await store.close()
    plan = " | ".join(str(row[-1]) for row in rows)
    assert "ix_delivery_instance_due" in plan or "ix_delivery_instance_key" in plan, plan
    assert "SEARCH sibling USING COVERING INDEX ix_delivery_due" not in plan, plan


# -- the console's lists and search (compiled from the code, so that the checks follow it) --------
async def _plan(store: Store, sql: str) -> str:
    async with store.engine.connect() as conn:
        rows = (await conn.execute(text("EXPLAIN QUERY PLAN " + sql))).all()
    return " | ".join(str(row[-1]) for row in rows)


def _delivery_filters() -> dict[str, object]:
    from emulator.delivery.service import DeliveryFilter

    return {
        "merchant": (DeliveryFilter(merchant_id="acme"), "ix_delivery_merchant_id"),
        "test traffic only": (DeliveryFilter(test_traffic="only"), "ix_delivery_test_flag_id"),
        "time range": (DeliveryFilter(since=datetime(2026, 1, 1), until=datetime(2026, 2, 1)),
                       "ix_delivery_created_id"),
        "a search's hits": (DeliveryFilter(any_of=(frozenset({"CS2601010000ABCDE"}), frozenset({"K-000001"}),
                                                   frozenset({7}))), "ix_delivery_order_id"),
    }


async def _delivery_plans(tmp_path: Path, flt: object) -> tuple[str, str]:
    """The plans of the deliveries page's two queries (count, and one page newest first)."""
    from sqlmodel import col, func, select

    from emulator.delivery.service import _filtered
    from emulator.store.tables import Delivery

    store = await Store.open(str(tmp_path / "plan.db"))
    try:
        def sql(query: object) -> str:
            return str(query.compile(store.engine.sync_engine,  # type: ignore[attr-defined]
                                     compile_kwargs={"literal_binds": True}))

        count = await _plan(store, sql(_filtered(select(func.count()).select_from(Delivery), flt)))
        page = await _plan(store, sql(_filtered(select(Delivery), flt).order_by(col(Delivery.id).desc())
                                      .offset(50).limit(50)))
    finally:
        await store.close()
    return count, page


def _full_scan(plan: str, table: str) -> bool:
    return any(step.strip() == f"SCAN {table}" for step in plan.split("|"))


@pytest.mark.parametrize("name", list(_delivery_filters()))
async def test_the_deliveries_page_counts_and_lists_through_an_index(tmp_path: Path, name: str) -> None:
    flt, index = _delivery_filters()[name]  # type: ignore[misc]
    count, page = await _delivery_plans(tmp_path, flt)
    for plan in (count, page):
        assert index in plan, plan
        assert not _full_scan(plan, "delivery"), plan
    assert "TEMP B-TREE" not in count, count
    if name not in ("time range", "a search's hits"):  # see the two tests below
        assert "TEMP B-TREE" not in page, page


async def test_a_search_sorts_only_its_hits(tmp_path: Path) -> None:
    """The deliveries of a search's hits are found by index (one per kind of hit), and only those are
    sorted newest first."""
    _count, page = await _delivery_plans(tmp_path, _delivery_filters()["a search's hits"][0])  # type: ignore[index]
    assert "MULTI-INDEX OR" in page, page
    for index in ("ix_delivery_order_id", "ix_instance_order_id", "INTEGER PRIMARY KEY"):
        assert index in page, page


@pytest.mark.xfail(reason="ORDER BY id over a created_at range sorts the range in a temporary b-tree; "
                          "ORDER BY created_at DESC, id DESC would be served by ix_delivery_created_id",
                   strict=False)
async def test_a_time_range_is_listed_without_sorting_it(tmp_path: Path) -> None:
    _count, page = await _delivery_plans(tmp_path, _delivery_filters()["time range"][0])  # type: ignore[index]
    assert "TEMP B-TREE" not in page, page


async def test_hidden_test_traffic_is_counted_on_its_index_and_listed_newest_first(tmp_path: Path) -> None:
    """``test_flag != '1' OR test_flag IS NULL`` is most of the rows: the count reads the (covering)
    test_flag index, the page walks the primary key newest first and stops after one page; no sort."""
    from emulator.delivery.service import DeliveryFilter

    count, page = await _delivery_plans(tmp_path, DeliveryFilter(test_traffic="hide"))
    assert "COVERING INDEX ix_delivery_test_flag_id" in count, count
    assert "TEMP B-TREE" not in count + page, page
    assert "ix_delivery_test_flag_id" in page or page.strip() == "SCAN delivery", page


async def test_an_exact_search_looks_each_kind_of_id_up_by_index(tmp_path: Path) -> None:
    """The statements the console's search issues for an id that matches nothing exactly (so that
    the partial search runs too): each exact lookup goes through its index."""
    from sqlalchemy import event

    from emulator.marketplace.search import search

    store = await Store.open(str(tmp_path / "plan.db"))
    issued: list[tuple[str, object]] = []

    def capture(_conn: object, _cursor: object, statement: str, parameters: object, *_args: object) -> None:
        if statement.lstrip().upper().startswith("SELECT"):
            issued.append((statement, parameters))

    event.listen(store.engine.sync_engine, "before_cursor_execute", capture)
    try:
        await search(store, "CS2601010000ABCDE")
        event.remove(store.engine.sync_engine, "before_cursor_execute", capture)
        plans = {statement: await _plan_positional(store, statement, params) for statement, params in issued}
    finally:
        await store.close()
    exact = {s: p for s, p in plans.items() if " IN (" in s}
    expected = {'FROM "order"': "sqlite_autoindex_order_1", "FROM orderline": "sqlite_autoindex_orderline_1",
                'instance."key" IN': "sqlite_autoindex_instance_1", "instance.instance_id IN": "ix_instance_instance_id",
                "attempt.business_id IN": "ix_attempt_business_id"}
    for marker, index in expected.items():
        matching = [p for s, p in exact.items() if marker in s]
        assert matching, (marker, list(exact))
        assert all(index in p for p in matching), (marker, matching)
    for statement, plan in exact.items():
        assert not any(_full_scan(plan, t) for t in ("delivery", "attempt", "order", "orderline", "instance")), \
            (statement, plan)
    prefix = [p for s, p in plans.items() if "attempt.business_id >=" in s]
    assert prefix and all("ix_attempt_business_id" in p for p in prefix), prefix


async def _plan_positional(store: Store, statement: str, params: object) -> str:
    """The plan of a statement as the driver received it (``?`` placeholders)."""
    async with store.engine.connect() as conn:
        raw = await conn.get_raw_connection()
        driver = raw.driver_connection  # aiosqlite
        cursor = await driver.execute("EXPLAIN QUERY PLAN " + statement, tuple(params or ()))  # type: ignore[union-attr, arg-type]
        rows = await cursor.fetchall()
    return " | ".join(str(row[-1]) for row in rows)
