"""Scenarios: run a named scripted lifecycle against the merchant and read its report."""

from __future__ import annotations

from aiohttp import web

from emulator.marketplace.errors import DomainError

from .common import render, services


async def scenarios_page(request: web.Request) -> web.Response:
    return render("scenarios.html", request, {"scenarios": services(request).scenarios.names(), "report": None})


async def run(request: web.Request) -> web.Response:
    s = services(request)
    try:
        report = (await s.scenarios.run(request.match_info["name"])).as_dict()
    except DomainError as exc:
        raise web.HTTPNotFound(text=exc.message) from None
    return render("scenarios.html", request, {"scenarios": s.scenarios.names(), "report": report})


def setup(app: web.Application) -> None:
    app.router.add_get("/scenarios", scenarios_page)
    app.router.add_post("/scenarios/{name}/run", run)
