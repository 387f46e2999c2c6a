"""Clock: mode and speed, advance by a step or to a moment, and see what fired."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Literal, Optional

from aiohttp import web
from pydantic import BaseModel, ConfigDict, Field, field_validator

from emulator.clock import ClockError, optional_utc_naive
from emulator.control.views import attempt_view, delivery_view, iso

from ..forms import FormState, read_form, validate
from ..security import redirect
from .common import query, render, services

STEPS = (("+1 min", "minutes", 1), ("+10 min", "minutes", 10), ("+1 h", "hours", 1), ("+3 h", "hours", 3),
         ("+1 day", "days", 1), ("+31 days", "days", 31))
UNITS = {"minutes": 60, "hours": 3600, "days": 86400}


class AdvanceForm(BaseModel):
    model_config = ConfigDict(extra="forbid")
    amount: Optional[float] = Field(None, gt=0, le=3650 * 86400)
    unit: Literal["minutes", "hours", "days"] = "hours"
    to: Optional[datetime] = None
    back: Optional[str] = None

    _to_utc = field_validator("to")(optional_utc_naive)


class ModeForm(BaseModel):
    model_config = ConfigDict(extra="forbid")
    mode: Literal["real", "scaled", "manual"]
    speed: Optional[float] = Field(None, gt=0, le=10_000_000)


async def _page(request: web.Request, form: FormState | None = None, status: int = 200) -> web.Response:
    s = services(request)
    fired = []
    since, until = query(request, "since"), query(request, "until")
    if since and until:
        try:
            start, end = datetime.fromisoformat(since.rstrip("Z")), datetime.fromisoformat(until.rstrip("Z"))
        except ValueError:
            start = end = None
        if start and end:
            fired = [{"attempt": attempt_view(a), "delivery": delivery_view(d)}
                     for a, d in await s.deliveries.attempts_between(start, end)]
    next_due = await s.scheduler.next_due()
    state = s.clock.state
    mode_form = form if form is not None and form.name == "mode" else FormState(
        name="mode", values={"mode": state.mode.value, "speed": state.speed})
    return render("clock.html", request, {
        "steps": STEPS, "fired": fired, "since": since, "until": until, "next_due": iso(next_due),
        "form": form if form is not None and form.name == "advance" else FormState(name="advance",
                                                                                  values={"unit": "hours"}),
        "mode_form": mode_form,
    }, status)


async def clock_page(request: web.Request) -> web.Response:
    return await _page(request)


async def advance(request: web.Request) -> web.Response:
    data, form = await read_form(request, name="advance")
    model = validate(AdvanceForm, data, form)
    if model is not None and model.amount is None and model.to is None:
        form.errors["amount"] = "give an amount or a moment to advance to"
        model = None
    if model is None:
        return await _page(request, form, 400)
    s = services(request)
    before = s.clock.now()
    try:
        if model.to is not None:
            await s.jump_to(model.to)
        else:
            assert model.amount is not None
            await s.advance(timedelta(seconds=model.amount * UNITS[model.unit]))
    except (ClockError, OverflowError) as exc:
        form.errors["to" if model.to else "amount"] = str(exc) if isinstance(exc, ClockError) else "too far"
        return await _page(request, form, 409)
    after = s.clock.now()
    window = f"since={iso(before)}&until={iso(after)}"
    if model.back and model.back.startswith("/") and not model.back.startswith("//") and "\\" not in model.back:
        raise redirect(model.back, f"Clock advanced to {iso(after)}.")
    raise redirect(f"/clock?{window}", f"Clock advanced to {iso(after)}.")


async def set_mode(request: web.Request) -> web.Response:
    data, form = await read_form(request, name="mode")
    model = validate(ModeForm, data, form)
    if model is None:
        return await _page(request, form, 400)
    await services(request).set_clock_mode(model.mode, model.speed)
    raise redirect("/clock", f"Clock mode set to {model.mode}.")


def setup(app: web.Application) -> None:
    app.router.add_get("/clock", clock_page)
    app.router.add_post("/clock/advance", advance)
    app.router.add_post("/clock/mode", set_mode)
