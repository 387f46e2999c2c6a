"""Settings: the effective configuration (no secrets) and the reset action."""

from __future__ import annotations

from aiohttp import web

from emulator import __version__
from emulator.control.keys import SETTINGS

from ..security import redirect
from .common import render, services

SHOWN = ("host", "port", "database", "clock_mode", "clock_speed", "callback_timeout", "demo_merchant",
         "merchant_url", "seed_demo", "fixtures_dir", "log_level")


async def settings_page(request: web.Request) -> web.Response:
    settings = request.app[SETTINGS]
    shown = {name: getattr(settings, name) for name in SHOWN}
    return render("settings.html", request, {"settings": shown, "version": __version__,
                                             "demo_url": services(request).demo_merchant_url})


async def reset(request: web.Request) -> web.Response:
    await services(request).reset()
    raise redirect("/", "Everything was reset: the demo catalogue is loaded again and the clock restarted.")


def setup(app: web.Application) -> None:
    app.router.add_get("/settings", settings_page)
    app.router.add_post("/settings/reset", reset)
