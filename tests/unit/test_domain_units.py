"""Clock, period arithmetic, identifiers, retry policies, settings and verdicts."""

from __future__ import annotations

import re
from datetime import datetime, timedelta

import pytest

from emulator.clock import Clock, ClockError, ClockMode
from emulator.delivery.policies import DEFAULT_POLICIES, policy_for
from emulator.delivery.verdicts import Expectations, Reply, judge
from emulator.marketplace.ids import new_order_id, order_line_id
from emulator.marketplace.periods import add_period, end_of_day_gmt8, expiry
from emulator.settings import SettingsError, load_settings

T0 = datetime(2026, 1, 31, 10, 0, 0)


class FakeWall:
    def __init__(self) -> None:
        self.now = datetime(2026, 6, 1, 0, 0, 0)

    def __call__(self) -> datetime:
        return self.now


def test_manual_clock_moves_only_when_advanced() -> None:
    wall = FakeWall()
    clock = Clock.start(ClockMode.MANUAL, at=T0, wall=wall)
    wall.now += timedelta(hours=5)
    assert clock.now() == T0
    clock.advance(timedelta(hours=3))
    assert clock.now() == T0 + timedelta(hours=3)
    assert clock.wall_seconds_until(T0 + timedelta(hours=4)) is None
    with pytest.raises(ClockError):
        clock.advance(timedelta(seconds=-1))
    with pytest.raises(ClockError):
        clock.jump_to(T0)


def test_scaled_clock_runs_speed_times_faster_and_keeps_time_across_mode_changes() -> None:
    wall = FakeWall()
    clock = Clock.start(ClockMode.SCALED, speed=3600, at=T0, wall=wall)
    wall.now += timedelta(seconds=2)
    assert clock.now() == T0 + timedelta(hours=2)
    assert clock.wall_seconds_until(T0 + timedelta(hours=3)) == pytest.approx(1.0)
    clock.set_mode(ClockMode.REAL)
    wall.now += timedelta(seconds=10)
    assert clock.now() == T0 + timedelta(hours=2, seconds=10)
    clock.set_mode(ClockMode.MANUAL)
    wall.now += timedelta(days=1)
    assert clock.now() == T0 + timedelta(hours=2, seconds=10)


def test_clock_listeners_hear_every_change() -> None:
    clock = Clock.start(ClockMode.MANUAL, at=T0)
    seen = []
    clock.on_change(lambda state: seen.append(state.anchor_emulated))
    clock.advance(timedelta(minutes=1))
    clock.set_mode("real")
    assert len(seen) == 2 and seen[0] == T0 + timedelta(minutes=1)


@pytest.mark.parametrize(("start", "unit", "n", "expected"), [
    (datetime(2026, 1, 31, 10), "month", 1, datetime(2026, 2, 28, 10)),
    (datetime(2028, 1, 31, 10), "month", 1, datetime(2028, 2, 29, 10)),
    (datetime(2026, 2, 28, 10), "month", 1, datetime(2026, 3, 28, 10)),
    (datetime(2026, 11, 30, 0), "month", 3, datetime(2027, 2, 28, 0)),
    (datetime(2028, 2, 29, 8), "year", 1, datetime(2029, 2, 28, 8)),
    (datetime(2026, 1, 1, 23, 30), "hour", 2, datetime(2026, 1, 2, 1, 30)),
    (datetime(2026, 1, 1), "day", 45, datetime(2026, 2, 15)),
])
def test_periods_follow_the_calendar_with_month_end_clamping(start, unit, n, expected) -> None:  # type: ignore[no-untyped-def]
    assert add_period(start, unit, n) == expected


def test_end_of_day_rounding_is_gmt8() -> None:
    assert end_of_day_gmt8(datetime(2022, 7, 26, 6, 47, 36)) == datetime(2022, 7, 26, 15, 59, 59)
    assert expiry(datetime(2022, 7, 26, 6, 47, 36), "year", 1, "end_of_day_gmt8") == datetime(2023, 7, 26, 15, 59, 59)
    assert end_of_day_gmt8(datetime(2022, 7, 26, 17, 0, 0)) == datetime(2022, 7, 27, 15, 59, 59)


