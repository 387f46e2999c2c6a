"""An instance's whole life as a picture: a server-rendered SVG on the emulator clock.

The geometry is computed here (plain numbers in SVG user units), the template only draws it.
Two pictures are drawn, a wide one and a narrow one for phones (CSS shows one), so that text keeps
a readable size at any width. Attempts of one activity that fall in the same column of a picture
are merged into one mark carrying their count and their worst verdict.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, Iterable, Optional, Sequence

from aiohttp import web

from emulator.marketplace.errors import DomainError
from emulator.marketplace.periods import add_months
from emulator.marketplace.timeline import AttemptEvent, Period, Timeline, instance_timeline

from .common import query, render, services

WIDE, NARROW = 1000, 400
PAD = 10  # user units left and right of the axis
COLUMN = 5  # user units: attempts of one activity closer than this become one mark
FONT = 11
CHAR_W = 6.2  # the average width of a character at FONT, to keep labels apart
LABEL_ROWS = 3
LANE_H, ROW_H = 32, 14
WORST = {"failed": 2, "none": 1, "passed": 0}
MIN_WINDOW = timedelta(hours=1)
AROUND_EXPIRY = (timedelta(hours=2), timedelta(hours=10))  # before, after: the FREEZE retries of the first hour


@dataclass(frozen=True)
class Window:
    start: datetime
    end: datetime
    zoomed: bool

    def contains(self, moment: datetime) -> bool:
        return self.start <= moment <= self.end


@dataclass
class AttemptMark:
    x: float
    verdict: str
    count: int
    delivery_id: int
    title: str
    show_count: bool = False


@dataclass
class Lane:
    title: str
    y: float
    marks: list[Any] = field(default_factory=list)


@dataclass(frozen=True)
class Rule:
    """A vertical line across the lanes: an expiry, a grace end, a retention end, now."""

    x: float
    kind: str
    label: str
    title: str
    future: bool
    label_x: Optional[float] = None
    label_row: Optional[int] = None
    anchor: str = "start"


@dataclass(frozen=True)
class Tick:
    x: float
    label: Optional[str]


@dataclass
class Picture:
    width: int
    height: float
    axis_y: float
    lanes_top: float
    rules: list[Rule]
    order_lane: Lane
    attempt_lanes: list[Lane]
    state_lane: Lane
    ticks: list[Tick]


class Scale:
    def __init__(self, window: Window, width: int) -> None:
        self.window, self.width = window, width
        self.span = (window.end - window.start).total_seconds() or 1.0

    def x(self, moment: datetime) -> float:
        fraction = (moment - self.window.start).total_seconds() / self.span
        return round(PAD + min(max(fraction, 0.0), 1.0) * (self.width - 2 * PAD), 1)


def when(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%d %H:%M:%S")


# -- the window --------------------------------------------------------------------------------
def _parse(raw: Optional[str]) -> Optional[datetime]:
    if raw is None:
        return None
    try:
        return datetime.fromisoformat(raw.removesuffix("Z")).replace(tzinfo=None)
    except ValueError:
        raise web.HTTPBadRequest(text=f"{raw!r} is not a date or time (YYYY-MM-DD or YYYY-MM-DDTHH:MM)") from None


def window(timeline: Timeline, start: Optional[datetime], end: Optional[datetime]) -> Window:
    whole_start, whole_end = timeline.created_at, timeline.end
    if start is None and end is None:
        return Window(whole_start, max(whole_end, whole_start + MIN_WINDOW), False)
    start, end = start or whole_start, end or whole_end
    if end < start:
        start, end = end, start
    return Window(start, max(end, start + MIN_WINDOW), True)


def presets(timeline: Timeline) -> list[tuple[str, str]]:
    """(label, query) of the zoom links."""
    links = [("whole life", ""), ("last 30 days", _range(timeline.now - timedelta(days=30), timeline.now))]
    focus = _focus_expiry(timeline)
    if focus is not None:
        links.append(("around expiry", _range(focus - AROUND_EXPIRY[0], focus + AROUND_EXPIRY[1])))
    return links


def _focus_expiry(timeline: Timeline) -> Optional[datetime]:
    """The last expiry the instance reached, else the expiry ahead."""
    lapsed = [p.expire_at for p in timeline.periods if p.lapsed]
    current = timeline.current_period
    return lapsed[-1] if lapsed else (current.expire_at if current else None)


def _range(start: datetime, end: datetime) -> str:
    return f"?from={start.isoformat(timespec='minutes')}&to={end.isoformat(timespec='minutes')}"


# -- the picture -------------------------------------------------------------------------------
def picture(timeline: Timeline, win: Window, width: int) -> Picture:
    scale = Scale(win, width)
    rules = _place_labels(_rules(timeline, scale), width)
    lanes_top = (max((r.label_row for r in rules if r.label_row is not None), default=-1) + 1) * ROW_H + 6
    activities = list(dict.fromkeys(a.activity for a in timeline.attempts))
    order_lane = Lane("Orders", lanes_top, _order_marks(timeline, scale))
    attempt_lanes = [Lane(activity, lanes_top + (i + 1) * LANE_H,
                          _attempt_marks([a for a in timeline.attempts if a.activity == activity], scale))
                     for i, activity in enumerate(activities)]
    state_lane = Lane("State", lanes_top + (len(activities) + 1) * LANE_H, _state_bands(timeline, scale))
    axis_y = state_lane.y + LANE_H + 4
    return Picture(width=width, height=axis_y + 20, axis_y=axis_y, lanes_top=lanes_top,
                   rules=rules, order_lane=order_lane,
                   attempt_lanes=attempt_lanes, state_lane=state_lane, ticks=ticks(win, scale))


def _order_marks(timeline: Timeline, scale: Scale) -> list[dict[str, Any]]:
    """A diamond per order; the labels of orders too close to be told apart are joined."""
    marks: list[dict[str, Any]] = []
    labelled: Optional[dict[str, Any]] = None
    for order in timeline.orders:
        if not scale.window.contains(order.at):
            continue
        x, label = scale.x(order.at), order.order_type.replace("_", " ")
        expiry = f", expires {when(order.expire_at)}" if order.expire_at else ""
        mark = {"x": x, "label": label, "order_id": order.order_id, "type": order.order_type.lower(), "anchor_end": False,
                "title": f"{order.order_type} order {order.order_id} ({order.status}) at {when(order.at)}{expiry}"}
        if labelled is not None and x < labelled["x"] + 14 + len(labelled["label"]) * CHAR_W:
            mark["label"] = None
            if x - labelled["x"] < COLUMN:
                labelled["label"] += f" + {label}"
        else:
            labelled = mark
        marks.append(mark)
    for mark in marks:  # keep the labels inside the picture
        if mark["label"] and mark["x"] + 8 + len(mark["label"]) * CHAR_W > scale.width:
            mark["anchor_end"] = True
    return marks


def _attempt_marks(attempts: Sequence[AttemptEvent], scale: Scale) -> list[AttemptMark]:
    """One mark per column: the attempts that fall in it, with their worst verdict; the count of a
    merged mark is written at its right where that space is free up to the next mark."""
    columns: dict[int, list[AttemptEvent]] = {}
    for attempt in attempts:
        if scale.window.contains(attempt.at):
            columns.setdefault(int((scale.x(attempt.at) - PAD) // COLUMN), []).append(attempt)
    marks = []
    for column in sorted(columns):
        group = columns[column]
        worst = max(group, key=lambda a: WORST[a.verdict])
        marks.append(AttemptMark(x=scale.x(group[0].at), verdict=worst.verdict, count=len(group),
                                 delivery_id=worst.delivery_id, title=_attempt_title(group, worst)))
    for mark, following in zip(marks, [*marks[1:], None]):
        room = (following.x if following else scale.width) - mark.x
        mark.show_count = mark.count > 1 and room > 8 + (len(str(mark.count)) + 1) * CHAR_W * 0.8
    return marks


def _attempt_title(group: Sequence[AttemptEvent], worst: AttemptEvent) -> str:
    if len(group) == 1:
        return f"{worst.activity} attempt {worst.number} (delivery {worst.delivery_id}) at {when(worst.at)}: " \
               f"{_verdict_text(worst)}"
    counts = {v: sum(1 for a in group if a.verdict == v) for v in ("failed", "passed", "none")}
    summary = ", ".join(f"{n} {v if v != 'none' else 'without verdict'}" for v, n in counts.items() if n)
    return (f"{len(group)} {worst.activity} attempts from {when(group[0].at)} to {when(group[-1].at)} "
            f"({summary}); worst: attempt {worst.number} of delivery {worst.delivery_id}: {_verdict_text(worst)}")


def _verdict_text(attempt: AttemptEvent) -> str:
    if attempt.verdict == "passed":
        return "passed"
    if attempt.verdict == "none":
        return f"no verdict ({attempt.state})"
    fault = f" [fault: {attempt.fault}]" if attempt.fault else ""
    return f"failed: {(attempt.first_failure or 'failed').splitlines()[0]}{fault}"


def _state_bands(timeline: Timeline, scale: Scale) -> list[dict[str, Any]]:
    bands = []
    for span in timeline.spans:
        if span.end < scale.window.start or span.start > scale.window.end:
            continue
        x0, x1 = scale.x(span.start), scale.x(span.end)
        label = span.label
        bands.append({"x": x0, "w": max(x1 - x0, 1.0), "cls": span.phase or span.state,
                      "label": label if x1 - x0 > len(label) * CHAR_W + 6 else None,
                      "title": f"{label} from {when(span.start)} to {when(span.end)}"})
    return bands


def _rules(timeline: Timeline, scale: Scale) -> list[Rule]:
    rules: list[Rule] = []
    current = timeline.current_period
    for period in timeline.periods:
        marked = period.lapsed or (period is current and timeline.state not in ("released", "failed"))
        rules += _period_rules(period, marked, timeline.now, scale)
    if scale.window.contains(timeline.now):
        rules.append(Rule(scale.x(timeline.now), "now", "now", f"now on the emulator clock: {when(timeline.now)}",
                          False))
    return rules


def _period_rules(period: Period, marked: bool, now: datetime, scale: Scale) -> list[Rule]:
    """The expiry of every period; the grace and retention ends of the periods that lapsed or may."""
    moments = [("expiry", "expiry", period.expire_at)]
    if marked:
        moments += [("grace", "grace end", period.grace_end), ("retention", "retention end", period.retention_end)]
    rules = []
    for kind, label, moment in moments:
        if not scale.window.contains(moment):
            continue
        note = "" if marked else (" (unsubscribed)" if period.voided_at else " (superseded by a later period)")
        rules.append(Rule(scale.x(moment), kind if marked else f"{kind} superseded", label,
                          f"{label} of the {period.order_type} period ({period.order_id}): {when(moment)}{note}",
                          moment > now))
    return rules


def _place_labels(rules: Iterable[Rule], width: int) -> list[Rule]:
    """Put each line's label in the first of the top rows where it does not touch another."""
    placed: list[Rule] = []
    row_free = [float("-inf")] * LABEL_ROWS
    for rule in sorted(rules, key=lambda r: (r.x, r.kind != "now")):
        text_w = len(rule.label) * CHAR_W
        anchor, left = ("end", rule.x - 3 - text_w) if rule.x + 3 + text_w > width else ("start", rule.x + 3)
        row = None if "superseded" in rule.kind else next(
            (i for i in range(LABEL_ROWS) if row_free[i] <= left), None)
        if row is None:
            placed.append(rule)
            continue
        row_free[row] = left + text_w + 6
        placed.append(Rule(rule.x, rule.kind, rule.label, rule.title, rule.future,
                           rule.x - 3 if anchor == "end" else rule.x + 3, row, anchor))
    return placed


