"""The instance timeline: states, periods and marks derived from stored rows; the picture's density
handling and its adaptive axis."""

from __future__ import annotations

from datetime import datetime, timedelta
from pathlib import Path
from typing import AsyncIterator, Optional

import pytest

from emulator.marketplace.errors import NotFound
from emulator.marketplace.timeline import AttemptEvent, _lapses, instance_timeline
from emulator.store.engine import Store
from emulator.store.tables import Attempt, Delivery, Instance, Merchant, Order, OrderLine, Product
from webui.pages.timeline import NARROW, WIDE, Scale, Window, _attempt_marks, ticks

T0 = datetime(2026, 1, 1, 12, 0, 0)
KEY = "CS1-000001"


def day(month: int, d: int) -> datetime:
    return datetime(2026, month, d, 12, 0, 0)


@pytest.fixture
async def store(tmp_path: Path) -> AsyncIterator[Store]:
    store = await Store.open(str(tmp_path / "timeline.db"))
    yield store
    await store.close()


def _order(order_id: str, order_type: str, at: datetime, expire_at: Optional[datetime],
           previous: Optional[datetime] = None) -> list[object]:
    return [Order(id=order_id, merchant_id="acme", order_type=order_type, status="delivered", instance_key=KEY,
                  created_at=at, seq=int(order_id[1:])),
            OrderLine(id=order_id + "-000001", order_id=order_id, product_id="p1", sku_code="s", charging_mode="PERIOD",
                      period_type="month", period_number=1, expire_at=expire_at, previous_expire_at=previous)]


def _delivery(delivery_id: int, kind: str, activity: str, at: datetime, verdicts: list[Optional[bool]],
              order_id: Optional[str] = None) -> list[object]:
    rows: list[object] = [Delivery(id=delivery_id, merchant_id="acme", instance_key=KEY, order_id=order_id, kind=kind,
                                   activity=activity, policy=kind, status="succeeded", schedule_start=at,
                                   created_at=at)]
    for number, passed in enumerate(verdicts, 1):
        sent = at + timedelta(minutes=number - 1)
        rows.append(Attempt(delivery_id=delivery_id, number=number, state="done" if passed is not None else "interrupted",
                            due_at=sent, sent_at=sent, sent_wall=sent, url="http://m/produce", passed=passed,
                            failures=[] if passed in (True, None) else ["HTTP status 500: the reply must be HTTP 200"]))
    return rows


async def _seed(store: Store) -> None:
    """Bought, expired, renewed in grace, frozen and unfrozen by hand, expired again, released at the
    end of retention (grace and retention 15 days each)."""
    rows: list[object] = [
        Merchant(id="acme", name="Acme", production_url="http://m/produce", access_key="k", created_at=T0),
        Product(id="p1", code="monthly", merchant_id="acme", sku_code="s", name="Monthly", charging_mode="PERIOD",
                period_type="month", created_at=T0),
        Instance(key=KEY, merchant_id="acme", order_id="O1", product_id="p1", state="released", instance_id="i-1",
                 expire_at=day(3, 1), created_at=T0, released_at=day(3, 31)),
        *_order("O1", "NEW", T0, day(2, 1)),
        *_order("O2", "RENEWAL", day(2, 5), day(3, 1), day(2, 1)),
        *_delivery(1, "purchase", "newInstance", T0, [False, True], "O1"),
        *_delivery(2, "freeze", "updateInstanceStatus", day(2, 1), [True]),
        *_delivery(3, "renewal", "refreshInstance", day(2, 5), [True], "O2"),
        *_delivery(4, "freeze", "updateInstanceStatus", day(2, 10), [None, True]),
        *_delivery(5, "unfreeze", "updateInstanceStatus", day(2, 12), [True]),
        *_delivery(6, "freeze", "updateInstanceStatus", day(3, 1), [False, False, False]),
        *_delivery(7, "release", "releaseInstance", day(3, 31), [True]),
    ]
    async with store.write() as session:
        for row in rows:  # parents first: the foreign keys
            session.add(row)
            await session.flush()


