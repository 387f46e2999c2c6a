"""Certification: run the battery against a merchant interface and read, or download, its report.

Reports are kept in memory (the last few) so that the page can be reloaded and its JUnit and HTML
files downloaded after the post (post/redirect/get); a restart forgets them."""

from __future__ import annotations

import uuid
from collections import OrderedDict
from typing import Any

from aiohttp import web

from emulator.certify import reports
from emulator.certify.battery import BATTERY
from emulator.certify.inputs import CertifyInput
from emulator.certify.runner import Report, certify_input
from emulator.marketplace.inputs import FAMILIES

from ..forms import FormState, read_form, validate
from ..security import redirect
from .common import render, services

KEPT = 20
_RUNS: "OrderedDict[str, Report]" = OrderedDict()
CHOICES = {"family": FAMILIES, "signature_hex_case": ("upper", "lower")}


def _page(request: web.Request, form: FormState, run_id: str = "", report: Any = None, status: int = 200
          ) -> web.Response:
    return render("certify.html", request, {"form": form, "choices": CHOICES, "battery": BATTERY,
                                            "run_id": run_id, "report": report}, status)


async def certify_page(request: web.Request) -> web.Response:
    return _page(request, FormState(name="certify", values={"family": "saas_v2_slim", "signature_hex_case": "upper"}))


async def run(request: web.Request) -> web.Response:
    data, form = await read_form(request, name="certify")
    parsed = validate(CertifyInput, data, form)
    if parsed is None:
        return _page(request, form, status=400)
    s = services(request)  # an app's login checks run here, on the emulator it logs in with
    report = await certify_input(parsed, s.oauth, s.kit.login_domain)
    run_id = uuid.uuid4().hex[:12]
    _RUNS[run_id] = report
    while len(_RUNS) > KEPT:
        _RUNS.popitem(last=False)
    verdict = "ready: every required case passed" if report.passed else "not ready: a required case failed"
    raise redirect(f"/certify/runs/{run_id}", f"Certification finished: {verdict}.")


def _report(request: web.Request) -> tuple[str, Report]:
    run_id = request.match_info["run_id"]
    if run_id not in _RUNS:
        raise web.HTTPNotFound(text="No such certification run (reports are kept in memory until a restart).")
    return run_id, _RUNS[run_id]


async def run_page(request: web.Request) -> web.Response:
    run_id, report = _report(request)
    values = {"merchant_url": report.target, "family": report.family, "signature_hex_case": "upper"}
    return _page(request, FormState(name="certify", values=values), run_id, reports.as_json(report))


async def junit(request: web.Request) -> web.Response:
    run_id, report = _report(request)
    return web.Response(body=reports.junit_xml(report), content_type="application/xml",
                        headers={"Content-Disposition": f'attachment; filename="certification-{run_id}.xml"'})


async def html(request: web.Request) -> web.Response:
    _run_id, report = _report(request)
    return web.Response(text=reports.html(report), content_type="text/html")


def setup(app: web.Application) -> None:
    app.router.add_get("/certify", certify_page)
    app.router.add_post("/certify", run)
    app.router.add_get("/certify/runs/{run_id:[0-9a-f]{12}}", run_page)
    app.router.add_get("/certify/runs/{run_id:[0-9a-f]{12}}/junit.xml", junit)
    app.router.add_get("/certify/runs/{run_id:[0-9a-f]{12}}/report.html", html)
