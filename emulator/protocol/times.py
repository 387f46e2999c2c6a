"""Wire time formats (PROTOCOL §10 "Time formats")."""

from __future__ import annotations

from datetime import datetime


def compact_time(moment: datetime) -> str:
    """``yyyyMMddHHmmss`` in UTC (assumed zone, PROTOCOL §15.1)."""
    return moment.strftime("%Y%m%d%H%M%S")
