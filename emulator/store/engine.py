"""Engine and session handling, for SQLite (the zero-setup default) and PostgreSQL.

Reads and writes use separate engines. On SQLite every write transaction starts with
``BEGIN IMMEDIATE``: it takes the file's write lock up front, so a read-modify-write is never
interleaved with another process's writer (two processes on one file stay consistent; the busy
timeout makes the second wait). Within a process, writes also queue on an asyncio lock so that
they wait without holding a thread. On PostgreSQL, rows that more than one replica may change
are claimed with ``FOR UPDATE [SKIP LOCKED]`` (see ``delivery.dispatcher``).
"""

from __future__ import annotations

import ast
import asyncio
import shutil
import sqlite3
import tempfile
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any, AsyncIterator, Callable, Mapping, Optional, Sequence, TypeVar

from sqlalchemy import (
    Column, Engine, MetaData, PrimaryKeyConstraint, String, Table, create_engine, event, inspect, text,
)
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine
from sqlalchemy.engine import Dialect
from sqlalchemy.pool import StaticPool
from sqlmodel import Session, SQLModel
from sqlmodel.ext.asyncio.session import AsyncSession

from . import tables  # noqa: F401  (registers the tables)

T = TypeVar("T")


class StoreError(RuntimeError):
    """The store cannot be used (e.g. it was written by another schema version)."""


def database_url(database: str) -> tuple[str, Path | None]:
    """Map the ``database`` setting to a SQLAlchemy URL; ':memory:' becomes a temporary file."""
    if database.startswith(("postgresql://", "postgres://")):
        return "postgresql+psycopg://" + database.split("://", 1)[1], None
    if "://" in database:
        return database, None
    if database in (":memory:", ""):
        scratch = Path(tempfile.mkdtemp(prefix="koogallery-"))
        return f"sqlite+aiosqlite:///{scratch / 'store.db'}", scratch
    return f"sqlite+aiosqlite:///{Path(database).expanduser().resolve()}", None


def _sync_url(url: str) -> str:
    """The blocking driver of the same database, for the one-thread-hop paths."""
    if url.startswith("sqlite"):
        return url.replace("+aiosqlite", "")
    return "postgresql+psycopg://" + url.split("://", 1)[1]