# -- the axis ----------------------------------------------------------------------------------
STEPS: tuple[tuple[str, int], ...] = (
    ("hour", 1), ("hour", 2), ("hour", 3), ("hour", 6), ("hour", 12), ("day", 1), ("day", 2), ("day", 7),
    ("day", 14), ("month", 1), ("month", 2), ("month", 3), ("month", 6), ("month", 12), ("month", 24),
)


def ticks(win: Window, scale: Scale) -> list[Tick]:
    """Ticks at round instants, as many as fit their labels (hours, days, weeks, months, years)."""
    room = max(int((scale.width - 2 * PAD) // (CHAR_W * 9)), 2)
    span = win.end - win.start
    unit, step = next(((u, s) for u, s in STEPS if _approx(u, s) * room >= span), STEPS[-1])
    return [Tick(scale.x(moment), _tick_label(moment, unit, step)) for moment in _tick_moments(win, unit, step)]


def _approx(unit: str, step: int) -> timedelta:
    return {"hour": timedelta(hours=step), "day": timedelta(days=step), "month": timedelta(days=30.5 * step)}[unit]


def _tick_moments(win: Window, unit: str, step: int) -> list[datetime]:
    if unit == "hour":
        moment = win.start.replace(minute=0, second=0, microsecond=0)
        moment -= timedelta(hours=moment.hour % step)
    elif unit == "day":
        moment = win.start.replace(hour=0, minute=0, second=0, microsecond=0)
        if step == 7:
            moment -= timedelta(days=moment.weekday())  # Mondays
    else:
        moment = win.start.replace(day=1, hour=0, minute=0, second=0, microsecond=0)
        moment = add_months(moment, -((moment.month - 1) % step))
    moments = []
    while moment <= win.end:
        if moment >= win.start:
            moments.append(moment)
        moment = add_months(moment, step) if unit == "month" else moment + _approx(unit, step)
    return moments


def _tick_label(moment: datetime, unit: str, step: int) -> str:
    if unit == "hour":
        return moment.strftime("%b %d") if moment.hour == 0 else moment.strftime("%H:%M")
    if unit == "day":
        return moment.strftime("%b %d")
    if step >= 12:
        return moment.strftime("%Y")
    return moment.strftime("%b %Y") if moment.month == 1 or step >= 3 else moment.strftime("%b")


# -- the page ----------------------------------------------------------------------------------
def _events(timeline: Timeline, win: Window) -> list[dict[str, Any]]:
    """The table under the picture: every event in the window, in time order."""
    rows: list[dict[str, Any]] = []
    rows += [{"at": o.at, "what": f"{o.order_type} order", "detail": f"{o.order_id} ({o.status})",
              "href": f"/orders/{o.order_id}", "cls": ""} for o in timeline.orders]
    rows += [{"at": c.at, "what": "state", "detail": c.state + (f" ({c.reason})" if c.reason else "") +
              f" — {c.cause}", "href": None, "cls": ""} for c in timeline.changes]
    rows += [{"at": a.at, "what": f"{a.activity} #{a.number}", "detail": _verdict_text(a),
              "href": f"/deliveries/{a.delivery_id}", "cls": a.verdict} for a in timeline.attempts]
    for p in timeline.periods:
        rows.append({"at": p.expire_at, "what": "expiry", "detail": f"{p.order_type} {p.order_id}"
                     + (" (reached)" if p.lapsed else ""), "href": None, "cls": ""})
    return sorted((r for r in rows if win.contains(r["at"])), key=lambda r: r["at"])


async def timeline_page(request: web.Request) -> web.Response:
    key = request.match_info["instance_key"]
    s = services(request)
    try:
        timeline = await instance_timeline(s.store, key, s.clock.now().replace(microsecond=0))
    except DomainError:
        raise web.HTTPNotFound(text=f"Instance {key} does not exist.") from None
    win = window(timeline, _parse(query(request, "from")), _parse(query(request, "to")))
    shown = sum(1 for a in timeline.attempts if win.contains(a.at))
    return render("timeline.html", request, {
        "t": timeline, "window": win, "when": when, "presets": presets(timeline),
        "pictures": [("wide", picture(timeline, win, WIDE)), ("narrow", picture(timeline, win, NARROW))],
        "events": _events(timeline, win), "shown": shown, "font": FONT, "row_h": ROW_H,
        "from_value": win.start.isoformat(timespec="minutes"), "to_value": win.end.isoformat(timespec="minutes"),
    })


def setup(app: web.Application) -> None:
    app.router.add_get("/instances/{instance_key}", timeline_page)
