"""Engine and session handling.

Writes are serialised through one asyncio lock per process: SQLite allows a single writer, and
taking the lock in-process avoids "database is locked" upgrades between concurrent sessions.
Reads run freely (WAL mode).
"""

from __future__ import annotations

import shutil
import tempfile
from contextlib import asynccontextmanager
from pathlib import Path
from typing import AsyncIterator, Callable, TypeVar

import asyncio

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine
from sqlmodel import Session, SQLModel
from sqlmodel.ext.asyncio.session import AsyncSession

from . import tables  # noqa: F401  (registers the tables)

T = TypeVar("T")
SCHEMA_VERSION = 5  # bump when a table changes shape; an older store is refused with a clear message


class StoreError(RuntimeError):
    """The store cannot be used (e.g. it was written by another schema version)."""


def database_url(database: str) -> tuple[str, Path | None]:
    """Map the ``database`` setting to a SQLAlchemy URL; ':memory:' becomes a temporary file."""
    if "://" in database:
        return database, None
    if database in (":memory:", ""):
        scratch = Path(tempfile.mkdtemp(prefix="koogallery-"))
        return f"sqlite+aiosqlite:///{scratch / 'store.db'}", scratch
    return f"sqlite+aiosqlite:///{Path(database).expanduser().resolve()}", None


class Store:
    def __init__(self, engine: AsyncEngine, scratch_dir: Path | None = None, sync_engine: Engine | None = None) -> None:
        self.engine = engine
        self._scratch_dir = scratch_dir
        self._write_lock = asyncio.Lock()
        self._sync_engine = sync_engine

    @classmethod
    async def open(cls, database: str) -> "Store":
        url, scratch = database_url(database)
        is_sqlite = url.startswith("sqlite")
        engine = create_async_engine(
            url, connect_args={"timeout": 30} if is_sqlite else {}, pool_pre_ping=not is_sqlite,
            **({"pool_size": 4, "max_overflow": 4} if is_sqlite else {}),
        )
        sync_engine = None
        if is_sqlite:
            event.listen(engine.sync_engine, "connect", _sqlite_pragmas)
            sync_engine = create_engine(url.replace("+aiosqlite", ""), connect_args={"timeout": 30,
                                        "check_same_thread": False}, pool_size=4, max_overflow=4)
            event.listen(sync_engine, "connect", _sqlite_pragmas)
        store = cls(engine, scratch, sync_engine)
        async with engine.begin() as conn:
            await conn.run_sync(_create_or_check, is_sqlite, url)
        return store

    async def close(self) -> None:
        await self.engine.dispose()
        if self._sync_engine is not None:
            self._sync_engine.dispose()
        if self._scratch_dir is not None:
            shutil.rmtree(self._scratch_dir, ignore_errors=True)

    @asynccontextmanager
    async def read(self) -> AsyncIterator[AsyncSession]:
        async with AsyncSession(self.engine, expire_on_commit=False) as session:
            yield session

    async def run_read(self, work: Callable[[Session], T]) -> T:
        """Run a read-only ``work(session)`` in a worker thread with a plain SQLite session.

        aiosqlite hops between threads for every cursor call; a hot read path of several queries
        is much faster done in one hop (used by the open APIs)."""
        if self._sync_engine is None:
            async with self.read() as session:
                return await session.run_sync(work)
        engine = self._sync_engine

        def run() -> T:
            with Session(engine, expire_on_commit=False) as session:
                return work(session)

        return await asyncio.to_thread(run)

    async def run_write(self, work: Callable[[Session], T]) -> T:
        """Like ``run_read`` for a batch of writes, committed together under the write lock."""
        if self._sync_engine is None:
            async with self.write() as session:
                return await session.run_sync(work)
        engine = self._sync_engine

        def run() -> T:
            with Session(engine, expire_on_commit=False) as session:
                result = work(session)
                session.commit()
                return result

        async with self._write_lock:
            return await asyncio.to_thread(run)

    @asynccontextmanager
    async def write(self) -> AsyncIterator[AsyncSession]:
        """A session whose changes are committed on success and rolled back on error."""
        async with self._write_lock:
            async with AsyncSession(self.engine, expire_on_commit=False) as session:
                try:
                    yield session
                    await session.commit()
                except BaseException:
                    await session.rollback()
                    raise

    async def wipe(self) -> None:
        """Delete every row (reset), keeping the schema."""
        async with self._write_lock:
            async with self.engine.begin() as conn:
                for table in reversed(SQLModel.metadata.sorted_tables):
                    await conn.execute(table.delete())


def _create_or_check(conn, is_sqlite: bool, url: str) -> None:  # type: ignore[no-untyped-def]
    if is_sqlite:
        existing = conn.exec_driver_sql("SELECT count(*) FROM sqlite_master WHERE type='table'").scalar()
        version = conn.exec_driver_sql("PRAGMA user_version").scalar()
        if existing and version != SCHEMA_VERSION:
            raise StoreError(
                f"the store {url} was written by schema version {version}, this emulator uses "
                f"{SCHEMA_VERSION}; delete the file or point KOOGALLERY_DATABASE at a new one"
            )
    SQLModel.metadata.create_all(conn)
    if is_sqlite:
        conn.exec_driver_sql(f"PRAGMA user_version = {SCHEMA_VERSION}")


def _sqlite_pragmas(dbapi_connection, _record) -> None:  # type: ignore[no-untyped-def]
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.close()
