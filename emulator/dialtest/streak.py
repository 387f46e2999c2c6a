"""Failing-day streaks (PROTOCOL §11.6), decided from the counted runs of each local day."""

from __future__ import annotations

from collections import OrderedDict
from datetime import date, datetime
from typing import Iterable, Mapping, Optional

from .slots import local_day


def day_verdicts(runs: Iterable[tuple[datetime, str]], zone: str) -> "OrderedDict[date, str]":
    """``fail`` for a day with at least one failing run, else ``pass`` (skipped runs do not count)."""
    days: "OrderedDict[date, str]" = OrderedDict()
    for slot_at, verdict in sorted(runs):
        if verdict not in ("pass", "fail"):
            continue
        day = local_day(slot_at, zone)
        days[day] = "fail" if verdict == "fail" or days.get(day) == "fail" else "pass"
    return days


def failing_streak(days: Mapping[date, str], undecided: Optional[date] = None) -> int:
    """Consecutive failing days, oldest first in ``days``. A passing day is decided only after its last
    slot, so a passing ``undecided`` day neither extends nor resets the streak (§11.6)."""
    streak = 0
    for day, verdict in days.items():
        if verdict == "fail":
            streak += 1
        elif day != undecided:
            streak = 0
    return streak