def test_order_ids_have_the_marketplace_shape_in_gmt8() -> None:
    order_id = new_order_id(datetime(2022, 7, 26, 6, 47, 36))
    assert re.fullmatch(r"CS2207261447[A-Z0-9]{5}", order_id)
    assert order_line_id(order_id) == order_id + "-000001"
    assert order_line_id(order_id, 12) == order_id + "-000012"


def test_default_policies_match_the_protocol_table() -> None:
    def instants(name: str) -> list[timedelta]:
        policy = DEFAULT_POLICIES[name]
        return [policy.slot_time(T0, k) - T0 for k in range(policy.attempts)]

    assert instants("purchase") == [timedelta(hours=h) for h in range(4)]
    assert instants("freeze") == [timedelta(minutes=m) for m in range(60)]
    assert instants("release") == [timedelta(0)]
    polls = instants("query_poll")
    assert polls[0] == timedelta(minutes=1) and polls[1] == timedelta(minutes=11)
    assert polls[-1] <= timedelta(hours=3) < polls[-1] + timedelta(minutes=10)
    assert policy_for("purchase", {"purchase": {"attempts": 2}}).attempts == 2
    assert policy_for("purchase", {"purchase": {"attempts": 2}}).interval_s == 3600


def test_settings_errors_name_the_variable() -> None:
    with pytest.raises(SettingsError) as caught:
        load_settings(environ={"KOOGALLERY_CLOCK_MODE": "fast", "KOOGALLERY_PORT": "eighty"})
    message = str(caught.value)
    assert "KOOGALLERY_CLOCK_MODE" in message and "'fast'" in message
    assert "KOOGALLERY_PORT" in message


def test_settings_come_from_toml_then_env_then_flags(tmp_path) -> None:  # type: ignore[no-untyped-def]
    config = tmp_path / "sandbox.toml"
    config.write_text('port = 9000\nclock_mode = "scaled"\nclock_speed = 60\n')
    settings = load_settings(environ={"KOOGALLERY_CONFIG": str(config), "KOOGALLERY_PORT": "9100"})
    assert (settings.port, settings.clock_mode, settings.clock_speed) == (9100, "scaled", 60)
    assert load_settings(environ={"KOOGALLERY_PORT": "9100"}, port=0).port == 0
    config.write_text("colour = 'red'\n")
    with pytest.raises(SettingsError, match="colour in .*unknown setting"):
        load_settings(environ={}, config_file=config)


def test_verdict_order_and_wording() -> None:
    new = Expectations(activity="newInstance")
    assert judge(Reply(status=200, body=b'{"resultCode":"000000","instanceId":"i-1"}'), new).passed
    bom = "\ufeff".encode() + b'{"resultCode":"000000","instanceId":"i-1"}'
    assert judge(Reply(status=200, body=bom), new).passed
    assert judge(Reply(status=302, body=b""), new).summary.startswith("HTTP status 302")
    assert "resultCode must be a JSON string" in judge(Reply(status=200, body=b'{"resultCode":0}'), new).summary
    assert "'123456' (not a known" in judge(Reply(status=200, body=b'{"resultCode":"123456"}'), new).summary
    too_long = judge(Reply(status=200, body=b'{"resultCode":"000000","instanceId":"' + b"x" * 65 + b'"}'), new)
    assert "length of instanceId is invalid" in too_long.summary
    long_msg = judge(Reply(status=200, body=b'{"resultCode":"000000","resultMsg":"' + b"m" * 256 + b'"}'), new)
    assert "length of resultMsg is invalid" in long_msg.summary
    query = Expectations(activity="queryInstance", queried_instance_id="i-1")
    usage = b'{"resultCode":"000000","info":[{"instanceId":"i-1","usageInfo":{"usageValue":1}}]}'
    assert "statisticalTime" in judge(Reply(status=200, body=usage), query).summary
    other = b'{"resultCode":"000000","info":[{"instanceId":"i-2"}]}'
    assert judge(Reply(status=200, body=other), query).summary.startswith("instance not ready")
