"""Period arithmetic on the emulator clock (PROTOCOL §10 "Periodic products")."""

from __future__ import annotations

import calendar
from datetime import datetime, timedelta

from .errors import InvalidInput

PERIOD_TYPES = ("hour", "day", "month", "year")
GMT8 = timedelta(hours=8)


def add_months(moment: datetime, months: int) -> datetime:
    """Calendar months, keeping the day of month and clamping to the month's last day."""
    index = moment.month - 1 + months
    year, month = moment.year + index // 12, index % 12 + 1
    day = min(moment.day, calendar.monthrange(year, month)[1])
    return moment.replace(year=year, month=month, day=day)


def add_period(moment: datetime, period_type: str, number: int) -> datetime:
    if period_type == "hour":
        return moment + timedelta(hours=number)
    if period_type == "day":
        return moment + timedelta(days=number)
    if period_type == "month":
        return add_months(moment, number)
    if period_type == "year":
        return add_months(moment, 12 * number)
    raise ValueError(f"unknown period type {period_type!r}")


def end_of_day_gmt8(moment: datetime) -> datetime:
    """23:59:59 of the GMT+8 calendar day containing ``moment``, as naive UTC."""
    local = moment + GMT8
    return local.replace(hour=23, minute=59, second=59, microsecond=0) - GMT8


LATEST_EXPIRY = datetime(9998, 12, 31)
"""Expiry times are written as ``yyyyMMddHHmmss`` and shifted to GMT+8: keep a year of margin."""


def expiry(start: datetime, period_type: str, number: int, rounding: str = "none") -> datetime:
    try:
        end = add_period(start.replace(microsecond=0), period_type, number)
    except (OverflowError, ValueError):  # past datetime.max
        end = datetime.max
    if end > LATEST_EXPIRY:
        raise InvalidInput(f"the expiry would pass {LATEST_EXPIRY.date().isoformat()}; "
                           "choose fewer periods", "period_number")
    return end_of_day_gmt8(end) if rounding == "end_of_day_gmt8" else end
