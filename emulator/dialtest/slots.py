"""Slot instants on the emulator clock, computed with APScheduler's cron trigger (PROTOCOL §11.1)."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta, timezone
from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo

if TYPE_CHECKING:
    from apscheduler.triggers.cron import CronTrigger


def _triggers(slots: str, zone: str) -> list[CronTrigger]:
    # Imported here: slots are computed only once a product has dial-test cases.
    from apscheduler.triggers.cron import CronTrigger

    triggers = []
    for slot in slots.split(","):
        hour, minute = slot.split(":")
        triggers.append(CronTrigger(hour=int(hour), minute=int(minute), timezone=ZoneInfo(zone)))
    return triggers


def next_slot(after: datetime, slots: str, zone: str) -> datetime:
    """The first slot instant strictly after ``after`` (naive UTC in, naive UTC out)."""
    start = after.replace(tzinfo=timezone.utc, microsecond=0) + timedelta(seconds=1)
    fires = (trigger.get_next_fire_time(None, start) for trigger in _triggers(slots, zone))
    return min(fire.astimezone(timezone.utc).replace(tzinfo=None) for fire in fires if fire is not None)


def local_day(moment: datetime, zone: str) -> date:
    return moment.replace(tzinfo=timezone.utc).astimezone(ZoneInfo(zone)).date()


def day_start(moment: datetime, zone: str) -> datetime:
    """The first instant (naive UTC) of the local day of ``moment``."""
    start = datetime.combine(local_day(moment, zone), time(), tzinfo=ZoneInfo(zone))
    return start.astimezone(timezone.utc).replace(tzinfo=None)


def local_time(moment: datetime, zone: str) -> str:
    return moment.replace(tzinfo=timezone.utc).astimezone(ZoneInfo(zone)).strftime("%Y-%m-%d %H:%M")


def last_slot_of_day(moment: datetime, slots: str, zone: str) -> bool:
    """Is no slot left on the local day after ``moment`` (a passing day is decided after its last slot)?"""
    return local_day(next_slot(moment, slots, zone), zone) != local_day(moment, zone)

