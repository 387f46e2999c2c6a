"""Column values read with plain SQL (``Store.select``), made the same on every driver: SQLite
gives date-times and JSON as text, PostgreSQL's driver gives Python objects."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any, Optional


def as_datetime(value: Any) -> Optional[datetime]:
    if value is None or isinstance(value, datetime):
        return value
    return datetime.fromisoformat(value)


def as_json(value: Any) -> Any:
    return json.loads(value) if isinstance(value, (str, bytes)) else value
