"""The store can be upgraded: a store written by release 0.1.0 (schema 5, before migrations)
opens without being deleted, keeps its data and gains what later releases added."""

from __future__ import annotations

import sqlite3
from datetime import datetime
from pathlib import Path

import pytest
from sqlmodel import select

from emulator.store.engine import Store, StoreError
from emulator.store.tables import ClockRow, Delivery, Order, UsageNonce

SCHEMA_5 = Path(__file__).parent.parent / "data" / "store-schema5.sql"


def _store_from_dump(path: Path) -> None:
    conn = sqlite3.connect(path)
    conn.executescript(SCHEMA_5.read_text(encoding="utf-8"))
    conn.close()


async def test_a_schema_5_store_is_upgraded_in_place(tmp_path: Path) -> None:
    path = tmp_path / "old.db"
    _store_from_dump(path)
    store = await Store.open(str(path))
    try:
        async with store.read() as session:
            orders = (await session.exec(select(Order))).all()
            deliveries = (await session.exec(select(Delivery))).all()
            clock = await session.get(ClockRow, 1)
            nonces = (await session.exec(select(UsageNonce))).all()
        assert len(orders) == 2 and len(deliveries) == 4
        assert all(d.lease_owner is None for d in deliveries)
        assert clock is not None and clock.version == 0
        assert nonces == []
    finally:
        await store.close()
    revision = sqlite3.connect(path).execute("SELECT version_num FROM alembic_version").fetchone()[0]
    assert revision == "0009"
    reopened = await Store.open(str(path))  # the second opening finds nothing to do
    await reopened.close()


async def test_a_new_store_is_created_at_the_newest_revision(tmp_path: Path) -> None:
    path = tmp_path / "new.db"
    store = await Store.open(str(path))
    await store.close()
    assert sqlite3.connect(path).execute("SELECT version_num FROM alembic_version").fetchone()[0] == "0009"


async def test_a_store_of_an_unknown_schema_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "odd.db"
    conn = sqlite3.connect(path)
    conn.executescript("CREATE TABLE merchant (id TEXT); PRAGMA user_version = 3;")
    conn.close()
    with pytest.raises(StoreError, match="schema version 3"):
        await Store.open(str(path))


async def test_a_store_of_a_newer_release_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "newer.db"
    store = await Store.open(str(path))
    await store.close()
    conn = sqlite3.connect(path)
    conn.execute("UPDATE alembic_version SET version_num = '0999'")
    conn.commit()
    conn.close()
    with pytest.raises(StoreError, match="newer release"):
        await Store.open(str(path))


async def test_a_postgres_store_is_created_then_reopened(postgres_server) -> None:  # type: ignore[no-untyped-def]
    """PostgreSQL stores are stamped and checked by the same migrations."""
    url = postgres_server.new_database()
    store = await Store.open(url)
    await store.close()
    store = await Store.open(url)
    async with store.read() as session:
        assert (await session.exec(select(ClockRow))).all() == []
    await store.close()


async def test_an_asyncpg_url_opens_the_same_store(postgres_server) -> None:  # type: ignore[no-untyped-def]
    url = postgres_server.new_database().replace("+psycopg", "+asyncpg")
    store = await Store.open(url)
    try:
        async with store.write() as session:
            session.add(ClockRow(id=1, mode="manual", speed=1.0, anchor_emulated=datetime(2026, 1, 1),
                                 anchor_wall=datetime(2026, 1, 1)))
        assert (await store.run_read(lambda session: session.get(ClockRow, 1))).mode == "manual"
    finally:
        await store.close()
