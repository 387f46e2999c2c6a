"""Persistence: SQLModel tables on SQLite (default) through SQLAlchemy's asyncio layer."""

from .engine import Store

__all__ = ["Store"]
