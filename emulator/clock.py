"""The emulator clock: the only source of business "now" (PROTOCOL §10 "Clocks").

Three modes:

* ``real``   – emulated time moves with the wall clock (plus any offset from advances);
* ``scaled`` – emulated time moves ``speed`` times faster than the wall clock;
* ``manual`` – emulated time moves only when advanced.

All times are naive UTC datetimes. Signature timestamps never come from here: they use the
real wall clock (PROTOCOL §2).
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime, timedelta, timezone
from enum import StrEnum
from typing import Callable


class ClockMode(StrEnum):
    REAL = "real"
    SCALED = "scaled"
    MANUAL = "manual"


def wall_now() -> datetime:
    """Real wall-clock time as naive UTC."""
    return datetime.now(timezone.utc).replace(tzinfo=None)


class ClockError(ValueError):
    """An impossible clock change, such as moving time backwards."""


@dataclass(frozen=True)
class ClockState:
    """Enough to reconstruct "now" after a restart: an emulated instant pinned to a wall instant."""

    mode: ClockMode
    speed: float
    anchor_emulated: datetime
    anchor_wall: datetime

    def now(self, wall: datetime) -> datetime:
        if self.mode is ClockMode.MANUAL:
            return self.anchor_emulated
        factor = 1.0 if self.mode is ClockMode.REAL else self.speed
        return self.anchor_emulated + (wall - self.anchor_wall) * factor


class Clock:
    def __init__(self, state: ClockState, wall: Callable[[], datetime] = wall_now) -> None:
        self._state = state
        self._wall = wall
        self._listeners: list[Callable[[ClockState], None]] = []

    @classmethod
    def start(
        cls, mode: ClockMode | str, speed: float = 1.0, at: datetime | None = None,
        wall: Callable[[], datetime] = wall_now,
    ) -> "Clock":
        now_wall = wall()
        start = (at or now_wall).replace(microsecond=0)
        return cls(ClockState(ClockMode(mode), speed, start, now_wall), wall)

    @property
    def state(self) -> ClockState:
        return self._state

    @property
    def mode(self) -> ClockMode:
        return self._state.mode

    def now(self) -> datetime:
        return self._state.now(self._wall())

    def on_change(self, listener: Callable[[ClockState], None]) -> None:
        """Register a callback run after every change (persistence, scheduler wake-up)."""
        self._listeners.append(listener)

    def _set(self, state: ClockState) -> None:
        self._state = state
        for listener in self._listeners:
            listener(state)

    def restore(self, state: ClockState) -> None:
        """Replace the whole state (a reset may move time backwards)."""
        self._set(state)

    def advance(self, delta: timedelta) -> datetime:
        if delta < timedelta(0):
            raise ClockError("the clock cannot move backwards")
        return self.jump_to(self.now() + delta)

    def jump_to(self, moment: datetime) -> datetime:
        """Move emulated time forward to ``moment`` (no-op if it is already past)."""
        now_wall = self._wall()
        current = self._state.now(now_wall)
        if moment < current - timedelta(microseconds=1):
            raise ClockError(
                f"the clock cannot move backwards (now {current.isoformat()}, asked {moment.isoformat()})"
            )
        self._set(replace(self._state, anchor_emulated=max(moment, current), anchor_wall=now_wall))
        return self.now()

    def set_mode(self, mode: ClockMode | str, speed: float | None = None) -> None:
        now_wall = self._wall()
        current = self._state.now(now_wall)
        new_speed = self._state.speed if speed is None else speed
        if new_speed <= 0:
            raise ClockError("speed must be greater than 0")
        self._set(ClockState(ClockMode(mode), new_speed, current, now_wall))

    def wall_seconds_until(self, moment: datetime) -> float | None:
        """Real seconds until ``moment`` arrives by itself; None in manual mode (it never does)."""
        if self._state.mode is ClockMode.MANUAL:
            return None
        remaining = (moment - self.now()).total_seconds()
        factor = 1.0 if self._state.mode is ClockMode.REAL else self._state.speed
        return max(0.0, remaining / factor)


def to_utc_naive(moment: datetime) -> datetime:
    if moment.tzinfo is None:
        return moment
    try:
        return moment.astimezone(timezone.utc).replace(tzinfo=None)
    except OverflowError:
        raise ClockError(f"{moment.isoformat()} is outside the range of dates the clock can show") from None


def optional_utc_naive(moment: datetime | None) -> datetime | None:
    """Pydantic validator form of :func:`to_utc_naive` (a ClockError is a ValueError)."""
    return None if moment is None else to_utc_naive(moment)