class Store:
    def __init__(self, engine: AsyncEngine, write_engine: AsyncEngine, sync_read: Engine, sync_write: Engine,
                 scratch_dir: Path | None = None) -> None:
        self.engine = engine
        self.write_engine = write_engine
        self._sync_read = sync_read
        self._sync_write = sync_write
        self._scratch_dir = scratch_dir
        self._write_lock = asyncio.Lock()
        self._loop_reader: Optional[sqlite3.Connection] = None
        self._loop_engine: Optional[Engine] = None
        if sync_read.dialect.name == "sqlite" and sync_read.url.database:
            path = sync_read.url.database
            self._loop_reader = _open_loop_reader(path)
            # The same connection under SQLAlchemy, for ORM reads on the event loop (``quick_read``).
            self._loop_engine = create_engine(sync_read.url, creator=lambda: self._loop_reader, poolclass=StaticPool)

    @classmethod
    async def open(cls, database: str) -> "Store":
        url, scratch = database_url(database)
        if url.startswith("sqlite"):
            sqlite_args = {"timeout": 30}
            engine = create_async_engine(url, connect_args=sqlite_args, pool_size=4, max_overflow=4)
            write_engine = create_async_engine(url, connect_args=sqlite_args, pool_size=1, max_overflow=1)
            sync_read = create_engine(_sync_url(url), connect_args={**sqlite_args, "check_same_thread": False},
                                      pool_size=4, max_overflow=4)
            sync_write = create_engine(_sync_url(url), connect_args={**sqlite_args, "check_same_thread": False},
                                       pool_size=1, max_overflow=1)
            for target in (engine.sync_engine, sync_read):
                event.listen(target, "connect", _sqlite_pragmas)
            for target in (write_engine.sync_engine, sync_write):
                event.listen(target, "connect", _sqlite_pragmas)
                event.listen(target, "connect", _sqlite_manual_transactions)
                event.listen(target, "begin", _sqlite_begin_immediate)
        else:
            engine = create_async_engine(url, pool_pre_ping=True, pool_size=8, max_overflow=8)
            write_engine = engine
            sync_read = sync_write = create_engine(_sync_url(url), pool_pre_ping=True, pool_size=8, max_overflow=8)
        store = cls(engine, write_engine, sync_read, sync_write, scratch)
        async with write_engine.begin() as conn:
            await conn.run_sync(_create_or_check, url)
        return store

    async def close(self) -> None:
        if self._loop_engine is not None:
            self._loop_engine.dispose()
        if self._loop_reader is not None:
            self._loop_reader.close()
        await self.engine.dispose()
        await self.write_engine.dispose()
        self._sync_read.dispose()
        self._sync_write.dispose()
        if self._scratch_dir is not None:
            shutil.rmtree(self._scratch_dir, ignore_errors=True)

    @asynccontextmanager
    async def read(self) -> AsyncIterator[AsyncSession]:
        async with AsyncSession(self.engine, expire_on_commit=False) as session:
            yield session

    async def run_read(self, work: Callable[[Session], T]) -> T:
        """Run a read-only ``work(session)`` in a worker thread with a blocking-driver session.

        aiosqlite hops between threads for every cursor call; a hot read path of several queries
        is much faster done in one hop (used by the open APIs and the dispatcher)."""
        engine = self._sync_read

        def run() -> T:
            with Session(engine, expire_on_commit=False) as session:
                return work(session)

        return await asyncio.to_thread(run)

    @property
    def dialect(self) -> Dialect:
        return self._sync_write.dialect

    async def quick_read(self, work: Callable[[Session], T]) -> T:
        """Run a small, indexed, read-only ``work(session)`` (a min() over an index, a lookup by
        key) where it costs least: on SQLite on the event loop itself (see ``select``), elsewhere
        in a worker thread (``run_read``). The scheduler's many small reads per pass use it."""
        if self._loop_engine is None:
            return await self.run_read(work)
        with Session(self._loop_engine, expire_on_commit=False) as session:
            return work(session)

    async def select(self, sql: str, params: Mapping[str, Any]) -> Sequence[Sequence[Any]]:
        """The rows of one small, indexed, read-only SQL query (named ``:params``), for the hottest
        read paths (Query Order). On SQLite it runs on the event loop itself: a WAL reader never
        waits for a writer, and a lookup by key costs tens of microseconds, less than the hop to a
        worker thread. Values come back as the driver gives them: on SQLite, date-times and JSON
        are text (see ``store.values``)."""
        if self._loop_reader is not None:
            return self._loop_reader.execute(sql, params).fetchall()
        async with self.engine.connect() as conn:
            return (await conn.execute(text(sql), dict(params))).all()

    async def run_write(self, work: Callable[[Session], T]) -> T:
        """Like ``run_read`` for a batch of writes, committed together under the write lock."""
        engine = self._sync_write

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
            async with AsyncSession(self.write_engine, expire_on_commit=False) as session:
                try:
                    yield session
                    await session.commit()
                except BaseException:
                    await session.rollback()
                    raise



MIGRATIONS = Path(__file__).parent / "migrations"
LEGACY_REVISIONS = {5: "0001", 6: "0002"}  # stores written before migrations: schema version -> revision