async def test_states_and_periods_are_derived_from_the_stored_rows(store: Store) -> None:
    await _seed(store)
    timeline = await instance_timeline(store, KEY, day(4, 10))

    assert [(c.at, c.state, c.reason) for c in timeline.changes] == [
        (T0, "pending", None),
        (T0 + timedelta(minutes=1), "active", None),  # the first passed newInstance attempt
        (day(2, 1), "frozen", "expired"),
        (day(2, 5), "active", None),  # renewed in grace
        (day(2, 10), "frozen", "manual"),
        (day(2, 12), "active", None),
        (day(3, 1), "frozen", "expired"),
        (day(3, 31), "released", None),
    ]
    assert timeline.changes[-1].cause == "retention ended"
    assert [(p.order_type, p.lapsed, p.grace_end, p.retention_end) for p in timeline.periods] == [
        ("NEW", True, day(2, 16), day(3, 3)),
        ("RENEWAL", True, day(3, 16), day(3, 31)),
    ]
    last = timeline.spans[-3:]
    assert [(s.label, s.start, s.end) for s in last] == [
        ("grace", day(3, 1), day(3, 16)), ("retention", day(3, 16), day(3, 31)), ("released", day(3, 31), day(4, 10))]
    assert len(timeline.attempts) == 11
    assert [a.verdict for a in timeline.attempts if a.delivery_id == 4] == ["none", "passed"]
    assert timeline.attempts[0].first_failure == "HTTP status 500: the reply must be HTTP 200"
    assert timeline.end == day(4, 10)


async def test_an_unknown_instance_is_not_found(store: Store) -> None:
    with pytest.raises(NotFound):
        await instance_timeline(store, "nope", T0)


def test_a_period_lapses_unless_a_later_one_held_at_its_expiry() -> None:
    expiry, now = day(2, 1), day(6, 1)
    assert _lapses(expiry, None, [], now, None)
    assert not _lapses(expiry, None, [(day(1, 20), None)], now, None)  # renewed before the expiry
    assert _lapses(expiry, None, [(day(2, 3), None)], now, None)  # renewed in grace
    assert _lapses(expiry, None, [(day(1, 20), day(1, 25))], now, None)  # that renewal was unsubscribed
    assert not _lapses(expiry, day(1, 25), [], now, None)  # this renewal itself was unsubscribed
    assert not _lapses(expiry, None, [], day(1, 31), None)  # not reached yet
    assert not _lapses(expiry, None, [], now, day(1, 15))  # released before


def _attempt(at: datetime, passed: Optional[bool], delivery_id: int = 1) -> AttemptEvent:
    return AttemptEvent(delivery_id, "updateInstanceStatus", "freeze", 1, at, passed, "done", None, None)


def test_attempts_in_one_column_merge_with_their_count_and_worst_verdict() -> None:
    start = day(1, 1)
    scale = Scale(Window(start, start + timedelta(days=365), False), WIDE)
    hour = [_attempt(day(3, 1) + timedelta(minutes=m), m == 59, delivery_id=7) for m in range(60)]
    marks = _attempt_marks([_attempt(start, True), *hour, _attempt(day(9, 1), None)], scale)
    assert [(m.count, m.verdict) for m in marks] == [(1, "passed"), (60, "failed"), (1, "none")]
    assert marks[1].delivery_id == 7 and marks[1].show_count
    assert "60 updateInstanceStatus attempts" in marks[1].title and "59 failed, 1 passed" in marks[1].title


@pytest.mark.parametrize("span, width, expected", [
    (timedelta(hours=12), WIDE, ":00"), (timedelta(days=20), WIDE, "Jan 0"), (timedelta(days=365), WIDE, "Mar"),
    (timedelta(days=365), NARROW, "Jan 2027"), (timedelta(days=3 * 365), WIDE, "Jul 2026"),
])
def test_ticks_adapt_to_the_window(span: timedelta, width: int, expected: str) -> None:
    win = Window(datetime(2026, 1, 1, 3, 0), datetime(2026, 1, 1, 3, 0) + span, False)
    found = ticks(win, Scale(win, width))
    assert 2 <= len(found) <= width // 50
    assert any(expected in (t.label or "") for t in found), [t.label for t in found]
    assert [t.x for t in found] == sorted(t.x for t in found)
