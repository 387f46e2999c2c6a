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