def _create_or_check(conn, url: str) -> None:  # type: ignore[no-untyped-def]
    """Create a new store at the newest revision, or upgrade an existing one in place. Replicas
    starting together take turns: SQLite's BEGIN IMMEDIATE, PostgreSQL's transaction-scoped
    advisory lock.

    A new store is made without Alembic, whose import costs more than the rest of a test fixture's
    start: the tables, then the version table holding the newest revision, as ``alembic stamp head``
    writes them. Alembic still stamps it when the revisions do not end in one head."""

    def newest_revision() -> str | None:
        """The head of the migration scripts, read without running them; None unless they form one
        plain chain of ``revision = "…"`` and ``down_revision = "…"`` (Alembic then stamps)."""
        down: dict[Any, Any] = {}
        for script in (MIGRATIONS / "versions").glob("*.py"):
            if script.name == "__init__.py":
                continue
            values: dict[str, ast.expr] = {}
            for node in ast.parse(script.read_bytes()).body:  # ``name = …`` or ``name: type = …``
                target = node.targets[0] if isinstance(node, ast.Assign) else getattr(node, "target", None)
                if isinstance(node, (ast.Assign, ast.AnnAssign)) and isinstance(target, ast.Name) and node.value:
                    values[target.id] = node.value
            try:
                down[ast.literal_eval(values["revision"])] = ast.literal_eval(values["down_revision"])
            except (KeyError, ValueError):
                return None
        if not all(isinstance(value, (str, type(None))) for value in [*down, *down.values()]):
            return None  # branches or merges
        heads = set(down) - set(down.values())
        return heads.pop() if len(heads) == 1 else None

    if conn.dialect.name == "postgresql":
        conn.exec_driver_sql("SELECT pg_advisory_xact_lock(4242424242)")
    if _legacy_version(conn) is None and not inspect(conn).has_table("alembic_version"):  # a new store
        head = newest_revision()
        if head is not None:
            # An empty SQLite file has no table to look for first (each look is a hop to aiosqlite's thread).
            SQLModel.metadata.create_all(conn, checkfirst=conn.dialect.name != "sqlite")
            # Alembic's version table (alembic.ddl.impl.DefaultImpl.version_table_impl).
            version = Table("alembic_version", MetaData(), Column("version_num", String(32), nullable=False),
                            PrimaryKeyConstraint("version_num", name="alembic_version_pkc"))
            version.create(conn)
            conn.execute(version.insert().values(version_num=head))
            return
    from alembic import command
    from alembic.config import Config
    from alembic.runtime.migration import MigrationContext

    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.attributes["connection"] = conn
    current = MigrationContext.configure(conn).get_current_revision()
    if current is None:
        legacy = _legacy_version(conn)
        if legacy is None:  # a new store
            SQLModel.metadata.create_all(conn)
            command.stamp(config, "head")
            return
        if legacy not in LEGACY_REVISIONS:
            raise StoreError(f"the store {url} was written by schema version {legacy}, which this emulator "
                             "cannot upgrade; point KOOGALLERY_DATABASE at a new store")
        command.stamp(config, LEGACY_REVISIONS[legacy])
    elif not _known(config, current):
        raise StoreError(f"the store {url} was written by a newer release (revision {current}); "
                         "upgrade the emulator or point KOOGALLERY_DATABASE at another store")
    command.upgrade(config, "head")


def _known(config, revision: str) -> bool:  # type: ignore[no-untyped-def]
    from alembic.script import ScriptDirectory

    try:
        return ScriptDirectory.from_config(config).get_revision(revision) is not None
    except Exception:  # alembic raises various errors for unknown revisions
        return False


def _legacy_version(conn) -> int | None:  # type: ignore[no-untyped-def]
    """The schema version of a store written before migrations; None for an empty store."""
    if conn.dialect.name == "sqlite":
        existing = conn.exec_driver_sql("SELECT count(*) FROM sqlite_master WHERE type='table'").scalar()
        return int(conn.exec_driver_sql("PRAGMA user_version").scalar()) if existing else None
    if conn.exec_driver_sql("SELECT to_regclass('merchant')").scalar() is None:
        return None
    if conn.exec_driver_sql("SELECT to_regclass('store_meta')").scalar() is not None:
        return conn.exec_driver_sql("SELECT max(version) FROM store_meta").scalar()
    return 6


def _sqlite_manual_transactions(dbapi_connection, _record) -> None:  # type: ignore[no-untyped-def]
    """Let SQLAlchemy emit BEGIN itself (the driver would otherwise begin lazily, deferred)."""
    dbapi_connection.isolation_level = None


def _sqlite_begin_immediate(conn) -> None:  # type: ignore[no-untyped-def]
    conn.exec_driver_sql("BEGIN IMMEDIATE")


def _open_loop_reader(path: str) -> sqlite3.Connection:
    """A read-only autocommit connection: each SELECT sees the latest committed state."""
    conn = sqlite3.connect(path, timeout=5, isolation_level=None, check_same_thread=False)
    conn.execute("PRAGMA query_only=ON")
    return conn


def _sqlite_pragmas(dbapi_connection, _record) -> None:  # type: ignore[no-untyped-def]
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.close()
